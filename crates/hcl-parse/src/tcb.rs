//! CPU generations and TCB versions, whose byte layout depends on the generation.
//!
//! TCB_VERSION: SEV-SNP Firmware ABI Specification (AMD pub. 56860), rev. 1.58, Tables 3 and 4
//! (one layout per product family; the same numbers in rev. 1.57).

use core::fmt;

/// The AMD EPYC generation that produced a report.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Generation {
    /// 3rd generation EPYC (Zen 3).
    Milan,
    /// 4th generation EPYC (Zen 4).
    Genoa,
    /// 5th generation EPYC (Zen 5).
    Turin,
}

impl Generation {
    /// Every generation this crate knows, oldest first.
    pub const ALL: [Generation; 3] = [Self::Milan, Self::Genoa, Self::Turin];

    /// The generation for a CPUID family and model, if it is a known SEV-SNP product.
    pub fn from_cpuid(family: u8, model: u8) -> Option<Self> {
        match (family, model) {
            (0x19, 0x00..=0x0F) => Some(Self::Milan),
            (0x19, 0x10..=0x1F | 0xA0..=0xAF) => Some(Self::Genoa),
            (0x1A, 0x00..=0x11) => Some(Self::Turin),
            _ => None,
        }
    }

    /// The product name AMD's key distribution service uses in URLs and certificate names.
    pub fn name(self) -> &'static str {
        match self {
            Self::Milan => "Milan",
            Self::Genoa => "Genoa",
            Self::Turin => "Turin",
        }
    }

    /// Parses a product name as it appears in URLs, certificate names or the VCEK's
    /// productName extension (`Milan-B0`, `Genoa`, `Turin`; case-insensitive).
    pub fn from_product_name(name: &str) -> Option<Self> {
        let family = name
            .split_once('-')
            .map_or(name, |(family, _stepping)| family);
        Self::ALL
            .into_iter()
            .find(|generation| generation.name().eq_ignore_ascii_case(family))
    }

    /// Length of the hardware id a VCEK of this generation carries (its hwID extension, VCEK
    /// Certificate and KDS Interface Specification, AMD pub. 57230).
    pub fn hwid_len(self) -> usize {
        match self {
            Self::Milan | Self::Genoa => 64,
            Self::Turin => 8,
        }
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The security patch levels of a TCB_VERSION, decoded for one generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
// A component a policy leaves out is 0: the floor does not constrain it.
#[serde(default, deny_unknown_fields)]
pub struct TcbComponents {
    /// Firmware-management SPL (Turin only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fmc: Option<u8>,
    /// Boot loader SPL.
    pub bootloader: u8,
    /// TEE (PSP OS) SPL.
    pub tee: u8,
    /// SNP firmware SPL.
    pub snp: u8,
    /// Microcode SPL.
    pub microcode: u8,
}

/// A TCB_VERSION as stored: eight bytes whose meaning depends on the generation (56860 rev. 1.58,
/// Tables 3 and 4).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcbVersion(pub [u8; 8]);

impl TcbVersion {
    /// The value as a u64 (how AMD tools and the IMDS `tcbm` field show it).
    pub fn to_u64(self) -> u64 {
        u64::from_le_bytes(self.0)
    }

    /// Decodes the SPLs with the layout of `generation`.
    ///
    /// Milan/Genoa: `[bootloader, tee, 0, 0, 0, 0, snp, microcode]`;
    /// Turin: `[fmc, bootloader, tee, snp, 0, 0, 0, microcode]`.
    pub fn components(self, generation: Generation) -> TcbComponents {
        let b = self.0;
        match generation {
            Generation::Milan | Generation::Genoa => TcbComponents {
                fmc: None,
                bootloader: b[0],
                tee: b[1],
                snp: b[6],
                microcode: b[7],
            },
            Generation::Turin => TcbComponents {
                fmc: Some(b[0]),
                bootloader: b[1],
                tee: b[2],
                snp: b[3],
                microcode: b[7],
            },
        }
    }

    /// True when the bytes that `generation` reserves are zero.
    pub fn reserved_bytes_are_zero(self, generation: Generation) -> bool {
        let b = self.0;
        match generation {
            Generation::Milan | Generation::Genoa => b[2..6].iter().all(|&x| x == 0),
            Generation::Turin => b[4..7].iter().all(|&x| x == 0),
        }
    }

    /// Encodes SPLs with the layout of `generation` (an `fmc` value is ignored before Turin).
    pub fn from_components(generation: Generation, c: TcbComponents) -> Self {
        match generation {
            Generation::Milan | Generation::Genoa => {
                Self([c.bootloader, c.tee, 0, 0, 0, 0, c.snp, c.microcode])
            }
            Generation::Turin => Self([
                c.fmc.unwrap_or(0),
                c.bootloader,
                c.tee,
                c.snp,
                0,
                0,
                0,
                c.microcode,
            ]),
        }
    }
}

impl fmt::Debug for TcbVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TcbVersion({:#018x})", self.to_u64())
    }
}

impl fmt::Display for TcbVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016X}", self.to_u64())
    }
}

impl fmt::Display for TcbComponents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(fmc) = self.fmc {
            write!(f, "fmc={fmc} ")?;
        }
        write!(
            f,
            "bootloader={} tee={} snp={} microcode={}",
            self.bootloader, self.tee, self.snp, self.microcode
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_differ_between_generations() {
        let tcb = TcbVersion([1, 2, 0, 0, 0, 0, 3, 4]);
        let milan = tcb.components(Generation::Milan);
        assert_eq!(
            (milan.bootloader, milan.tee, milan.snp, milan.microcode),
            (1, 2, 3, 4)
        );
        let turin = TcbVersion([9, 1, 2, 3, 0, 0, 0, 4]).components(Generation::Turin);
        assert_eq!(turin.fmc, Some(9));
        assert_eq!(
            (turin.bootloader, turin.tee, turin.snp, turin.microcode),
            (1, 2, 3, 4)
        );
        for generation in Generation::ALL {
            let c = tcb.components(generation);
            let back = TcbVersion::from_components(generation, c);
            assert_eq!(back.components(generation), c);
        }
        assert!(!TcbVersion([1, 2, 5, 0, 0, 0, 3, 4]).reserved_bytes_are_zero(Generation::Milan));
        assert!(TcbVersion([1, 2, 5, 6, 0, 0, 0, 4]).reserved_bytes_are_zero(Generation::Turin));
        assert!(!TcbVersion([1, 2, 5, 6, 0, 0, 0, 4]).reserved_bytes_are_zero(Generation::Milan));
    }

    #[test]
    fn generation_from_cpuid_and_name() {
        assert_eq!(Generation::from_cpuid(0x19, 0x01), Some(Generation::Milan));
        assert_eq!(Generation::from_cpuid(0x19, 0x11), Some(Generation::Genoa));
        assert_eq!(Generation::from_cpuid(0x19, 0xA0), Some(Generation::Genoa));
        assert_eq!(Generation::from_cpuid(0x1A, 0x02), Some(Generation::Turin));
        assert_eq!(Generation::from_cpuid(0x19, 0x30), None);
        assert_eq!(Generation::from_cpuid(0x17, 0x01), None);
        assert_eq!(
            Generation::from_product_name("Milan-B0"),
            Some(Generation::Milan)
        );
        assert_eq!(
            Generation::from_product_name("genoa"),
            Some(Generation::Genoa)
        );
        assert_eq!(
            Generation::from_product_name("Turin"),
            Some(Generation::Turin)
        );
        assert_eq!(Generation::from_product_name("Rome"), None);
    }
}
