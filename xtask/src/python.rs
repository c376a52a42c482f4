//! `cargo xtask python`: the abi3 wheel of `bindings/python` (maturin from PyPI) into
//! `target/wheels/`, installed with pip into a fresh virtual environment and tested there with
//! pytest, as a user would install it. Also the virtual environments the other Python-driven
//! checks use (the web page's browser test).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::setup::{self, run, step};

/// Pinned PyPI tools: the wheel builder and the test runner.
const MATURIN: &str = "maturin==1.16.0";
const PYTEST: &str = "pytest==9.2.0";

/// Runs `cargo xtask python`.
pub(crate) fn python(_args: &[String]) -> Result<(), String> {
    let target = setup::target_dir(None)?;
    let root = setup::workspace_root();

    step("maturin (PyPI) in target/venv-build");
    let build_env = venv(&target.join("venv-build"), &[MATURIN])?;

    step("the abi3 wheel (target/wheels)");
    let wheels = target.join("wheels");
    let _ = std::fs::remove_dir_all(&wheels);
    run(Command::new(build_env.join("bin/maturin"))
        .args(["build", "--release", "--quiet", "--out"])
        .arg(&wheels)
        .arg("--manifest-path")
        .arg(root.join("bindings/python/Cargo.toml")))?;
    let wheel = std::fs::read_dir(&wheels)
        .map_err(|e| format!("{}: {e}", wheels.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|e| e == "whl"))
        .ok_or("maturin wrote no wheel")?;
    let name = wheel
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains("abi3") {
        return Err(format!("{name} is not an abi3 wheel"));
    }
    let size = std::fs::metadata(&wheel).map(|m| m.len()).unwrap_or(0);
    eprintln!("{name}: {size} bytes");

    step("pip install the wheel into a fresh virtual environment");
    let test_env = target.join("venv-wheel");
    let _ = std::fs::remove_dir_all(&test_env);
    let test_env = venv(&test_env, &[PYTEST])?;
    run(Command::new(test_env.join("bin/pip"))
        .args(["install", "--quiet", "--no-index"])
        .arg(&wheel))?;

    step("pytest bindings/python/tests");
    let evidence = crate::wasm::vector_evidence()?;
    setup::build_binaries(&[("snp-vtpm", "snp-vtpm")], false)?;
    // From another directory than the source tree, so that the installed package is imported.
    run(Command::new(test_env.join("bin/python"))
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(root.join("bindings/python/tests"))
        .current_dir(&target)
        .env("SNP_VTPM_VECTORS", crate::wasm::vectors_dir())
        .env("SNP_VTPM_JS_EVIDENCE", &evidence)
        .env("SNP_VTPM_BIN", target.join("debug/snp-vtpm")))
}

/// A virtual environment at `dir` with `packages` installed (kept between runs when it
/// already has them); returns its directory. Needs `python3` with `venv` (Debian's
/// `python3-venv`, installed when missing).
pub(crate) fn venv(dir: &Path, packages: &[&str]) -> Result<PathBuf, String> {
    let python = dir.join("bin/python");
    if !python.exists() {
        if !Command::new("python3")
            .args(["-c", "import venv, ensurepip"])
            .status()
            .is_ok_and(|s| s.success())
        {
            setup::ensure_apt(&["python3", "python3-venv"])?;
        }
        run(Command::new("python3").args(["-m", "venv"]).arg(dir))?;
    }
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|spec| {
            let (name, version) = spec.split_once("==").unwrap_or((spec, ""));
                        !Command::new(&python)
                .args(["-c", &format!("import importlib.metadata as m, sys; sys.exit(m.version('{name}') != '{version}')")])
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect();
    if !missing.is_empty() {
        run(Command::new(dir.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(&missing))?;
    }
    Ok(dir.to_path_buf())
}
