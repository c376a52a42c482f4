//! A test Intel DCAP PKI, shaped like Intel's: a root, the "Intel SGX PCK Platform CA", a PCK
//! certificate with an SGX extension, the "Intel SGX TCB Signing" certificate, CRLs, signed TCB
//! info and QE identity, and a quoting enclave that signs TD quotes. Keys are P-256 from a
//! seeded generator; the names are Intel's, so only the root's pin tells the PKIs apart.
//!
//! Documents and quotes are made from templates (Azure's real TDX sample, read from the shared
//! vectors at run time): the TCB info and QE identity keep their levels and values with new
//! dates and a new signature; a TD quote keeps the template's header, QE report and QE
//! authentication data, with a body taken from the TDREPORT given and new signatures. So the
//! verifier checks everything it checks on Azure, under a root a test pins.

use std::sync::OnceLock;

use chacha20::ChaCha20Rng;
use chacha20::rand_core::SeedableRng;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::Generate;
use sha2::Digest;
use snp_vtpm::tdx_verify::{Collateral, IntelRoots, TdQuote};

use super::asn1::{bit_string, explicit, extension, oid, seq, tlv, uint};

const ECDSA_WITH_SHA256: &str = "1.2.840.10045.4.3.2";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const PRIME256V1: &str = "1.2.840.10045.3.1.7";
const SGX_EXTENSION: &str = "1.2.840.113741.1.13.1";

/// The test root's common name (Intel's is "Intel SGX Root CA").
pub const ROOT_CN: &str = "Test SGX Root CA";
/// The PCK CA's common name: Intel's, which the verifier reads to tell the CAs apart.
pub const PLATFORM_CA_CN: &str = "Intel SGX PCK Platform CA";
/// The TCB signing certificate's common name: Intel's, which the verifier requires.
pub const TCB_SIGNING_CN: &str = "Intel SGX TCB Signing";
/// The PCK certificate's common name.
pub const PCK_CN: &str = "Intel SGX PCK Certificate";

/// Validity of every test certificate: 2023-01-01 to 2050-01-01.
const VALIDITY: (u64, u64) = (1_672_531_200, 2_524_608_000);

/// The test PKI: keys and the CA certificates (DER).
pub struct IntelPki {
    root_key: SigningKey,
    platform_ca_key: SigningKey,
    tcb_signing_key: SigningKey,
    pck_key: SigningKey,
    /// The root (self-signed): pin it with [`IntelPki::roots`].
    pub root: Vec<u8>,
    /// The PCK Platform CA, issued by the root.
    pub platform_ca: Vec<u8>,
    /// The TCB signing certificate, issued by the root.
    pub tcb_signing: Vec<u8>,
}

/// A P-256 key from a seeded generator.
pub fn key(label: u8) -> SigningKey {
    SigningKey::generate_from_rng(&mut ChaCha20Rng::from_seed([label; 32]))
}

impl IntelPki {
    /// The PKI of this process (keys made once).
    pub fn shared() -> &'static IntelPki {
        static PKI: OnceLock<IntelPki> = OnceLock::new();
        PKI.get_or_init(|| {
            let root_key = key(0xA1);
            let platform_ca_key = key(0xA2);
            let tcb_signing_key = key(0xA3);
            let pck_key = key(0xA4);
            let root = certificate(ROOT_CN, ROOT_CN, &root_key, &root_key, Some(1), &[], 1);
            let platform_ca = certificate(
                PLATFORM_CA_CN,
                ROOT_CN,
                &root_key,
                &platform_ca_key,
                Some(0),
                &[],
                2,
            );
            let tcb_signing = certificate(
                TCB_SIGNING_CN,
                ROOT_CN,
                &root_key,
                &tcb_signing_key,
                None,
                &[],
                3,
            );
            IntelPki {
                root_key,
                platform_ca_key,
                tcb_signing_key,
                pck_key,
                root,
                platform_ca,
                tcb_signing,
            }
        })
    }

    /// The roots a verifier pins to trust this PKI.
    pub fn roots(&self) -> IntelRoots {
        IntelRoots::test_root(&self.root)
    }

    /// The PCK certificate, carrying `sgx_extension` (the extension's value: a template's, so
    /// the FMSPC and TCB components are a real platform's).
    pub fn pck(&self, sgx_extension: &[u8]) -> Vec<u8> {
        certificate(
            PCK_CN,
            PLATFORM_CA_CN,
            &self.platform_ca_key,
            &self.pck_key,
            None,
            &[(SGX_EXTENSION, sgx_extension)],
            4,
        )
    }

    /// A CRL of the root (`by_root`) or of the PCK Platform CA, valid from `this_update` to
    /// `next_update`, revoking `serials`.
    pub fn crl(
        &self,
        by_root: bool,
        this_update: u64,
        next_update: u64,
        serials: &[u64],
    ) -> Vec<u8> {
        let (issuer, key) = if by_root {
            (ROOT_CN, &self.root_key)
        } else {
            (PLATFORM_CA_CN, &self.platform_ca_key)
        };
        let algorithm = seq(&[&oid(ECDSA_WITH_SHA256)]);
        let revoked: Vec<Vec<u8>> = serials
            .iter()
            .map(|serial| seq(&[&uint(*serial), &super::asn1::time(this_update)]))
            .collect();
        let revoked_parts: Vec<&[u8]> = revoked.iter().map(Vec::as_slice).collect();
        let revoked_list = if revoked.is_empty() {
            Vec::new()
        } else {
            seq(&revoked_parts)
        };
        let tbs = seq(&[
            &uint(1),
            &algorithm,
            &name(issuer),
            &super::asn1::time(this_update),
            &super::asn1::time(next_update),
            &revoked_list,
        ]);
        let signature: Signature = key.sign(&tbs);
        seq(&[&tbs, &algorithm, &bit_string(signature.to_der().as_bytes())])
    }

    /// Collateral for quotes of this PKI: `template`'s TCB info and QE identity with issueDate
    /// `now` - 1 h and nextUpdate `now` + 30 days, edited by `edit_tcb_info`, signed by the test
    /// TCB signing key; CRLs of the root and the Platform CA current at `now`, empty.
    pub fn collateral(
        &self,
        template: &Collateral,
        now: u64,
        edit_tcb_info: impl FnOnce(&mut serde_json::Value),
    ) -> Collateral {
        let (issued, next) = (now.saturating_sub(3600), now + 30 * 86_400);
        let dated = |document: &str| {
            let mut value: serde_json::Value =
                serde_json::from_str(document).expect("the template's documents are JSON");
            value["issueDate"] = rfc3339(issued).into();
            value["nextUpdate"] = rfc3339(next).into();
            value
        };
        let mut tcb_info = dated(&template.tcb_info);
        edit_tcb_info(&mut tcb_info);
        let tcb_info = tcb_info.to_string();
        let qe_identity = dated(&template.qe_identity).to_string();
        let sign = |document: &str| -> Vec<u8> {
            let signature: Signature = self.tcb_signing_key.sign(document.as_bytes());
            signature.to_bytes().to_vec()
        };
        let tcb_chain = vec![self.tcb_signing.clone(), self.root.clone()];
        Collateral {
            pck_crl_issuer_chain: vec![self.platform_ca.clone(), self.root.clone()],
            root_ca_crl: self.crl(true, issued, next, &[]),
            pck_crl: self.crl(false, issued, next, &[]),
            tcb_info_issuer_chain: tcb_chain.clone(),
            tcb_info_signature: sign(&tcb_info),
            tcb_info,
            qe_identity_issuer_chain: tcb_chain,
            qe_identity_signature: sign(&qe_identity),
            qe_identity,
        }
    }

    /// A TD quote (v4) of `td_report` (a 1024-byte TDREPORT) as this PKI's quoting enclave
    /// signs it: `template`'s header, QE report and QE authentication data; a fresh
    /// attestation key; the QE report bound to that key and signed by the PCK, whose
    /// certificate carries the template PCK's SGX extension.
    pub fn td_quote(&self, td_report: &[u8], template: &[u8]) -> Vec<u8> {
        let parsed = TdQuote::parse(template).expect("the template parses");
        assert_eq!(parsed.version, 4, "the template is a v4 quote");
        let template_pck = pem_certificates(parsed.pck_chain_pem)
            .into_iter()
            .next()
            .expect("the template carries a PCK chain");
        let sgx_extension = extension_value(&template_pck, SGX_EXTENSION);

        let mut signed = template.get(..48).expect("a header").to_vec();
        signed.extend_from_slice(&td_quote_body(td_report));
        let attestation_key = key(0xA5);
        let point = attestation_key.verifying_key().to_sec1_point(false);
        let attestation_public = point.as_bytes().get(1..).expect("x and y").to_vec();
        let quote_signature: Signature = attestation_key.sign(&signed);

        let mut qe_report = parsed.qe_report_bytes.to_vec();
        let mut committed = attestation_public.clone();
        committed.extend_from_slice(parsed.qe_auth_data);
        let mut report_data = [0u8; 64];
        report_data[..32].copy_from_slice(&sha2::Sha256::digest(&committed));
        qe_report[320..384].copy_from_slice(&report_data);
        let qe_signature: Signature = self.pck_key.sign(&qe_report);

        let chain_pem = [
            self.pck(&sgx_extension),
            self.platform_ca.clone(),
            self.root.clone(),
        ]
        .iter()
        .map(|der| super::pem_certificate(der))
        .collect::<String>();
        let mut certification = qe_report;
        certification.extend_from_slice(&qe_signature.to_bytes());
        certification.extend_from_slice(&u16_le(parsed.qe_auth_data.len()));
        certification.extend_from_slice(parsed.qe_auth_data);
        certification.extend_from_slice(&5u16.to_le_bytes());
        certification.extend_from_slice(&u32_le(chain_pem.len()));
        certification.extend_from_slice(chain_pem.as_bytes());

        let mut signature_data = quote_signature.to_bytes().to_vec();
        signature_data.extend_from_slice(&attestation_public);
        signature_data.extend_from_slice(&6u16.to_le_bytes());
        signature_data.extend_from_slice(&u32_le(certification.len()));
        signature_data.extend_from_slice(&certification);

        let mut quote = signed;
        quote.extend_from_slice(&u32_le(signature_data.len()));
        quote.extend_from_slice(&signature_data);
        quote
    }
}

/// The TD 1.0 quote body of a TDREPORT (as `hcl_parse::TdReport::quote_body` lays it out).
pub fn td_quote_body(td_report: &[u8]) -> Vec<u8> {
    hcl_parse::TdReport::parse(td_report)
        .expect("a 1024-byte TDREPORT")
        .quote_body()
}

fn u16_le(len: usize) -> [u8; 2] {
    u16::try_from(len).expect("fits in u16").to_le_bytes()
}

fn u32_le(len: usize) -> [u8; 4] {
    u32::try_from(len).expect("fits in u32").to_le_bytes()
}

/// RFC 3339 UTC with seconds (`2026-12-07T01:00:00Z`).
pub fn rfc3339(unix_seconds: u64) -> String {
    let time = super::x509_time(unix_seconds);
    let date = time.to_date_time();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        date.year(),
        date.month(),
        date.day(),
        date.hour(),
        date.minutes(),
        date.seconds()
    )
}

fn name(cn: &str) -> Vec<u8> {
    let attribute = seq(&[&oid("2.5.4.3"), &tlv(0x0C, cn.as_bytes())]);
    seq(&[&tlv(0x31, &attribute)])
}

/// A P-256 certificate for `subject_key` named `subject`, signed by `issuer_key` as `issuer`;
/// a CA when `path_len` is given (basicConstraints cA TRUE with that length), else an end
/// entity; with `extra` (OID, value) extensions, non-critical.
fn certificate(
    subject: &str,
    issuer: &str,
    issuer_key: &SigningKey,
    subject_key: &SigningKey,
    path_len: Option<u8>,
    extra: &[(&str, &[u8])],
    serial: u64,
) -> Vec<u8> {
    let algorithm = seq(&[&oid(ECDSA_WITH_SHA256)]);
    let point = subject_key.verifying_key().to_sec1_point(false);
    let spki = seq(&[
        &seq(&[&oid(EC_PUBLIC_KEY), &oid(PRIME256V1)]),
        &bit_string(point.as_bytes()),
    ]);
    let mut extensions = vec![match path_len {
        Some(len) => extension(
            "2.5.29.19",
            true,
            &seq(&[&tlv(0x01, &[0xFF]), &uint(u64::from(len))]),
        ),
        None => extension("2.5.29.19", true, &seq(&[])),
    }];
    // keyUsage: keyCertSign and cRLSign for CAs, digitalSignature and nonRepudiation else.
    let key_usage: &[u8] = if path_len.is_some() {
        &[0x01, 0x06]
    } else {
        &[0x06, 0xC0]
    };
    extensions.push(extension("2.5.29.15", true, &tlv(0x03, key_usage)));
    for (dotted, value) in extra {
        extensions.push(extension(dotted, false, value));
    }
    let extension_parts: Vec<&[u8]> = extensions.iter().map(Vec::as_slice).collect();
    let tbs = seq(&[
        &explicit(0, &[&uint(2)]),
        &uint(serial),
        &algorithm,
        &name(issuer),
        &seq(&[
            &super::asn1::time(VALIDITY.0),
            &super::asn1::time(VALIDITY.1),
        ]),
        &name(subject),
        &spki,
        &explicit(3, &[&seq(&extension_parts)]),
    ]);
    let signature: Signature = issuer_key.sign(&tbs);
    seq(&[&tbs, &algorithm, &bit_string(signature.to_der().as_bytes())])
}

/// The DER certificates of a PEM bundle.
fn pem_certificates(pem: &[u8]) -> Vec<Vec<u8>> {
    snp_vtpm::attest_prims::pem::decode_all(pem)
        .expect("the template's PCK chain is PEM")
        .into_iter()
        .map(|block| block.der)
        .collect()
}

/// The value (inside the OCTET STRING) of the extension `dotted` of certificate `der`.
fn extension_value(der: &[u8], dotted: &str) -> Vec<u8> {
    use der::Decode;
    let cert = x509_cert::Certificate::from_der(der).expect("the template PCK parses");
    let wanted: der::asn1::ObjectIdentifier = dotted.parse().expect("an OID");
    cert.tbs_certificate()
        .extensions()
        .into_iter()
        .flatten()
        .find(|e| e.extn_id == wanted)
        .map(|e| e.extn_value.as_bytes().to_vec())
        .expect("the template PCK has the extension")
}
