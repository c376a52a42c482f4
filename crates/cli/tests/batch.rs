//! The batch API and the verification cache: the same verdicts as one-by-one verification
//! without a cache, in input order, for good and bad evidence.
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
    BatchItem, CacheLimits, CacheMode, Certificates, Evidence, EvidencePolicy, ExpectedNonce,
    VerificationCache, Verifier, VerifyOptions,
};

const TIME: UnixTime = UnixTime::from_secs(1_748_736_000);

fn milan_v2() -> Evidence {
    snp_vtpm_testkit::evidence::milan_v2_evidence()
}

fn milan_chain() -> Certificates {
    snp_vtpm_testkit::evidence::amd_chain("milan")
}

fn verifier() -> Verifier {
    Verifier::new(EvidencePolicy::preset("azure-cvm").unwrap())
}

#[test]
fn batch_matches_one_by_one_in_order_with_every_cache_mode() {
    let good = milan_v2();
    let mut bad_signature = milan_v2();
    // One bit of the report's signed part (report_data region of the SNP report).
    bad_signature.hcl_report[0x20 + 0x60] ^= 1;
    let mut bad_quote = milan_v2();
    let last = bad_quote.quote.signature.len() - 1;
    bad_quote.quote.signature[last] ^= 1;
    let certificates = milan_chain();
    let options = VerifyOptions::at(TIME);
    let wrong_nonce = ExpectedNonce::Exactly(b"not the challenge");
    let right_nonce = ExpectedNonce::Exactly(b"challenge");
    let cases = [
        (&good, right_nonce),
        (&bad_signature, right_nonce),
        (&good, wrong_nonce),
        (&bad_quote, right_nonce),
        (&good, right_nonce),
        (&good, right_nonce),
        (&good, right_nonce),
    ];
    let items: Vec<BatchItem<'_>> = cases
        .iter()
        .map(|(evidence, nonce)| BatchItem {
            evidence,
            nonce: *nonce,
            certificates: &certificates,
            options,
        })
        .collect();
    let expected: Vec<Result<_, String>> = items
        .iter()
        .map(|i| {
            verifier()
                .verify(i.evidence, i.nonce, i.certificates, &i.options)
                .map_err(|e| e.to_string())
        })
        .collect();
    assert!(expected[0].is_ok() && expected[1].is_err() && expected[2].is_err());
    assert!(expected[3].is_err() && expected[4].is_ok());

    let table_now = CacheLimits {
        table_at_use: 1,
        ..CacheLimits::default()
    };
    let verifiers = [
        verifier(),
        verifier().with_cache(Arc::new(VerificationCache::new(
            CacheMode::Chain,
            CacheLimits::default(),
        ))),
        verifier().with_cache(Arc::new(VerificationCache::new(
            CacheMode::Chain,
            table_now,
        ))),
        verifier().with_cache(Arc::new(VerificationCache::new(
            CacheMode::ChainAndLeaf,
            table_now,
        ))),
    ];
    for verifier in &verifiers {
        for threads in [1, 2, 3] {
            // Twice: the second round runs on filled caches.
            for _ in 0..2 {
                let results: Vec<Result<_, String>> = verifier
                    .verify_batch_on(&items, threads)
                    .into_iter()
                    .map(|r| r.map_err(|e| e.to_string()))
                    .collect();
                assert_eq!(results, expected, "{threads} threads");
            }
        }
        assert_eq!(verifier.verify_batch(&items).len(), items.len());
    }
}

#[test]
fn a_cached_chain_is_still_checked_against_the_time() {
    let cache = Arc::new(VerificationCache::new(
        CacheMode::ChainAndLeaf,
        CacheLimits::default(),
    ));
    let verifier = verifier().with_cache(cache);
    let evidence = milan_v2();
    let certificates = milan_chain();
    let nonce = ExpectedNonce::Exactly(b"challenge");
    verifier
        .verify(&evidence, nonce, &certificates, &VerifyOptions::at(TIME))
        .unwrap();
    // Year 2200: every certificate has expired, cached or not.
    let late = VerifyOptions::at(UnixTime::from_secs(7_258_118_400));
    assert!(
        verifier
            .verify(&evidence, nonce, &certificates, &late)
            .is_err()
    );
    assert!(
        verifier
            .verify(&evidence, nonce, &certificates, &VerifyOptions::at(TIME))
            .is_ok()
    );
}

#[test]
fn a_vcek_gets_its_table_at_its_second_use_in_every_mode() {
    for mode in [CacheMode::Chain, CacheMode::ChainAndLeaf] {
        let cache = Arc::new(VerificationCache::new(mode, CacheLimits::default()));
        let verifier = verifier().with_cache(Arc::clone(&cache));
        let evidence = milan_v2();
        let certificates = milan_chain();
        let nonce = ExpectedNonce::Exactly(b"challenge");
        let options = VerifyOptions::at(TIME);
        verifier
            .verify(&evidence, nonce, &certificates, &options)
            .unwrap();
        assert_eq!(
            cache.key_table_count(),
            0,
            "{mode:?}: no table at first sight"
        );
        verifier
            .verify(&evidence, nonce, &certificates, &options)
            .unwrap();
        assert_eq!(
            cache.key_table_count(),
            1,
            "{mode:?}: a table at the second use"
        );
        verifier
            .verify(&evidence, nonce, &certificates, &options)
            .unwrap();
        assert_eq!(cache.key_table_count(), 1, "{mode:?}");
    }
}
