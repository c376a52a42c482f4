//! `--host USER@HOST`: the guest side on a real Azure confidential VM, verified here.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use snp_vtpm::snp_verify::UnixTime;
use snp_vtpm::{Certificates, Evidence, EvidencePolicy, ExpectedNonce, Verifier, VerifyOptions};
use snp_vtpm_testkit::azure::TEST_FIRMWARE_ID_KEY_DIGEST;
use snp_vtpm_testkit::pki::TestPki;

use crate::report::RunReport;

/// Options of a `--host` run.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// `USER@HOST`.
    pub host: String,
    /// Print the commands only.
    pub dry_run: bool,
    /// The nonce (default: 32 random bytes).
    pub nonce_hex: Option<String>,
    /// Trust the test PKI and its firmware instead of AMD's roots (for this tool's own tests).
    pub trust_test_pki: bool,
    /// JSON at the end.
    pub json: bool,
    /// Copy this binary instead of building one (a cross build, or an older-glibc build).
    pub binary: Option<PathBuf>,
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(command: &mut Command, dry_run: bool) -> Result<(), String> {
    let line = format!("{command:?}").replace('"', "");
    if dry_run {
        println!("{line}");
        return Ok(());
    }
    let status = command
        .status()
        .map_err(|e| format!("cannot run {line}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{line} failed ({status})"))
    }
}

fn random_nonce() -> Result<String, String> {
    use std::io::Read;
    let mut nonce = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut nonce))
        .map_err(|e| e.to_string())?;
    Ok(hex::encode(nonce))
}

/// Builds, copies, runs the attester over ssh, fetches the evidence and verifies it.
pub fn run_host(options: &HostOptions) -> Result<RunReport, String> {
    let mut report = RunReport {
        verbose: !options.json,
        ..RunReport::default()
    };
    let nonce_hex = match &options.nonce_hex {
        Some(nonce) => nonce.clone(),
        None => random_nonce()?,
    };
    let nonce = hex::decode(&nonce_hex).map_err(|e| format!("--nonce-hex: {e}"))?;
    let root = workspace_root();
    let binary = options.binary.clone().unwrap_or_else(|| {
        // Where the release build below puts it (CARGO_TARGET_DIR moves the target folder).
        std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| root.join("target"), std::path::PathBuf::from)
            .join("release/snp-vtpm")
    });
    let local_dir = std::env::temp_dir().join(format!("snp-vtpm-host-{}", std::process::id()));
    let local_evidence = local_dir.join("evidence.json");
    let host = &options.host;
    let dry = options.dry_run;
    if options.binary.is_none() {
        report.step("build snp-vtpm (release)", || {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            run(
                Command::new(cargo).current_dir(&root).args([
                    "build",
                    "--release",
                    "-p",
                    "snp-vtpm",
                    "--bin",
                    "snp-vtpm",
                ]),
                dry,
            )
        })?;
    }
    report.step(format!("copy snp-vtpm to {host}"), || {
        run(
            Command::new("scp")
                .arg(&binary)
                .arg(format!("{host}:snp-vtpm")),
            dry,
        )
    })?;
    report.step(
        format!("on {host}: sudo ./snp-vtpm evidence --nonce-hex {nonce_hex} --fresh"),
        || {
            run(
                Command::new("ssh").arg(host).args([
                    "sudo",
                    "./snp-vtpm",
                    "evidence",
                    "--nonce-hex",
                    &nonce_hex,
                    "--fresh",
                    "-o",
                    "evidence.json",
                ]),
                dry,
            )
        },
    )?;
    report.step("fetch the evidence", || {
        if !dry {
            std::fs::create_dir_all(&local_dir).map_err(|e| e.to_string())?;
        }
        run(
            Command::new("scp")
                .arg(format!("{host}:evidence.json"))
                .arg(&local_evidence),
            dry,
        )
    })?;
    if dry {
        println!(
            "(then verify {} here against AMD's pinned roots, policy azure-cvm, fresh report required)",
            local_evidence.display()
        );
        return Ok(RunReport {
            accepted: Some("dry run".into()),
            ..report
        });
    }
    let verdict = report.step("verify here (pinned AMD roots, azure-cvm, fresh report required)", || {
        let bytes = std::fs::read(&local_evidence).map_err(|e| e.to_string())?;
        let evidence = Evidence::from_json(&bytes, snp_vtpm::DEFAULT_SIZE_LIMIT).map_err(|e| e.to_string())?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs();
        let options_verify = VerifyOptions { require_fresh_report: true, ..VerifyOptions::at(UnixTime::from_secs(now)) };
        let verifier = if options.trust_test_pki {
            let policy = EvidencePolicy::from_document(
                serde_json::json!({ "report": { "allowed_id_key_digests": [hex::encode(TEST_FIRMWARE_ID_KEY_DIGEST)] } }),
                "azure-cvm",
            )
            .map_err(|e| e.to_string())?;
            Verifier::with_anchors(TestPki::shared().trust_anchors(), policy)
        } else {
            Verifier::new(EvidencePolicy::preset("azure-cvm").ok_or("no preset")?)
        };
        let verified = verifier
            .verify(&evidence, ExpectedNonce::Exactly(&nonce), &Certificates::default(), &options_verify)
            .map_err(|e| e.to_string())?;
        serde_json::to_value(&verified).map_err(|e| e.to_string())
    });
    let _ = std::fs::remove_dir_all(&local_dir);
    let verdict: Value = verdict?;
    if report.verbose {
        eprintln!(
            "VERIFIED: evidence from {host} (product {}, VMPL {})",
            verdict["report"]["product"], verdict["report"]["vmpl"]
        );
    }
    report.accepted = Some("verified".into());
    report.verdict = Some(verdict);
    Ok(report)
}
