//! TPM algorithm identifiers this crate understands.

use core::fmt;

use sha2::Digest;

/// TPM_ALG_ID values.
pub(crate) mod id {
    pub(crate) const RSA: u16 = 0x0001;
    pub(crate) const SHA1: u16 = 0x0004;
    pub(crate) const SHA256: u16 = 0x000B;
    pub(crate) const SHA384: u16 = 0x000C;
    pub(crate) const SHA512: u16 = 0x000D;
    pub(crate) const NULL: u16 = 0x0010;
    pub(crate) const RSASSA: u16 = 0x0014;
    pub(crate) const RSAPSS: u16 = 0x0016;
    pub(crate) const ECDSA: u16 = 0x0018;
    pub(crate) const ECC: u16 = 0x0023;
}

/// A hash algorithm of a PCR bank or a signature scheme.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum HashAlg {
    /// SHA-1 (legacy PCR banks only; never accepted for signatures).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// From a TPM_ALG_ID.
    pub fn from_tpm(id: u16) -> Option<Self> {
        match id {
            id::SHA1 => Some(Self::Sha1),
            id::SHA256 => Some(Self::Sha256),
            id::SHA384 => Some(Self::Sha384),
            id::SHA512 => Some(Self::Sha512),
            _ => None,
        }
    }

    /// The TPM_ALG_ID.
    pub fn tpm_id(self) -> u16 {
        match self {
            Self::Sha1 => id::SHA1,
            Self::Sha256 => id::SHA256,
            Self::Sha384 => id::SHA384,
            Self::Sha512 => id::SHA512,
        }
    }

    /// Digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// Hashes the concatenation of `parts` (SHA-1 is only for PCR banks and event logs).
    pub fn hash_parts<'p>(self, parts: impl IntoIterator<Item = &'p [u8]>) -> alloc::vec::Vec<u8> {
        fn run<D: Digest>(
            parts: impl IntoIterator<Item = impl AsRef<[u8]>>,
        ) -> alloc::vec::Vec<u8> {
            let mut digest = D::new();
            for part in parts {
                digest.update(part.as_ref());
            }
            digest.finalize().to_vec()
        }
        match self {
            Self::Sha1 => run::<sha1::Sha1>(parts),
            Self::Sha256 => run::<sha2::Sha256>(parts),
            Self::Sha384 => run::<sha2::Sha384>(parts),
            Self::Sha512 => run::<sha2::Sha512>(parts),
        }
    }
}

impl fmt::Display for HashAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        })
    }
}
