//! The facade with a TCG event log: evidence whose log replays to the quote verifies and says
//! what booted; a log that does not replay is refused (exit 2), a malformed one is input
//! (exit 1); the policy can require a log, secure boot, and allowed kernel command lines
//! (exit 3). `snp-vtpm show LOG` decodes logs.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::Command;

use snp_verify::UnixTime;
use snp_vtpm::tcg_eventlog::{self, Divergence, LogFormat};
use snp_vtpm::vtpm_quote::HashAlg;
use snp_vtpm::{
    Certificates, Check, Error, ErrorKind, Evidence, EvidencePolicy, ExpectedNonce,
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
    match verified.checks().iter().find(|c| c.check == check) {
        Some(c) if c.outcome == snp_vtpm::Outcome::Passed => "passed",
        Some(_) => "skipped",
        None => "absent",
    }
}

fn assert_schema_valid(verified: &VerifiedEvidence) {
    let verdict = serde_json::to_string(&snp_vtpm::VerdictDocument::verified(verified)).unwrap();
    snp_vtpm_testkit::schema::assert_follows("verdict.schema.json", &verdict);
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
    assert_eq!(
        claims.matched_pcrs[0].indices,
        (0..=9).chain([12]).collect::<Vec<u8>>()
    );
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
        (err.check(), err.kind()),
        (Check::EventLog, ErrorKind::Verification),
        "{err}"
    );
    assert!(err.message().contains("PCR sha256:8"), "{err}");
    match &err {
        Error::EventLog(tcg_eventlog::Error::Mismatch {
            pcr: 8,
            divergence: Divergence::AtOrAfter,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }

    // A log for the SHA-1 bank only cannot be compared with a SHA-256 quote.
    let mut sha1 = tcg_eventlog::compose::EventLogBuilder::sha1();
    sha1.separators(0..=7);
    let err = verify(
        &verifier(serde_json::json!({})),
        &evidence(&quoted, Some(&sha1.build())),
    )
    .unwrap_err();
    assert_eq!(
        (err.check(), err.kind()),
        (Check::EventLog, ErrorKind::Verification),
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
            (err.check(), err.kind()),
            (Check::EventLog, ErrorKind::Input),
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
        (err.check(), err.kind()),
        (Check::EventLog, ErrorKind::Verification),
        "{err}"
    );
    assert!(err.message().contains("sha256 digest"), "{err}");
    match &err {
        Error::EventLog(tcg_eventlog::Error::DataContradictsDigest {
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
    let mut builder =
        tcg_eventlog::compose::EventLogBuilder::crypto_agile(&[HashAlg::Sha1, HashAlg::Sha256]);
    builder
        .measure(0, tcg_eventlog::EventType::S_CRTM_CONTENTS, b"fw")
        .separators(0..=7)
        .kernel_cmdline(CMDLINE)
        .measure_digests(
            8,
            tcg_eventlog::EventType::IPL,
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
        (err.check(), err.kind()),
        (Check::Policy, ErrorKind::Policy),
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
            (err.check(), err.kind()),
            (Check::Policy, ErrorKind::Policy),
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
        (err.check(), err.kind()),
        (Check::Policy, ErrorKind::Policy)
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
            (err.check(), err.kind()),
            (Check::Policy, ErrorKind::Policy)
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
        assert!(text.starts_with("DECODED ONLY:"), "{text}");
        assert!(text.contains("\n\nTCG event log (crypto-agile)"), "{text}");
        assert!(text.contains("kernel command line:"), "{text}");
        let value = expected[name]["sha256"]["7"].as_str().unwrap();
        assert!(text.contains(&format!("7  {value}")), "{text}");
    }

    // A SHA-1 legacy log is recognised too.
    let mut legacy = tcg_eventlog::compose::EventLogBuilder::sha1();
    legacy.startup_locality(3).separators(0..=7);
    let file = std::env::temp_dir().join(format!("snp-vtpm-legacy-{}.bin", std::process::id()));
    std::fs::write(&file, legacy.build()).unwrap();
    let (code, text) = show(&[file.to_str().unwrap()]);
    std::fs::remove_file(&file).unwrap();
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("\n\nTCG event log (SHA-1 (legacy))"),
        "{text}"
    );
    assert!(text.contains("startup locality: 3"), "{text}");
}

// --- The second outside review's bypasses of the command-line and secure-boot policy. ---

const ALLOWED_ONLY: &str = r#"{ "event_log": { "secure_boot": true, "allowed_kernel_cmdlines": ["/vmlinuz-6.8.0 root=/dev/vda1 ro console=ttyS0"] } }"#;

fn strict() -> Verifier {
    verifier(serde_json::from_str(ALLOWED_ONLY).unwrap())
}

/// A Linux boot with the allowed command line, then `extra` applied to the builder.
fn boot_with(extra: impl FnOnce(&mut tcg_eventlog::compose::EventLogBuilder)) -> Vec<u8> {
    use tcg_eventlog::compose::EventLogBuilder;
    use tcg_eventlog::{EFI_GLOBAL_VARIABLE, EventType};
    let mut builder = EventLogBuilder::crypto_agile(&[HashAlg::Sha1, HashAlg::Sha256]);
    builder
        .measure(0, EventType::S_CRTM_CONTENTS, b"synthetic firmware")
        .efi_variable(&EFI_GLOBAL_VARIABLE, "SecureBoot", &[1])
        .separators(0..=7)
        .kernel_cmdline(CMDLINE);
    extra(&mut builder);
    builder.build()
}

fn assert_policy_refusal(made: &(Evidence, Certificates, Vec<u8>), needle: &str) {
    let err = verify(&strict(), made).unwrap_err();
    assert_eq!(
        (err.check(), err.kind()),
        (Check::Policy, ErrorKind::Policy),
        "{err}"
    );
    assert!(err.message().contains(needle), "{needle}: {err}");
}

#[test]
fn the_allowed_boot_passes_the_strict_policy() {
    let log = boot_with(|_| {});
    verify(&strict(), &evidence(&log, Some(&log))).unwrap();
}

#[test]
fn a_command_line_that_is_not_utf8_is_listed_and_refused() {
    use tcg_eventlog::EventType;
    let log = boot_with(|b| {
        let evil = b"/vmlinuz-6.8.0 init=/bin/sh x=a\xD8zz";
        b.measure_hashing(
            8,
            EventType::IPL,
            evil,
            &[&b"kernel_cmdline: "[..], evil, b"\0"].concat(),
        );
    });
    let made = evidence(&log, Some(&log));
    let verified = verify(&verifier(serde_json::json!({})), &made).unwrap();
    let cmdlines = &verified.event_log().unwrap().summary.kernel_cmdlines;
    assert_eq!(cmdlines.len(), 2, "{cmdlines:?}");
    assert!(
        cmdlines[1].contains("init=/bin/sh x=a\u{fffd}zz"),
        "{cmdlines:?}"
    );
    assert_policy_refusal(&made, "init=/bin/sh");
}

#[test]
fn a_systemd_command_line_with_a_lone_surrogate_is_listed_and_refused() {
    use tcg_eventlog::EventType;
    let log = boot_with(|b| {
        let mut evil: Vec<u8> = "init=/bin/sh "
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        evil.extend_from_slice(&0xD800u16.to_le_bytes());
        b.measure(12, EventType::IPL, &evil);
    });
    let made = evidence(&log, Some(&log));
    assert_policy_refusal(&made, "init=/bin/sh");
}

#[test]
fn relabelling_an_events_type_hides_nothing() {
    use tcg_eventlog::compose::uefi_variable;
    use tcg_eventlog::{EFI_GLOBAL_VARIABLE, EventType};
    // GRUB's evil command line logged as EV_POST_CODE: still read from PCR 8.
    let evil = "/vmlinuz-6.8.0 root=/dev/vda1 init=/bin/sh";
    let log = boot_with(|b| {
        b.measure_hashing(
            8,
            EventType::POST_CODE,
            evil.as_bytes(),
            format!("kernel_cmdline: {evil}\0").as_bytes(),
        );
    });
    assert_policy_refusal(&evidence(&log, Some(&log)), evil);

    // The firmware's SecureBoot=0 relabelled as a boot variable, and a SecureBoot=1
    // measurement added after it: every SecureBoot variable in PCR 7 counts.
    use tcg_eventlog::compose::EventLogBuilder;
    let mut builder = EventLogBuilder::crypto_agile(&[HashAlg::Sha256]);
    builder
        .measure(
            7,
            EventType::EFI_VARIABLE_BOOT,
            &uefi_variable(&EFI_GLOBAL_VARIABLE, "SecureBoot", &[0]),
        )
        .separators(0..=7)
        .efi_variable(&EFI_GLOBAL_VARIABLE, "SecureBoot", &[1])
        .kernel_cmdline(CMDLINE);
    let log = builder.build();
    let made = evidence(&log, Some(&log));
    let verified = verify(&verifier(serde_json::json!({})), &made).unwrap();
    assert_eq!(
        verified.event_log().unwrap().summary.secure_boot,
        Some(false)
    );
    assert_policy_refusal(&made, "secure boot: expected on, found off");
}

#[test]
fn a_log_without_the_command_line_pcr_events_does_not_replay() {
    // The quote attests the real boot (an evil command line in PCR 8); the log handed over
    // leaves PCR 8 out and carries an allowed command line in PCR 14 instead.
    use tcg_eventlog::EventType;
    let evil_boot = linux_boot_log(true, "/vmlinuz-6.8.0 init=/bin/sh");
    let mut handed =
        tcg_eventlog::compose::EventLogBuilder::crypto_agile(&[HashAlg::Sha1, HashAlg::Sha256]);
    handed
        .measure(0, EventType::S_CRTM_CONTENTS, b"synthetic firmware")
        .efi_variable(&tcg_eventlog::EFI_GLOBAL_VARIABLE, "SecureBoot", &[1])
        .separators(0..=7)
        .measure_hashing(
            14,
            EventType::IPL,
            CMDLINE.as_bytes(),
            format!("kernel_cmdline: {CMDLINE}\0").as_bytes(),
        );
    let handed = handed.build();
    let err = verify(&strict(), &evidence(&evil_boot, Some(&handed))).unwrap_err();
    assert_eq!(
        (err.check(), err.kind()),
        (Check::EventLog, ErrorKind::Verification),
        "{err}"
    );
    // A command line in another PCR is not a command line.
    let mut in_pcr_14 =
        tcg_eventlog::compose::EventLogBuilder::crypto_agile(&[HashAlg::Sha1, HashAlg::Sha256]);
    in_pcr_14.separators(0..=7).measure_hashing(
        14,
        EventType::IPL,
        CMDLINE.as_bytes(),
        format!("kernel_cmdline: {CMDLINE}\0").as_bytes(),
    );
    let log = in_pcr_14.build();
    let made = evidence(&log, Some(&log));
    assert!(
        verify(&verifier(serde_json::json!({})), &made)
            .unwrap()
            .event_log()
            .unwrap()
            .summary
            .kernel_cmdlines
            .is_empty()
    );
}

#[test]
fn a_quote_that_leaves_out_the_command_line_pcrs_cannot_meet_the_policy() {
    let log = boot_with(|_| {});
    let (mut evidence, certificates, nonce) = evidence(&log, Some(&log));
    // The attester chose to quote PCRs 0-7 only.
    let pcrs = snp_vtpm_testkit::eventlog::sha256_pcrs(&log);
    let (message, signature) =
        snp_vtpm_testkit::azure::SoftwareAk::shared().quote(&nonce, &pcrs[..8]);
    evidence.quote.message = message;
    evidence.quote.signature = signature;
    evidence.quote.pcrs = pcrs[..8].iter().map(|p| p.to_vec()).collect();
    let made = (evidence, certificates, nonce);
    verify(&verifier(serde_json::json!({})), &made).unwrap();
    assert_policy_refusal(&made, "PCR 8 not quoted");
}

#[test]
fn a_description_in_a_command_line_pcr_makes_the_policy_unmeetable() {
    // systemd-stub's credentials initrd: a description, the digest is of an archive.
    use tcg_eventlog::EventType;
    let description: Vec<u8> = "Credentials initrd\0"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let log = boot_with(|b| {
        b.measure_hashing(12, EventType::IPL, b"cpio archive", &description);
    });
    let made = evidence(&log, Some(&log));
    let verified = verify(&verifier(serde_json::json!({})), &made).unwrap();
    let summary = &verified.event_log().unwrap().summary;
    assert_eq!(summary.kernel_cmdlines, [CMDLINE]);
    assert_eq!(summary.opaque_cmdline_events.len(), 1);
    assert_policy_refusal(&made, "could hide behind them");
}

// --- The second outside review, round 2. ---

/// The Linux EFI stub's LoadOptions event: the tag, then its description; the digest covers
/// the load options in UTF-16.
fn load_options_event(b: &mut tcg_eventlog::compose::EventLogBuilder, options: &str) {
    use tcg_eventlog::{EventType, LOAD_OPTIONS_TAG};
    let description = b"LOADED_IMAGE::LoadOptions";
    let mut data = LOAD_OPTIONS_TAG.to_le_bytes().to_vec();
    data.extend_from_slice(&(description.len() as u32).to_le_bytes());
    data.extend_from_slice(description);
    let utf16: Vec<u8> = options.encode_utf16().flat_map(u16::to_le_bytes).collect();
    b.measure_hashing(9, EventType::EVENT_TAG, &utf16, &data);
}

#[test]
fn a_command_line_relabelled_as_a_grub_command_is_still_a_command_line() {
    use tcg_eventlog::EventType;
    let evil = "/vmlinuz-6.8.0 root=/dev/vda1 init=/bin/sh";
    for label in ["grub_cmd: ", "grub_cmd "] {
        let log = boot_with(|b| {
            b.measure_hashing(
                8,
                EventType::IPL,
                evil.as_bytes(),
                format!("{label}{evil}\0").as_bytes(),
            );
        });
        assert_policy_refusal(&evidence(&log, Some(&log)), evil);
    }
}

#[test]
fn the_kernels_own_load_options_must_be_a_measured_command_line() {
    // GRUB's linux command passes BOOT_IMAGE=<its command line>: accepted.
    let log = boot_with(|b| load_options_event(b, &format!("BOOT_IMAGE={CMDLINE}")));
    let made = evidence(&log, Some(&log));
    let verified = verify(&strict(), &made).unwrap();
    let options = &verified.event_log().unwrap().summary.kernel_load_options;
    assert_eq!(options.len(), 1);
    assert!(options[0].matches_a_cmdline);
    assert!(
        verified
            .warnings()
            .iter()
            .all(|w| !w.contains("load options"))
    );
    assert_schema_valid(&verified);

    // A kernel chainloaded (or started without GRUB) with other options: refused, though every
    // boot-loader measurement is allowed.
    let log = boot_with(|b| load_options_event(b, "root=/dev/vda1 init=/bin/sh"));
    assert_policy_refusal(&evidence(&log, Some(&log)), "matches none of them");

    // Without the kernel's measurement (kernels before 6.1), the verdict says what was checked.
    let log = boot_with(|_| {});
    let verified = verify(&strict(), &evidence(&log, Some(&log))).unwrap();
    assert!(
        verified
            .warnings()
            .iter()
            .any(|w| w.contains("no load options")),
        "{:?}",
        verified.warnings()
    );
}

#[test]
fn a_replaced_secure_boot_measurement_makes_secure_boot_unknown() {
    // The firmware's SecureBoot=0 event, its data replaced and its type changed; root then
    // extends PCR 7 with SecureBoot=1 after boot.
    use tcg_eventlog::compose::{EventLogBuilder, uefi_variable};
    use tcg_eventlog::{EFI_GLOBAL_VARIABLE, EventType};
    let off = uefi_variable(&EFI_GLOBAL_VARIABLE, "SecureBoot", &[0]);
    let mut builder = EventLogBuilder::crypto_agile(&[HashAlg::Sha256]);
    builder
        .measure_hashing(7, EventType::POST_CODE, &off, b"junk")
        .separators(0..=7)
        .efi_variable(&EFI_GLOBAL_VARIABLE, "SecureBoot", &[1])
        .kernel_cmdline(CMDLINE);
    let log = builder.build();
    let made = evidence(&log, Some(&log));
    let verified = verify(&verifier(serde_json::json!({})), &made).unwrap();
    assert_eq!(verified.event_log().unwrap().summary.secure_boot, None);
    assert_policy_refusal(&made, "secure boot: expected on");
}

/// The third review: grub.cfg measures the allowed command line, then chainloads a kernel with
/// other arguments (no log edit, no kernel measurement): the chainloader's arguments are a
/// command line the policy must allow.
#[test]
fn a_chainloaded_kernels_arguments_are_a_command_line() {
    let log = boot_with(|b| {
        b.grub_command("chainloader /vmlinuz-6.8.0 root=/dev/vda1 init=/bin/sh")
            .grub_command("boot");
    });
    assert_policy_refusal(&evidence(&log, Some(&log)), "init=/bin/sh");
}
