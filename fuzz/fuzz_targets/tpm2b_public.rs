//! Fuzz target `tpm2b_public`: runs `snp_vtpm_testkit::fuzzing::tpm2b_public` (see that module for what it checks).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| snp_vtpm_testkit::fuzzing::tpm2b_public(data));
