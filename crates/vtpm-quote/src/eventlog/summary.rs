//! What booted, in the terms a relying party's policy uses.

use alloc::string::String;
use alloc::vec::Vec;

use super::binding::DataBinding;
use super::decode::{CMDLINE_PCRS, EventContent};
use super::efi::raw_variable;
use super::text::EFI_GLOBAL_VARIABLE;
use super::types::{Event, EventType, hex_bytes};
use crate::alg::HashAlg;

/// A boot application the firmware loaded (an EV_EFI_BOOT_SERVICES_APPLICATION in PCR 4).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BootApplication {
    /// The event's index.
    pub event: usize,
    /// The file path the image was loaded from, as logged (None for images loaded from
    /// memory, such as a kernel started by GRUB). Not covered by the digest.
    pub path: Option<String>,
    /// The whole device path, as logged.
    pub device_path: Option<String>,
    /// The SHA-256 Authenticode digest of the image (what the PCR attests).
    #[serde(serialize_with = "hex_option")]
    pub sha256: Option<Vec<u8>>,
}

fn hex_option<S: serde::Serializer>(value: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(bytes) => hex_bytes(bytes, s),
        None => s.serialize_none(),
    }
}

/// What a log says booted.
///
/// Read by PCR, not by event type (the type is covered by no digest, so a relabelled event
/// reads the same): the SecureBoot state from every SecureBoot variable in PCR 7, the kernel
/// command lines from every string measurement in the command-line PCRs (8 and 12, see
/// [`CMDLINE_PCRS`]). Only data that hashes to its digests ([`DataBinding::Matches`]; for an
/// attested log, the digests of the banks the quote attests) is believed; events whose data
/// contradicts their digests are left out and listed (an attested log has none: such a log is
/// refused), and events of the command-line PCRs whose digests cover something the log does
/// not carry are listed as opaque. Boot application paths cannot be bound (the digest is of
/// the image): they are the log's description, and the digests are what the quote attests.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BootSummary {
    /// The SecureBoot variable measured in PCR 7: on only when every measurement of it says 1;
    /// off when any says 0, is empty, or does not hash to its digest (a later measurement
    /// cannot turn a measured "off" into "on"). None when no such event is present.
    pub secure_boot: Option<bool>,
    /// Boot applications in load order (shim, GRUB, systemd-boot, a UKI, ...).
    pub boot_chain: Vec<BootApplication>,
    /// Every kernel command line measured (GRUB's `kernel_cmdline` in PCR 8, systemd's UTF-16
    /// command lines in PCR 8 or 12, and any other string a command-line PCR's digest covers),
    /// in log order; text that is not valid UTF-8/UTF-16 is shown with replacement characters.
    /// A policy must judge all of them: whoever can measure one can measure a second.
    pub kernel_cmdlines: Vec<String>,
    /// Events of the command-line PCRs (8 and 12) whose digests cover something the log does
    /// not carry (systemd's credentials and add-ons, or an altered log): what they measured
    /// cannot be read, so a policy on command lines cannot be met while there are any.
    pub opaque_cmdline_events: Vec<usize>,
    /// The confidential-computing technology a platform event names (Google Compute
    /// Engine's EV_NONHOST_INFO), e.g. "AMD SEV-SNP".
    pub confidential_technology: Option<String>,
    /// Events whose data does not hash to their digests (left out of the fields above).
    pub contradicting_events: Vec<usize>,
}

/// Summarises `events`, judging each event's data with `binding`.
pub(crate) fn summarize<'l, 'a: 'l>(
    events: impl Iterator<Item = &'l Event<'a>>,
    binding: impl Fn(&Event<'a>) -> DataBinding,
) -> BootSummary {
    let mut summary = BootSummary::default();
    for event in events.filter(|e| e.is_measured()) {
        let binding = binding(event);
        if binding == DataBinding::Contradicts {
            summary.contradicting_events.push(event.index);
            continue;
        }
        let bound = binding == DataBinding::Matches;
        if event.pcr == 7
            && let Some(enabled) = secure_boot_value(event)
        {
            let on = bound && enabled;
            summary.secure_boot = Some(summary.secure_boot.unwrap_or(true) && on);
            continue;
        }
        if CMDLINE_PCRS.contains(&event.pcr) {
            let content = event.content();
            match (bound, content) {
                (true, EventContent::GrubCommand { .. }) => {}
                (true, EventContent::KernelCommandLine { command_line, .. }) => {
                    summary.kernel_cmdlines.push(command_line);
                }
                (true, _) => summary.kernel_cmdlines.push(lossy_text(event.data)),
                (false, _) => summary.opaque_cmdline_events.push(event.index),
            }
            continue;
        }
        match event.content() {
            EventContent::EfiImage {
                device_path,
                file_path,
                ..
            } if event.pcr == 4 && event.event_type == EventType::EFI_BOOT_SERVICES_APPLICATION => {
                summary.boot_chain.push(BootApplication {
                    event: event.index,
                    path: file_path,
                    device_path,
                    sha256: event.digest(HashAlg::Sha256).map(<[u8]>::to_vec),
                });
            }
            EventContent::ConfidentialPlatform { technology, .. } if bound => {
                summary.confidential_technology = Some(technology);
            }
            _ => {}
        }
    }
    summary
}

/// Whether an event's data is the SecureBoot variable (whatever the event's type), and
/// whether it says enabled.
fn secure_boot_value(event: &Event<'_>) -> Option<bool> {
    let variable = raw_variable(event.data).ok()?;
    (variable.guid == EFI_GLOBAL_VARIABLE && variable.name == "SecureBoot")
        .then_some(variable.data == [1])
}

/// A string measurement as text: UTF-8, else UTF-16 (up to its first NUL), else UTF-8 with
/// replacement characters.
fn lossy_text(data: &[u8]) -> String {
    let end = data
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |last| last + 1);
    let trimmed = data.get(..end).unwrap_or_default();
    if let Ok(text) = core::str::from_utf8(trimmed) {
        return String::from(text);
    }
    if data.len().is_multiple_of(2) {
        let units = data
            .chunks_exact(2)
            .map(|pair| match pair {
                [low, high] => u16::from_le_bytes([*low, *high]),
                _ => 0,
            })
            .take_while(|&unit| unit != 0);
        return char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect();
    }
    String::from_utf8_lossy(trimmed).into_owned()
}
