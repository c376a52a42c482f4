//! `cargo xtask load`: installs what the run needs, builds the service and the load driver in
//! release mode, and hands over to `xtask-load` (a separate package: it links the test PKI
//! and the verifier, which `cargo xtask` itself must not wait for).

use crate::setup::{self, step};

/// Runs `cargo xtask load ARGS`.
pub(crate) fn load(args: &[String]) -> Result<(), String> {
    let quiet = args.iter().any(|a| a == "--json");
    if !quiet {
        step("system packages (redis-server)");
    }
    setup::ensure_apt_packages()?;
    if !quiet {
        step("build snp-vtpm-server and the load driver (release)");
    }
    setup::build_binaries(
        &[
            ("snp-vtpm-server", "snp-vtpm-server"),
            ("xtask-load", "xtask-load"),
        ],
        true,
    )?;
    setup::run_built("release", "xtask-load", args, "load")
}
