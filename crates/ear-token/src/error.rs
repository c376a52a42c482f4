//! Why a key, a JWKS or a token was refused.

/// Malformed (cannot be read) or invalid (read, and refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Not a compact JWS, not base64url, not JSON, not a key.
    Malformed,
    /// Readable, and refused: algorithm, key id, signature, expiry.
    Invalid,
}

/// Why a key, a JWKS or a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input cannot be read.
    #[error("{what}: {reason}")]
    Malformed {
        /// Which part.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The token was read and is refused.
    #[error("{what}: expected {expected}, found {found}")]
    Invalid {
        /// The check.
        what: &'static str,
        /// What is accepted.
        expected: String,
        /// What the token holds.
        found: String,
    },
    /// The signature does not verify under the key the token names.
    #[error("the signature does not verify under the key \"{kid}\"")]
    BadSignature {
        /// The key id.
        kid: String,
    },
}

impl Error {
    /// Malformed or invalid.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Malformed { .. } => ErrorKind::Malformed,
            Self::Invalid { .. } | Self::BadSignature { .. } => ErrorKind::Invalid,
        }
    }

    pub(crate) fn malformed(what: &'static str, reason: impl Into<String>) -> Self {
        Self::Malformed {
            what,
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid(
        what: &'static str,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Self::Invalid {
            what,
            expected: expected.into(),
            found: found.into(),
        }
    }
}
