//! `cargo xtask load`: installs what the run needs, builds the service and the load driver in
//! release mode, and hands over to `xtask-load` (a separate package: it links the test PKI
//! and the verifier, which `cargo xtask` itself must not wait for).

use std::process::Command;

use crate::setup::{self, cargo, run, step};

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
    run(cargo().args([
        "build",
        "--quiet",
        "--release",
        "-p",
        "snp-vtpm-server",
        "-p",
        "xtask-load",
        // --bin applies to every package named: one for each.
        "--bin",
        "snp-vtpm-server",
        "--bin",
        "xtask-load",
    ]))?;
    let program = setup::target_dir(None)?.join("release/xtask-load");
    let status = Command::new(&program)
        .args(args)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("load failed ({status})"))
    }
}
