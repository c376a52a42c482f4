//! What booted, in the terms a relying party's policy uses.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::binding::DataBinding;
use super::content::EventContent;
use super::decode::{CMDLINE_PCRS, KERNEL_STUB_PCR, LOAD_OPTIONS_TAG, loader_arguments};
use super::efi::raw_variable;
use super::text::{EFI_GLOBAL_VARIABLE, lossy_text, utf16_bytes};
use super::types::{Event, EventType, hex_bytes};
use vtpm_quote::HashAlg;

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

/// The PCR the firmware measures boot applications into (`EV_EFI_BOOT_SERVICES_APPLICATION`).
pub const BOOT_APPLICATIONS_PCR: u8 = 4;

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
    /// The SecureBoot variable the firmware measured in PCR 7, from the events before PCR 7's
    /// separator (what the OS extends later cannot change the firmware's state): on only when
    /// every such measurement of it says 1. None (unknown) when there is none, or when any
    /// event of PCR 7 before the separator does not hash to its digest (a replaced "off"
    /// could hide behind it).
    pub secure_boot: Option<bool>,
    /// Boot applications in load order (shim, GRUB, systemd-boot, a UKI, ...).
    pub boot_chain: Vec<BootApplication>,
    /// Events of PCR 4 that are no boot application and whose data is not what their digests
    /// hashed: what they measured cannot be read (it may be an image under another type), so a
    /// policy on boot images cannot be met while there are any.
    pub opaque_boot_events: Vec<usize>,
    /// Every kernel command line measured (GRUB's `kernel_cmdline` in PCR 8, systemd's UTF-16
    /// command lines in PCR 8 or 12, and any other string a command-line PCR's digest covers),
    /// in log order; text that is not valid UTF-8/UTF-16 is shown with replacement characters.
    /// A policy must judge all of them: whoever can measure one can measure a second.
    pub kernel_cmdlines: Vec<String>,
    /// Events of the command-line PCRs (8 and 12) whose digests cover something the log does
    /// not carry (systemd's credentials and add-ons, or an altered log): what they measured
    /// cannot be read, so a policy on command lines cannot be met while there are any.
    pub opaque_cmdline_events: Vec<usize>,
    /// The Linux EFI stub's measurements of the load options it was started with
    /// (`LOADED_IMAGE::LoadOptions` in PCR 9): the kernel's own record of its command line,
    /// and whether it equals one of `kernel_cmdlines` (as is, or after GRUB's `BOOT_IMAGE=`).
    pub kernel_load_options: Vec<LoadOptions>,
    /// The confidential-computing technology a platform event names (Google Compute
    /// Engine's EV_NONHOST_INFO), e.g. "AMD SEV-SNP".
    pub confidential_technology: Option<String>,
    /// Events whose data does not hash to their digests (left out of the fields above).
    pub contradicting_events: Vec<usize>,
}

/// A measurement of the kernel's load options (see [`BootSummary::kernel_load_options`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LoadOptions {
    /// The event's index.
    pub event: usize,
    /// Whether its digest is that of one of the measured command lines, in UTF-16 as the
    /// kernel received it. When false, the kernel ran with a command line no boot loader's
    /// measurement shows.
    pub matches_a_cmdline: bool,
}

/// Summarises `events`, judging each event's data against the digests of the banks
/// `banks_of(pcr)` names (every bank for a whole log; the attested ones for a verified log).
pub(crate) fn summarize<'l, 'a: 'l>(
    events: impl Iterator<Item = &'l Event<'a>>,
    banks_of: impl Fn(u8) -> Vec<HashAlg>,
) -> BootSummary {
    let mut summary = BootSummary::default();
    let mut secure_boot = SecureBootVote::default();
    let mut load_options = Vec::new();
    for event in events.filter(|e| e.is_measured()) {
        let banks = banks_of(event.pcr);
        let binding = event.data_binding_in(&banks);
        if binding == DataBinding::Contradicts {
            summary.contradicting_events.push(event.index);
            continue;
        }
        let bound = binding == DataBinding::Matches;
        if event.pcr == 7 {
            secure_boot.count(event, bound);
            continue;
        }
        if event.pcr == KERNEL_STUB_PCR && is_load_options(event) {
            load_options.push((event, banks));
            continue;
        }
        if CMDLINE_PCRS.contains(&event.pcr) {
            let content = event.content();
            match (bound, content) {
                (true, EventContent::GrubCommand { command }) => {
                    if let Some(arguments) = loader_arguments(&command) {
                        summary.kernel_cmdlines.push(String::from(arguments));
                    }
                }
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
            } if event.pcr == BOOT_APPLICATIONS_PCR
                && event.event_type == EventType::EFI_BOOT_SERVICES_APPLICATION =>
            {
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
            // The type is covered by no digest: a boot application relabelled as anything else
            // must not drop out of the chain unseen.
            _ if event.pcr == BOOT_APPLICATIONS_PCR && !bound => {
                summary.opaque_boot_events.push(event.index);
            }
            _ => {}
        }
    }
    summary.secure_boot = secure_boot.verdict();
    // One command line can be measured twice (GRUB's `linux` command and its
    // `kernel_cmdline`): list it once.
    let mut seen = alloc::collections::BTreeSet::new();
    summary
        .kernel_cmdlines
        .retain(|cmdline| seen.insert(cmdline.clone()));
    let mut banks: Vec<HashAlg> = Vec::new();
    for bank in load_options.iter().flat_map(|(_, banks)| banks.iter()) {
        if !banks.contains(bank) {
            banks.push(*bank);
        }
    }
    let forms = if load_options.is_empty() {
        LoadOptionsForms::new(&[], &[])
    } else {
        LoadOptionsForms::new(&summary.kernel_cmdlines, &banks)
    };
    summary.kernel_load_options = load_options
        .into_iter()
        .map(|(event, banks)| LoadOptions {
            event: event.index,
            matches_a_cmdline: forms.matches(event, &banks),
        })
        .collect();
    summary
}

/// The firmware's SecureBoot measurements: the PCR 7 events before PCR 7's separator.
#[derive(Default)]
struct SecureBootVote {
    separator_seen: bool,
    /// Every SecureBoot value seen (bound and enabled).
    values: Vec<bool>,
    /// An event before the separator whose data is not what was hashed.
    unbound: bool,
}

impl SecureBootVote {
    fn count(&mut self, event: &Event<'_>, bound: bool) {
        if self.separator_seen {
            return;
        }
        // The separator by its content (its type is covered by no digest).
        if bound && matches!(event.data, [0, 0, 0, 0] | [0xFF, 0xFF, 0xFF, 0xFF]) {
            self.separator_seen = true;
            return;
        }
        self.unbound |= !bound;
        if let Some(enabled) = secure_boot_value(event) {
            self.values.push(bound && enabled);
        }
    }

    fn verdict(&self) -> Option<bool> {
        if !self.separator_seen || self.unbound || self.values.is_empty() {
            return None;
        }
        Some(self.values.iter().all(|&on| on))
    }
}

/// Whether an event's data is the SecureBoot variable (whatever the event's type), and
/// whether it says enabled.
fn secure_boot_value(event: &Event<'_>) -> Option<bool> {
    let variable = raw_variable(event.data).ok()?;
    (variable.guid == EFI_GLOBAL_VARIABLE && variable.name == "SecureBoot")
        .then_some(variable.data == [1])
}

/// The Linux EFI stub's load-options event: a tagged event with [`LOAD_OPTIONS_TAG`].
fn is_load_options(event: &Event<'_>) -> bool {
    event.event_type == EventType::EVENT_TAG
        && matches!(event.data, [a, b, c, d, ..] if u32::from_le_bytes([*a, *b, *c, *d]) == LOAD_OPTIONS_TAG)
}

/// The digests of every measured command line as the kernel's load options (UTF-16LE, as is
/// or after GRUB's `BOOT_IMAGE=`, with or without a terminator), per bank, computed once: each
/// load-options event is then a look-up, not a hash per command line.
struct LoadOptionsForms {
    digests: Vec<(HashAlg, FormsByDigest)>,
}

/// A bank's digest of each form -> the forms with that digest.
type FormsByDigest = BTreeMap<Vec<u8>, Vec<usize>>;

impl LoadOptionsForms {
    fn new(cmdlines: &[String], banks: &[HashAlg]) -> Self {
        let mut forms = Vec::new();
        for cmdline in cmdlines {
            for text in [cmdline.clone(), format!("BOOT_IMAGE={cmdline}")] {
                let bare = utf16_bytes(&text);
                let mut with_nul = bare.clone();
                with_nul.extend_from_slice(&[0, 0]);
                forms.push(bare);
                forms.push(with_nul);
            }
        }
        let digests = banks
            .iter()
            .map(|&bank| {
                let mut table = FormsByDigest::new();
                for (i, form) in forms.iter().enumerate() {
                    table
                        .entry(bank.hash_parts([form.as_slice()]))
                        .or_default()
                        .push(i);
                }
                (bank, table)
            })
            .collect();
        Self { digests }
    }

    /// Whether the event's digests in `banks` are all the hash of one form.
    fn matches(&self, event: &Event<'_>, banks: &[HashAlg]) -> bool {
        let mut candidates: Option<Vec<usize>> = None;
        for &bank in banks {
            let (Some(digest), Some((_, table))) = (
                event.digest(bank),
                self.digests.iter().find(|(b, _)| *b == bank),
            ) else {
                return false;
            };
            let found = table.get(digest).cloned().unwrap_or_default();
            candidates = Some(match candidates {
                None => found,
                Some(previous) => previous.into_iter().filter(|i| found.contains(i)).collect(),
            });
        }
        candidates.is_some_and(|found| !found.is_empty())
    }
}
