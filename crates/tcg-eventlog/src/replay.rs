//! Replaying the log into PCR values, and comparing them with the values a quote covers.

use alloc::format;
use alloc::vec::Vec;

use attest_prims::HexSlice;

use super::EventLog;
use super::binding::DataBinding;
use super::types::Event;
use crate::error::{Divergence, Error, Result};
use vtpm_quote::HashAlg;
use vtpm_quote::{MAX_PCR_INDEX, PcrValues};

const PCRS: usize = MAX_PCR_INDEX as usize + 1;

/// The value a PCR has after TPM2_Startup: all-FF for 17-22 (the dynamic-launch PCRs), the
/// locality in the last byte of PCR 0 when a StartupLocality event says 3, zero otherwise.
pub fn start_value(bank: HashAlg, pcr: u8, startup_locality: Option<u8>) -> Vec<u8> {
    let len = bank.digest_len();
    let mut value = alloc::vec![0u8; len];
    match (pcr, startup_locality) {
        (17..=22, _) => value.fill(0xFF),
        (0, Some(locality)) => {
            if let Some(last) = value.last_mut() {
                *last = locality;
            }
        }
        _ => {}
    }
    value
}

/// PCR n := H(PCR n || digest).
fn extend(bank: HashAlg, value: &[u8], digest: &[u8]) -> Vec<u8> {
    bank.hash_parts([value, digest])
}

/// One bank's replayed values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayedBank {
    bank: HashAlg,
    values: Vec<Vec<u8>>,
    counts: [usize; PCRS],
}

impl ReplayedBank {
    /// The bank.
    pub fn bank(&self) -> HashAlg {
        self.bank
    }

    /// The replayed value of a PCR (its start value when the log never extends it).
    pub fn value(&self, pcr: u8) -> Option<&[u8]> {
        self.values.get(usize::from(pcr)).map(Vec::as_slice)
    }

    /// How many events the log extends into a PCR.
    pub fn event_count(&self, pcr: u8) -> usize {
        self.counts.get(usize::from(pcr)).copied().unwrap_or(0)
    }

    /// (index, value) of every PCR the log extends, ascending.
    pub fn extended(&self) -> impl Iterator<Item = (u8, &[u8])> {
        (0..=MAX_PCR_INDEX).filter_map(|pcr| {
            (self.event_count(pcr) > 0)
                .then(|| self.value(pcr).map(|v| (pcr, v)))
                .flatten()
        })
    }
}

/// The PCR values a log replays to, for every bank it carries that this crate can hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayedPcrs {
    banks: Vec<ReplayedBank>,
}

impl ReplayedPcrs {
    /// Every bank, in the log's order.
    pub fn banks(&self) -> &[ReplayedBank] {
        &self.banks
    }

    /// One bank.
    pub fn bank(&self, bank: HashAlg) -> Option<&ReplayedBank> {
        self.banks.iter().find(|b| b.bank == bank)
    }

    /// One value.
    pub fn get(&self, bank: HashAlg, pcr: u8) -> Option<&[u8]> {
        self.bank(bank).and_then(|b| b.value(pcr))
    }
}

pub(crate) fn replay(log: &EventLog<'_>) -> ReplayedPcrs {
    let banks = log
        .banks()
        .iter()
        .map(|&bank| {
            let mut values: Vec<Vec<u8>> = (0..=MAX_PCR_INDEX)
                .map(|pcr| start_value(bank, pcr, log.startup_locality()))
                .collect();
            let mut counts = [0usize; PCRS];
            for event in log.events().iter().filter(|e| e.is_measured()) {
                let slot = usize::from(event.pcr);
                if let (Some(digest), Some(value), Some(count)) = (
                    event.digest(bank),
                    values.get_mut(slot),
                    counts.get_mut(slot),
                ) {
                    *value = extend(bank, value, digest);
                    *count += 1;
                }
            }
            ReplayedBank {
                bank,
                values,
                counts,
            }
        })
        .collect();
    ReplayedPcrs { banks }
}

/// Which event a mismatch of (bank, pcr) names, and why (see [`Divergence`]).
fn locate(log: &EventLog<'_>, bank: HashAlg, pcr: u8, quoted: &[u8]) -> (usize, Divergence) {
    let events: Vec<(&Event<'_>, &[u8])> = log
        .events()
        .iter()
        .filter(|e| e.is_measured() && e.pcr == pcr)
        .filter_map(|e| e.digest(bank).map(|d| (e, d)))
        .collect();
    let first = events.first().map_or(0, |(e, _)| e.index);
    let mut value = start_value(bank, pcr, log.startup_locality());
    for (event, digest) in &events {
        if value.as_slice() == quoted {
            return (event.index, Divergence::ExtraEvents);
        }
        value = extend(bank, &value, digest);
    }
    events
        .iter()
        .find(|(e, _)| e.data_binding_in(&[bank]) == DataBinding::Contradicts)
        .map_or((first, Divergence::AtOrAfter), |(e, _)| {
            (e.index, Divergence::AlteredEvent)
        })
}

/// A log whose replay matched the values it was compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEventLog<'l, 'a> {
    log: &'l EventLog<'a>,
    compared: Vec<(HashAlg, u8)>,
    unquoted: Vec<(HashAlg, u8)>,
    attested: u32,
}

impl<'l, 'a> VerifiedEventLog<'l, 'a> {
    /// The log.
    pub fn log(&self) -> &'l EventLog<'a> {
        self.log
    }

    /// (bank, PCR) compared and equal: PCRs 0-7 and every other PCR the log extends, where
    /// the quote covers them.
    pub fn compared(&self) -> &[(HashAlg, u8)] {
        &self.compared
    }

    /// (bank, PCR) the log extends but the quote does not cover, in the banks the quote
    /// covers: their events are not attested in that bank. Banks the quote does not cover at
    /// all are not compared and not listed.
    pub fn unquoted(&self) -> &[(HashAlg, u8)] {
        &self.unquoted
    }

    /// Whether a PCR matched in at least one bank (its events are attested).
    pub fn is_attested(&self, pcr: u8) -> bool {
        pcr <= MAX_PCR_INDEX && self.attested & (1 << pcr) != 0
    }

    /// The events of attested PCRs (and the no-action events), in log order.
    pub fn attested_events(&self) -> impl Iterator<Item = &'l Event<'a>> {
        let attested = self.attested;
        self.log
            .events()
            .iter()
            .filter(move |e| !e.is_measured() || attested & (1 << e.pcr) != 0)
    }

    /// The banks in which a PCR's replay matched the quote: the digests that are attested.
    pub fn attested_banks(&self, pcr: u8) -> Vec<HashAlg> {
        attested_banks(&self.compared, pcr)
    }

    /// What booted, from the attested events only, their data judged against the attested
    /// banks' digests (see [`super::BootSummary`]).
    pub fn summary(&self) -> super::BootSummary {
        super::summary::summarize(self.attested_events(), |pcr| self.attested_banks(pcr))
    }
}

fn attested_banks(compared: &[(HashAlg, u8)], pcr: u8) -> Vec<HashAlg> {
    compared
        .iter()
        .filter(|&&(_, p)| p == pcr)
        .map(|&(bank, _)| bank)
        .collect()
}

/// Every measured event of a compared PCR must carry data its attested digests measured:
/// replay proves the digests, and a policy reads the data. An attacker who edits an event's
/// data (or who measures text and then breaks the digest of a bank no quote covers) is
/// refused here instead of having the event skipped.
fn check_data_bindings(log: &EventLog<'_>, compared: &[(HashAlg, u8)]) -> Result<()> {
    for event in log.events().iter().filter(|e| e.is_measured()) {
        let banks = attested_banks(compared, event.pcr);
        if banks.is_empty() || event.data_binding_in(&banks) != DataBinding::Contradicts {
            continue;
        }
        // Name the first attested bank whose digest the data contradicts.
        let Some(bank) = banks
            .iter()
            .copied()
            .find(|&bank| event.data_binding_in(&[bank]) == DataBinding::Contradicts)
            .or_else(|| banks.first().copied())
        else {
            continue;
        };
        return Err(Error::DataContradictsDigest {
            event: event.index,
            pcr: event.pcr,
            event_type: format!("{}", event.event_type),
            bank,
        });
    }
    Ok(())
}

/// The PCRs compared whenever the quote covers them, extended by the log or not: 0-7 (what
/// the firmware measures, all of it logged, never extended after boot), the command-line
/// PCRs 8 and 12 and the kernel stub's PCR 9 (boot loaders and the Linux EFI stub measure into
/// them through the firmware, so their events are in the log; and a log that left them out
/// could hide a command line).
fn always_compared(pcr: u8) -> bool {
    pcr <= 7 || super::decode::CMDLINE_PCRS.contains(&pcr) || pcr == super::decode::KERNEL_STUB_PCR
}

pub(crate) fn check<'l, 'a>(
    log: &'l EventLog<'a>,
    expected: &PcrValues,
) -> Result<VerifiedEventLog<'l, 'a>> {
    let replayed = log.replay();
    let mut compared = Vec::new();
    let mut unquoted = Vec::new();
    let mut mismatch: Option<Error> = None;
    let mut mismatch_event = usize::MAX;
    // Banks the values do not cover at all are not compared (a SHA-256 quote and the log's
    // SHA-1 digests); within a covered bank, a missing PCR is "unquoted".
    let covered = |bank: HashAlg| expected.iter().any(|(b, _, _)| b == bank);
    for bank in replayed.banks().iter().filter(|b| covered(b.bank())) {
        for pcr in 0..=MAX_PCR_INDEX {
            let extended = bank.event_count(pcr) > 0;
            let (Some(value), true) = (bank.value(pcr), extended || always_compared(pcr)) else {
                continue;
            };
            let Some(quoted) = expected.get(bank.bank(), pcr) else {
                if extended {
                    unquoted.push((bank.bank(), pcr));
                }
                continue;
            };
            if quoted == value {
                compared.push((bank.bank(), pcr));
                continue;
            }
            let (event, divergence) = if extended {
                locate(log, bank.bank(), pcr, quoted)
            } else {
                (log.events().len(), Divergence::MissingEvents)
            };
            if event < mismatch_event || mismatch.is_none() {
                mismatch_event = event;
                mismatch = Some(Error::Mismatch {
                    bank: bank.bank(),
                    pcr,
                    event,
                    divergence,
                    quoted: format!("{}", HexSlice(quoted)),
                    replayed: format!("{}", HexSlice(value)),
                });
            }
        }
    }
    if let Some(error) = mismatch {
        return Err(error);
    }
    if compared.is_empty() {
        let banks: Vec<_> = log.banks().iter().map(|b| format!("{b}")).collect();
        return Err(Error::NotComparable {
            reason: if !log.banks().iter().any(|&b| covered(b)) {
                format!(
                    "the values given cover none of the log's banks ({})",
                    banks.join(", ")
                )
            } else {
                format!(
                    "none of the {} PCR values the log replays to (banks: {}) is among the values given",
                    unquoted.len(),
                    banks.join(", ")
                )
            },
        });
    }
    check_data_bindings(log, &compared)?;
    let attested = compared
        .iter()
        .fold(0u32, |mask, &(_, pcr)| mask | (1 << pcr));
    Ok(VerifiedEventLog {
        log,
        compared,
        unquoted,
        attested,
    })
}

/// Where two logs first differ (see [`EventLog::first_difference`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LogDifference {
    /// The event of this log (None: this log ended first).
    pub event: Option<usize>,
    /// The event of the reference log (None: the reference ended first).
    pub reference_event: Option<usize>,
}

/// The events that change PCR values: measurements and StartupLocality.
fn replay_steps<'l, 'a>(log: &'l EventLog<'a>) -> Vec<&'l Event<'a>> {
    log.events()
        .iter()
        .filter(|e| e.is_measured() || e.data.starts_with(super::parse::STARTUP_LOCALITY))
        .collect()
}

pub(crate) fn first_difference(
    log: &EventLog<'_>,
    reference: &EventLog<'_>,
) -> Option<LogDifference> {
    let ours = replay_steps(log);
    let theirs = replay_steps(reference);
    let banks: Vec<HashAlg> = log
        .banks()
        .iter()
        .copied()
        .filter(|b| reference.banks().contains(b))
        .collect();
    let same = |a: &Event<'_>, b: &Event<'_>| {
        a.pcr == b.pcr
            && a.is_measured() == b.is_measured()
            && (a.is_measured() || a.data == b.data)
            && banks.iter().all(|&bank| a.digest(bank) == b.digest(bank))
    };
    (0..ours.len().max(theirs.len())).find_map(|i| {
        let (a, b) = (ours.get(i), theirs.get(i));
        match (a, b) {
            (Some(a), Some(b)) if same(a, b) => None,
            _ => Some(LogDifference {
                event: a.map(|e| e.index),
                reference_event: b.map(|e| e.index),
            }),
        }
    })
}
