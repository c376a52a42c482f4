//! Every real HCL and SNP report in `../shared/vectors` parses, with the values the vectors
//! README states (not values read back from the parser).

use hcl_parse::{
    Error, Generation, HashType, HclReport, HexSlice, ReportType, SigningKey, SnpReport,
};
use snp_vtpm_testkit::vectors::{self, MILAN_V3_USERDATA_NONCE};

#[test]
fn every_azure_snp_report_parses_with_the_documented_facts() {
    let samples = vectors::azure_snp_reports();
    assert_eq!(samples.len(), 5);
    for sample in samples {
        let name = sample.name;
        let hcl = HclReport::parse(&sample.bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(hcl.version(), sample.hcl_version, "{name}: HCL version");
        assert_eq!(hcl.report_type(), ReportType::Snp, "{name}");
        assert_eq!(hcl.hash_type(), HashType::Sha256, "{name}");
        assert_eq!(hcl.request_type(), 2, "{name}");
        assert_eq!(hcl.status(), 0, "{name}");
        assert!(hcl.as_bytes().len() <= sample.bytes.len(), "{name}");
        hcl.verify_report_data_binding()
            .unwrap_or_else(|e| panic!("{name}: binding: {e}"));

        let snp = hcl.snp_report().unwrap_or_else(|e| panic!("{name}: {e}"));
        if let Some(version) = sample.snp_version {
            assert_eq!(snp.version(), version, "{name}: SNP version");
        }
        assert_eq!(snp.policy().0, 0x3001F, "{name}: policy");
        assert!(!snp.policy().debug_allowed(), "{name}");
        assert_eq!(snp.vmpl(), 0, "{name}: VMPL");
        assert_eq!(snp.host_data(), &[0; 32], "{name}: host_data");
        assert_eq!(snp.signature_algo(), 1, "{name}");
        assert_eq!(snp.key_info().signing_key(), SigningKey::Vcek, "{name}");
        assert!(!snp.is_chip_id_masked(), "{name}");
        assert!(snp.reserved_bytes_are_zero(), "{name}: reserved bytes");
        let digest = HexSlice(snp.id_key_digest()).to_string();
        assert!(
            digest.starts_with(sample.id_key_digest_prefix),
            "{name}: ID-key digest {digest}"
        );
        let product = Generation::from_product_name(sample.product).unwrap();
        match snp.version() {
            2 => assert_eq!(snp.generation(), Ok(None), "{name}"),
            _ => assert_eq!(snp.generation(), Ok(Some(product)), "{name}"),
        }

        let claims = hcl
            .runtime_claims()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let ak = claims
            .attestation_key()
            .unwrap()
            .rsa_public_numbers()
            .unwrap();
        assert_eq!(ak.modulus.len(), 256, "{name}: AK modulus");
        assert_eq!(ak.exponent, [1, 0, 1], "{name}: AK exponent");
        assert_eq!(
            claims.endorsement_key().unwrap().is_some(),
            sample.has_ek_and_user_data,
            "{name}: EK"
        );
        assert_eq!(
            claims.user_data.is_some(),
            sample.has_ek_and_user_data,
            "{name}"
        );
        let config = claims.vm_configuration.as_ref().expect("vm-configuration");
        assert_eq!(config.secure_boot, Some(true), "{name}");
        assert_eq!(config.tpm_enabled, Some(true), "{name}");
        assert!(config.vm_unique_id.is_some(), "{name}");
    }
}

#[test]
fn genoa_report_carries_its_cpuid() {
    let bytes = vectors::hcl_report_from_evidence("azure/genoa-v3/evidence-genoa.json");
    let hcl = HclReport::parse(&bytes).unwrap();
    let cpuid = hcl.snp_report().unwrap().cpuid().unwrap();
    assert_eq!((cpuid.family, cpuid.model), (0x19, 0x11));
}

#[test]
fn user_data_of_the_v2_sample_starts_with_the_nonce() {
    let bytes = vectors::hcl_report_from_evidence("azure/milan-v3-userdata/evidence-v2.json");
    let hcl = HclReport::parse(&bytes).unwrap();
    let user_data = hcl.runtime_claims().unwrap().user_data.unwrap();
    assert_eq!(hex::encode(&user_data[..48]), MILAN_V3_USERDATA_NONCE);
    assert_eq!(user_data[48..], [0; 16]);
}

#[test]
fn the_2023_format_has_only_the_ak_and_a_current_time() {
    let bytes = vectors::read("azure/milan-2023/hcl-report-snp.bin");
    assert_eq!(bytes.len(), 2048);
    let hcl = HclReport::parse(&bytes).unwrap();
    let claims = hcl.runtime_claims().unwrap();
    let ak = claims.attestation_key().unwrap();
    assert_eq!(ak.key_ops().collect::<Vec<_>>(), ["encrypt"]);
    let time = claims.vm_configuration.as_ref().unwrap().current_time;
    assert_eq!(time, Some(1_678_652_405));
}

#[test]
fn tdx_report_is_recognised_and_refused_as_not_snp() {
    let bytes = vectors::read("azure/tdx/hcl-report-tdx.bin");
    let hcl = HclReport::parse(&bytes).unwrap();
    assert_eq!(hcl.report_type(), ReportType::Tdx);
    let err = hcl.snp_report().unwrap_err();
    assert_eq!(
        err,
        Error::NotSnp {
            found: ReportType::Tdx
        }
    );
    assert!(
        err.to_string().contains("not an AMD SEV-SNP report"),
        "{err}"
    );
    hcl.verify_report_data_binding().unwrap();
    assert!(hcl.runtime_claims().unwrap().attestation_key().is_ok());
}

#[test]
fn raw_milan_report_parses_as_version_2() {
    let bytes = vectors::raw_milan_report();
    let snp = SnpReport::from_bytes(&bytes).unwrap();
    assert_eq!(snp.version(), 2);
    assert_eq!(snp.generation(), Ok(None));
    assert_eq!(snp.signed_bytes(), &bytes[..0x2A0]);
    assert_eq!(snp.signature().r.as_slice(), &bytes[0x2A0..0x2E8]);
    assert_eq!(snp.signature().s.as_slice(), &bytes[0x2E8..0x330]);
    assert!(!snp.is_chip_id_masked());
}

#[test]
fn nv_padding_is_not_part_of_the_report() {
    let bytes = vectors::read("azure/milan-v2/hcl-report.bin");
    assert_eq!(bytes.len(), 2600);
    let hcl = HclReport::parse(&bytes).unwrap();
    assert_eq!(hcl.as_bytes().len(), hcl.report_size() as usize);
    assert!(bytes[hcl.as_bytes().len()..].iter().all(|&b| b == 0));
    let claims = hcl.runtime_claims_bytes();
    assert_eq!(claims.first(), Some(&b'{'));
    assert_eq!(claims.last(), Some(&b'}'));
}
