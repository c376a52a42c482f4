//! `cargo xtask ecdsa-diff [N] [SEED]`: the differential test of attest-prims' fast ECDSA P-384
//! path against p384's verifier on N random key/message/signature triples (default 100,000;
//! valid and invalid), in release mode. CI runs the 2,000-triple version inside `cargo test`.

use crate::setup::{self, cargo, step};

/// Triples when no count is given.
const DEFAULT_TRIPLES: &str = "100000";

/// Runs `tests/ecdsa_p384.rs::differential_against_p384` in release mode with N triples
/// (`args`: `[N] [SEED]`, the seed in hex).
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let count = args.first().map_or(DEFAULT_TRIPLES, String::as_str);
    if count.parse::<u64>().is_err() {
        return Err(format!(
            "ecdsa-diff: the triple count must be a number, not {count:?}"
        ));
    }
    let mut command = cargo();
    command
        .args([
            "test",
            "--release",
            "-p",
            "attest-prims",
            "--test",
            "ecdsa_p384",
            "differential_against_p384",
            "--",
            "--nocapture",
        ])
        .env("SNP_VERIFY_ECDSA_DIFF", count);
    if let Some(seed) = args.get(1) {
        command.env("SNP_VERIFY_ECDSA_SEED", seed);
    }
    step(&format!(
        "ECDSA P-384 differential test, {count} triples (cargo test --release -p attest-prims --test ecdsa_p384)"
    ));
    setup::run(&mut command)
}
