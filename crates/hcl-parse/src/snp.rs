//! The AMD SEV-SNP ATTESTATION_REPORT (versions 2 to 5), as a zero-copy view.
//!
//! Layout: SEV Secure Nested Paging Firmware ABI Specification (AMD pub. 56860), rev. 1.58,
//! Table 23: ATTESTATION_REPORT (Table 22 in rev. 1.57).

use core::fmt;

use zerocopy::little_endian::{U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::bits::{GuestPolicy, KeyInfo, PlatformInfo};
use crate::error::{Error, Result};
use crate::tcb::{Generation, TcbVersion};

/// Size of an SNP attestation report.
pub const SNP_REPORT_SIZE: usize = 0x4A0;
/// Length of the signed part of the report: offsets 0x000..0x2A0 (56860 rev. 1.58, Table 23:
/// the signature covers bytes 0x000 to 0x29F).
pub const SIGNED_LEN: usize = 0x2A0;
/// The newest report version whose layout this crate knows.
pub const NEWEST_KNOWN_VERSION: u32 = 5;

/// The byte layout of an SNP attestation report (little-endian, unaligned): ATTESTATION_REPORT,
/// SEV-SNP Firmware ABI Specification (AMD pub. 56860), rev. 1.58, Table 23.
///
/// Public so that tools which compose reports (the test PKI, fuzz seeds) use the same offsets
/// as the parser; verifiers should use [`SnpReport`].
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone)]
#[repr(C)]
#[allow(missing_docs)] // The fields are the ABI names; SnpReport documents their meaning.
pub struct RawSnpReport {
    pub version: U32,
    pub guest_svn: U32,
    pub policy: U64,
    pub family_id: [u8; 16],
    pub image_id: [u8; 16],
    pub vmpl: U32,
    pub signature_algo: U32,
    pub current_tcb: [u8; 8],
    pub platform_info: U64,
    pub key_info: U32,
    pub reserved_04c: [u8; 4],
    pub report_data: [u8; 64],
    pub measurement: [u8; 48],
    pub host_data: [u8; 32],
    pub id_key_digest: [u8; 48],
    pub author_key_digest: [u8; 48],
    pub report_id: [u8; 32],
    pub report_id_ma: [u8; 32],
    pub reported_tcb: [u8; 8],
    pub cpuid_fam_id: u8,
    pub cpuid_mod_id: u8,
    pub cpuid_step: u8,
    pub reserved_18b: [u8; 21],
    pub chip_id: [u8; 64],
    pub committed_tcb: [u8; 8],
    pub current_build: u8,
    pub current_minor: u8,
    pub current_major: u8,
    pub reserved_1eb: u8,
    pub committed_build: u8,
    pub committed_minor: u8,
    pub committed_major: u8,
    pub reserved_1ef: u8,
    pub launch_tcb: [u8; 8],
    pub launch_mit_vector: U64,
    pub current_mit_vector: U64,
    pub reserved_208: [u8; 152],
    pub signature_r: [u8; 72],
    pub signature_s: [u8; 72],
    pub reserved_330: [u8; 368],
}

const _: () = assert!(size_of::<RawSnpReport>() == SNP_REPORT_SIZE);

/// CPUID family, model and stepping of the chip (report version 3 and later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Cpuid {
    /// Family (0x19 Milan/Genoa, 0x1A Turin).
    pub family: u8,
    /// Model (extended model and model combined).
    pub model: u8,
    /// Stepping.
    pub stepping: u8,
}

/// An SEV firmware version.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct FirmwareVersion {
    /// Major version.
    pub major: u8,
    /// Minor version.
    pub minor: u8,
    /// Build number.
    pub build: u8,
}

impl fmt::Display for FirmwareVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.build)
    }
}

/// The ECDSA P-384 signature as stored: R and S, 72 bytes each, little-endian, zero-padded
/// (56860 rev. 1.58, Table 141: ECDSA P-384 with SHA-384 signature; Table 135 in rev. 1.57).
#[derive(Debug, Clone, Copy)]
pub struct ReportSignature<'a> {
    /// R as stored.
    pub r: &'a [u8; 72],
    /// S as stored.
    pub s: &'a [u8; 72],
}

/// A borrowed view of exactly [`SNP_REPORT_SIZE`] bytes of an SNP attestation report.
///
/// Construction checks the length and that the version is 2 or later; nothing is copied.
/// Fields that a version does not define read as `None`.
#[derive(Clone, Copy)]
pub struct SnpReport<'a> {
    raw: &'a RawSnpReport,
}

impl<'a> SnpReport<'a> {
    /// Borrows a report of exactly [`SNP_REPORT_SIZE`] bytes.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self> {
        let raw = RawSnpReport::ref_from_bytes(bytes).map_err(|_| Error::Truncated {
            what: "SNP report",
            needed: SNP_REPORT_SIZE,
            found: bytes.len(),
        })?;
        let version = raw.version.get();
        if version < 2 {
            return Err(Error::UnsupportedSnpVersion { found: version });
        }
        Ok(Self { raw })
    }

    /// The raw layout, for tools that need a field this view does not decode.
    pub fn raw(&self) -> &'a RawSnpReport {
        self.raw
    }

    /// All 1184 bytes as received.
    pub fn as_bytes(&self) -> &'a [u8; SNP_REPORT_SIZE] {
        // The layout is exactly SNP_REPORT_SIZE bytes (checked at compile time above).
        zerocopy::transmute_ref!(self.raw)
    }

    /// The bytes the signature covers, exactly as received (offsets 0x000..0x2A0).
    pub fn signed_bytes(&self) -> &'a [u8] {
        let (signed, _) = self.as_bytes().split_at(SIGNED_LEN);
        signed
    }

    /// Report version (2 or later).
    pub fn version(&self) -> u32 {
        self.raw.version.get()
    }

    /// True when the version is newer than [`NEWEST_KNOWN_VERSION`] and was read with the v5 layout.
    pub fn is_newer_than_known_layout(&self) -> bool {
        self.version() > NEWEST_KNOWN_VERSION
    }

    /// Guest security version number.
    pub fn guest_svn(&self) -> u32 {
        self.raw.guest_svn.get()
    }

    /// The guest policy the VM was launched with.
    pub fn policy(&self) -> GuestPolicy {
        GuestPolicy(self.raw.policy.get())
    }

    /// Family id given at launch.
    pub fn family_id(&self) -> &'a [u8; 16] {
        &self.raw.family_id
    }

    /// Image id given at launch.
    pub fn image_id(&self) -> &'a [u8; 16] {
        &self.raw.image_id
    }

    /// The VM privilege level that asked for the report.
    pub fn vmpl(&self) -> u32 {
        self.raw.vmpl.get()
    }

    /// Signature algorithm (1 = ECDSA P-384 with SHA-384; 56860 rev. 1.58, Table 139).
    pub fn signature_algo(&self) -> u32 {
        self.raw.signature_algo.get()
    }

    /// The platform's current TCB.
    pub fn current_tcb(&self) -> TcbVersion {
        TcbVersion(self.raw.current_tcb)
    }

    /// Platform information bits.
    pub fn platform_info(&self) -> PlatformInfo {
        PlatformInfo(self.raw.platform_info.get())
    }

    /// Which key signed the report, and related flags.
    pub fn key_info(&self) -> KeyInfo {
        KeyInfo(self.raw.key_info.get())
    }

    /// The 64 bytes of guest-supplied data.
    pub fn report_data(&self) -> &'a [u8; 64] {
        &self.raw.report_data
    }

    /// The launch measurement.
    pub fn measurement(&self) -> &'a [u8; 48] {
        &self.raw.measurement
    }

    /// Data the host supplied at launch.
    pub fn host_data(&self) -> &'a [u8; 32] {
        &self.raw.host_data
    }

    /// SHA-384 of the key that signed the ID block (identifies the firmware's signer).
    pub fn id_key_digest(&self) -> &'a [u8; 48] {
        &self.raw.id_key_digest
    }

    /// SHA-384 of the author key that certified the ID key (zero when not used).
    pub fn author_key_digest(&self) -> &'a [u8; 48] {
        &self.raw.author_key_digest
    }

    /// Report id of the guest.
    pub fn report_id(&self) -> &'a [u8; 32] {
        &self.raw.report_id
    }

    /// Report id of the migration agent.
    pub fn report_id_ma(&self) -> &'a [u8; 32] {
        &self.raw.report_id_ma
    }

    /// The TCB the VCEK is derived from: the one a VCEK must match.
    pub fn reported_tcb(&self) -> TcbVersion {
        TcbVersion(self.raw.reported_tcb)
    }

    /// CPUID family, model and stepping (version 3 and later).
    pub fn cpuid(&self) -> Option<Cpuid> {
        (self.version() >= 3).then_some(Cpuid {
            family: self.raw.cpuid_fam_id,
            model: self.raw.cpuid_mod_id,
            stepping: self.raw.cpuid_step,
        })
    }

    /// The CPU generation from the CPUID fields; `Ok(None)` for version 2 reports, which
    /// carry none (use the VCEK's product name or a caller hint instead).
    pub fn generation(&self) -> Result<Option<Generation>> {
        match self.cpuid() {
            None => Ok(None),
            Some(Cpuid { family, model, .. }) => Generation::from_cpuid(family, model)
                .map(Some)
                .ok_or(Error::UnknownCpu { family, model }),
        }
    }

    /// The chip identifier (only the first 8 bytes are meaningful on Turin; all zero when masked).
    pub fn chip_id(&self) -> &'a [u8; 64] {
        &self.raw.chip_id
    }

    /// True when the chip id is all zero, as it is when the host has masked it (MaskChipId).
    pub fn is_chip_id_masked(&self) -> bool {
        self.raw.chip_id.iter().all(|&b| b == 0)
    }

    /// The committed TCB.
    pub fn committed_tcb(&self) -> TcbVersion {
        TcbVersion(self.raw.committed_tcb)
    }

    /// The running firmware version.
    pub fn current_version(&self) -> FirmwareVersion {
        FirmwareVersion {
            major: self.raw.current_major,
            minor: self.raw.current_minor,
            build: self.raw.current_build,
        }
    }

    /// The committed firmware version.
    pub fn committed_version(&self) -> FirmwareVersion {
        FirmwareVersion {
            major: self.raw.committed_major,
            minor: self.raw.committed_minor,
            build: self.raw.committed_build,
        }
    }

    /// The TCB at launch.
    pub fn launch_tcb(&self) -> TcbVersion {
        TcbVersion(self.raw.launch_tcb)
    }

    /// Mitigations applied at launch (version 5 and later).
    pub fn launch_mit_vector(&self) -> Option<u64> {
        (self.version() >= 5).then(|| self.raw.launch_mit_vector.get())
    }

    /// Mitigations currently applied (version 5 and later).
    pub fn current_mit_vector(&self) -> Option<u64> {
        (self.version() >= 5).then(|| self.raw.current_mit_vector.get())
    }

    /// R and S as stored.
    pub fn signature(&self) -> ReportSignature<'a> {
        ReportSignature {
            r: &self.raw.signature_r,
            s: &self.raw.signature_s,
        }
    }

    /// True when every reserved byte the report's version defines as reserved is zero,
    /// including the unsigned tail and the signature padding.
    pub fn reserved_bytes_are_zero(&self) -> bool {
        let raw = self.raw;
        let zero = |bytes: &[u8]| bytes.iter().all(|&b| b == 0);
        let v3_fields_zero = self.version() >= 3
            || (raw.cpuid_fam_id == 0 && raw.cpuid_mod_id == 0 && raw.cpuid_step == 0);
        let v5_fields_zero = self.version() >= 5
            || (raw.launch_mit_vector.get() == 0 && raw.current_mit_vector.get() == 0);
        zero(&raw.reserved_04c)
            && zero(&raw.reserved_18b)
            && raw.reserved_1eb == 0
            && raw.reserved_1ef == 0
            && zero(&raw.reserved_208)
            && zero(&raw.reserved_330)
            && zero(raw.signature_r.get(48..).unwrap_or_default())
            && zero(raw.signature_s.get(48..).unwrap_or_default())
            && v3_fields_zero
            && v5_fields_zero
    }
}

impl fmt::Debug for SnpReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnpReport")
            .field("version", &self.version())
            .field("vmpl", &self.vmpl())
            .field("policy", &self.policy())
            .field("cpuid", &self.cpuid())
            .field("reported_tcb", &self.reported_tcb())
            .finish_non_exhaustive()
    }
}
