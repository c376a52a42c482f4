//! A relying party for Azure SEV-SNP and TDX confidential VMs: the reference integration.
//!
//! ```text
//! cargo run --example relying_party -- --listen 127.0.0.1:8080 --secret "the key" [--policy policy.toml]
//! ```
//!
//! It trusts AMD's and Intel's pinned roots and the `azure-cvm` policy (`azure-tdx` for TDX
//! evidence; or a policy file), requires reports bound to its nonces, and releases its secret to
//! a VM whose evidence passes. The Intel collateral of TDX evidence comes from Intel's PCS
//! through the user's cache. `cargo xtask
//! attest` runs this same code against a simulated vTPM.
// Example code kept short; a library would return errors.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod http;
mod service;

use std::time::Duration;

use snp_vtpm::{EvidencePolicy, Verifier};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| args.windows(2).find(|w| w[0] == flag).map(|w| w[1].clone());
    let listen = value("--listen").unwrap_or_else(|| "127.0.0.1:8080".into());
    let secret = value("--secret").unwrap_or_else(|| "the released secret".into());
    let policy = match value("--policy") {
        Some(path) => {
            let text =
                std::fs::read_to_string(&path).unwrap_or_else(|e| fail(&format!("{path}: {e}")));
            let document: serde_json::Value = if text.trim_start().starts_with('{') {
                serde_json::from_str(&text).unwrap_or_else(|e| fail(&format!("{path}: {e}")))
            } else {
                toml::from_str(&text).unwrap_or_else(|e| fail(&format!("{path}: {e}")))
            };
            EvidencePolicy::from_document(document, "azure-cvm")
                .unwrap_or_else(|e| fail(&e.to_string()))
        }
        None => EvidencePolicy::preset("azure-cvm").unwrap_or_else(|| fail("no azure-cvm preset")),
    };
    let collateral = snp_vtpm::fetch::FetchOptions::default()
        .source()
        .unwrap_or_else(|e| fail(&e.to_string()));
    let mut party =
        service::RelyingParty::new(Verifier::new(policy), secret, Duration::from_secs(60))
            .with_collateral_source(collateral);
    if value("--policy").is_none() {
        let tdx =
            EvidencePolicy::preset("azure-tdx").unwrap_or_else(|| fail("no azure-tdx preset"));
        party = party.with_tdx_verifier(Verifier::new(tdx));
    }
    let server = http::Server::start_on(&listen, move |request| party.handle(request))
        .unwrap_or_else(|e| fail(&format!("cannot listen on {listen}: {e}")));
    eprintln!("relying party listening on {}", server.url());
    server.wait();
}

fn fail(message: &str) -> ! {
    eprintln!("relying_party: {message}");
    std::process::exit(1)
}
