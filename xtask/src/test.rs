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

    step("verifier-only snp-vtpm: no TPM library linked, no guest command");
    check_verifier_only_tool()?;

    step("tests and doc tests");
    run(cargo().args(["test", "--workspace"]).args(extra_test_args))?;

    // The bindings, as their users get them: the npm package in Node, the page in Chromium,
    // the wheel in a fresh virtual environment.
    crate::wasm::wasm(&["--test".to_string()])?;
    crate::web::test_page(&setup::target_dir(None)?.join("web"))?;
    crate::python::python(&[])
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

/// `cargo install --path crates/cli --no-default-features --features verifier-cli` must give a
/// tool that runs where libtss2 is not installed: its dynamic section names no TPM library
/// (`readelf -d`), and it has the verifier's commands but no guest command. (The next `cargo
/// test` links the full binary again.)
fn check_verifier_only_tool() -> Result<(), String> {
    run(cargo().args([
        "build",
        "-q",
        "-p",
        "snp-vtpm",
        "--no-default-features",
        "--features",
        "verifier-cli",
        "--bin",
        "snp-vtpm",
    ]))?;
    let binary = setup::workspace_root().join("target/debug/snp-vtpm");
    let dynamic = std::process::Command::new("readelf")
        .arg("-d")
        .arg(&binary)
        .output()
        .map_err(|e| format!("cannot run readelf: {e}"))?;
    let dynamic = String::from_utf8_lossy(&dynamic.stdout);
    let needed: Vec<&str> = dynamic.lines().filter(|l| l.contains("(NEEDED)")).collect();
    if needed.is_empty() {
        return Err(format!(
            "readelf -d {} shows no NEEDED entry",
            binary.display()
        ));
    }
    if let Some(tpm) = needed.iter().find(|l| l.contains("tss2")) {
        return Err(format!(
            "the verifier-only snp-vtpm links a TPM library: {tpm}"
        ));
    }
    let help = std::process::Command::new(&binary)
        .arg("--help")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    let help = String::from_utf8_lossy(&help.stdout);
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.strip_prefix("  ")?.split_whitespace().next())
        .collect();
    for wanted in [
        "verify",
        "verify-report",
        "verify-token",
        "fetch",
        "show",
        "policy",
    ] {
        if !commands.contains(&wanted) {
            return Err(format!(
                "the verifier-only snp-vtpm lacks `{wanted}`: {commands:?}"
            ));
        }
    }
    if let Some(guest) = ["report", "quote", "evidence", "attest"]
        .iter()
        .find(|c| commands.contains(c))
    {
        return Err(format!(
            "the verifier-only snp-vtpm has the guest command `{guest}`"
        ));
    }
    eprintln!(
        "verifier-only snp-vtpm: commands {}; links {}",
        commands.join(" "),
        needed
            .iter()
            .filter_map(|l| l.split('[').nth(1)?.strip_suffix(']'))
            .collect::<Vec<_>>()
            .join(" ")
    );
    Ok(())
}
