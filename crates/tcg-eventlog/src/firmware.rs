//! Firmware structures inside event data: UEFI_IMAGE_LOAD_EVENT, platform firmware blobs,
//! handoff tables, the GPT.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::content::EventContent;
use super::devpath::device_path;
use super::le::{LeReader, Short};
use super::text::{Guid, ascii_text, utf16_text};

fn short(s: Short) -> String {
    format!("{s}")
}

/// UEFI_IMAGE_LOAD_EVENT: location, length, link-time address, device path length (UINTN
/// each), device path (anything after it is ignored).
pub(crate) fn image_load(data: &[u8], uintn: usize) -> Result<EventContent, String> {
    let mut r = LeReader::new(data);
    let location = r.uintn(uintn, "image location").map_err(short)?;
    let length = r.uintn(uintn, "image length").map_err(short)?;
    let _link = r.uintn(uintn, "link-time address").map_err(short)?;
    let path_len = r.uintn(uintn, "device path length").map_err(short)?;
    let path = r
        .take(
            usize::try_from(path_len).unwrap_or(usize::MAX),
            "device path",
        )
        .map_err(short)?;
    // Bytes after the device path are tolerated: some shim builds log 8 more.
    let (device_path, file_path) = if path.is_empty() {
        (None, None)
    } else {
        let parsed = device_path(path)?;
        (Some(parsed.text), parsed.file)
    };
    Ok(EventContent::EfiImage {
        location,
        length,
        device_path,
        file_path,
    })
}

/// A u8-sized description (BLOB2, HANDOFF_TABLES2).
pub(crate) fn described(r: &mut LeReader<'_>) -> Result<String, String> {
    let len = r.u8("description size").map_err(short)?;
    let text = r.take(usize::from(len), "description").map_err(short)?;
    Ok(ascii_text(text).unwrap_or_default())
}

pub(crate) fn blob(data: &[u8], description: Option<String>) -> Result<EventContent, String> {
    let mut r = LeReader::new(data);
    let base = r.u64("blob base").map_err(short)?;
    let length = r.u64("blob length").map_err(short)?;
    if !r.is_empty() {
        return Err(format!("{} bytes after the blob", r.remaining()));
    }
    Ok(EventContent::FirmwareBlob {
        description,
        base,
        length,
    })
}

pub(crate) fn handoff(
    r: &mut LeReader<'_>,
    description: Option<String>,
    uintn: usize,
) -> Result<EventContent, String> {
    let count = r.uintn(uintn, "table count").map_err(short)?;
    let entry = 16 + uintn;
    if count > (r.remaining() / entry) as u64 {
        return Err(format!(
            "{count} tables do not fit in {} bytes",
            r.remaining()
        ));
    }
    let mut tables = Vec::new();
    for _ in 0..count {
        let guid = Guid(r.array("table GUID").map_err(short)?);
        let address = r.uintn(uintn, "table address").map_err(short)?;
        tables.push((guid, guid.name(), address));
    }
    Ok(EventContent::HandoffTables {
        description,
        tables,
    })
}

/// UEFI_GPT_DATA: the 92-byte partition table header, UINTN count, the entries.
pub(crate) fn gpt(data: &[u8], uintn: usize) -> Result<EventContent, String> {
    let mut r = LeReader::new(data);
    let header = r.take(92, "GPT header").map_err(short)?;
    if !header.starts_with(b"EFI PART") {
        return Err("the GPT header does not start with \"EFI PART\"".into());
    }
    let mut h = LeReader::new(header.get(56..).unwrap_or_default());
    let disk_guid = Guid(h.array("disk GUID").map_err(short)?);
    let _lba = h.u64("entries LBA").map_err(short)?;
    let _entries = h.u32("entry count").map_err(short)?;
    let entry_size = usize::try_from(h.u32("entry size").map_err(short)?).unwrap_or(usize::MAX);
    if entry_size < 128 {
        return Err(format!("GPT entry size {entry_size}: below 128"));
    }
    let count = r.uintn(uintn, "partition count").map_err(short)?;
    if count > (r.remaining() / entry_size) as u64 {
        return Err(format!(
            "{count} partitions do not fit in {} bytes",
            r.remaining()
        ));
    }
    let mut partitions = Vec::new();
    for _ in 0..count {
        let mut e = LeReader::new(r.take(entry_size, "partition").map_err(short)?);
        let kind = Guid(e.array("type GUID").map_err(short)?);
        let unique = Guid(e.array("unique GUID").map_err(short)?);
        let _range = e.take(24, "LBAs and attributes").map_err(short)?;
        let name = utf16_text(e.take(72, "name").map_err(short)?).unwrap_or_default();
        partitions.push((kind, unique, name));
    }
    if !r.is_empty() {
        return Err(format!("{} bytes after the partitions", r.remaining()));
    }
    Ok(EventContent::Gpt {
        disk_guid,
        partitions,
    })
}
