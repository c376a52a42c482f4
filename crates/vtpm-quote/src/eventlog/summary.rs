//! What booted, in the terms a relying party's policy uses.

use alloc::string::String;
use alloc::vec::Vec;

use super::binding::DataBinding;
use super::decode::EventContent;
use super::efi::VariableValue;
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
/// Built from events whose data is bound to their digests where that is possible: the
/// SecureBoot state and the kernel command lines come only from events whose data hashes to
/// their digests ([`DataBinding::Matches`]; for an attested log, the digests of the banks the
/// quote attests); events whose data contradicts their digests are left out and listed (an
/// attested log has none: such a log is refused). Boot application paths cannot be bound (the
/// digest is of the image): they are the log's description, and the digests are what the
/// quote attests.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BootSummary {
    /// The SecureBoot variable measured in PCR 7 (EV_EFI_VARIABLE_DRIVER_CONFIG): on only when
    /// every such measurement says 1; off when any says 0 or is empty (a later measurement
    /// cannot turn a measured "off" into "on"). None when no such event is present and bound.
    pub secure_boot: Option<bool>,
    /// Boot applications in load order (shim, GRUB, systemd-boot, a UKI, ...).
    pub boot_chain: Vec<BootApplication>,
    /// Every kernel command line measured (GRUB's `kernel_cmdline`, or systemd's UTF-16 load
    /// options in PCR 8 or 12), in log order. A policy must judge all of them: whoever can
    /// measure one command line can measure a second.
    pub kernel_cmdlines: Vec<String>,
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
    for event in events {
        let binding = binding(event);
        if binding == DataBinding::Contradicts {
            summary.contradicting_events.push(event.index);
            continue;
        }
        let bound = binding == DataBinding::Matches;
        match event.content() {
            EventContent::EfiVariable(var)
                if bound
                    && event.pcr == 7
                    && event.event_type == EventType::EFI_VARIABLE_DRIVER_CONFIG
                    && var.guid == EFI_GLOBAL_VARIABLE
                    && var.name == "SecureBoot" =>
            {
                let enabled = matches!(var.value, VariableValue::Flag { enabled: true });
                summary.secure_boot = Some(summary.secure_boot.unwrap_or(true) && enabled);
            }
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
            EventContent::KernelCommandLine { command_line, .. } if bound => {
                summary.kernel_cmdlines.push(command_line);
            }
            EventContent::ConfidentialPlatform { technology, .. } if bound => {
                summary.confidential_technology = Some(technology);
            }
            _ => {}
        }
    }
    summary
}
