//! The bit fields of an SNP report: guest policy, platform information and key information.
//!
//! SEV-SNP Firmware ABI Specification (AMD pub. 56860), rev. 1.58: guest policy, Table 9;
//! PLATFORM_INFO and the key fields are fields of ATTESTATION_REPORT, Table 23 (rev. 1.57:
//! Tables 9 and 22).

use core::fmt;

/// The guest policy (report offset 0x008; 56860 rev. 1.58, Table 9).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct GuestPolicy(pub u64);

impl GuestPolicy {
    /// Bits 63:26, which no firmware defines yet.
    pub const UNDEFINED_BITS: u64 = !((1 << 26) - 1);
    const RESERVED_ONE: u64 = 1 << 17;

    fn bit(self, n: u32) -> bool {
        self.0 >> n & 1 == 1
    }
    /// Minimum ABI minor version.
    pub fn abi_minor(self) -> u8 {
        self.0.to_le_bytes()[0]
    }
    /// Minimum ABI major version.
    pub fn abi_major(self) -> u8 {
        self.0.to_le_bytes()[1]
    }
    /// Bit 16: simultaneous multithreading allowed.
    pub fn smt_allowed(self) -> bool {
        self.bit(16)
    }
    /// Bit 18: association with a migration agent allowed.
    pub fn migrate_ma_allowed(self) -> bool {
        self.bit(18)
    }
    /// Bit 19: debugging allowed (the hypervisor can read guest memory).
    pub fn debug_allowed(self) -> bool {
        self.bit(19)
    }
    /// Bit 20: the guest may run on a single socket only.
    pub fn single_socket_required(self) -> bool {
        self.bit(20)
    }
    /// Bit 21: CXL may be populated with guest memory.
    pub fn cxl_allowed(self) -> bool {
        self.bit(21)
    }
    /// Bit 22: AES-256-XTS memory encryption required.
    pub fn mem_aes_256_xts_required(self) -> bool {
        self.bit(22)
    }
    /// Bit 23: running average power limit must be disabled.
    pub fn rapl_disable_required(self) -> bool {
        self.bit(23)
    }
    /// Bit 24: ciphertext hiding required.
    pub fn ciphertext_hiding_required(self) -> bool {
        self.bit(24)
    }
    /// Bit 25: guest page swapping disabled.
    pub fn page_swap_disabled(self) -> bool {
        self.bit(25)
    }
    /// True when bit 17 is set (the ABI requires it) and bits 63:26 are clear.
    pub fn reserved_bits_valid(self) -> bool {
        self.0 & Self::RESERVED_ONE != 0 && self.0 & Self::UNDEFINED_BITS == 0
    }
}

impl fmt::Debug for GuestPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GuestPolicy({:#x})", self.0)
    }
}

/// Platform information (report offset 0x040; PLATFORM_INFO in 56860 rev. 1.58, Table 23).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlatformInfo(pub u64);

impl PlatformInfo {
    fn bit(self, n: u32) -> bool {
        self.0 >> n & 1 == 1
    }
    /// Bit 0: SMT is enabled on the platform.
    pub fn smt_enabled(self) -> bool {
        self.bit(0)
    }
    /// Bit 1: transparent SME is enabled.
    pub fn tsme_enabled(self) -> bool {
        self.bit(1)
    }
    /// Bit 2: the platform uses ECC memory.
    pub fn ecc_enabled(self) -> bool {
        self.bit(2)
    }
    /// Bit 3: RAPL is disabled.
    pub fn rapl_disabled(self) -> bool {
        self.bit(3)
    }
    /// Bit 4: ciphertext hiding is enabled.
    pub fn ciphertext_hiding_enabled(self) -> bool {
        self.bit(4)
    }
    /// Bit 5: the memory alias check has completed.
    pub fn alias_check_complete(self) -> bool {
        self.bit(5)
    }
}

impl fmt::Debug for PlatformInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlatformInfo({:#x})", self.0)
    }
}

/// Which key signed a report (bits 4:2 of key info: SIGNING_KEY, 56860 rev. 1.58, Table 23).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum SigningKey {
    /// The chip-unique versioned chip endorsement key.
    Vcek,
    /// A versioned loaded endorsement key, provisioned by a cloud provider.
    Vlek,
    /// The report is not signed.
    None,
    /// A value the ABI reserves.
    Reserved(u8),
}

impl fmt::Display for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Vcek => f.write_str("VCEK"),
            Self::Vlek => f.write_str("VLEK"),
            Self::None => f.write_str("none"),
            Self::Reserved(v) => write!(f, "reserved value {v}"),
        }
    }
}

/// Key information (report offset 0x048: AUTHOR_KEY_EN, MASK_CHIP_KEY and SIGNING_KEY,
/// 56860 rev. 1.58, Table 23).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyInfo(pub u32);

impl KeyInfo {
    /// Bit 0: the author key digest is present.
    pub fn author_key_enabled(self) -> bool {
        self.0 & 1 == 1
    }
    /// Bit 1: the chip key is masked (the report is not signed by the chip).
    pub fn chip_key_masked(self) -> bool {
        self.0 >> 1 & 1 == 1
    }
    /// Bits 4:2: the key that signed the report.
    pub fn signing_key(self) -> SigningKey {
        match (self.0 >> 2 & 0b111) as u8 {
            0 => SigningKey::Vcek,
            1 => SigningKey::Vlek,
            7 => SigningKey::None,
            other => SigningKey::Reserved(other),
        }
    }
}

impl fmt::Debug for KeyInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyInfo({:#x})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_policy_decodes() {
        let policy = GuestPolicy(0x3001F);
        assert_eq!((policy.abi_major(), policy.abi_minor()), (0, 0x1F));
        assert!(policy.smt_allowed());
        assert!(!policy.debug_allowed());
        assert!(!policy.migrate_ma_allowed());
        assert!(policy.reserved_bits_valid());
        assert!(!GuestPolicy(0x1001F).reserved_bits_valid());
        assert!(!GuestPolicy(0x3001F | 1 << 40).reserved_bits_valid());
        assert!(GuestPolicy(0x3001F | 1 << 19).debug_allowed());
    }

    #[test]
    fn key_info_decodes() {
        assert_eq!(KeyInfo(0).signing_key(), SigningKey::Vcek);
        assert_eq!(KeyInfo(1 << 2).signing_key(), SigningKey::Vlek);
        assert_eq!(KeyInfo(7 << 2).signing_key(), SigningKey::None);
        assert_eq!(KeyInfo(3 << 2).signing_key(), SigningKey::Reserved(3));
        assert!(KeyInfo(1).author_key_enabled());
        assert!(KeyInfo(2).chip_key_masked());
    }
}
