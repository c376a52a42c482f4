//! CI's deterministic stand-in for fuzzing: every seed input (generated here from the vectors
//! and the test PKI, as `cargo xtask fuzz seeds` writes them) and every saved crash input in
//! `fuzz/regressions/<target>/` runs through the same code as the fuzz targets
//! (`snp_vtpm_testkit::fuzzing`). A crash the fuzzer found stays fixed.

use std::path::PathBuf;

use snp_vtpm_testkit::fuzzing::{self, TARGETS};

fn regressions() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions")
}

#[test]
fn every_seed_input_runs_through_its_target() {
    let seeds = fuzzing::seeds();
    for target in TARGETS {
        let count = seeds.iter().filter(|s| s.target == target).count();
        assert!(count >= 2, "{target} has {count} seed inputs");
    }
    for seed in &seeds {
        assert!(
            fuzzing::run(seed.target, &seed.data),
            "unknown target {}",
            seed.target
        );
    }
    eprintln!(
        "replayed {} seed inputs over {} targets",
        seeds.len(),
        TARGETS.len()
    );
}

#[test]
fn every_saved_crash_input_runs_through_its_target() {
    let root = regressions();
    let mut replayed = 0;
    for entry in std::fs::read_dir(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display())) {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let target = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            TARGETS.contains(&target.as_str()),
            "fuzz/regressions/{target} names no fuzz target"
        );
        for input in std::fs::read_dir(&dir).unwrap() {
            let path = input.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            eprintln!("{target}: {}", path.display());
            assert!(fuzzing::run(&target, &data));
            replayed += 1;
        }
    }
    eprintln!("replayed {replayed} saved crash inputs");
}

#[test]
fn unmutated_real_evidence_verifies_in_the_verifier_target_and_edits_apply() {
    // The no-op inputs (sample, field, no edits) must pass the target's own checks.
    for which in 0..4u8 {
        fuzzing::verifier(&[which, 0]);
    }
    let mut bytes = vec![1, 2, 3];
    fuzzing::apply_edits(
        &mut bytes,
        &[0, 0, 1, 0xFF, 2, 0, 0, 9, 3, 0, 2, 0, 1, 0, 7, 5],
    );
    assert_eq!(bytes, [9, 5]);
}
