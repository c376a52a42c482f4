//! The verdict document: the one JSON shape in which `snp-vtpm verify --json`, the npm and
//! Python packages and the web page report a verification, success and failure alike
//! (`docs/verdict.schema.json`). Built here so that every front end says exactly the same.

use serde::Serialize;

use crate::error::{Check, Error};

/// A verification's outcome as a document: `verified` with the verdict, or the failed check,
/// its exit code and the error.
#[derive(Debug, Clone, Serialize)]
pub struct VerdictDocument<T> {
    /// Whether every check passed.
    pub verified: bool,
    /// 0 when verified, else [`crate::ErrorKind::exit_code`] of the failure.
    pub exit_code: u8,
    /// The check that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_check: Option<Check>,
    /// What failed, with the expected and found values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the caller can do about it, in the front end's terms (the library names no flag,
    /// so it leaves this to the front end).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The verified claims.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<T>,
    /// The artifact as decoded, for front ends that show it beside the verdict (`snp-vtpm
    /// report --json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoded: Option<serde_json::Value>,
}

impl<T> VerdictDocument<T> {
    /// A successful verification.
    pub fn verified(verdict: T) -> Self {
        Self {
            verified: true,
            exit_code: 0,
            failed_check: None,
            error: None,
            hint: None,
            verdict: Some(verdict),
            decoded: None,
        }
    }

    /// A failed one.
    pub fn failed(error: &Error) -> Self {
        Self {
            verified: false,
            exit_code: error.kind().exit_code(),
            failed_check: Some(error.check()),
            error: Some(error.message()),
            hint: None,
            verdict: None,
            decoded: None,
        }
    }

    /// Either, from a verification's result.
    pub fn of(result: Result<T, Error>) -> Self {
        match result {
            Ok(verdict) => Self::verified(verdict),
            Err(error) => Self::failed(&error),
        }
    }

    /// The document for input that could not be used at all (a front end's own argument
    /// checks: exit code 1, failed check `input`).
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self {
            verified: false,
            exit_code: crate::ErrorKind::Input.exit_code(),
            failed_check: Some(Check::Input),
            error: Some(message.into()),
            hint: None,
            verdict: None,
            decoded: None,
        }
    }

    /// With a hint (none when `hint` is None).
    pub fn with_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    /// With the artifact as decoded.
    pub fn with_decoded(mut self, decoded: serde_json::Value) -> Self {
        self.decoded = Some(decoded);
        self
    }
}
