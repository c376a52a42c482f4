//! AK certificates from real Azure VMs (`../shared/vectors/azure`), verified under the pinned
//! root with the shipped intermediates, at explicit times.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;

use attest_prims::UnixTime;
use rsa::pkcs8::DecodePublicKey;
use sha2::Digest;
use vtpm_akcert::{
    AZURE_VTPM_ROOT_SHA256, Error, ErrorKind, SHIPPED_CERTIFICATES, VtpmAnchors,
    verify_ak_certificate,
};

/// 2026-02-18T14:04:40Z: inside the TDX VM's AK certificate (2025-12-01 .. 2026-11-30).
const TDX_TIME: UnixTime = UnixTime::from_secs(1_771_423_480);
/// 2026-08-01: inside the CA - 24 leaf (2026-06-04 ..) and the Trusted Launch leaf (2026-07-27 ..).
const AUGUST_2026: UnixTime = UnixTime::from_secs(1_785_542_400);

fn vector(relative: &str) -> Vec<u8> {
    let dir = match std::env::var_os("SNP_VTPM_VECTORS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"),
    };
    std::fs::read(dir.join(relative)).unwrap_or_else(|e| {
        panic!(
            "{relative}: {e} (the shared vectors belong beside the checkout, or set SNP_VTPM_VECTORS)"
        )
    })
}

fn pem_der(relative: &str) -> Vec<u8> {
    pem_rfc7468::decode_vec(&vector(relative)).unwrap().1
}

/// The HCLAkPub of an HCL report's runtime claims, as an RSA key.
fn hcl_ak(relative: &str) -> rsa::PublicKey {
    let bytes = vector(relative);
    let hcl = hcl_parse::HclReport::parse(&bytes).unwrap();
    let claims = hcl.runtime_claims().unwrap();
    let numbers = claims
        .attestation_key()
        .unwrap()
        .rsa_public_numbers()
        .unwrap();
    rsa::PublicKey::new(
        rsa::BoxedUint::from_be_slice_vartime(&numbers.modulus),
        rsa::BoxedUint::from_be_slice_vartime(&numbers.exponent),
    )
    .unwrap()
}

#[test]
fn every_shipped_certificate_is_the_vectors_copy_and_the_root_is_pinned() {
    for (file, pem) in SHIPPED_CERTIFICATES {
        let shipped = pem_rfc7468::decode_vec(pem.as_bytes()).unwrap().1;
        assert_eq!(shipped, pem_der(&format!("azure/vtpm-ca/{file}")), "{file}");
    }
    let root = pem_der("azure/vtpm-ca/azure-virtual-tpm-root-2023.pem");
    let found: [u8; 32] = sha2::Sha256::digest(&root).into();
    assert_eq!(found, AZURE_VTPM_ROOT_SHA256);
    assert_eq!(
        format!("{}", attest_prims::HexSlice(&AZURE_VTPM_ROOT_SHA256)),
        "e6c596b17f8ffefba5c300f714cfb1260c6028704ecf7becc4ab5018efb00e95"
    );
}

#[test]
fn the_tdx_vms_ak_certificate_chains_under_global_ca_03_and_certifies_its_hclakpub() {
    let anchors = VtpmAnchors::azure();
    for form in [
        "azure/tdx-vm1/ak-cert.der",
        "azure/tdx-vm1/ak-cert-nv-padded.bin",
    ] {
        let verified = verify_ak_certificate(&vector(form), &[], &anchors, TDX_TIME)
            .unwrap_or_else(|e| panic!("{form}: {e}"));
        assert_eq!(verified.issuer(), "Global Virtual TPM CA - 03");
        assert_eq!(
            verified.path(),
            [
                "Global Virtual TPM CA - 03",
                "Azure Virtual TPM Root Certificate Authority 2023"
            ]
        );
        assert_eq!(verified.vm_id(), Some("353c6d9a70bc"));
        assert!(!verified.under_test_root());
        assert!(verified.certifies(&hcl_ak("azure/tdx-vm1/hcl-report.bin")));
    }
    // It expired on 2026-11-30: the same certificate is refused afterwards, naming it.
    let december = UnixTime::from_secs(1_764_547_200 + 365 * 86_400);
    let e = verify_ak_certificate(
        &vector("azure/tdx-vm1/ak-cert.der"),
        &[],
        &anchors,
        december,
    )
    .unwrap_err();
    assert!(matches!(e, Error::NotValid { .. }), "{e}");
    assert!(e.to_string().contains("353c6d9a70bc.ConfidentialVM"), "{e}");
}

#[test]
fn a_cloud_ca_24_leaf_chains_through_ca_2025_with_sha512() {
    let verified = verify_ak_certificate(
        &vector("azure/ak-certs/cloud-ca-24-leaf/ak-cert.der"),
        &[],
        &VtpmAnchors::azure(),
        AUGUST_2026,
    )
    .unwrap();
    assert_eq!(
        verified.path(),
        [
            "Azure Cloud Virtual TPM CA - 24",
            "Azure Cloud Virtual TPM CA 2025",
            "Azure Virtual TPM Root Certificate Authority 2023"
        ]
    );
    assert_eq!(verified.vm_id(), Some("9921694bd342"));
}

#[test]
fn a_trusted_launch_certificate_does_not_certify_a_key_made_in_the_guest() {
    let dir = "azure/ak-certs/trusted-launch-mismatch";
    let verified = verify_ak_certificate(
        &vector(&format!("{dir}/akcert_0x01C101D0.der")),
        &[],
        &VtpmAnchors::azure(),
        AUGUST_2026,
    )
    .unwrap();
    assert_eq!(verified.vm_id(), Some("f859864a6a31"));
    let guest_key = rsa::PublicKey::from_public_key_pem(
        &String::from_utf8(vector(&format!("{dir}/ak.pub"))).unwrap(),
    )
    .unwrap();
    assert!(!verified.certifies(&guest_key));
}

#[test]
fn without_the_shipped_intermediates_the_issuer_is_unavailable_unless_carried() {
    let leaf = vector("azure/ak-certs/cloud-ca-24-leaf/ak-cert.der");
    let root_only =
        VtpmAnchors::test_root(&pem_der("azure/vtpm-ca/azure-virtual-tpm-root-2023.pem"));
    let e = verify_ak_certificate(&leaf, &[], &root_only, AUGUST_2026).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(
        e.to_string().contains("Azure Cloud Virtual TPM CA - 24"),
        "{e}"
    );
    let ca24 = pem_der("azure/vtpm-ca/azure-cloud-virtual-tpm-ca-24.pem");
    let ca2025 = pem_der("azure/vtpm-ca/azure-cloud-virtual-tpm-ca-2025.pem");
    let verified =
        verify_ak_certificate(&leaf, &[&ca24, &ca2025], &root_only, AUGUST_2026).unwrap();
    assert!(
        verified.under_test_root(),
        "the caller's own root is recorded"
    );
}

#[test]
fn a_path_to_another_self_signed_root_is_untrusted() {
    // The 2021 Devices root, carried as if it issued the leaf's CA chain: it did not, so the
    // leaf's issuer is looked for by name and signature and the path never reaches it; carried
    // as a "root" above CA 2025 it fails CA 2025's signature. Either way: refused.
    let leaf = vector("azure/ak-certs/cloud-ca-24-leaf/ak-cert.der");
    let ca24 = pem_der("azure/vtpm-ca/azure-cloud-virtual-tpm-ca-24.pem");
    let ca2025 = pem_der("azure/vtpm-ca/azure-cloud-virtual-tpm-ca-2025.pem");
    let devices = pem_der("azure/vtpm-ca/microsoft-rsa-devices-root-ca-2021.pem");
    let devices_pinned = VtpmAnchors::test_root(&devices);
    let e =
        verify_ak_certificate(&leaf, &[&ca24, &ca2025], &devices_pinned, AUGUST_2026).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    // With Azure's root carried but Devices pinned: the path ends at an unpinned self-signed root.
    let azure_root = pem_der("azure/vtpm-ca/azure-virtual-tpm-root-2023.pem");
    let e = verify_ak_certificate(
        &leaf,
        &[&ca24, &ca2025, &azure_root],
        &devices_pinned,
        AUGUST_2026,
    )
    .unwrap_err();
    assert!(matches!(e, Error::UntrustedRoot { .. }), "{e}");
}

#[test]
fn a_flipped_byte_anywhere_in_the_leaf_is_refused() {
    let leaf = vector("azure/tdx-vm1/ak-cert.der");
    let anchors = VtpmAnchors::azure();
    let mut kinds = std::collections::BTreeMap::new();
    for position in 0..leaf.len() {
        let mut bad = leaf.clone();
        bad[position] ^= 0x01;
        match verify_ak_certificate(&bad, &[], &anchors, TDX_TIME) {
            Ok(_) => panic!("byte {position} flipped: accepted"),
            Err(e) => *kinds.entry(format!("{:?}", e.kind())).or_insert(0) += 1,
        }
    }
    println!("{} flips refused: {kinds:?}", leaf.len());
}

#[test]
fn nv_padding_must_be_zero() {
    let mut nv = vector("azure/tdx-vm1/ak-cert-nv-padded.bin");
    let der_len = vector("azure/tdx-vm1/ak-cert.der").len();
    nv[der_len + 100] = 0xAA;
    let e = verify_ak_certificate(&nv, &[], &VtpmAnchors::azure(), TDX_TIME).unwrap_err();
    assert_eq!(
        e,
        Error::NvPadding {
            der_len,
            offset: der_len + 100,
            found: 0xAA
        }
    );
    assert_eq!(e.kind(), ErrorKind::Malformed);
}
