//! EFI device paths as text (UEFI 2.10, section 10.6), and the file path they end in.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use attest_prims::HexSlice;

use super::le::LeReader;
use super::text::{Guid, utf16_text};

/// A device path rendered as text, with the file path of its FilePath nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DevicePath {
    pub text: String,
    pub file: Option<String>,
}

/// Renders a device path; an error names the malformed node.
pub(crate) fn device_path(bytes: &[u8]) -> Result<DevicePath, String> {
    let mut r = LeReader::new(bytes);
    let mut nodes: Vec<String> = Vec::new();
    let mut file: Option<String> = None;
    while !r.is_empty() {
        let at = r.pos();
        let header = |e| format!("device path node at byte {at}: {e}");
        let kind = r.u8("node type").map_err(header)?;
        let sub = r.u8("node subtype").map_err(header)?;
        let len = r.u16("node length").map_err(header)?;
        let body_len = usize::from(len)
            .checked_sub(4)
            .ok_or_else(|| format!("device path node at byte {at}: length {len} below 4"))?;
        let body = r.take(body_len, "node").map_err(header)?;
        match (kind, sub) {
            (0x7F, 0xFF) => break,
            (0x7F, 0x01) => nodes.push(String::from(",")),
            (0x04, 0x04) => {
                let path = utf16_text(body).unwrap_or_default();
                let joined = match file.take() {
                    Some(prefix) if !prefix.ends_with('\\') && !path.starts_with('\\') => {
                        format!("{prefix}\\{path}")
                    }
                    Some(prefix) => format!("{prefix}{path}"),
                    None => path.clone(),
                };
                file = Some(joined);
                nodes.push(path);
            }
            _ => nodes.push(node_text(kind, sub, body)),
        }
    }
    Ok(DevicePath {
        text: nodes.join("/").replace("/,/", ","),
        file,
    })
}

fn guid_at(body: &[u8], at: usize) -> Option<Guid> {
    body.get(at..at.checked_add(16)?)
        .and_then(|b| <[u8; 16]>::try_from(b).ok())
        .map(Guid)
}

fn node_text(kind: u8, sub: u8, body: &[u8]) -> String {
    let mut r = LeReader::new(body);
    let text = match (kind, sub) {
        (0x01, 0x01) => match body {
            [function, device] => Some(format!("Pci(0x{device:x},0x{function:x})")),
            _ => None,
        },
        (0x01, 0x04) => guid_at(body, 0).map(|g| format!("VenHw({g})")),
        (0x02, 0x01) => match (r.u32("HID"), r.u32("UID")) {
            (Ok(hid), Ok(uid)) if hid & 0xFFFF == 0x41D0 => match hid >> 16 {
                0x0A03 | 0x0A08 => Some(format!("PciRoot(0x{uid:x})")),
                pnp => Some(format!("Acpi(PNP{pnp:04X},0x{uid:x})")),
            },
            (Ok(hid), Ok(uid)) => Some(format!("Acpi(0x{hid:08x},0x{uid:x})")),
            _ => None,
        },
        (0x03, 0x02) => match (r.u16("PUN"), r.u16("LUN")) {
            (Ok(pun), Ok(lun)) => Some(format!("Scsi(0x{pun:x},0x{lun:x})")),
            _ => None,
        },
        (0x03, 0x05) => match body {
            [port, interface] => Some(format!("USB(0x{port:x},0x{interface:x})")),
            _ => None,
        },
        (0x03, 0x0A) => guid_at(body, 0).map(|g| format!("VenMsg({g})")),
        (0x03, 0x0B) => body.get(..6).map(|mac| format!("MAC({})", HexSlice(mac))),
        (0x03, 0x12) => match (r.u16("HBA port"), r.u16("multiplier"), r.u16("LUN")) {
            (Ok(port), Ok(pmp), Ok(lun)) => Some(format!("Sata(0x{port:x},0x{pmp:x},0x{lun:x})")),
            _ => None,
        },
        (0x03, 0x17) => match (r.u32("namespace"), r.take(8, "EUI-64")) {
            (Ok(nsid), Ok(eui)) => Some(format!("NVMe(0x{nsid:x},{})", HexSlice(eui))),
            _ => None,
        },
        (0x03, 0x18) => core::str::from_utf8(body)
            .ok()
            .map(|uri| format!("Uri({uri})")),
        (0x04, 0x01) => hard_drive(&mut r),
        (0x04, 0x03) => guid_at(body, 0).map(|g| format!("VenMedia({g})")),
        (0x04, 0x06) => guid_at(body, 0).map(|g| format!("FvFile({g})")),
        (0x04, 0x07) => guid_at(body, 0).map(|g| format!("Fv({g})")),
        (0x04, 0x08) => match (r.u32("reserved"), r.u64("start"), r.u64("end")) {
            (Ok(_), Ok(start), Ok(end)) => Some(format!("Offset(0x{start:x},0x{end:x})")),
            _ => None,
        },
        _ => None,
    };
    text.unwrap_or_else(|| format!("Path({kind},{sub},{})", HexSlice(body)))
}

/// HARDDRIVE_DEVICE_PATH: partition number, start, size, signature, format, signature type.
fn hard_drive(r: &mut LeReader<'_>) -> Option<String> {
    let number = r.u32("partition").ok()?;
    let start = r.u64("start").ok()?;
    let size = r.u64("size").ok()?;
    let signature: [u8; 16] = r.array("signature").ok()?;
    let _format = r.u8("format").ok()?;
    let kind = r.u8("signature type").ok()?;
    let signature = match kind {
        2 => format!("GPT,{}", Guid(signature)),
        1 => {
            let [a, b, c, d, ..] = signature;
            format!("MBR,0x{:08x}", u32::from_le_bytes([a, b, c, d]))
        }
        _ => String::from("None"),
    };
    Some(format!("HD({number},{signature},0x{start:x},0x{size:x})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::utf16_bytes;
    use alloc::vec;

    fn node(kind: u8, sub: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![kind, sub];
        out.extend_from_slice(&((body.len() + 4) as u16).to_le_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn renders_the_nodes_a_boot_entry_has() {
        let mut path = node(0x02, 0x01, &[0xD0, 0x41, 0x03, 0x0A, 0, 0, 0, 0]);
        path.extend(node(0x01, 0x01, &[0x00, 0x04]));
        let mut hd = 15u32.to_le_bytes().to_vec();
        hd.extend_from_slice(&0x800u64.to_le_bytes());
        hd.extend_from_slice(&0x100u64.to_le_bytes());
        hd.extend_from_slice(&[0x11; 16]);
        hd.extend_from_slice(&[2, 2]);
        path.extend(node(0x04, 0x01, &hd));
        let mut file = utf16_bytes("\\EFI\\ubuntu\\shimx64.efi");
        file.extend_from_slice(&[0, 0]);
        path.extend(node(0x04, 0x04, &file));
        path.extend(node(0x7F, 0xFF, &[]));
        let rendered = device_path(&path).unwrap();
        assert_eq!(
            rendered.text,
            "PciRoot(0x0)/Pci(0x4,0x0)/HD(15,GPT,11111111-1111-1111-1111-111111111111,0x800,0x100)/\\EFI\\ubuntu\\shimx64.efi"
        );
        assert_eq!(rendered.file.as_deref(), Some("\\EFI\\ubuntu\\shimx64.efi"));
    }

    #[test]
    fn malformed_nodes_are_errors() {
        assert!(
            device_path(&[0x04, 0x04, 0x02, 0x00]).is_err(),
            "length below 4"
        );
        assert!(
            device_path(&[0x04, 0x04, 0x40, 0x00, 1, 2]).is_err(),
            "past the end"
        );
        assert_eq!(
            device_path(&node(0x09, 0x09, &[0xAB])).unwrap().text,
            "Path(9,9,ab)"
        );
    }
}
