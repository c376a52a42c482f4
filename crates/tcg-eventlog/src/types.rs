//! The vocabulary of the TCG PC Client event log: event types, digests, records.

use alloc::vec::Vec;
use core::fmt;

use attest_prims::HexSlice;

use vtpm_quote::HashAlg;

/// An event type (TCG PC Client Platform Firmware Profile, section 10.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventType(pub u32);

macro_rules! event_types {
    ($($name:ident = $value:literal, $text:literal;)*) => {
        impl EventType {
            $(
                #[doc = concat!("`", $text, "`")]
                pub const $name: Self = Self($value);
            )*

            /// The specification's name (`EV_SEPARATOR`), if the type is a known one.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some($text),)*
                    _ => None,
                }
            }
        }
    };
}

event_types! {
    PREBOOT_CERT = 0x0000_0000, "EV_PREBOOT_CERT";
    POST_CODE = 0x0000_0001, "EV_POST_CODE";
    UNUSED = 0x0000_0002, "EV_UNUSED";
    NO_ACTION = 0x0000_0003, "EV_NO_ACTION";
    SEPARATOR = 0x0000_0004, "EV_SEPARATOR";
    ACTION = 0x0000_0005, "EV_ACTION";
    EVENT_TAG = 0x0000_0006, "EV_EVENT_TAG";
    S_CRTM_CONTENTS = 0x0000_0007, "EV_S_CRTM_CONTENTS";
    S_CRTM_VERSION = 0x0000_0008, "EV_S_CRTM_VERSION";
    CPU_MICROCODE = 0x0000_0009, "EV_CPU_MICROCODE";
    PLATFORM_CONFIG_FLAGS = 0x0000_000A, "EV_PLATFORM_CONFIG_FLAGS";
    TABLE_OF_DEVICES = 0x0000_000B, "EV_TABLE_OF_DEVICES";
    COMPACT_HASH = 0x0000_000C, "EV_COMPACT_HASH";
    IPL = 0x0000_000D, "EV_IPL";
    IPL_PARTITION_DATA = 0x0000_000E, "EV_IPL_PARTITION_DATA";
    NONHOST_CODE = 0x0000_000F, "EV_NONHOST_CODE";
    NONHOST_CONFIG = 0x0000_0010, "EV_NONHOST_CONFIG";
    NONHOST_INFO = 0x0000_0011, "EV_NONHOST_INFO";
    OMIT_BOOT_DEVICE_EVENTS = 0x0000_0012, "EV_OMIT_BOOT_DEVICE_EVENTS";
    POST_CODE2 = 0x0000_0013, "EV_POST_CODE2";
    EFI_EVENT_BASE = 0x8000_0000, "EV_EFI_EVENT_BASE";
    EFI_VARIABLE_DRIVER_CONFIG = 0x8000_0001, "EV_EFI_VARIABLE_DRIVER_CONFIG";
    EFI_VARIABLE_BOOT = 0x8000_0002, "EV_EFI_VARIABLE_BOOT";
    EFI_BOOT_SERVICES_APPLICATION = 0x8000_0003, "EV_EFI_BOOT_SERVICES_APPLICATION";
    EFI_BOOT_SERVICES_DRIVER = 0x8000_0004, "EV_EFI_BOOT_SERVICES_DRIVER";
    EFI_RUNTIME_SERVICES_DRIVER = 0x8000_0005, "EV_EFI_RUNTIME_SERVICES_DRIVER";
    EFI_GPT_EVENT = 0x8000_0006, "EV_EFI_GPT_EVENT";
    EFI_ACTION = 0x8000_0007, "EV_EFI_ACTION";
    EFI_PLATFORM_FIRMWARE_BLOB = 0x8000_0008, "EV_EFI_PLATFORM_FIRMWARE_BLOB";
    EFI_HANDOFF_TABLES = 0x8000_0009, "EV_EFI_HANDOFF_TABLES";
    EFI_PLATFORM_FIRMWARE_BLOB2 = 0x8000_000A, "EV_EFI_PLATFORM_FIRMWARE_BLOB2";
    EFI_HANDOFF_TABLES2 = 0x8000_000B, "EV_EFI_HANDOFF_TABLES2";
    EFI_VARIABLE_BOOT2 = 0x8000_000C, "EV_EFI_VARIABLE_BOOT2";
    EFI_GPT_EVENT2 = 0x8000_000D, "EV_EFI_GPT_EVENT2";
    EFI_HCRTM_EVENT = 0x8000_0010, "EV_EFI_HCRTM_EVENT";
    EFI_VARIABLE_AUTHORITY = 0x8000_00E0, "EV_EFI_VARIABLE_AUTHORITY";
    EFI_SPDM_FIRMWARE_BLOB = 0x8000_00E1, "EV_EFI_SPDM_FIRMWARE_BLOB";
    EFI_SPDM_FIRMWARE_CONFIG = 0x8000_00E2, "EV_EFI_SPDM_FIRMWARE_CONFIG";
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{:#010x}", self.0),
        }
    }
}

impl serde::Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One digest of an event: the algorithm as the log names it, and the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventDigest<'a> {
    /// TPM_ALG_ID (algorithms this crate cannot hash, such as SM3, are kept but not replayed).
    pub algorithm: u16,
    /// The digest.
    pub digest: &'a [u8],
}

impl EventDigest<'_> {
    /// The bank, when this crate knows the algorithm.
    pub fn bank(&self) -> Option<HashAlg> {
        HashAlg::from_tpm(self.algorithm)
    }
}

/// Which of the two record formats the log uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// TCG_PCClientPCREvent records with one SHA-1 digest each (TPM 1.2 era firmware).
    Sha1,
    /// A SHA-1-format Spec ID event ("Spec ID Event03"), then TCG_PCR_EVENT2 records carrying
    /// one digest per algorithm the Spec ID event declares.
    CryptoAgile,
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sha1 => "SHA-1 (legacy)",
            Self::CryptoAgile => "crypto-agile",
        })
    }
}

/// One record of the log, borrowing from the log's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<'a> {
    /// Position in the log, from 0 (the Spec ID event of a crypto-agile log is event 0).
    pub index: usize,
    /// Byte offset of the record in the log.
    pub offset: usize,
    /// The PCR the event extends (0-23).
    pub pcr: u8,
    /// The event type.
    pub event_type: EventType,
    /// The digests, in record order.
    pub digests: Vec<EventDigest<'a>>,
    /// The event data.
    pub data: &'a [u8],
    /// sizeof(UINTN) of the firmware that wrote the log (4 or 8), for decoding the data.
    pub(crate) uintn: usize,
}

impl<'a> Event<'a> {
    /// The digest of a bank, if the record carries one.
    pub fn digest(&self, bank: HashAlg) -> Option<&'a [u8]> {
        self.digests
            .iter()
            .find(|d| d.bank() == Some(bank))
            .map(|d| d.digest)
    }

    /// Whether the event extends its PCR (every type but `EV_NO_ACTION`).
    pub fn is_measured(&self) -> bool {
        self.event_type != EventType::NO_ACTION
    }
}

impl fmt::Display for Event<'_> {
    /// `#12 PCR 1 EV_EFI_VARIABLE_BOOT BootOrder = 0002, 0001` (one line).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} PCR {} {} {}",
            self.index,
            self.pcr,
            self.event_type,
            self.content()
        )
    }
}

/// The Spec ID event (TCG_EfiSpecIDEventStruct) of a crypto-agile log, or the 1.2-era
/// "Spec ID Event00" structure of a legacy one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SpecIdEvent {
    /// "Spec ID Event03" (crypto-agile) or "Spec ID Event00".
    pub signature: alloc::string::String,
    /// Platform class (0 client, 1 server).
    pub platform_class: u32,
    /// Specification version major.
    pub spec_version_major: u8,
    /// Specification version minor.
    pub spec_version_minor: u8,
    /// Specification errata.
    pub spec_errata: u8,
    /// sizeof(UINTN) in units of 4 bytes (1: 32-bit firmware, 2: 64-bit).
    pub uintn_size: u8,
    /// (TPM_ALG_ID, digest size) of every algorithm the records carry (crypto-agile only).
    pub algorithms: Vec<(u16, u16)>,
    /// Vendor information.
    #[serde(serialize_with = "hex_bytes")]
    pub vendor_info: Vec<u8>,
}

/// Serialises bytes as lower-case hex.
pub(crate) fn hex_bytes<T: AsRef<[u8]>, S: serde::Serializer>(
    bytes: &T,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_str(&HexSlice(bytes.as_ref()))
}
