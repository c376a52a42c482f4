//! A verification-only ECDSA P-384 path, faster than p384's general-purpose verifier.
//!
//! Verification works on public data only (key, message, signature), so everything here is
//! variable time. What makes it fast:
//!
//! | technique | where |
//! |---|---|
//! | a comb table of the generator (4 blocks of 8 teeth), built once per process | `comb`, `generator_table` |
//! | a comb table per public key ([`P384KeyTable`]), which callers cache (snp-verify keeps VCEKs' in an [`Lru`](crate::Lru)) | `comb` |
//! | `u1·G + u2·Q` with one shared doubling chain: 11 doublings and at most 96 mixed additions with both tables; without a key table, width-5 wNAF for Q with G's comb columns folded into the same chain | `verify` |
//! | Jacobian coordinates with the a = -3 doubling and mixed-addition formulas | `point` |
//! | no field inversion for the final check: `X == r·Z²` (or `(r + n)·Z²` when `r + n < p`) | `point`, `verify` |
//!
//! The base field is fiat-crypto's formally verified Montgomery arithmetic (`field`; p384
//! ships it too, but only behind a build flag), the scalars are p384's; only point formulas and
//! recoding are written here. The stock p384 path stays
//! selectable ([`EcdsaEngine::Stock`]); tests check that both give the same verdict on every
//! Wycheproof vector and on random valid and invalid signatures.
//!
//! The generator table is built on first use and kept in a `once_cell::race::OnceBox`: it
//! needs neither `std` nor a critical section (so the crate still builds for
//! `wasm32-unknown-unknown`); two threads racing on the first use may each build it, and one
//! copy is kept. It is a cache of a constant, not state that changes a verdict.

mod comb;
mod field;
mod point;
mod scalar;
mod verify;
mod wnaf;

use alloc::boxed::Box;

use once_cell::race::OnceBox;

pub use verify::{P384KeyTable, verify_p384_prehash};

use comb::CombTable;
use point::Affine;

/// Which implementation checks ECDSA P-384 signatures. Both give the same verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcdsaEngine {
    /// p384's `VerifyingKey::verify_prehash` (constant-time, general purpose).
    Stock,
    /// This crate's verification-only path (variable time; precomputed tables).
    Fast,
}

impl Default for EcdsaEngine {
    /// [`EcdsaEngine::Fast`] with the `fast-p384` feature (the default), else
    /// [`EcdsaEngine::Stock`].
    fn default() -> Self {
        if cfg!(feature = "fast-p384") {
            Self::Fast
        } else {
            Self::Stock
        }
    }
}

static GENERATOR_TABLE: OnceBox<Option<CombTable>> = OnceBox::new();

/// The comb table of the generator, built on first use (about 2 ms).
fn generator_table() -> Option<&'static CombTable> {
    GENERATOR_TABLE
        .get_or_init(|| Box::new(CombTable::new(&Affine::generator())))
        .as_ref()
}
