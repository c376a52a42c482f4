//! No input makes the parsers panic: every truncation and single-byte mutation of the real
//! reports, and random bytes, give `Ok` or `Err`.

use hcl_parse::{HclReport, RuntimeClaims, SnpReport};
use proptest::prelude::*;
use snp_vtpm_testkit::vectors;

/// Runs every parser and check on `bytes`; only a panic can fail this.
fn exercise(bytes: &[u8]) {
    if let Ok(hcl) = HclReport::parse(bytes) {
        let _ = hcl.verify_report_data_binding();
        let _ = hcl.report_data();
        if let Ok(snp) = hcl.snp_report() {
            exercise_snp(snp);
        }
        if let Ok(claims) = hcl.runtime_claims() {
            if let Ok(ak) = claims.attestation_key() {
                let _ = ak.rsa_public_numbers();
            }
            let _ = claims.endorsement_key();
        }
    }
    if let Ok(snp) = SnpReport::from_bytes(bytes) {
        exercise_snp(snp);
    }
    let _ = RuntimeClaims::parse(bytes);
}

fn exercise_snp(snp: SnpReport<'_>) {
    let _ = snp.generation();
    let _ = snp.reserved_bytes_are_zero();
    let _ = snp.key_info().signing_key();
    if let Ok(Some(generation)) = snp.generation() {
        let _ = snp.reported_tcb().components(generation);
    }
    let _ = (
        snp.launch_mit_vector(),
        snp.cpuid(),
        snp.signed_bytes().len(),
    );
}

fn real_reports() -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = vectors::azure_snp_reports()
        .into_iter()
        .map(|s| s.bytes)
        .collect();
    all.push(vectors::read("azure/tdx/hcl-report-tdx.bin"));
    all
}

#[test]
fn every_truncation_of_every_real_report_is_an_error_not_a_panic() {
    for report in real_reports() {
        let full = HclReport::parse(&report).unwrap().as_bytes().len();
        for len in 0..report.len() {
            exercise(&report[..len]);
            assert_eq!(
                HclReport::parse(&report[..len]).is_ok(),
                len >= full,
                "length {len}"
            );
        }
    }
    let raw = vectors::raw_milan_report();
    for len in 0..raw.len() {
        assert!(SnpReport::from_bytes(&raw[..len]).is_err());
    }
}

#[test]
fn every_single_byte_flip_of_the_headers_is_handled() {
    for report in real_reports() {
        let claims_end = HclReport::parse(&report).unwrap().as_bytes().len();
        for position in (0..0x20).chain(0x4C0..claims_end) {
            for mask in [0x01, 0x80, 0xFF] {
                let mut mutated = report.clone();
                mutated[position] ^= mask;
                exercise(&mutated);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
        exercise(&bytes);
    }

    #[test]
    fn random_mutations_of_real_reports_never_panic(
        which in 0usize..6,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut report = real_reports().swap_remove(which);
        for (index, value) in edits {
            let i = index.index(report.len());
            report[i] = value;
        }
        exercise(&report);
    }

    #[test]
    fn random_header_fields_never_panic(
        fields in proptest::collection::vec(any::<u32>(), 10),
    ) {
        let mut report = real_reports().swap_remove(0);
        let offsets = [0x4, 0x8, 0xC, 0x10, 0x4C0, 0x4C4, 0x4C8, 0x4CC, 0x4D0, 0x20];
        for (offset, value) in offsets.iter().zip(fields) {
            report[*offset..offset + 4].copy_from_slice(&value.to_le_bytes());
        }
        exercise(&report);
    }
}
