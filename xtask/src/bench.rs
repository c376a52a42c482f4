//! `cargo xtask bench`: SNP report verification by snp-verify and by the `sev` crate's two
//! backends (OpenSSL, pure Rust), run back to back and compared by criterion's medians.
//!
//! 1. `cargo bench -p snp-verify --bench verify` (group `snp`, workspace target dir);
//! 2. `cargo bench --manifest-path bench-peers/Cargo.toml --features openssl` (`sev-openssl`);
//! 3. the same with `--features nossl` (`sev-nossl`), bench-peers' own target dir.
//!
//! bench-peers is outside the workspace, so OpenSSL never enters its dependency graph. The
//! arguments go to every criterion run (a filter, `--sample-size`, ...); unless they set them,
//! `--warm-up-time 1 --measurement-time 3` keep the whole run to a few minutes.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::setup::{self, cargo, run, step, workspace_root};

/// What the OpenSSL build of bench-peers links against (the system libssl, not a vendored one).
const PEER_APT_PACKAGES: &[&str] = &["libssl-dev", "pkg-config"];

/// Criterion settings used unless the caller gives the same flag.
const DEFAULT_CRITERION_ARGS: &[(&str, &str)] =
    &[("--warm-up-time", "1"), ("--measurement-time", "3")];

/// Our criterion group (crates/snp-verify/benches/verify.rs).
const OURS: &str = "snp";

/// The peers' builds: (bench-peers feature, criterion group).
const PEERS: &[(&str, &str)] = &[("openssl", "sev-openssl"), ("nossl", "sev-nossl")];

/// The rows of the table: our benchmark, and the peers' benchmark that does the same work.
const ROWS: &[(&str, Option<&str>)] = &[
    ("report_signature", Some("report_signature")),
    ("vcek_parse_and_verify", Some("vcek_parse_and_verify")),
    ("ca_chain", Some("ca_chain")),
    ("verify_cached_chain", None),
    ("verify_cached_chain_vcek_parsed", None),
    ("verify_uncached", Some("verify_uncached")),
];

/// Runs the three benchmarks and prints the medians and ratios; `args` go to criterion.
pub fn bench(args: &[String]) -> Result<(), String> {
    step("system packages for the OpenSSL peer");
    setup::ensure_apt(PEER_APT_PACKAGES)?;

    let criterion_args = criterion_args(args);
    let peers_manifest = workspace_root().join("bench-peers").join("Cargo.toml");
    let started = SystemTime::now();

    step("snp-verify (cargo bench -p snp-verify --bench verify)");
    run(cargo()
        .args(["bench", "-p", "snp-verify", "--bench", "verify", "--"])
        .args(&criterion_args))?;

    for (feature, group) in PEERS {
        step(&format!(
            "{group} (cargo bench --manifest-path bench-peers/Cargo.toml --features {feature})"
        ));
        run(cargo()
            .arg("bench")
            .arg("--manifest-path")
            .arg(&peers_manifest)
            .args(["--features", feature, "--bench", "sev", "--"])
            .args(&criterion_args))?;
    }

    let ours_dir = criterion_dir(None)?;
    let peers_dir = criterion_dir(Some(&peers_manifest))?;
    let medians = Medians {
        ours_dir: &ours_dir,
        peers_dir: &peers_dir,
        since: started,
    };
    print!("{}", medians.table());
    Ok(())
}

/// The caller's arguments, preceded by the default settings they do not override.
fn criterion_args(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (flag, value) in DEFAULT_CRITERION_ARGS {
        let given = args
            .iter()
            .any(|a| a == flag || a.starts_with(&format!("{flag}=")));
        if !given {
            out.push((*flag).to_owned());
            out.push((*value).to_owned());
        }
    }
    out.extend(args.iter().cloned());
    out
}

/// Criterion's output folder for a package, as criterion finds it: `$CRITERION_HOME`, else
/// `<target directory>/criterion` (which honours `CARGO_TARGET_DIR` and cargo config).
fn criterion_dir(manifest: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return Ok(PathBuf::from(home));
    }
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
    Ok(Path::new(target).join("criterion"))
}

/// Where the three runs left their results.
struct Medians<'a> {
    ours_dir: &'a Path,
    peers_dir: &'a Path,
    /// Results older than this are from an earlier run and are not shown.
    since: SystemTime,
}

impl Medians<'_> {
    /// The median (ns) of `group/name` written by this run.
    fn get(&self, dir: &Path, group: &str, name: &str) -> Option<f64> {
        let path = dir
            .join(group)
            .join(name)
            .join("new")
            .join("estimates.json");
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
        if modified < self.since {
            return None;
        }
        let value: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
        value.get("median")?.get("point_estimate")?.as_f64()
    }

    fn table(&self) -> String {
        let mut header = vec!["benchmark".to_owned(), "snp-verify".to_owned()];
        header.extend(PEERS.iter().map(|(_, group)| (*group).to_owned()));
        header.extend(PEERS.iter().map(|(_, group)| format!("ours/{group}")));
        let mut lines = vec![header];
        for (ours_name, peer_name) in ROWS {
            let ours = self.get(self.ours_dir, OURS, ours_name);
            let peers: Vec<Option<f64>> = PEERS
                .iter()
                .map(|(_, group)| peer_name.and_then(|name| self.get(self.peers_dir, group, name)))
                .collect();
            let mut line = vec![(*ours_name).to_owned(), cell(ours)];
            line.extend(peers.iter().map(|peer| cell(*peer)));
            line.extend(peers.iter().map(|peer| match (ours, peer) {
                (Some(ours), Some(peer)) if *peer > 0.0 => format!("{:.2}", ours / peer),
                _ => "-".to_owned(),
            }));
            lines.push(line);
        }
        let widths: Vec<usize> = (0..lines[0].len())
            .map(|column| lines.iter().map(|l| l[column].len()).max().unwrap_or(0))
            .collect();
        let mut out = String::from(
            "\nSNP report verification, real Azure Milan evidence: criterion medians\n\n",
        );
        for line in &lines {
            let mut text = format!("{:<width$}", line[0], width = widths[0]);
            for (value, width) in line.iter().zip(&widths).skip(1) {
                text.push_str(&format!("  {value:>width$}"));
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out.push_str(
            "\nours/<peer> is snp-verify's median over the peer's: below 1.00 snp-verify is \
             faster.\nsev checks signatures only (no pinned root, names, validity, VCEK \
             extensions or policy)\nand has no cached-chain path, so the cached rows have no \
             peer. '-' also marks a result\nthis run did not produce (a filter, or a failed \
             benchmark).\n",
        );
        out
    }
}

/// A median in the unit that keeps 3-4 significant digits, or `-`.
fn cell(ns: Option<f64>) -> String {
    match ns {
        None => "-".to_owned(),
        Some(ns) if ns >= 1e6 => format!("{:.3} ms", ns / 1e6),
        Some(ns) if ns >= 1e3 => format!("{:.1} us", ns / 1e3),
        Some(ns) => format!("{ns:.1} ns"),
    }
}
