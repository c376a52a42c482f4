//! Whether an event's data is what its digests measured.
//!
//! Replay proves the digests; the data beside them is not covered by anything. For the types
//! whose digest is defined over the data (separators, actions, UEFI variables, GRUB's strings,
//! systemd's command line, ...), checking the data against the digests in every bank says
//! whether the text a relying party reads is the text that was measured. For the others (PE
//! images, firmware blobs, files GRUB read), the digest covers something the log does not
//! carry, and the data is only a description.

use alloc::vec::Vec;

use super::decode::{GRUB_PREFIXES, SYSTEMD_CMDLINE_PCRS};
use super::efi::raw_variable;
use super::text::{ascii_text, utf16_bytes, utf16_text};
use super::types::{Event, EventType};
use crate::alg::HashAlg;

/// How an event's data relates to its digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataBinding {
    /// Every digest (of the banks this crate can hash) is the hash of the data, in the form
    /// the measuring code hashes it.
    Matches,
    /// The digests are not the hash of the data: the data (or a digest) was altered, or the
    /// measuring code hashed something else.
    Contradicts,
    /// The digest covers something the log does not carry (an image, a file, a blob), or the
    /// event is not measured.
    NotApplicable,
}

impl Event<'_> {
    /// Whether the data is what the digests of every bank this crate can hash measured (see
    /// [`DataBinding`]). For an attested log, judge by the compared banks only
    /// ([`Self::data_binding_in`]): digests of banks no quote covers prove nothing.
    pub fn data_binding(&self) -> DataBinding {
        self.binding_over(|_| true)
    }

    /// Whether the data is what the digests of `banks` measured; digests of other banks are
    /// ignored. [`DataBinding::NotApplicable`] when the event has no digest in `banks`.
    pub fn data_binding_in(&self, banks: &[HashAlg]) -> DataBinding {
        self.binding_over(|bank| banks.contains(&bank))
    }

    fn binding_over(&self, judged: impl Fn(HashAlg) -> bool) -> DataBinding {
        let candidates = self.measured_forms();
        if candidates.is_empty() {
            return DataBinding::NotApplicable;
        }
        let banks: Vec<_> = self
            .digests
            .iter()
            .filter_map(|d| {
                d.bank()
                    .filter(|&bank| judged(bank))
                    .map(|bank| (bank, d.digest))
            })
            .collect();
        if banks.is_empty() {
            return DataBinding::NotApplicable;
        }
        let matches = candidates.iter().any(|form| {
            banks
                .iter()
                .all(|(bank, digest)| bank.hash_parts([form.as_slice()]).as_slice() == *digest)
        });
        if matches {
            DataBinding::Matches
        } else {
            DataBinding::Contradicts
        }
    }

    /// The byte strings the measuring code may have hashed, for types whose digest is defined
    /// over the data; empty for the others.
    fn measured_forms(&self) -> Vec<Vec<u8>> {
        let data = self.data;
        match self.event_type {
            EventType::SEPARATOR
            | EventType::ACTION
            | EventType::EFI_ACTION
            | EventType::S_CRTM_VERSION
            | EventType::EFI_GPT_EVENT
            | EventType::EFI_HCRTM_EVENT
            | EventType::NONHOST_INFO
            | EventType::EFI_VARIABLE_DRIVER_CONFIG
            | EventType::EFI_VARIABLE_AUTHORITY => Vec::from([data.to_vec()]),
            // edk2 hashes only the variable's data for Boot####/BootOrder; others the whole
            // UEFI_VARIABLE_DATA (as BOOT2 requires).
            EventType::EFI_VARIABLE_BOOT | EventType::EFI_VARIABLE_BOOT2 => {
                let mut forms = Vec::from([data.to_vec()]);
                if let Ok(var) = raw_variable(data) {
                    forms.push(var.data.to_vec());
                }
                forms
            }
            EventType::IPL => self.ipl_forms(),
            _ => Vec::new(),
        }
    }

    /// GRUB hashes the string after its prefix (2.06+ without the NUL, Red Hat builds with
    /// it); systemd hashes the UTF-16 command line with its terminator (older builds without).
    fn ipl_forms(&self) -> Vec<Vec<u8>> {
        if let Some(text) = ascii_text(self.data) {
            return GRUB_PREFIXES
                .iter()
                .find_map(|(prefix, _)| text.strip_prefix(prefix))
                .map(|rest| {
                    let mut with_nul = rest.as_bytes().to_vec();
                    with_nul.push(0);
                    Vec::from([rest.as_bytes().to_vec(), with_nul])
                })
                .unwrap_or_default();
        }
        match utf16_text(self.data) {
            Some(text) if SYSTEMD_CMDLINE_PCRS.contains(&self.pcr) => {
                let bare = utf16_bytes(&text);
                let mut with_nul = bare.clone();
                with_nul.extend_from_slice(&[0, 0]);
                Vec::from([bare, with_nul])
            }
            _ => Vec::new(),
        }
    }
}
