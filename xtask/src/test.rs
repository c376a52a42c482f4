//! `cargo xtask test`: everything CI checks, in the order that fails fastest.

use crate::setup::{self, WASM_TARGET, cargo, run, step};

/// The crates a verifier service may depend on: without default features they must pull no
/// TPM library, OpenSSL, HTTP stack or CLI parser, and must build for wasm32.
const VERIFIER_CRATES: &[&str] = &[
    "attest-prims",
    "hcl-parse",
    "snp-verify",
    "vtpm-quote",
    "tcg-eventlog",
    "vtpm-akcert",
    "tdx-verify",
    "snp-vtpm",
];

/// Dependencies a verifier-only build must never contain.
const FORBIDDEN_IN_VERIFIER: &[&str] = &[
    "tss-esapi",
    "tss-esapi-sys",
    "openssl",
    "openssl-sys",
    "ureq",
    "reqwest",
    "hyper",
    "tokio",
    "clap",
];

/// Runs every check; `extra_test_args` go to `cargo test`.
pub(crate) fn test(extra_test_args: &[String]) -> Result<(), String> {
    step("system packages and rustup targets");
    setup::ensure_apt_packages()?;
    setup::ensure_rust_target(WASM_TARGET)?;

    step("cargo fmt --check");
    run(cargo().args(["fmt", "--all", "--check"]))?;

    step("cargo clippy (all targets, warnings denied)");
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;

    step("verifier-only dependency rule");
    check_verifier_dependencies()?;

    step(&format!("verifier-only crates build for {WASM_TARGET}"));
    let mut wasm = cargo();
    wasm.args(["build", "--target", WASM_TARGET, "--no-default-features"]);
    for krate in VERIFIER_CRATES {
        wasm.args(["-p", krate]);
    }
    run(&mut wasm)?;

    step("tests and doc tests");
    run(cargo().args(["test", "--workspace"]).args(extra_test_args))
}

fn check_verifier_dependencies() -> Result<(), String> {
    for krate in VERIFIER_CRATES {
        let output = cargo()
            .current_dir(setup::workspace_root())
            .args([
                "tree",
                "-q",
                "-e",
                "normal",
                "--no-default-features",
                "--prefix",
                "none",
                "-p",
                krate,
            ])
            .output()
            .map_err(|e| format!("cannot run cargo tree: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "cargo tree -p {krate} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let tree = String::from_utf8_lossy(&output.stdout);
        let pulled: Vec<&str> = FORBIDDEN_IN_VERIFIER
            .iter()
            .copied()
            .filter(|name| {
                tree.lines()
                    .any(|line| line.split(' ').next() == Some(name))
            })
            .collect();
        if !pulled.is_empty() {
            return Err(format!(
                "{krate} without default features pulls {}: a verifier must be able to use it \
                 without TPM libraries, OpenSSL, an HTTP client or clap",
                pulled.join(", ")
            ));
        }
        eprintln!("{krate}: no forbidden dependency");
    }
    Ok(())
}
