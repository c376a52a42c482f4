//! What an event says: its data decoded by type. Unknown or malformed data is kept raw (the
//! event's bytes); decoding never fails the log.

use alloc::format;
use alloc::string::{String, ToString};

use super::content::{CmdlineSource, EventContent};
use super::efi::decode_variable;
use super::firmware::{blob, described, gpt, handoff, image_load};
use super::le::{LeReader, Short};
use super::parse::{SPEC_ID_EVENT03, STARTUP_LOCALITY};
use super::text::{Guid, ascii_text, utf16_text, without_nul_bytes};
use super::types::{Event, EventType};

/// The prefix of Google Compute Engine's EV_NONHOST_INFO event.
const GCE_NONHOST_INFO: &[u8; 16] = b"GCE NonHostInfo\0";
/// GRUB's string measurements: (prefix, is the kernel command line). GRUB 2.06+ writes
/// `grub_cmd: `/`kernel_cmdline: `; older (Red Hat) builds `grub_cmd `/`grub_kernel_cmdline `.
pub(crate) const GRUB_PREFIXES: [(&str, bool); 5] = [
    ("grub_cmd: ", false),
    ("grub_cmd ", false),
    ("kernel_cmdline: ", true),
    ("grub_kernel_cmdline ", true),
    // A multiboot module's command line (Xen's dom0 kernel, ...).
    ("module_cmdline: ", true),
];
/// PCRs where systemd-boot and systemd-stub measure the kernel command line (UTF-16).
pub(crate) const SYSTEMD_CMDLINE_PCRS: [u8; 2] = [8, 12];
/// The PCR GRUB measures its commands and the kernel command line into.
pub(crate) const GRUB_STRING_PCR: u8 = 8;
/// The PCRs where boot loaders measure kernel command lines: GRUB's strings (8),
/// systemd-boot's and systemd-stub's UTF-16 command lines (8 before v251, then 12).
pub const CMDLINE_PCRS: [u8; 2] = [8, 12];

/// GRUB's string, when `data` (trailing NULs aside) starts with one of its prefixes: the rest,
/// and whether it is a kernel command line. Bytes, not text: a command line that is not UTF-8
/// is still GRUB's command line. GRUB hashes only the rest, so the prefix is not covered by
/// the digest: the text decides. A GRUB command starts with its name (a letter, `_` or `[`);
/// anything else (a path `/vmlinuz...`, `(hd0,gpt2)/...`, a quoted path, a blocklist) is a
/// command line whatever its prefix says.
pub(crate) fn grub_string(data: &[u8]) -> Option<(&[u8], bool)> {
    let trimmed = without_nul_bytes(data);
    GRUB_PREFIXES.iter().find_map(|(prefix, cmdline)| {
        trimmed.strip_prefix(prefix.as_bytes()).map(|rest| {
            let starts_like_a_command =
                matches!(rest.first(), Some(b) if b.is_ascii_alphabetic() || matches!(b, b'_' | b'['));
            (rest, *cmdline || !starts_like_a_command)
        })
    })
}

/// GRUB commands that start a kernel or another loader; their arguments (the image, then its
/// command line) become the started image's command line, so they are command lines too.
/// (`linux` is followed by GRUB's own `kernel_cmdline` measurement; `chainloader`, `multiboot`
/// and the others are not.)
pub(crate) const GRUB_LOADER_COMMANDS: [&str; 14] = [
    "linux",
    "linuxefi",
    "linux16",
    "chainloader",
    "multiboot",
    "multiboot2",
    "module",
    "module2",
    "kfreebsd",
    "knetbsd",
    "kopenbsd",
    "xnu_kernel",
    "xnu_kernel64",
    "appleloader",
];

/// The arguments of a GRUB command that starts a kernel or loader (see
/// [`GRUB_LOADER_COMMANDS`]).
pub(crate) fn loader_arguments(command: &str) -> Option<&str> {
    let (name, arguments) = command.split_once(' ').unwrap_or((command, ""));
    GRUB_LOADER_COMMANDS
        .contains(&name)
        .then_some(arguments.trim_start())
}

/// The tag the Linux EFI stub gives its measurement of the load options it was started with
/// (`LOADED_IMAGE::LoadOptions`, PCR 9): the kernel's own record of its command line.
pub const LOAD_OPTIONS_TAG: u32 = 0x8F3B_22ED;
/// The PCR the Linux EFI stub measures its load options and initrd into.
pub const KERNEL_STUB_PCR: u8 = 9;

/// The descriptions systemd-stub logs for EV_IPL measurements of PCR 12 that are not command
/// lines (the digest covers a credentials archive it generated).
const SYSTEMD_DESCRIPTIONS: [&str; 2] = ["Credentials initrd", "Global credentials initrd"];

fn technology(code: u8) -> String {
    match code {
        0 => String::from("none"),
        1 => String::from("AMD SEV"),
        2 => String::from("AMD SEV-ES"),
        4 => String::from("AMD SEV-SNP"),
        other => format!("unknown ({other})"),
    }
}

fn short(s: Short) -> String {
    format!("{s}")
}

impl Event<'_> {
    /// Decodes the event's data by its type; in PCR 8, GRUB's strings whatever the type (the
    /// type is covered by no digest, so a relabelled event reads the same).
    pub fn content(&self) -> EventContent {
        let data = self.data;
        if self.pcr == GRUB_STRING_PCR
            && self.is_measured()
            && let Some((rest, cmdline)) = grub_string(data)
        {
            let text = String::from_utf8_lossy(rest).into_owned();
            return if cmdline {
                EventContent::KernelCommandLine {
                    command_line: text,
                    source: CmdlineSource::Grub,
                }
            } else {
                EventContent::GrubCommand { command: text }
            };
        }
        let raw = || EventContent::Raw { length: data.len() };
        let text_or_raw = || ascii_text(data).map_or_else(raw, |text| EventContent::Text { text });
        let malformed = |reason: String| EventContent::Malformed { reason };
        match self.event_type {
            EventType::NO_ACTION => no_action(data),
            EventType::SEPARATOR => match data {
                [a, b, c, d] => EventContent::Separator {
                    value: u32::from_le_bytes([*a, *b, *c, *d]),
                },
                _ => text_or_raw(),
            },
            EventType::EFI_VARIABLE_DRIVER_CONFIG
            | EventType::EFI_VARIABLE_BOOT
            | EventType::EFI_VARIABLE_BOOT2
            | EventType::EFI_VARIABLE_AUTHORITY => {
                let authority = self.event_type == EventType::EFI_VARIABLE_AUTHORITY;
                decode_variable(data, authority).map_or_else(malformed, EventContent::EfiVariable)
            }
            EventType::EFI_BOOT_SERVICES_APPLICATION
            | EventType::EFI_BOOT_SERVICES_DRIVER
            | EventType::EFI_RUNTIME_SERVICES_DRIVER => {
                image_load(data, self.uintn).unwrap_or_else(malformed)
            }
            EventType::IPL => self.ipl(),
            // A NUL-terminated UTF-16 string, or a 16-byte GUID.
            EventType::S_CRTM_VERSION => match utf16_text(data).filter(|_| data.ends_with(&[0, 0]))
            {
                Some(version) => EventContent::CrtmVersion { version },
                None => match <[u8; 16]>::try_from(data) {
                    Ok(guid) => EventContent::CrtmVersion {
                        version: Guid(guid).to_string(),
                    },
                    Err(_) => text_or_raw(),
                },
            },
            EventType::POST_CODE if data.len() == 16 && ascii_text(data).is_none() => {
                blob(data, None).unwrap_or_else(malformed)
            }
            EventType::EFI_PLATFORM_FIRMWARE_BLOB => blob(data, None).unwrap_or_else(malformed),
            EventType::EFI_PLATFORM_FIRMWARE_BLOB2 => {
                let mut r = LeReader::new(data);
                match described(&mut r) {
                    Ok(description) => blob(r.rest(), Some(description)).unwrap_or_else(malformed),
                    Err(e) => malformed(e),
                }
            }
            EventType::EFI_HANDOFF_TABLES => {
                handoff(&mut LeReader::new(data), None, self.uintn).unwrap_or_else(malformed)
            }
            EventType::EFI_HANDOFF_TABLES2 => {
                let mut r = LeReader::new(data);
                described(&mut r)
                    .and_then(|d| handoff(&mut r, Some(d), self.uintn))
                    .unwrap_or_else(malformed)
            }
            EventType::EFI_GPT_EVENT | EventType::EFI_GPT_EVENT2 => {
                gpt(data, self.uintn).unwrap_or_else(malformed)
            }
            EventType::EVENT_TAG => {
                let mut r = LeReader::new(data);
                match (r.u32("tag id"), r.sized_u32("tag data")) {
                    (Ok(id), Ok(tag)) => EventContent::Tagged {
                        id,
                        text: ascii_text(tag),
                    },
                    (Err(e), _) | (_, Err(e)) => malformed(short(e)),
                }
            }
            EventType::NONHOST_INFO if data.starts_with(GCE_NONHOST_INFO) => {
                match data.get(GCE_NONHOST_INFO.len()) {
                    Some(&code) => EventContent::ConfidentialPlatform {
                        platform: "Google Compute Engine",
                        technology: technology(code),
                    },
                    None => malformed("GCE NonHostInfo without a technology byte".into()),
                }
            }
            _ => text_or_raw(),
        }
    }

    /// EV_IPL: GRUB's commands (GRUB's strings in PCR 8 are decoded before the type), systemd's
    /// UTF-16 command line, or other text.
    fn ipl(&self) -> EventContent {
        if let Some(text) = ascii_text(self.data) {
            if let Some(command) = GRUB_PREFIXES
                .iter()
                .find_map(|(prefix, cmdline)| text.strip_prefix(prefix).filter(|_| !cmdline))
            {
                return EventContent::GrubCommand {
                    command: String::from(command),
                };
            }
            return EventContent::Text { text };
        }
        match utf16_text(self.data) {
            Some(text)
                if SYSTEMD_CMDLINE_PCRS.contains(&self.pcr)
                    && !SYSTEMD_DESCRIPTIONS.contains(&text.as_str()) =>
            {
                EventContent::KernelCommandLine {
                    command_line: text,
                    source: CmdlineSource::Systemd,
                }
            }
            Some(text) => EventContent::Text { text },
            None => EventContent::Raw {
                length: self.data.len(),
            },
        }
    }
}

fn no_action(data: &[u8]) -> EventContent {
    if data.starts_with(STARTUP_LOCALITY)
        && let Some(&locality) = data.get(STARTUP_LOCALITY.len())
    {
        return EventContent::StartupLocality { locality };
    }
    let signature = data
        .get(..16.min(data.len()))
        .and_then(|head| ascii_text(head.split(|&b| b == 0).next().unwrap_or_default()));
    if data.starts_with(SPEC_ID_EVENT03.get(..13).unwrap_or_default()) {
        return EventContent::SpecId {
            signature: signature.unwrap_or_default(),
        };
    }
    EventContent::NoAction { signature }
}
