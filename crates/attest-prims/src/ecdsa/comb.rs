//! Fixed-base comb (Lim-Lee) tables: with `TEETH` teeth, `BLOCKS` blocks and `COLUMNS`
//! columns (`TEETH * BLOCKS * COLUMNS = 384`), `k * P` costs `COLUMNS - 1` doublings and at most
//! `BLOCKS * COLUMNS` mixed additions. Two tables share one doubling chain, so
//! `u1 * G + u2 * Q` costs 11 doublings and at most 96 additions.
//!
//! Block `i` holds, for every non-zero `m < 2^TEETH`, the affine point
//! `sum over set bits j of m of 2^((i * TEETH + j) * COLUMNS) * P`; the digit of block `i` in
//! column `c` gathers the scalar bits `(i * TEETH + j) * COLUMNS + c`.

use alloc::vec::Vec;

use super::point::{Affine, Jacobian, normalize_all};
use super::scalar::Bits;

/// Teeth per block: 255 points per block.
pub(crate) const TEETH: usize = 8;
/// Blocks per table.
pub(crate) const BLOCKS: usize = 4;
/// Columns: the length of the shared doubling chain (plus one).
pub(crate) const COLUMNS: usize = 12;
/// Points per block.
const BLOCK_POINTS: usize = (1 << TEETH) - 1;

const _: () = assert!(TEETH * BLOCKS * COLUMNS == 384);

/// The comb table of one base point (98 KB).
#[derive(Clone)]
pub(crate) struct CombTable {
    /// `BLOCKS` blocks of `BLOCK_POINTS` points; entry `m - 1` of a block is digit `m`.
    points: Vec<Affine>,
}

impl CombTable {
    /// Builds the table of `base` (372 doublings, about 1,000 mixed additions, one inversion).
    /// `None` only if a table point is the identity, which cannot happen for a point of
    /// order n.
    pub(crate) fn new(base: &Affine) -> Option<Self> {
        // The teeth: 2^(k * COLUMNS) * base for k < TEETH * BLOCKS.
        let mut teeth = Vec::with_capacity(TEETH * BLOCKS);
        let mut current = Jacobian::from_affine(base);
        for k in 0..TEETH * BLOCKS {
            if k > 0 {
                for _ in 0..COLUMNS {
                    current = current.double();
                }
            }
            teeth.push(current);
        }
        let teeth = normalize_all(&teeth)?;

        let mut points: Vec<Jacobian> = Vec::with_capacity(BLOCKS * BLOCK_POINTS);
        for block_teeth in teeth.chunks_exact(TEETH) {
            let block_start = points.len();
            for m in 1..=BLOCK_POINTS {
                let low = m.trailing_zeros() as usize;
                let tooth = block_teeth.get(low)?;
                let rest = m & (m - 1);
                let point = if rest == 0 {
                    Jacobian::from_affine(tooth)
                } else {
                    points.get(block_start + rest - 1)?.add_affine(tooth)
                };
                points.push(point);
            }
        }
        Some(Self {
            points: normalize_all(&points)?,
        })
    }

    /// The point of digit `digit` (non-zero) of block `block`.
    fn entry(&self, block: usize, digit: usize) -> Option<&Affine> {
        self.points
            .get(block * BLOCK_POINTS + digit.checked_sub(1)?)
    }
}

impl core::fmt::Debug for CombTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CombTable")
            .field("points", &self.points.len())
            .finish()
    }
}

/// The digit of `block` in `column`.
fn digit(bits: &Bits, block: usize, column: usize) -> usize {
    (0..TEETH).fold(0, |digit, tooth| {
        digit | (bits.bit((block * TEETH + tooth) * COLUMNS + column) << tooth)
    })
}

/// Adds the column-`column` points of `scalar`'s comb to `acc`.
pub(crate) fn add_column(
    acc: Jacobian,
    table: &CombTable,
    scalar: &Bits,
    column: usize,
) -> Jacobian {
    (0..BLOCKS).fold(acc, |acc, block| {
        match table.entry(block, digit(scalar, block, column)) {
            Some(point) => acc.add_affine(point),
            None => acc,
        }
    })
}

/// `a * A + b * B` for two comb tables, sharing one doubling chain.
pub(crate) fn double_mul(a: &Bits, table_a: &CombTable, b: &Bits, table_b: &CombTable) -> Jacobian {
    let mut acc = Jacobian::IDENTITY;
    for column in (0..COLUMNS).rev() {
        if column + 1 < COLUMNS {
            acc = acc.double();
        }
        acc = add_column(acc, table_a, a, column);
        acc = add_column(acc, table_b, b, column);
    }
    acc
}
