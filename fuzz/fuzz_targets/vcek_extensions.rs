//! Fuzz target `vcek_extensions`: runs `snp_vtpm_testkit::fuzzing::vcek_extensions` (see that module for what it checks).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| snp_vtpm_testkit::fuzzing::vcek_extensions(data));
