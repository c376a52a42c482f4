//! The P-384 base field for the verification path, on fiat-crypto's formally verified
//! Montgomery arithmetic (64-bit limbs).
//!
//! p384 0.14 ships the same fiat-crypto code but selects it only under a
//! `--cfg p384_backend = "fiat"` that a library cannot set for its users; its default backend,
//! crypto-bigint's generic Montgomery multiplication, takes about twice as long per
//! multiplication, and multiplications are most of a verification. Nothing here is written by
//! hand except the conversions and the canonical-encoding check; inversion (only needed to
//! normalise precomputed tables) is p384's.

use fiat_crypto::p384_64::{
    fiat_p384_add, fiat_p384_from_bytes, fiat_p384_from_montgomery,
    fiat_p384_montgomery_domain_field_element as Mont, fiat_p384_mul,
    fiat_p384_non_montgomery_domain_field_element as Plain, fiat_p384_opp, fiat_p384_square,
    fiat_p384_sub, fiat_p384_to_bytes, fiat_p384_to_montgomery,
};
use p384::NistP384;
use p384::elliptic_curve::hazmat::FieldArithmetic;

/// p384's own field element (used for inversion and as the reference in tests).
type P384Fe = <NistP384 as FieldArithmetic>::FieldElement;

/// p = 2^384 - 2^128 - 2^96 + 2^32 - 1, little-endian limbs.
const MODULUS: [u64; 6] = [
    0x0000_0000_ffff_ffff,
    0xffff_ffff_0000_0000,
    0xffff_ffff_ffff_fffe,
    u64::MAX,
    u64::MAX,
    u64::MAX,
];

/// An element of the P-384 base field in Montgomery form (x·2^384 mod p), always fully
/// reduced: fiat-crypto's operations return values below p, so equal elements have equal
/// limbs and `==` compares values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fe([u64; 6]);

impl Fe {
    pub(crate) const ZERO: Self = Self([0; 6]);

    /// 1 in Montgomery form: 2^384 mod p = 2^128 + 2^96 - 2^32 + 1.
    pub(crate) const ONE: Self = Self([0xffff_ffff_0000_0001, 0x0000_0000_ffff_ffff, 1, 0, 0, 0]);

    /// The element of a 48-byte big-endian encoding, `None` unless it is below p.
    pub(crate) fn from_be_bytes(bytes: &[u8; 48]) -> Option<Self> {
        let mut little_endian = *bytes;
        little_endian.reverse();
        let mut limbs = [0u64; 6];
        fiat_p384_from_bytes(&mut limbs, &little_endian);
        if !below_modulus(&limbs) {
            return None;
        }
        let mut out = Mont([0; 6]);
        fiat_p384_to_montgomery(&mut out, &Plain(limbs));
        Some(Self(out.0))
    }

    /// The 48-byte big-endian encoding.
    pub(crate) fn to_be_bytes(self) -> [u8; 48] {
        let mut plain = Plain([0; 6]);
        fiat_p384_from_montgomery(&mut plain, &Mont(self.0));
        let mut bytes = [0u8; 48];
        fiat_p384_to_bytes(&mut bytes, &plain.0);
        bytes.reverse();
        bytes
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.0 == [0; 6]
    }

    pub(crate) fn multiply(&self, other: &Self) -> Self {
        let mut out = Mont([0; 6]);
        fiat_p384_mul(&mut out, &Mont(self.0), &Mont(other.0));
        Self(out.0)
    }

    pub(crate) fn square(&self) -> Self {
        let mut out = Mont([0; 6]);
        fiat_p384_square(&mut out, &Mont(self.0));
        Self(out.0)
    }

    pub(crate) fn add(&self, other: &Self) -> Self {
        let mut out = Mont([0; 6]);
        fiat_p384_add(&mut out, &Mont(self.0), &Mont(other.0));
        Self(out.0)
    }

    pub(crate) fn sub(&self, other: &Self) -> Self {
        let mut out = Mont([0; 6]);
        fiat_p384_sub(&mut out, &Mont(self.0), &Mont(other.0));
        Self(out.0)
    }

    pub(crate) fn double(&self) -> Self {
        self.add(self)
    }

    pub(crate) fn neg(&self) -> Self {
        let mut out = Mont([0; 6]);
        fiat_p384_opp(&mut out, &Mont(self.0));
        Self(out.0)
    }

    /// The inverse (p384's variable-time inversion), `None` for zero.
    pub(crate) fn invert_vartime(&self) -> Option<Self> {
        let value: P384Fe = Option::from(P384Fe::from_bytes(&self.to_be_bytes().into()))?;
        let inverse: P384Fe = Option::from(value.invert_vartime())?;
        Self::from_be_bytes(&inverse.to_bytes().into())
    }
}

/// Whether little-endian `limbs` are below p.
fn below_modulus(limbs: &[u64; 6]) -> bool {
    for (limb, modulus) in limbs.iter().zip(MODULUS.iter()).rev() {
        if limb != modulus {
            return limb < modulus;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use fiat_crypto::p384_64::fiat_p384_set_one;

    use super::*;

    fn pair(seed: u64) -> (Fe, P384Fe) {
        let mut bytes = [0u8; 48];
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        for byte in bytes.iter_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = state as u8;
        }
        bytes[0] &= 0x7f;
        let ours = Fe::from_be_bytes(&bytes).unwrap();
        let theirs = P384Fe::from_bytes(&bytes.into()).unwrap();
        (ours, theirs)
    }

    fn same(ours: Fe, theirs: P384Fe) -> bool {
        ours.to_be_bytes() == <[u8; 48]>::from(theirs.to_bytes())
    }

    #[test]
    fn constants_match_fiat_and_p384() {
        let mut one = Mont([0; 6]);
        fiat_p384_set_one(&mut one);
        assert_eq!(Fe::ONE.0, one.0);
        assert!(same(Fe::ONE, P384Fe::ONE));
        assert!(same(Fe::ZERO, P384Fe::ZERO));
        let mut p_bytes = [0u8; 48];
        for (chunk, limb) in p_bytes.rchunks_exact_mut(8).zip(MODULUS) {
            chunk.copy_from_slice(&limb.to_be_bytes());
        }
        assert!(
            Fe::from_be_bytes(&p_bytes).is_none(),
            "p itself is not canonical"
        );
        assert!(bool::from(P384Fe::from_bytes(&p_bytes.into()).is_none()));
        p_bytes[47] -= 1;
        assert!(same(Fe::from_be_bytes(&p_bytes).unwrap(), -P384Fe::ONE));
        assert!(Fe::from_be_bytes(&[0xff; 48]).is_none());
    }

    #[test]
    fn operations_agree_with_p384() {
        for seed in 0..500 {
            let (a, pa) = pair(seed);
            let (b, pb) = pair(seed + 10_000);
            assert!(same(a.multiply(&b), pa * pb), "mul, seed {seed}");
            assert!(same(a.square(), pa.square()), "square, seed {seed}");
            assert!(same(a.add(&b), pa + pb), "add, seed {seed}");
            assert!(same(a.sub(&b), pa - pb), "sub, seed {seed}");
            assert!(same(a.double(), pa.double()), "double, seed {seed}");
            assert!(same(a.neg(), -pa), "neg, seed {seed}");
            assert!(same(a.invert_vartime().unwrap(), pa.invert().unwrap()));
            assert_eq!(a == b, pa == pb);
            assert_eq!(a.sub(&a), Fe::ZERO);
        }
        assert!(Fe::ZERO.invert_vartime().is_none());
        assert!(Fe::ZERO.is_zero() && !Fe::ONE.is_zero());
    }
}
