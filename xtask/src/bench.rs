//! `cargo xtask bench`: whole-evidence verification by snp-vtpm against the published
//! az-snp-vtpm crate (OpenSSL), aws-lc-rs (the floor) and the `sev` crate's two backends, run
//! back to back and compared by criterion's medians.
//!
//! 1. `cargo bench -p snp-vtpm --no-default-features --bench evidence` (groups `snp-vtpm`,
//!    `snp-vtpm-batch`) and `cargo bench -p snp-verify --bench verify` (group `snp`), workspace
//!    target dir;
//! 2. `cargo bench --manifest-path bench-peers/Cargo.toml --features openssl,az,awslc`
//!    (`az-snp-vtpm`, `aws-lc-rs`, `sev-openssl`), bench-peers' own target dir;
//! 3. the same with `--features nossl --bench sev` (`sev-nossl`).
//!
//! bench-peers is outside the workspace, so OpenSSL, tss-esapi and AWS-LC never enter its
//! dependency graph. The arguments go to every criterion run (a filter, `--sample-size`, ...);
//! unless they set them, `--warm-up-time 1 --measurement-time 3` keep the whole run to a few
//! minutes. The tables say what the targets ask: each verification case at least 2.5x
//! the throughput of az-snp-vtpm, the cached case within 1.3x of aws-lc-rs, parse <= 50 ns.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::setup::{self, cargo, run, step, workspace_root};

/// What the peers link against: the system libssl (sev, az-snp-vtpm), libtss2 (az-snp-vtpm
/// parses TPMS_ATTEST with tss-esapi); AWS-LC builds with the C compiler (no cmake needed).
const PEER_APT_PACKAGES: &[&str] = &["libssl-dev", "pkg-config", "libtss2-dev", "gcc", "g++"];

/// Criterion settings used unless the caller gives the same flag.
const DEFAULT_CRITERION_ARGS: &[(&str, &str)] =
    &[("--warm-up-time", "1"), ("--measurement-time", "3")];

/// Our whole-evidence group (crates/cli/benches/evidence.rs) and its batch group.
const OURS: &str = "snp-vtpm";
const OURS_BATCH: &str = "snp-vtpm-batch";
/// Our SNP-report step group (crates/snp-verify/benches/verify.rs).
const OURS_SNP: &str = "snp";
/// Evidences per batch iteration (crates/cli/benches/evidence.rs `BATCH`).
const BATCH: f64 = 32.0;

const AZ: &str = "az-snp-vtpm";
const AWSLC: &str = "aws-lc-rs";
const SEV_PEERS: &[&str] = &["sev-openssl", "sev-nossl"];

/// A whole-evidence row: (label, ours, az-snp-vtpm, aws-lc-rs, 2.5x target against az).
type EvidenceRow = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    bool,
);

/// Whole-evidence rows.
const EVIDENCE_ROWS: &[EvidenceRow] = &[
    (
        "uncached",
        "verify_uncached",
        Some("verify_example"),
        Some("verify_uncached"),
        true,
    ),
    (
        "chain cached, VCEK parsed",
        "verify_chain_cached",
        Some("verify_chain_cached"),
        Some("verify_chain_cached"),
        true,
    ),
    (
        "  same, VCEK new (no table)",
        "verify_chain_cached_new_vcek",
        Some("verify_chain_cached"),
        Some("verify_chain_cached"),
        false,
    ),
    (
        "chain and VCEK cached",
        "verify_vcek_cached",
        Some("verify_vcek_cached"),
        Some("verify_vcek_cached"),
        true,
    ),
    (
        "P-384 report signature",
        "report_signature",
        Some("report_signature"),
        Some("report_signature"),
        false,
    ),
    (
        "  same, no key table",
        "report_signature_no_table",
        Some("report_signature"),
        Some("report_signature"),
        false,
    ),
    (
        "  same, stock p384",
        "report_signature_stock",
        Some("report_signature"),
        Some("report_signature"),
        false,
    ),
    ("quote", "quote", Some("quote"), Some("quote"), false),
    ("parse (HCL + SNP views)", "parse", None, None, false),
];

/// SNP-report step rows against the `sev` crate: (ours in `snp`, the peers' benchmark).
const SNP_ROWS: &[(&str, Option<&str>)] = &[
    ("report_signature", Some("report_signature")),
    ("report_signature_key_table", Some("report_signature")),
    ("report_signature_stock", Some("report_signature")),
    ("key_table_build", None),
    ("vcek_parse_and_verify", Some("vcek_parse_and_verify")),
    ("ca_chain", Some("ca_chain")),
    ("ca_chain_every_signature", Some("ca_chain")),
    ("verify_cached_chain", None),
    ("verify_cached_chain_vcek_parsed", None),
    ("verify_uncached", Some("verify_uncached")),
];

/// Runs every benchmark and prints the medians and ratios; `args` go to criterion.
pub(crate) fn bench(args: &[String]) -> Result<(), String> {
    step("system packages for the peers (OpenSSL, libtss2, a C compiler for AWS-LC)");
    setup::ensure_apt(PEER_APT_PACKAGES)?;

    let criterion_args = criterion_args(args);
    let peers_manifest = workspace_root().join("bench-peers").join("Cargo.toml");
    let started = SystemTime::now();

    step("snp-vtpm (cargo bench -p snp-vtpm --no-default-features --bench evidence)");
    run(cargo()
        .args([
            "bench",
            "-p",
            "snp-vtpm",
            "--no-default-features",
            "--bench",
            "evidence",
            "--",
        ])
        .args(&criterion_args))?;

    step("az-snp-vtpm, aws-lc-rs, sev-openssl (bench-peers --features openssl,az,awslc)");
    run(cargo()
        .arg("bench")
        .arg("--manifest-path")
        .arg(&peers_manifest)
        .args(["--features", "openssl,az,awslc", "--"])
        .args(&criterion_args))?;

    step("snp-verify steps (cargo bench -p snp-verify --bench verify)");
    run(cargo()
        .args(["bench", "-p", "snp-verify", "--bench", "verify", "--"])
        .args(&criterion_args))?;

    step("sev-nossl (bench-peers --features nossl --bench sev)");
    run(cargo()
        .arg("bench")
        .arg("--manifest-path")
        .arg(&peers_manifest)
        .args(["--features", "nossl", "--bench", "sev", "--"])
        .args(&criterion_args))?;

    let ours_dir = criterion_dir(None)?;
    let peers_dir = criterion_dir(Some(&peers_manifest))?;
    let medians = Medians {
        ours_dir: &ours_dir,
        peers_dir: &peers_dir,
        since: started,
    };
    print!("{}", medians.evidence_table());
    print!("{}", medians.batch_table());
    print!("{}", medians.snp_table());
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
    Ok(setup::target_dir(manifest)?.join("criterion"))
}

/// Where the runs left their results.
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

    fn ours(&self, name: &str) -> Option<f64> {
        self.get(self.ours_dir, OURS, name)
    }

    fn peer(&self, group: &str, name: Option<&str>) -> Option<f64> {
        name.and_then(|name| self.get(self.peers_dir, group, name))
    }

    fn evidence_table(&self) -> String {
        let mut lines = vec![row(&[
            "milan-v2 evidence",
            "snp-vtpm",
            "az-snp-vtpm",
            "aws-lc-rs",
            "speed-up vs az",
            "time vs aws-lc",
        ])];
        let mut verdicts = Vec::new();
        for (label, ours_name, az_name, awslc_name, az_target) in EVIDENCE_ROWS {
            let ours = self.ours(ours_name);
            let az = self.peer(AZ, *az_name);
            let awslc = self.peer(AWSLC, *awslc_name);
            let speed_up = ratio(az, ours);
            let vs_floor = ratio(ours, awslc);
            lines.push(vec![
                (*label).to_owned(),
                cell(ours),
                cell(az),
                cell(awslc),
                speed_up.map_or("-".into(), |r| format!("{r:.2}x")),
                vs_floor.map_or("-".into(), |r| format!("{r:.2}x")),
            ]);
            if *az_target {
                verdicts.push(target(
                    &format!("{} >= 2.5x az-snp-vtpm", label.trim()),
                    speed_up.map(|r| r >= 2.5),
                ));
            }
            if *ours_name == "verify_vcek_cached" {
                verdicts.push(target(
                    "cached case within 1.3x of aws-lc-rs",
                    vs_floor.map(|r| r <= 1.3),
                ));
            }
            if *ours_name == "parse" {
                verdicts.push(target("parse <= 50 ns", ours.map(|ns| ns <= 50.0)));
            }
        }
        let mut out = String::from(
            "\nWhole-evidence verification, real Azure milan-v2 evidence: criterion medians\n\n",
        );
        out.push_str(&render(&lines));
        out.push_str(
            "\nspeed-up vs az = az-snp-vtpm's median / snp-vtpm's (throughput ratio);\n\
             time vs aws-lc = snp-vtpm's median / aws-lc-rs's (aws-lc-rs does only the\n\
             cryptography and hashing, inputs extracted beforehand: the floor).\n\
             snp-vtpm also checks names, validity, VCEK extensions vs the report, the\n\
             qualifiedSigner, firmware identity and the policy; az-snp-vtpm checks none of\n\
             these. Parse allocates nothing (tests/tests/alloc_free.rs).\n\nTargets:\n",
        );
        for verdict in verdicts {
            out.push_str(&verdict);
        }
        out
    }

    fn batch_table(&self) -> String {
        let one = self.get(self.ours_dir, OURS_BATCH, "threads_1");
        let two = self.get(self.ours_dir, OURS_BATCH, "threads_2");
        let mut lines = vec![row(&[
            "threads",
            "per batch",
            "per evidence",
            "evidences/s",
            "scaling",
        ])];
        for (threads, median) in [(1, one), (2, two)] {
            lines.push(vec![
                threads.to_string(),
                cell(median),
                cell(median.map(|ns| ns / BATCH)),
                median.map_or("-".into(), |ns| format!("{:.0}", BATCH * 1e9 / ns)),
                ratio(one, median).map_or("-".into(), |r| format!("{r:.2}x")),
            ]);
        }
        let mut out = format!(
            "\nVerifier::verify_batch_on, {BATCH} evidences (chain and VCEK cached), per thread count\n\n"
        );
        out.push_str(&render(&lines));
        out.push_str(&format!(
            "({} logical CPUs here; other load on the machine lowers the 2-thread scaling)\n",
            std::thread::available_parallelism().map_or(1, usize::from)
        ));
        out
    }

    fn snp_table(&self) -> String {
        let mut header = vec!["SNP report step".to_owned(), "snp-verify".to_owned()];
        header.extend(SEV_PEERS.iter().map(|group| (*group).to_owned()));
        header.extend(SEV_PEERS.iter().map(|group| format!("ours/{group}")));
        let mut lines = vec![header];
        for (ours_name, peer_name) in SNP_ROWS {
            let ours = self.get(self.ours_dir, OURS_SNP, ours_name);
            let peers: Vec<Option<f64>> = SEV_PEERS
                .iter()
                .map(|group| self.peer(group, *peer_name))
                .collect();
            let mut line = vec![(*ours_name).to_owned(), cell(ours)];
            line.extend(peers.iter().map(|peer| cell(*peer)));
            line.extend(
                peers
                    .iter()
                    .map(|peer| ratio(ours, *peer).map_or("-".into(), |r| format!("{r:.2}"))),
            );
            lines.push(line);
        }
        let mut out =
            String::from("\nSNP report steps against the sev crate: criterion medians\n\n");
        out.push_str(&render(&lines));
        out.push_str(
            "\nours/<peer> is snp-verify's median over the peer's: below 1.00 snp-verify is \
             faster.\nsev checks signatures only. '-' marks a result this run did not produce \
             (a filter,\nor a failed benchmark).\n",
        );
        out
    }
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

fn ratio(numerator: Option<f64>, denominator: Option<f64>) -> Option<f64> {
    match (numerator, denominator) {
        (Some(n), Some(d)) if d > 0.0 => Some(n / d),
        _ => None,
    }
}

fn target(what: &str, met: Option<bool>) -> String {
    let verdict = match met {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "not measured",
    };
    format!("  {what}: {verdict}\n")
}

/// Left-aligned first column, right-aligned others.
fn render(lines: &[Vec<String>]) -> String {
    let columns = lines.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            lines
                .iter()
                .map(|l| l.get(column).map_or(0, String::len))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in lines {
        let mut text = String::new();
        for (index, (value, width)) in line.iter().zip(&widths).enumerate() {
            if index == 0 {
                text.push_str(&format!("{value:<width$}"));
            } else {
                text.push_str(&format!("  {value:>width$}"));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
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
