//! UEFI variables as measured (UEFI_VARIABLE_DATA), with the values a relying party reads:
//! SecureBoot, signature databases (PK, KEK, db, dbx, MokList) with certificate subjects,
//! BootOrder and Boot#### load options.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use der::Decode;

use super::devpath::device_path;
use super::le::{LeReader, Short};
use super::text::{
    EFI_CERT_SHA256, EFI_CERT_X509, EFI_GLOBAL_VARIABLE, Guid, ascii_text, utf16_exact,
};
use super::types::hex_bytes;

/// The parts of a UEFI_VARIABLE_DATA structure.
pub(crate) struct RawVariable<'a> {
    pub guid: Guid,
    pub name: String,
    pub data: &'a [u8],
}

/// Splits UEFI_VARIABLE_DATA: vendor GUID, name length and data length (u64 each), the
/// UTF-16 name (no terminator) and the data, with nothing after it.
pub(crate) fn raw_variable(bytes: &[u8]) -> Result<RawVariable<'_>, String> {
    let short = |s: Short| format!("UEFI_VARIABLE_DATA: {s}");
    let mut r = LeReader::new(bytes);
    let guid = Guid(r.array("vendor GUID").map_err(short)?);
    let name_chars = r.u64("name length").map_err(short)?;
    let data_len = r.u64("data length").map_err(short)?;
    let name_len = usize::try_from(name_chars)
        .ok()
        .and_then(|n| n.checked_mul(2))
        .unwrap_or(usize::MAX);
    let name = r.take(name_len, "variable name").map_err(short)?;
    let data = r
        .take(
            usize::try_from(data_len).unwrap_or(usize::MAX),
            "variable data",
        )
        .map_err(short)?;
    if !r.is_empty() {
        return Err(format!(
            "UEFI_VARIABLE_DATA: {} bytes after the variable data",
            r.remaining()
        ));
    }
    let name = utf16_exact(name).ok_or("UEFI_VARIABLE_DATA: the name is not UTF-16")?;
    Ok(RawVariable { guid, name, data })
}

/// A measured UEFI variable.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EfiVariable {
    /// Vendor GUID.
    pub guid: Guid,
    /// Name.
    pub name: String,
    /// The decoded value.
    pub value: VariableValue,
}

/// The value of a measured variable.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VariableValue {
    /// No data (SecureBoot measured while absent reads as off).
    Empty,
    /// One byte, 0 or 1 (SecureBoot, SetupMode, AuditMode, DeployedMode).
    Flag {
        /// The byte is 1.
        enabled: bool,
    },
    /// EFI_SIGNATURE_LISTs (PK, KEK, db, dbx, MokList).
    SignatureLists {
        /// The entries of every list, in order.
        entries: Vec<SignatureEntry>,
    },
    /// One certificate or hash that authorised an image (EV_EFI_VARIABLE_AUTHORITY).
    Authority {
        /// The entry.
        entry: SignatureEntry,
    },
    /// BootOrder.
    BootOrder {
        /// Boot#### numbers in order.
        order: Vec<u16>,
    },
    /// Boot####: an EFI_LOAD_OPTION.
    BootOption {
        /// The menu text.
        description: String,
        /// The device path as text.
        device_path: String,
        /// The file the device path ends in.
        file_path: Option<String>,
    },
    /// Printable text (SbatLevel).
    Text {
        /// The text.
        text: String,
    },
    /// Anything else, by length.
    Bytes {
        /// Bytes of data.
        length: usize,
    },
}

/// One EFI_SIGNATURE_DATA.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SignatureEntry {
    /// An X.509 certificate.
    X509 {
        /// SignatureOwner (absent in authorities that carry a bare certificate).
        owner: Option<Guid>,
        /// The subject, RFC 4514 (None when the DER does not parse).
        subject: Option<String>,
        /// The issuer.
        issuer: Option<String>,
    },
    /// A SHA-256 image hash (dbx revocations, MokList hashes).
    Sha256 {
        /// SignatureOwner.
        owner: Guid,
        /// The hash.
        #[serde(serialize_with = "hex_bytes")]
        hash: Vec<u8>,
    },
    /// Another signature type.
    Other {
        /// SignatureType.
        signature_type: Guid,
        /// SignatureOwner.
        owner: Guid,
        /// Bytes of signature data.
        length: usize,
    },
}

fn certificate(owner: Option<Guid>, der: &[u8]) -> SignatureEntry {
    let parsed = x509_cert::Certificate::from_der(der).ok();
    let tbs = parsed.as_ref().map(|c| c.tbs_certificate());
    SignatureEntry::X509 {
        owner,
        subject: tbs.map(|t| t.subject().to_string()),
        issuer: tbs.map(|t| t.issuer().to_string()),
    }
}

fn entry(signature_type: Guid, owner: Guid, data: &[u8]) -> SignatureEntry {
    if signature_type == EFI_CERT_X509 {
        certificate(Some(owner), data)
    } else if signature_type == EFI_CERT_SHA256 && data.len() == 32 {
        SignatureEntry::Sha256 {
            owner,
            hash: data.to_vec(),
        }
    } else {
        SignatureEntry::Other {
            signature_type,
            owner,
            length: data.len(),
        }
    }
}

/// EFI_SIGNATURE_LISTs back to back: type, list size, header size, signature size, header,
/// then signatures of that size (owner GUID + data).
pub(crate) fn signature_lists(bytes: &[u8]) -> Result<Vec<SignatureEntry>, String> {
    let short = |s: Short| format!("EFI_SIGNATURE_LIST: {s}");
    let mut r = LeReader::new(bytes);
    let mut entries = Vec::new();
    while !r.is_empty() {
        let signature_type = Guid(r.array("signature type").map_err(short)?);
        let list_size = r.u32("list size").map_err(short)?;
        let header_size = r.u32("header size").map_err(short)?;
        let signature_size = r.u32("signature size").map_err(short)?;
        let body_len = usize::try_from(list_size)
            .ok()
            .and_then(|s| s.checked_sub(28))
            .ok_or_else(|| format!("EFI_SIGNATURE_LIST of {list_size} bytes: below 28"))?;
        let mut body = LeReader::new(r.take(body_len, "signature list").map_err(short)?);
        body.take(
            usize::try_from(header_size).unwrap_or(usize::MAX),
            "signature header",
        )
        .map_err(short)?;
        let size = usize::try_from(signature_size)
            .ok()
            .filter(|&s| s >= 16)
            .ok_or_else(|| format!("EFI_SIGNATURE_LIST: signature size {signature_size}"))?;
        let signatures = body.rest();
        if !signatures.len().is_multiple_of(size) {
            return Err(format!(
                "EFI_SIGNATURE_LIST: {} bytes of signatures are not a multiple of {size}",
                signatures.len()
            ));
        }
        for signature in signatures.chunks_exact(size) {
            let (owner, data) = signature.split_at_checked(16).unwrap_or_default();
            let owner = Guid(<[u8; 16]>::try_from(owner).unwrap_or_default());
            entries.push(entry(signature_type, owner, data));
        }
    }
    Ok(entries)
}

/// EFI_LOAD_OPTION: attributes, file path list length, NUL-terminated UTF-16 description,
/// device path, optional data.
fn load_option(bytes: &[u8]) -> Result<VariableValue, String> {
    let short = |s: Short| format!("EFI_LOAD_OPTION: {s}");
    let mut r = LeReader::new(bytes);
    let _attributes = r.u32("attributes").map_err(short)?;
    let path_len = r.u16("file path length").map_err(short)?;
    let mut units = Vec::new();
    loop {
        match r.u16("description").map_err(short)? {
            0 => break,
            unit => units.push(unit),
        }
    }
    let description = char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    let path = device_path(r.take(usize::from(path_len), "file path").map_err(short)?)?;
    Ok(VariableValue::BootOption {
        description,
        device_path: path.text,
        file_path: path.file,
    })
}

const SIGNATURE_DATABASES: [&str; 9] = [
    "PK",
    "KEK",
    "db",
    "dbx",
    "dbt",
    "dbr",
    "MokList",
    "MokListX",
    "MokListTrusted",
];

fn is_boot_option(name: &str) -> bool {
    name.len() == 8
        && name.starts_with("Boot")
        && name
            .get(4..)
            .is_some_and(|n| n.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Decodes a measured variable; `authority` for EV_EFI_VARIABLE_AUTHORITY, whose data is one
/// signature entry (or a bare certificate) rather than the variable's whole value.
pub(crate) fn decode_variable(bytes: &[u8], authority: bool) -> Result<EfiVariable, String> {
    let raw = raw_variable(bytes)?;
    let data = raw.data;
    let global = raw.guid == EFI_GLOBAL_VARIABLE;
    let name = raw.name.as_str();
    let value = if data.is_empty() {
        VariableValue::Empty
    } else if authority {
        authority_value(data)
    } else if global
        && matches!(
            name,
            "SecureBoot" | "SetupMode" | "AuditMode" | "DeployedMode"
        )
        && data.len() == 1
    {
        VariableValue::Flag {
            enabled: data == [1],
        }
    } else if SIGNATURE_DATABASES.contains(&name) {
        VariableValue::SignatureLists {
            entries: signature_lists(data)?,
        }
    } else if global && name == "BootOrder" {
        if !data.len().is_multiple_of(2) {
            return Err(format!("BootOrder of {} bytes", data.len()));
        }
        VariableValue::BootOrder {
            order: data
                .chunks_exact(2)
                .map(|p| match p {
                    [lo, hi] => u16::from_le_bytes([*lo, *hi]),
                    _ => 0,
                })
                .collect(),
        }
    } else if global && is_boot_option(name) {
        load_option(data)?
    } else if let Some(text) = ascii_text(data) {
        VariableValue::Text { text }
    } else {
        VariableValue::Bytes { length: data.len() }
    };
    Ok(EfiVariable {
        guid: raw.guid,
        name: raw.name,
        value,
    })
}

fn authority_value(data: &[u8]) -> VariableValue {
    let is_der = |b: &[u8]| matches!(b, [0x30, 0x82, ..]);
    if is_der(data) {
        return VariableValue::Authority {
            entry: certificate(None, data),
        };
    }
    if let Some((owner, rest)) = data.split_at_checked(16)
        && is_der(rest)
    {
        let owner = Guid(<[u8; 16]>::try_from(owner).unwrap_or_default());
        return VariableValue::Authority {
            entry: certificate(Some(owner), rest),
        };
    }
    match ascii_text(data) {
        Some(text) => VariableValue::Text { text },
        None => VariableValue::Bytes { length: data.len() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose;
    use alloc::vec;

    #[test]
    fn secure_boot_and_boot_order_decode() {
        let sb = compose::uefi_variable(&EFI_GLOBAL_VARIABLE, "SecureBoot", &[1]);
        let var = decode_variable(&sb, false).unwrap();
        assert_eq!(var.name, "SecureBoot");
        assert_eq!(var.value, VariableValue::Flag { enabled: true });
        let order = compose::uefi_variable(&EFI_GLOBAL_VARIABLE, "BootOrder", &[2, 0, 1, 0]);
        assert_eq!(
            decode_variable(&order, false).unwrap().value,
            VariableValue::BootOrder { order: vec![2, 1] }
        );
    }

    #[test]
    fn signature_lists_decode_and_bounds_hold() {
        let hash = [0xAB; 32];
        let owner = Guid([7; 16]);
        let list = compose::signature_list(&EFI_CERT_SHA256, &owner, &[&hash[..]]);
        let entries = signature_lists(&list).unwrap();
        assert_eq!(
            entries,
            [SignatureEntry::Sha256 {
                owner,
                hash: hash.to_vec()
            }]
        );
        for cut in 1..list.len() {
            assert!(signature_lists(&list[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = list.clone();
        bad[16..20].copy_from_slice(&3u32.to_le_bytes());
        assert!(signature_lists(&bad).is_err(), "list size below the header");
    }

    #[test]
    fn variable_lengths_are_checked() {
        let sb = compose::uefi_variable(&EFI_GLOBAL_VARIABLE, "SecureBoot", &[1]);
        for cut in 0..sb.len() {
            assert!(raw_variable(&sb[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = sb.clone();
        long.push(0);
        assert!(raw_variable(&long).is_err(), "trailing byte");
        let mut huge = sb;
        huge[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(raw_variable(&huge).is_err());
    }
}
