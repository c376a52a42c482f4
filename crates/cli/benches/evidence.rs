//! `evidence`: the facade verifying the real milan-v2 evidence (SNP report, AMD chain,
//! runtime claims, vTPM quote, policy) in the three cases a verifier service meets, the parts
//! on their own, and the batch API. Criterion group `snp-vtpm`; `cargo xtask bench` compares
//! it with the peers of `bench-peers/` (az-snp-vtpm, aws-lc-rs, sev).
//!
//! | benchmark | what one iteration does |
//! |---|---|
//! | `verify_uncached` | `Verifier::verify` with no cache: ARK, ASK, VCEK, report, claims, quote, policy |
//! | `verify_chain_cached` | the AMD chain cached; the VCEK parsed and verified per evidence, its P-384 table found by certificate hash ([`CacheMode::Chain`]) |
//! | `verify_chain_cached_new_vcek` | as above with no key tables (every VCEK new to the verifier) |
//! | `verify_vcek_cached` | chain and VCEK cached ([`CacheMode::ChainAndLeaf`]) |
//! | `verify_tdx_uncached` | the real Azure TDX evidence (`tdx-vm1`) under `azure-tdx`: TD quote with its collateral (PCK chain, two CRLs, TCB info, QE identity: nine ECDSA P-256 signatures), TDREPORT binding, claims, quote, and its AK certificate (RSA-4096 root) |
//! | `verify_tdx_no_ak_certificate` | the same with `ak_certificate = "ignored"`, comparable with `verify_uncached` (milan-v2 carries no AK certificate) |
//! | `report_signature` | SHA-384 + ECDSA P-384, fast engine with the VCEK's table |
//! | `report_signature_no_table` | fast engine, no table (wNAF) |
//! | `report_signature_stock` | p384's verifier |
//! | `quote` | `verify_quote` (RSA-2048 PKCS#1, nonce, PCR digest), AK parsed beforehand |
//! | `parse` | the HCL and SNP report views |
//! | `batch_threads_{1,2}` | `verify_batch_on` over 32 evidences (VCEK cached), per batch |
// Benchmark code: a panic is a failed run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::sync::Arc;

use attest_prims::ecdsa::{EcdsaEngine, verify_p384_prehash};
use criterion::{Criterion, SamplingMode, Throughput};
use sha2::Digest;
use snp_verify::hcl_parse::HclReport;
use snp_verify::{UnixTime, report_signature};
use snp_vtpm::vtpm_quote::{AkPublic, QuoteAttest, QuoteSignature, verify_quote};
use snp_vtpm::{
    BatchItem, CacheLimits, CacheMode, Certificates, Evidence, EvidencePolicy, ExpectedNonce,
    VerificationCache, Verifier, VerifyOptions,
};

const TIME: UnixTime = UnixTime::from_secs(1_748_736_000);
const NONCE: &[u8] = b"challenge";
const BATCH: usize = 32;

fn evidence() -> Evidence {
    snp_vtpm_testkit::evidence::milan_v2_evidence()
}

fn amd_chain() -> Certificates {
    snp_vtpm_testkit::evidence::amd_chain("milan")
}

fn verifier(cache: Option<(CacheMode, CacheLimits)>) -> Verifier {
    let verifier = Verifier::new(EvidencePolicy::preset("azure-cvm").expect("preset"));
    match cache {
        Some((mode, limits)) => verifier.with_cache(Arc::new(VerificationCache::new(mode, limits))),
        None => verifier,
    }
}

fn main() {
    let evidence = evidence();
    let certificates = amd_chain();
    let options = VerifyOptions::at(TIME);
    let nonce = ExpectedNonce::Exactly(NONCE);
    let no_tables = CacheLimits {
        key_tables: 0,
        ..CacheLimits::default()
    };
    let cases = [
        ("verify_uncached", verifier(None)),
        (
            "verify_chain_cached",
            verifier(Some((CacheMode::Chain, CacheLimits::default()))),
        ),
        (
            "verify_chain_cached_new_vcek",
            verifier(Some((CacheMode::Chain, no_tables))),
        ),
        (
            "verify_vcek_cached",
            verifier(Some((CacheMode::ChainAndLeaf, CacheLimits::default()))),
        ),
    ];
    // Everything must pass once (which also fills the caches) before it is timed.
    for (name, verifier) in &cases {
        verifier
            .verify(&evidence, nonce, &certificates, &options)
            .unwrap_or_else(|e| panic!("{name}: the milan-v2 evidence must verify: {e}"));
    }

    let hcl = HclReport::parse(&evidence.hcl_report).expect("HCL report");
    let report = hcl.snp_report().expect("SNP report");
    let chain = snp_verify::VerifiedCaChain::verify(
        &snp_verify::TrustAnchors::amd(),
        &certificates.ca[1],
        &certificates.ca[0],
        TIME,
    )
    .or_else(|_| {
        snp_verify::VerifiedCaChain::verify(
            &snp_verify::TrustAnchors::amd(),
            &certificates.ca[0],
            &certificates.ca[1],
            TIME,
        )
    })
    .expect("Milan chain");
    let mut leaf = chain
        .verify_leaf(evidence.vcek.as_deref().expect("VCEK"), TIME)
        .expect("VCEK");
    let bare_leaf = leaf.clone();
    leaf.precompute_key_table();
    let claims = hcl.runtime_claims().expect("claims");
    let ak = AkPublic::from_jwk(
        &claims
            .attestation_key()
            .and_then(|k| k.rsa_public_numbers())
            .expect("AK"),
    )
    .expect("AK key");
    let pcrs = evidence.quote.pcr_values().expect("PCRs");

    let tdx_evidence = snp_vtpm_testkit::evidence::tdx_vm1_evidence();
    let tdx_collateral = snp_vtpm_testkit::evidence::tdx_vm1_collateral();
    let tdx_options = VerifyOptions::at(UnixTime::from_secs(
        snp_vtpm_testkit::evidence::TDX_EVIDENCE_TIME,
    ));
    let tdx_nonce = ExpectedNonce::Exactly(&[0; 32]);
    let tdx_cases = [
        (
            "verify_tdx_uncached",
            Verifier::new(EvidencePolicy::preset("azure-tdx").expect("preset")),
        ),
        (
            "verify_tdx_no_ak_certificate",
            Verifier::new(
                EvidencePolicy::from_document(
                    serde_json::json!({ "ak_certificate": "ignored" }),
                    "azure-tdx",
                )
                .expect("policy"),
            ),
        ),
    ];
    for (name, verifier) in &tdx_cases {
        verifier
            .verify(&tdx_evidence, tdx_nonce, &tdx_collateral, &tdx_options)
            .unwrap_or_else(|e| panic!("{name}: the tdx-vm1 evidence must verify: {e}"));
    }

    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("snp-vtpm");
    group.sampling_mode(SamplingMode::Flat);
    for (name, verifier) in &cases {
        group.bench_function(*name, |b| {
            b.iter(|| {
                verifier
                    .verify(black_box(&evidence), nonce, &certificates, &options)
                    .is_ok()
            })
        });
    }
    for (name, verifier) in &tdx_cases {
        group.bench_function(*name, |b| {
            b.iter(|| {
                verifier
                    .verify(
                        black_box(&tdx_evidence),
                        tdx_nonce,
                        &tdx_collateral,
                        &tdx_options,
                    )
                    .is_ok()
            })
        });
    }
    let signature_cases = [
        ("report_signature", &leaf, EcdsaEngine::Fast),
        ("report_signature_no_table", &bare_leaf, EcdsaEngine::Fast),
        ("report_signature_stock", &bare_leaf, EcdsaEngine::Stock),
    ];
    for (name, leaf, engine) in signature_cases {
        group.bench_function(name, |b| {
            b.iter(|| {
                // As snp-verify checks it: SHA-384 of the signed bytes, R and S decoded, ECDSA.
                let digest: [u8; 48] =
                    sha2::Sha384::digest(black_box(&report).signed_bytes()).into();
                report_signature(&report).is_ok_and(|signature| {
                    let table = leaf.key_table().map(|t| t.as_ref());
                    verify_p384_prehash(engine, leaf.key(), table, &digest, &signature)
                })
            })
        });
    }
    group.bench_function("quote", |b| {
        b.iter(|| {
            let signature =
                QuoteSignature::parse_any(&evidence.quote.signature).expect("signature");
            verify_quote(
                &QuoteAttest::parse(black_box(&evidence.quote.message)).unwrap(),
                &signature,
                &ak,
                ExpectedNonce::Exactly(NONCE),
                &pcrs,
            )
            .is_ok()
        })
    });
    group.sampling_mode(SamplingMode::Auto);
    group.bench_function("parse", |b| {
        b.iter(|| {
            let hcl = HclReport::parse(black_box(&evidence.hcl_report)).expect("HCL report");
            let snp = hcl.snp_report().expect("SNP report");
            black_box((hcl.runtime_claims_bytes().len(), snp.version()))
        })
    });
    group.finish();

    let batch_verifier = verifier(Some((CacheMode::ChainAndLeaf, CacheLimits::default())));
    let items: Vec<BatchItem<'_>> = (0..BATCH)
        .map(|_| BatchItem {
            evidence: &evidence,
            nonce,
            certificates: &certificates,
            options,
        })
        .collect();
    assert!(
        batch_verifier
            .verify_batch(&items)
            .iter()
            .all(Result::is_ok),
        "the batch verifies"
    );
    let mut group = criterion.benchmark_group("snp-vtpm-batch");
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(BATCH as u64));
    for threads in [1, 2] {
        group.bench_function(format!("threads_{threads}"), |b| {
            b.iter(|| batch_verifier.verify_batch_on(black_box(&items), threads))
        });
    }
    group.finish();
    criterion.final_summary();
}
