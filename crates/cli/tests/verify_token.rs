//! `snp-vtpm verify-token`: a relying party's check of an attestation result against the
//! issuer's JWKS (a file, or a real HTTP server on loopback), with the documented exit codes:
//! 0 valid, 1 malformed, 2 invalid.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};

use ear_token::{Algorithm, Jwks, SigningKey};
use serde_json::json;

const AT: &str = "2027-01-15T08:00:00Z";
const AT_SECS: u64 = 1_800_000_000;

fn run(token: &str, jwks: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snp-vtpm"))
        .args(["verify-token", token, "--jwks", jwks, "--at", AT])
        .args(extra)
        .output()
        .unwrap()
}

fn claims(exp: u64) -> serde_json::Value {
    json!({ "iat": AT_SECS - 5, "exp": exp, "submods": { "cvm": { "ear_status": "affirming" } } })
}

/// Serves `body` to one request on a loopback port; returns the URL.
fn serve_once(body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn valid_tokens_pass_and_forgeries_fail_with_their_exit_code() {
    let dir = std::env::temp_dir().join(format!("snp-vtpm-verify-token-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = SigningKey::generate(Algorithm::Es384).unwrap();
    let other = SigningKey::generate(Algorithm::Es256).unwrap();
    let jwks = Jwks {
        keys: vec![key.public_jwk()],
    };
    let jwks_text = serde_json::to_string(&jwks).unwrap();
    let jwks_path = dir.join("jwks.json");
    std::fs::write(&jwks_path, &jwks_text).unwrap();
    let jwks_file = jwks_path.to_str().unwrap();

    // Valid, from a file and (as JSON, the token in a file) from a loopback JWKS URL.
    let token = key.sign(&claims(AT_SECS + 60));
    let out = run(&token, jwks_file, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("VALID: signed with ES384"));
    let token_path = dir.join("token.jwt");
    std::fs::write(&token_path, format!("{token}\n")).unwrap();
    let out = run(
        &format!("@{}", token_path.display()),
        &serve_once(jwks_text.clone()),
        &["--json"],
    );
    assert_eq!(out.status.code(), Some(0));
    let document: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(document["valid"], true);
    assert_eq!(
        document["claims"]["submods"]["cvm"]["ear_status"],
        "affirming"
    );
    assert_eq!(document["kid"], key.kid());

    // Invalid (2): expired at --at, signed by a key not in the JWKS, alg none.
    for forged in [
        key.sign(&claims(AT_SECS)),
        other.sign(&claims(AT_SECS + 60)),
        format!(
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
            token.split('.').nth(1).unwrap()
        ),
    ] {
        let out = run(&forged, jwks_file, &["--json"]);
        let document: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(2), "{document}");
        assert_eq!(document["valid"], false);
    }

    // Malformed (1): not a token, a JWKS that is not one, a JWKS nobody serves.
    assert_eq!(run("not.a-token", jwks_file, &[]).status.code(), Some(1));
    let bad_jwks = dir.join("bad.json");
    std::fs::write(&bad_jwks, "{\"keys\": 3}").unwrap();
    assert_eq!(
        run(&token, bad_jwks.to_str().unwrap(), &[]).status.code(),
        Some(1)
    );
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/jwks", closed.local_addr().unwrap());
    drop(closed);
    assert_eq!(run(&token, &url, &[]).status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--nonce-hex` and `--require-status`: a valid token for another nonce, or with a status the
/// relying party does not accept, is invalid (2), the mismatch named.
#[test]
fn the_relying_partys_nonce_and_least_status_are_checked() {
    let dir = std::env::temp_dir().join(format!("snp-vtpm-token-nonce-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = SigningKey::generate(Algorithm::Es256).unwrap();
    let jwks_path = dir.join("jwks.json");
    std::fs::write(
        &jwks_path,
        serde_json::to_string(&Jwks {
            keys: vec![key.public_jwk()],
        })
        .unwrap(),
    )
    .unwrap();
    let jwks = jwks_path.to_str().unwrap();
    let nonce = [0x5Au8; 32];
    let token = |status: &str| {
        key.sign(&json!({
            "iat": AT_SECS - 5, "exp": AT_SECS + 60,
            // base64url of 32 bytes 0x5A, unpadded.
            "eat_nonce": "WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo",
            "submods": { "cvm": { "ear_status": status } },
        }))
    };
    let ours = hex::encode(nonce);
    let code = |token: &str, extra: &[&str]| run(token, jwks, extra).status.code();

    assert_eq!(code(&token("affirming"), &["--nonce-hex", &ours]), Some(0));
    // A 0x prefix is accepted.
    assert_eq!(
        code(&token("affirming"), &["--nonce-hex", &format!("0x{ours}")]),
        Some(0)
    );
    let out = run(&token("affirming"), jwks, &["--nonce-hex", "00112233"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("eat_nonce: expected ABEiMw (--nonce-hex 00112233), found WlpaWl"),
        "{stderr}"
    );
    assert_eq!(code(&token("affirming"), &["--nonce-hex", "zz"]), Some(1));

    assert_eq!(
        code(&token("warning"), &["--require-status", "warning"]),
        Some(0)
    );
    let out = run(
        &token("warning"),
        jwks,
        &["--require-status", "affirming", "--json"],
    );
    assert_eq!(out.status.code(), Some(2));
    let document: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        document["error"],
        "ear_status: expected affirming or better, found warning"
    );
    assert_eq!(
        code(&token("contraindicated"), &["--require-status", "warning"]),
        Some(2)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
