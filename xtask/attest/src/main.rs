//! The `xtask-attest` binary behind `cargo xtask attest`.
// A developer tool: a panic is a failed run, not a verdict.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match xtask_attest::main_entry(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask attest: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
