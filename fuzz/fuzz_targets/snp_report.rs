//! Fuzz target `snp_report`: runs `snp_vtpm_testkit::fuzzing::snp_report` (see that module for what it checks).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| snp_vtpm_testkit::fuzzing::snp_report(data));
