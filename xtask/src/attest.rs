//! `cargo xtask attest`: installs what the run needs, builds it, and hands over to the
//! `xtask-attest` program (a separate package, because it links libtss2, which a fresh
//! machine only has after the first step here).

use crate::setup::{self, step};

/// Runs `cargo xtask attest ARGS`.
pub(crate) fn attest(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        return exec(args);
    }
    let quiet = args.iter().any(|a| a == "--json");
    if !quiet {
        step("system packages");
    }
    setup::ensure_apt_packages()?;
    if !quiet {
        step("build snp-vtpm, snp-vtpm-server and the attest run");
    }
    setup::build_binaries(
        &[
            ("snp-vtpm", "snp-vtpm"),
            ("snp-vtpm-server", "snp-vtpm-server"),
            ("xtask-attest", "xtask-attest"),
        ],
        false,
    )?;
    exec(args)
}

fn exec(args: &[String]) -> Result<(), String> {
    if !setup::target_dir(None)?.join("debug/xtask-attest").exists() {
        setup::build_binaries(&[("xtask-attest", "xtask-attest")], false)?;
    }
    setup::run_built("debug", "xtask-attest", args, "attest")
}
