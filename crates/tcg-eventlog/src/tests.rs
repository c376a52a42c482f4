//! Logs the project writes itself: the forms no real sample covers (SHA-1-only logs,
//! StartupLocality), and each rule of the comparison with quoted values.
#![allow(clippy::panic)]

use alloc::format;
use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;

use sha2::Digest;

use super::compose::EventLogBuilder;
use super::*;
use crate::error::Error;

fn sha1_extend(value: &[u8], digest: &[u8]) -> Vec<u8> {
    sha1::Sha1::new()
        .chain_update(value)
        .chain_update(digest)
        .finalize()
        .to_vec()
}

fn sha256_extend(value: &[u8], digest: &[u8]) -> Vec<u8> {
    sha2::Sha256::new()
        .chain_update(value)
        .chain_update(digest)
        .finalize()
        .to_vec()
}

/// A boot shaped like a Linux guest's: variables, separators, shim and GRUB, a command line.
fn boot(secure_boot: u8, cmdline: &str) -> EventLogBuilder {
    let mut b = EventLogBuilder::crypto_agile(&[HashAlg::Sha1, HashAlg::Sha256]);
    b.measure(
        0,
        EventType::S_CRTM_VERSION,
        &text::utf16_bytes("test firmware\0"),
    )
    .efi_variable(&EFI_GLOBAL_VARIABLE, "SecureBoot", &[secure_boot])
    .efi_variable(&EFI_GLOBAL_VARIABLE, "PK", &[])
    .separators(0..=7)
    .boot_application("\\EFI\\BOOT\\BOOTX64.EFI", b"shim image")
    .boot_application("\\EFI\\ubuntu\\grubx64.efi", b"grub image")
    .grub_command("set root=(hd0,gpt1)")
    .grub_command(&format!("linux {cmdline}"))
    .kernel_cmdline(cmdline);
    b
}

fn values_of(log: &EventLog<'_>) -> PcrValues {
    let mut values = PcrValues::new();
    for bank in log.replay().banks() {
        for (pcr, value) in bank.extended() {
            values.insert(bank.bank(), pcr, value).unwrap();
        }
    }
    values
}

#[test]
fn a_sha1_only_log_parses_and_replays() {
    let mut b = EventLogBuilder::sha1();
    b.measure(0, EventType::POST_CODE, b"POST CODE")
        .measure(0, EventType::SEPARATOR, &[0; 4])
        .measure(
            4,
            EventType::EFI_ACTION,
            b"Calling EFI Application from Boot Option",
        );
    let bytes = b.build();
    let log = EventLog::parse(&bytes).unwrap();
    assert_eq!(log.format(), LogFormat::Sha1);
    assert_eq!(log.banks(), [HashAlg::Sha1]);
    assert_eq!(log.spec_id(), None);
    assert_eq!(log.events().len(), 3);
    let mut pcr0 = vec![0u8; 20];
    for data in [&b"POST CODE"[..], &[0; 4]] {
        pcr0 = sha1_extend(&pcr0, &sha1::Sha1::digest(data));
    }
    let replay = log.replay();
    assert_eq!(replay.get(HashAlg::Sha1, 0), Some(pcr0.as_slice()));
    assert_eq!(replay.get(HashAlg::Sha256, 0), None, "no SHA-256 bank");
    assert_eq!(replay.get(HashAlg::Sha1, 17), Some(&[0xFF; 20][..]));
    assert_eq!(replay.bank(HashAlg::Sha1).unwrap().event_count(4), 1);
    log.check_against_values(&values_of(&log)).unwrap();
    let bindings: Vec<_> = log.events().iter().map(Event::data_binding).collect();
    assert_eq!(
        bindings,
        [
            DataBinding::NotApplicable,
            DataBinding::Matches,
            DataBinding::Matches
        ],
        "a POST code's digest is not defined over its data"
    );
}

#[test]
fn startup_locality_three_starts_pcr0_at_three() {
    for mut b in [
        EventLogBuilder::crypto_agile(&[HashAlg::Sha1, HashAlg::Sha256]),
        EventLogBuilder::sha1(),
    ] {
        b.startup_locality(3)
            .measure(0, EventType::S_CRTM_CONTENTS, b"crtm");
        let bytes = b.build();
        let log = EventLog::parse(&bytes).unwrap();
        assert_eq!(log.startup_locality(), Some(3));
        let mut start = vec![0u8; 20];
        start[19] = 3;
        let expected = sha1_extend(&start, &sha1::Sha1::digest(b"crtm"));
        assert_eq!(
            log.replay().get(HashAlg::Sha1, 0),
            Some(expected.as_slice())
        );
        if log.format() == LogFormat::CryptoAgile {
            let mut start = vec![0u8; 32];
            start[31] = 3;
            let expected = sha256_extend(&start, &sha2::Sha256::digest(b"crtm"));
            assert_eq!(
                log.replay().get(HashAlg::Sha256, 0),
                Some(expected.as_slice())
            );
        }
        let at = usize::from(log.format() == LogFormat::CryptoAgile);
        assert_eq!(
            log.events()[at].content(),
            EventContent::StartupLocality { locality: 3 }
        );
        assert_eq!(log.replay().get(HashAlg::Sha1, 1), Some(&[0; 20][..]));
    }
    assert_eq!(start_value(HashAlg::Sha256, 0, Some(0)), [0; 32]);
    assert_eq!(start_value(HashAlg::Sha256, 17, Some(3)), [0xFF; 32]);
}

#[test]
fn startup_locality_errors() {
    let mut late = EventLogBuilder::crypto_agile(&[HashAlg::Sha256]);
    late.measure(0, EventType::S_CRTM_CONTENTS, b"crtm")
        .startup_locality(3);
    let mut four = EventLogBuilder::crypto_agile(&[HashAlg::Sha256]);
    four.startup_locality(4);
    let mut twice = EventLogBuilder::crypto_agile(&[HashAlg::Sha256]);
    twice.startup_locality(3).startup_locality(3);
    let mut short = EventLogBuilder::crypto_agile(&[HashAlg::Sha256]);
    short.no_action(b"StartupLocality\0");
    for (builder, event, reason) in [
        (late, 2, "after a measurement into PCR 0"),
        (four, 1, "StartupLocality 4"),
        (twice, 2, "a second StartupLocality"),
        (short, 1, "expected 17"),
    ] {
        let bytes = builder.build();
        match EventLog::parse(&bytes).unwrap_err() {
            Error::Malformed {
                event: found,
                reason: text,
                ..
            } => {
                assert_eq!(found, event, "{text}");
                assert!(text.contains(reason), "{text}");
            }
            other => panic!("{other}"),
        }
    }
}

#[test]
fn a_matching_log_is_attested_and_summarised() {
    let bytes = boot(1, "/vmlinuz root=/dev/vda1 ro").build();
    let log = EventLog::parse(&bytes).unwrap();
    let verified = log.check_against_values(&values_of(&log)).unwrap();
    assert!(verified.unquoted().is_empty());
    assert_eq!(
        verified.compared().len(),
        2 * 9,
        "PCRs 0-8 and none else, two banks"
    );
    assert!(verified.is_attested(8) && !verified.is_attested(9));
    let summary = verified.summary();
    assert_eq!(summary.secure_boot, Some(true));
    assert_eq!(summary.kernel_cmdlines, ["/vmlinuz root=/dev/vda1 ro"]);
    let chain: Vec<_> = summary
        .boot_chain
        .iter()
        .map(|a| a.path.as_deref().unwrap())
        .collect();
    assert_eq!(
        chain,
        ["\\EFI\\BOOT\\BOOTX64.EFI", "\\EFI\\ubuntu\\grubx64.efi"]
    );
    assert_eq!(
        summary.boot_chain[0].sha256.as_deref(),
        Some(&sha2::Sha256::digest(b"shim image")[..])
    );
    assert!(summary.contradicting_events.is_empty());
    assert_eq!(summary, log.summary());

    let off = boot(0, "x").build();
    assert_eq!(
        EventLog::parse(&off).unwrap().summary().secure_boot,
        Some(false)
    );
}

#[test]
fn unquoted_pcrs_are_not_attested() {
    let bytes = boot(1, "quiet").build();
    let log = EventLog::parse(&bytes).unwrap();
    let mut values = PcrValues::new();
    for (bank, pcr, value) in values_of(&log).iter() {
        if pcr != 8 {
            values.insert(bank, pcr, value).unwrap();
        }
    }
    let verified = log.check_against_values(&values).unwrap();
    assert_eq!(
        verified.unquoted(),
        [(HashAlg::Sha1, 8), (HashAlg::Sha256, 8)]
    );
    assert!(!verified.is_attested(8));
    assert!(verified.summary().kernel_cmdlines.is_empty());
    assert_eq!(verified.summary().secure_boot, Some(true));

    let mut other_bank = PcrValues::new();
    other_bank.insert(HashAlg::Sha384, 0, &[0; 48]).unwrap();
    assert!(matches!(
        log.check_against_values(&other_bank),
        Err(Error::NotComparable { .. })
    ));
    // A log without the firmware's events cannot match a quote whose PCRs 0-7 moved.
    let empty = EventLogBuilder::crypto_agile(&[HashAlg::Sha256]).build();
    let nothing = EventLog::parse(&empty).unwrap();
    assert_eq!(
        mismatch(&nothing, &values),
        (0, 1, Divergence::MissingEvents)
    );
    let mut zeros = PcrValues::new();
    for pcr in 0..24 {
        zeros
            .insert(
                HashAlg::Sha256,
                pcr,
                &start_value(HashAlg::Sha256, pcr, None),
            )
            .unwrap();
    }
    let vacuous = nothing.check_against_values(&zeros).unwrap();
    assert_eq!(
        vacuous.compared().len(),
        11,
        "PCRs 0-9 and 12 at their start values"
    );
    assert_eq!(vacuous.summary(), BootSummary::default());
}

fn mismatch(log: &EventLog<'_>, values: &PcrValues) -> (u8, usize, Divergence) {
    match log.check_against_values(values).unwrap_err() {
        Error::Mismatch {
            pcr,
            event,
            divergence,
            quoted,
            replayed,
            ..
        } => {
            assert_ne!(quoted, replayed);
            (pcr, event, divergence)
        }
        other => panic!("{other}"),
    }
}

#[test]
fn events_the_quote_does_not_have_are_extra() {
    let mut b = boot(1, "quiet");
    let quoted = b.build();
    let quoted_log = EventLog::parse(&quoted).unwrap();
    let values = values_of(&quoted_log);
    b.grub_command("boot");
    let longer = b.build();
    let log = EventLog::parse(&longer).unwrap();
    let last = log.events().len() - 1;
    assert_eq!(mismatch(&log, &values), (8, last, Divergence::ExtraEvents));
    assert_eq!(
        log.first_difference(&quoted_log),
        Some(LogDifference {
            event: Some(last),
            reference_event: None
        })
    );
    assert_eq!(quoted_log.first_difference(&quoted_log), None);
}

#[test]
fn an_altered_digest_of_bound_data_is_named() {
    let reference = boot(1, "quiet").build();
    let reference_log = EventLog::parse(&reference).unwrap();
    let values = values_of(&reference_log);
    // The same boot, but GRUB's first command measured with another digest.
    let mut b = EventLogBuilder::crypto_agile(&[HashAlg::Sha1, HashAlg::Sha256]);
    b.measure(
        0,
        EventType::S_CRTM_VERSION,
        &text::utf16_bytes("test firmware\0"),
    )
    .efi_variable(&EFI_GLOBAL_VARIABLE, "SecureBoot", &[1])
    .efi_variable(&EFI_GLOBAL_VARIABLE, "PK", &[])
    .separators(0..=7)
    .boot_application("\\EFI\\BOOT\\BOOTX64.EFI", b"shim image")
    .boot_application("\\EFI\\ubuntu\\grubx64.efi", b"grub image")
    .measure_hashing(
        8,
        EventType::IPL,
        b"set root=(hd0,gpt2)",
        b"grub_cmd: set root=(hd0,gpt1)\0",
    )
    .grub_command("linux quiet")
    .kernel_cmdline("quiet");
    let bytes = b.build();
    let log = EventLog::parse(&bytes).unwrap();
    let altered = log
        .events()
        .iter()
        .position(|e| e.data.starts_with(b"grub_cmd: set root"))
        .unwrap();
    assert_eq!(
        log.events()[altered].data_binding(),
        DataBinding::Contradicts
    );
    assert_eq!(
        mismatch(&log, &values),
        (8, altered, Divergence::AlteredEvent)
    );
    assert_eq!(
        log.first_difference(&reference_log).unwrap().event,
        Some(altered)
    );
    assert_eq!(log.summary().contradicting_events, [altered]);
}

#[test]
fn an_altered_image_digest_is_located_at_its_pcr_s_first_event() {
    let reference = boot(1, "quiet").build();
    let values = values_of(&EventLog::parse(&reference).unwrap());
    let mut b = EventLogBuilder::crypto_agile(&[HashAlg::Sha1, HashAlg::Sha256]);
    b.measure(
        0,
        EventType::S_CRTM_VERSION,
        &text::utf16_bytes("test firmware\0"),
    )
    .efi_variable(&EFI_GLOBAL_VARIABLE, "SecureBoot", &[1])
    .efi_variable(&EFI_GLOBAL_VARIABLE, "PK", &[])
    .separators(0..=7)
    .boot_application("\\EFI\\BOOT\\BOOTX64.EFI", b"shim image")
    .boot_application("\\EFI\\ubuntu\\grubx64.efi", b"evil grub")
    .grub_command("set root=(hd0,gpt1)")
    .grub_command("linux quiet")
    .kernel_cmdline("quiet");
    let bytes = b.build();
    let log = EventLog::parse(&bytes).unwrap();
    let first_pcr4 = log.events().iter().position(|e| e.pcr == 4).unwrap();
    assert_eq!(
        mismatch(&log, &values),
        (4, first_pcr4, Divergence::AtOrAfter)
    );
    let grub = log
        .events()
        .iter()
        .rposition(|e| e.event_type == EventType::EFI_BOOT_SERVICES_APPLICATION)
        .unwrap();
    let reference_log = EventLog::parse(&reference).unwrap();
    assert_eq!(
        log.first_difference(&reference_log).unwrap().event,
        Some(grub)
    );
    let message = log.check_against_values(&values).unwrap_err().to_string();
    assert!(
        message.contains("PCR sha1:4") || message.contains("PCR sha256:4"),
        "{message}"
    );
}

#[test]
fn altered_data_with_the_original_digest_is_refused() {
    let reference = boot(1, "quiet").build();
    let values = values_of(&EventLog::parse(&reference).unwrap());
    let mut bytes = reference.clone();
    let at = bytes.windows(5).rposition(|w| w == b"quiet").unwrap();
    bytes[at..at + 5].copy_from_slice(b"QUIET");
    let log = EventLog::parse(&bytes).unwrap();
    let last = log.events().len() - 1;
    match log.check_against_values(&values).unwrap_err() {
        Error::DataContradictsDigest {
            event, pcr, bank, ..
        } => assert_eq!((event, pcr, bank), (last, 8, HashAlg::Sha1)),
        other => panic!("{other}"),
    }
    // Unattested, the whole-log summary leaves it out and lists it; GRUB's `linux` command
    // still says what the kernel got.
    let summary = log.summary();
    assert_eq!(summary.kernel_cmdlines, ["quiet"], "{summary:?}");
    assert_eq!(summary.contradicting_events, [last]);
}

/// The outside review's bypass: an allowed command line, then an evil one whose digest is
/// broken only in a bank the quote does not cover. The broken bank is not judged; the evil
/// line is attested by the SHA-256 digest, and the summary lists both.
#[test]
fn a_digest_broken_in_an_unquoted_bank_does_not_hide_a_command_line() {
    let mut b = boot(1, "allowed");
    b.measure_digests(
        8,
        EventType::IPL,
        &[
            (HashAlg::Sha1, [0; 20].to_vec()),
            (
                HashAlg::Sha256,
                sha2::Sha256::digest(b"evil init=/bin/sh").to_vec(),
            ),
        ],
        b"kernel_cmdline: evil init=/bin/sh\0",
    );
    let bytes = b.build();
    let log = EventLog::parse(&bytes).unwrap();
    let mut sha256_only = PcrValues::new();
    for (bank, pcr, value) in values_of(&log).iter() {
        if bank == HashAlg::Sha256 {
            sha256_only.insert(bank, pcr, value).unwrap();
        }
    }
    let verified = log.check_against_values(&sha256_only).unwrap();
    let summary = verified.summary();
    assert_eq!(summary.kernel_cmdlines, ["allowed", "evil init=/bin/sh"]);
    assert!(summary.contradicting_events.is_empty());
    // Judged on both banks (a quote covering SHA-1 too), the broken digest is refused.
    assert!(matches!(
        log.check_against_values(&values_of(&log)),
        Err(Error::Mismatch { .. } | Error::DataContradictsDigest { .. })
    ));
}

#[test]
fn secure_boot_is_on_only_when_every_measurement_says_on() {
    let mut b = boot(0, "quiet");
    b.efi_variable(&EFI_GLOBAL_VARIABLE, "SecureBoot", &[1]);
    let bytes = b.build();
    let log = EventLog::parse(&bytes).unwrap();
    let verified = log.check_against_values(&values_of(&log)).unwrap();
    assert_eq!(verified.summary().secure_boot, Some(false));
}

#[test]
fn malformed_logs_name_the_record() {
    fn err(bytes: &[u8]) -> (usize, usize, alloc::string::String) {
        match EventLog::parse(bytes).unwrap_err() {
            Error::Malformed {
                event,
                offset,
                reason,
            } => (event, offset, reason),
            other => panic!("{other}"),
        }
    }
    assert_eq!(err(&[]).2, "the log is empty");

    let good = boot(1, "quiet").build();
    let log = EventLog::parse(&good).unwrap();
    let second = log.events()[1].offset;
    // PCR index 24.
    let mut bad = good.clone();
    bad[second..second + 4].copy_from_slice(&24u32.to_le_bytes());
    let (event, offset, reason) = err(&bad);
    assert_eq!((event, offset), (1, second));
    assert!(reason.contains("PCR index 24"), "{reason}");
    // A digest count above the declared algorithms.
    let mut bad = good.clone();
    bad[second + 8..second + 12].copy_from_slice(&3u32.to_le_bytes());
    assert!(err(&bad).2.contains("3 digests"));
    // An undeclared algorithm.
    let mut bad = good.clone();
    bad[second + 12..second + 14].copy_from_slice(&0x0012u16.to_le_bytes());
    assert!(err(&bad).2.contains("0x0012"));
    // A measured event with one digest of two.
    let mut one = EventLogBuilder::crypto_agile(&[HashAlg::Sha1, HashAlg::Sha256]);
    one.measure_digests(
        0,
        EventType::POST_CODE,
        &[(HashAlg::Sha1, vec![0; 20])],
        b"x",
    );
    assert!(err(&one.build()).2.contains("carries 1"));
    // A data size past the end.
    let last = log.events().last().unwrap();
    let size_at = good.len() - last.data.len() - 4;
    let mut bad = good.clone();
    bad[size_at..size_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let (event, _, reason) = err(&bad);
    assert_eq!(event, last.index);
    assert!(
        reason.contains("event data needs 4294967295 bytes"),
        "{reason}"
    );
}

#[test]
fn malformed_spec_id_events_are_refused() {
    let good = EventLogBuilder::crypto_agile(&[HashAlg::Sha256]).build();
    // Offsets in the Spec ID data (after the 32-byte SHA-1 record header).
    let algorithms = 32 + 24;
    let cases: [(usize, &[u8], &str); 4] = [
        (algorithms, &0u32.to_le_bytes(), "0 algorithms"),
        (algorithms + 6, &20u16.to_le_bytes(), "32-byte digests"),
        (32 + 23, &[3], "UINTN size 3"),
        (algorithms, &2u32.to_le_bytes(), "Spec ID event"),
    ];
    for (at, patch, reason) in cases {
        let mut bad = good.clone();
        bad[at..at + patch.len()].copy_from_slice(patch);
        let err = EventLog::parse(&bad).unwrap_err().to_string();
        assert!(err.contains(reason), "{err}");
    }
    let mut trailing = good.clone();
    trailing[28..32].copy_from_slice(&(good.len() as u32 - 32 + 1).to_le_bytes());
    trailing.push(0);
    assert!(
        EventLog::parse(&trailing)
            .unwrap_err()
            .to_string()
            .contains("after the vendor information")
    );
}

#[test]
fn content_decodes_the_common_events() {
    let bytes = boot(1, "quiet").build();
    let log = EventLog::parse(&bytes).unwrap();
    let lines: Vec<_> = log.events().iter().map(|e| e.to_string()).collect();
    assert_eq!(lines[0], "#0 PCR 0 EV_NO_ACTION Spec ID Event03");
    assert_eq!(lines[1], "#1 PCR 0 EV_S_CRTM_VERSION test firmware");
    assert_eq!(
        lines[2],
        "#2 PCR 7 EV_EFI_VARIABLE_DRIVER_CONFIG SecureBoot = on (1)"
    );
    assert_eq!(
        lines[3],
        "#3 PCR 7 EV_EFI_VARIABLE_DRIVER_CONFIG PK = (empty)"
    );
    assert_eq!(lines[4], "#4 PCR 0 EV_SEPARATOR separator");
    assert_eq!(
        lines[12],
        "#12 PCR 4 EV_EFI_BOOT_SERVICES_APPLICATION \\EFI\\BOOT\\BOOTX64.EFI (4096 bytes)"
    );
    assert_eq!(lines[14], "#14 PCR 8 EV_IPL grub: set root=(hd0,gpt1)");
    assert_eq!(lines[16], "#16 PCR 8 EV_IPL kernel command line: quiet");
    let spec = log.spec_id().unwrap();
    assert_eq!(spec.algorithms, [(0x0004, 20), (0x000B, 32)]);
    assert_eq!(EventType(0x1234).to_string(), "0x00001234");
}

#[test]
fn a_legacy_log_may_start_with_an_old_spec_id_event() {
    let mut spec00 = b"Spec ID Event00\0".to_vec();
    spec00.extend_from_slice(&[0, 0, 0, 0, 2, 1, 0, 1, 0]); // class, 1.2, errata, UINTN 4, no vendor
    let mut b = EventLogBuilder::sha1();
    b.no_action(&spec00)
        .measure(0, EventType::SEPARATOR, &[0; 4]);
    let bytes = b.build();
    let log = EventLog::parse(&bytes).unwrap();
    assert_eq!(log.format(), LogFormat::Sha1);
    assert_eq!(log.spec_id().unwrap().uintn_size, 1);
    // A malformed old one is only a no-action event.
    let mut odd = EventLogBuilder::sha1();
    odd.no_action(b"Spec ID Event02\0\x01")
        .measure(0, EventType::SEPARATOR, &[0; 4]);
    let bytes = odd.build();
    let log = EventLog::parse(&bytes).unwrap();
    assert_eq!(log.spec_id(), None);
    assert_eq!(log.events().len(), 2);
}

/// GRUB commands that start a kernel or another loader give the started image its command
/// line: their arguments are command lines. Other commands are not.
#[test]
fn loader_commands_and_unlabelled_strings_are_command_lines() {
    let mut b = EventLogBuilder::crypto_agile(&[HashAlg::Sha256]);
    b.separators(0..=7)
        .grub_command("set root=(hd0,gpt1)")
        .grub_command("initrdfail")
        .grub_command("chainloader /vmlinuz root=/dev/vda1 init=/bin/sh")
        .grub_command("multiboot2 /xen.gz dom0_mem=1G")
        .grub_command("\"/boot/vmlinuz x\" root=/dev/sdb1 init=/bin/sh")
        .grub_command("2048+16384 root=/dev/sdb1");
    let bytes = b.build();
    let log = EventLog::parse(&bytes).unwrap();
    let verified = log.check_against_values(&values_of(&log)).unwrap();
    assert_eq!(
        verified.summary().kernel_cmdlines,
        [
            "/vmlinuz root=/dev/vda1 init=/bin/sh",
            "/xen.gz dom0_mem=1G",
            "\"/boot/vmlinuz x\" root=/dev/sdb1 init=/bin/sh",
            "2048+16384 root=/dev/sdb1",
        ]
    );
}

/// The separator is found by its content: a PCR 7 separator relabelled as another type still
/// ends what the firmware measured, and without one the state is unknown.
#[test]
fn secure_boot_needs_pcr_7_s_separator_whatever_its_type() {
    let mut relabelled = EventLogBuilder::crypto_agile(&[HashAlg::Sha256]);
    relabelled
        .efi_variable(&EFI_GLOBAL_VARIABLE, "SecureBoot", &[0])
        .measure(7, EventType::POST_CODE, &[0, 0, 0, 0])
        .efi_variable(&EFI_GLOBAL_VARIABLE, "SecureBoot", &[1]);
    let bytes = relabelled.build();
    let log = EventLog::parse(&bytes).unwrap();
    let verified = log.check_against_values(&values_of(&log)).unwrap();
    assert_eq!(verified.summary().secure_boot, Some(false));

    let mut none = EventLogBuilder::crypto_agile(&[HashAlg::Sha256]);
    none.efi_variable(&EFI_GLOBAL_VARIABLE, "SecureBoot", &[1]);
    let bytes = none.build();
    let log = EventLog::parse(&bytes).unwrap();
    let verified = log.check_against_values(&values_of(&log)).unwrap();
    assert_eq!(verified.summary().secure_boot, None);
}
