//! The binary's side of an error: its exit code, and a hint in terms of this tool's flags (the
//! library's messages name no flag).

use snp_vtpm::amd_kds::ArtifactKind;
#[cfg(feature = "attester")]
use snp_vtpm::vtpm_quote::guest::TpmError;
use snp_vtpm::{Error, ErrorKind, Missing, Staleness};

/// Exit codes of `snp-vtpm` (also in `--help`, the README and `docs/cli.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum ExitCode {
    /// Verified.
    Verified = 0,
    /// Usage error, or unreadable or malformed input.
    Input = 1,
    /// A cryptographic, binding or freshness check failed.
    Verification = 2,
    /// A policy check failed (firmware identity, TCB minima, debug, VMPL, PCRs, ...).
    Policy = 3,
    /// Certificates or CRL unavailable (offline, KDS refused after retries).
    Unavailable = 4,
    /// The TPM failed.
    Tpm = 5,
}

impl ExitCode {
    /// The exit code for a failure.
    pub(crate) fn of(error: &Error) -> Self {
        match error.kind() {
            ErrorKind::Input => Self::Input,
            ErrorKind::Verification => Self::Verification,
            ErrorKind::Policy => Self::Policy,
            ErrorKind::Unavailable => Self::Unavailable,
            ErrorKind::Tpm => Self::Tpm,
        }
    }
}

/// What the user can do about an error with this tool's flags, when there is something.
pub(crate) fn hint(error: &Error) -> Option<&'static str> {
    #[cfg(feature = "attester")]
    if let Error::Tpm(tpm) = error {
        return tpm_hint(tpm);
    }
    match error {
        Error::Missing(Missing::Leaf) => Some(
            "give the VCEK with --vcek (or inside a --chain bundle), or let snp-vtpm fetch it (without --offline)",
        ),
        Error::Missing(Missing::CaChain) => Some(
            "give the ASK and ARK with --chain, or let snp-vtpm fetch them (without --offline)",
        ),
        Error::Missing(Missing::Product) => Some("give --product, or the chain with --chain"),
        Error::UnknownFirmware(_) | Error::UnknownTdFirmware { .. } => Some(
            "trust it in a firmware catalog file given with --firmware-catalog (`snp-vtpm policy catalog` lists the known firmware); for tests and labs only, `verify --allow-unknown-firmware` accepts it and the verdict records that",
        ),
        Error::Fetch(snp_vtpm::amd_kds::Error::NotCachedOffline {
            kind: ArtifactKind::Crl,
            ..
        }) => Some("give the CRL with --crl, or run once without --offline to fetch and cache it"),
        Error::Fetch(snp_vtpm::amd_kds::Error::NotCachedOffline {
            kind: ArtifactKind::TdxCollateral,
            ..
        }) => Some(
            "give the collateral with --collateral, or run once without --offline to fetch and cache it (a cached copy is kept a day)",
        ),
        Error::Fetch(snp_vtpm::amd_kds::Error::NotCachedOffline { .. }) => Some(
            "run once without --offline to fetch and cache it, or give the certificates with --chain and --vcek",
        ),
        Error::Stale(Staleness::NoNonce) => {
            Some("give the nonce with --nonce or --nonce-hex instead of --no-nonce")
        }
        _ => None,
    }
}

/// What to do about a TPM error.
#[cfg(feature = "attester")]
fn tpm_hint(error: &TpmError) -> Option<&'static str> {
    match error {
        TpmError::NoDevice { .. } => Some(
            "on an Azure confidential VM the vTPM is /dev/tpmrm0; elsewhere, verify a saved report with `report --file`, or name another TPM with --tcti (swtpm:host=127.0.0.1,port=2321)",
        ),
        TpmError::DeviceAccess { source, .. }
            if source.kind() == std::io::ErrorKind::PermissionDenied =>
        {
            Some(
                "run as root (sudo), or as a member of the group that owns the device (often tss: ls -l /dev/tpmrm0)",
            )
        }
        TpmError::NotADevice { .. } => Some(
            "name a TPM device (device:/dev/tpmrm0) or a simulator (swtpm:host=HOST,port=PORT) with --tcti or SNP_VTPM_TCTI",
        ),
        TpmError::NotAnAzureVtpm { .. } | TpmError::NoAttestationKey { .. } => Some(
            "only Azure confidential VMs' vTPMs hold the HCL report and the attestation key; a simulator must be provisioned first (cargo xtask attest does it: xtask/attest)",
        ),
        TpmError::Open { tcti, .. } if tcti.starts_with("swtpm") || tcti.starts_with("mssim") => {
            Some("is the simulator running and listening on that host and port?")
        }
        TpmError::BadTcti { .. } => Some(
            "give --tcti (or SNP_VTPM_TCTI) as device:/dev/tpmrm0 or swtpm:host=HOST,port=PORT",
        ),
        _ => None,
    }
}
