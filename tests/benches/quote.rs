//! `quote`: quote verification (cached AK, AK parsed from the JWK each time) on the real
//! milan-v2 quote, and the guest-side sequences against swtpm (context creation excluded).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use hcl_parse::HclReport;
use snp_vtpm_testkit::azure::SyntheticReport;
use snp_vtpm_testkit::pki::TestPki;
use snp_vtpm_testkit::swtpm::{self, Swtpm};
use snp_vtpm_testkit::vectors;
use vtpm_quote::guest::{self, Vtpm};
use vtpm_quote::{
    AkPublic, ExpectedNonce, HashAlg, PcrBankSelection, PcrValues, QuoteAttest, QuoteFile,
    QuoteSignature, verify_quote,
};

fn verification(c: &mut Criterion) {
    let file = QuoteFile::from_quote_bin(&vectors::read("azure/milan-v2/quote.bin")).unwrap();
    let hcl_bytes = vectors::read("azure/milan-v2/hcl-report.bin");
    let hcl = HclReport::parse(&hcl_bytes).unwrap();
    let claims = hcl.runtime_claims().unwrap();
    let jwk = claims.attestation_key().unwrap();
    let ak = AkPublic::from_jwk(&jwk.rsa_public_numbers().unwrap()).unwrap();
    let values: Vec<&[u8]> = file.pcrs.iter().map(|p| p.0.as_slice()).collect();
    let pcrs = PcrValues::sha256_in_order(&values).unwrap();
    // One quote verification as a verifier does it: parse the signature and TPMS_ATTEST, verify.
    let verify = |ak: &AkPublic| {
        let signature = QuoteSignature::parse_any(&file.signature.0).unwrap();
        let attest = QuoteAttest::parse(&file.message.0).unwrap();
        let nonce = ExpectedNonce::Exactly(b"challenge");
        verify_quote(&attest, &signature, ak, nonce, &pcrs).unwrap()
    };
    let mut group = c.benchmark_group("quote");
    group.bench_function("verify (cached AK)", |b| b.iter(|| black_box(verify(&ak))));
    group.bench_function("verify (AK from JWK)", |b| {
        b.iter(|| {
            let ak = AkPublic::from_jwk(&jwk.rsa_public_numbers().unwrap()).unwrap();
            black_box(verify(&ak))
        })
    });
    group.finish();
}

fn guest_side(c: &mut Criterion) {
    if !swtpm::available() {
        return;
    }
    let nonce = [0x42u8; 32];
    let mut user_data = [0u8; 64];
    user_data[..32].copy_from_slice(&nonce);
    let sim = Swtpm::start().unwrap();
    let mut vtpm = Vtpm::open(Some(&sim.tcti())).unwrap();
    guest::provision_azure_layout(&mut vtpm, |ak| {
        SyntheticReport::new(ak.key.rsa_modulus().unwrap(), user_data)
            .build(TestPki::shared())
            .0
    })
    .unwrap();
    let selection = vec![PcrBankSelection {
        bank: HashAlg::Sha256,
        indices: (0..24).collect(),
    }];
    let mut group = c.benchmark_group("guest (swtpm)");
    group.sample_size(30);
    group.bench_function("hcl_report + quote + read_pcrs", |b| {
        b.iter(|| {
            let report = vtpm.hcl_report().unwrap();
            let quote = vtpm.quote(b"challenge", &selection).unwrap();
            black_box((report.len(), quote.message.len(), quote.pcrs.len()))
        })
    });
    group.bench_function("fresh report + quote (pre-bound report)", |b| {
        b.iter(|| {
            let fresh = vtpm.fresh_hcl_report(&nonce).unwrap();
            assert_eq!(fresh.reads, 1);
            let quote = vtpm.quote(&nonce, &selection).unwrap();
            black_box((fresh.bytes.len(), quote.message.len()))
        })
    });
    group.finish();
}

criterion_group!(benches, verification, guest_side);
criterion_main!(benches);
