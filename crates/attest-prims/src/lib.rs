//! The small things the verifier crates share, each in one place.
//!
//! | item | job |
//! |---|---|
//! | [`ecdsa`] | verification-only ECDSA P-384 (AMD report signatures): comb tables, per-key tables, no final inversion |
//! | [`rsa`] | verification-only RSASSA-PSS-SHA-384 (AMD's chain) and RSASSA-PKCS1-v1_5 (vTPM quotes) over one RSAVP1 |
//! | [`Lru`] | the bounded least-recently-used map behind every verification cache |
//! | `clock` (feature `std`) | the one `Clock` trait: wall-clock, monotonic time and sleeping, real or simulated |
//! | `pem` (feature `pem`) | PEM bundles: telling PEM from DER, splitting a chain into its blocks, encoding |
//! | [`UnixTime`] | the verification time, a parameter (no verifier reads a clock) |
//! | `x509` (feature `x509`) | the signed bytes of a certificate or CRL as received, common names, certificate times |
//! | [`Hex`], [`HexBytes`], [`HexSlice`] | byte values shown as hex in errors, verdicts and JSON |
//!
//! The fast paths work on public data only (keys, messages, signatures), so they are variable
//! time; the stock RustCrypto verifiers stay selectable (`EcdsaEngine::Stock`,
//! `RsaEngine::Stock`, or build without the `fast-p384`/`fast-rsa` features), and tests check
//! that both give the same verdict on every Wycheproof vector.
//!
//! `ecdsa`, `rsa` and `std` (the clock) are features (with `fast-p384` and `fast-rsa` making the fast paths the
//! default engines), so a crate that needs only hex or the LRU pulls no cryptography.
//!
//! `no_std` with `alloc` (except the clock), no `unsafe`.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

#[cfg(feature = "std")]
pub mod clock;
#[cfg(feature = "ecdsa")]
pub mod ecdsa;
mod hex;
mod lru;
#[cfg(feature = "pem")]
pub mod pem;
#[cfg(feature = "rsa")]
pub mod rsa;
mod time;
#[cfg(feature = "x509")]
pub mod x509;

pub use hex::{Hex, HexBytes, HexSlice, hex_array};
pub use lru::Lru;
pub use time::UnixTime;
