//! The real TCG event logs of `../shared/vectors/eventlog`: each replays to exactly the values of
//! `expected-pcrs.json` in both banks; a flipped digest or a reordered pair of events is caught
//! at the event the rules name; truncations and random bytes are errors, never panics.

use std::collections::BTreeMap;

use proptest::prelude::*;
use snp_vtpm_testkit::vectors;
use tcg_eventlog::{
    DataBinding, Divergence, EventContent, EventLog, EventType, LogDifference, LogFormat,
    SignatureEntry, VariableValue,
};
use vtpm_quote::{HashAlg, PcrValues};

const LOGS: [&str; 4] = [
    "arch-linux-workstation.bin",
    "cos-101-amd-sev.bin",
    "rhel8-uefi.bin",
    "ubuntu-2404-amd-sevsnp.bin",
];

fn log_bytes(name: &str) -> Vec<u8> {
    vectors::read(&format!("eventlog/{name}"))
}

/// The expected values of one log, by bank and PCR, from `expected-pcrs.json`.
fn expected(name: &str) -> BTreeMap<(HashAlg, u8), Vec<u8>> {
    let json = vectors::read_json("eventlog/expected-pcrs.json");
    let mut values = BTreeMap::new();
    for (bank_name, bank) in [("sha1", HashAlg::Sha1), ("sha256", HashAlg::Sha256)] {
        let entries = json[name][bank_name]
            .as_object()
            .unwrap_or_else(|| panic!("{name}: no {bank_name} values"));
        for (pcr, value) in entries {
            let value = hex::decode(value.as_str().unwrap()).unwrap();
            values.insert((bank, pcr.parse().unwrap()), value);
        }
    }
    values
}

fn expected_values(name: &str) -> PcrValues {
    let mut values = PcrValues::new();
    for ((bank, pcr), value) in expected(name) {
        values.insert(bank, pcr, &value).unwrap();
    }
    values
}

#[test]
fn every_log_replays_to_exactly_the_expected_values_in_both_banks() {
    let mut replayed = 0;
    for name in LOGS {
        let bytes = log_bytes(name);
        let log = EventLog::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(log.format(), LogFormat::CryptoAgile, "{name}");
        assert_eq!(log.startup_locality(), None, "{name}");
        let replay = log.replay();
        let mut found = BTreeMap::new();
        for bank in [HashAlg::Sha1, HashAlg::Sha256] {
            for (pcr, value) in replay.bank(bank).unwrap().extended() {
                found.insert((bank, pcr), value.to_vec());
            }
        }
        assert_eq!(
            found,
            expected(name),
            "{name}: the PCRs extended and their values"
        );
        let verified = log
            .check_against_values(&expected_values(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(verified.compared().len(), found.len(), "{name}");
        assert!(
            verified.unquoted().is_empty(),
            "{name}: the SHA-384 bank, which has no expected values, is not compared"
        );
        replayed += 1;
    }
    assert_eq!(replayed, LOGS.len());
}

#[test]
fn every_bound_event_of_the_real_logs_matches_its_data() {
    for name in LOGS {
        let bytes = log_bytes(name);
        let log = EventLog::parse(&bytes).unwrap();
        let contradicting: Vec<usize> = log
            .events()
            .iter()
            .filter(|e| e.data_binding() == DataBinding::Contradicts)
            .map(|e| e.index)
            .collect();
        assert!(contradicting.is_empty(), "{name}: {contradicting:?}");
        for event in log.events() {
            let content = event.content();
            assert!(
                !matches!(content, EventContent::Malformed { .. }),
                "{name} event {}: {content:?}",
                event.index
            );
        }
    }
}

#[test]
fn the_summaries_say_what_booted() {
    let summary = |name: &str| {
        let bytes = log_bytes(name);
        let log = EventLog::parse(&bytes).unwrap();
        log.check_against_values(&expected_values(name))
            .unwrap()
            .summary()
    };
    let ubuntu = summary("ubuntu-2404-amd-sevsnp.bin");
    assert_eq!(ubuntu.secure_boot, Some(false));
    assert_eq!(
        ubuntu.confidential_technology.as_deref(),
        Some("AMD SEV-SNP")
    );
    let chain: Vec<_> = ubuntu
        .boot_chain
        .iter()
        .map(|a| a.path.as_deref().unwrap_or("(memory)"))
        .collect();
    assert_eq!(
        chain,
        ["\\EFI\\ubuntu\\shimx64.efi", "\\EFI\\ubuntu\\grubx64.efi"]
    );
    // The Linux EFI stub's own measurement of its load options is GRUB's command line after
    // BOOT_IMAGE=.
    assert_eq!(ubuntu.kernel_load_options.len(), 1);
    assert!(ubuntu.kernel_load_options[0].matches_a_cmdline);
    assert!(ubuntu.opaque_cmdline_events.is_empty());
    let [cmdline] = ubuntu.kernel_cmdlines.as_slice() else {
        panic!("one command line: {:?}", ubuntu.kernel_cmdlines)
    };
    assert!(
        cmdline.starts_with("/vmlinuz-6.8.0-1010-gcp root=PARTUUID=8270f3c9"),
        "{cmdline}"
    );

    let cos = summary("cos-101-amd-sev.bin");
    assert_eq!(cos.secure_boot, Some(true));
    assert_eq!(cos.confidential_technology.as_deref(), Some("AMD SEV"));
    assert!(
        cos.kernel_cmdlines
            .last()
            .unwrap()
            .starts_with("/syslinux/vmlinuz.A init=/usr/lib/systemd/systemd")
    );

    let rhel = summary("rhel8-uefi.bin");
    assert_eq!(rhel.secure_boot, Some(true));
    assert_eq!(rhel.confidential_technology.as_deref(), Some("none"));
    assert!(
        rhel.kernel_cmdlines
            .last()
            .unwrap()
            .starts_with("(hd0,gpt2)/boot/vmlinuz-4.18.0-240.22.1.el8_3.x86_64 root=UUID=")
    );

    let arch = summary("arch-linux-workstation.bin");
    assert_eq!(
        arch.secure_boot,
        Some(false),
        "an empty SecureBoot variable"
    );
    assert_eq!(arch.confidential_technology, None);
    assert!(
        arch.kernel_cmdlines
            .last()
            .unwrap()
            .starts_with("initrd=\\intel-ucode.img initrd=\\initramfs-linux-lts.img"),
        "systemd-boot's UTF-16 command line"
    );
}

#[test]
fn signature_databases_decode_with_certificate_subjects() {
    let bytes = log_bytes("rhel8-uefi.bin");
    let log = EventLog::parse(&bytes).unwrap();
    let variable = |name: &str| {
        log.events()
            .iter()
            .find_map(|e| match e.content() {
                EventContent::EfiVariable(var)
                    if var.name == name
                        && e.event_type == EventType::EFI_VARIABLE_DRIVER_CONFIG =>
                {
                    Some(var.value)
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let subjects = |value: VariableValue| -> Vec<String> {
        match value {
            VariableValue::SignatureLists { entries } => entries
                .into_iter()
                .filter_map(|e| match e {
                    SignatureEntry::X509 { subject, .. } => Some(subject.expect("parses")),
                    _ => None,
                })
                .collect(),
            other => panic!("{other:?}"),
        }
    };
    let kek = subjects(variable("KEK"));
    assert!(
        kek.iter()
            .any(|s| s.contains("Microsoft Corporation KEK CA 2011")),
        "{kek:?}"
    );
    let db = subjects(variable("db"));
    assert!(
        db.iter()
            .any(|s| s.contains("Microsoft Windows Production PCA 2011")),
        "{db:?}"
    );
    match variable("dbx") {
        VariableValue::SignatureLists { entries } => {
            assert!(
                entries
                    .iter()
                    .filter(|e| matches!(e, SignatureEntry::Sha256 { .. }))
                    .count()
                    > 10
            );
        }
        other => panic!("{other:?}"),
    }
    let boot_order = log.events().iter().find_map(|e| match e.content() {
        EventContent::EfiVariable(var) if var.name == "BootOrder" => Some(var.value),
        _ => None,
    });
    assert!(matches!(boot_order, Some(VariableValue::BootOrder { .. })));
}

/// The log with event `index`'s digests flipped (every bank).
fn flip_digests(bytes: &[u8], log: &EventLog<'_>, index: usize) -> Vec<u8> {
    let event = &log.events()[index];
    let mut out = bytes.to_vec();
    let mut at = event.offset + 12;
    for digest in &event.digests {
        at += 2;
        out[at] ^= 0x01;
        at += digest.digest.len();
    }
    out
}

/// The log with two consecutive records swapped.
fn swap_records(bytes: &[u8], log: &EventLog<'_>, first: usize) -> Vec<u8> {
    let events = log.events();
    let a = events[first].offset;
    let b = events[first + 1].offset;
    let end = events.get(first + 2).map_or(bytes.len(), |e| e.offset);
    let mut out = bytes[..a].to_vec();
    out.extend_from_slice(&bytes[b..end]);
    out.extend_from_slice(&bytes[a..b]);
    out.extend_from_slice(&bytes[end..]);
    out
}

fn mismatch(log: &EventLog<'_>, name: &str) -> (u8, usize, Divergence) {
    match log.check_against_values(&expected_values(name)) {
        Err(tcg_eventlog::Error::Mismatch {
            pcr,
            event,
            divergence,
            ..
        }) => (pcr, event, divergence),
        other => panic!("{name}: expected a mismatch, got {other:?}"),
    }
}

#[test]
fn a_flipped_digest_is_caught_at_the_right_event() {
    let mut checked = 0;
    for name in LOGS {
        let bytes = log_bytes(name);
        let log = EventLog::parse(&bytes).unwrap();
        for index in 1..log.events().len() {
            let event = &log.events()[index];
            if !event.is_measured() {
                continue;
            }
            let tampered = flip_digests(&bytes, &log, index);
            let bad = EventLog::parse(&tampered).unwrap();
            let first_of_pcr = log
                .events()
                .iter()
                .find(|e| e.is_measured() && e.pcr == event.pcr)
                .unwrap()
                .index;
            let expected = match event.data_binding() {
                // The digest no longer matches the data: the event itself is named.
                DataBinding::Matches => (event.pcr, index, Divergence::AlteredEvent),
                // An image or blob digest: final values cannot say more than the PCR.
                _ => (event.pcr, first_of_pcr, Divergence::AtOrAfter),
            };
            assert_eq!(mismatch(&bad, name), expected, "{name}: event {index}");
            assert_eq!(
                bad.first_difference(&log),
                Some(LogDifference {
                    event: Some(index),
                    reference_event: Some(index)
                }),
                "{name}: event {index} against the original"
            );
            checked += 1;
        }
    }
    assert!(checked > 250, "{checked} events flipped");
}

#[test]
fn a_reordered_pair_of_events_is_caught_at_the_right_event() {
    for name in LOGS {
        let bytes = log_bytes(name);
        let log = EventLog::parse(&bytes).unwrap();
        let events = log.events();
        // Every pair of consecutive records in one PCR with different digests.
        let pairs: Vec<usize> = (1..events.len() - 1)
            .filter(|&i| {
                let (a, b) = (&events[i], &events[i + 1]);
                a.is_measured() && b.is_measured() && a.pcr == b.pcr && a.digests != b.digests
            })
            .collect();
        assert!(!pairs.is_empty(), "{name}");
        for first in pairs {
            let swapped = swap_records(&bytes, &log, first);
            let bad = EventLog::parse(&swapped).unwrap();
            let pcr = events[first].pcr;
            let first_of_pcr = bad
                .events()
                .iter()
                .find(|e| e.is_measured() && e.pcr == pcr)
                .unwrap()
                .index;
            assert_eq!(
                mismatch(&bad, name),
                (pcr, first_of_pcr, Divergence::AtOrAfter),
                "{name}: records {first} and {}",
                first + 1
            );
            assert_eq!(
                bad.first_difference(&log),
                Some(LogDifference {
                    event: Some(first),
                    reference_event: Some(first)
                }),
                "{name}: records {first} and {} against the original",
                first + 1
            );
        }
    }
}

#[test]
fn every_truncation_is_an_error_or_a_shorter_log() {
    for name in LOGS {
        let bytes = log_bytes(name);
        let log = EventLog::parse(&bytes).unwrap();
        let offsets: Vec<usize> = log.events().iter().map(|e| e.offset).collect();
        for cut in 0..bytes.len() {
            let result = EventLog::parse(&bytes[..cut]);
            let records_before = offsets.iter().filter(|&&o| o < cut).count();
            if offsets.contains(&cut) && cut > 0 {
                // A cut between records is a shorter log; what it lacks shows in its replay.
                let shorter = result.unwrap_or_else(|e| panic!("{name} cut at {cut}: {e}"));
                assert_eq!(shorter.events().len(), records_before);
                assert_ne!(shorter.replay(), log.replay(), "{name} cut at {cut}");
                if shorter.check_against_values(&expected_values(name)).is_ok() {
                    // Only when every dropped measurement was in a PCR above 7 that the
                    // shorter log no longer extends (such PCRs are not compared).
                    let replay = shorter.replay();
                    let sha256 = replay.bank(HashAlg::Sha256).unwrap();
                    for dropped in log.events()[records_before..]
                        .iter()
                        .filter(|e| e.is_measured())
                    {
                        assert!(
                            dropped.pcr > 7 && sha256.event_count(dropped.pcr) == 0,
                            "{name} cut at {cut}: event {} accepted as missing",
                            dropped.index
                        );
                    }
                }
            } else {
                match result {
                    Err(tcg_eventlog::Error::Malformed { event, offset, .. }) => {
                        let cut_record = records_before.saturating_sub(1);
                        assert_eq!(
                            (event, offset),
                            (cut_record, offsets[cut_record]),
                            "{name} cut at {cut}"
                        );
                    }
                    other => panic!("{name} cut at {cut}: {other:?}"),
                }
            }
        }
    }
}

/// Everything a relying party may call on a log; only a panic can fail this.
fn exercise(bytes: &[u8], expected: &PcrValues) {
    if let Ok(log) = EventLog::parse(bytes) {
        for event in log.events() {
            let _ = event.content().to_string();
            let _ = event.data_binding();
        }
        let _ = log.replay();
        let _ = log.summary();
        if let Ok(verified) = log.check_against_values(expected) {
            let _ = verified.summary();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        prop_assert!(EventLog::parse(&bytes).is_err());
        exercise(&bytes, &PcrValues::new());
    }

    #[test]
    fn mutated_real_logs_never_panic(
        which in 0..LOGS.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let name = LOGS[which];
        let mut bytes = log_bytes(name);
        for (at, value) in edits {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        exercise(&bytes, &expected_values(name));
    }
}

#[test]
fn random_bytes_with_a_valid_spec_id_header_are_refused_too() {
    let bytes = log_bytes("ubuntu-2404-amd-sevsnp.bin");
    let log = EventLog::parse(&bytes).unwrap();
    let header = &bytes[..log.events()[1].offset];
    let mut seed = 0x1234_5678u32;
    for _ in 0..200 {
        let mut random = header.to_vec();
        for _ in 0..64 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            random.push((seed >> 16) as u8);
        }
        assert!(EventLog::parse(&random).is_err());
    }
}
