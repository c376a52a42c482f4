//! The facade of the workspace: evidence formats, the `Verifier` and `Attester`, and the
//! `snp-vtpm` command line tool.
//!
//! The facade lands with its own issue; today the crate re-exports the parsing layer.
#![no_std]

pub use hcl_parse;
