//! Every header check, size check and enumeration of the HCL and SNP layouts refuses bad
//! values with the specific error, on reports composed with the crate's own builder.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use hcl_parse::compose::HclReportBuilder;
use hcl_parse::snp::RawSnpReport;
use hcl_parse::{
    Error, Generation, HashType, HclReport, ReportType, SnpReport, expected_report_data,
};
use zerocopy::IntoBytes;

const CLAIMS: &[u8] = br#"{"keys":[{"kid":"HCLAkPub","kty":"RSA","e":"AQAB","n":"AQAB"}]}"#;

fn snp(version: u32, hash_type: HashType) -> RawSnpReport {
    let mut report = RawSnpReport::new(version);
    report.report_data = expected_report_data(hash_type, CLAIMS);
    report
}

fn report() -> Vec<u8> {
    HclReportBuilder::new(snp(3, HashType::Sha256).as_bytes(), CLAIMS)
        .padded_to(2048)
        .build()
}

fn set_u32(bytes: &mut [u8], offset: usize, value: u32) {
    bytes[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
}

#[test]
fn composed_report_round_trips() {
    let bytes = report();
    let hcl = HclReport::parse(&bytes).unwrap();
    assert_eq!(hcl.version(), 1);
    assert_eq!(hcl.runtime_claims_bytes(), CLAIMS);
    assert_eq!(hcl.capabilities(), None);
    hcl.verify_report_data_binding().unwrap();
}

#[test]
fn header_fields_are_checked() {
    let mut bytes = report();
    bytes[0] = b'X';
    assert!(
        matches!(HclReport::parse(&bytes), Err(Error::BadHclSignature { found }) if found.0 == *b"XCLA")
    );

    let mut bytes = report();
    set_u32(&mut bytes, 0x4, 3);
    assert_eq!(
        HclReport::parse(&bytes).unwrap_err(),
        Error::UnsupportedHclVersion { found: 3 }
    );

    let mut bytes = report();
    set_u32(&mut bytes, 0x8, 0x4D4 + CLAIMS.len() as u32 + 1);
    assert_eq!(
        HclReport::parse(&bytes).unwrap_err(),
        Error::InconsistentSize {
            field: "report_size",
            expected: 0x4D4 + CLAIMS.len() as u64,
            found: 0x4D4 + CLAIMS.len() as u64 + 1
        }
    );

    let mut bytes = report();
    set_u32(&mut bytes, 0x4C0, 7);
    assert!(matches!(
        HclReport::parse(&bytes),
        Err(Error::InconsistentSize {
            field: "data_size",
            found: 7,
            ..
        })
    ));

    let mut bytes = report();
    set_u32(&mut bytes, 0x4C4, 3);
    assert_eq!(
        HclReport::parse(&bytes).unwrap_err(),
        Error::UnsupportedRequestDataVersion { found: 3 }
    );

    for bad in [0, 6, u32::MAX] {
        let mut bytes = report();
        set_u32(&mut bytes, 0x4C8, bad);
        assert_eq!(
            HclReport::parse(&bytes).unwrap_err(),
            Error::UnknownReportType { found: bad }
        );
        let mut bytes = report();
        set_u32(&mut bytes, 0x4CC, bad);
        assert_eq!(
            HclReport::parse(&bytes).unwrap_err(),
            Error::UnknownHashType { found: bad }
        );
    }

    // A variable-data size pointing past the buffer, with consistent size fields.
    let mut bytes = report();
    let huge = 0xFFFF_0000u32;
    set_u32(&mut bytes, 0x4D0, huge);
    set_u32(&mut bytes, 0x4C0, 20 + huge);
    set_u32(&mut bytes, 0x8, 0x4D4 + huge);
    assert!(matches!(
        HclReport::parse(&bytes),
        Err(Error::Truncated {
            what: "HCL report",
            ..
        })
    ));

    // Sizes that overflow a u32 are inconsistent, never wrapped.
    let mut bytes = report();
    set_u32(&mut bytes, 0x4D0, u32::MAX);
    set_u32(&mut bytes, 0x4C0, 20u32.wrapping_add(u32::MAX));
    assert!(matches!(
        HclReport::parse(&bytes),
        Err(Error::InconsistentSize {
            field: "data_size",
            ..
        })
    ));
}

#[test]
fn request_data_version_2_puts_capabilities_before_the_claims() {
    let bytes = HclReportBuilder::new(snp(3, HashType::Sha256).as_bytes(), CLAIMS)
        .header_version(2)
        .request_data_v2(0xA5)
        .build();
    let hcl = HclReport::parse(&bytes).unwrap();
    assert_eq!(hcl.capabilities(), Some(0xA5));
    assert_eq!(hcl.runtime_claims_bytes(), CLAIMS);
    assert_eq!(hcl.report_size() as usize, 0x4D8 + CLAIMS.len());
    assert_eq!(hcl.data_size() as usize, 24 + CLAIMS.len());
    hcl.verify_report_data_binding().unwrap();
}

#[test]
fn sha384_and_sha512_bindings() {
    for hash_type in [HashType::Sha384, HashType::Sha512] {
        let bytes = HclReportBuilder::new(snp(3, hash_type).as_bytes(), CLAIMS)
            .hash_type(hash_type)
            .build();
        let hcl = HclReport::parse(&bytes).unwrap();
        assert_eq!(hcl.hash_type(), hash_type);
        hcl.verify_report_data_binding().unwrap();
        // The same report_data under another hash type does not bind.
        let wrong = HclReportBuilder::new(snp(3, hash_type).as_bytes(), CLAIMS).build();
        let err = HclReport::parse(&wrong)
            .unwrap()
            .verify_report_data_binding()
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::ReportDataMismatch {
                    hash_type: HashType::Sha256,
                    ..
                }
            ),
            "{err}"
        );
    }
}

#[test]
fn binding_mismatch_names_both_values() {
    let tampered: Vec<u8> = CLAIMS
        .iter()
        .map(|&b| if b == b'Q' { b'R' } else { b })
        .collect();
    let bytes = HclReportBuilder::new(snp(3, HashType::Sha256).as_bytes(), &tampered).build();
    let err = HclReport::parse(&bytes)
        .unwrap()
        .verify_report_data_binding()
        .unwrap_err();
    let text = err.to_string();
    let found = hex::encode(expected_report_data(HashType::Sha256, CLAIMS));
    let expected = hex::encode(expected_report_data(HashType::Sha256, &tampered));
    assert!(text.contains(&found) && text.contains(&expected), "{text}");
}

#[test]
fn other_report_types_are_not_snp() {
    for report_type in [
        ReportType::Vbs,
        ReportType::Tvm,
        ReportType::Tdx,
        ReportType::Cca,
    ] {
        let bytes = HclReportBuilder::new(&[], CLAIMS)
            .report_type(report_type)
            .build();
        let hcl = HclReport::parse(&bytes).unwrap();
        assert_eq!(
            hcl.snp_report().unwrap_err(),
            Error::NotSnp { found: report_type }
        );
    }
    let vbs = HclReportBuilder::new(&[], CLAIMS)
        .report_type(ReportType::Vbs)
        .build();
    let err = HclReport::parse(&vbs)
        .unwrap()
        .verify_report_data_binding()
        .unwrap_err();
    assert_eq!(
        err,
        Error::NoReportData {
            found: ReportType::Vbs
        }
    );
}

#[test]
fn snp_versions() {
    assert_eq!(
        SnpReport::from_bytes(RawSnpReport::new(1).as_bytes()).unwrap_err(),
        Error::UnsupportedSnpVersion { found: 1 }
    );
    assert!(SnpReport::from_bytes(&[0; 1183]).is_err());
    assert!(SnpReport::from_bytes(&[0; 1185]).is_err());

    let mut v2 = RawSnpReport::new(2);
    v2.cpuid_fam_id = 0x19;
    v2.launch_mit_vector.set(5);
    let report = SnpReport::from_bytes(v2.as_bytes()).unwrap();
    assert_eq!(report.cpuid(), None);
    assert_eq!(report.generation(), Ok(None));
    assert_eq!(report.launch_mit_vector(), None);
    assert!(
        !report.reserved_bytes_are_zero(),
        "v2 reserves the CPUID bytes"
    );

    let mut v5 = RawSnpReport::new(5);
    v5.cpuid_fam_id = 0x1A;
    v5.cpuid_mod_id = 0x02;
    v5.launch_mit_vector.set(5);
    v5.current_mit_vector.set(7);
    let report = SnpReport::from_bytes(v5.as_bytes()).unwrap();
    assert_eq!(report.generation(), Ok(Some(Generation::Turin)));
    assert_eq!(
        (report.launch_mit_vector(), report.current_mit_vector()),
        (Some(5), Some(7))
    );
    assert!(report.reserved_bytes_are_zero());
    assert!(!report.is_newer_than_known_layout());

    let mut v6 = v5.clone();
    v6.version.set(6);
    assert!(
        SnpReport::from_bytes(v6.as_bytes())
            .unwrap()
            .is_newer_than_known_layout()
    );

    let mut unknown = RawSnpReport::new(3);
    unknown.cpuid_fam_id = 0x17;
    unknown.cpuid_mod_id = 0x31;
    let err = SnpReport::from_bytes(unknown.as_bytes())
        .unwrap()
        .generation()
        .unwrap_err();
    assert_eq!(
        err,
        Error::UnknownCpu {
            family: 0x17,
            model: 0x31
        }
    );

    let mut padded = RawSnpReport::new(3);
    padded.signature_r[50] = 1;
    assert!(
        !SnpReport::from_bytes(padded.as_bytes())
            .unwrap()
            .reserved_bytes_are_zero()
    );
}

/// Nothing signs the request type, status, reserved bytes, the SNP report's tail or the NV
/// padding; each holds one value in every paravisor's output, and anything else is refused
/// with the field and the offset named.
#[test]
fn unsigned_parts_hold_their_fixed_values() {
    let claims_end = 0x4D4 + CLAIMS.len();
    type Tamper = fn(&mut Vec<u8>);
    let cases: [(&str, Tamper); 6] = [
        ("request_type", |b| set_u32(b, 0xC, 1)),
        ("status", |b| set_u32(b, 0x10, 5)),
        ("reserved bytes 0x14..0x20", |b| b[0x1F] = 1),
        ("SNP report bytes 0x330..0x4A0", |b| b[0x20 + 0x400] = 0x80),
        ("NV padding after report_size", |b| {
            let last = b.len() - 1;
            b[last] = 0xFF;
        }),
        ("NV padding after report_size", |b| {
            b[0x4D4 + CLAIMS.len()] = b' '
        }),
    ];
    for (field, tamper) in cases {
        let mut bytes = report();
        tamper(&mut bytes);
        match HclReport::parse(&bytes).unwrap_err() {
            Error::UnexpectedUnsignedField { field: found, .. } => {
                assert_eq!(found, field);
            }
            other => panic!("{field}: {other}"),
        }
    }
    // The padding error names the offset of the first non-zero byte.
    let mut bytes = report();
    bytes[claims_end + 3] = 7;
    let message = HclReport::parse(&bytes).unwrap_err().to_string();
    assert!(
        message.contains(&format!("{:#x}", claims_end + 3)),
        "{message}"
    );
    // Without padding the report parses as before.
    let unpadded = HclReportBuilder::new(snp(3, HashType::Sha256).as_bytes(), CLAIMS).build();
    HclReport::parse(&unpadded).unwrap();
}
