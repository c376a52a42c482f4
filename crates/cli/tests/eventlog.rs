//! The facade with a TCG event log: evidence whose log replays to the quote verifies and says
//! what booted; a log that does not replay is refused (exit 2), a malformed one is input
//! (exit 1); the policy can require a log, secure boot, and allowed kernel command lines
//! (exit 3). `snp-vtpm show LOG` decodes logs.

use std::path::Path;
use std::process::Command;

use snp_verify::UnixTime;
use snp_vtpm::vtpm_quote::eventlog::{Divergence, LogFormat};
use snp_vtpm::vtpm_quote::{self, HashAlg};
use snp_vtpm::{
    Cause, Certificates, Check, Evidence, EvidencePolicy, ExitCode, ExpectedNonce,
    VerifiedEvidence, Verifier, VerifyOptions,
};
use snp_vtpm_testkit::azure::{SyntheticReport, TEST_FIRMWARE_ID_KEY_DIGEST};
use snp_vtpm_testkit::eventlog::{linux_boot_log, synthetic_evidence_with_log};
use snp_vtpm_testkit::pki::TestPki;
use snp_vtpm_testkit::vectors;

const TIME: UnixTime = UnixTime::from_secs(1_748_736_000);
const CMDLINE: &str = "/vmlinuz-6.8.0 root=/dev/vda1 ro console=ttyS0";

/// The test firmware allowed, plus `extra` (an `event_log` section, say).
fn verifier(extra: serde_json::Value) -> Verifier {
    let mut doc = serde_json::json!({
        "report": { "allowed_id_key_digests": [hex::encode(TEST_FIRMWARE_ID_KEY_DIGEST)] },
    });
    if let (Some(doc), serde_json::Value::Object(extra)) = (doc.as_object_mut(), extra) {
        doc.extend(extra);
    }
    let policy = EvidencePolicy::from_document(doc, "azure-cvm").unwrap();
    Verifier::with_anchors(TestPki::shared().trust_anchors(), policy)
}

/// Evidence whose quote covers `quoted_log`'s replay, carrying `carried_log`.
fn evidence(quoted_log: &[u8], carried_log: Option<&[u8]>) -> (Evidence, Certificates, Vec<u8>) {
    let made = synthetic_evidence_with_log(
        TestPki::shared(),
        &SyntheticReport::new(&[], [0; 64]),
        b"event log nonce",
        quoted_log,
        carried_log,
    );
    let evidence = Evidence::from_json(&made.json, snp_vtpm::DEFAULT_SIZE_LIMIT).unwrap();
    let mut certificates = Certificates::default();
    certificates.add_file(made.chain_pem.as_bytes()).unwrap();
    (evidence, certificates, made.nonce)
}

fn verify(
    verifier: &Verifier,
    (evidence, certificates, nonce): &(Evidence, Certificates, Vec<u8>),
) -> Result<VerifiedEvidence, snp_vtpm::Error> {
    verifier.verify(
        evidence,
        ExpectedNonce::Exactly(nonce),
        certificates,
        &VerifyOptions::at(TIME),
    )
}

fn outcome(verified: &VerifiedEvidence, check: Check) -> &'static str {
    verified
        .checks()
        .iter()
        .find(|c| c.check == check)
        .map(|c| c.outcome)
        .unwrap_or("absent")
}

fn assert_schema_valid(verified: &VerifiedEvidence) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/verdict.schema.json");
    let schema: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let verdict = serde_json::json!({
        "verified": true,
        "exit_code": 0,
        "verdict": serde_json::to_value(verified).unwrap(),
    });
    let errors: Vec<String> = validator
        .iter_errors(&verdict)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{verdict:#}");
}

#[test]
fn a_log_that_replays_to_the_quote_verifies_and_says_what_booted() {
    let log = linux_boot_log(true, CMDLINE);
    let made = evidence(&log, Some(&log));
    let verified = verify(&verifier(serde_json::json!({})), &made).unwrap();
    assert_eq!(outcome(&verified, Check::EventLog), "passed");
    let claims = verified.event_log().expect("event log claims");
    assert_eq!(claims.format, LogFormat::CryptoAgile);
    assert_eq!(claims.summary.secure_boot, Some(true));
    assert_eq!(claims.summary.kernel_cmdlines, [CMDLINE]);
    let chain: Vec<_> = claims
        .summary
        .boot_chain
        .iter()
        .map(|a| a.path.as_deref().unwrap())
        .collect();
    assert_eq!(
        chain,
        ["\\EFI\\ubuntu\\shimx64.efi", "\\EFI\\ubuntu\\grubx64.efi"]
    );
    assert_eq!(
        claims.matched_pcrs.len(),
        1,
        "the SHA-256 bank the quote covers"
    );
    assert_eq!(claims.matched_pcrs[0].bank, HashAlg::Sha256);
    assert_eq!(claims.matched_pcrs[0].indices, (0..=8).collect::<Vec<u8>>());
    assert!(claims.unquoted_pcrs.is_empty());
    assert_schema_valid(&verified);
    let json = serde_json::to_value(&verified).unwrap();
    assert_eq!(json["event_log"]["secure_boot"], true);
    assert_eq!(
        json["event_log"]["kernel_cmdlines"],
        serde_json::json!([CMDLINE])
    );

    // The native format carries the log through a round trip.
    let again = Evidence::from_json(&made.0.to_json(), snp_vtpm::DEFAULT_SIZE_LIMIT).unwrap();
    assert_eq!(again.event_log.as_deref(), Some(log.as_slice()));
}

#[test]
fn a_log_that_does_not_replay_to_the_quote_is_refused() {
    let quoted = linux_boot_log(true, CMDLINE);
    let other = linux_boot_log(true, "/vmlinuz-6.8.0 root=/dev/vda1 init=/bin/sh");
    let err = verify(
        &verifier(serde_json::json!({})),
        &evidence(&quoted, Some(&other)),
    )
    .unwrap_err();
    assert_eq!(
        (err.check(), err.exit_code()),
        (Check::EventLog, ExitCode::Verification),
        "{err}"
    );
    assert!(err.message().contains("PCR sha256:8"), "{err}");
    match err.cause() {
        Cause::Quote(vtpm_quote::Error::EventLogMismatch {
            pcr: 8,
            divergence: Divergence::AtOrAfter,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }

    // A log for the SHA-1 bank only cannot be compared with a SHA-256 quote.
    let mut sha1 = vtpm_quote::eventlog::compose::EventLogBuilder::sha1();
    sha1.separators(0..=7);
    let err = verify(
        &verifier(serde_json::json!({})),
        &evidence(&quoted, Some(&sha1.build())),
    )
    .unwrap_err();
    assert_eq!(
        (err.check(), err.exit_code()),
        (Check::EventLog, ExitCode::Verification),
        "{err}"
    );
}

#[test]
fn a_malformed_log_is_refused_as_input() {
    let quoted = linux_boot_log(true, CMDLINE);
    for carried in [
        quoted[..quoted.len() - 3].to_vec(),
        b"not an event log at all, just text".to_vec(),
        Vec::new(),
    ] {
        let err = verify(
            &verifier(serde_json::json!({})),
            &evidence(&quoted, Some(&carried)),
        )
        .unwrap_err();
        assert_eq!(
            (err.check(), err.exit_code()),
            (Check::EventLog, ExitCode::Input),
            "{err}"
        );
    }
}

#[test]
fn altered_event_data_is_refused() {
    // Same digests, other text: the replay still matches, but the command line is not the
    // measured one: the evidence is refused (exit 2), whatever the policy.
    let quoted = linux_boot_log(true, CMDLINE);
    let mut altered = quoted.clone();
    let at = altered
        .windows(CMDLINE.len())
        .rposition(|w| w == CMDLINE.as_bytes())
        .unwrap();
    altered[at..at + CMDLINE.len()].copy_from_slice(&CMDLINE.to_uppercase().into_bytes());
    let made = evidence(&quoted, Some(&altered));
    let err = verify(&verifier(serde_json::json!({})), &made).unwrap_err();
    assert_eq!(
        (err.check(), err.exit_code()),
        (Check::EventLog, ExitCode::Verification),
        "{err}"
    );
    assert!(err.message().contains("sha256 digest"), "{err}");
    match err.cause() {
        Cause::Quote(vtpm_quote::Error::EventDataContradictsDigest {
            pcr: 8,
            bank: HashAlg::Sha256,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

/// The outside review's bypass, at the facade: GRUB measures an allowed command line, then an
/// evil one; the log's SHA-1 digest of the evil event is zeroed (the quote covers SHA-256
/// only). Both command lines are attested and listed, and the policy refuses the evil one.
#[test]
fn every_measured_command_line_must_be_allowed() {
    let evil = "/vmlinuz-6.8.0 root=/dev/vda1 init=/bin/sh";
    let mut builder = vtpm_quote::eventlog::compose::EventLogBuilder::crypto_agile(&[
        HashAlg::Sha1,
        HashAlg::Sha256,
    ]);
    builder
        .measure(0, vtpm_quote::eventlog::EventType::S_CRTM_CONTENTS, b"fw")
        .separators(0..=7)
        .kernel_cmdline(CMDLINE)
        .measure_digests(
            8,
            vtpm_quote::eventlog::EventType::IPL,
            &[
                (HashAlg::Sha1, vec![0; 20]),
                (
                    HashAlg::Sha256,
                    HashAlg::Sha256.hash_parts([evil.as_bytes()]),
                ),
            ],
            format!("kernel_cmdline: {evil}\0").as_bytes(),
        );
    let log = builder.build();
    let made = evidence(&log, Some(&log));
    let verified = verify(&verifier(serde_json::json!({})), &made).unwrap();
    let claims = verified.event_log().unwrap();
    assert_eq!(claims.summary.kernel_cmdlines, [CMDLINE, evil]);
    assert_schema_valid(&verified);
    let policy = serde_json::json!({ "event_log": { "allowed_kernel_cmdlines": [CMDLINE] } });
    let err = verify(&verifier(policy), &made).unwrap_err();
    assert_eq!(
        (err.check(), err.exit_code()),
        (Check::Policy, ExitCode::Policy),
        "{err}"
    );
    assert!(
        err.message().contains(evil),
        "names the refused line: {err}"
    );
    let both = serde_json::json!({ "event_log": { "allowed_kernel_cmdlines": [CMDLINE, evil] } });
    verify(&verifier(both), &made).unwrap();
}

#[test]
fn without_a_log_the_check_is_skipped_unless_the_policy_needs_one() {
    let quoted = linux_boot_log(true, CMDLINE);
    let made = evidence(&quoted, None);
    let verified = verify(&verifier(serde_json::json!({})), &made).unwrap();
    assert_eq!(outcome(&verified, Check::EventLog), "skipped");
    assert!(verified.event_log().is_none());
    assert_schema_valid(&verified);
    for section in [
        serde_json::json!({ "required": true }),
        serde_json::json!({ "secure_boot": true }),
        serde_json::json!({ "allowed_kernel_cmdlines": [CMDLINE] }),
    ] {
        let err = verify(
            &verifier(serde_json::json!({ "event_log": section })),
            &made,
        )
        .unwrap_err();
        assert_eq!(
            (err.check(), err.exit_code()),
            (Check::Policy, ExitCode::Policy),
            "{section}: {err}"
        );
        assert!(err.message().contains("event log"), "{err}");
    }
}

#[test]
fn the_policy_checks_secure_boot_and_kernel_command_lines() {
    let on = linux_boot_log(true, CMDLINE);
    let off = linux_boot_log(false, CMDLINE);
    let secure_boot = serde_json::json!({ "event_log": { "required": true, "secure_boot": true } });
    verify(&verifier(secure_boot.clone()), &evidence(&on, Some(&on))).unwrap();
    let err = verify(&verifier(secure_boot), &evidence(&off, Some(&off))).unwrap_err();
    assert_eq!(
        (err.check(), err.exit_code()),
        (Check::Policy, ExitCode::Policy)
    );
    assert!(
        err.message()
            .contains("secure boot: expected on, found off"),
        "{err}"
    );
    let secure_boot_off = serde_json::json!({ "event_log": { "secure_boot": false } });
    verify(&verifier(secure_boot_off), &evidence(&off, Some(&off))).unwrap();

    let made = evidence(&on, Some(&on));
    for allowed in [
        serde_json::json!([CMDLINE]),
        serde_json::json!(["/other", "/vmlinuz-6.8.0 root=*"]),
    ] {
        let policy = serde_json::json!({ "event_log": { "allowed_kernel_cmdlines": allowed } });
        verify(&verifier(policy), &made).unwrap_or_else(|e| panic!("{allowed}: {e}"));
    }
    for refused in [
        serde_json::json!(["/vmlinuz-6.8.0 root=/dev/vda1 ro"]),
        serde_json::json!(["/vmlinuz-6.9*"]),
    ] {
        let policy = serde_json::json!({ "event_log": { "allowed_kernel_cmdlines": refused } });
        let err = verify(&verifier(policy), &made).unwrap_err();
        assert_eq!(
            (err.check(), err.exit_code()),
            (Check::Policy, ExitCode::Policy)
        );
        assert!(
            err.message().contains(CMDLINE),
            "names what was found: {err}"
        );
    }
}

fn show(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_snp-vtpm"))
        .arg("show")
        .args(args)
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn show_decodes_a_log_and_prints_what_it_replays_to_per_bank() {
    let expected = vectors::read_json("eventlog/expected-pcrs.json");
    for name in ["ubuntu-2404-amd-sevsnp.bin", "arch-linux-workstation.bin"] {
        let path = vectors::dir().join("eventlog").join(name);
        let path = path.to_str().unwrap();
        let (code, stdout) = show(&[path, "--json"]);
        assert_eq!(code, 0, "{stdout}");
        let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(json["kind"], "TCG event log");
        for bank in ["sha1", "sha256"] {
            assert_eq!(
                json["replayed_pcrs"][bank], expected[name][bank],
                "{name} {bank}"
            );
        }
        assert!(json["events"].as_array().unwrap().len() > 20);
        let (code, text) = show(&[path]);
        assert_eq!(code, 0);
        assert!(text.starts_with("TCG event log (crypto-agile)"), "{text}");
        assert!(text.contains("kernel command line:"), "{text}");
        let value = expected[name]["sha256"]["7"].as_str().unwrap();
        assert!(text.contains(&format!("7  {value}")), "{text}");
    }

    // A SHA-1 legacy log is recognised too.
    let mut legacy = vtpm_quote::eventlog::compose::EventLogBuilder::sha1();
    legacy.startup_locality(3).separators(0..=7);
    let file = std::env::temp_dir().join(format!("snp-vtpm-legacy-{}.bin", std::process::id()));
    std::fs::write(&file, legacy.build()).unwrap();
    let (code, text) = show(&[file.to_str().unwrap()]);
    std::fs::remove_file(&file).unwrap();
    assert_eq!(code, 0, "{text}");
    assert!(text.starts_with("TCG event log (SHA-1 (legacy))"), "{text}");
    assert!(text.contains("startup locality: 3"), "{text}");
}
