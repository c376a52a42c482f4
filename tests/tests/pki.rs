//! The test PKI produces what AMD produces: every check here reads the generated DER with an
//! independent parser (x509-cert) or verifier (rsa, p384), and compares layout-sensitive bytes
//! with AMD's real certificates in `../shared/vectors`.

use base64::Engine;
use der::asn1::ObjectIdentifier;
use der::{Decode, Encode, Reader, SliceReader};
use hcl_parse::snp::{RawSnpReport, SIGNED_LEN};
use hcl_parse::{Generation, SnpReport, TcbComponents, TcbVersion};
use p384::ecdsa::signature::Verifier;
use rsa::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256, Sha384};
use snp_vtpm_testkit::pki::{
    self, CaOverrides, CaRole, CrlSpec, LeafKeyType, LeafSpec, PssParams, TestPki, amd_oid,
};
use snp_vtpm_testkit::vectors;
use x509_cert::Certificate;
use x509_cert::certificate::Rfc5280;
use x509_cert::crl::CertificateList;
use zerocopy::{FromBytes, IntoBytes};

// ---------------------------------------------------------------------------------------------
// Helpers: raw DER access (no re-encoding) and signature checks.

/// The TLVs directly inside the SEQUENCE `der`, exactly as they appear in it.
fn tlvs(der: &[u8]) -> Vec<&[u8]> {
    let mut reader = SliceReader::new(der).expect("DER fits a reader");
    reader
        .sequence(|inner| {
            let mut out = Vec::new();
            while !inner.is_finished() {
                out.push(inner.tlv_bytes()?);
            }
            Ok::<_, der::Error>(out)
        })
        .expect("a DER SEQUENCE")
}

/// `(tbs, signatureAlgorithm, signature)` of a certificate or CRL, as raw bytes.
fn signed_parts(der: &[u8]) -> (&[u8], &[u8], Vec<u8>) {
    let parts = tlvs(der);
    assert_eq!(parts.len(), 3, "signed structure has three parts");
    let bits = der::asn1::BitString::from_der(parts[2]).expect("signature BIT STRING");
    let signature = bits.as_bytes().expect("no unused bits").to_vec();
    (parts[0], parts[1], signature)
}

/// The RSA key in a certificate's SubjectPublicKeyInfo (the raw TLV of the TBS).
fn rsa_key_of(cert_der: &[u8]) -> rsa::PublicKey {
    let (tbs, _, _) = signed_parts(cert_der);
    rsa::PublicKey::from_public_key_der(tlvs(tbs)[6]).expect("an RSA SubjectPublicKeyInfo")
}

/// Whether `der` carries a valid RSA-PSS SHA-384 signature with `salt_len` by `key`, over the
/// TBS bytes exactly as found in it.
fn pss_verifies(der: &[u8], key: &rsa::PublicKey, salt_len: usize) -> bool {
    let (tbs, _, signature) = signed_parts(der);
    let verifier = rsa::pss::VerifyingKey::<Sha384>::new_with_salt_len(key.clone(), salt_len);
    let signature = rsa::pss::Signature::try_from(signature.as_slice()).expect("signature bytes");
    rsa::signature::Verifier::verify(&verifier, tbs, &signature).is_ok()
}

fn parse(der: &[u8]) -> Certificate {
    Certificate::from_der(der).unwrap_or_else(|e| panic!("x509-cert rejects the DER: {e}"))
}

/// `(oid, critical, value)` of every extension, in order.
fn extensions(cert: &Certificate) -> Vec<(String, bool, Vec<u8>)> {
    cert.tbs_certificate()
        .extensions()
        .map(|list| {
            list.iter()
                .map(|e| {
                    let value = e.extn_value.as_bytes().to_vec();
                    (e.extn_id.to_string(), e.critical, value)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn extension_value(cert: &Certificate, oid: &str) -> Option<Vec<u8>> {
    extensions(cert)
        .into_iter()
        .find(|(id, _, _)| id == oid)
        .map(|(_, _, value)| value)
}

fn pem_to_der(text: &str) -> Vec<Vec<u8>> {
    let mut blocks = Vec::new();
    let mut body: Option<String> = None;
    for line in text.lines() {
        if line.starts_with("-----BEGIN ") {
            body = Some(String::new());
        } else if line.starts_with("-----END ") {
            let text = body.take().expect("END after BEGIN");
            blocks.push(
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .expect("PEM base64"),
            );
        } else if let Some(body) = body.as_mut() {
            body.push_str(line.trim());
        }
    }
    blocks
}

fn real(path: &str) -> Vec<u8> {
    let bytes = vectors::read(path);
    if path.ends_with(".pem") {
        pem_to_der(std::str::from_utf8(&bytes).expect("PEM is text"))
            .into_iter()
            .next()
            .expect("one PEM block")
    } else {
        bytes
    }
}

fn real_ca(generation: Generation, role: CaRole) -> Vec<u8> {
    let role = match role {
        CaRole::Ark => "ark",
        CaRole::Ask => "ask",
        CaRole::Asvk => "asvk",
    };
    real(&format!(
        "amd/{}/{role}.pem",
        generation.name().to_ascii_lowercase()
    ))
}

fn tcb(bootloader: u8, tee: u8, snp: u8, microcode: u8) -> TcbComponents {
    TcbComponents {
        fmc: None,
        bootloader,
        tee,
        snp,
        microcode,
    }
}

/// The TBS field indexes (version present): serial 1, signature 2, issuer 3, validity 4,
/// subject 5, spki 6, extensions 7.
const ISSUER: usize = 3;
const SUBJECT: usize = 5;

// ---------------------------------------------------------------------------------------------
// CA certificates.

#[test]
fn ca_certificates_parse_chain_and_verify_with_pss_salt_48() {
    let pki = TestPki::shared();
    for generation in Generation::ALL {
        let ca = pki.product(generation);
        let ark_key = rsa_key_of(&ca.ark_der);
        for role in CaRole::ALL {
            let der = ca.der(role);
            let cert = parse(der);
            assert_eq!(cert.tbs_certificate().version(), x509_cert::Version::V3);
            assert!(
                pss_verifies(der, &ark_key, 48),
                "{generation} {role:?}: ARK signature"
            );
            assert!(
                !pss_verifies(der, &ark_key, 32),
                "{generation} {role:?}: a salt-48 signature must not verify as salt 32"
            );
            assert_eq!(rsa_key_of(der), ca.public_key(role));
            assert_eq!(rsa::traits::PublicKeyParts::size(&rsa_key_of(der)), 512);
        }
        // The ASK's key is not the ARK's: its signature does not verify with it.
        assert!(!pss_verifies(&ca.ask_der, &rsa_key_of(&ca.ask_der), 48));
    }
}

#[test]
fn ca_names_extensions_and_algorithm_match_amd_byte_for_byte() {
    let pki = TestPki::shared();
    for generation in Generation::ALL {
        let ca = pki.product(generation);
        for role in CaRole::ALL {
            let ours = ca.der(role);
            let theirs = real_ca(generation, role);
            let (our_tbs, our_alg, _) = signed_parts(ours);
            let (their_tbs, their_alg, _) = signed_parts(&theirs);
            let (our_fields, their_fields) = (tlvs(our_tbs), tlvs(their_tbs));
            let what = format!("{generation} {role:?}");
            assert_eq!(our_alg, their_alg, "{what}: signatureAlgorithm");
            assert_eq!(our_fields[2], their_fields[2], "{what}: TBS signature");
            assert_eq!(our_fields[ISSUER], their_fields[ISSUER], "{what}: issuer");
            assert_eq!(
                our_fields[SUBJECT], their_fields[SUBJECT],
                "{what}: subject"
            );
            // Serial and validity are AMD's too.
            assert_eq!(our_fields[1], their_fields[1], "{what}: serial");
            assert_eq!(our_fields[4], their_fields[4], "{what}: validity");

            // Same extensions in the same order with the same criticality; every value but
            // the key identifiers (which depend on the key) is identical.
            let (ours, theirs) = (extensions(&parse(ours)), extensions(&parse(&theirs)));
            let ids = |list: &[(String, bool, Vec<u8>)]| {
                list.iter()
                    .map(|(id, critical, _)| (id.clone(), *critical))
                    .collect::<Vec<_>>()
            };
            assert_eq!(ids(&ours), ids(&theirs), "{what}: extension list");
            for ((id, _, our_value), (_, _, their_value)) in ours.iter().zip(&theirs) {
                match id.as_str() {
                    "2.5.29.14" | "2.5.29.35" => {
                        assert_eq!(our_value.len(), their_value.len(), "{what}: {id} length")
                    }
                    _ => assert_eq!(our_value, their_value, "{what}: {id} value"),
                }
            }
        }
        // The ASK's authority key identifier names the ARK's subject key identifier.
        let ark_ski = extension_value(&parse(&ca.ark_der), "2.5.29.14").expect("ARK SKI");
        let ask_aki = extension_value(&parse(&ca.ask_der), "2.5.29.35").expect("ASK AKI");
        assert_eq!(&ask_aki[4..], &ark_ski[2..]);
    }
}

#[test]
fn pss_algorithm_identifier_is_amds_exact_encoding() {
    let pki = TestPki::shared();
    let amd_ask = real("amd/milan/ask.pem");
    let (_, amd_alg, _) = signed_parts(&amd_ask);
    // RSASSA-PSS, [0] SHA-384 (NULL params), [1] MGF1-SHA-384, [2] salt 48, [3] trailer 1.
    assert_eq!(amd_alg.len(), 72);
    let ca = pki.product(Generation::Milan);
    for role in CaRole::ALL {
        assert_eq!(signed_parts(ca.der(role)).1, amd_alg, "{role:?}");
    }
    let tcb = tcb(3, 0, 8, 115);
    let milan = pki.issue_leaf(&LeafSpec::vcek(Generation::Milan, &[1; 64], tcb));
    assert_eq!(signed_parts(&milan.der).1, amd_alg);
    assert_eq!(
        signed_parts(&milan.der).1,
        signed_parts(&real("snp/milan/vcek_milan.der")).1
    );
    // Newer VCEKs leave the trailer field out; so do the Genoa/Turin leaves by default.
    let turin = pki.issue_leaf(&LeafSpec::vcek(Generation::Turin, &[1; 8], tcb));
    let real_turin = real("snp/turin/vcek_turin.der");
    assert_eq!(signed_parts(&turin.der).1, signed_parts(&real_turin).1);
    assert_eq!(signed_parts(&turin.der).1.len(), 67);
    let explicit =
        pki.issue_leaf(&LeafSpec::vcek(Generation::Turin, &[1; 8], tcb).pss(PssParams::AMD));
    assert_eq!(signed_parts(&explicit.der).1, amd_alg);
}

#[test]
fn chain_pem_is_ask_then_ark_and_pins_are_sha256_of_der() {
    let pki = TestPki::shared();
    let ca = pki.product(Generation::Genoa);
    assert_eq!(
        pem_to_der(&ca.vcek_chain_pem()),
        vec![ca.ask_der.clone(), ca.ark_der.clone()]
    );
    assert_eq!(
        pem_to_der(&ca.vlek_chain_pem()),
        vec![ca.asvk_der.clone(), ca.ark_der.clone()]
    );
    for line in ca.vcek_chain_pem().lines() {
        assert!(line.len() <= 64, "PEM lines are at most 64 columns");
    }
    for role in CaRole::ALL {
        let pin: [u8; 32] = Sha256::digest(ca.der(role)).into();
        assert_eq!(ca.sha256(role), pin);
        let amd_pin: [u8; 32] = Sha256::digest(real_ca(Generation::Genoa, role)).into();
        assert_ne!(ca.sha256(role), amd_pin, "{role:?}: a test CA is not AMD's");
    }
}

// ---------------------------------------------------------------------------------------------
// Leaves.

#[test]
fn milan_vcek_extensions_hold_the_spec_values_in_amds_order() {
    let pki = TestPki::shared();
    let hwid: Vec<u8> = (0..64).collect();
    let spec = LeafSpec::vcek(Generation::Milan, &hwid, tcb(3, 0, 8, 0xA9));
    let leaf = pki.issue_leaf(&spec);
    let cert = parse(&leaf.der);

    assert_eq!(
        extension_value(&cert, amd_oid::STRUCT_VERSION).unwrap(),
        [2, 1, 0]
    );
    assert_eq!(
        extension_value(&cert, amd_oid::PRODUCT_NAME).unwrap(),
        b"\x16\x08Milan-B0"
    );
    assert_eq!(extension_value(&cert, amd_oid::BL_SPL).unwrap(), [2, 1, 3]);
    assert_eq!(extension_value(&cert, amd_oid::TEE_SPL).unwrap(), [2, 1, 0]);
    assert_eq!(extension_value(&cert, amd_oid::SNP_SPL).unwrap(), [2, 1, 8]);
    assert_eq!(
        extension_value(&cert, amd_oid::UCODE_SPL).unwrap(),
        [2, 2, 0, 0xA9]
    );
    for reserved in [
        amd_oid::SPL_4,
        amd_oid::SPL_5,
        amd_oid::SPL_6,
        amd_oid::SPL_7,
    ] {
        assert_eq!(extension_value(&cert, reserved).unwrap(), [2, 1, 0]);
    }
    assert_eq!(extension_value(&cert, amd_oid::HW_ID).unwrap(), hwid);
    assert_eq!(extension_value(&cert, amd_oid::FMC_SPL), None);
    assert_eq!(extension_value(&cert, amd_oid::CSP_ID), None);

    // Same extension order, names and profile as the real Milan VCEK.
    let real_vcek = real("snp/milan/vcek_milan.der");
    let ids = |c: &Certificate| {
        extensions(c)
            .into_iter()
            .map(|(id, critical, _)| (id, critical))
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&cert), ids(&parse(&real_vcek)));
    let (ours, theirs) = (
        tlvs(signed_parts(&leaf.der).0),
        tlvs(signed_parts(&real_vcek).0),
    );
    assert_eq!(ours[1], [2, 1, 0], "serial 0 like AMD");
    assert_eq!(ours[1], theirs[1]);
    assert_eq!(ours[ISSUER], theirs[ISSUER], "issuer SEV-Milan");
    assert_eq!(ours[SUBJECT], theirs[SUBJECT], "subject SEV-VCEK");
    assert_eq!(
        tlvs(ours[6])[0],
        tlvs(theirs[6])[0],
        "id-ecPublicKey secp384r1"
    );

    // The key is the spec's P-384 key, and the ASK signed the certificate.
    let spki = cert.tbs_certificate().subject_public_key_info();
    let point = spki.subject_public_key.raw_bytes();
    assert_eq!(
        point,
        leaf.signing_key
            .verifying_key()
            .to_sec1_point(false)
            .as_bytes()
    );
    let ca = pki.product(Generation::Milan);
    assert!(pss_verifies(&leaf.der, &rsa_key_of(&ca.ask_der), 48));
    assert!(!pss_verifies(&leaf.der, &rsa_key_of(&ca.asvk_der), 48));
}

#[test]
fn turin_and_genoa_vceks_follow_their_real_layouts() {
    let pki = TestPki::shared();
    let turin_tcb = TcbComponents {
        fmc: Some(2),
        ..tcb(1, 0, 5, 9)
    };
    let hwid = [0x1E, 0x55, 0x0A, 0x8E, 0xE5, 0xCF, 0x9F, 0x4D];
    let turin = parse(
        &pki.issue_leaf(&LeafSpec::vcek(Generation::Turin, &hwid, turin_tcb))
            .der,
    );
    let real_turin = parse(&real("snp/turin/vcek_turin.der"));
    let order = |c: &Certificate| extensions(c).into_iter().map(|e| e.0).collect::<Vec<_>>();
    assert_eq!(order(&turin), order(&real_turin));
    assert_eq!(
        extension_value(&turin, amd_oid::STRUCT_VERSION).unwrap(),
        [2, 1, 1]
    );
    assert_eq!(
        extension_value(&turin, amd_oid::PRODUCT_NAME).unwrap(),
        b"\x16\x05Turin"
    );
    assert_eq!(
        extension_value(&turin, amd_oid::FMC_SPL).unwrap(),
        [2, 1, 2]
    );
    assert_eq!(extension_value(&turin, amd_oid::SPL_4), None);
    assert_eq!(extension_value(&turin, amd_oid::HW_ID).unwrap(), hwid);
    // The real Turin VCEK has this very hwID: the extension holds raw bytes in both.
    assert_eq!(extension_value(&real_turin, amd_oid::HW_ID).unwrap(), hwid);

    let genoa = parse(
        &pki.issue_leaf(&LeafSpec::vcek(
            Generation::Genoa,
            &[9; 64],
            tcb(10, 0, 23, 84),
        ))
        .der,
    );
    let real_genoa = pem_to_der(&vectors::read_text("azure/genoa-v3/vcek-genoa.pem"));
    let real_genoa = parse(&real_genoa[0]);
    assert_eq!(order(&genoa), order(&real_genoa));
    for oid in [
        amd_oid::STRUCT_VERSION,
        amd_oid::PRODUCT_NAME,
        amd_oid::BL_SPL,
        amd_oid::SNP_SPL,
        amd_oid::UCODE_SPL,
    ] {
        assert_eq!(
            extension_value(&genoa, oid),
            extension_value(&real_genoa, oid),
            "{oid}"
        );
    }
}

#[test]
fn vlek_is_signed_by_the_asvk_and_carries_a_csp_id() {
    let pki = TestPki::shared();
    let leaf = pki.issue_leaf(&LeafSpec::vlek(
        Generation::Genoa,
        "Microsoft",
        tcb(4, 0, 21, 210),
    ));
    let cert = parse(&leaf.der);
    let ca = pki.product(Generation::Genoa);
    assert!(pss_verifies(&leaf.der, &rsa_key_of(&ca.asvk_der), 48));
    assert!(!pss_verifies(&leaf.der, &rsa_key_of(&ca.ask_der), 48));
    assert_eq!(extension_value(&cert, amd_oid::HW_ID), None);
    assert_eq!(
        extension_value(&cert, amd_oid::CSP_ID).unwrap(),
        b"\x16\x09Microsoft"
    );
    assert_eq!(
        extension_value(&cert, amd_oid::UCODE_SPL).unwrap(),
        [2, 2, 0, 210]
    );
    let fields = tlvs(signed_parts(&leaf.der).0);
    assert_eq!(fields[ISSUER], tlvs(signed_parts(&ca.asvk_der).0)[SUBJECT]);
    assert!(
        cert.tbs_certificate()
            .subject()
            .to_string()
            .contains("CN=SEV-VLEK")
    );
}

#[test]
fn leaf_for_a_report_signs_it_verifiably() {
    let pki = TestPki::shared();
    let bytes = vectors::raw_milan_report();
    let mut report = RawSnpReport::read_from_bytes(&bytes).expect("1184 bytes");
    report.signature_r = [0xAA; 72];
    let leaf = pki.issue_leaf(&LeafSpec::vcek_for_report(Generation::Milan, &report));
    pki::sign_report(&mut report, &leaf.signing_key);

    let signed = report.as_bytes();
    assert_eq!(
        &signed[..SIGNED_LEN],
        &bytes[..SIGNED_LEN],
        "signed part unchanged"
    );
    assert_eq!(&signed[0x330..], &bytes[0x330..], "unsigned tail unchanged");
    assert!(report.signature_r[48..].iter().all(|&b| b == 0));
    assert!(report.signature_s[48..].iter().all(|&b| b == 0));

    // Verify as a verifier would: key from the certificate, R and S reversed to big-endian.
    let cert = parse(&leaf.der);
    let point = cert
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes();
    let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(point).expect("P-384 point");
    let mut rs = [0u8; 96];
    rs[..48].copy_from_slice(&report.signature_r[..48]);
    rs[48..].copy_from_slice(&report.signature_s[..48]);
    rs[..48].reverse();
    rs[48..].reverse();
    let signature = p384::ecdsa::Signature::from_slice(&rs).expect("R and S in range");
    key.verify(&signed[..SIGNED_LEN], &signature)
        .expect("report signature verifies");
    let mut tampered = signed[..SIGNED_LEN].to_vec();
    tampered[0x50] ^= 1;
    assert!(key.verify(&tampered, &signature).is_err());

    // And it is ECDSA over SHA-384 of exactly those bytes.
    let digest = Sha384::digest(&signed[..SIGNED_LEN]);
    p384::ecdsa::signature::hazmat::PrehashVerifier::verify_prehash(&key, &digest, &signature)
        .expect("prehash verifies");

    // The VCEK matches the report: hwID == chip_id, SPLs == reported_tcb.
    let view = SnpReport::from_bytes(signed).expect("parses");
    assert_eq!(
        extension_value(&cert, amd_oid::HW_ID).unwrap(),
        view.chip_id()
    );
    let reported = TcbVersion(report.reported_tcb).components(Generation::Milan);
    assert_eq!(
        extension_value(&cert, amd_oid::BL_SPL).unwrap(),
        [2, 1, reported.bootloader]
    );

    // Deterministic (RFC 6979): signing again gives the same bytes.
    let mut again = report.clone();
    pki::sign_report(&mut again, &leaf.signing_key);
    assert_eq!(again.as_bytes(), report.as_bytes());
}

// ---------------------------------------------------------------------------------------------
// Determinism.

#[test]
fn same_seed_gives_identical_der_and_another_seed_a_different_ark() {
    let shared = TestPki::shared();
    let again = TestPki::new(TestPki::DEFAULT_SEED);
    for generation in Generation::ALL {
        for role in CaRole::ALL {
            assert_eq!(
                again.product(generation).der(role),
                shared.product(generation).der(role),
                "{generation} {role:?}"
            );
        }
    }
    let spec = LeafSpec::vcek(Generation::Milan, &[5; 64], tcb(3, 0, 8, 115));
    assert_eq!(again.issue_leaf(&spec).der, shared.issue_leaf(&spec).der);
    let crl = CrlSpec::new(1_700_000_000, 1_800_000_000).revoke(7, 1_700_000_000);
    assert_eq!(
        again.crl(Generation::Milan, &crl),
        shared.crl(Generation::Milan, &crl)
    );

    // A forged PKI: self-consistent, but its ARK is neither the shared one nor AMD's.
    let forged = TestPki::new(2);
    let forged_ca = forged.product(Generation::Milan);
    let shared_ca = shared.product(Generation::Milan);
    assert_ne!(forged_ca.ark_der, shared_ca.ark_der);
    assert_ne!(
        forged_ca.public_key(CaRole::Ark),
        shared_ca.public_key(CaRole::Ark)
    );
    assert!(pss_verifies(
        &forged_ca.ark_der,
        &rsa_key_of(&forged_ca.ark_der),
        48
    ));
    assert!(pss_verifies(
        &forged_ca.ask_der,
        &rsa_key_of(&forged_ca.ark_der),
        48
    ));
    assert!(!pss_verifies(
        &forged_ca.ask_der,
        &rsa_key_of(&shared_ca.ark_der),
        48
    ));
    // Same names as the real ARK: only the pin tells them apart.
    assert_eq!(
        tlvs(signed_parts(&forged_ca.ark_der).0)[SUBJECT],
        tlvs(signed_parts(&shared_ca.ark_der).0)[SUBJECT]
    );
}

// ---------------------------------------------------------------------------------------------
// CRLs.

#[test]
fn crl_is_ark_signed_and_lists_the_revoked_serials() {
    let pki = TestPki::shared();
    let ca = pki.product(Generation::Milan);
    let (this_update, next_update) = (1_717_200_000, 1_717_286_400);
    let spec = CrlSpec::new(this_update, next_update)
        .revoke(0x10001, 1_700_000_000)
        .revoke(0, 1_710_000_000);
    let der = pki.crl(Generation::Milan, &spec);
    let crl = CertificateList::<Rfc5280>::from_der(&der).expect("x509-cert parses the CRL");
    let tbs = &crl.tbs_cert_list;
    assert_eq!(tbs.version, x509_cert::Version::V2);
    assert_eq!(
        tbs.issuer.to_der().unwrap(),
        tlvs(signed_parts(&ca.ark_der).0)[SUBJECT]
    );
    assert_eq!(tbs.this_update.to_unix_duration().as_secs(), this_update);
    assert_eq!(
        tbs.next_update.unwrap().to_unix_duration().as_secs(),
        next_update
    );
    let revoked: Vec<(Vec<u8>, u64)> = tbs
        .revoked_certificates
        .as_ref()
        .expect("revoked list")
        .iter()
        .map(|r| {
            let date = r.revocation_date.to_unix_duration().as_secs();
            (r.serial_number.as_bytes().to_vec(), date)
        })
        .collect();
    assert_eq!(
        revoked,
        vec![(vec![1, 0, 1], 1_700_000_000), (vec![0], 1_710_000_000)]
    );
    let (_, alg, _) = signed_parts(&der);
    assert_eq!(alg, signed_parts(&ca.ark_der).1, "AMD's PSS parameters");
    assert!(pss_verifies(&der, &rsa_key_of(&ca.ark_der), 48));
    assert!(!pss_verifies(&der, &rsa_key_of(&ca.ask_der), 48));

    // An empty CRL has no revokedCertificates at all; an ASK-signed one names the ASK.
    let empty = pki.crl(Generation::Milan, &CrlSpec::new(this_update, next_update));
    let empty = CertificateList::<Rfc5280>::from_der(&empty).expect("parses");
    assert!(empty.tbs_cert_list.revoked_certificates.is_none());
    let by_ask = pki.crl(
        Generation::Milan,
        &CrlSpec::new(this_update, next_update).signer(CaRole::Ask),
    );
    assert!(pss_verifies(&by_ask, &rsa_key_of(&ca.ask_der), 48));

    // CRL extensions: the ARK's key identifier and CRL number 1; both can be pared down.
    let crl_extensions = |crl: &CertificateList<Rfc5280>| {
        crl.tbs_cert_list
            .crl_extensions
            .iter()
            .flatten()
            .map(|e| (e.extn_id.to_string(), e.extn_value.as_bytes().to_vec()))
            .collect::<Vec<_>>()
    };
    let ark_ski = extension_value(&parse(&ca.ark_der), "2.5.29.14").expect("ARK SKI");
    let listed = crl_extensions(&crl);
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].0, "2.5.29.35");
    assert_eq!(listed[0].1[4..], ark_ski[2..]);
    assert_eq!(listed[1], ("2.5.29.20".to_owned(), vec![2, 1, 1]));
    let bare = pki.crl(
        Generation::Milan,
        &CrlSpec::new(this_update, next_update)
            .without_next_update()
            .crl_number(None),
    );
    let bare = CertificateList::<Rfc5280>::from_der(&bare).expect("parses");
    assert!(bare.tbs_cert_list.next_update.is_none());
    assert_eq!(crl_extensions(&bare).len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Negative-test knobs.

#[test]
fn bad_salt_is_declared_or_hidden_as_asked() {
    let pki = TestPki::shared();
    let ask = rsa_key_of(&pki.product(Generation::Milan).ask_der);
    let base = LeafSpec::vcek(Generation::Milan, &[3; 64], tcb(3, 0, 8, 115));

    let salt32 = pki
        .issue_leaf(&base.clone().pss(PssParams::with_salt_len(32)))
        .der;
    assert!(!pss_verifies(&salt32, &ask, 48));
    assert!(pss_verifies(&salt32, &ask, 32));
    let (_, alg, _) = signed_parts(&salt32);
    assert!(
        alg.windows(5).any(|w| w == [0xA2, 0x03, 0x02, 0x01, 32]),
        "declares salt 32"
    );

    let hidden = PssParams {
        salt_len: 32,
        declared_salt_len: Some(48),
        ..PssParams::AMD
    };
    let hidden = pki.issue_leaf(&base.clone().pss(hidden)).der;
    assert_eq!(
        signed_parts(&hidden).1,
        signed_parts(&pki.product(Generation::Milan).ask_der).1
    );
    assert!(!pss_verifies(&hidden, &ask, 48));
    assert!(pss_verifies(&hidden, &ask, 32));

    // A CA certificate with salt 32.
    let overrides = CaOverrides {
        pss: Some(PssParams::with_salt_len(32)),
        ..CaOverrides::default()
    };
    let ask32 = pki.reissue_ca(Generation::Milan, CaRole::Ask, &overrides);
    let ark = rsa_key_of(&pki.product(Generation::Milan).ark_der);
    assert!(pss_verifies(&ask32, &ark, 32));
    assert!(!pss_verifies(&ask32, &ark, 48));
}

#[test]
fn validity_serial_and_issuer_can_be_anything() {
    let pki = TestPki::shared();
    let spec = LeafSpec::vcek(Generation::Genoa, &[4; 64], tcb(1, 2, 3, 4))
        .validity(1_000_000_000, 2_600_000_000)
        .serial(0xDEAD_BEEF);
    let cert = parse(&pki.issue_leaf(&spec).der);
    let validity = cert.tbs_certificate().validity();
    assert_eq!(
        validity.not_before.to_unix_duration().as_secs(),
        1_000_000_000
    );
    assert_eq!(
        validity.not_after.to_unix_duration().as_secs(),
        2_600_000_000
    );
    assert!(matches!(
        validity.not_after,
        x509_cert::time::Time::GeneralTime(_)
    ));
    assert!(matches!(
        validity.not_before,
        x509_cert::time::Time::UtcTime(_)
    ));
    assert_eq!(
        cert.tbs_certificate().serial_number().as_bytes(),
        [0, 0xDE, 0xAD, 0xBE, 0xEF]
    );

    // Raw serial bytes go in verbatim (here a negative INTEGER).
    let raw = pki.issue_leaf(
        &LeafSpec::vcek(Generation::Genoa, &[4; 64], tcb(1, 2, 3, 4)).raw_serial(&[0xFF]),
    );
    assert_eq!(tlvs(signed_parts(&raw.der).0)[1], [2, 1, 0xFF]);

    // A VCEK signed by the ARK instead of the ASK names the ARK as issuer.
    let ca = pki.product(Generation::Genoa);
    let by_ark = pki.issue_leaf(
        &LeafSpec::vcek(Generation::Genoa, &[4; 64], tcb(1, 2, 3, 4)).issuer(CaRole::Ark),
    );
    assert!(pss_verifies(&by_ark.der, &rsa_key_of(&ca.ark_der), 48));
    assert_eq!(
        tlvs(signed_parts(&by_ark.der).0)[ISSUER],
        tlvs(signed_parts(&ca.ark_der).0)[SUBJECT]
    );

    // An expired ASK, same key.
    let expired = pki.reissue_ca(
        Generation::Genoa,
        CaRole::Ask,
        &CaOverrides {
            validity: Some((1_600_000_000, 1_650_000_000)),
            serial: Some(99),
            ..CaOverrides::default()
        },
    );
    let expired_cert = parse(&expired);
    assert_eq!(
        expired_cert
            .tbs_certificate()
            .validity()
            .not_after
            .to_unix_duration()
            .as_secs(),
        1_650_000_000
    );
    assert_eq!(
        expired_cert.tbs_certificate().serial_number().as_bytes(),
        [99]
    );
    assert_eq!(rsa_key_of(&expired), ca.public_key(CaRole::Ask));
    assert!(pss_verifies(&expired, &rsa_key_of(&ca.ark_der), 48));
}

#[test]
fn leaves_can_certify_wrong_key_types() {
    let pki = TestPki::shared();
    let base = LeafSpec::vcek(Generation::Milan, &[6; 64], tcb(3, 0, 8, 115));
    let ec_public_key = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

    let p256 = parse(
        &pki.issue_leaf(&base.clone().key_type(LeafKeyType::P256))
            .der,
    );
    let spki = p256.tbs_certificate().subject_public_key_info();
    assert_eq!(spki.algorithm.oid, ec_public_key);
    let curve: ObjectIdentifier = spki
        .algorithm
        .parameters
        .as_ref()
        .expect("curve parameter")
        .decode_as()
        .expect("curve OID");
    assert_eq!(curve, ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7"));
    assert_eq!(spki.subject_public_key.raw_bytes().len(), 65);

    let rsa_leaf = pki.issue_leaf(&base.clone().key_type(LeafKeyType::Rsa2048));
    let rsa_key = rsa_key_of(&rsa_leaf.der);
    assert_eq!(rsa::traits::PublicKeyParts::size(&rsa_key), 256);
    let ask = rsa_key_of(&pki.product(Generation::Milan).ask_der);
    assert!(
        pss_verifies(&rsa_leaf.der, &ask, 48),
        "still correctly signed"
    );

    // A chosen P-384 key, and an extension replaced and one removed.
    let other = pki.issue_leaf(&LeafSpec::vcek(
        Generation::Milan,
        &[7; 64],
        tcb(3, 0, 8, 115),
    ));
    let spec = base
        .signing_key(other.signing_key.clone())
        .extension(amd_oid::BL_SPL, Some(&[0x02, 0x01, 0x01]))
        .extension(amd_oid::HW_ID, None);
    let changed = pki.issue_leaf(&spec);
    let cert = parse(&changed.der);
    assert_eq!(changed.signing_key, other.signing_key);
    assert_eq!(extension_value(&cert, amd_oid::BL_SPL).unwrap(), [2, 1, 1]);
    assert_eq!(extension_value(&cert, amd_oid::HW_ID), None);
}

#[test]
fn times_use_utc_time_before_2050_and_generalized_time_after() {
    use x509_cert::time::Time;
    assert!(matches!(pki::x509_time(2_524_607_999), Time::UtcTime(_)));
    assert!(matches!(
        pki::x509_time(2_524_608_000),
        Time::GeneralTime(_)
    ));
    assert_eq!(
        pki::x509_time(1_603_387_385).to_der().unwrap(),
        b"\x17\x0d201022172305Z"
    );
}
