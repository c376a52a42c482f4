//! `cargo xtask`: the project's developer workflows, runnable on a fresh machine.
// A developer tool: a panic is a failed run, not a verdict.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod attest;
mod bench;
mod ecdsa_diff;
mod fuzz;
mod load;
mod python;
mod setup;
mod test;
mod wasm;
mod web;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  attest  the end-to-end run: swtpm provisioned like Azure's vTPM, the attestation service
          (snp-vtpm-server) and a certificate service on 127.0.0.1, the attester, a relying
          party checking the signed result, and four attacks refused;
          --tdx the same for an Azure TDX CVM (IMDS quoting service and Intel PCS on
          loopback with a test Intel PKI; five attacks, one a TCB OutOfDate);
          --host USER@HOST runs the guest side on a real Azure CVM (see --help)
  fuzz    [seeds | replay] [--seconds N] [--parallel P] [TARGET...]  seed corpora from
          ../shared/vectors and the test PKI, then every cargo-fuzz target N s each (default 60);
          fails on a crash, prints executions per target and the total
    test    install what the tests need, then run fmt, clippy, the dependency rule,
          the wasm32 build of the verifier crates, every test, and the bindings' suites
          (Node, headless Chromium, pytest): what CI runs
  wasm    [--test]  the npm package (target/npm) and the page's module, from bindings/js
          (wasm-bindgen-cli installed at the version in Cargo.lock); --test runs the Node
          tests and npm pack
  web     [--test]  the verification page (target/web); --test runs it in headless Chromium
  python  the abi3 wheel (target/wheels), pip-installed into a fresh virtual environment and
          tested with pytest
  bench   run the benchmarks and the peers (az-snp-vtpm, aws-lc-rs, sev with OpenSSL and
          pure Rust) back to back and print medians, ratios, targets and batch scaling
          (extra arguments go to criterion)
  load    [--requests N] [--latency-requests N] [--soak-minutes M] [--json]  one
          snp-vtpm-server (release, Redis nonce store) under concurrent loopback clients:
          throughput at 64 connections beside in-process verify_batch, p50/p99 at 8
          connections, the service's memory (--soak-minutes 10 for the 10-minute run)
  ecdsa-diff [N] [SEED]  attest-prims' fast ECDSA P-384 path against p384 on N random
          triples (default 100000) in release mode
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("attest") => attest::attest(&args[1..]),
        Some("test") => test::test(&args[1..]),
        Some("bench") => bench::bench(&args[1..]),
        Some("fuzz") => fuzz::fuzz(&args[1..]),
        Some("load") => load::load(&args[1..]),
        Some("ecdsa-diff") => ecdsa_diff::run(&args[1..]),
        Some("wasm") => wasm::wasm(&args[1..]),
        Some("web") => web::web(&args[1..]),
        Some("python") => python::python(&args[1..]),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(1);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
