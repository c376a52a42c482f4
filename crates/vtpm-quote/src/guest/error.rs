//! Errors of the guest side.

/// Why a vTPM operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TpmError {
    /// The TCTI string is not one libtss2 understands.
    #[error(
        "TCTI \"{tcti}\" is not understood ({source}); valid forms: device:/dev/tpmrm0, swtpm:host=127.0.0.1,port=2321, mssim:host=127.0.0.1,port=2321, tabrmd:"
    )]
    BadTcti {
        /// The TCTI given.
        tcti: String,
        /// The library's error.
        source: tss_esapi::Error,
    },
    /// The device a `device:` TCTI names does not exist.
    #[error("no TPM at {path}: this machine has no such device (not a confidential VM?)")]
    NoDevice {
        /// The device path.
        path: String,
    },
    /// The path a `device:` TCTI names is no character device (a file, a directory, a pipe).
    #[error("{path} is not a TPM device (a TPM is a character device such as /dev/tpmrm0)")]
    NotADevice {
        /// The path.
        path: String,
    },
    /// The device exists but cannot be opened for reading and writing.
    #[error("cannot open the TPM at {path}: {source}")]
    DeviceAccess {
        /// The device path.
        path: String,
        /// Why (permission denied, busy, ...).
        source: std::io::Error,
    },
    /// The TPM has no HCL report: it is not an Azure confidential VM's vTPM.
    #[error(
        "the TPM at {tcti} has no NV index {index:#010x} (the HCL report): it is not the vTPM of an Azure confidential VM"
    )]
    NotAnAzureVtpm {
        /// The NV index looked for.
        index: u32,
        /// The TCTI in use.
        tcti: String,
    },
    /// The TPM has no key at the Azure attestation key's persistent handle.
    #[error(
        "the TPM at {tcti} has no key at persistent handle {handle:#010x} (Azure's attestation key): not an Azure vTPM, or the key was evicted"
    )]
    NoAttestationKey {
        /// The persistent handle.
        handle: u32,
        /// The TCTI in use.
        tcti: String,
    },
    /// The TPM could not be opened.
    #[error(
        "cannot open the TPM with TCTI \"{tcti}\": libtss2 failed ({source}); its own log says why (add --verbose)"
    )]
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
