//! Cache-hit latency (target: under 1 ms) and the real cost of a simulated 30 s 429 storm.
//!
//! `cargo bench -p amd-kds --bench cache`
// Benchmark code: a panic is a failed run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;

use amd_kds::{ChainKind, Source, VcekRequest};
use criterion::{Criterion, criterion_group, criterion_main};
use hcl_parse::{Generation, SnpReport};
use snp_vtpm_testkit::pki::{CrlSpec, TestPki};
use support::*;

fn cache_hits(c: &mut Criterion) {
    let cache = TempDir::new("bench");
    let vcek = vector("snp/milan/vcek_milan.der");
    let chain = kds_chain_pem("milan", "ask");
    let crl = TestPki::shared().crl(
        Generation::Milan,
        &CrlSpec::new(1_717_100_000, 1_717_300_000),
    );
    let server = TestServer::start(move |_, request| {
        if request.target.ends_with("/cert_chain") {
            Reply::ok(chain.clone())
        } else if request.target.ends_with("/crl") {
            Reply::ok(crl.clone())
        } else {
            Reply::ok(vcek.clone())
        }
    });
    let client = kds_source(&server, Some(&cache), exact_policy(1, 60), &sim_clock());
    let raw = milan_report();
    let request =
        VcekRequest::from_report(&SnpReport::from_bytes(&raw).unwrap(), Generation::Milan).unwrap();
    // Prime the cache, then every call below must be a hit.
    client.vcek(&request).unwrap();
    client
        .cert_chain(Generation::Milan, ChainKind::Vcek)
        .unwrap();
    client.crl(Generation::Milan).unwrap();
    assert_eq!(client.vcek(&request).unwrap().source, Source::Cache);
    let primed = server.count();

    let mut group = c.benchmark_group("cache_hit");
    group.bench_function("vcek", |b| {
        b.iter(|| black_box(client.vcek(black_box(&request)).unwrap()))
    });
    group.bench_function("vcek_chain", |b| {
        b.iter(|| {
            black_box(
                client
                    .cert_chain(Generation::Milan, ChainKind::Vcek)
                    .unwrap(),
            )
        })
    });
    group.bench_function("crl", |b| {
        b.iter(|| black_box(client.crl(Generation::Milan).unwrap()))
    });
    group.finish();
    assert_eq!(server.count(), primed, "no request during the benchmark");
}

fn storm(c: &mut Criterion) {
    let mut group = c.benchmark_group("retry");
    group.sample_size(10);
    group.bench_function("429_storm_30s_simulated_retry_after_1", |b| {
        b.iter(|| {
            let server = TestServer::always(Reply::status(429).with_header("Retry-After", "1"));
            let client = kds_source(&server, None, exact_policy(100, 30), &sim_clock());
            let raw = milan_report();
            let request =
                VcekRequest::from_report(&SnpReport::from_bytes(&raw).unwrap(), Generation::Milan)
                    .unwrap();
            assert!(client.vcek(&request).is_err());
            assert_eq!(server.count(), 31);
        })
    });
    group.finish();
}

criterion_group!(benches, cache_hits, storm);
criterion_main!(benches);
