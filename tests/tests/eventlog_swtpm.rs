//! A log that matches a quote, which no real sample has: the project writes a log, extends
//! swtpm's PCRs with its digests the way firmware does, and checks the log against the quote
//! swtpm signs. Without swtpm the tests skip, except under CI=true where they fail.

use hcl_parse::HclReport;
use snp_vtpm_testkit::azure::SyntheticReport;
use snp_vtpm_testkit::pki::TestPki;
use snp_vtpm_testkit::swtpm::{self, Swtpm};
use tcg_eventlog::compose::EventLogBuilder;
use tcg_eventlog::{Divergence, EFI_GLOBAL_VARIABLE, EventLog, EventType, LogDifference};
use vtpm_quote::guest::{self, Vtpm};
use vtpm_quote::{
    AkPublic, ExpectedNonce, HashAlg, PcrBankSelection, QuoteAttest, QuoteSignature, VerifiedQuote,
    verify_quote,
};

fn provisioned() -> Option<(Swtpm, Vtpm, AkPublic)> {
    if !swtpm::available() {
        return None;
    }
    let sim = Swtpm::start().expect("swtpm starts");
    let mut vtpm = Vtpm::open(Some(&sim.tcti())).expect("TCTI opens");
    let mut report = Vec::new();
    guest::provision_azure_layout(&mut vtpm, |ak| {
        let modulus = ak.key.rsa_modulus().expect("RSA AK").to_vec();
        report = SyntheticReport::new(&modulus, [0; 64])
            .build(TestPki::shared())
            .0;
        report.clone()
    })
    .expect("provisioning");
    let hcl = HclReport::parse(&report).unwrap();
    let numbers = hcl
        .runtime_claims()
        .unwrap()
        .attestation_key()
        .unwrap()
        .rsa_public_numbers()
        .unwrap();
    Some((sim, vtpm, AkPublic::from_jwk(&numbers).unwrap()))
}

/// Extends the TPM with every measurement of the log, as firmware does while it logs them.
fn measure(vtpm: &mut Vtpm, builder: &EventLogBuilder) {
    for event in builder.measurements() {
        let digests: Vec<(HashAlg, &[u8])> = event
            .digests
            .iter()
            .map(|(bank, digest)| (*bank, digest.as_slice()))
            .collect();
        vtpm.extend_pcr_digests(event.pcr, &digests).unwrap();
    }
}

fn quote(vtpm: &mut Vtpm, ak: &AkPublic, banks: &[HashAlg]) -> VerifiedQuote {
    let selection: Vec<PcrBankSelection> = banks
        .iter()
        .map(|&bank| PcrBankSelection {
            bank,
            indices: (0..24).collect(),
        })
        .collect();
    let out = vtpm.quote(b"event log nonce", &selection).unwrap();
    let signature = QuoteSignature::from_tpmt(&out.signature).unwrap();
    verify_quote(
        &QuoteAttest::parse(&out.message).unwrap(),
        &signature,
        ak,
        ExpectedNonce::Exactly(b"event log nonce"),
        &out.pcrs,
    )
    .unwrap()
}

fn linux_boot(banks: &[HashAlg]) -> EventLogBuilder {
    let mut builder = EventLogBuilder::crypto_agile(banks);
    builder
        .measure(0, EventType::S_CRTM_CONTENTS, b"swtpm firmware")
        .efi_variable(&EFI_GLOBAL_VARIABLE, "SecureBoot", &[1])
        .separators(0..=7)
        .boot_application("\\EFI\\BOOT\\BOOTX64.EFI", b"shim")
        .boot_application("\\EFI\\ubuntu\\grubx64.efi", b"grub")
        .grub_command("linux /vmlinuz root=/dev/vda1 console=ttyS0")
        .kernel_cmdline("/vmlinuz root=/dev/vda1 console=ttyS0");
    builder
}

#[test]
fn a_generated_log_replays_to_a_swtpm_quote_in_both_banks() {
    let Some((_sim, mut vtpm, ak)) = provisioned() else {
        return;
    };
    let mut builder = linux_boot(&[HashAlg::Sha1, HashAlg::Sha256]);
    measure(&mut vtpm, &builder);
    let quoted = quote(&mut vtpm, &ak, &[HashAlg::Sha1, HashAlg::Sha256]);
    let bytes = builder.build();
    let log = EventLog::parse(&bytes).unwrap();
    let verified = log.check_against(&quoted).unwrap();
    let mut compared = verified.compared().to_vec();
    compared.sort();
    let expected: Vec<(HashAlg, u8)> = [HashAlg::Sha1, HashAlg::Sha256]
        .into_iter()
        .flat_map(|bank| (0..=9).chain([12]).map(move |pcr| (bank, pcr)))
        .collect();
    assert_eq!(compared, expected, "PCRs 0-9 and 12 in both banks");
    assert!(verified.unquoted().is_empty());
    let summary = verified.summary();
    assert_eq!(summary.secure_boot, Some(true));
    assert_eq!(
        summary.kernel_cmdlines,
        ["/vmlinuz root=/dev/vda1 console=ttyS0"]
    );
    assert_eq!(summary.boot_chain.len(), 2);
    for (index, value) in log.replay().bank(HashAlg::Sha256).unwrap().extended() {
        assert_eq!(quoted.pcr(HashAlg::Sha256, index), Some(value));
    }

    // A log with an event the quote does not include names that event.
    builder.grub_command("boot");
    let longer = builder.build();
    let longer_log = EventLog::parse(&longer).unwrap();
    let added = longer_log.events().len() - 1;
    match longer_log.check_against(&quoted).unwrap_err() {
        tcg_eventlog::Error::Mismatch {
            pcr,
            event,
            divergence,
            ..
        } => assert_eq!(
            (pcr, event, divergence),
            (8, added, Divergence::ExtraEvents)
        ),
        other => panic!("{other}"),
    }

    // A measurement the log does not have: PCR 8 can no longer match.
    vtpm.extend_pcr_digests(
        8,
        &[
            (HashAlg::Sha1, &[0x55; 20][..]),
            (HashAlg::Sha256, &[0x55; 32][..]),
        ],
    )
    .unwrap();
    let later = quote(&mut vtpm, &ak, &[HashAlg::Sha256]);
    let first_pcr8 = log.events().iter().position(|e| e.pcr == 8).unwrap();
    match log.check_against(&later).unwrap_err() {
        tcg_eventlog::Error::Mismatch {
            bank,
            pcr,
            event,
            divergence,
            ..
        } => assert_eq!(
            (bank, pcr, event, divergence),
            (HashAlg::Sha256, 8, first_pcr8, Divergence::AtOrAfter)
        ),
        other => panic!("{other}"),
    }
    assert_eq!(
        longer_log.first_difference(&log),
        Some(LogDifference {
            event: Some(added),
            reference_event: None
        })
    );
}

#[test]
fn a_three_bank_log_and_a_sha1_only_log_replay_against_swtpm() {
    let Some((_sim, mut vtpm, ak)) = provisioned() else {
        return;
    };
    let three = linux_boot(&[HashAlg::Sha1, HashAlg::Sha256, HashAlg::Sha384]);
    measure(&mut vtpm, &three);
    let quoted = quote(
        &mut vtpm,
        &ak,
        &[HashAlg::Sha1, HashAlg::Sha256, HashAlg::Sha384],
    );
    let bytes = three.build();
    let log = EventLog::parse(&bytes).unwrap();
    assert_eq!(log.check_against(&quoted).unwrap().compared().len(), 3 * 11);

    // A legacy log measured into the SHA-1 bank only, on a fresh simulator.
    let Some((_sim, mut vtpm, ak)) = provisioned() else {
        return;
    };
    let mut legacy = EventLogBuilder::sha1();
    legacy
        .startup_locality(0)
        .measure(0, EventType::POST_CODE, b"POST CODE")
        .separators(0..=7)
        .measure(
            4,
            EventType::EFI_ACTION,
            b"Calling EFI Application from Boot Option",
        );
    measure(&mut vtpm, &legacy);
    let quoted = quote(&mut vtpm, &ak, &[HashAlg::Sha1, HashAlg::Sha256]);
    let bytes = legacy.build();
    let log = EventLog::parse(&bytes).unwrap();
    let verified = log.check_against(&quoted).unwrap();
    assert!(
        verified
            .compared()
            .iter()
            .all(|(bank, _)| *bank == HashAlg::Sha1)
    );
    assert_eq!(verified.compared().len(), 11, "PCRs 0-9 and 12");
    let sha256_only = quote(&mut vtpm, &ak, &[HashAlg::Sha256]);
    assert!(matches!(
        log.check_against(&sha256_only),
        Err(tcg_eventlog::Error::NotComparable { .. })
    ));
}

/// The outside review's bypass against a real TPM: GRUB measures an allowed command line and
/// then an evil one into both banks; the log the guest hands over has the evil event's SHA-1
/// digest zeroed. A SHA-256 quote attests both command lines, and the summary lists both (it
/// used to skip the evil one as "contradicting" and report the allowed one).
#[test]
fn a_zeroed_sha1_digest_does_not_hide_a_second_command_line_from_a_sha256_quote() {
    let Some((_sim, mut vtpm, ak)) = provisioned() else {
        return;
    };
    let allowed = "/vmlinuz root=/dev/vda1 console=ttyS0";
    let evil = "/vmlinuz root=/dev/vda1 init=/bin/sh";
    let banks = [HashAlg::Sha1, HashAlg::Sha256];
    let mut measured = linux_boot(&banks);
    measured.kernel_cmdline(evil);
    measure(&mut vtpm, &measured);

    let mut handed_over = linux_boot(&banks);
    handed_over.measure_digests(
        8,
        EventType::IPL,
        &[
            (HashAlg::Sha1, vec![0; 20]),
            (
                HashAlg::Sha256,
                HashAlg::Sha256.hash_parts([evil.as_bytes()]),
            ),
        ],
        format!("kernel_cmdline: {evil}\0").as_bytes(),
    );
    let bytes = handed_over.build();
    let log = EventLog::parse(&bytes).unwrap();

    let sha256_quote = quote(&mut vtpm, &ak, &[HashAlg::Sha256]);
    let verified = log.check_against(&sha256_quote).unwrap();
    let summary = verified.summary();
    assert_eq!(summary.kernel_cmdlines, [allowed, evil]);
    assert!(summary.contradicting_events.is_empty());
    assert_eq!(verified.attested_banks(8), [HashAlg::Sha256]);

    // A quote over both banks sees the broken SHA-1 digest.
    let both = quote(&mut vtpm, &ak, &banks);
    match log.check_against(&both).unwrap_err() {
        tcg_eventlog::Error::Mismatch { bank, pcr, .. } => {
            assert_eq!((bank, pcr), (HashAlg::Sha1, 8));
        }
        other => panic!("{other}"),
    }
}
