//! The binding between the runtime claims and the hardware report's `report_data`.

use alloc::boxed::Box;
use core::fmt;

use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::error::{Error, Result};
use attest_prims::Hex;

/// The hash algorithm that binds the runtime claims into `report_data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum HashType {
    /// SHA-256: the only one seen on Azure.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashType {
    pub(crate) fn from_wire(value: u32) -> Result<Self> {
        Ok(match value {
            1 => Self::Sha256,
            2 => Self::Sha384,
            3 => Self::Sha512,
            found => return Err(Error::UnknownHashType { found }),
        })
    }

    /// The value stored in the HCL header.
    pub fn to_wire(self) -> u32 {
        match self {
            Self::Sha256 => 1,
            Self::Sha384 => 2,
            Self::Sha512 => 3,
        }
    }

    /// Digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

impl fmt::Display for HashType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        })
    }
}

/// The `report_data` that binds `claims`: their hash, then zero bytes up to 64.
pub fn expected_report_data(hash_type: HashType, claims: &[u8]) -> [u8; 64] {
    let mut data = [0u8; 64];
    match hash_type {
        HashType::Sha256 => data[..32].copy_from_slice(&Sha256::digest(claims)),
        HashType::Sha384 => data[..48].copy_from_slice(&Sha384::digest(claims)),
        HashType::Sha512 => data.copy_from_slice(&Sha512::digest(claims)),
    }
    data
}

/// Checks that `report_data` is exactly [`expected_report_data`] of the claims bytes.
pub fn verify(hash_type: HashType, claims: &[u8], report_data: &[u8; 64]) -> Result<()> {
    let expected = expected_report_data(hash_type, claims);
    if &expected == report_data {
        Ok(())
    } else {
        Err(Error::ReportDataMismatch {
            hash_type,
            expected: Box::new(Hex(expected)),
            found: Box::new(Hex(*report_data)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_pads_with_zeros_and_names_both_values() {
        let data = expected_report_data(HashType::Sha256, b"{}");
        assert!(data[32..].iter().all(|&b| b == 0));
        assert_eq!(verify(HashType::Sha256, b"{}", &data), Ok(()));
        let mut tampered = data;
        tampered[63] = 1;
        let err = verify(HashType::Sha256, b"{}", &tampered).unwrap_err();
        assert!(matches!(err, Error::ReportDataMismatch { found, .. } if found.0 == tampered));
        for hash_type in [HashType::Sha384, HashType::Sha512] {
            let data = expected_report_data(hash_type, b"x");
            assert_eq!(
                data.iter()
                    .rposition(|&b| b != 0)
                    .map(|i| i < hash_type.digest_len()),
                Some(true)
            );
            assert!(verify(hash_type, b"x", &data).is_ok());
            assert!(verify(hash_type, b"y", &data).is_err());
        }
    }
}
