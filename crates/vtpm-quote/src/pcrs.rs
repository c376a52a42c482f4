//! PCR values supplied beside a quote, by bank and index.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::alg::HashAlg;
use crate::error::{Error, Result};

/// The highest PCR index a PC-client TPM has.
pub const MAX_PCR_INDEX: u8 = 23;

/// PCR values by (bank, index). Values the quote does not cover are an error at verification.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PcrValues {
    values: BTreeMap<(HashAlg, u8), Vec<u8>>,
}

impl PcrValues {
    /// No values.
    pub fn new() -> Self {
        Self::default()
    }

    /// SHA-256 values for PCR 0, 1, 2, ... in list order (the `pcrs` array of evidence files).
    pub fn sha256_in_order<T: AsRef<[u8]>>(values: &[T]) -> Result<Self> {
        Self::in_order(HashAlg::Sha256, values)
    }

    /// Values of one bank for PCR 0, 1, 2, ... in list order.
    pub fn in_order<T: AsRef<[u8]>>(bank: HashAlg, values: &[T]) -> Result<Self> {
        let mut pcrs = Self::new();
        for (index, value) in values.iter().enumerate() {
            let index = u8::try_from(index)
                .ok()
                .filter(|&i| i <= MAX_PCR_INDEX)
                .ok_or_else(|| Error::BadPcrSelection {
                    reason: alloc::format!(
                        "{} PCR values given; a TPM has {}",
                        values.len(),
                        MAX_PCR_INDEX + 1
                    ),
                })?;
            pcrs.insert(bank, index, value.as_ref())?;
        }
        Ok(pcrs)
    }

    /// Values of one bank at the given indices (`indices[i]` is the index of `values[i]`).
    pub fn at_indices<T: AsRef<[u8]>>(bank: HashAlg, indices: &[u8], values: &[T]) -> Result<Self> {
        if indices.len() != values.len() {
            return Err(Error::BadPcrSelection {
                reason: alloc::format!("{} indices for {} values", indices.len(), values.len()),
            });
        }
        let mut pcrs = Self::new();
        for (&index, value) in indices.iter().zip(values) {
            // A second value for an index would silently replace the first: which one the
            // quote covers would depend on the order of the list.
            if pcrs.get(bank, index).is_some() {
                return Err(Error::BadPcrSelection {
                    reason: alloc::format!(
                        "PCR index {index} is listed twice: expected each index once"
                    ),
                });
            }
            pcrs.insert(bank, index, value.as_ref())?;
        }
        Ok(pcrs)
    }

    /// Adds one value, checking its length against the bank.
    pub fn insert(&mut self, bank: HashAlg, index: u8, value: &[u8]) -> Result<()> {
        if value.len() != bank.digest_len() {
            return Err(Error::PcrLength {
                bank,
                index,
                expected: bank.digest_len(),
                found: value.len(),
            });
        }
        if index > MAX_PCR_INDEX {
            return Err(Error::BadPcrSelection {
                reason: alloc::format!("PCR index {index} above {MAX_PCR_INDEX}"),
            });
        }
        self.values.insert((bank, index), value.to_vec());
        Ok(())
    }

    /// A value.
    pub fn get(&self, bank: HashAlg, index: u8) -> Option<&[u8]> {
        self.values.get(&(bank, index)).map(Vec::as_slice)
    }

    /// Every (bank, index, value), ordered by bank then index.
    pub fn iter(&self) -> impl Iterator<Item = (HashAlg, u8, &[u8])> {
        self.values
            .iter()
            .map(|(&(bank, index), value)| (bank, index, value.as_slice()))
    }

    /// How many values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}
