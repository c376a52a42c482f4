//! A minimal DER writer: AMD's certificates deviate from what encoders produce by default
//! (an explicit PSS trailer field, raw bytes in the hwID extension, serial 0), so every byte is
//! laid out here by hand and checked by the tests with an independent parser (x509-cert).

use base64::Engine;
use der::Encode;
use der::asn1::ObjectIdentifier;

/// Universal tags used below.
pub(crate) mod tag {
    pub(crate) const BOOLEAN: u8 = 0x01;
    pub(crate) const INTEGER: u8 = 0x02;
    pub(crate) const BIT_STRING: u8 = 0x03;
    pub(crate) const OCTET_STRING: u8 = 0x04;
    pub(crate) const NULL: u8 = 0x05;
    pub(crate) const OID: u8 = 0x06;
    pub(crate) const UTF8_STRING: u8 = 0x0C;
    pub(crate) const PRINTABLE_STRING: u8 = 0x13;
    pub(crate) const IA5_STRING: u8 = 0x16;
    pub(crate) const SEQUENCE: u8 = 0x30;
    pub(crate) const SET: u8 = 0x31;
}

/// One TLV: `tag`, the DER length of `content`, then `content`.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let significant = &bytes[skip..];
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

/// A TLV whose content is the concatenation of already-encoded `parts`.
pub(crate) fn constructed(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag, &parts.concat())
}

/// SEQUENCE of already-encoded parts.
pub(crate) fn seq(parts: &[&[u8]]) -> Vec<u8> {
    constructed(tag::SEQUENCE, parts)
}

/// `[n]` EXPLICIT (context-specific, constructed) around already-encoded parts.
pub(crate) fn explicit(n: u8, parts: &[&[u8]]) -> Vec<u8> {
    constructed(0xA0 | n, parts)
}

/// INTEGER content for a non-negative number given as big-endian magnitude (minimal, with a
/// leading zero when the top bit is set).
pub(crate) fn uint_content(magnitude: &[u8]) -> Vec<u8> {
    let skip = magnitude.iter().take_while(|&&b| b == 0).count();
    let trimmed = &magnitude[skip..];
    match trimmed.first() {
        None => vec![0],
        Some(&first) if first & 0x80 != 0 => [&[0][..], trimmed].concat(),
        Some(_) => trimmed.to_vec(),
    }
}

/// INTEGER of a non-negative number.
pub(crate) fn uint(value: u64) -> Vec<u8> {
    tlv(tag::INTEGER, &uint_content(&value.to_be_bytes()))
}

/// OBJECT IDENTIFIER from dotted text (a constant of this module tree).
pub(crate) fn oid(dotted: &str) -> Vec<u8> {
    let oid = ObjectIdentifier::new(dotted)
        .unwrap_or_else(|e| panic!("{dotted} is not an object identifier: {e}"));
    tlv(tag::OID, oid.as_bytes())
}

/// BIT STRING with no unused bits.
pub(crate) fn bit_string(bytes: &[u8]) -> Vec<u8> {
    tlv(tag::BIT_STRING, &[&[0][..], bytes].concat())
}

/// OCTET STRING.
pub(crate) fn octet_string(bytes: &[u8]) -> Vec<u8> {
    tlv(tag::OCTET_STRING, bytes)
}

/// NULL.
pub(crate) fn null() -> Vec<u8> {
    tlv(tag::NULL, &[])
}

/// X.509 Time (UTCTime before 2050, GeneralizedTime after) of Unix seconds.
pub(crate) fn time(unix_seconds: u64) -> Vec<u8> {
    super::x509_time(unix_seconds)
        .to_der()
        .expect("a Time always encodes")
}

/// One X.509 extension: `extnID`, `critical` only when true (DER omits the default), `extnValue`.
pub(crate) fn extension(dotted: &str, critical: bool, value: &[u8]) -> Vec<u8> {
    let critical = if critical {
        tlv(tag::BOOLEAN, &[0xFF])
    } else {
        Vec::new()
    };
    seq(&[&oid(dotted), &critical, &octet_string(value)])
}

/// PEM text with 64-column base64 lines.
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_integers_are_minimal_der() {
        assert_eq!(tlv(0x04, &[1, 2]), [0x04, 0x02, 1, 2]);
        let long = tlv(0x04, &[0; 200]);
        assert_eq!(&long[..3], &[0x04, 0x81, 200]);
        let longer = tlv(0x04, &[0; 300]);
        assert_eq!(&longer[..4], &[0x04, 0x82, 0x01, 0x2C]);
        assert_eq!(uint(0), [0x02, 0x01, 0x00]);
        assert_eq!(uint(0x73), [0x02, 0x01, 0x73]);
        assert_eq!(uint(0xA9), [0x02, 0x02, 0x00, 0xA9]);
        assert_eq!(uint(0x10000), [0x02, 0x03, 0x01, 0x00, 0x00]);
    }

    #[test]
    fn times_switch_to_generalized_in_2050() {
        // 2049-12-31T23:59:59Z and 2050-01-01T00:00:00Z.
        assert_eq!(time(2_524_607_999)[0], 0x17);
        assert_eq!(time(2_524_608_000)[0], 0x18);
        assert_eq!(&time(1_603_387_385)[2..], b"201022172305Z");
    }
}
