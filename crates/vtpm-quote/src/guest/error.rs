//! Errors of the guest side.

/// Why a vTPM operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TpmError {
    /// The TCTI string could not be parsed or the TPM could not be opened.
    #[error("cannot open the TPM with TCTI \"{tcti}\": {source}")]
    Open {
        /// The TCTI used.
        tcti: String,
        /// The library's error.
        source: tss_esapi::Error,
    },
    /// A TPM command failed.
    #[error("TPM {operation} failed: {source}")]
    Command {
        /// What was being done.
        operation: &'static str,
        /// The library's error (with the TPM response code).
        source: tss_esapi::Error,
    },
    /// A nonce longer than the Azure vTPM accepts.
    #[error("nonce of {len} bytes: the Azure vTPM accepts at most {max} (TPM_RC_SIZE above that)")]
    NonceTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// More than 64 bytes of user data.
    #[error("report data of {len} bytes: NV 0x01400002 holds 64")]
    UserDataTooLong {
        /// Its length.
        len: usize,
    },
    /// No fresh report could be obtained.
    #[error(transparent)]
    Fresh(#[from] crate::guest::fresh::FreshError<Box<TpmError>>),
    /// A structure read from the TPM does not parse.
    #[error("the TPM returned a malformed {what}: {reason}")]
    Malformed {
        /// What was read.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The PCR values kept changing between the quote and the read.
    #[error("PCR values changed during each of {attempts} quote-and-read attempts")]
    PcrsMoving {
        /// Attempts made.
        attempts: u32,
    },
    /// A simulator-only operation (provisioning, replacing the AK) on another TPM.
    #[error("{what} is for simulators only (a swtpm: or mssim: TCTI), not for the TPM at {tcti}")]
    NotASimulator {
        /// The operation refused.
        what: &'static str,
        /// The TCTI in use.
        tcti: String,
    },
    /// Reading a file (the event log) failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

impl TpmError {
    pub(crate) fn command(operation: &'static str) -> impl FnOnce(tss_esapi::Error) -> Self {
        move |source| Self::Command { operation, source }
    }
}
