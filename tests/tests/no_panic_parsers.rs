//! Random bytes into every public parser never panic: each fuzz target's code (which drives
//! every parser of hcl-parse, snp-verify, vtpm-quote and the facade) on random byte strings
//! and on random edits of the seed inputs, plus the chain entry points the targets do not
//! reach with arbitrary bytes (`VerifiedCaChain::verify` and `from_candidates`).
//! (`no_panic.rs` and `quote_vectors.rs` cover hcl-parse and vtpm-quote in more depth.)

use std::sync::OnceLock;

use proptest::prelude::*;
use snp_verify::{CertRole, TrustAnchors, UnixTime, VerifiedCaChain};
use snp_vtpm::{Certificates, Evidence, certs};
use snp_vtpm_testkit::fuzzing::{self, Seed, TARGETS};
use snp_vtpm_testkit::vectors;

const TIME: UnixTime = UnixTime::from_secs(1_748_736_000);

fn seeds() -> &'static [Seed] {
    static SEEDS: OnceLock<Vec<Seed>> = OnceLock::new();
    SEEDS.get_or_init(fuzzing::seeds)
}

fn milan_ca() -> &'static (Vec<u8>, Vec<u8>) {
    static CA: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    CA.get_or_init(|| {
        (
            vectors::read_pem("amd/milan/ark.pem").swap_remove(0),
            vectors::read_pem("amd/milan/ask.pem").swap_remove(0),
        )
    })
}

fn chain_entry_points(bytes: &[u8]) {
    let anchors = TrustAnchors::amd();
    let (ark, ask) = milan_ca();
    let _ = VerifiedCaChain::verify(&anchors, bytes, ask, TIME);
    let _ = VerifiedCaChain::verify(&anchors, ark, bytes, TIME);
    for role in [CertRole::Ask, CertRole::Asvk] {
        let _ = VerifiedCaChain::from_candidates(&anchors, &[bytes, ark], role, TIME);
    }
    let _ = VerifiedCaChain::issuer_role_of_leaf(bytes);
}

fn facade_entry_points(bytes: &[u8]) {
    let _ = certs::certificates(bytes);
    let _ = certs::pem_certificates(bytes);
    let _ = Certificates::default().add_file(bytes);
    let _ = Evidence::from_json(bytes, 64 * 1024);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn random_bytes_into_every_parser_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        for target in TARGETS.iter().filter(|t| **t != "verifier") {
            fuzzing::run(target, &bytes);
        }
        chain_entry_points(&bytes);
        facade_entry_points(&bytes);
    }

    #[test]
    fn random_text_into_the_text_parsers_never_panics(text in "\\PC{0,600}") {
        facade_entry_points(text.as_bytes());
        fuzzing::runtime_claims(text.as_bytes());
        fuzzing::tpm2b_public(text.as_bytes());
    }

    #[test]
    fn random_edits_of_every_seed_never_panic(
        which in any::<prop::sample::Index>(),
        edits in proptest::collection::vec(any::<u8>(), 4..24),
    ) {
        let seeds: Vec<&Seed> = seeds().iter().filter(|s| s.target != "verifier").collect();
        let seed = which.get(&seeds);
        let mut data = seed.data.clone();
        fuzzing::apply_edits(&mut data, &edits);
        fuzzing::run(seed.target, &data);
        if seed.target == "vcek_extensions" {
            chain_entry_points(&data);
        }
    }
}

proptest! {
    // The whole verifier costs milliseconds per case.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_edits_of_real_evidence_never_verify_to_other_claims(
        which in 0u8..4,
        field in 0u8..8,
        edits in proptest::collection::vec(any::<u8>(), 4..16),
    ) {
        let mut input = vec![which, field];
        input.extend_from_slice(&edits);
        fuzzing::verifier(&input);
    }
}
