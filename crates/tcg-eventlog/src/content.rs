//! What an event's data says, decoded ([`EventContent`]): the vocabulary the decoders
//! (`decode`, `firmware`) produce and the summary reads.

use alloc::string::String;
use alloc::vec::Vec;

use super::efi::EfiVariable;
use super::text::Guid;

/// Who measured a kernel command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CmdlineSource {
    /// GRUB's `kernel_cmdline` string (the kernel path first, then the arguments).
    Grub,
    /// systemd-boot or systemd-stub: the load options in UTF-16 (PCR 8 or 12).
    Systemd,
}

/// The decoded data of an event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventContent {
    /// The Spec ID event (see [`super::EventLog::spec_id`]).
    SpecId {
        /// "Spec ID Event03" or "Spec ID Event00".
        signature: String,
    },
    /// StartupLocality: PCR 0 started at this locality.
    StartupLocality {
        /// 0 or 3.
        locality: u8,
    },
    /// Another EV_NO_ACTION event, by its signature text.
    NoAction {
        /// The leading text ("SP800-155 Event", "NvIndexInstance").
        signature: Option<String>,
    },
    /// EV_SEPARATOR: 0 ends a phase normally, 0xFFFFFFFF marks an error.
    Separator {
        /// The 4-byte value.
        value: u32,
    },
    /// A UEFI variable (driver config, boot, authority).
    EfiVariable(EfiVariable),
    /// A PE image loaded by the firmware (application, boot or runtime driver).
    EfiImage {
        /// Where it was loaded.
        location: u64,
        /// Its length in memory.
        length: u64,
        /// The device path as text (None when the event has none, as for a kernel GRUB loads).
        device_path: Option<String>,
        /// The file the device path ends in.
        file_path: Option<String>,
    },
    /// A GRUB command.
    GrubCommand {
        /// The command line as GRUB ran it.
        command: String,
    },
    /// The kernel command line.
    KernelCommandLine {
        /// The command line.
        command_line: String,
        /// Who measured it.
        source: CmdlineSource,
    },
    /// Text (EV_EFI_ACTION, EV_ACTION, GRUB's file names, shim's variable names, ...).
    Text {
        /// The text.
        text: String,
    },
    /// EV_S_CRTM_VERSION.
    CrtmVersion {
        /// A UTF-16 version string, or a GUID.
        version: String,
    },
    /// EV_EFI_PLATFORM_FIRMWARE_BLOB(2) or a blob-shaped EV_POST_CODE.
    FirmwareBlob {
        /// BLOB2's description.
        description: Option<String>,
        /// Physical address.
        base: u64,
        /// Length.
        length: u64,
    },
    /// EV_EFI_HANDOFF_TABLES(2): configuration tables handed to the OS.
    HandoffTables {
        /// HANDOFF_TABLES2's description.
        description: Option<String>,
        /// (vendor GUID, its name when known, address).
        tables: Vec<(Guid, Option<&'static str>, u64)>,
    },
    /// EV_EFI_GPT_EVENT: the GPT of the boot disk.
    Gpt {
        /// The disk GUID.
        disk_guid: Guid,
        /// (type GUID, unique GUID, name) of each partition.
        partitions: Vec<(Guid, Guid, String)>,
    },
    /// EV_EVENT_TAG (TCG_PCClientTaggedEvent); the Linux EFI stub tags its initrd and load
    /// options this way.
    Tagged {
        /// taggedEventID.
        id: u32,
        /// The tag's text, when printable.
        text: Option<String>,
    },
    /// A confidential-computing platform event: Google Compute Engine's EV_NONHOST_INFO
    /// names the memory-encryption technology the VM runs under.
    ConfidentialPlatform {
        /// The platform that logged it.
        platform: &'static str,
        /// "AMD SEV", "AMD SEV-ES", "AMD SEV-SNP", "none", or "unknown (N)".
        technology: String,
    },
    /// Data of a known type that does not have that type's layout.
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// Data this crate does not decode.
    Raw {
        /// Bytes of data.
        length: usize,
    },
}
