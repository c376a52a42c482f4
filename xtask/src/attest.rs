//! `cargo xtask attest`: installs what the run needs, builds it, and hands over to the
//! `xtask-attest` program (a separate package, because it links libtss2, which a fresh
//! machine only has after the first step here).

use std::process::Command;

use crate::setup::{self, cargo, run, step};

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
    run(cargo().args([
        "build",
        "--quiet",
        "-p",
        "snp-vtpm",
        "-p",
        "snp-vtpm-server",
        "-p",
        "xtask-attest",
        // --bin applies to every package named: one for each.
        "--bin",
        "snp-vtpm",
        "--bin",
        "snp-vtpm-server",
        "--bin",
        "xtask-attest",
    ]))?;
    exec(args)
}

fn exec(args: &[String]) -> Result<(), String> {
    let program = setup::target_dir(None)?.join("debug/xtask-attest");
    if !program.exists() {
        run(cargo().args(["build", "--quiet", "-p", "xtask-attest"]))?;
    }
    let status = Command::new(&program)
        .args(args)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("attest failed ({status})"))
    }
}
