//! Test support shared by the workspace's tests: locating and decoding the real vectors in
//! `../shared/vectors` (never copied into the repository), and a deterministic test PKI shaped
//! like AMD's for everything the real vectors cannot show.
#![forbid(unsafe_code)]

pub mod azure;
pub mod eventlog;
pub mod evidence;
pub mod fuzzing;
pub mod pki;
pub mod redis;
pub mod swtpm;
pub mod vectors;
