//! `cargo xtask attest`: the whole remote-attestation flow on one machine, with real parts: a
//! TPM 2.0 stack (swtpm through tss-esapi), the attestation service and a certificate service
//! over HTTP on loopback, the guest client and the relying party's token check. `--host USER@HOST` runs the guest side on a real Azure
//! confidential VM instead and verifies its evidence here against AMD's pinned roots.
// A developer tool: a panic is a failed run, not a verdict.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../../crates/cli/examples/relying_party/http.rs"]
pub mod http;
// The example relying party, checked against the real attester by `example_check` (the
// example's main uses the parts the check does not).
#[cfg(test)]
#[allow(dead_code)]
#[path = "../../../crates/cli/examples/relying_party/service.rs"]
mod relying_party;

pub mod cert_service;
#[cfg(test)]
mod example_check;
mod host;
mod local;
pub mod paravisor;
mod report;
pub mod service;

pub use host::{HostOptions, run_host};
pub use local::{LocalOptions, run_local};
pub use report::{Attack, RunReport, Step};

const USAGE: &str = "\
usage: cargo xtask attest [--tdx] [--json]
       cargo xtask attest --host USER@HOST [--dry-run] [--nonce-hex HEX] [--binary PATH] [--json]

Without --host: starts swtpm (a simulated vTPM) provisioned like Azure's, a certificate
service (IMDS THIM and KDS paths) and the attestation service (snp-vtpm-server, trusting the
test roots) on 127.0.0.1, runs the attester (`snp-vtpm attest --to`), checks the attestation
result it receives as a relying party does (`snp-vtpm verify-token` with the service's JWKS
and the nonce), then shows four attacks being refused (a replayed nonce, altered PCR values,
unknown firmware, a quote signed by a key other than the certified AK).

With --tdx: the same run for an Azure TDX CVM: the paravisor stand-in writes a TDX HCL report,
the certificate service also plays Azure IMDS's quoting service (TD quotes signed by a test
Intel PKI whose PCK certificate carries SGX extensions) and an Intel PCS serving that PKI's
collateral, and a fifth attack is refused: a platform whose TCB Intel rates OutOfDate.

With --host: builds snp-vtpm in release mode, copies it to USER@HOST with scp, runs
`sudo ./snp-vtpm evidence --nonce-hex N --fresh` there over ssh, fetches the evidence and
verifies it here against AMD's pinned roots. --dry-run prints the commands only; --binary
copies a snp-vtpm you built yourself (for example for an older glibc) instead of building.

Exit status: 0 when everything went as expected, 1 otherwise.
";

/// Runs `cargo xtask attest ARGS`.
pub fn main_entry(args: &[String]) -> Result<(), String> {
    let flag = |name: &str| args.iter().any(|a| a == name);
    let value = |name: &str| args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone());
    if flag("-h") || flag("--help") {
        print!("{USAGE}");
        return Ok(());
    }
    let known = [
        "--json",
        "--host",
        "--dry-run",
        "--nonce-hex",
        "--binary",
        "--trust-test-pki",
        "--tdx",
    ];
    if let Some(unknown) = args.iter().enumerate().find(|(i, a)| {
        a.starts_with("--") && !known.contains(&a.as_str())
            || (!a.starts_with("--")
                && (*i == 0
                    || !["--host", "--nonce-hex", "--binary"].contains(&args[i - 1].as_str())))
    }) {
        return Err(format!("unknown argument {}\n{USAGE}", unknown.1));
    }
    let json = flag("--json");
    let report = match value("--host") {
        Some(host) => run_host(&HostOptions {
            host,
            dry_run: flag("--dry-run"),
            nonce_hex: value("--nonce-hex"),
            trust_test_pki: flag("--trust-test-pki"),
            json,
            binary: value("--binary").map(std::path::PathBuf::from),
        })?,
        None => run_local(&LocalOptions {
            json,
            tdx: flag("--tdx"),
        })?,
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report.to_json()).unwrap_or_default()
        );
    }
    if report.succeeded() {
        Ok(())
    } else {
        Err("the run did not go as expected (see above)".into())
    }
}
