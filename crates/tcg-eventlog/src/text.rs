//! GUIDs and the text encodings firmware writes into event data (ASCII, UTF-16LE).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// An EFI_GUID as stored (the first three fields little-endian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// From the textual fields `d1-d2-d3-d4[0..2]-d4[2..8]`.
    pub const fn from_fields(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> Self {
        let a = d1.to_le_bytes();
        let b = d2.to_le_bytes();
        let c = d3.to_le_bytes();
        Self([
            a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4],
            d4[5], d4[6], d4[7],
        ])
    }

    /// The name of a GUID this crate knows (variable vendors, signature types, tables).
    pub fn name(&self) -> Option<&'static str> {
        KNOWN.iter().find(|(g, _)| g == self).map(|&(_, n)| n)
    }
}

/// EFI_GLOBAL_VARIABLE: SecureBoot, PK, KEK, BootOrder, Boot####.
pub const EFI_GLOBAL_VARIABLE: Guid = Guid::from_fields(
    0x8be4_df61,
    0x93ca,
    0x11d2,
    [0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c],
);
/// EFI_IMAGE_SECURITY_DATABASE_GUID: db, dbx, dbt, dbr.
pub const EFI_IMAGE_SECURITY_DATABASE: Guid = Guid::from_fields(
    0xd719_b2cb,
    0x3d3a,
    0x4596,
    [0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f],
);
/// shim's vendor GUID: MokList, SbatLevel, the Shim authority.
pub const SHIM_LOCK: Guid = Guid::from_fields(
    0x605d_ab50,
    0xe046,
    0x4300,
    [0xab, 0xb6, 0x3d, 0xd8, 0x10, 0xdd, 0x8b, 0x23],
);
/// EFI_CERT_X509_GUID.
pub(super) const EFI_CERT_X509: Guid = Guid::from_fields(
    0xa5c0_59a1,
    0x94e4,
    0x4aa7,
    [0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72],
);
/// EFI_CERT_SHA256_GUID.
pub(super) const EFI_CERT_SHA256: Guid = Guid::from_fields(
    0xc1c4_1626,
    0x504c,
    0x4092,
    [0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28],
);

const KNOWN: [(Guid, &str); 10] = [
    (EFI_GLOBAL_VARIABLE, "EFI global variable"),
    (EFI_IMAGE_SECURITY_DATABASE, "EFI image security database"),
    (SHIM_LOCK, "shim"),
    (EFI_CERT_X509, "X.509 certificate"),
    (EFI_CERT_SHA256, "SHA-256 hash"),
    (
        Guid::from_fields(
            0x826c_a512,
            0xcf10,
            0x4ac9,
            [0xb1, 0x87, 0xbe, 0x01, 0x49, 0x66, 0x31, 0xbd],
        ),
        "SHA-1 hash",
    ),
    (
        Guid::from_fields(
            0x8868_e871,
            0xe4f1,
            0x11d3,
            [0xbc, 0x22, 0x00, 0x80, 0xc7, 0x3c, 0x88, 0x81],
        ),
        "ACPI 2.0 table",
    ),
    (
        Guid::from_fields(
            0xeb9d_2d30,
            0x2d88,
            0x11d3,
            [0x9a, 0x16, 0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d],
        ),
        "ACPI 1.0 table",
    ),
    (
        Guid::from_fields(
            0xeb9d_2d31,
            0x2d88,
            0x11d3,
            [0x9a, 0x16, 0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d],
        ),
        "SMBIOS table",
    ),
    (
        Guid::from_fields(
            0xf2fd_1544,
            0x9794,
            0x4a2c,
            [0x99, 0x2e, 0xe5, 0xbb, 0xcf, 0x20, 0xe3, 0x94],
        ),
        "SMBIOS 3 table",
    ),
];

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a0, a1, a2, a3, b0, b1, c0, c1, rest @ ..] = self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-",
            u32::from_le_bytes([a0, a1, a2, a3]),
            u16::from_le_bytes([b0, b1]),
            u16::from_le_bytes([c0, c1])
        )?;
        for (i, byte) in rest.iter().enumerate() {
            if i == 2 {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl serde::Serialize for Guid {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

fn printable(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
}

/// `bytes` without its trailing NUL bytes.
pub(crate) fn without_nul_bytes(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |last| last + 1);
    bytes.get(..end).unwrap_or_default()
}

/// `bytes` without its trailing NUL UTF-16 units.
pub(crate) fn without_nul_units(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .chunks_exact(2)
        .rposition(|unit| unit != [0, 0])
        .map_or(0, |last| 2 * (last + 1));
    bytes.get(..end).unwrap_or_default()
}

/// NUL-terminated (or not) UTF-8/ASCII text that is printable, without its terminators.
pub(crate) fn ascii_text(bytes: &[u8]) -> Option<String> {
    let text = core::str::from_utf8(without_nul_bytes(bytes)).ok()?;
    printable(text).then(|| String::from(text))
}

/// A string measurement as text, whatever it holds: UTF-8, else UTF-16 up to its first NUL,
/// with replacement characters for what does not decode (a command line that is not valid
/// text is still shown, never dropped).
pub(crate) fn lossy_text(bytes: &[u8]) -> String {
    let trimmed = without_nul_bytes(bytes);
    if let Ok(text) = core::str::from_utf8(trimmed) {
        return String::from(text);
    }
    match units(bytes).filter(|_| bytes.len().is_multiple_of(2)) {
        Some(units) => char::decode_utf16(units.into_iter().take_while(|&unit| unit != 0))
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect(),
        None => String::from_utf8_lossy(trimmed).into_owned(),
    }
}

/// UTF-16LE units of `bytes` (an odd trailing byte must be zero).
fn units(bytes: &[u8]) -> Option<Vec<u16>> {
    let chunks = bytes.chunks_exact(2);
    if chunks.remainder().iter().any(|&b| b != 0) {
        return None;
    }
    Some(
        chunks
            .map(|pair| match pair {
                [lo, hi] => u16::from_le_bytes([*lo, *hi]),
                _ => 0,
            })
            .collect(),
    )
}

/// UTF-16LE text up to the first NUL (or the end), if valid and printable.
pub(crate) fn utf16_text(bytes: &[u8]) -> Option<String> {
    let units = units(bytes)?;
    let end = units.iter().position(|&u| u == 0).unwrap_or(units.len());
    let text: String = char::decode_utf16(units.into_iter().take(end))
        .collect::<Result<_, _>>()
        .ok()?;
    printable(&text).then_some(text)
}

/// UTF-16LE text of exactly these bytes (a variable name, no terminator), if valid.
pub(crate) fn utf16_exact(bytes: &[u8]) -> Option<String> {
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let units = units(bytes)?;
    char::decode_utf16(units).collect::<Result<_, _>>().ok()
}

/// `text` as UTF-16LE bytes.
pub(crate) fn utf16_bytes(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn guids_print_in_the_canonical_form() {
        assert_eq!(
            EFI_GLOBAL_VARIABLE.to_string(),
            "8be4df61-93ca-11d2-aa0d-00e098032b8c"
        );
        assert_eq!(
            EFI_GLOBAL_VARIABLE.0[..4],
            [0x61, 0xdf, 0xe4, 0x8b],
            "stored little-endian"
        );
        assert_eq!(EFI_CERT_X509.name(), Some("X.509 certificate"));
    }

    #[test]
    fn text_decoders_refuse_what_is_not_text() {
        assert_eq!(
            ascii_text(b"grub_cmd: ls\0\0").as_deref(),
            Some("grub_cmd: ls")
        );
        assert_eq!(ascii_text(b"\x01\x02"), None);
        assert_eq!(ascii_text(b"\0"), None);
        let mut wide = utf16_bytes("a=b c");
        wide.push(0);
        assert_eq!(
            utf16_text(&wide).as_deref(),
            Some("a=b c"),
            "odd trailing NUL"
        );
        assert_eq!(utf16_text(&[0x00, 0xD8]), None, "lone surrogate");
        assert_eq!(utf16_exact(&utf16_bytes("db")).as_deref(), Some("db"));
        assert_eq!(utf16_exact(&[1]), None);
    }
}
