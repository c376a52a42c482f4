//! Why an event log was refused: malformed, not replaying to the quote, or carrying data its
//! attested digests contradict.

use alloc::string::String;

use vtpm_quote::HashAlg;

use core::fmt;

/// Why an event log was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The TCG event log is malformed.
    #[error("event log, event {event} at byte {offset}: {reason}")]
    Malformed {
        /// Index of the record being read.
        event: usize,
        /// Byte offset of that record.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// A PCR the event log extends replays to another value than the quoted one.
    #[error(
        "event log: PCR {bank}:{pcr} replays to {replayed}, the quote says {quoted}; first divergent event: {event} ({divergence})"
    )]
    Mismatch {
        /// Bank.
        bank: HashAlg,
        /// PCR index.
        pcr: u8,
        /// The event the divergence is attributed to (see [`Divergence`]).
        event: usize,
        /// How that event was found.
        divergence: Divergence,
        /// The quoted value (hex).
        quoted: String,
        /// The replayed value (hex).
        replayed: String,
    },
    /// An event of an attested PCR carries data that does not hash to its digest in a bank the
    /// quote attests: the text a policy would read is not what was measured.
    #[error(
        "event log: event {event} ({event_type}, PCR {pcr}) carries data that does not hash to its {bank} digest, which the quote attests: the data was altered after it was measured"
    )]
    DataContradictsDigest {
        /// The event's index.
        event: usize,
        /// Its PCR.
        pcr: u8,
        /// Its type, by name.
        event_type: String,
        /// The attested bank whose digest the data contradicts.
        bank: HashAlg,
    },
    /// The event log and the quote have no (bank, PCR) in common to compare.
    #[error("event log: cannot be compared with the quote: {reason}")]
    NotComparable {
        /// Why.
        reason: String,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// How the event a mismatch names was found. Final PCR values cannot say which event went
/// wrong, so the rules are, for the mismatching PCR, in this order:
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Divergence {
    /// 1. The PCR's events before the named one replay exactly to the quoted value: the named
    ///    event and those after it are not in the quote (the log was read after more events
    ///    were measured, or events were added to it).
    ExtraEvents,
    /// 2. The named event is the PCR's first event whose data does not hash to its digests
    ///    ([`DataBinding::Contradicts`](crate::DataBinding::Contradicts)): it, or its digest, was altered.
    AlteredEvent,
    /// 3. Neither: the named event is the PCR's first event, and the divergence is at it or
    ///    after it (compare with a reference log, [`EventLog::first_difference`](crate::EventLog::first_difference), to find it).
    AtOrAfter,
    /// A PCR that is always compared (0-9, 12) and that the log never extends was extended:
    /// the log lacks its events. The named event is one past the log's last.
    MissingEvents,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ExtraEvents => {
                "the events before it replay to the quoted value: it and those after it are not in the quote"
            }
            Self::AlteredEvent => "its data does not hash to its digest: it was altered",
            Self::AtOrAfter => {
                "the first event of this PCR: the divergence is at or after it"
            }
            Self::MissingEvents => {
                "the end of the log: the quote shows this PCR extended, the log has no event for it"
            }
        })
    }
}
