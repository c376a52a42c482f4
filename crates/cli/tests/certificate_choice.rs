//! Which chain and which leaf verify a report when several are given (issue 15, finding 4):
//! one bundle with every AMD chain serves every product, a VCEK of another chip beside the
//! evidence does not shadow the evidence's own, and a shared cache keeps chains apart by the
//! leaf's issuer and refuses a verifier with other trust anchors.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use snp_verify::UnixTime;
use snp_vtpm::{
    CacheLimits, CacheMode, Certificates, Check, ErrorKind, EvidencePolicy, ExpectedNonce,
    VerificationCache, Verifier, VerifyOptions,
};
use snp_vtpm_testkit::evidence::{RealEvidence, real_evidence};
use snp_vtpm_testkit::pki::TestPki;
use snp_vtpm_testkit::vectors;

const TIME: UnixTime = UnixTime::from_secs(1_748_736_000);

fn azure() -> Verifier {
    Verifier::new(EvidencePolicy::preset("azure-cvm").unwrap())
}

/// ASK, ASVK and ARK of Milan, Genoa and Turin in one list, Milan first (as a deployment's
/// `amd-chains.pem` would hold them).
fn every_amd_chain() -> Certificates {
    let mut bundle = Certificates::default();
    for product in ["milan", "genoa", "turin"] {
        for file in ["ask", "asvk", "ark"] {
            bundle
                .add_file(&vectors::read(&format!("amd/{product}/{file}.pem")))
                .unwrap();
        }
    }
    bundle
}

/// The sample's certificates with the CA part replaced by every AMD chain.
fn with_bundle(sample: &RealEvidence) -> Certificates {
    Certificates {
        leaves: sample.certificates.leaves.clone(),
        ..every_amd_chain()
    }
}

fn verify(verifier: &Verifier, sample: &RealEvidence, certificates: &Certificates) {
    verifier
        .verify(
            &sample.evidence,
            ExpectedNonce::Exactly(&sample.nonce),
            certificates,
            &VerifyOptions::at(TIME),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", sample.name));
}

#[test]
fn one_bundle_of_every_amd_chain_verifies_every_product() {
    for sample in real_evidence() {
        verify(&azure(), &sample, &with_bundle(&sample));
    }
}

#[test]
fn a_shared_cache_keeps_each_products_chain_apart() {
    for mode in [CacheMode::Chain, CacheMode::ChainAndLeaf] {
        let cache = Arc::new(VerificationCache::new(mode, CacheLimits::default()));
        let verifier = azure().with_cache(cache);
        // Milan first, so a cache keyed without the leaf's issuer would hand Genoa Milan's
        // chain from the same bundle.
        for sample in real_evidence().iter().chain(real_evidence().iter().rev()) {
            verify(&verifier, sample, &with_bundle(sample));
        }
    }
}

#[test]
fn a_vcek_of_another_chip_does_not_shadow_the_evidences_own() {
    let samples = real_evidence();
    let genoa_vcek = samples
        .iter()
        .find(|s| s.name == "genoa-v3")
        .and_then(|s| s.certificates.leaves.first().cloned())
        .unwrap();
    // milan-v3 carries its VCEK; a Genoa VCEK given beside it (say in a --chain bundle) is
    // tried first, fails to match, and the evidence's own is used.
    let milan = samples.iter().find(|s| s.name == "milan-v3").unwrap();
    assert!(milan.evidence.vcek.is_some());
    let mut certificates = with_bundle(milan);
    certificates.leaves.insert(0, genoa_vcek.clone());
    verify(&azure(), milan, &certificates);

    // With no matching candidate at all, the error is the first candidate's.
    let mut only_foreign = milan.evidence.clone();
    only_foreign.vcek = None;
    let err = azure()
        .verify(
            &only_foreign,
            ExpectedNonce::Exactly(&milan.nonce),
            &certificates,
            &VerifyOptions::at(TIME),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
    assert!(
        matches!(err.check(), Check::VcekBinding | Check::Chain),
        "{err}"
    );
}

#[test]
fn a_cache_is_bound_to_the_anchors_of_its_first_use() {
    let samples = real_evidence();
    let sample = &samples[0];
    let cache = Arc::new(VerificationCache::new(
        CacheMode::ChainAndLeaf,
        CacheLimits::default(),
    ));
    verify(
        &azure().with_cache(Arc::clone(&cache)),
        sample,
        &sample.certificates,
    );
    let other = Verifier::with_anchors(
        TestPki::shared().trust_anchors(),
        EvidencePolicy::preset("azure-cvm").unwrap(),
    )
    .with_cache(cache);
    let err = other
        .verify(
            &sample.evidence,
            ExpectedNonce::Exactly(&sample.nonce),
            &sample.certificates,
            &VerifyOptions::at(TIME),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input, "{err}");
    assert!(err.message().contains("other trust anchors"), "{err}");
}

/// The second outside review: hundreds of copies of the ARK and of a broken ASK in one
/// evidence cost one RSA check per pair. Evidence carries at most MAX_CERT_CHAIN certificates,
/// copies count once, and past a few candidate intermediates the search stops.
#[test]
fn certificate_lists_cannot_multiply_signature_checks() {
    use snp_verify::{CertRole, TrustAnchors, VerifiedCaChain};
    let sample = &real_evidence()[0];
    let ark = vectors::read_pem("amd/milan/ark.pem").remove(0);
    let ask = vectors::read_pem("amd/milan/ask.pem").remove(0);

    let mut long = sample.evidence.clone();
    long.cert_chain = vec![ark.clone(); snp_vtpm::MAX_CERT_CHAIN + 1];
    let err =
        snp_vtpm::Evidence::from_json(&long.to_json(), snp_vtpm::DEFAULT_SIZE_LIMIT).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input, "{err}");
    assert!(err.message().contains("at most"), "{err}");

    // Copies count once: 200 ARKs and 200 ASKs verify as one chain.
    let copies: Vec<&[u8]> = std::iter::repeat_n(ark.as_slice(), 200)
        .chain(std::iter::repeat_n(ask.as_slice(), 200))
        .collect();
    VerifiedCaChain::from_candidates(&TrustAnchors::amd(), &copies, CertRole::Ask, TIME).unwrap();

    // Distinct broken intermediates: refused after a bound, not after one check each.
    let broken: Vec<Vec<u8>> = (0..40usize)
        .map(|i| {
            let mut der = ask.clone();
            let at = der.len() - 1 - i;
            der[at] ^= 1;
            der
        })
        .collect();
    let mut candidates: Vec<&[u8]> = vec![ark.as_slice()];
    candidates.extend(broken.iter().map(Vec::as_slice));
    let started = std::time::Instant::now();
    let err =
        VerifiedCaChain::from_candidates(&TrustAnchors::amd(), &candidates, CertRole::Ask, TIME)
            .unwrap_err();
    assert!(
        err.to_string().contains("refusing to check them all"),
        "{err}"
    );
    eprintln!("40 broken ASKs refused in {:?}", started.elapsed());
}
