//! Fuzz target `tpms_attest`: runs `snp_vtpm_testkit::fuzzing::tpms_attest` (see that module for what it checks).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| snp_vtpm_testkit::fuzzing::tpms_attest(data));
