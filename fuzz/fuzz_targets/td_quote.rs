//! Fuzz target `td_quote`: runs `snp_vtpm_testkit::fuzzing::td_quote` (see that module for what it checks).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| snp_vtpm_testkit::fuzzing::td_quote(data));
