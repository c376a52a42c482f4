//! The result of a successful verification. Only the last step builds one,
//! [`crate::UnrevokedReport::appraise`], which [`crate::verify_report`],
//! [`crate::verify_report_with`] and [`crate::AuthenticReport::appraise`] all end in.

use alloc::string::String;
use alloc::vec::Vec;

use hcl_parse::{FirmwareVersion, Generation, GuestPolicy, Hex, SnpReport, TcbComponents};

use crate::chain::{VerifiedCaChain, VerifiedLeaf};
use crate::crl::RevocationStatus;
use crate::error::CertRole;

/// The guest policy bits a relying party looks at (SEV-SNP Firmware ABI Specification, AMD
/// pub. 56860, rev. 1.58, Table 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct GuestPolicyClaims {
    /// The raw value.
    pub raw: u64,
    /// Minimum ABI major.
    pub abi_major: u8,
    /// Minimum ABI minor.
    pub abi_minor: u8,
    /// SMT allowed.
    pub smt_allowed: bool,
    /// Migration agent allowed.
    pub migrate_ma_allowed: bool,
    /// Debugging allowed.
    pub debug_allowed: bool,
    /// Single socket required.
    pub single_socket_required: bool,
}

/// The TCB values of the report, decoded for its generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TcbClaims {
    /// reported_tcb: what the VCEK certifies.
    pub reported: TcbComponents,
    /// current_tcb.
    pub current: TcbComponents,
    /// committed_tcb.
    pub committed: TcbComponents,
    /// launch_tcb.
    pub launch: TcbComponents,
}

impl GuestPolicyClaims {
    /// The bits of a report's guest policy (as decoded: the claims of a verified report are
    /// these, of its bytes).
    pub fn of(policy: GuestPolicy) -> Self {
        Self {
            raw: policy.0,
            abi_major: policy.abi_major(),
            abi_minor: policy.abi_minor(),
            smt_allowed: policy.smt_allowed(),
            migrate_ma_allowed: policy.migrate_ma_allowed(),
            debug_allowed: policy.debug_allowed(),
            single_socket_required: policy.single_socket_required(),
        }
    }
}

impl TcbClaims {
    /// A report's four TCB values, decoded with `product`'s layout.
    pub fn of(report: &SnpReport<'_>, product: Generation) -> Self {
        Self {
            reported: report.reported_tcb().components(product),
            current: report.current_tcb().components(product),
            committed: report.committed_tcb().components(product),
            launch: report.launch_tcb().components(product),
        }
    }
}

/// A report that passed every check, with the claims a relying party needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifiedReport {
    product: Generation,
    signing_key: CertRole,
    report_version: u32,
    vmpl: u32,
    guest_svn: u32,
    policy: GuestPolicyClaims,
    chip_id: Hex<64>,
    tcb: TcbClaims,
    current_firmware: FirmwareVersion,
    committed_firmware: FirmwareVersion,
    measurement: Hex<48>,
    report_data: Hex<64>,
    host_data: Hex<32>,
    id_key_digest: Hex<48>,
    author_key_digest: Hex<48>,
    family_id: Hex<16>,
    image_id: Hex<16>,
    report_id: Hex<32>,
    platform_info: u64,
    revocation: RevocationStatus,
    amd_roots: bool,
    ark_sha256: Hex<32>,
    leaf_sha256: Hex<32>,
    warnings: Vec<String>,
}

impl VerifiedReport {
    pub(crate) fn new(
        report: &SnpReport<'_>,
        product: Generation,
        chain: &VerifiedCaChain,
        leaf: &VerifiedLeaf,
        revocation: RevocationStatus,
        warnings: Vec<String>,
    ) -> Self {
        Self {
            product,
            signing_key: leaf.role(),
            report_version: report.version(),
            vmpl: report.vmpl(),
            guest_svn: report.guest_svn(),
            policy: GuestPolicyClaims::of(report.policy()),
            chip_id: Hex(*report.chip_id()),
            tcb: TcbClaims::of(report, product),
            current_firmware: report.current_version(),
            committed_firmware: report.committed_version(),
            measurement: Hex(*report.measurement()),
            report_data: Hex(*report.report_data()),
            host_data: Hex(*report.host_data()),
            id_key_digest: Hex(*report.id_key_digest()),
            author_key_digest: Hex(*report.author_key_digest()),
            family_id: Hex(*report.family_id()),
            image_id: Hex(*report.image_id()),
            report_id: Hex(*report.report_id()),
            platform_info: report.platform_info().0,
            revocation,
            amd_roots: chain.amd_anchors(),
            ark_sha256: Hex(*chain.ark_sha256()),
            leaf_sha256: Hex(*leaf.sha256()),
            warnings,
        }
    }

    /// The product (CPU generation).
    pub fn product(&self) -> Generation {
        self.product
    }
    /// VCEK or VLEK.
    pub fn signing_key(&self) -> CertRole {
        self.signing_key
    }
    /// Report version.
    pub fn report_version(&self) -> u32 {
        self.report_version
    }
    /// VMPL the report was requested from.
    pub fn vmpl(&self) -> u32 {
        self.vmpl
    }
    /// Guest SVN.
    pub fn guest_svn(&self) -> u32 {
        self.guest_svn
    }
    /// Guest policy bits.
    pub fn policy(&self) -> &GuestPolicyClaims {
        &self.policy
    }
    /// Chip id.
    pub fn chip_id(&self) -> &[u8; 64] {
        &self.chip_id.0
    }
    /// TCB values.
    pub fn tcb(&self) -> &TcbClaims {
        &self.tcb
    }
    /// Running firmware version.
    pub fn current_firmware(&self) -> FirmwareVersion {
        self.current_firmware
    }
    /// Committed firmware version.
    pub fn committed_firmware(&self) -> FirmwareVersion {
        self.committed_firmware
    }
    /// Launch measurement.
    pub fn measurement(&self) -> &[u8; 48] {
        &self.measurement.0
    }
    /// The 64 bytes of report data (for Azure: the hash of the runtime claims).
    pub fn report_data(&self) -> &[u8; 64] {
        &self.report_data.0
    }
    /// Host data.
    pub fn host_data(&self) -> &[u8; 32] {
        &self.host_data.0
    }
    /// ID-key digest (who signed the launched firmware).
    pub fn id_key_digest(&self) -> &[u8; 48] {
        &self.id_key_digest.0
    }
    /// Author-key digest.
    pub fn author_key_digest(&self) -> &[u8; 48] {
        &self.author_key_digest.0
    }
    /// Family id.
    pub fn family_id(&self) -> &[u8; 16] {
        &self.family_id.0
    }
    /// Image id.
    pub fn image_id(&self) -> &[u8; 16] {
        &self.image_id.0
    }
    /// Platform info bits.
    pub fn platform_info(&self) -> u64 {
        self.platform_info
    }
    /// Whether revocation was checked.
    pub fn revocation(&self) -> RevocationStatus {
        self.revocation
    }
    /// Whether the chain ended in AMD's pinned roots (false: caller-supplied anchors).
    pub fn amd_roots(&self) -> bool {
        self.amd_roots
    }
    /// What verification accepted without the policy saying so: no minimum TCB configured,
    /// a CPUID model this crate does not know. Empty when nothing is left open.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}
