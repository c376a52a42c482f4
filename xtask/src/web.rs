//! `cargo xtask web [--test]`: the verification page (`target/web`: web/ with the module
//! `cargo xtask wasm` builds). With `--test`, the attestation server serves it (`--web`) and it
//! runs in a real headless Chromium (Debian's `chromium` and `chromium-driver`, driven over
//! WebDriver by selenium from PyPI with the driver's path given) against the real vectors;
//! screenshots land in `target/web-screenshots`.

use std::process::Command;

use crate::setup::{self, cargo, run, step};

/// The pinned WebDriver client and test runner.
const SELENIUM: &str = "selenium==4.27.1";
const PYTEST: &str = "pytest==9.2.0";

/// Runs `cargo xtask web [--test]`.
pub(crate) fn web(args: &[String]) -> Result<(), String> {
    let built = crate::wasm::build()?;
    eprintln!("the page: {}/index.html", built.web.display());
    if !args.iter().any(|a| a == "--test") {
        return Ok(());
    }
    test_page(&built.web)
}

/// The page in headless Chromium.
pub(crate) fn test_page(web: &std::path::Path) -> Result<(), String> {
    step("chromium and chromium-driver (Debian)");
    setup::ensure_apt(&["chromium", "chromium-driver"])?;
    let target = setup::target_dir(None)?;
    step("selenium and pytest (PyPI) in target/venv-web");
    let env = crate::python::venv(&target.join("venv-web"), &[SELENIUM, PYTEST])?;
    let evidence = crate::wasm::vector_evidence()?;
    step("snp-vtpm-server, which serves the page");
    run(cargo().args([
        "build",
        "-q",
        "-p",
        "snp-vtpm-server",
        "--bin",
        "snp-vtpm-server",
    ]))?;
    let server = target.join("debug/snp-vtpm-server");
    let shots = target.join("web-screenshots");
    step("the page in headless Chromium (web/tests)");
    run(Command::new(env.join("bin/python"))
        .args(["-m", "pytest", "-q", "-s", "-p", "no:cacheprovider"])
        .arg(setup::workspace_root().join("web/tests"))
        .current_dir(&target)
        .env("SNP_VTPM_WEB", web)
        .env("SNP_VTPM_SERVER_BIN", &server)
        .env("SNP_VTPM_VECTORS", crate::wasm::vectors_dir())
        .env("SNP_VTPM_JS_EVIDENCE", &evidence)
        .env("SNP_VTPM_SCREENSHOTS", &shots))?;
    eprintln!("screenshots: {}", shots.display());
    Ok(())
}
