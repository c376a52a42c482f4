//! What every fuzz target runs, and the seed inputs, in one place: the targets in `fuzz/` are
//! one-line calls of these functions, and `tests/fuzz_replay.rs` replays the seeds and every
//! saved crash input (`fuzz/regressions/<target>/`) through the same functions in the normal
//! test suite, so CI is deterministic and a fixed crash stays fixed.
//!
//! Each function takes arbitrary bytes. It may only fail by panicking, which is the bug a
//! fuzzer reports: a parser that panics, or an `assert!` of a security property (a mutated
//! input that verifies although it differs in an authenticated field).
//!
//! | target | parsers and checks it drives |
//! |---|---|
//! | `hcl_report` | `HclReport::parse`, every accessor, the report_data binding, the claims |
//! | `snp_report` | `SnpReport::from_bytes`, every accessor, `authenticate_report` under real VCEKs |
//! | `runtime_claims` | `RuntimeClaims::parse`, the keys, the AK, the binding |
//! | `tpms_attest` | `QuoteAttest::parse`, nonce, qualifiedSigner, PCR digest, signature; `quote.bin` |
//! | `tpmt_signature` | `QuoteSignature::{from_tpmt, bare_rsa, parse_any}` and verification |
//! | `tpm2b_public` | `TpmPublic::{from_tpm2b, from_tpmt}`, `AkPublic::{from_spki_der, from_spki_pem}` |
//! | `vcek_extensions` | `AmdExtensions::from_certificate_der`, `VerifiedCaChain::verify_leaf` |
//! | `crl` | `check_revocation` with a CRL under a test-PKI chain |
//! | `evidence_json` | `Evidence::from_json` (v0, v1, v2, native) and its round trip, certificate files |
//! | `verifier` | the whole `Verifier` on real evidence mutated as the input says |
//! | `td_quote` | `TdQuote::parse`, and `verify_td_quote` with Azure's real collateral: what verifies carries Azure's signed body and QE report |
//! | `tdx_collateral` | `Collateral::from_json`, and `verify_td_quote` of Azure's real quote with it: what verifies carries the signed TCB info and QE identity; the same bytes as a PCS TCB info answer (`Collateral::from_pcs`, `verify_collateral`): what passes carries the signed TCB info |

use std::sync::OnceLock;

use hcl_parse::compose::HclReportBuilder;
use hcl_parse::{
    Generation, HashType, HclReport, RuntimeClaims, SnpReport, TcbComponents, expected_report_data,
    verify_report_data,
};
use snp_verify::{
    AmdExtensions, CertRole, Revocation, TrustAnchors, UnixTime, VerifiedCaChain, VerifiedLeaf,
    authenticate_report, check_revocation,
};
use snp_vtpm::vtpm_quote::{
    self, AkPublic, HashAlg, PcrValues, QuoteAttest, QuoteFile, QuoteSignature, TpmPublic,
};
use snp_vtpm::{
    Certificates, Evidence, EvidencePolicy, EvidenceVersion, ExpectedNonce, VerifiedEvidence,
    Verifier, VerifyOptions, certs,
};

use crate::azure::{SyntheticReport, synthetic_evidence};
use crate::evidence::{REAL_EVIDENCE_TIME, RealEvidence, real_evidence};
use crate::pki::{CrlSpec, LeafSpec, TestPki};
use crate::vectors;

/// Every fuzz target, by the name of its file in `fuzz/fuzz_targets/`.
pub const TARGETS: [&str; 13] = [
    "hcl_report",
    "snp_report",
    "runtime_claims",
    "tpms_attest",
    "tpmt_signature",
    "tpm2b_public",
    "vcek_extensions",
    "crl",
    "evidence_json",
    "verifier",
    "event_log",
    "td_quote",
    "tdx_collateral",
];

const TIME: UnixTime = UnixTime::from_secs(REAL_EVIDENCE_TIME);

/// Runs the target `name` on `data`; `false` if no target has that name.
pub fn run(name: &str, data: &[u8]) -> bool {
    let target: fn(&[u8]) = match name {
        "hcl_report" => hcl_report,
        "snp_report" => snp_report,
        "runtime_claims" => runtime_claims,
        "tpms_attest" => tpms_attest,
        "tpmt_signature" => tpmt_signature,
        "tpm2b_public" => tpm2b_public,
        "vcek_extensions" => vcek_extensions,
        "crl" => crl,
        "evidence_json" => evidence_json,
        "verifier" => verifier,
        "event_log" => event_log,
        "td_quote" => td_quote,
        "tdx_collateral" => tdx_collateral,
        _ => return false,
    };
    target(data);
    true
}

// --- Parsers. ---

/// An HCL report (NV contents): header, hardware report, request data, claims.
pub fn hcl_report(data: &[u8]) {
    let Ok(hcl) = HclReport::parse(data) else {
        return;
    };
    assert!(hcl.as_bytes().len() <= data.len());
    let _ = (
        hcl.version(),
        hcl.report_size(),
        hcl.request_type(),
        hcl.status(),
        hcl.data_size(),
        hcl.request_data_version(),
        hcl.capabilities(),
        hcl.report_type(),
        hcl.hash_type(),
        hcl.hardware_report().len(),
    );
    // The unsigned parts hold the one value every paravisor writes.
    assert_eq!((hcl.request_type(), hcl.status()), (2, 0));
    assert!(
        data.get(hcl.as_bytes().len()..)
            .unwrap_or_default()
            .iter()
            .all(|&b| b == 0),
        "non-zero NV padding accepted"
    );
    let _ = hcl.report_data();
    let bound = hcl.verify_report_data_binding().is_ok();
    if let Ok(snp) = hcl.snp_report() {
        exercise_snp(&snp);
    }
    runtime_claims(hcl.runtime_claims_bytes());
    if bound {
        let claims = hcl.runtime_claims_bytes();
        let report_data = hcl.report_data().unwrap_or(&[0; 64]);
        assert!(verify_report_data(hcl.hash_type(), claims, report_data).is_ok());
    }
}

fn exercise_snp(snp: &SnpReport<'_>) {
    let _ = (
        snp.version(),
        snp.is_newer_than_known_layout(),
        snp.guest_svn(),
        snp.policy().reserved_bits_valid(),
        snp.vmpl(),
        snp.signature_algo(),
        snp.platform_info().smt_enabled(),
        snp.key_info().signing_key(),
        snp.cpuid(),
        snp.is_chip_id_masked(),
        snp.current_version(),
        snp.committed_version(),
        snp.launch_mit_vector(),
        snp.current_mit_vector(),
        snp.reserved_bytes_are_zero(),
        snp.signed_bytes().len(),
    );
    if let Ok(Some(generation)) = snp.generation() {
        for tcb in [
            snp.current_tcb(),
            snp.reported_tcb(),
            snp.committed_tcb(),
            snp.launch_tcb(),
        ] {
            let _ = (
                tcb.components(generation),
                tcb.reserved_bytes_are_zero(generation),
            );
        }
    }
    let _ = snp_verify::report_signature(snp);
}

/// A raw 1184-byte SNP report, authenticated under every real VCEK whose chip it names.
pub fn snp_report(data: &[u8]) {
    let Ok(snp) = SnpReport::from_bytes(data) else {
        return;
    };
    exercise_snp(&snp);
    for real in real_leaves() {
        if authenticate_report(&snp, &real.chain, &real.leaf, TIME, None).is_ok() {
            assert!(
                real.signed_reports.iter().any(|r| r == snp.signed_bytes()),
                "a report that no real chip signed verifies under the VCEK of {}",
                real.name
            );
        }
    }
}

/// Runtime claims JSON.
pub fn runtime_claims(data: &[u8]) {
    assert!(
        verify_report_data(
            HashType::Sha256,
            data,
            &expected_report_data(HashType::Sha256, data)
        )
        .is_ok()
    );
    let Ok(claims) = RuntimeClaims::parse(data) else {
        return;
    };
    for key in claims.keys() {
        let _ = (
            key.kid(),
            key.kty(),
            key.modulus_base64url(),
            key.key_ops().count(),
        );
        if let Ok(numbers) = key.rsa_public_numbers() {
            let _ = AkPublic::from_jwk(&numbers).map(|ak| ak.fingerprint());
        }
    }
    if let Ok(ak) = claims.attestation_key() {
        let _ = ak.rsa_public_numbers();
    }
    let _ = claims.endorsement_key();
    let _ = (claims.vm_configuration, claims.user_data);
}

// --- The quote. ---

struct RealQuote {
    message: Vec<u8>,
    signature: Vec<u8>,
    ak: AkPublic,
    modulus: Vec<u8>,
    pcrs: PcrValues,
}

fn real_quote() -> &'static RealQuote {
    static QUOTE: OnceLock<RealQuote> = OnceLock::new();
    QUOTE.get_or_init(|| {
        let evidence = crate::evidence::milan_v2_evidence();
        let hcl = HclReport::parse(&evidence.hcl_report).expect("milan-v2 HCL report");
        let numbers = hcl
            .runtime_claims()
            .and_then(|c| c.attestation_key()?.rsa_public_numbers())
            .expect("milan-v2 AK");
        RealQuote {
            ak: AkPublic::from_jwk(&numbers).expect("milan-v2 AK is RSA-2048"),
            modulus: numbers.modulus,
            pcrs: evidence.quote.pcr_values().expect("milan-v2 PCRs"),
            message: evidence.quote.message,
            signature: evidence.quote.signature,
        }
    })
}

/// TPMS_ATTEST (and `quote.bin`), checked against the real milan-v2 AK and PCRs.
pub fn tpms_attest(data: &[u8]) {
    let _ = QuoteFile::from_quote_bin(data);
    let Ok(attest) = QuoteAttest::parse(data) else {
        return;
    };
    let _ = (
        attest.as_bytes(),
        attest.qualified_signer(),
        attest.extra_data(),
        attest.clock_info(),
        attest.firmware_version(),
        attest.selection().len(),
        attest.pcr_digest(),
    );
    let real = real_quote();
    let _ = vtpm_quote::check_nonce(&attest, b"challenge");
    let _ = vtpm_quote::check_qualified_signer(&attest, &real.modulus);
    for hash in [HashAlg::Sha1, HashAlg::Sha256, HashAlg::Sha384] {
        let _ = vtpm_quote::check_pcr_digest(&attest, hash, &real.pcrs);
    }
    let signature = QuoteSignature::parse_any(&real.signature).expect("real signature");
    if vtpm_quote::verify_quote(
        &attest,
        &signature,
        &real.ak,
        ExpectedNonce::Exactly(b"challenge"),
        &real.pcrs,
    )
    .is_ok()
    {
        assert_eq!(data, real.message.as_slice(), "a forged quote verifies");
    }
}

/// TPMT_SIGNATURE or a bare RSA signature, verified over the real milan-v2 quote.
pub fn tpmt_signature(data: &[u8]) {
    let _ = QuoteSignature::from_tpmt(data);
    let _ = QuoteSignature::bare_rsa(data);
    let Ok(signature) = QuoteSignature::parse_any(data) else {
        return;
    };
    let _ = (signature.hash(), signature.scheme_name());
    let real = real_quote();
    if vtpm_quote::verify_signature(&real.message, &signature, &real.ak).is_ok() {
        assert!(
            matches!(signature, QuoteSignature::RsaSsa { signature, .. }
                if signature == real.signature.as_slice()),
            "a forged quote signature verifies"
        );
    }
}

/// TPM2B_PUBLIC / TPMT_PUBLIC, and SubjectPublicKeyInfo (DER, PEM).
pub fn tpm2b_public(data: &[u8]) {
    let keys = [
        TpmPublic::from_tpm2b(data).ok().map(|p| p.key),
        TpmPublic::from_tpmt(data).ok().map(|public| {
            if public.name_alg == HashAlg::Sha256 {
                assert_eq!(public.name, vtpm_quote::name::sha256_name(data));
            }
            public.key
        }),
        AkPublic::from_spki_der(data).ok(),
        AkPublic::from_spki_pem(data).ok(),
    ];
    for key in keys.into_iter().flatten() {
        let _ = (key.fingerprint(), key.type_name());
        if let Some(modulus) = key.rsa_modulus() {
            let _ = vtpm_quote::name::azure_ak_qualified_signer(modulus);
        }
    }
}

// --- Certificates and CRLs. ---

/// A verified AMD chain, the real VCEK it verified, and the signed parts of the real reports
/// that VCEK signed.
struct RealLeaf {
    name: &'static str,
    chain: VerifiedCaChain,
    leaf: VerifiedLeaf,
    signed_reports: Vec<Vec<u8>>,
}

fn real_leaves() -> &'static [RealLeaf] {
    static LEAVES: OnceLock<Vec<RealLeaf>> = OnceLock::new();
    LEAVES.get_or_init(|| {
        vectors::snp_samples()
            .into_iter()
            .filter_map(|sample| {
                let ca: Vec<&[u8]> = sample.ca.iter().map(Vec::as_slice).collect();
                let chain = VerifiedCaChain::from_candidates(
                    &TrustAnchors::amd(),
                    &ca,
                    CertRole::Ask,
                    TIME,
                )
                .ok()?;
                let leaf = chain.verify_leaf(&sample.vcek, TIME).ok()?;
                let report = SnpReport::from_bytes(&sample.report)
                    .or_else(|_| HclReport::parse(&sample.report).and_then(|hcl| hcl.snp_report()))
                    .ok()?;
                Some(RealLeaf {
                    name: sample.name,
                    chain,
                    leaf,
                    signed_reports: vec![report.signed_bytes().to_vec()],
                })
            })
            .collect()
    })
}

struct RealChains {
    chains: Vec<VerifiedCaChain>,
    genuine: Vec<AmdExtensions>,
}

fn real_chains() -> &'static RealChains {
    static CHAINS: OnceLock<RealChains> = OnceLock::new();
    CHAINS.get_or_init(|| {
        let chains = ["milan", "genoa", "turin"]
            .iter()
            .filter_map(|product| {
                let ark = vectors::read_pem(&format!("amd/{product}/ark.pem")).swap_remove(0);
                let ask = vectors::read_pem(&format!("amd/{product}/ask.pem")).swap_remove(0);
                VerifiedCaChain::verify(&TrustAnchors::amd(), &ark, &ask, TIME).ok()
            })
            .collect();
        let genuine = real_vceks()
            .iter()
            .filter_map(|der| AmdExtensions::from_certificate_der(CertRole::Vcek, der).ok())
            .collect();
        RealChains { chains, genuine }
    })
}

/// Every real VCEK (DER) of the vectors.
pub fn real_vceks() -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = vectors::snp_samples().into_iter().map(|s| s.vcek).collect();
    all.push(vectors::read_pem("azure/genoa-v3/vcek-genoa.pem").swap_remove(0));
    all.push(vectors::read("snp/turin/vcek_turin.der"));
    all.sort();
    all.dedup();
    all
}

/// A VCEK or VLEK: its AMD extensions alone, then the whole leaf check under AMD's chains.
pub fn vcek_extensions(data: &[u8]) {
    for role in [CertRole::Vcek, CertRole::Vlek] {
        if let Ok(extensions) = AmdExtensions::from_certificate_der(role, data) {
            if role == CertRole::Vcek {
                let hw_id = extensions.hw_id.as_deref().unwrap_or_default();
                assert_eq!(hw_id.len(), extensions.generation.hwid_len());
            } else {
                assert!(extensions.csp_id.is_some());
            }
            let _ = serde_json::to_vec(&extensions);
        }
    }
    let _ = VerifiedCaChain::issuer_role_of_leaf(data);
    let real = real_chains();
    for chain in &real.chains {
        if let Ok(leaf) = chain.verify_leaf(data, TIME) {
            assert!(
                real.genuine.contains(leaf.extensions()),
                "a VCEK that AMD did not issue verifies: {:?}",
                leaf.extensions()
            );
        }
    }
}

/// The test PKI's Milan chain and the CRLs its ARK issued.
struct TestCrlContext {
    chain: VerifiedCaChain,
    genuine: Vec<Vec<u8>>,
}

const CRL_LEAF_SERIAL: u64 = 0x1234;

fn test_crls(pki: &TestPki) -> Vec<Vec<u8>> {
    let (this_update, next_update) = (REAL_EVIDENCE_TIME - 86_400, REAL_EVIDENCE_TIME + 86_400);
    vec![
        pki.crl(Generation::Milan, &CrlSpec::new(this_update, next_update)),
        pki.crl(
            Generation::Milan,
            &CrlSpec::new(this_update, next_update).revoke(CRL_LEAF_SERIAL, this_update),
        ),
        pki.crl(
            Generation::Milan,
            &CrlSpec::new(this_update, next_update)
                .revoke(7, this_update)
                .revoke(CRL_LEAF_SERIAL + 1, this_update),
        ),
    ]
}

fn crl_context() -> &'static TestCrlContext {
    static CONTEXT: OnceLock<TestCrlContext> = OnceLock::new();
    CONTEXT.get_or_init(|| {
        let pki = TestPki::shared();
        let ca = pki.product(Generation::Milan);
        let chain = VerifiedCaChain::verify(&pki.trust_anchors(), &ca.ark_der, &ca.ask_der, TIME)
            .expect("test PKI chain");
        let genuine = test_crls(pki).iter().map(|crl| crl_tbs(crl)).collect();
        TestCrlContext { chain, genuine }
    })
}

fn crl_tbs(der: &[u8]) -> Vec<u8> {
    use der::{Decode, Encode};
    <x509_cert::crl::CertificateList>::from_der(der)
        .and_then(|crl| crl.tbs_cert_list.to_der())
        .unwrap_or_default()
}

/// A KDS CRL, checked under the test PKI's Milan chain for its ASK and a VCEK.
pub fn crl(data: &[u8]) {
    let context = crl_context();
    let result = check_revocation(Revocation::Crl(data), &context.chain, TIME);
    if result.is_ok() {
        assert!(
            context.genuine.contains(&crl_tbs(data)),
            "a CRL the ARK did not sign is accepted"
        );
    }
}

// --- The TCG event log. ---

/// A TCG event log: parsing, replay, the whole-log summary, and the comparison with the
/// values it replays to in its SHA-256 bank alone (as a SHA-256 quote would attest them).
/// Whenever the comparison passes, no event of an attested PCR may carry data that contradicts
/// its attested digest, and the summary reports no contradicting event: what a policy reads is
/// what was measured.
pub fn event_log(data: &[u8]) {
    use tcg_eventlog::{DataBinding, EventLog};
    let Ok(log) = EventLog::parse(data) else {
        return;
    };
    let replay = log.replay();
    let _ = log.summary();
    for event in log.events() {
        let _ = (event.content().to_string(), event.data_binding());
    }
    let Some(bank) = replay.bank(HashAlg::Sha256) else {
        return;
    };
    let mut values = vtpm_quote::PcrValues::new();
    for pcr in 0..=23u8 {
        if let Some(value) = bank.value(pcr) {
            let _ = values.insert(HashAlg::Sha256, pcr, value);
        }
    }
    let Ok(verified) = log.check_against_values(&values) else {
        return;
    };
    for event in verified.attested_events().filter(|e| e.is_measured()) {
        assert_ne!(
            event.data_binding_in(&verified.attested_banks(event.pcr)),
            DataBinding::Contradicts,
            "event {} contradicts an attested digest and was accepted",
            event.index
        );
    }
    assert!(verified.summary().contradicting_events.is_empty());
}

// --- TDX. ---

/// 2026-02-18T14:04:40Z: inside Azure's TDX sample's collateral.
const TDX_TIME: UnixTime = UnixTime::from_secs(1_771_423_480);

/// Azure's real TD quote and collateral.
fn tdx_sample() -> &'static (Vec<u8>, tdx_verify::Collateral) {
    static SAMPLE: OnceLock<(Vec<u8>, tdx_verify::Collateral)> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let collateral = tdx_verify::Collateral::from_json(&vectors::read(
            "azure/tdx-vm1/intel-collateral.json",
        ))
        .expect("Azure's collateral parses");
        (vectors::read("azure/tdx-vm1/td-quote.bin"), collateral)
    })
}

/// Every genuine TD quote of the vectors: what a mutated quote may verify as.
fn genuine_td_quotes() -> &'static [Vec<u8>] {
    static QUOTES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    QUOTES.get_or_init(|| {
        [
            "azure/tdx-vm1/td-quote.bin",
            "intel/dcap-qvl/tdx_quote",
            "intel/dcap-qvl/tdx_quote_outdated",
        ]
        .into_iter()
        .map(vectors::read)
        .collect()
    })
}

/// A TD quote: parsing, then the whole verification with Azure's collateral. Whatever
/// verifies must carry the signed header and body, the QE report and its auth data of one of
/// the genuine quotes (another platform of the same FMSPC verifies with the same collateral).
pub fn td_quote(data: &[u8]) {
    let Ok(parsed) = tdx_verify::TdQuote::parse(data) else {
        return;
    };
    let (_, collateral) = tdx_sample();
    let roots = tdx_verify::IntelRoots::intel();
    if tdx_verify::verify_td_quote(data, collateral, &roots, TDX_TIME).is_ok() {
        let matches_genuine = genuine_td_quotes().iter().any(|genuine| {
            tdx_verify::TdQuote::parse(genuine).is_ok_and(|original| {
                parsed.signed == original.signed
                    && parsed.qe_report_bytes == original.qe_report_bytes
                    && parsed.qe_auth_data == original.qe_auth_data
            })
        });
        assert!(
            matches_genuine,
            "a TD quote whose signed parts differ from every genuine one verifies"
        );
    }
}

/// TDX collateral JSON: parsing, then the verification of Azure's real quote with it.
/// Whatever verifies must carry a TCB info and a QE identity as Intel signed them (those of
/// one of the genuine collaterals: another of the same FMSPC and day verifies too).
pub fn tdx_collateral(data: &[u8]) {
    static GENUINE: OnceLock<Vec<tdx_verify::Collateral>> = OnceLock::new();
    pcs_tcb_info_answer(data);
    let Ok(collateral) = tdx_verify::Collateral::from_json(data) else {
        return;
    };
    let (quote, _) = tdx_sample();
    let roots = tdx_verify::IntelRoots::intel();
    if tdx_verify::verify_td_quote(quote, &collateral, &roots, TDX_TIME).is_ok() {
        let genuine = GENUINE.get_or_init(|| {
            [
                "azure/tdx-vm1/intel-collateral.json",
                "intel/dcap-qvl/tdx_quote_collateral.json",
                "intel/dcap-qvl/tdx_quote_outdated_collateral.json",
            ]
            .into_iter()
            .filter_map(|path| tdx_verify::Collateral::from_json(&vectors::read(path)).ok())
            .collect()
        });
        assert!(
            genuine.iter().any(|g| g.tcb_info == collateral.tcb_info),
            "a changed TCB info verifies"
        );
        assert!(
            genuine
                .iter()
                .any(|g| g.qe_identity == collateral.qe_identity),
            "a changed QE identity verifies"
        );
    }
}

/// `data` as the body of a PCS TCB info answer, the other answers Azure's genuine ones:
/// assembled, then checked as a fetcher checks collateral before caching it. What passes must
/// carry the TCB info Intel signed, byte for byte.
fn pcs_tcb_info_answer(data: &[u8]) {
    use snp_vtpm::attest_prims::pem;
    let (quote, genuine) = tdx_sample();
    let chain = |ders: &[Vec<u8>]| -> String {
        ders.iter()
            .map(|der| pem::encode(pem::CERTIFICATE, der))
            .collect()
    };
    let (tcb_chain, qe_chain, crl_chain) = (
        chain(&genuine.tcb_info_issuer_chain),
        chain(&genuine.qe_identity_issuer_chain),
        chain(&genuine.pck_crl_issuer_chain),
    );
    let qe_identity = format!(
        "{{\"enclaveIdentity\":{},\"signature\":\"{}\"}}",
        genuine.qe_identity,
        hex::encode(&genuine.qe_identity_signature)
    );
    let Ok(collateral) = tdx_verify::Collateral::from_pcs(&tdx_verify::PcsAnswers {
        tcb_info: data,
        tcb_info_issuer_chain: tcb_chain.as_bytes(),
        qe_identity: qe_identity.as_bytes(),
        qe_identity_issuer_chain: qe_chain.as_bytes(),
        pck_crl: &genuine.pck_crl,
        pck_crl_issuer_chain: crl_chain.as_bytes(),
        root_ca_crl: &genuine.root_ca_crl,
    }) else {
        return;
    };
    let Ok(request) =
        tdx_verify::CollateralRequest::of_quote(quote, &tdx_verify::IntelRoots::intel(), TDX_TIME)
    else {
        return;
    };
    let roots = tdx_verify::IntelRoots::intel();
    if tdx_verify::verify_collateral(&collateral, &request, &roots, TDX_TIME).is_ok() {
        assert_eq!(
            collateral.tcb_info, genuine.tcb_info,
            "a changed TCB info answer passes the check before caching"
        );
    }
}

// --- Evidence and the whole verifier. ---

/// Evidence JSON in any format, its native round trip, and certificate files.
pub fn evidence_json(data: &[u8]) {
    let _ = QuoteFile::from_json(data);
    let _ = certs::certificates(data).map(certs::sort);
    let _ = Certificates::default().add_file(data);
    let Ok(evidence) = Evidence::from_json(data, snp_vtpm::DEFAULT_SIZE_LIMIT) else {
        return;
    };
    let _ = evidence.quote.pcr_values();
    let again = Evidence::from_json(&evidence.to_json(), usize::MAX)
        .expect("the native format reads back what it wrote");
    let version = match evidence.version {
        EvidenceVersion::V2 => EvidenceVersion::V2,
        _ => EvidenceVersion::V1,
    };
    assert_eq!(
        again,
        Evidence {
            version,
            ..evidence
        },
        "the native format changes evidence"
    );
}

/// Real evidence, its verifier inputs and what it verified to.
struct VerifierContext {
    verifier: Verifier,
    samples: Vec<(RealEvidence, VerifiedEvidence)>,
}

fn verifier_context() -> &'static VerifierContext {
    static CONTEXT: OnceLock<VerifierContext> = OnceLock::new();
    CONTEXT.get_or_init(|| {
        let verifier = Verifier::new(EvidencePolicy::preset("azure-cvm").expect("preset"));
        let samples = real_evidence()
            .into_iter()
            .map(|sample| {
                let verified = verifier
                    .verify(
                        &sample.evidence,
                        ExpectedNonce::Exactly(&sample.nonce),
                        &sample.certificates,
                        &VerifyOptions::at(TIME),
                    )
                    .unwrap_or_else(|e| panic!("{}: {e}", sample.name));
                (sample, verified)
            })
            .collect();
        VerifierContext { verifier, samples }
    })
}

/// The parts of a verdict that evidence authenticates (everything but the format label).
fn authenticated(verified: &VerifiedEvidence) -> impl PartialEq + std::fmt::Debug + '_ {
    (
        verified.report(),
        verified.quote(),
        verified.firmware(),
        verified.user_data(),
        verified.vm_configuration(),
        verified.ak_fingerprint(),
        verified.nonce_checked(),
        verified.report_bound_to_nonce(),
        verified.revocation(),
    )
}

/// Applies edits of 4 bytes each, `[kind, position high, position low, value]`: kind 0 XORs
/// the byte at the position (modulo the length) with the value, 1 sets it, 2 inserts the value
/// there, 3 truncates to the position when it is shorter.
pub fn apply_edits(bytes: &mut Vec<u8>, edits: &[u8]) {
    for edit in edits.chunks_exact(4) {
        let &[kind, high, low, value] = edit else {
            continue;
        };
        let position = usize::from(u16::from_be_bytes([high, low]));
        match kind % 4 {
            0 | 1 if !bytes.is_empty() => {
                let index = position % bytes.len();
                if let Some(byte) = bytes.get_mut(index) {
                    *byte = if kind % 4 == 0 { *byte ^ value } else { value };
                }
            }
            2 => bytes.insert(position.min(bytes.len()), value),
            3 => bytes.truncate(position),
            _ => {}
        }
    }
}

/// Which part of the evidence the verifier target mutates (the input's second byte, modulo 8).
pub const VERIFIER_FIELDS: [&str; 8] = [
    "hcl_report",
    "quote message",
    "quote signature",
    "PCR values (concatenated, re-split into 32-byte values)",
    "VCEK",
    "expected nonce",
    "ASK (first CA certificate)",
    "native evidence JSON",
];

/// The whole verifier on real evidence: the input's first byte picks the sample, the second
/// the field ([`VERIFIER_FIELDS`]), the rest are edits ([`apply_edits`]). Whatever verifies
/// must verify to exactly what the unmutated evidence verified to.
pub fn verifier(data: &[u8]) {
    let context = verifier_context();
    let [which, field, edits @ ..] = data else {
        return;
    };
    let Some((sample, original)) = context
        .samples
        .get(usize::from(*which) % context.samples.len())
    else {
        return;
    };
    let mut evidence = sample.evidence.clone();
    let mut certificates = sample.certificates.clone();
    let mut nonce = sample.nonce.clone();
    match field % 8 {
        0 => apply_edits(&mut evidence.hcl_report, edits),
        1 => apply_edits(&mut evidence.quote.message, edits),
        2 => apply_edits(&mut evidence.quote.signature, edits),
        3 => {
            let mut all = evidence.quote.pcrs.concat();
            apply_edits(&mut all, edits);
            evidence.quote.pcrs = all.chunks(32).map(<[u8]>::to_vec).collect();
        }
        4 => match (certificates.leaves.first_mut(), evidence.vcek.as_mut()) {
            (Some(leaf), _) | (None, Some(leaf)) => apply_edits(leaf, edits),
            (None, None) => {}
        },
        5 => apply_edits(&mut nonce, edits),
        6 => {
            if let Some(ask) = certificates.ca.first_mut() {
                apply_edits(ask, edits);
            }
        }
        _ => {
            let mut json = evidence.to_json();
            apply_edits(&mut json, edits);
            match Evidence::from_json(&json, snp_vtpm::DEFAULT_SIZE_LIMIT) {
                Ok(parsed) => evidence = parsed,
                Err(_) => return,
            }
        }
    }
    let result = context.verifier.verify(
        &evidence,
        ExpectedNonce::Exactly(&nonce),
        &certificates,
        &VerifyOptions::at(TIME),
    );
    if let Ok(verified) = result {
        assert_eq!(
            authenticated(&verified),
            authenticated(original),
            "mutated {} evidence verifies to other claims",
            sample.name
        );
    }
}

// --- Seeds. ---

/// One seed input of a target.
#[derive(Debug, Clone)]
pub struct Seed {
    /// The target.
    pub target: &'static str,
    /// A file name for it (unique within the target).
    pub name: String,
    /// The input.
    pub data: Vec<u8>,
}

/// The seed corpora of every target, from `../shared/vectors` and the test PKI.
pub fn seeds() -> Vec<Seed> {
    let mut out = Vec::new();
    let mut add = |target: &'static str, name: &str, data: Vec<u8>| {
        out.push(Seed {
            target,
            name: name.replace(['/', ' '], "-"),
            data,
        })
    };

    // HCL reports, SNP reports and runtime claims.
    let pki = TestPki::shared();
    let synthetic = SyntheticReport::new(&[0xC5; 256], [0x11; 64]).build(pki).0;
    let mut hcl_reports: Vec<(String, Vec<u8>)> = vectors::azure_snp_reports()
        .into_iter()
        .map(|r| (r.name.to_string(), r.bytes))
        .collect();
    hcl_reports.push(("tdx".into(), vectors::read("azure/tdx/hcl-report-tdx.bin")));
    hcl_reports.push(("synthetic".into(), synthetic));
    let raw_milan = vectors::raw_milan_report();
    hcl_reports.push((
        "request-data-v2".into(),
        HclReportBuilder::new(&raw_milan, br#"{"keys":[]}"#)
            .request_data_v2(1)
            .header_version(2)
            .build(),
    ));
    for (name, bytes) in &hcl_reports {
        add("hcl_report", name, bytes.clone());
        if let Ok(hcl) = HclReport::parse(bytes) {
            add("snp_report", name, hcl.hardware_report().to_vec());
            add("runtime_claims", name, hcl.runtime_claims_bytes().to_vec());
        }
    }
    add("snp_report", "snp-milan", raw_milan);
    add(
        "runtime_claims",
        "milan-2023-var-data",
        vectors::read("azure/milan-2023/var-data.bin"),
    );

    // Quotes, signatures and public keys.
    for sample in vectors::quote_samples() {
        add("tpms_attest", sample.name, sample.message.clone());
        add("tpmt_signature", sample.name, sample.signature.clone());
        let mut tpmt = vec![0x00, 0x14, 0x00, 0x0B];
        tpmt.extend_from_slice(&(sample.signature.len() as u16).to_be_bytes());
        tpmt.extend_from_slice(&sample.signature);
        add("tpmt_signature", &format!("{}-tpmt", sample.name), tpmt);
        if let Some(pem) = sample.ak_pem {
            add("tpm2b_public", &format!("{}-spki-pem", sample.name), pem);
        }
    }
    add(
        "tpms_attest",
        "milan-v2-quote.bin",
        vectors::read("azure/milan-v2/quote.bin"),
    );
    let modulus = &real_quote().modulus;
    let template = vtpm_quote::name::azure_ak_template(modulus);
    let mut tpm2b = (template.len() as u16).to_be_bytes().to_vec();
    tpm2b.extend_from_slice(&template);
    add("tpm2b_public", "milan-v2-ak-tpm2b", tpm2b);
    add("tpm2b_public", "milan-v2-ak-tpmt", template);
    if let Ok(pem) = std::str::from_utf8(&vectors::read("azure/quote-only/akpub.pem")) {
        let der = vectors::pem_blocks(pem);
        for (i, der) in der.into_iter().enumerate() {
            add("tpm2b_public", &format!("quote-only-spki-der-{i}"), der);
        }
    }

    // Certificates and CRLs.
    for (i, der) in real_vceks().into_iter().enumerate() {
        add("vcek_extensions", &format!("real-vcek-{i}"), der);
    }
    let tcb = TcbComponents {
        fmc: Some(1),
        ..crate::azure::TEST_TCB
    };
    add(
        "vcek_extensions",
        "test-vlek-milan",
        pki.issue_leaf(&LeafSpec::vlek(
            Generation::Milan,
            "Microsoft",
            crate::azure::TEST_TCB,
        ))
        .der,
    );
    add(
        "vcek_extensions",
        "test-vcek-turin",
        pki.issue_leaf(&LeafSpec::vcek(Generation::Turin, &[0x42; 8], tcb))
            .der,
    );
    for (i, crl) in test_crls(pki).into_iter().enumerate() {
        add("crl", &format!("test-pki-milan-{i}"), crl);
    }
    // Issue 15: CRLs with critical extensions, and a forged CRL (another PKI's ARK) that
    // claims to be current until 2099.
    let (this_update, next_update) = (REAL_EVIDENCE_TIME - 86_400, REAL_EVIDENCE_TIME + 86_400);
    add(
        "crl",
        "critical-delta-crl-indicator",
        pki.crl(
            Generation::Milan,
            &CrlSpec::new(this_update, next_update).extension("2.5.29.27", true, &[2, 1, 1]),
        ),
    );
    add(
        "crl",
        "critical-entry-certificate-issuer",
        pki.crl(
            Generation::Milan,
            &CrlSpec::new(this_update, next_update)
                .revoke(7, this_update)
                .entry_extension("2.5.29.29", true, &[0x30, 0x00]),
        ),
    );
    add(
        "crl",
        "forged-next-update-2099",
        TestPki::new(2).crl(Generation::Milan, &CrlSpec::new(this_update, 4_102_444_800)),
    );

    // Evidence.
    for (name, path) in [
        ("milan-v3-v0", "azure/milan-v3/evidence-v0.json"),
        (
            "milan-v3-userdata-v2",
            "azure/milan-v3-userdata/evidence-v2.json",
        ),
        ("genoa-v3-v0", "azure/genoa-v3/evidence-genoa.json"),
        ("milan-v2-quote-json", "azure/milan-v2/tpm-quote-v1.json"),
        ("genoa-vcek-pem", "azure/genoa-v3/vcek-genoa.pem"),
    ] {
        add("evidence_json", name, vectors::read(path));
    }
    add(
        "evidence_json",
        "milan-v2-native",
        crate::evidence::milan_v2_evidence().to_json(),
    );
    add(
        "evidence_json",
        "synthetic-native-v2",
        synthetic_evidence(pki, &SyntheticReport::new(&[], [0; 64]), b"nonce", true).json,
    );
    // Issue 15: a native evidence whose pcr_indices name PCR 0 twice.
    let mut duplicate = crate::evidence::milan_v2_evidence();
    let mut indices: Vec<u8> = (0..24).collect();
    indices[1] = 0;
    duplicate.quote.pcr_indices = Some(indices);
    add(
        "evidence_json",
        "duplicate-pcr-indices",
        duplicate.to_json(),
    );

    // Issue 15: HCL reports whose unsigned parts were changed.
    let genuine = crate::evidence::milan_v2_evidence().hcl_report;
    let unsigned_edits: [(&str, usize, u8); 5] = [
        ("request-type", 0x0C, 1),
        ("status", 0x10, 5),
        ("reserved", 0x1F, 0x80),
        ("snp-tail", 0x20 + 0x400, 1),
        ("nv-padding", genuine.len() - 1, 0xFF),
    ];
    for (name, offset, value) in unsigned_edits {
        let mut bytes = genuine.clone();
        if let Some(byte) = bytes.get_mut(offset) {
            *byte = value;
        }
        add("hcl_report", &format!("unsigned-{name}"), bytes);
    }

    // Event logs: the real ones, a generated boot, and the shapes of issue 15 (a second
    // command line whose SHA-1 digest is zeroed; data altered under its digest).
    for name in [
        "ubuntu-2404-amd-sevsnp.bin",
        "cos-101-amd-sev.bin",
        "rhel8-uefi.bin",
        "arch-linux-workstation.bin",
    ] {
        add(
            "event_log",
            name,
            vectors::read(&format!("eventlog/{name}")),
        );
    }
    for (name, log) in crafted_event_logs() {
        add("event_log", name, log);
    }

    for (name, quote, collateral) in [
        (
            "azure",
            "azure/tdx-vm1/td-quote.bin",
            "azure/tdx-vm1/intel-collateral.json",
        ),
        (
            "v4",
            "intel/dcap-qvl/tdx_quote",
            "intel/dcap-qvl/tdx_quote_collateral.json",
        ),
        (
            "v5",
            "intel/dcap-qvl/tdx_quote_outdated",
            "intel/dcap-qvl/tdx_quote_outdated_collateral.json",
        ),
    ] {
        add("td_quote", name, vectors::read(quote));
        add("tdx_collateral", name, vectors::read(collateral));
    }

    for which in 0..4u8 {
        for field in 0..8u8 {
            add(
                "verifier",
                &format!("sample{which}-field{field}"),
                vec![which, field],
            );
            add(
                "verifier",
                &format!("sample{which}-field{field}-flip"),
                vec![which, field, 0, 0, 0x30, 0x01],
            );
        }
    }
    out
}

/// Event logs of the shapes issue 15 describes, for the seed corpus and tests.
pub fn crafted_event_logs() -> Vec<(&'static str, Vec<u8>)> {
    use tcg_eventlog::EventType;
    let allowed = "/vmlinuz-6.8.0 root=/dev/vda1 ro";
    let evil = "/vmlinuz-6.8.0 root=/dev/vda1 init=/bin/sh";
    let boot = crate::eventlog::linux_boot_log(true, allowed);
    let mut second =
        tcg_eventlog::compose::EventLogBuilder::crypto_agile(&[HashAlg::Sha1, HashAlg::Sha256]);
    second
        .separators(0..=7)
        .kernel_cmdline(allowed)
        .measure_digests(
            8,
            EventType::IPL,
            &[
                (HashAlg::Sha1, vec![0; 20]),
                (
                    HashAlg::Sha256,
                    HashAlg::Sha256.hash_parts([evil.as_bytes()]),
                ),
            ],
            format!("kernel_cmdline: {evil}\0").as_bytes(),
        );
    let mut altered = boot.clone();
    if let Some(at) = altered
        .windows(allowed.len())
        .rposition(|w| w == allowed.as_bytes())
        && let Some(byte) = altered.get_mut(at)
    {
        *byte ^= 0x20;
    }
    // The second review's shapes: a command line that is not UTF-8, GRUB's command line
    // relabelled as EV_POST_CODE, a systemd command line with a lone surrogate in PCR 12, and
    // the firmware's SecureBoot=0 relabelled as a boot variable with a SecureBoot=1 after it.
    let mut shapes =
        tcg_eventlog::compose::EventLogBuilder::crypto_agile(&[HashAlg::Sha1, HashAlg::Sha256]);
    let not_utf8 = b"/vmlinuz init=/bin/sh x=a\xD8zz";
    let mut lone_surrogate: Vec<u8> = "init=/bin/sh "
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    lone_surrogate.extend_from_slice(&0xD800u16.to_le_bytes());
    shapes
        .measure(
            7,
            EventType::EFI_VARIABLE_BOOT,
            &tcg_eventlog::compose::uefi_variable(
                &tcg_eventlog::EFI_GLOBAL_VARIABLE,
                "SecureBoot",
                &[0],
            ),
        )
        .separators(0..=7)
        .efi_variable(&tcg_eventlog::EFI_GLOBAL_VARIABLE, "SecureBoot", &[1])
        .kernel_cmdline(allowed)
        .measure_hashing(
            8,
            EventType::IPL,
            not_utf8,
            &[&b"kernel_cmdline: "[..], not_utf8, b"\0"].concat(),
        )
        .measure_hashing(
            8,
            EventType::POST_CODE,
            evil.as_bytes(),
            format!("kernel_cmdline: {evil}\0").as_bytes(),
        )
        .measure(12, EventType::IPL, &lone_surrogate);
    vec![
        ("generated-linux-boot", boot),
        ("second-cmdline-sha1-zeroed", second.build()),
        ("data-altered-under-its-digest", altered),
        ("relabelled-and-undecodable", shapes.build()),
    ]
}
