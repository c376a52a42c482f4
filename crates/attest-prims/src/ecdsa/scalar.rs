//! Scalars as plain bits for recoding (public values: variable time is fine).

use p384::Scalar;

/// The 384 bits of a scalar in canonical form, little-endian 64-bit limbs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bits([u64; 6]);

impl Bits {
    pub(crate) fn of(scalar: &Scalar) -> Self {
        let bytes = scalar.to_bytes();
        let mut limbs = [0u64; 6];
        for (limb, chunk) in limbs.iter_mut().zip(bytes.rchunks_exact(8)) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            *limb = u64::from_be_bytes(word);
        }
        Self(limbs)
    }

    /// Bit `index` (0 for indices past the end).
    pub(crate) fn bit(&self, index: usize) -> usize {
        self.0
            .get(index / 64)
            .map_or(0, |limb| ((limb >> (index % 64)) & 1) as usize)
    }

    pub(crate) fn limbs(&self) -> [u64; 6] {
        self.0
    }
}
