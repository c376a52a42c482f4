//! What every X.509 check here needs and x509-cert does not give: the signed bytes exactly as
//! received (a certificate or CRL split without re-encoding), the common name of a name, and
//! certificate times as [`UnixTime`].

use alloc::string::String;

use der::asn1::ObjectIdentifier;
use der::{Reader, SliceReader};
use x509_cert::name::Name;

use crate::time::UnixTime;

const OID_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

/// The TBS part of a signed X.509 object (certificate or CRL), split from its outer SEQUENCE
/// without re-encoding: the bytes received, which are what the signature covers. The whole
/// input must be that one SEQUENCE of three elements.
pub fn signed_part(der: &[u8]) -> der::Result<&[u8]> {
    let mut reader = SliceReader::new(der)?;
    let tbs = reader.sequence(|body| -> der::Result<&[u8]> {
        let tbs = body.tlv_bytes()?;
        body.tlv_bytes()?; // signatureAlgorithm
        body.tlv_bytes()?; // signatureValue
        Ok(tbs)
    })?;
    reader.finish()?;
    Ok(tbs)
}

/// The DER elements of concatenated DER (certificates one after another, as some servers and
/// files carry a chain), each exactly as received.
pub fn split_concatenated(der: &[u8]) -> der::Result<alloc::vec::Vec<&[u8]>> {
    let mut reader = SliceReader::new(der)?;
    let mut out = alloc::vec::Vec::new();
    while !reader.is_finished() {
        out.push(reader.tlv_bytes()?);
    }
    Ok(out)
}

/// The common name of a distinguished name (the last CN if several), when it is UTF-8.
pub fn common_name(name: &Name) -> Option<String> {
    name.iter_rdn()
        .flat_map(|rdn| rdn.iter())
        .filter(|atv| atv.oid == OID_COMMON_NAME)
        .filter_map(|atv| {
            core::str::from_utf8(atv.value.value())
                .ok()
                .map(String::from)
        })
        .last()
}

/// A name for messages: its common name, else the whole name.
pub fn display_name(name: &Name) -> String {
    use alloc::string::ToString;
    common_name(name).unwrap_or_else(|| name.to_string())
}

/// A certificate or CRL time as seconds since the epoch.
pub fn unix_time(time: x509_cert::time::Time) -> UnixTime {
    UnixTime(time.to_unix_duration().as_secs())
}
