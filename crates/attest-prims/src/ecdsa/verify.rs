//! The verification equation: `x(u1·G + u2·Q) mod n == r` with `u1 = z/s`, `u2 = r/s`.

use p384::ecdsa::signature::hazmat::PrehashVerifier;
use p384::elliptic_curve::ops::Reduce;
use p384::{FieldBytes, Scalar};

use super::EcdsaEngine;
use super::comb::{self, COLUMNS, CombTable};
use super::point::{Affine, Fe, Jacobian};
use super::scalar::Bits;
use super::wnaf;

/// The group order n, little-endian 64-bit limbs.
const ORDER: [u64; 6] = [
    0xecec_196a_ccc5_2973,
    0x581a_0db2_48b0_a77a,
    0xc763_4d81_f437_2ddf,
    0xffff_ffff_ffff_ffff,
    0xffff_ffff_ffff_ffff,
    0xffff_ffff_ffff_ffff,
];

/// Precomputed multiples of one public key (a VCEK): its comb table, 98 KB. Building one costs
/// about as much as 15 verifications; each verification with it then costs about a fifth of
/// one without. Keep it with the key (snp-verify's `VerifiedLeaf::precompute_key_table`) or in
/// a cache ([`Lru`](crate::Lru); snp-verify's `KeyTableCache`).
#[derive(Clone)]
pub struct P384KeyTable {
    key: Affine,
    comb: CombTable,
}

impl core::fmt::Debug for P384KeyTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("P384KeyTable").finish_non_exhaustive()
    }
}

impl P384KeyTable {
    /// Builds the table of `key`. `None` cannot happen for a valid key (a point of order n);
    /// it is there so that nothing here can panic.
    pub fn new(key: &p384::ecdsa::VerifyingKey) -> Option<Self> {
        let point = Affine::from_p384(key.as_affine())?;
        Some(Self {
            key: point,
            comb: CombTable::new(&point)?,
        })
    }

    /// Whether this is the table of `key`.
    pub fn is_for(&self, key: &p384::ecdsa::VerifyingKey) -> bool {
        Affine::from_p384(key.as_affine()) == Some(self.key)
    }
}

/// Verifies an ECDSA P-384 signature over a 48-byte prehash (SHA-384) with the chosen engine.
/// `table` (fast engine only) must be the key's own; a table of another key is ignored.
pub fn verify_p384_prehash(
    engine: EcdsaEngine,
    key: &p384::ecdsa::VerifyingKey,
    table: Option<&P384KeyTable>,
    prehash: &[u8; 48],
    signature: &p384::ecdsa::Signature,
) -> bool {
    match engine {
        EcdsaEngine::Stock => key.verify_prehash(prehash, signature).is_ok(),
        EcdsaEngine::Fast => {
            let Some(point) = Affine::from_p384(key.as_affine()) else {
                return false;
            };
            let table = table.filter(|t| t.key == point).map(|t| &t.comb);
            let z = <Scalar as Reduce<FieldBytes>>::reduce(&FieldBytes::from(*prehash));
            let (r, s) = signature.split_scalars();
            verify_scalars(&point, table, &z, &r, &s)
        }
    }
}

/// The check itself, on scalars already known to be in [1, n-1].
fn verify_scalars(
    key: &Affine,
    key_table: Option<&CombTable>,
    z: &Scalar,
    r: &Scalar,
    s: &Scalar,
) -> bool {
    let Some(s_inv) = Option::<Scalar>::from(s.invert_vartime()) else {
        return false;
    };
    let Some(generator) = super::generator_table() else {
        return false;
    };
    let u1 = Bits::of(&(*z * s_inv));
    let u2 = Bits::of(&(*r * s_inv));
    let sum = match key_table {
        Some(table) => comb::double_mul(&u1, generator, &u2, table),
        None => match wnaf_and_comb(&u1, generator, &u2, key) {
            Some(sum) => sum,
            None => return false,
        },
    };
    x_matches(&sum, r)
}

/// `u1·G + u2·Q` without a table for Q: width-5 wNAF over 385 doublings, with G's comb
/// columns added in the last 12 steps of the same chain.
fn wnaf_and_comb(u1: &Bits, generator: &CombTable, u2: &Bits, key: &Affine) -> Option<Jacobian> {
    let multiples = wnaf::odd_multiples(key)?;
    let digits = wnaf::recode(u2);
    let mut acc = Jacobian::IDENTITY;
    for (position, digit) in digits.iter().enumerate().rev() {
        acc = acc.double();
        acc = wnaf::add_digit(acc, &multiples, *digit);
        if position < COLUMNS {
            acc = comb::add_column(acc, generator, u1, position);
        }
    }
    Some(acc)
}

/// Whether x(sum) ≡ r (mod n), without inverting Z: x < p < 2n, so x mod n == r means
/// x == r or x == r + n (only possible when r + n < p).
fn x_matches(sum: &Jacobian, r: &Scalar) -> bool {
    if sum.is_identity() {
        return false;
    }
    let Some(r_fe) = Fe::from_be_bytes(&r.to_bytes().into()) else {
        return false;
    };
    if sum.x_equals(&r_fe) {
        return true;
    }
    match r_plus_n(&Bits::of(r).limbs()) {
        Some(bytes) => Fe::from_be_bytes(&bytes).is_some_and(|candidate| sum.x_equals(&candidate)),
        None => false,
    }
}

/// r + n as 48 big-endian bytes, `None` if it overflows 384 bits.
fn r_plus_n(r: &[u64; 6]) -> Option<[u8; 48]> {
    let mut sum = [0u64; 6];
    let mut carry = false;
    for ((out, a), b) in sum.iter_mut().zip(r).zip(ORDER) {
        let (partial, c1) = a.overflowing_add(b);
        let (total, c2) = partial.overflowing_add(u64::from(carry));
        *out = total;
        carry = c1 || c2;
    }
    if carry {
        return None;
    }
    let mut bytes = [0u8; 48];
    for (chunk, limb) in bytes.rchunks_exact_mut(8).zip(sum) {
        chunk.copy_from_slice(&limb.to_be_bytes());
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_constant_is_n() {
        let n_minus_one = Bits::of(&(Scalar::ZERO - Scalar::ONE)).limbs();
        let mut expected = ORDER;
        expected[0] -= 1;
        assert_eq!(n_minus_one, expected);
    }

    #[test]
    fn r_plus_n_only_below_2_384() {
        assert!(r_plus_n(&[1, 0, 0, 0, 0, 0]).is_some());
        assert!(r_plus_n(&[0, 0, 0, 0, 0, 1]).is_none());
    }
}
