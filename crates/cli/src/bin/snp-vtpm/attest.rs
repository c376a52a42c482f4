//! `attest --to URL`: the guest side of an attestation with `snp-vtpm-server`. It takes a
//! challenge, gathers evidence bound to the nonce (the report made fresh with it, the vTPM
//! quote carrying it), posts it, and prints the attestation result. With `--json`, stdout
//! carries exactly one JSON document: `{"token", "jwks", "nonce", "verdict"}` on success, the service's
//! refusal (with `exit_code`) otherwise; everything else goes to stderr.
//!
//! Exit codes follow the service's answer: 0 a token, 1 malformed (400, 413), not the
//! service's URL (404, 405) or a usage error, 2
//! refused by a check (403), 3 refused by the policy (403), 4 unavailable (503, or the service
//! cannot be reached), 5 TPM error.

use std::time::Duration;

use clap::Args;
use serde_json::{Value, json};
use snp_vtpm::Error;
use snp_vtpm::attester::Attester;

use crate::args::{FetchArgs, TctiArgs, TrustArgs};
use crate::exit::ExitCode;
use crate::{Outcome, output};

/// Attest to an snp-vtpm-server: challenge, fresh evidence, result (guest)
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sudo snp-vtpm attest --to https://attest.example.com
  sudo snp-vtpm attest --to http://127.0.0.1:8080 --json > result.json
  sudo snp-vtpm attest --to https://attest.example.com --save-evidence evidence.json")]
pub(crate) struct AttestArgs {
    /// The service's base URL (http:// or https://)
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// One JSON document on stdout
    #[arg(long, num_args = 0..=1, require_equals = true, default_value_t = false, default_missing_value = "true", action = clap::ArgAction::Set, value_name = "BOOL")]
    pub json: bool,
    /// Do not fetch certificates (the service fetches them)
    #[arg(long)]
    pub no_certs: bool,
    #[command(flatten)]
    pub tcti: TctiArgs,
    #[command(flatten)]
    pub fetch: FetchArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// PEM file with the root the AK certificate's path must end at, instead of Azure's pinned
    /// vTPM root (test and private PKIs only)
    #[arg(long, env = "SNP_VTPM_TRUST_VTPM_ROOT", value_name = "PEM")]
    pub trust_vtpm_root: Option<std::path::PathBuf>,
    /// Also write the evidence posted to FILE (for an audit trail, or to verify it yourself)
    #[arg(long, value_name = "FILE")]
    pub save_evidence: Option<std::path::PathBuf>,
}

/// How long one request to the service may take (verification may fetch certificates).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A failure: the exit code, the message, and the service's answer when there was one.
struct Failure(ExitCode, String, Option<Value>);

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self(ExitCode::of(&error), error.message(), None)
    }
}

/// Runs `attest`.
pub(crate) fn attest(args: AttestArgs) -> Outcome {
    match (run(&args), args.json) {
        (Ok(document), true) => {
            output::print_json(&document);
            Ok(ExitCode::Verified)
        }
        (Ok(document), false) => {
            output::out(&format!(
                "{}\n",
                field(&document, "token").as_str().unwrap_or_default()
            ));
            Ok(ExitCode::Verified)
        }
        (Err(Failure(code, message, answer)), json) => {
            if json {
                // The service's answer, when it was a JSON object, with our exit code and
                // message; otherwise a document of our own.
                let mut document = match answer {
                    Some(Value::Object(object)) => object,
                    _ => serde_json::Map::from_iter([("verified".to_string(), false.into())]),
                };
                document.insert("exit_code".into(), (code as u8).into());
                document.insert("error".into(), message.clone().into());
                output::print_json(&Value::Object(document));
            } else {
                output::err(&format!("snp-vtpm: {}", output::printable(&message)));
            }
            Ok(code)
        }
    }
}

fn run(args: &AttestArgs) -> Result<Value, Failure> {
    let base = args.to.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(Failure(
            ExitCode::Input,
            format!("--to {}: expected an http:// or https:// URL", args.to),
            None,
        ));
    }
    if let Some(path) = &args.save_evidence {
        output::check_writable(path, "--save-evidence")?;
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(REQUEST_TIMEOUT))
        // Gathering evidence can take seconds; the service closes idle connections after 10 s,
        // so the post goes on a new connection rather than one that may close under it.
        .max_idle_age(Duration::from_secs(2))
        .build()
        .into();

    // The challenge first: the report is made fresh for its nonce.
    let (status, challenge) = request(&agent, &format!("{base}/challenge"), Some(b"{}"))?;
    if status != 200 {
        return Err(refused(status, challenge));
    }
    let nonce = field(&challenge, "nonce")
        .as_str()
        .and_then(|text| hex::decode(text).ok())
        .ok_or_else(|| {
            Failure(
                ExitCode::Unavailable,
                format!("{base}/challenge answered without a hex nonce"),
                Some(challenge.clone()),
            )
        })?;

    let options = crate::guest::attester_options(
        args.no_certs,
        &args.fetch,
        &args.trust,
        args.trust_vtpm_root.as_ref(),
    )?;
    let mut attester = Attester::open(args.tcti.tcti.as_deref(), options)?;
    let evidence = attester.evidence(&nonce, true)?;
    for warning in attester.warnings() {
        output::err(&format!("warning: {}", output::printable_value(warning)));
    }

    let evidence = evidence.to_json();
    if let Some(path) = &args.save_evidence {
        output::write_out(Some(path), &evidence)?;
    }
    let (status, result) = request(&agent, &format!("{base}/attest"), Some(&evidence))?;
    if status != 200 {
        return Err(refused(status, result));
    }
    let token = field(&result, "token").clone();
    if !token.is_string() {
        return Err(Failure(
            ExitCode::Unavailable,
            format!("{base}/attest answered 200 without a token"),
            Some(result),
        ));
    }
    let (status, jwks) = request(&agent, &format!("{base}/.well-known/jwks.json"), None)?;
    if status != 200 {
        return Err(refused(status, jwks));
    }
    Ok(json!({
        "token": token,
        "jwks": jwks,
        "nonce": hex::encode(&nonce),
        "verdict": field(&result, "verdict"),
    }))
}

/// A field of a JSON object (`Null` when absent or not an object).
fn field<'a>(value: &'a Value, name: &str) -> &'a Value {
    value.get(name).unwrap_or(&Value::Null)
}

/// One request (POST with a body, else GET); the status and the JSON answer.
fn request(agent: &ureq::Agent, url: &str, body: Option<&[u8]>) -> Result<(u16, Value), Failure> {
    let unreachable = |e: ureq::Error| Failure(ExitCode::Unavailable, format!("{url}: {e}"), None);
    let mut response = match body {
        Some(body) => agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(body),
        None => agent.get(url).call(),
    }
    .map_err(unreachable)?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .with_config()
        .limit(4 << 20)
        .read_to_string()
        .map_err(unreachable)?;
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok((status, value))
}

/// The exit code and message of a refusal by the service.
fn refused(status: u16, answer: Value) -> Failure {
    let code = match (status, field(&answer, "kind").as_str()) {
        // Malformed evidence, or a URL that is not the service's (no such route or method).
        (400 | 404 | 405 | 413, _) => ExitCode::Input,
        (403, Some("policy")) => ExitCode::Policy,
        (403, _) => ExitCode::Verification,
        _ => ExitCode::Unavailable,
    };
    let message = format!(
        "the service refused ({status}): {}{}",
        field(&answer, "error")
            .as_str()
            .unwrap_or("no reason given"),
        field(&answer, "failed_check")
            .as_str()
            .map(|check| format!(" [{check}]"))
            .unwrap_or_default()
    );
    Failure(code, message, Some(answer))
}
