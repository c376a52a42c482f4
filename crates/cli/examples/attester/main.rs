//! The attester side of the remote-attestation example: asks the relying party for a nonce,
//! gathers evidence bound to it on the guest, sends it, and prints the secret it gets back.
//!
//! ```text
//! sudo cargo run --example attester -- http://relying-party:8080
//! ```
// Example code kept short; a library would return errors.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../relying_party/http.rs"]
mod http;

use snp_vtpm::attester::{Attester, AttesterOptions};

fn main() {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let (status, body) = http::request(&format!("{url}/challenge"), "POST", &[], b"")
        .unwrap_or_else(|e| fail(&e.to_string()));
    let challenge: serde_json::Value =
        serde_json::from_slice(&body).unwrap_or_else(|e| fail(&e.to_string()));
    let nonce_hex = challenge["nonce"]
        .as_str()
        .unwrap_or_else(|| fail(&format!("no nonce (status {status})")));
    let nonce = hex::decode(nonce_hex).unwrap_or_else(|e| fail(&e.to_string()));

    let mut attester =
        Attester::open(None, AttesterOptions::default()).unwrap_or_else(|e| fail(&e.to_string()));
    let evidence = attester
        .evidence(&nonce, true)
        .unwrap_or_else(|e| fail(&e.to_string()));
    for warning in attester.warnings() {
        eprintln!("warning: {}", warning.escape_debug());
    }

    let (status, body) = http::request(
        &format!("{url}/attest?nonce={nonce_hex}"),
        "POST",
        &[("Content-Type", "application/json")],
        &evidence.to_json(),
    )
    .unwrap_or_else(|e| fail(&e.to_string()));
    let answer: serde_json::Value =
        serde_json::from_slice(&body).unwrap_or_else(|e| fail(&e.to_string()));
    match (status, answer["secret"].as_str()) {
        (200, Some(secret)) => println!("secret released: {secret}"),
        _ => fail(&format!("refused ({status}): {}", answer["error"])),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("attester: {message}");
    std::process::exit(1)
}
