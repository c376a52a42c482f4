//! Whether an event's data is what its digests measured.
//!
//! Replay proves the digests; the data beside them is not covered by anything. For the types
//! whose digest is defined over the data (separators, actions, UEFI variables, GRUB's strings,
//! systemd's command line, ...), checking the data against the digests in every bank says
//! whether the text a relying party reads is the text that was measured. For the others (PE
//! images, firmware blobs, files GRUB read), the digest covers something the log does not
//! carry, and the data is only a description.

use alloc::vec::Vec;

use super::content::EventContent;
use super::decode::{
    CMDLINE_PCRS, GRUB_PREFIXES, GRUB_STRING_PCR, SYSTEMD_CMDLINE_PCRS, grub_string,
};
use super::efi::raw_variable;
use super::text::{ascii_text, utf16_bytes, utf16_text, without_nul_bytes, without_nul_units};
use super::types::{Event, EventType};
use vtpm_quote::HashAlg;

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
        let typed = self.measured_forms();
        let raw = self.raw_forms();
        if typed.is_empty() && raw.is_empty() {
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
        let matches = typed.iter().chain(&raw).any(|form| {
            banks
                .iter()
                .all(|(bank, digest)| bank.hash_parts([form.as_slice()]).as_slice() == *digest)
        });
        match (matches, typed.is_empty()) {
            (true, _) => DataBinding::Matches,
            (false, false) => DataBinding::Contradicts,
            // Only the type-independent forms were tried: the data may describe what was
            // measured rather than be it.
            (false, true) => DataBinding::NotApplicable,
        }
    }

    /// The data itself (and without its NUL terminator), whatever the type, in the PCRs whose
    /// strings a policy reads (7: SecureBoot; 8 and 12: command lines). The type is covered
    /// by no digest: an event relabelled to a type without measured forms still binds to its
    /// data when the data is what was hashed. These forms can show a match, never a
    /// contradiction.
    fn raw_forms(&self) -> Vec<Vec<u8>> {
        if !(self.pcr == 7 || CMDLINE_PCRS.contains(&self.pcr)) || !self.is_measured() {
            return Vec::new();
        }
        let data = self.data;
        let mut forms = Vec::from([data.to_vec()]);
        for trimmed in [without_nul_bytes(data), without_nul_units(data)] {
            if !forms.iter().any(|f| f.as_slice() == trimmed) {
                forms.push(trimmed.to_vec());
            }
        }
        forms
    }

    /// The byte strings the measuring code may have hashed, for types whose digest is defined
    /// over the data; empty for the others.
    fn measured_forms(&self) -> Vec<Vec<u8>> {
        let data = self.data;
        // GRUB's strings in PCR 8, whatever the type (see `Event::content`).
        if self.pcr == GRUB_STRING_PCR
            && self.is_measured()
            && let Some((rest, _)) = grub_string(data)
        {
            let mut with_nul = rest.to_vec();
            with_nul.push(0);
            return Vec::from([rest.to_vec(), with_nul]);
        }
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
            Some(text)
                if SYSTEMD_CMDLINE_PCRS.contains(&self.pcr)
                    && matches!(self.content(), EventContent::KernelCommandLine { .. }) =>
            {
                let bare = utf16_bytes(&text);
                let mut with_nul = bare.clone();
                with_nul.extend_from_slice(&[0, 0]);
                Vec::from([bare, with_nul])
            }
            _ => Vec::new(),
        }
    }
}
