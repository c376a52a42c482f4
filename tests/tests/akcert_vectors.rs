//! The real AK certificates against the real quotes they come with: the certified key is the
//! one that signed the quote (TDX VM), or is not (the Trusted Launch pairing, refused).
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use hcl_parse::HclReport;
use snp_vtpm_testkit::pki::vtpm::{CertSpec, VtpmPki, key};
use snp_vtpm_testkit::vectors;
use vtpm_akcert::{VtpmAnchors, verify_ak_certificate};
use vtpm_quote::{
    AkPublic, ExpectedNonce, PcrValues, QuoteAttest, QuoteFile, QuoteSignature, verify_quote,
    verify_signature,
};

/// 2026-02-18T14:04:40Z, inside the TDX VM's certificate.
const TDX_TIME: attest_prims::UnixTime = attest_prims::UnixTime::from_secs(1_771_423_480);
/// 2026-08-01, inside the Trusted Launch certificate.
const AUGUST_2026: attest_prims::UnixTime = attest_prims::UnixTime::from_secs(1_785_542_400);

fn rsa_key(ak: &AkPublic) -> &rsa::PublicKey {
    match ak {
        AkPublic::Rsa { key, .. } => key,
        other => panic!("an RSA AK, found {other:?}"),
    }
}

#[test]
fn the_tdx_vms_certificate_certifies_the_key_that_signed_its_quote() {
    let hcl_bytes = vectors::read("azure/tdx-vm1/hcl-report.bin");
    let hcl = HclReport::parse(&hcl_bytes).unwrap();
    let claims = hcl.runtime_claims().unwrap();
    let ak = AkPublic::from_jwk(
        &claims
            .attestation_key()
            .unwrap()
            .rsa_public_numbers()
            .unwrap(),
    )
    .unwrap();
    let file = QuoteFile::from_json(&vectors::read("azure/tdx-vm1/tpm-quote.json")).unwrap();
    let values: Vec<&[u8]> = file.pcrs.iter().map(|p| p.0.as_slice()).collect();
    let pcrs = PcrValues::sha256_in_order(&values).unwrap();
    // The nonce is the 32 zero bytes of user-data[0:32] (vectors README).
    verify_quote(
        &QuoteAttest::parse(&file.message.0).unwrap(),
        &QuoteSignature::parse_any(&file.signature.0).unwrap(),
        &ak,
        ExpectedNonce::Exactly(&[0; 32]),
        &pcrs,
    )
    .unwrap();
    let certificate = verify_ak_certificate(
        &vectors::read("azure/tdx-vm1/ak-cert-nv-padded.bin"),
        &[],
        &VtpmAnchors::azure(),
        TDX_TIME,
    )
    .unwrap();
    assert!(certificate.certifies(rsa_key(&ak)));
}

#[test]
fn the_trusted_launch_quote_verifies_with_a_key_the_certificate_does_not_certify() {
    let dir = "azure/ak-certs/trusted-launch-mismatch";
    let guest_key = AkPublic::from_spki_pem(&vectors::read(&format!("{dir}/ak.pub"))).unwrap();
    let message = vectors::read(&format!("{dir}/quote.msg"));
    let signature_bytes = vectors::read(&format!("{dir}/quote.sig"));
    let signature = QuoteSignature::parse_any(&signature_bytes).unwrap();
    verify_signature(&message, &signature, &guest_key).expect("the quote is the guest key's");
    let certificate = verify_ak_certificate(
        &vectors::read(&format!("{dir}/akcert_0x01C101D0.der")),
        &[],
        &VtpmAnchors::azure(),
        AUGUST_2026,
    )
    .unwrap();
    assert!(!certificate.certifies(rsa_key(&guest_key)));
}

/// The one-link check a guest runs on an issuer it fetched by AIA, on the real certificates:
/// the named issuer that signed the leaf passes; another CA, or one of the right name with
/// another key, does not, each with its own message.
#[test]
fn a_fetched_issuer_must_be_the_named_ca_and_the_signer() {
    let shipped = |name: &str| {
        let (_, pem) = vtpm_akcert::SHIPPED_CERTIFICATES
            .iter()
            .find(|(file, _)| *file == name)
            .unwrap();
        vectors::pem_blocks(pem).remove(0)
    };
    let cloud_leaf = vectors::read("azure/ak-certs/cloud-ca-24-leaf/ak-cert.der");
    let tdx_leaf_nv = vectors::read("azure/tdx-vm1/ak-cert-nv-padded.bin");
    let ca_24 = shipped("azure-cloud-virtual-tpm-ca-24.pem");
    let ca_2025 = shipped("azure-cloud-virtual-tpm-ca-2025.pem");
    let global_03 = shipped("global-virtual-tpm-ca-03.pem");

    vtpm_akcert::check_issued_by(&cloud_leaf, &ca_24).unwrap();
    vtpm_akcert::check_issued_by(&ca_24, &ca_2025).unwrap();
    // The NV form (DER then zero padding) is read as the AK certificate is.
    vtpm_akcert::check_issued_by(&tdx_leaf_nv, &global_03).unwrap();

    let error = vtpm_akcert::check_issued_by(&cloud_leaf, &ca_2025).unwrap_err();
    assert!(
        matches!(error, vtpm_akcert::Error::NotTheIssuer { .. })
            && error.to_string().contains(
                "expected its issuer \"Azure Cloud Virtual TPM CA - 24\", found the certificate of \"Azure Cloud Virtual TPM CA 2025\""
            ),
        "{error}"
    );
    // The right name with another key (the real CAs never share names: a test PKI shows it).
    let pki = VtpmPki::shared();
    let leaf = pki.issue(&CertSpec::ak("0123456789ab"), &key(0x61).to_public_key());
    let impostor = pki.intermediate_with_another_key();
    vtpm_akcert::check_issued_by(&leaf, &pki.intermediate).unwrap();
    let error = vtpm_akcert::check_issued_by(&leaf, &impostor).unwrap_err();
    assert!(
        matches!(error, vtpm_akcert::Error::BadSignature { .. }),
        "{error}"
    );
}
