//! Fuzz target `runtime_claims`: runs `snp_vtpm_testkit::fuzzing::runtime_claims` (see that module for what it checks).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| snp_vtpm_testkit::fuzzing::runtime_claims(data));
