//! Differential tests against dcap-qvl (Phala's pure-Rust DCAP verifier, the established
//! engine): the real samples and their mutations must be accepted or refused alike, with the
//! same TCB status when accepted.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use attest_prims::UnixTime;
use snp_vtpm_testkit::vectors;
use tdx_verify::{Collateral, IntelRoots, verify_td_quote};

struct Sample {
    quote: Vec<u8>,
    collateral_json: Vec<u8>,
    time: u64,
}

fn samples() -> Vec<(&'static str, Sample)> {
    let tcb_issue = |json: &[u8]| {
        let collateral: serde_json::Value = serde_json::from_slice(json).unwrap();
        let info: serde_json::Value =
            serde_json::from_str(collateral["tcb_info"].as_str().unwrap()).unwrap();
        UnixTime::parse_rfc3339(info["issueDate"].as_str().unwrap())
            .unwrap()
            .as_secs()
            + 3600
    };
    [
        (
            "azure",
            "azure/tdx-vm1/td-quote.bin",
            "azure/tdx-vm1/intel-collateral.json",
        ),
        (
            "dcap-qvl v4",
            "intel/dcap-qvl/tdx_quote",
            "intel/dcap-qvl/tdx_quote_collateral.json",
        ),
        (
            "azure v5 outdated",
            "intel/dcap-qvl/tdx_quote_outdated",
            "intel/dcap-qvl/tdx_quote_outdated_collateral.json",
        ),
    ]
    .into_iter()
    .map(|(name, quote, collateral)| {
        let collateral_json = vectors::read(collateral);
        let time = tcb_issue(&collateral_json);
        (
            name,
            Sample {
                quote: vectors::read(quote),
                collateral_json,
                time,
            },
        )
    })
    .collect()
}

/// Ours and the reference on one input: Ok(status) or Err(message).
fn both(
    quote: &[u8],
    collateral_json: &[u8],
    time: u64,
) -> (Result<String, String>, Result<String, String>) {
    let ours = Collateral::from_json(collateral_json)
        .and_then(|c| verify_td_quote(quote, &c, &IntelRoots::intel(), UnixTime::from_secs(time)))
        .map(|v| v.tcb().status.to_string())
        .map_err(|e| e.to_string());
    let reference = serde_json::from_slice::<dcap_qvl::QuoteCollateralV3>(collateral_json)
        .map_err(|e| e.to_string())
        .and_then(|c| dcap_qvl::verify::verify(quote, &c, time).map_err(|e| format!("{e:#}")))
        .map(|v| v.status)
        // A platform below every TCB level: a status here, an error there.
        .or_else(|e| {
            if e.contains("No matching TCB level found") {
                Ok("NoMatchingLevel".to_string())
            } else {
                Err(e)
            }
        });
    (ours, reference)
}

#[test]
fn the_samples_agree() {
    for (name, sample) in samples() {
        let (ours, reference) = both(&sample.quote, &sample.collateral_json, sample.time);
        eprintln!("{name}: ours {ours:?}, reference {reference:?}");
        assert_eq!(ours.is_ok(), reference.is_ok(), "{name}");
        if let (Ok(ours), Ok(reference)) = (&ours, &reference) {
            assert_eq!(ours, reference, "{name}");
        }
    }
}

/// Where this crate is stricter than dcap-qvl by design, by offset in the original quote:
/// - the outer certification data type must be 6 (dcap-qvl ignores it);
/// - the PCK chain must be well-formed PEM whose last certificate is the pinned root (dcap-qvl
///   skips stray whitespace and ignores the carried root, using its own anchor);
/// - bytes after the signature data must be zero (dcap-qvl ignores them).
fn stricter_here(quote: &[u8], offset: usize) -> bool {
    let version = u16::from_le_bytes([quote[0], quote[1]]);
    let body_end = if version == 5 {
        54 + u32::from_le_bytes(quote[50..54].try_into().unwrap()) as usize
    } else {
        48 + 584
    };
    let word = |at: usize| u32::from_le_bytes(quote[at..at + 4].try_into().unwrap()) as usize;
    let signature_data = body_end + 4;
    let signature_end = signature_data + word(body_end);
    let cert_type = signature_data + 128;
    let qe_data = cert_type + 6;
    let auth_len = u16::from_le_bytes([quote[qe_data + 448], quote[qe_data + 449]]) as usize;
    let pem_start = qe_data + 450 + auth_len + 6;
    let pem_end = pem_start + word(pem_start - 4);
    (cert_type..cert_type + 2).contains(&offset)
        || (pem_start..pem_end).contains(&offset)
        || offset >= signature_end
}

#[test]
fn every_mutated_quote_byte_is_judged_alike() {
    let (mut checked, mut stricter) = (0, 0);
    for (name, sample) in samples() {
        let (ours, reference) = both(&sample.quote, &sample.collateral_json, sample.time);
        assert_eq!(ours.is_ok(), reference.is_ok(), "{name}");
        // Every byte of the header, every third byte of the rest, and the first bytes of
        // every region boundary the parser reads.
        let offsets = (0..sample.quote.len()).filter(|&i| i < 64 || i % 3 == 0);
        for offset in offsets {
            let mut quote = sample.quote.clone();
            quote[offset] ^= 0x01;
            let (ours, reference) = both(&quote, &sample.collateral_json, sample.time);
            checked += 1;
            if ours.is_err() && reference.is_ok() && stricter_here(&sample.quote, offset) {
                stricter += 1;
                continue;
            }
            assert_eq!(
                ours.is_ok(),
                reference.is_ok(),
                "{name}: byte {offset} flipped: ours {ours:?}, reference {reference:?}"
            );
            if let (Ok(ours), Ok(reference)) = (&ours, &reference) {
                assert_eq!(ours, reference, "{name} byte {offset}");
            }
        }
    }
    eprintln!(
        "{checked} mutated quotes: judged alike, or refused here only where this crate is \
         stricter by design ({stricter})"
    );
}

/// One field of the collateral JSON changed by `mutate`.
fn with_field(json: &[u8], field: &str, mutate: impl Fn(&str) -> String) -> Vec<u8> {
    let mut value: serde_json::Value = serde_json::from_slice(json).unwrap();
    let old = value[field].as_str().unwrap().to_string();
    value[field] = serde_json::Value::String(mutate(&old));
    serde_json::to_vec(&value).unwrap()
}

/// Hex text with one bit flipped in byte `at`.
fn flip_hex(text: &str, at: usize) -> String {
    let mut bytes = hex::decode(text).unwrap();
    let index = at % bytes.len();
    bytes[index] ^= 0x01;
    hex::encode(bytes)
}

/// A PEM bundle with one bit flipped in byte `at` of certificate `which`'s DER.
fn flip_pem(text: &str, which: usize, at: usize) -> String {
    let mut ders = vectors::pem_blocks(text);
    let count = ders.len();
    let der = &mut ders[which % count];
    let index = at % der.len();
    der[index] ^= 0x01;
    ders.iter()
        .map(|der| snp_vtpm_testkit::pki::pem_certificate(der))
        .collect()
}

#[test]
fn every_mutated_collateral_field_is_judged_alike() {
    let mut checked = 0;
    for (name, sample) in samples() {
        let json = &sample.collateral_json;
        let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
        for field in [
            "root_ca_crl",
            "pck_crl",
            "tcb_info_signature",
            "qe_identity_signature",
        ] {
            let len = hex::decode(
                serde_json::from_slice::<serde_json::Value>(json).unwrap()[field]
                    .as_str()
                    .unwrap(),
            )
            .unwrap()
            .len();
            for at in (0..len).step_by(7) {
                cases.push((
                    format!("{field} byte {at}"),
                    with_field(json, field, |text| flip_hex(text, at)),
                ));
            }
        }
        for field in ["tcb_info", "qe_identity"] {
            // A changed digit anywhere in the signed document.
            let text = serde_json::from_slice::<serde_json::Value>(json).unwrap()[field]
                .as_str()
                .unwrap()
                .to_string();
            for (at, _) in text
                .char_indices()
                .filter(|(_, c)| c.is_ascii_digit())
                .step_by(5)
            {
                cases.push((
                    format!("{field} char {at}"),
                    with_field(json, field, |text| {
                        let mut bytes = text.as_bytes().to_vec();
                        bytes[at] = if bytes[at] == b'9' {
                            b'0'
                        } else {
                            bytes[at] + 1
                        };
                        String::from_utf8(bytes).unwrap()
                    }),
                ));
            }
        }
        for field in [
            "pck_crl_issuer_chain",
            "tcb_info_issuer_chain",
            "qe_identity_issuer_chain",
        ] {
            // The first certificate (the carried root is this crate's to refuse: see
            // `stricter_here`).
            for which in 0..1 {
                for at in (0..700).step_by(13) {
                    cases.push((
                        format!("{field} certificate {which} byte {at}"),
                        with_field(json, field, |text| flip_pem(text, which, at)),
                    ));
                }
            }
        }
        for (case, mutated) in cases {
            let (ours, reference) = both(&sample.quote, &mutated, sample.time);
            checked += 1;
            assert_eq!(
                ours.is_ok(),
                reference.is_ok(),
                "{name}: {case}: ours {ours:?}, reference {reference:?}"
            );
            if let (Ok(ours), Ok(reference)) = (&ours, &reference) {
                assert_eq!(ours, reference, "{name}: {case}");
            }
        }
    }
    eprintln!("{checked} mutated collaterals judged alike");
}
