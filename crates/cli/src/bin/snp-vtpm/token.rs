//! `verify-token`: a relying party's check of an attestation result (an EAR JWT from
//! `snp-vtpm-server`) against the issuer's JWKS: only ES256/ES384, the signature, a `kid` of
//! the JWKS, the expiry; and, when asked, the relying party's own nonce and the least status it
//! accepts. Exit 0 valid, 1 malformed (or the JWKS cannot be had), 2 invalid.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Args;
use ear_token::{ErrorKind, Jwks, verify_token};
use serde_json::json;

use crate::exit::ExitCode;
use crate::{Outcome, inputs, output};

/// Check an attestation result (EAR JWT) against the issuer's JWKS
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  snp-vtpm verify-token \"$TOKEN\" --jwks http://127.0.0.1:8080/.well-known/jwks.json
  snp-vtpm verify-token @token.jwt --jwks jwks.json --at 2026-12-07T10:00:00Z --json
  snp-vtpm verify-token @token.jwt --jwks jwks.json --nonce-hex $NONCE --require-status affirming

Exit codes: 0 valid, 1 malformed token or JWKS (or the JWKS cannot be fetched), 2 invalid
(algorithm other than ES256/ES384, kid not in the JWKS, signature, expired, another nonce,
a status below --require-status)")]
pub(crate) struct VerifyTokenArgs {
    /// The token, `@FILE` for a file, or `-` for stdin
    pub token: String,
    /// The issuer's JWKS: an http(s) URL or a file
    #[arg(long, value_name = "URL|FILE")]
    pub jwks: String,
    /// Check as of this time (RFC 3339, UTC) instead of now
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<String>,
    /// The nonce this relying party asked for (hex): the token's eat_nonce must be it (without
    /// this check, a token issued for someone else's evidence is just as valid)
    #[arg(long, value_name = "HEX")]
    pub nonce_hex: Option<String>,
    /// The least appraisal status accepted: affirming, or warning (affirming or warning)
    #[arg(long, value_name = "affirming|warning")]
    pub require_status: Option<RequiredStatus>,
    /// One JSON document on stdout
    #[arg(long, num_args = 0..=1, require_equals = true, default_value_t = false, default_missing_value = "true", action = clap::ArgAction::Set, value_name = "BOOL")]
    pub json: bool,
}

/// The least EAR status a relying party accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum RequiredStatus {
    /// Only `affirming`.
    Affirming,
    /// `affirming` or `warning`.
    Warning,
}

impl RequiredStatus {
    fn accepts(self, status: &str) -> bool {
        match self {
            Self::Affirming => status == "affirming",
            Self::Warning => matches!(status, "affirming" | "warning"),
        }
    }
}

/// A failure of verify-token: its exit code and message.
struct Failure(ExitCode, String);

/// Runs `verify-token`.
pub(crate) fn verify_token_command(args: VerifyTokenArgs) -> Outcome {
    let result = check(&args);
    match (result, args.json) {
        (Ok(verified), true) => {
            output::print_json(&json!({
                "valid": true,
                "exit_code": 0,
                "algorithm": verified.algorithm.name(),
                "kid": verified.kid,
                "header": verified.header,
                "claims": verified.claims,
            }));
            Ok(ExitCode::Verified)
        }
        (Ok(verified), false) => {
            let status = verified
                .claims
                .pointer("/submods/cvm/ear_status")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("(no cvm submodule)");
            output::out(&format!(
                "VALID: signed with {} by key {}, not expired; cvm status {}\n",
                verified.algorithm.name(),
                output::printable_value(&verified.kid),
                output::printable_value(status)
            ));
            Ok(ExitCode::Verified)
        }
        (Err(Failure(code, message)), true) => {
            output::print_json(&json!({
                "valid": false,
                "exit_code": code as u8,
                "error": message,
            }));
            Ok(code)
        }
        (Err(Failure(code, message)), false) => {
            output::err(&format!("snp-vtpm: {}", output::printable(&message)));
            Ok(code)
        }
    }
}

fn check(args: &VerifyTokenArgs) -> Result<ear_token::VerifiedToken, Failure> {
    let input = |e: snp_vtpm::Error| Failure(ExitCode::Input, e.message());
    let token = match args.token.as_str() {
        "-" => String::from_utf8(inputs::read(&PathBuf::from("-")).map_err(input)?)
            .map_err(|_| Failure(ExitCode::Input, "the token is not text".into()))?,
        text => match text.strip_prefix('@') {
            Some(path) => String::from_utf8(inputs::read(&PathBuf::from(path)).map_err(input)?)
                .map_err(|_| Failure(ExitCode::Input, format!("{path}: not text")))?,
            None => text.to_string(),
        },
    };
    let now = match &args.at {
        Some(text) => inputs::rfc3339(text).map_err(input)?,
        None => inputs::now(),
    };
    let jwks_bytes = if args.jwks.starts_with("http://") || args.jwks.starts_with("https://") {
        fetch(&args.jwks)?
    } else {
        inputs::read(&PathBuf::from(&args.jwks)).map_err(input)?
    };
    let jwks = Jwks::from_json(&jwks_bytes)
        .map_err(|e| Failure(ExitCode::Input, format!("--jwks {}: {e}", args.jwks)))?;
    let expected_nonce = match &args.nonce_hex {
        Some(text) => Some(inputs::hex_bytes(text, "--nonce-hex").map_err(input)?),
        None => None,
    };
    let verified = verify_token(&token, &jwks, now).map_err(|e| {
        let code = match e.kind() {
            ErrorKind::Malformed => ExitCode::Input,
            ErrorKind::Invalid => ExitCode::Verification,
        };
        Failure(code, e.to_string())
    })?;
    let invalid = |message: String| Failure(ExitCode::Verification, message);
    if let Some(expected) = expected_nonce {
        let found = verified.claims.get("eat_nonce").and_then(|v| v.as_str());
        let wanted = URL_SAFE_NO_PAD.encode(&expected);
        if found != Some(wanted.as_str()) {
            return Err(invalid(format!(
                "eat_nonce: expected {wanted} (--nonce-hex {}), found {}",
                hex::encode(&expected),
                found.map_or("none".into(), output::printable_value)
            )));
        }
    }
    if let Some(required) = args.require_status {
        let status = verified
            .claims
            .pointer("/submods/cvm/ear_status")
            .and_then(|v| v.as_str())
            .unwrap_or("none");
        if !required.accepts(status) {
            return Err(invalid(format!(
                "ear_status: expected {} or better, found {}",
                if required == RequiredStatus::Affirming {
                    "affirming"
                } else {
                    "warning"
                },
                output::printable_value(status)
            )));
        }
    }
    Ok(verified)
}

/// GETs a JWKS (at most 1 MiB, 10 s).
fn fetch(url: &str) -> Result<Vec<u8>, Failure> {
    let failed = |e: ureq::Error| Failure(ExitCode::Input, format!("--jwks {url}: {e}"));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(10)))
        .build()
        .into();
    agent
        .get(url)
        .call()
        .map_err(failed)?
        .body_mut()
        .with_config()
        .limit(1 << 20)
        .read_to_vec()
        .map_err(failed)
}
