//! Test support shared by the workspace's tests: locating and decoding the real vectors in
//! `../shared/vectors` (never copied into the repository).
#![forbid(unsafe_code)]

pub mod vectors;
