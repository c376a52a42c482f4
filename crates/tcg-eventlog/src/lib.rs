//! The TCG PC Client event log: parse it, replay it against the PCR values a quote covers,
//! and say what booted.
//!
//! | item | job |
//! |---|---|
//! | [`EventLog::parse`] | both formats (SHA-1 legacy, crypto-agile), every length bounds-checked |
//! | [`EventLog::replay`] | per bank, from the start values (zero; all-FF for 17-22; `00..03` in PCR 0 after StartupLocality 3) |
//! | [`EventLog::check_against`] | the replayed values of every PCR the log extends equal the quoted ones; a mismatch names an event ([`Divergence`]) |
//! | [`Event::content`] | the data decoded: UEFI variables and signature databases, boot applications, GRUB, separators, platform events |
//! | [`Event::data_binding`] | whether the data is what the digests measured (an attested log: every event of a compared PCR must be, in the compared banks) |
//! | [`BootSummary`] | secure boot, boot chain, kernel command line |
//! | `compose` (feature `compose`) | writing logs (tests, simulators, fuzz seeds) |
//!
//! Which PCRs are compared, in every bank the log and the quote share: PCRs 0-7 (everything the
//! firmware measures there is logged, and nothing extends them after boot), the command-line
//! PCRs 8 and 12 and the Linux EFI stub's PCR 9 (boot loaders and the kernel's stub measure
//! into them through the firmware; a log without their events could hide a command line), and
//! every other PCR the log extends. A quoted PCR
//! that the log never extends and that is not one of those is not compared (Linux logs IMA's
//! PCR 10 and systemd's userspace measurements elsewhere); a PCR the log extends but the quote
//! does not cover (in a bank it covers) is listed as unquoted, and its events do not count as
//! attested. At least one bank must be shared. A PCR that the OS extends after boot beyond
//! the log's events (systemd-pcrphase into PCR 11 next to systemd-stub's logged
//! measurements) cannot match.
//!
//! What a verified log says ([`VerifiedEventLog::summary`]) is read by PCR, not by event type
//! (which no digest covers), and only from data that hashes to its attested digests: see
//! [`BootSummary`].
//!
//! ```no_run
//! use tcg_eventlog::EventLog;
//! # fn run(log_bytes: &[u8], quote: &vtpm_quote::VerifiedQuote) -> Result<(), tcg_eventlog::Error> {
//! let log = EventLog::parse(log_bytes)?;
//! let verified = log.check_against(quote)?;
//! let summary = verified.summary();
//! println!("secure boot {:?}, kernel {:?}", summary.secure_boot, summary.kernel_cmdlines);
//! # Ok(())
//! # }
//! ```

#![no_std]

extern crate alloc;

mod binding;
#[cfg(any(test, feature = "compose"))]
pub mod compose;
mod content;
mod decode;
mod devpath;
mod display;
mod efi;
mod error;
mod firmware;
mod le;
mod parse;
mod replay;
mod summary;
#[cfg(test)]
mod tests;
mod text;
mod types;

use alloc::vec::Vec;

pub use binding::DataBinding;
pub use content::{CmdlineSource, EventContent};
pub use decode::{CMDLINE_PCRS, KERNEL_STUB_PCR, LOAD_OPTIONS_TAG};
pub use efi::{EfiVariable, SignatureEntry, VariableValue};
pub use error::{Divergence, Error, Result};
pub use replay::{LogDifference, ReplayedBank, ReplayedPcrs, VerifiedEventLog, start_value};
pub use summary::{BOOT_APPLICATIONS_PCR, BootApplication, BootSummary, LoadOptions};
pub use text::{EFI_GLOBAL_VARIABLE, EFI_IMAGE_SECURITY_DATABASE, Guid, SHIM_LOCK};
pub use types::{Event, EventDigest, EventType, LogFormat, SpecIdEvent};

use vtpm_quote::{HashAlg, PcrValues, VerifiedQuote};

/// A parsed event log, borrowing from its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLog<'a> {
    bytes: &'a [u8],
    format: LogFormat,
    spec_id: Option<SpecIdEvent>,
    events: Vec<Event<'a>>,
    startup_locality: Option<u8>,
    banks: Vec<HashAlg>,
}

impl<'a> EventLog<'a> {
    /// Parses a log in either format. The format is crypto-agile when the first record is an
    /// EV_NO_ACTION event carrying "Spec ID Event03", SHA-1 otherwise. Every record must fit;
    /// a measured crypto-agile record must carry a digest for each algorithm the Spec ID event
    /// declares; PCR indices are at most 23; a StartupLocality event (at most one, before any
    /// measurement into PCR 0) must say locality 0 or 3.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let parsed = parse::parse(bytes)?;
        Ok(Self {
            bytes,
            format: parsed.format,
            spec_id: parsed.spec_id,
            events: parsed.events,
            startup_locality: parsed.startup_locality,
            banks: parsed.banks,
        })
    }

    /// The log's bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The record format.
    pub fn format(&self) -> LogFormat {
        self.format
    }

    /// The Spec ID event, when the log starts with one.
    pub fn spec_id(&self) -> Option<&SpecIdEvent> {
        self.spec_id.as_ref()
    }

    /// Every record, in order (no-action events included).
    pub fn events(&self) -> &[Event<'a>] {
        &self.events
    }

    /// The locality of the StartupLocality event, if the log has one.
    pub fn startup_locality(&self) -> Option<u8> {
        self.startup_locality
    }

    /// The banks replayed: the declared algorithms this crate can hash (SHA-1 for a legacy
    /// log).
    pub fn banks(&self) -> &[HashAlg] {
        &self.banks
    }

    /// The PCR values the log replays to, per bank.
    pub fn replay(&self) -> ReplayedPcrs {
        replay::replay(self)
    }

    /// Compares the replay with the PCR values a verified quote covers (see the module
    /// documentation for which PCRs are compared). A mismatch is
    /// [`crate::Error::Mismatch`], naming the earliest event (in log order) that the
    /// rules of [`Divergence`] find for any mismatching PCR.
    pub fn check_against(&self, quote: &VerifiedQuote) -> Result<VerifiedEventLog<'_, 'a>> {
        let mut values = PcrValues::new();
        for bank in quote.pcrs() {
            for (index, value) in &bank.values {
                values
                    .insert(bank.bank, *index, &value.0)
                    .map_err(|e| Error::NotComparable {
                        reason: alloc::format!("quoted PCR {}:{index}: {e}", bank.bank),
                    })?;
            }
        }
        self.check_against_values(&values)
    }

    /// As [`Self::check_against`], with PCR values from elsewhere (expected values, a
    /// reference machine).
    pub fn check_against_values(&self, expected: &PcrValues) -> Result<VerifiedEventLog<'_, 'a>> {
        replay::check(self, expected)
    }

    /// The first event where this log and a reference log (a known-good boot) replay
    /// differently: the first position, counting only the events that change PCR values
    /// (measurements and StartupLocality), whose PCR or digests (in the banks both logs carry)
    /// differ. None when they replay identically.
    pub fn first_difference(&self, reference: &EventLog<'_>) -> Option<LogDifference> {
        replay::first_difference(self, reference)
    }

    /// What the whole log says booted, attested or not (see
    /// [`VerifiedEventLog::summary`] for the attested part only).
    pub fn summary(&self) -> BootSummary {
        summary::summarize(self.events.iter(), |_| self.banks.clone())
    }
}
