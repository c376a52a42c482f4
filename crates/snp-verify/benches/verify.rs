//! `verify`: the cost of each step of SNP report verification over the real Azure Milan
//! evidence (`azure/milan-v2`), at 2025-06-01.
//!
//! | benchmark | what one iteration does |
//! |---|---|
//! | `snp/report_signature` | ECDSA P-384 report signature under an already parsed VCEK key |
//! | `snp/vcek_parse_and_verify` | parse the VCEK DER and verify it under a cached CA chain |
//! | `snp/ca_chain` | parse and verify ARK and ASK, both pinned (no signature to check) |
//! | `snp/ca_chain_every_signature` | the same with the ARK's self-signature and the ASK's signature checked |
//! | `snp/verify_cached_chain` | `verify_report_with`, chain and VCEK cached |
//! | `snp/verify_cached_chain_vcek_parsed` | VCEK parsed and verified, then `verify_report_with` |
//! | `snp/verify_uncached` | `verify_report` from the report bytes and the three DERs |
//!
//! The names are read by `cargo xtask bench`, which compares them with the `sev` crate's
//! backends (`bench-peers/`). The vectors are found at `$SNP_VTPM_VECTORS`, else at
//! `../shared/vectors` beside the checkout.
// Benchmark code: a panic is a failed run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::path::PathBuf;

use attest_prims::ecdsa::{EcdsaEngine, verify_p384_prehash};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use sha2::Digest;
use snp_verify::hcl_parse::SnpReport;
use snp_verify::{
    CertRole, P384KeyTable, Policy, ReportOptions, TrustAnchors, UnixTime, VerifiedCaChain,
    report_signature, verify_report, verify_report_signature, verify_report_with,
};

/// The report signature under one engine, as `verify_report_signature` checks it: the SHA-384
/// of the signed bytes, the stored R and S decoded, then ECDSA.
fn signature_with(
    report: &SnpReport<'_>,
    key: &p384::ecdsa::VerifyingKey,
    table: Option<&P384KeyTable>,
    engine: EcdsaEngine,
) -> bool {
    let digest: [u8; 48] = sha2::Sha384::digest(report.signed_bytes()).into();
    let signature = report_signature(report).expect("a well-formed signature");
    verify_p384_prehash(engine, key, table, &digest, &signature)
}

/// 2025-06-01T00:00:00Z: every certificate of the vectors is valid then.
const TIME: UnixTime = UnixTime::from_secs(1_748_736_000);

/// Where the SNP report starts inside the HCL report (after the HCL header).
const SNP_REPORT_OFFSET: usize = 0x20;
/// Size of an SNP ATTESTATION_REPORT.
const SNP_REPORT_LEN: usize = 1184;

fn vectors_dir() -> PathBuf {
    match std::env::var_os("SNP_VTPM_VECTORS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"),
    }
}

fn read_vector(relative: &str) -> Vec<u8> {
    let path = vectors_dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "the verify benchmark needs the shared real vectors, but {} cannot be read ({e}). \
             Put the `shared` folder next to the checkout (../shared/vectors) or set \
             SNP_VTPM_VECTORS to its vectors folder.",
            path.display()
        )
    })
}

/// The DER of the first `-----BEGIN ...-----` block of a PEM file.
fn first_pem_block(relative: &str) -> Vec<u8> {
    let bytes = read_vector(relative);
    let text = std::str::from_utf8(&bytes).unwrap_or_else(|_| panic!("{relative} is not text"));
    let mut lines = text.lines().map(str::trim);
    if !lines.by_ref().any(|line| line.starts_with("-----BEGIN ")) {
        panic!("{relative} holds no PEM block");
    }
    let body: String = lines
        .take_while(|line| !line.starts_with("-----END "))
        .collect();
    STANDARD
        .decode(body)
        .unwrap_or_else(|e| panic!("{relative}: the first PEM block is not base64 ({e})"))
}

/// The real Milan evidence, as DER and raw bytes.
struct Evidence {
    report: Vec<u8>,
    vcek: Vec<u8>,
    ask: Vec<u8>,
    ark: Vec<u8>,
}

impl Evidence {
    fn load() -> Self {
        let hcl = read_vector("azure/milan-v2/hcl-report.bin");
        let report = hcl
            .get(SNP_REPORT_OFFSET..SNP_REPORT_OFFSET + SNP_REPORT_LEN)
            .unwrap_or_else(|| panic!("hcl-report.bin is too short ({} bytes)", hcl.len()))
            .to_vec();
        Self {
            report,
            vcek: first_pem_block("azure/milan-v2/vcek.pem"),
            ask: first_pem_block("amd/milan/ask.pem"),
            ark: first_pem_block("amd/milan/ark.pem"),
        }
    }
}

fn verify(c: &mut Criterion) {
    let evidence = Evidence::load();
    let anchors = TrustAnchors::amd();
    let policy = Policy::snp_default();
    let options = ReportOptions::at(TIME);
    let report = SnpReport::from_bytes(&evidence.report).expect("the SNP report parses");

    // Everything must pass once before it is timed: a benchmark of an early error is worthless.
    let chain = VerifiedCaChain::verify(&anchors, &evidence.ark, &evidence.ask, TIME)
        .expect("the Milan ARK and ASK verify");
    let leaf = chain
        .verify_leaf(&evidence.vcek, TIME)
        .expect("the VCEK verifies under the ASK");
    verify_report_signature(&report, leaf.key(), CertRole::Vcek)
        .expect("the report signature verifies");
    verify_report_with(&report, &chain, &leaf, &options, &policy)
        .expect("the report verifies with the cached chain");
    verify_report(
        &anchors,
        &report,
        &evidence.vcek,
        &[evidence.ask.as_slice(), evidence.ark.as_slice()],
        &options,
        &policy,
    )
    .expect("the report verifies from DER");

    let mut group = c.benchmark_group("snp");
    // Every step takes 0.2 ms or more: equal-sized samples fit the time budget that
    // `cargo xtask bench` gives (linear sampling would overrun it and warn).
    group.sampling_mode(SamplingMode::Flat);

    group.bench_function("report_signature", |b| {
        b.iter(|| verify_report_signature(black_box(&report), leaf.key(), CertRole::Vcek))
    });

    group.bench_function("report_signature_stock", |b| {
        b.iter(|| signature_with(black_box(&report), leaf.key(), None, EcdsaEngine::Stock))
    });

    let mut leaf_with_table = leaf.clone();
    leaf_with_table.precompute_key_table();
    group.bench_function("report_signature_key_table", |b| {
        b.iter(|| {
            signature_with(
                black_box(&report),
                leaf_with_table.key(),
                leaf_with_table.key_table().map(|t| t.as_ref()),
                EcdsaEngine::Fast,
            )
        })
    });

    group.bench_function("key_table_build", |b| {
        b.iter(|| P384KeyTable::new(black_box(leaf.key())))
    });

    group.bench_function("vcek_parse_and_verify", |b| {
        b.iter(|| chain.verify_leaf(black_box(&evidence.vcek), TIME))
    });

    group.bench_function("ca_chain", |b| {
        b.iter(|| {
            VerifiedCaChain::verify(
                &anchors,
                black_box(&evidence.ark),
                black_box(&evidence.ask),
                TIME,
            )
        })
    });

    group.bench_function("ca_chain_every_signature", |b| {
        b.iter(|| {
            VerifiedCaChain::verify_every_signature(
                &anchors,
                black_box(&evidence.ark),
                black_box(&evidence.ask),
                TIME,
            )
        })
    });

    group.bench_function("verify_cached_chain", |b| {
        b.iter(|| verify_report_with(black_box(&report), &chain, &leaf, &options, &policy))
    });

    group.bench_function("verify_cached_chain_vcek_parsed", |b| {
        b.iter(|| {
            let leaf = chain
                .verify_leaf(black_box(&evidence.vcek), TIME)
                .expect("the VCEK verifies");
            verify_report_with(black_box(&report), &chain, &leaf, &options, &policy)
        })
    });

    group.bench_function("verify_uncached", |b| {
        b.iter(|| {
            let report =
                SnpReport::from_bytes(black_box(&evidence.report)).expect("the SNP report parses");
            verify_report(
                &anchors,
                &report,
                black_box(&evidence.vcek),
                &[
                    black_box(evidence.ask.as_slice()),
                    black_box(evidence.ark.as_slice()),
                ],
                &options,
                &policy,
            )
        })
    });

    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
