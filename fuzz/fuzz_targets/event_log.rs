//! Fuzz target `event_log`: runs `snp_vtpm_testkit::fuzzing::event_log` (see that module for what it checks).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| snp_vtpm_testkit::fuzzing::event_log(data));
