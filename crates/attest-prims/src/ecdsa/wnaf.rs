//! Width-5 wNAF for a variable base (a VCEK key without a precomputed table): odd multiples
//! P, 3P, ..., 15P in affine form, digits in {0, ±1, ±3, ..., ±15}.

use alloc::vec::Vec;

use super::point::{Affine, Jacobian, normalize_all};
use super::scalar::Bits;

/// Window width.
const WIDTH: u32 = 5;
/// Odd multiples in the table.
const ODD_MULTIPLES: usize = 1 << (WIDTH - 2);
/// Digits of a 384-bit scalar: at most 385.
pub(crate) const MAX_DIGITS: usize = 385;

/// Recodes a scalar (< 2^384) into width-5 non-adjacent form, least significant digit first.
pub(crate) fn recode(scalar: &Bits) -> [i8; MAX_DIGITS] {
    // One limb of headroom: k - d with d negative adds at most 15.
    let mut k = [0u64; 7];
    for (to, from) in k.iter_mut().zip(scalar.limbs()) {
        *to = from;
    }
    let mut digits = [0i8; MAX_DIGITS];
    for digit in digits.iter_mut() {
        let low = k.first().copied().unwrap_or(0);
        if low & 1 == 1 {
            let window = (low & ((1 << WIDTH) - 1)) as i64;
            let d = if window >= 1 << (WIDTH - 1) {
                window - (1 << WIDTH)
            } else {
                window
            };
            *digit = d as i8;
            if d >= 0 {
                sub_small(&mut k, d as u64);
            } else {
                add_small(&mut k, d.unsigned_abs());
            }
        }
        shift_right(&mut k);
    }
    digits
}

fn sub_small(k: &mut [u64; 7], value: u64) {
    let mut borrow = value;
    for limb in k.iter_mut() {
        let (next, overflow) = limb.overflowing_sub(borrow);
        *limb = next;
        borrow = u64::from(overflow);
        if borrow == 0 {
            break;
        }
    }
}

fn add_small(k: &mut [u64; 7], value: u64) {
    let mut carry = value;
    for limb in k.iter_mut() {
        let (next, overflow) = limb.overflowing_add(carry);
        *limb = next;
        carry = u64::from(overflow);
        if carry == 0 {
            break;
        }
    }
}

fn shift_right(k: &mut [u64; 7]) {
    let mut high = 0u64;
    for limb in k.iter_mut().rev() {
        let next_high = *limb & 1;
        *limb = (*limb >> 1) | (high << 63);
        high = next_high;
    }
}

/// P, 3P, 5P, ..., 15P in affine form (one inversion). `None` for a point of small order,
/// which a valid public key is not.
pub(crate) fn odd_multiples(base: &Affine) -> Option<Vec<Affine>> {
    let p = Jacobian::from_affine(base);
    let twice = p.double();
    let mut multiples = Vec::with_capacity(ODD_MULTIPLES);
    let mut current = p;
    for _ in 0..ODD_MULTIPLES {
        multiples.push(current);
        current = current.add(&twice);
    }
    normalize_all(&multiples)
}

/// Adds `digit * P` to `acc`, with `table` from [`odd_multiples`].
pub(crate) fn add_digit(acc: Jacobian, table: &[Affine], digit: i8) -> Jacobian {
    let index = usize::from(digit.unsigned_abs() / 2);
    match (digit, table.get(index)) {
        (0, _) | (_, None) => acc,
        (d, Some(point)) if d > 0 => acc.add_affine(point),
        (_, Some(point)) => acc.add_affine(&point.neg()),
    }
}
