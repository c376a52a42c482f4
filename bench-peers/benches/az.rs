//! The published az-snp-vtpm crate (0.8, OpenSSL 3 through the system libssl) verifying the
//! real milan-v2 evidence: the report against the AMD chain, report_data against the runtime
//! claims, and the vTPM quote (signature, nonce, PCR digest) under the AK from the claims.
//! Criterion group `az-snp-vtpm`.
//!
//! | benchmark | what one iteration does |
//! |---|---|
//! | `verify_example` | everything as the crate's own example does it: parse the HCL report, the VCEK PEM and the ASK+ARK PEM; validate ARK, ASK, VCEK, report; hash check; AK from the claims; quote |
//! | `verify_chain_cached` | the AMD chain parsed and validated once; per evidence: the rest |
//! | `verify_vcek_cached` | chain and VCEK parsed and validated once; per evidence: HCL report, report signature, hash check, AK, quote |
//! | `report_signature` | `AttestationReport::validate` (TCB check, SHA-384, ECDSA P-384) |
//! | `quote` | `Quote::verify` (RSA-2048 PKCS#1, nonce, PCR digest), AK parsed beforehand |

use std::hint::black_box;
use std::time::SystemTime;

use az_snp_vtpm::certs::{AmdChain, Vcek, build_cert_chain};
use az_snp_vtpm::hcl::HclReport;
use az_snp_vtpm::report::{AttestationReport, Validateable};
use az_snp_vtpm::vtpm::Quote;
use bench_peers::{FullEvidence, report_medians};
use criterion::{Criterion, SamplingMode};
use openssl::pkey::{PKey, Public};

const GROUP: &str = "az-snp-vtpm";

const NAMES: [&str; 5] = [
    "verify_example",
    "verify_chain_cached",
    "verify_vcek_cached",
    "report_signature",
    "quote",
];

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn quote_of(evidence: &FullEvidence) -> Quote {
    let json = serde_json::json!({
        "signature": evidence.quote_signature,
        "message": evidence.quote_message,
        "pcrs": evidence.pcrs,
    });
    serde_json::from_value(json).expect("az-cvm-vtpm's Quote deserialises")
}

fn ak_of(hcl: &HclReport) -> Result<PKey<Public>> {
    let jwk = hcl.ak_pub()?;
    Ok(PKey::public_key_from_der(&jwk.key.try_to_der()?)?)
}

/// The evidence after the chain: report, binding, AK, quote.
fn verify_report_and_quote(
    evidence: &FullEvidence,
    quote: &Quote,
    vcek: &Vcek,
) -> Result<()> {
    let hcl = HclReport::new(evidence.hcl_report.clone())?;
    let var_data_hash = hcl.var_data_sha256();
    let ak = ak_of(&hcl)?;
    let report: AttestationReport = (&hcl).try_into()?;
    report.validate(vcek)?;
    if var_data_hash != report.report_data[..32] {
        return Err("var_data_hash mismatch".into());
    }
    quote.verify(&ak, &evidence.nonce)?;
    Ok(())
}

fn verify_example(evidence: &FullEvidence, quote: &Quote) -> Result<()> {
    let vcek = Vcek::from_pem(&evidence.vcek_pem)?;
    let chain = build_cert_chain(&evidence.chain_pem)?;
    chain.validate()?;
    vcek.validate(&chain)?;
    verify_report_and_quote(evidence, quote, &vcek)
}

fn verify_chain_cached(evidence: &FullEvidence, quote: &Quote, chain: &AmdChain) -> Result<()> {
    let vcek = Vcek::from_pem(&evidence.vcek_pem)?;
    vcek.validate(chain)?;
    verify_report_and_quote(evidence, quote, &vcek)
}

fn main() {
    let started = SystemTime::now();
    let evidence = FullEvidence::load();
    // The quote arrives as JSON in this crate's own evidence format; deserialising it is not
    // timed (our counterpart gets its quote already decoded too).
    let quote = quote_of(&evidence);
    let chain = build_cert_chain(&evidence.chain_pem).expect("ASK + ARK parse");
    chain.validate().expect("the Milan chain validates");
    let vcek = Vcek::from_pem(&evidence.vcek_pem).expect("the VCEK parses");
    vcek.validate(&chain).expect("the VCEK validates");
    let hcl = HclReport::new(evidence.hcl_report.clone()).expect("HCL report");
    let report: AttestationReport = (&hcl).try_into().expect("SNP report");
    let ak = ak_of(&hcl).expect("the AK from the runtime claims");

    // Everything must pass once before it is timed.
    verify_example(&evidence, &quote).expect("az-snp-vtpm verifies the evidence");
    verify_chain_cached(&evidence, &quote, &chain).expect("cached chain");
    verify_report_and_quote(&evidence, &quote, &vcek).expect("cached VCEK");
    report.validate(&vcek).expect("report signature");
    quote.verify(&ak, &evidence.nonce).expect("quote");

    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group(GROUP);
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function(NAMES[0], |b| {
        b.iter(|| verify_example(black_box(&evidence), &quote).is_ok())
    });
    group.bench_function(NAMES[1], |b| {
        b.iter(|| verify_chain_cached(black_box(&evidence), &quote, &chain).is_ok())
    });
    group.bench_function(NAMES[2], |b| {
        b.iter(|| verify_report_and_quote(black_box(&evidence), &quote, &vcek).is_ok())
    });
    group.bench_function(NAMES[3], |b| {
        b.iter(|| black_box(&report).validate(&vcek).is_ok())
    });
    group.bench_function(NAMES[4], |b| {
        b.iter(|| black_box(&quote).verify(&ak, &evidence.nonce).is_ok())
    });
    group.finish();
    criterion.final_summary();
    report_medians(GROUP, &NAMES, started);
}
