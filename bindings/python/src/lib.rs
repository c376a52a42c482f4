//! The Rust half of the Python package `snp_vtpm` (its module `snp_vtpm._native`): JSON in,
//! JSON out, so that Python gets exactly the documents `snp-vtpm --json` prints. The Python
//! half (python/snp_vtpm) turns arguments into bytes and the options into JSON, parses the
//! documents and raises the typed exceptions.

use pyo3::prelude::*;
use snp_vtpm::decode::DecodeOptions;
use snp_vtpm::offline::OfflineOptions;
use snp_vtpm::snp_verify::UnixTime;
use snp_vtpm::{BuildInfo, Error, VerdictDocument};

/// The document of a failure that has no verdict.
fn failure(error: &Error) -> String {
    json(&VerdictDocument::<()>::failed(error))
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| {
        json(&VerdictDocument::<()>::bad_input(format!(
            "the result could not be written as JSON: {e}"
        )))
    })
}

fn options(text: &str) -> Result<OfflineOptions, Error> {
    serde_json::from_str(text).map_err(|e| Error::input(format!("options: {e}")))
}

/// Verifies evidence; the verdict document as JSON.
#[pyfunction]
#[pyo3(signature = (evidence, nonce, options_json))]
fn verify(evidence: &[u8], nonce: Option<&[u8]>, options_json: &str) -> String {
    match options(options_json) {
        Ok(options) => json(&options.request(evidence, nonce).document()),
        Err(error) => failure(&error),
    }
}

/// Decodes any artifact at `at` (seconds); the decoding as JSON, or a failure document.
#[pyfunction]
fn decode(artifact: &[u8], at: u64) -> String {
    let options = DecodeOptions {
        at: Some(UnixTime::from_secs(at)),
        ..DecodeOptions::default()
    };
    match snp_vtpm::decode::decode(artifact, &options) {
        Ok(decoded) => json(decoded.json()),
        Err(error) => failure(&error),
    }
}

/// Verifies, then captures the policy: `{"verified": true, "exit_code": 0, "policy": TOML}`
/// or a failure document.
#[pyfunction]
#[pyo3(signature = (evidence, nonce, options_json))]
fn capture_policy(evidence: &[u8], nonce: Option<&[u8]>, options_json: &str) -> String {
    let captured = options(options_json).and_then(|options| {
        options
            .request(evidence, nonce)
            .capture_policy(&options.capture_options())
    });
    match captured {
        Ok(policy) => {
            json(&serde_json::json!({ "verified": true, "exit_code": 0, "policy": policy }))
        }
        Err(error) => failure(&error),
    }
}

/// What this build trusts, as JSON.
#[pyfunction]
fn version() -> String {
    json(&BuildInfo::current())
}

/// What a PCR measures on Azure's confidential VMs.
#[pyfunction]
fn pcr_purpose(index: u8) -> &'static str {
    snp_vtpm::policy_text::pcr_purpose(index)
}

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(verify, module)?)?;
    module.add_function(wrap_pyfunction!(decode, module)?)?;
    module.add_function(wrap_pyfunction!(capture_policy, module)?)?;
    module.add_function(wrap_pyfunction!(version, module)?)?;
    module.add_function(wrap_pyfunction!(pcr_purpose, module)?)?;
    Ok(())
}
