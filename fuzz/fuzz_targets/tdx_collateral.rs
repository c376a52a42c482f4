//! Fuzz target `tdx_collateral`: runs `snp_vtpm_testkit::fuzzing::tdx_collateral` (see that module for what it checks).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| snp_vtpm_testkit::fuzzing::tdx_collateral(data));
