//! Making sure a fresh machine has what the project needs: Debian packages and rustup targets.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian packages the guest side, the service and their tests need (swtpm and the tpm2-tss
/// libraries; redis-server, the service's shared nonce store).
pub(crate) const APT_PACKAGES: &[&str] = &[
    "swtpm",
    "swtpm-tools",
    "tpm2-tools",
    "libtss2-dev",
    "libtss2-tcti-swtpm0",
    "pkg-config",
    "redis-server",
    // The Redis-over-TLS test makes its CA and certificate with the openssl command.
    "openssl",
    // readelf: the verifier-only tool's dynamic libraries.
    "binutils",
    // The Python package (PyO3 finds the interpreter at build time; its tests run in a venv).
    "python3",
    "python3-venv",
];

/// The wasm target the verifier-only crates must build for.
pub(crate) const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// The workspace root (the parent of this crate's folder).
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The target directory cargo uses for the workspace (or for `manifest`'s package), as
/// `cargo metadata` reports it: it honours `CARGO_TARGET_DIR` and cargo configuration.
pub(crate) fn target_dir(manifest: Option<&Path>) -> Result<PathBuf, String> {
    let mut metadata = cargo();
    metadata.args(["metadata", "--format-version", "1", "--no-deps"]);
    if let Some(manifest) = manifest {
        metadata.arg("--manifest-path").arg(manifest);
    }
    let output = metadata
        .current_dir(workspace_root())
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cargo metadata printed no JSON: {e}"))?;
    let target = value
        .get("target_directory")
        .and_then(serde_json::Value::as_str)
        .ok_or("cargo metadata names no target_directory")?;
    Ok(PathBuf::from(target))
}

/// Installs the missing packages of [`APT_PACKAGES`] (see [`ensure_apt`]).
pub(crate) fn ensure_apt_packages() -> Result<(), String> {
    ensure_apt(APT_PACKAGES)
}

/// Installs missing Debian packages with apt when running as root; otherwise names the command.
pub(crate) fn ensure_apt(packages: &[&str]) -> Result<(), String> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|package| !dpkg_installed(package))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let install = format!(
        "apt-get update && apt-get install -y --no-install-recommends {}",
        missing.join(" ")
    );
    if !is_root() {
        return Err(format!(
            "missing system packages: {}. Install them with:\n  sudo sh -c '{install}'",
            missing.join(", ")
        ));
    }
    step(&format!("installing {}", missing.join(" ")));
    let status = Command::new("sh")
        .arg("-c")
        .arg(&install)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("cannot run apt-get: {e}"))?;
    if !status.success() {
        return Err(format!("`{install}` failed ({status})"));
    }
    Ok(())
}

/// Adds a rustup target when it is not installed yet.
pub(crate) fn ensure_rust_target(target: &str) -> Result<(), String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("cannot run rustup: {e}"))?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|line| line.trim() == target)
    {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", target]))
}

fn dpkg_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Prints a step heading.
pub(crate) fn step(what: &str) {
    eprintln!("\n==> {what}");
}

/// Runs a command from the workspace root, failing with the command line if it fails.
pub(crate) fn run(command: &mut Command) -> Result<(), String> {
    let status = command
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed ({status})"))
    }
}

/// A `cargo` command (the one running this xtask).
pub(crate) fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Builds `binaries` (package, binary) quietly, in release mode when `release`: one `-p` and
/// one `--bin` each (`--bin` applies to every package named).
pub(crate) fn build_binaries(binaries: &[(&str, &str)], release: bool) -> Result<(), String> {
    let mut command = cargo();
    command.args(["build", "--quiet"]);
    if release {
        command.arg("--release");
    }
    for (package, binary) in binaries {
        command.args(["-p", package, "--bin", binary]);
    }
    run(&mut command)
}

/// Runs a program the workspace built (`target/<profile>/<name>`) with `args`; an error
/// naming `what` when it fails.
pub(crate) fn run_built(
    profile: &str,
    name: &str,
    args: &[String],
    what: &str,
) -> Result<(), String> {
    let program = target_dir(None)?.join(profile).join(name);
    let status = Command::new(&program)
        .args(args)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}
