//! Compact JWS (RFC 7515) with ES256 and ES384 (RFC 7518 3.4: the signature is r then s, each
//! the curve's length), and the relying party's check of a token.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Verifier as _;
use serde_json::Value;

use crate::error::Error;
use crate::jwk::Jwks;
use crate::key::Algorithm;

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn unb64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    URL_SAFE_NO_PAD.decode(text)
}

/// A token whose signature, key and expiry checked out.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedToken {
    /// The algorithm it was signed with.
    pub algorithm: Algorithm,
    /// The key id.
    pub kid: String,
    /// The JOSE header.
    pub header: Value,
    /// The claims.
    pub claims: Value,
}

/// Checks a compact JWS as a relying party: the algorithm is ES256 or ES384 (anything else is
/// refused before a key is looked up), no header extension is marked critical, the header
/// names a `kid` of a signature key in `jwks` with the algorithm's curve, the signature
/// verifies over the first two parts as received, and the claims' `exp` is later than `now`
/// (and `nbf`, when present, not later). `now` is seconds since the epoch.
///
/// ECDSA signatures are malleable: (r, n - s) verifies as well as (r, s), as in every JOSE
/// library, so the token string is not an identity; the claims are.
pub fn verify_token(token: &str, jwks: &Jwks, now: u64) -> Result<VerifiedToken, Error> {
    let mut parts = token.trim().split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::malformed(
            "token",
            "a compact JWS has three parts separated by dots",
        ));
    };
    let json = |what: &'static str, text: &str| -> Result<Value, Error> {
        let bytes =
            unb64(text).map_err(|e| Error::malformed(what, format!("not base64url: {e}")))?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::malformed(what, format!("not JSON: {e}")))?;
        if value.is_object() {
            Ok(value)
        } else {
            Err(Error::malformed(what, "not a JSON object"))
        }
    };
    let header = json("token header", header_b64)?;
    let claims = json("token claims", claims_b64)?;
    let signature = unb64(signature_b64)
        .map_err(|e| Error::malformed("token signature", format!("not base64url: {e}")))?;

    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let algorithm = Algorithm::from_name(alg)
        .ok_or_else(|| Error::invalid("token alg", "ES256 or ES384", format!("\"{alg}\"")))?;
    // No extension is understood here, so a token that marks any as critical is refused
    // (RFC 7515 4.1.11), `b64: false` among them.
    if let Some(crit) = header.get("crit") {
        return Err(Error::invalid(
            "token crit",
            "no critical header extensions",
            crit.to_string(),
        ));
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::invalid("token kid", "a key id", "none"))?;
    let jwk = jwks.find_for_signature(kid, algorithm).ok_or_else(|| {
        Error::invalid(
            "token kid",
            format!(
                "a signature key of the JWKS for {} (EC {})",
                algorithm.name(),
                algorithm.curve()
            ),
            format!("\"{kid}\""),
        )
    })?;
    let point = jwk.sec1_point(algorithm)?;
    if signature.len() != 2 * algorithm.coordinate_len() {
        return Err(Error::invalid(
            "token signature length",
            format!("{} bytes (r, s)", 2 * algorithm.coordinate_len()),
            signature.len().to_string(),
        ));
    }
    let signed = format!("{header_b64}.{claims_b64}");
    let verified = match algorithm {
        Algorithm::Es256 => {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                .map_err(|_| Error::malformed("JWK", "not a point on P-256"))?;
            p256::ecdsa::Signature::from_slice(&signature)
                .is_ok_and(|sig| key.verify(signed.as_bytes(), &sig).is_ok())
        }
        Algorithm::Es384 => {
            let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                .map_err(|_| Error::malformed("JWK", "not a point on P-384"))?;
            p384::ecdsa::Signature::from_slice(&signature).is_ok_and(|sig| {
                p384::ecdsa::signature::Verifier::verify(&key, signed.as_bytes(), &sig).is_ok()
            })
        }
    };
    if !verified {
        return Err(Error::BadSignature {
            kid: kid.to_string(),
        });
    }
    let exp = claims
        .get("exp")
        .ok_or_else(|| Error::invalid("token exp", "an expiry", "none"))?
        .as_u64()
        .ok_or_else(|| Error::malformed("token exp", "not a number of seconds"))?;
    if exp <= now {
        return Err(Error::invalid(
            "token exp",
            format!("later than {now}"),
            exp.to_string(),
        ));
    }
    if let Some(nbf) = claims.get("nbf") {
        let nbf = nbf
            .as_u64()
            .ok_or_else(|| Error::malformed("token nbf", "not a number of seconds"))?;
        if nbf > now {
            return Err(Error::invalid(
                "token nbf",
                format!("at most {now}"),
                nbf.to_string(),
            ));
        }
    }
    Ok(VerifiedToken {
        algorithm,
        kid: kid.to_string(),
        header,
        claims,
    })
}
