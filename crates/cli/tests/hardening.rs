//! The smaller findings of the outside review (issue 15, finding 5), each against the facade:
//! nonce limits, TCB order, warnings for what the policy leaves open, an unknown CPUID model,
//! `verify-report --report-data-hex`, and control characters from evidence in human output.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::process::Command;

use hcl_parse::snp::RawSnpReport;
use hcl_parse::{Generation, TcbComponents, TcbVersion};
use snp_verify::UnixTime;
use snp_vtpm::{
    Certificates, Check, Error, ErrorKind, Evidence, EvidencePolicy, ExpectedNonce, MAX_NONCE_LEN,
    VerifiedEvidence, Verifier, VerifyOptions,
};
use snp_vtpm_testkit::azure::{
    SyntheticReport, TEST_FIRMWARE_ID_KEY_DIGEST, TEST_TCB, synthetic_evidence,
};
use snp_vtpm_testkit::evidence::real_evidence;
use snp_vtpm_testkit::pki::TestPki;
use snp_vtpm_testkit::vectors;

const TIME: UnixTime = UnixTime::from_secs(1_748_736_000);

fn synthetic(report: SyntheticReport) -> (Evidence, Certificates, Vec<u8>) {
    let made = synthetic_evidence(TestPki::shared(), &report, b"hardening nonce", true);
    let evidence = Evidence::from_json(&made.json, snp_vtpm::DEFAULT_SIZE_LIMIT).unwrap();
    let mut certificates = Certificates::default();
    certificates.add_file(made.chain_pem.as_bytes()).unwrap();
    (evidence, certificates, made.nonce)
}

/// The test firmware allowed, plus `extra` report-policy fields.
fn verifier(extra: serde_json::Value) -> Verifier {
    let mut report = serde_json::json!({
        "allowed_id_key_digests": [hex::encode(TEST_FIRMWARE_ID_KEY_DIGEST)],
    });
    if let (Some(report), serde_json::Value::Object(extra)) = (report.as_object_mut(), extra) {
        report.extend(extra);
    }
    let policy =
        EvidencePolicy::from_document(serde_json::json!({ "report": report }), "azure-cvm")
            .unwrap();
    Verifier::with_anchors(TestPki::shared().trust_anchors(), policy)
}

fn verify_synthetic(
    verifier: &Verifier,
    edit: Option<fn(&mut RawSnpReport)>,
) -> Result<VerifiedEvidence, snp_vtpm::Error> {
    let (evidence, certificates, nonce) = synthetic(SyntheticReport {
        edit,
        ..SyntheticReport::new(&[], [0; 64])
    });
    verifier.verify(
        &evidence,
        ExpectedNonce::Exactly(&nonce),
        &certificates,
        &VerifyOptions::at(TIME),
    )
}

/// A change to the SNP report before it is signed.
type Edit = fn(&mut RawSnpReport);

fn tcb(components: TcbComponents) -> [u8; 8] {
    TcbVersion::from_components(Generation::Milan, components).0
}

#[test]
fn a_nonce_must_be_1_to_64_bytes_and_may_be_all_zero() {
    for bad in [0, MAX_NONCE_LEN + 1, 1000] {
        let nonce = vec![7; bad];
        let err = Error::from(ExpectedNonce::exactly(&nonce).unwrap_err());
        assert_eq!((err.check(), err.kind()), (Check::Nonce, ErrorKind::Input));
        assert!(
            err.message().contains(&format!("found {bad} bytes")),
            "{err}"
        );
    }
    for good in [vec![0; 32], vec![0xFF; MAX_NONCE_LEN], vec![1]] {
        assert_eq!(
            ExpectedNonce::exactly(&good).unwrap(),
            ExpectedNonce::Exactly(&good)
        );
    }
    // The verifier applies the same rule to a nonce built without the constructor.
    let sample = &real_evidence()[0];
    let err = Verifier::new(EvidencePolicy::preset("azure-cvm").unwrap())
        .verify(
            &sample.evidence,
            ExpectedNonce::Exactly(&[]),
            &sample.certificates,
            &VerifyOptions::at(TIME),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input, "{err}");
    // ... before anything else: evidence that would fail its report signature, with no
    // certificates at all, still gets the nonce's usage error.
    let mut broken = sample.evidence.clone();
    broken.hcl_report[0x20 + 0x2A0] ^= 1;
    for nonce in [vec![], vec![7; MAX_NONCE_LEN + 1]] {
        let err = Verifier::new(EvidencePolicy::preset("azure-cvm").unwrap())
            .verify(
                &broken,
                ExpectedNonce::Exactly(&nonce),
                &Certificates::default(),
                &VerifyOptions::at(TIME),
            )
            .unwrap_err();
        assert_eq!(
            (err.check(), err.kind()),
            (Check::Nonce, ErrorKind::Input),
            "{err}"
        );
    }
}

#[test]
fn committed_and_reported_tcb_must_not_exceed_current() {
    verify_synthetic(&verifier(serde_json::json!({})), None).unwrap();
    let cases: [(&str, Edit); 2] = [
        ("committed above current", |raw| {
            raw.committed_tcb = tcb(TcbComponents {
                snp: TEST_TCB.snp + 1,
                ..TEST_TCB
            });
        }),
        ("reported above current", |raw| {
            raw.current_tcb = tcb(TcbComponents {
                microcode: TEST_TCB.microcode - 1,
                ..TEST_TCB
            });
            raw.committed_tcb = raw.current_tcb;
        }),
    ];
    for (name, edit) in cases {
        let err = verify_synthetic(&verifier(serde_json::json!({})), Some(edit)).unwrap_err();
        assert_eq!(
            (err.check(), err.kind()),
            (Check::Policy, ErrorKind::Policy),
            "{name}: {err}"
        );
        assert!(err.message().contains("TCB order"), "{name}: {err}");
    }
    // Current above committed is provisional firmware: allowed by default, refused when the
    // policy says so.
    let provisional: fn(&mut RawSnpReport) = |raw| {
        raw.current_tcb = tcb(TcbComponents {
            snp: TEST_TCB.snp + 1,
            ..TEST_TCB
        });
    };
    verify_synthetic(&verifier(serde_json::json!({})), Some(provisional)).unwrap();
    let strict = verifier(serde_json::json!({ "allow_provisional_firmware": false }));
    let err = verify_synthetic(&strict, Some(provisional)).unwrap_err();
    assert!(err.message().contains("provisional firmware"), "{err}");
}

#[test]
fn a_verdict_warns_when_no_minimum_tcb_is_configured() {
    let verified = verify_synthetic(&verifier(serde_json::json!({})), None).unwrap();
    assert!(
        verified
            .warnings()
            .iter()
            .any(|w| w.contains("minimum TCB")),
        "{:?}",
        verified.warnings()
    );
    assert_eq!(verified.warnings(), verified.report().unwrap().warnings());
    let json = serde_json::to_value(&verified).unwrap();
    assert_eq!(json["warnings"], json["report"]["warnings"]);

    // A floor (one that constrains something: an all-zero one is refused when it loads).
    let minimum = serde_json::json!({
        "minimum_tcb": { "reported": { "bootloader": 1, "tee": 0, "snp": 1, "microcode": 1 } }
    });
    let verified = verify_synthetic(&verifier(minimum), None).unwrap();
    assert!(verified.warnings().is_empty(), "{:?}", verified.warnings());
}

#[test]
fn an_unknown_cpuid_model_of_the_roots_family_is_a_warning() {
    let new_model: fn(&mut RawSnpReport) = |raw| raw.cpuid_mod_id = 0x7E;
    let verified = verify_synthetic(&verifier(serde_json::json!({})), Some(new_model)).unwrap();
    assert!(
        verified
            .warnings()
            .iter()
            .any(|w| w.contains("model 0x7e") && w.contains("Milan")),
        "{:?}",
        verified.warnings()
    );
    // Another family (Turin's, under Milan's root) contradicts the root; an unknown family
    // is not a CPU this verifier knows.
    for (family, check) in [(0x1A, Check::Chain), (0x1B, Check::Input)] {
        let edit: fn(&mut RawSnpReport) = match family {
            0x1A => |raw| {
                raw.cpuid_fam_id = 0x1A;
                raw.cpuid_mod_id = 0x02;
            },
            _ => |raw| raw.cpuid_fam_id = 0x1B,
        };
        let err = verify_synthetic(&verifier(serde_json::json!({})), Some(edit)).unwrap_err();
        assert!(
            err.check() == check || err.check() == Check::VcekBinding,
            "family {family:#x}: {:?} {err}",
            err.check()
        );
    }
}

fn run(args: &[&str]) -> (i32, String, String) {
    snp_vtpm_testkit::run_program(std::path::Path::new(env!("CARGO_BIN_EXE_snp-vtpm")), args)
}

fn vector(relative: &str) -> String {
    vectors::dir().join(relative).display().to_string()
}

#[test]
fn verify_report_checks_report_data_when_asked_and_says_what_verified_covers() {
    let raw = vector("snp/milan/report_milan.hex");
    let report = hcl_parse::SnpReport::from_bytes(&vectors::raw_milan_report())
        .unwrap()
        .report_data()
        .to_vec();
    let base = [
        "verify-report",
        "--report",
        raw.as_str(),
        "--vcek",
        &vector("snp/milan/vcek_milan.der"),
        "--chain",
        &vector("snp/milan/cert_chain_milan"),
        "--offline",
        "--at",
        "2025-06-01T00:00:00Z",
    ];
    let (code, stdout, stderr) = run(&base);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("VERIFIED: AMD signature, chain, TCB and policy only")
            && stdout.contains("report_data was NOT checked"),
        "{stdout}"
    );

    let exact = hex::encode(&report);
    let trimmed = report
        .iter()
        .rposition(|&b| b != 0)
        .map_or(1, |last| last + 1);
    let prefix = hex::encode(&report[..trimmed]);
    for expected in [exact.as_str(), prefix.as_str()] {
        let mut args = base.to_vec();
        args.extend(["--report-data-hex", expected]);
        let (code, stdout, stderr) = run(&args);
        assert_eq!(code, 0, "{expected}: {stderr}");
        assert!(
            stdout.contains("report_data equals --report-data-hex"),
            "{stdout}"
        );
    }
    let mut wrong = report.clone();
    wrong[0] ^= 1;
    let wrong = hex::encode(&wrong);
    let mut args = base.to_vec();
    args.extend(["--report-data-hex", wrong.as_str(), "--json"]);
    let (code, stdout, _) = run(&args);
    assert_eq!(code, 2, "{stdout}");
    let verdict: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(verdict["failed_check"], "report_data_binding");
    for bad in ["zz", "", &"00".repeat(65)] {
        let mut args = base.to_vec();
        args.extend(["--report-data-hex", bad]);
        assert_eq!(run(&args).0, 1, "--report-data-hex {bad:?}");
    }
}

#[test]
fn control_characters_from_an_event_log_are_escaped_in_human_output() {
    use snp_vtpm::tcg_eventlog::compose::EventLogBuilder;
    use snp_vtpm::vtpm_quote::HashAlg;
    let mut builder = EventLogBuilder::crypto_agile(&[HashAlg::Sha256]);
    builder
        .separators(0..=7)
        .kernel_cmdline("root=/dev/vda1\r\nVERIFIED\t\u{202e}fdp.exe");
    let file: PathBuf =
        std::env::temp_dir().join(format!("snp-vtpm-ctl-{}.bin", std::process::id()));
    std::fs::write(&file, builder.build()).unwrap();
    let (code, stdout, _) = run(&["show", file.to_str().unwrap()]);
    std::fs::remove_file(&file).unwrap();
    assert_eq!(code, 0);
    for raw in ['\r', '\t', '\u{202e}'] {
        assert!(!stdout.contains(raw), "{raw:?} printed raw:\n{stdout}");
    }
    assert!(
        !stdout.lines().any(|line| line.starts_with("VERIFIED")),
        "a value started a line of its own:\n{stdout}"
    );
    assert!(
        stdout.contains("root=/dev/vda1\\u{d}\\u{a}VERIFIED\\u{9}\\u{202e}fdp.exe"),
        "{stdout}"
    );
}

#[test]
fn keys_of_shown_json_and_error_messages_cannot_start_lines() {
    let file = std::env::temp_dir().join(format!("snp-vtpm-keys-{}.json", std::process::id()));
    std::fs::write(&file, br#"{"a\nVERIFIED fake line": 1, "b": "x\ny"}"#).unwrap();
    let (_, stdout, stderr) = run(&["show", file.to_str().unwrap()]);
    std::fs::remove_file(&file).unwrap();
    for line in stdout.lines().chain(stderr.lines()) {
        assert!(
            !line.starts_with("VERIFIED") && !line.starts_with('y'),
            "{line:?}"
        );
    }

    // An error that quotes what it was given prints on one line of stderr.
    let (code, _, stderr) = run(&[
        "verify",
        &vector("azure/milan-v3/evidence-v0.json"),
        "--nonce",
        "challenge",
        "--product",
        "x\nsnp-vtpm: VERIFIED",
        "--offline",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("\\u{a}snp-vtpm: VERIFIED"), "{stderr}");
}

/// `report --file` goes through the one verifier path (Verifier::verify_hcl_report): a real
/// HCL report verifies; one whose claims were changed fails the binding check (exit 2). Both
/// documents follow docs/verdict.schema.json, with the report as decoded beside the verdict.
#[test]
fn report_from_a_file_goes_through_the_verifier() {
    let chain = vector("azure/milan-v2/vcek.pem");
    let hcl = vector("azure/milan-v2/hcl-report.bin");
    let (code, stdout, stderr) = run(&[
        "report",
        "--file",
        &hcl,
        "--chain",
        &chain,
        "--offline",
        "--json",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let verdict = snp_vtpm_testkit::schema::assert_follows("verdict.schema.json", &stdout);
    assert_eq!(verdict["verified"], true);
    assert_eq!(verdict["decoded"]["kind"], "HCL report");
    assert_eq!(
        verdict["decoded"]["snp_report"]["chip_id"],
        verdict["verdict"]["chip_id"]
    );

    let mut altered = vectors::read("azure/milan-v2/hcl-report.bin");
    altered[0x4D4 + 20] ^= 1;
    let file = std::env::temp_dir().join(format!("snp-vtpm-hcl-{}.bin", std::process::id()));
    std::fs::write(&file, &altered).unwrap();
    let (code, stdout, _) = run(&[
        "report",
        "--file",
        file.to_str().unwrap(),
        "--chain",
        &chain,
        "--offline",
        "--json",
    ]);
    std::fs::remove_file(&file).unwrap();
    assert_eq!(code, 2, "{stdout}");
    let verdict = snp_vtpm_testkit::schema::assert_follows("verdict.schema.json", &stdout);
    assert_eq!(verdict["failed_check"], "report_data_binding");
    assert_eq!(verdict["exit_code"], 2);
    assert_eq!(verdict["decoded"]["kind"], "HCL report");
}

/// Output never panics: a reader that stopped (a closed pipe) leaves the verdict's exit code,
/// and any other failure to write (a full disk) is exit 1 with the reason, never 101.
#[test]
fn a_closed_or_full_stdout_ends_cleanly_with_the_verdicts_code() {
    let evidence = vector("azure/milan-v3/evidence-v0.json");
    let with_stdout = |args: &[&str], stdout: std::process::Stdio| {
        let out = Command::new(env!("CARGO_BIN_EXE_snp-vtpm"))
            .args(args)
            .stdout(stdout)
            .output()
            .expect("the binary runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let closed_pipe = || {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        std::process::Stdio::from(writer)
    };
    // Decoded, written into a pipe nobody reads: exit 0, as the command succeeded.
    let (code, stderr) = with_stdout(&["show", &evidence, "--json"], closed_pipe());
    assert_eq!(code, 0, "{stderr}");
    // Refused (a wrong nonce): exit 2 still.
    let refused = [
        "verify",
        &evidence,
        "--nonce",
        "another",
        "--offline",
        "--json",
    ];
    let (code, stderr) = with_stdout(&refused, closed_pipe());
    assert_eq!(code, 2, "{stderr}");
    let (code, stderr) = with_stdout(&refused[..5], closed_pipe());
    assert_eq!(code, 2, "{stderr}");
    // A full device: exit 1, and the reason.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let (code, stderr) = with_stdout(&["show", &evidence], std::process::Stdio::from(full));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("snp-vtpm: cannot write output: No space left on device"),
        "{stderr}"
    );
}

/// Views of unverified artifacts say so; `show --policy/--preset` exits 3 when a check is not
/// met; `verify` names the checks the caller skipped in its headline (issue 22, item 2).
#[test]
fn views_say_what_was_not_verified() {
    let raw = vector("snp/milan/report_milan.hex");
    let (code, stdout, stderr) = run(&["show", &raw]);
    assert_eq!(code, 0, "{stderr}");
    let mut lines = stdout.lines();
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("DECODED ONLY: no signature")),
        "{stdout}"
    );
    assert!(
        lines.next().is_some_and(|l| l.starts_with("policy: all ")
            && l.contains(
                "checks met (report fields and firmware identity, were the report authentic"
            )),
        "{stdout}"
    );
    // A policy named on the command line that the report does not meet: exit 3, and the
    // summary names the checks.
    let (code, stdout, _) = run(&["show", &raw, "--preset", "azure-cvm"]);
    assert_eq!(code, 3, "{stdout}");
    assert!(
        stdout.contains("checks not met: firmware_identity"),
        "{stdout}"
    );
    let (code, stdout, _) = run(&["show", &raw, "--preset", "azure-cvm", "--json"]);
    assert_eq!(code, 3);
    let shown: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        shown["decoded_only"]
            .as_str()
            .unwrap()
            .contains("snp-vtpm verify")
    );
    assert!(
        shown["policy_evaluation"]["summary"]
            .as_str()
            .unwrap()
            .contains("not met: firmware_identity"),
        "{shown}"
    );
    // Evidence is decoded only too.
    let (code, stdout, _) = run(&["show", &vector("azure/milan-v3/evidence-v0.json")]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("DECODED ONLY:"), "{stdout}");

    // verify: the headline names what the caller chose not to check.
    let evidence = vector("azure/milan-v3/evidence-v0.json");
    let base = [
        "verify",
        &evidence,
        "--offline",
        "--at",
        "2025-06-01T00:00:00Z",
    ];
    let (code, stdout, _) = run(&[&base[..], &["--nonce", "challenge"]].concat());
    assert_eq!(code, 0);
    assert!(stdout.starts_with("VERIFIED\n"), "{stdout}");
    let (code, stdout, _) = run(&[&base[..], &["--no-nonce"]].concat());
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("VERIFIED WITH EXCEPTIONS: nonce not checked\n"),
        "{stdout}"
    );
    let (code, stdout, _) = run(&[&base[..], &["--no-nonce", "--allow-unknown-firmware"]].concat());
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("VERIFIED WITH EXCEPTIONS: nonce, firmware identity not checked\n"),
        "{stdout}"
    );
}

/// Every row of docs/cli.md's exit-code table, and the malformed inputs issue 22 lists, each
/// run through the binary: the documented code and the file or flag named (issue 22, item 5).
#[test]
fn exit_codes_are_as_documented() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/cli.md"),
    )
    .unwrap();
    let table = doc.split("## Exit codes").nth(1).unwrap();
    let documented: Vec<i32> = table
        .lines()
        .filter_map(|line| line.strip_prefix("| "))
        .filter_map(|rest| rest.split(' ').next()?.parse().ok())
        .collect();
    assert_eq!(documented, [0, 1, 2, 3, 4, 5], "the table's rows");

    let dir = std::env::temp_dir().join(format!("snp-vtpm-exit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.display().to_string()
    };
    let evidence = vector("azure/milan-v3/evidence-v0.json");
    let verify = |extra: &[&str]| {
        let mut args = vec![
            "verify",
            evidence.as_str(),
            "--offline",
            "--at",
            "2025-06-01T00:00:00Z",
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let policy = file("genoa-only.toml", b"[report]\nallowed_id_key_digests = [\"0356215882a825279a85b300b0b742931d113bf7e32dde2e50ffde7ec743ca491ecdd7f336dc28a6e0b2bb57af7a44a3\"]\n");
    let empty_crl = file("empty.crl", b"");
    let garbage_crl = file("garbage.crl", b"\x30\x03\x02\x01");
    let ask_only = vector("amd/milan/ask.pem");
    let long_nonce = "n".repeat(65);
    let rows: Vec<(i32, Vec<&str>, &str)> = vec![
        (0, vec!["--nonce", "challenge"], "VERIFIED"),
        (
            1,
            vec!["--nonce", "challenge", "--bogus-flag"],
            "--bogus-flag",
        ),
        (
            1,
            vec!["--nonce", "challenge", "--crl", &empty_crl],
            "--crl",
        ),
        (
            1,
            vec!["--nonce", "challenge", "--crl", &garbage_crl],
            "--crl",
        ),
        (
            1,
            vec![
                "--nonce",
                "challenge",
                "--fetch-crl",
                "--kds-url",
                "notaurl",
            ],
            "notaurl",
        ),
        (1, vec!["--nonce", &long_nonce], "nonce"),
        (
            1,
            vec!["--no-nonce", "--require-fresh-report"],
            "--require-fresh-report",
        ),
        (
            1,
            vec!["--nonce", "challenge", "--chain", &ask_only],
            "--chain",
        ),
        (2, vec!["--nonce", "not the nonce"], "nonce"),
        (
            3,
            vec!["--nonce", "challenge", "--policy", &policy],
            "ID-key digest",
        ),
        (
            4,
            vec![
                "--nonce",
                "challenge",
                "--fetch-crl",
                "--cache-dir",
                dir.to_str().unwrap(),
            ],
            "CRL",
        ),
    ];
    for (code, args, needle) in rows {
        let (found, stdout, stderr) = verify(&args);
        assert_eq!(found, code, "{args:?}: {stdout}{stderr}");
        assert!(
            stdout.contains(needle) || stderr.contains(needle),
            "{args:?} names {needle}: {stdout}{stderr}"
        );
    }
    // A short hwID: exit 1, naming the length.
    let (code, _, stderr) = run(&[
        "fetch",
        "vcek",
        "--product",
        "Milan",
        "--hwid",
        "abcd",
        "--tcb",
        "0",
        "--offline",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("64 bytes"), "{stderr}");
    // No TPM: exit 5.
    let (code, _, stderr) = run(&[
        "quote",
        "--nonce",
        "n",
        "--tcti",
        "device:/nonexistent/tpmrm0",
    ]);
    assert_eq!(code, 5, "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The seed tool's flags keep working: `report -f FILE -i`, `quote -n NONCE`, and `-p` with
/// `--tcti` and `--offline` (issue 22, item 7).
#[test]
fn the_seed_tools_flags_are_aliases() {
    let hcl = vector("azure/milan-v2/hcl-report.bin");
    let vcek = vector("azure/milan-v2/vcek.pem");
    let (code, stdout, stderr) = run(&["report", "-f", &hcl, "-i", "--chain", &vcek, "--offline"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("VERIFIED: SNP report"), "{stdout}");
    // Each reaches the TPM named (absent here): the flags were understood.
    for args in [
        &["quote", "-n", "abc", "--tcti", "device:/nonexistent/tpm-n"][..],
        &["-p", "--tcti", "device:/nonexistent/tpm-n", "--offline"][..],
    ] {
        let (code, _, stderr) = run(args);
        assert_eq!(code, 5, "{args:?}: {stderr}");
        assert!(
            stderr.contains("no TPM at /nonexistent/tpm-n"),
            "{args:?}: {stderr}"
        );
    }
}

/// Where people go wrong, the tool says what was meant: a file given to the wrong flag is
/// recognised by content, a hex nonce given as text gets --nonce-hex, and concatenated DER
/// works in --chain (issue 22, item 6).
#[test]
fn hints_name_what_was_meant() {
    let evidence = vector("azure/milan-v3/evidence-v0.json");
    let at = ["--offline", "--at", "2025-06-01T00:00:00Z"];
    let hint_of = |stderr: &str| {
        stderr
            .lines()
            .find_map(|l| l.strip_prefix("snp-vtpm: hint: "))
            .unwrap_or_default()
            .to_string()
    };
    // The quoted nonce is "challenge"; its hex given as text.
    let (code, _, stderr) = run(&[
        &["verify", &evidence, "--nonce", "6368616c6c656e6765"][..],
        &at,
    ]
    .concat());
    assert_eq!(code, 2, "{stderr}");
    assert!(
        hint_of(&stderr).contains("give it as --nonce-hex 6368616c6c656e6765"),
        "{stderr}"
    );
    // Under --json the hint is in the document.
    let (_, stdout, _) = run(&[
        &[
            "verify",
            &evidence,
            "--nonce",
            "6368616c6c656e6765",
            "--json",
        ][..],
        &at,
    ]
    .concat());
    let verdict: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        verdict["hint"].as_str().unwrap().contains("--nonce-hex"),
        "{verdict}"
    );

    // Files given to the wrong flag.
    let hcl = vector("azure/milan-v2/hcl-report.bin");
    let collateral = vector("azure/tdx-vm1/intel-collateral.json");
    let vcek_bundle = vector("azure/milan-v2/vcek.pem");
    let cases = [
        (vec!["verify", &hcl], "looks like an HCL report"),
        (
            vec!["verify", &evidence, "--vcek", &evidence],
            "looks like evidence",
        ),
        (
            vec!["verify", &evidence, "--chain", &collateral],
            "looks like TDX collateral",
        ),
        (
            vec!["verify", &evidence, "--crl", &vcek_bundle],
            "looks like certificates",
        ),
    ];
    for (args, needle) in cases {
        let args = [&args[..], &["--nonce", "challenge"], &at].concat();
        let (code, _, stderr) = run(&args);
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert!(hint_of(&stderr).contains(needle), "{args:?}: {stderr}");
    }

    // Concatenated DER in --chain (as KDS serves a chain).
    let dir = std::env::temp_dir().join(format!("snp-vtpm-der-chain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let der_chain = dir.join("chain.der");
    let ders = [
        vectors::read_pem("amd/milan/ask.pem").remove(0),
        vectors::read_pem("amd/milan/ark.pem").remove(0),
    ]
    .concat();
    std::fs::write(&der_chain, ders).unwrap();
    let (code, _, stderr) = run(&[
        &[
            "verify",
            &evidence,
            "--nonce",
            "challenge",
            "--chain",
            der_chain.to_str().unwrap(),
        ][..],
        &at,
    ]
    .concat());
    assert_eq!(code, 0, "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// What the third outside review found: inputs read once (`--chain -`), an ASVK without its
/// ARK refused, a TCTI naming a file refused before anything is written to it, a policy for
/// the other platform refused by `show`, and JSON for every failure under --json.
#[test]
fn inputs_devices_and_json_failures_hold() {
    let evidence = vector("azure/milan-v3/evidence-v0.json");
    let at = [
        "--nonce",
        "challenge",
        "--offline",
        "--at",
        "2025-06-01T00:00:00Z",
    ];
    // --chain - reads stdin once.
    let chain = [
        std::fs::read(vector("amd/milan/ask.pem")).unwrap(),
        std::fs::read(vector("amd/milan/ark.pem")).unwrap(),
    ]
    .concat();
    let mut child = Command::new(env!("CARGO_BIN_EXE_snp-vtpm"))
        .args([&["verify", &evidence, "--chain", "-"][..], &at].concat())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&chain).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // An ASVK alone.
    let (code, _, stderr) = run(&[
        &[
            "verify",
            &evidence,
            "--chain",
            &vector("amd/milan/asvk.pem"),
        ][..],
        &at,
    ]
    .concat());
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("SEV-VLEK-Milan, issued by ARK-Milan"),
        "{stderr}"
    );

    // A TCTI naming an ordinary file: refused, and the file untouched.
    let dir = std::env::temp_dir().join(format!("snp-vtpm-not-a-tpm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("precious.txt");
    std::fs::write(&file, b"precious data\n").unwrap();
    let tcti = format!("device:{}", file.display());
    let (code, _, stderr) = run(&["quote", "-n", "x", "--tcti", &tcti]);
    assert_eq!(code, 5, "{stderr}");
    assert!(stderr.contains("is not a TPM device"), "{stderr}");
    assert_eq!(std::fs::read(&file).unwrap(), b"precious data\n");

    // show: a TDX policy on an SNP report is refused, as verify refuses it.
    let (code, _, stderr) = run(&[
        "show",
        &vector("azure/milan-v2/hcl-report.bin"),
        "--preset",
        "azure-tdx",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("the policy is for TDX"), "{stderr}");
    // Under --json, failures before any output are JSON too, and --json=true counts.
    for args in [
        &["show", "/nonexistent/file", "--json"][..],
        &["verify", &evidence, "--json=true", "--bogus"][..],
        &[
            "policy", "capture", &evidence, "--nonce", "x", "--pcrs", "99", "--json",
        ][..],
    ] {
        let (code, stdout, _) = run(args);
        assert_eq!(code, 1, "{args:?}");
        let document: serde_json::Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"));
        assert_eq!(document["verified"], false, "{args:?}");
        assert_eq!(document["exit_code"], 1, "{args:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
