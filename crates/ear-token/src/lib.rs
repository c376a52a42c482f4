//! Attestation results as signed JWTs: the token a verifier hands a relying party after
//! evidence verified, in the shape of IETF RATS EAR (EAT Attestation Results).
//!
//! | module | job |
//! |---|---|
//! | [`key`](SigningKey) | ES256 and ES384 signing keys: generated or read from PKCS#8 PEM, named by their RFC 7638 thumbprint |
//! | [`jwk`](Jwk) | public keys as JWKs and the JWKS a verifier publishes |
//! | [`jws`](verify_token) | compact JWS: signing claims, and the relying party's check (algorithm, key id, signature, expiry) |
//!
//! Only ES256 and ES384 exist here: a token naming any other algorithm (`none`, `HS256`, `RS256`)
//! is refused before any key is looked up, so no key confusion is possible.
#![forbid(unsafe_code)]

mod error;
mod jwk;
mod jws;
mod key;

pub use error::{Error, ErrorKind};
pub use jwk::{Jwk, Jwks};
pub use jws::{VerifiedToken, verify_token};
pub use key::{Algorithm, SigningKey};
