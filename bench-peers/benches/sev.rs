//! The `sev` crate (8.x) verifying the real Azure Milan evidence, with the backend chosen by
//! this build's feature (`openssl` or `nossl`); the criterion group is `sev-openssl` or
//! `sev-nossl`.
//!
//! | benchmark | what one iteration does | snp-verify counterpart |
//! |---|---|---|
//! | `report_signature` | `(&vcek, &report).verify()`, VCEK and report parsed beforehand | `snp/report_signature` |
//! | `vcek_parse_and_verify` | parse the VCEK DER, `(&ask, &vcek).verify()` (ASK parsed beforehand) | `snp/vcek_parse_and_verify` |
//! | `ca_chain` | parse ARK and ASK DER, `(&ca_chain).verify()` | `snp/ca_chain` |
//! | `verify_uncached` | parse the report and the three DERs, `(&chain, &report).verify()` | `snp/verify_uncached` |
//!
//! sev checks signatures only: no pinned root, names, validity, VCEK extensions against the
//! report, or policy. After criterion's own output, the medians are printed as plain text and
//! saved to `<criterion>/<group>/medians.txt`.

use std::hint::black_box;
use std::time::SystemTime;

use bench_peers::{Evidence, GROUP, report_medians};
use criterion::{Criterion, SamplingMode};
use sev::certs::snp::{Certificate, Chain, Verifiable, ca};
use sev::firmware::guest::AttestationReport;
use sev::parser::ByteParser;

/// The benchmarks of this file, in the order they run.
const NAMES: [&str; 4] = [
    "report_signature",
    "vcek_parse_and_verify",
    "ca_chain",
    "verify_uncached",
];

fn parse_report(bytes: &[u8]) -> AttestationReport {
    AttestationReport::from_bytes(bytes).expect("sev parses the SNP report")
}

fn parse_cert(role: &str, der: &[u8]) -> Certificate {
    Certificate::from_der(der).unwrap_or_else(|e| panic!("sev parses the {role}: {e}"))
}

/// Parses the report and the three certificates and verifies everything (what a verifier that
/// caches nothing does with sev).
fn verify_uncached(evidence: &Evidence) -> std::io::Result<()> {
    let report = AttestationReport::from_bytes(&evidence.report)?;
    let chain = Chain::from_der(&evidence.ark, &evidence.ask, &evidence.vcek)?;
    (&chain, &report).verify()
}

fn verify_ca_chain(ark: &[u8], ask: &[u8]) -> std::io::Result<()> {
    let chain = ca::Chain::from_der(ark, ask)?;
    (&chain).verify().map(|_ask| ())
}

fn verify_vcek(ask: &Certificate, vcek_der: &[u8]) -> std::io::Result<()> {
    let vcek = Certificate::from_der(vcek_der)?;
    (ask, &vcek).verify()
}

fn benches(c: &mut Criterion, evidence: &Evidence) {
    let report = parse_report(&evidence.report);
    let vcek = parse_cert("VCEK", &evidence.vcek);
    let ask = parse_cert("ASK", &evidence.ask);

    // Everything must pass once before it is timed: a benchmark of an early error is worthless.
    (&vcek, &report)
        .verify()
        .expect("sev verifies the report signature");
    verify_vcek(&ask, &evidence.vcek).expect("sev verifies the VCEK under the ASK");
    verify_ca_chain(&evidence.ark, &evidence.ask).expect("sev verifies the ARK and ASK");
    verify_uncached(evidence).expect("sev verifies the chain and the report");

    let mut group = c.benchmark_group(GROUP);
    // As in snp-verify's benchmark: equal-sized samples, since every step takes 0.2 ms or more.
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function(NAMES[0], |b| {
        b.iter(|| (black_box(&vcek), black_box(&report)).verify())
    });
    group.bench_function(NAMES[1], |b| {
        b.iter(|| verify_vcek(&ask, black_box(&evidence.vcek)))
    });
    group.bench_function(NAMES[2], |b| {
        b.iter(|| verify_ca_chain(black_box(&evidence.ark), black_box(&evidence.ask)))
    });
    group.bench_function(NAMES[3], |b| {
        b.iter(|| verify_uncached(black_box(evidence)))
    });
    group.finish();
}

fn main() {
    let started = SystemTime::now();
    let evidence = Evidence::load();
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion, &evidence);
    criterion.final_summary();
    report_medians(GROUP, &NAMES, started);
}
