//! Fuzz target `tpmt_signature`: runs `snp_vtpm_testkit::fuzzing::tpmt_signature` (see that module for what it checks).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| snp_vtpm_testkit::fuzzing::tpmt_signature(data));
