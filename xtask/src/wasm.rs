//! `cargo xtask wasm [--test]`: the npm package (`target/npm`, CommonJS for Node's `require`)
//! and the web page (`target/web`, the page with its ES module), from one build of
//! `bindings/js` for wasm32. `wasm-bindgen-cli` is installed from crates.io at exactly the
//! version of the `wasm-bindgen` crate in Cargo.lock (the two must agree). With `--test`, the
//! Node tests run against the package as a user loads it, and `npm pack` checks its layout.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::setup::{self, WASM_TARGET, cargo, run, step};

/// The cargo profile of the WebAssembly module (Cargo.toml: small over fast).
const PROFILE: &str = "wasm";

/// What `cargo xtask wasm` built.
pub(crate) struct Built {
    /// The npm package directory.
    pub npm: PathBuf,
    /// The web page directory (static files).
    pub web: PathBuf,
}

/// Runs `cargo xtask wasm [--test]`.
pub(crate) fn wasm(args: &[String]) -> Result<(), String> {
    let built = build()?;
    if args.iter().any(|a| a == "--test") {
        test_package(&built)?;
    }
    Ok(())
}

/// Builds the module, the npm package and the web page; prints their sizes.
pub(crate) fn build() -> Result<Built, String> {
    step("wasm32 target and wasm-bindgen-cli");
    setup::ensure_rust_target(WASM_TARGET)?;
    let version = locked_version("wasm-bindgen")?;
    let bindgen = ensure_wasm_bindgen(&version)?;

    step("bindings/js for wasm32 (profile wasm)");
    run(cargo().args([
        "build",
        "-p",
        "snp-vtpm-js",
        "--lib",
        "--target",
        WASM_TARGET,
        "--profile",
        PROFILE,
    ]))?;
    let target = setup::target_dir(None)?;
    let module = target
        .join(WASM_TARGET)
        .join(PROFILE)
        .join("snp_vtpm_js.wasm");

    step("npm package (target/npm) and web page (target/web)");
    let npm = target.join("npm");
    let web = target.join("web");
    for (dir, bindgen_target) in [(&npm, "nodejs"), (&web.join("pkg"), "web")] {
        let _ = std::fs::remove_dir_all(dir);
        run(Command::new(&bindgen)
            .args([
                "--target",
                bindgen_target,
                "--out-name",
                "snp_vtpm",
                "--out-dir",
            ])
            .arg(dir)
            .arg(&module))?;
    }
    let root = setup::workspace_root();
    let package_version = crate_version(&root.join("bindings/js/Cargo.toml"))?;
    let manifest = read_text(&root.join("bindings/js/npm/package.json"))?.replace(
        "\"0.0.0-filled-by-xtask\"",
        &format!("\"{package_version}\""),
    );
    write(&npm.join("package.json"), manifest.as_bytes())?;
    copy(
        &root.join("bindings/js/npm/README.md"),
        &npm.join("README.md"),
    )?;
    for entry in std::fs::read_dir(root.join("web")).map_err(|e| format!("web/: {e}"))? {
        let path = entry.map_err(|e| format!("web/: {e}"))?.path();
        if path.is_file()
            && let Some(name) = path.file_name()
        {
            copy(&path, &web.join(name))?;
        }
    }
    let wasm_file = npm.join("snp_vtpm_bg.wasm");
    let raw = std::fs::metadata(&wasm_file)
        .map_err(|e| format!("{}: {e}", wasm_file.display()))?
        .len();
    let gzipped = gzip_size(&wasm_file)?;
    eprintln!(
        "snp_vtpm_bg.wasm: {raw} bytes, {gzipped} bytes gzipped ({:.0} KiB; target < 1024 KiB)",
        gzipped as f64 / 1024.0
    );
    Ok(Built { npm, web })
}

/// The Node tests against the package, and `npm pack --dry-run`.
fn test_package(built: &Built) -> Result<(), String> {
    step("node and npm");
    ensure_node()?;
    let target = setup::target_dir(None)?;
    let evidence = vector_evidence()?;
    setup::build_binaries(&[("snp-vtpm", "snp-vtpm")], false)?;

    step("the npm package in Node (bindings/js/test)");
    let root = setup::workspace_root();
    run(Command::new("node")
        .arg("--test")
        .arg(root.join("bindings/js/test/verify.test.js"))
        .env("SNP_VTPM_NPM", &built.npm)
        .env("SNP_VTPM_BIN", target.join("debug/snp-vtpm"))
        .env("SNP_VTPM_VECTORS", vectors_dir())
        .env("SNP_VTPM_JS_EVIDENCE", &evidence))?;

    step("npm pack --dry-run");
    let output = Command::new("npm")
        .args(["pack", "--dry-run", "--json"])
        .current_dir(&built.npm)
        .output()
        .map_err(|e| format!("cannot run npm: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "npm pack refused target/npm: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let packed: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("npm pack printed no JSON: {e}"))?;
    let files: Vec<&str> = packed
        .get(0)
        .and_then(|p| p.get("files"))
        .and_then(serde_json::Value::as_array)
        .map(|files| {
            files
                .iter()
                .filter_map(|f| f.get("path").and_then(serde_json::Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    for needed in [
        "package.json",
        "README.md",
        "snp_vtpm.js",
        "snp_vtpm.d.ts",
        "snp_vtpm_bg.wasm",
    ] {
        if !files.contains(&needed) {
            return Err(format!("npm pack leaves out {needed} (packs {files:?})"));
        }
    }
    eprintln!("npm pack: {} files: {}", files.len(), files.join(", "));
    Ok(())
}

/// Writes the vectors that come in parts as evidence files (the testkit's `vector-evidence`)
/// into `target/js-vectors`, for the Node, browser and Python tests; returns the directory.
pub(crate) fn vector_evidence() -> Result<PathBuf, String> {
    let dir = setup::target_dir(None)?.join("js-vectors");
    run(cargo()
        .args([
            "run",
            "--quiet",
            "-p",
            "snp-vtpm-testkit",
            "--bin",
            "vector-evidence",
            "--",
        ])
        .arg(&dir))?;
    Ok(dir)
}

/// The test vectors: `SNP_VTPM_VECTORS`, else `../shared/vectors` next to the checkout.
pub(crate) fn vectors_dir() -> PathBuf {
    let dir = std::env::var_os("SNP_VTPM_VECTORS").map_or_else(
        || setup::workspace_root().join("../shared/vectors"),
        PathBuf::from,
    );
    // Without `..`: a browser takes only canonical paths for file uploads.
    dir.canonicalize().unwrap_or(dir)
}

/// Node and npm: Debian's `nodejs` and `npm` when the commands are missing.
pub(crate) fn ensure_node() -> Result<(), String> {
    let has = |program: &str| {
        Command::new(program)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !has("node") {
        setup::ensure_apt(&["nodejs"])?;
    }
    if !has("npm") {
        setup::ensure_apt(&["npm"])?;
    }
    Ok(())
}

/// The version of `package` in Cargo.lock (the only one: the workspace pins one).
fn locked_version(package: &str) -> Result<String, String> {
    let lock = read_text(&setup::workspace_root().join("Cargo.lock"))?;
    let mut versions = lock.split("[[package]]").filter_map(|block| {
        let mut lines = block.lines().map(str::trim);
        let name = lines.find_map(|l| l.strip_prefix("name = "))?;
        (name.trim_matches('"') == package).then(|| {
            block
                .lines()
                .find_map(|l| l.trim().strip_prefix("version = "))
                .map(|v| v.trim_matches('"').to_string())
        })?
    });
    let version = versions
        .next()
        .ok_or_else(|| format!("Cargo.lock has no {package}"))?;
    if let Some(other) = versions.next() {
        return Err(format!(
            "Cargo.lock has {package} {version} and {other}: wasm-bindgen-cli must match one"
        ));
    }
    Ok(version)
}

/// `wasm-bindgen` at `version`: the one on PATH if it is that version, else installed with
/// `cargo install wasm-bindgen-cli --version =VERSION --locked` into `target/tools`.
fn ensure_wasm_bindgen(version: &str) -> Result<PathBuf, String> {
    let reports = |program: &Path| {
        Command::new(program)
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .is_some_and(|o| {
                String::from_utf8_lossy(&o.stdout).split_whitespace().nth(1) == Some(version)
            })
    };
    let on_path = PathBuf::from("wasm-bindgen");
    if reports(&on_path) {
        return Ok(on_path);
    }
    let root = setup::target_dir(None)?
        .join("tools")
        .join(format!("wasm-bindgen-{version}"));
    let installed = root.join("bin/wasm-bindgen");
    if reports(&installed) {
        return Ok(installed);
    }
    step(&format!(
        "installing wasm-bindgen-cli {version} (crates.io, the version in Cargo.lock)"
    ));
    let install = |locked: bool| {
        let mut command = cargo();
        command
            .args(["install", "wasm-bindgen-cli", "--version"])
            .arg(format!("={version}"))
            .arg("--root")
            .arg(&root);
        if locked {
            command.arg("--locked");
        }
        run(&mut command)
    };
    // The crate's own lock file first; when the registry no longer has one of its pinned
    // dependencies (a yanked or unmirrored release), the newest compatible ones instead.
    if install(true).is_err() {
        eprintln!(
            "wasm-bindgen-cli {version} with its Cargo.lock failed; installing it with the newest compatible dependencies"
        );
        install(false)?;
    }
    if reports(&installed) {
        Ok(installed)
    } else {
        Err(format!(
            "{} does not report version {version}",
            installed.display()
        ))
    }
}

fn crate_version(manifest: &Path) -> Result<String, String> {
    let text = read_text(manifest)?;
    if text.contains("version.workspace = true") {
        return crate_version(&setup::workspace_root().join("Cargo.toml"));
    }
    text.lines()
        .find_map(|l| l.trim().strip_prefix("version = "))
        .map(|v| v.trim_matches('"').to_string())
        .ok_or_else(|| format!("{}: no version", manifest.display()))
}

/// The size of `path` gzipped (`gzip -9`), as it travels over HTTP.
fn gzip_size(path: &Path) -> Result<u64, String> {
    let output = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(path)
        .output()
        .map_err(|e| format!("cannot run gzip: {e}"))?;
    if output.status.success() {
        Ok(output.stdout.len() as u64)
    } else {
        Err(format!("gzip {} failed", path.display()))
    }
}

fn read_text(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    let bytes = std::fs::read(from).map_err(|e| format!("{}: {e}", from.display()))?;
    write(to, &bytes)
}
