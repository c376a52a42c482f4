//! Reading the two record formats, with every length checked against what is left.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::le::{LeReader, Short};
use super::types::{Event, EventDigest, EventType, LogFormat, SpecIdEvent};
use crate::error::{Error, Result};
use vtpm_quote::HashAlg;
use vtpm_quote::MAX_PCR_INDEX;

/// The signature of a crypto-agile log's Spec ID event.
pub(crate) const SPEC_ID_EVENT03: &[u8; 16] = b"Spec ID Event03\0";
const SPEC_ID_PREFIX: &[u8] = b"Spec ID Event";
/// The signature of the StartupLocality no-action event.
pub(crate) const STARTUP_LOCALITY: &[u8; 16] = b"StartupLocality\0";
const SHA1_LEN: usize = 20;
/// More algorithms than any TPM has banks (HASH_COUNT); bounds the Spec ID event.
const MAX_ALGORITHMS: u32 = 16;
/// sizeof(UINTN) when the log does not say (x86-64 firmware).
const DEFAULT_UINTN: usize = 8;

/// What the parser produces.
pub(crate) struct Parsed<'a> {
    pub format: LogFormat,
    pub spec_id: Option<SpecIdEvent>,
    pub events: Vec<Event<'a>>,
    pub startup_locality: Option<u8>,
    pub banks: Vec<HashAlg>,
}

pub(crate) fn bad(event: usize, offset: usize, reason: impl Into<String>) -> Error {
    Error::Malformed {
        event,
        offset,
        reason: reason.into(),
    }
}

pub(crate) fn parse(bytes: &[u8]) -> Result<Parsed<'_>> {
    if bytes.is_empty() {
        return Err(bad(0, 0, "the log is empty"));
    }
    let mut r = LeReader::new(bytes);
    let mut first = sha1_record(&mut r, 0, DEFAULT_UINTN)?;
    let spec_id = spec_id_event(&first)?;
    let crypto_agile = spec_id
        .as_ref()
        .is_some_and(|s| s.signature == "Spec ID Event03");
    let uintn = spec_id
        .as_ref()
        .map_or(DEFAULT_UINTN, |s| usize::from(s.uintn_size) * 4);
    first.uintn = uintn;
    let algorithms: Vec<(u16, u16)> = spec_id
        .as_ref()
        .map(|s| s.algorithms.clone())
        .unwrap_or_default();
    let mut events = Vec::from([first]);
    while !r.is_empty() {
        let index = events.len();
        let event = if crypto_agile {
            event2(&mut r, index, &algorithms, uintn)?
        } else {
            sha1_record(&mut r, index, uintn)?
        };
        events.push(event);
    }
    let startup_locality = startup_locality(&events)?;
    let (format, banks) = if crypto_agile {
        let banks = algorithms
            .iter()
            .filter_map(|&(id, _)| HashAlg::from_tpm(id))
            .collect();
        (LogFormat::CryptoAgile, banks)
    } else {
        (LogFormat::Sha1, Vec::from([HashAlg::Sha1]))
    };
    Ok(Parsed {
        format,
        spec_id,
        events,
        startup_locality,
        banks,
    })
}

fn pcr_index(value: u32, index: usize, offset: usize) -> Result<u8> {
    u8::try_from(value)
        .ok()
        .filter(|&pcr| pcr <= MAX_PCR_INDEX)
        .ok_or_else(|| {
            bad(
                index,
                offset,
                format!("PCR index {value} is above {MAX_PCR_INDEX}"),
            )
        })
}

/// TCG_PCClientPCREvent: PCR, type, one SHA-1 digest, sized data.
fn sha1_record<'a>(r: &mut LeReader<'a>, index: usize, uintn: usize) -> Result<Event<'a>> {
    let offset = r.pos();
    let short = |s: Short| bad(index, offset, format!("{s}"));
    let pcr = r.u32("PCR index").map_err(short)?;
    let event_type = EventType(r.u32("event type").map_err(short)?);
    let digest = r.take(SHA1_LEN, "SHA-1 digest").map_err(short)?;
    let data = r.sized_u32("event data").map_err(short)?;
    Ok(Event {
        index,
        offset,
        pcr: pcr_index(pcr, index, offset)?,
        event_type,
        digests: Vec::from([EventDigest {
            algorithm: HashAlg::Sha1.tpm_id(),
            digest,
        }]),
        data,
        uintn,
    })
}

/// TCG_PCR_EVENT2: PCR, type, TPML_DIGEST_VALUES sized by the Spec ID event, sized data.
fn event2<'a>(
    r: &mut LeReader<'a>,
    index: usize,
    algorithms: &[(u16, u16)],
    uintn: usize,
) -> Result<Event<'a>> {
    let offset = r.pos();
    let short = |s: Short| bad(index, offset, format!("{s}"));
    let pcr = r.u32("PCR index").map_err(short)?;
    let event_type = EventType(r.u32("event type").map_err(short)?);
    let count = r.u32("digest count").map_err(short)?;
    if usize::try_from(count).map_or(true, |c| c > algorithms.len()) {
        return Err(bad(
            index,
            offset,
            format!(
                "{count} digests, but the Spec ID event declares {} algorithms",
                algorithms.len()
            ),
        ));
    }
    let mut digests: Vec<EventDigest<'a>> = Vec::new();
    for _ in 0..count {
        let algorithm = r.u16("digest algorithm").map_err(short)?;
        let size = algorithms
            .iter()
            .find(|(id, _)| *id == algorithm)
            .map(|&(_, size)| usize::from(size))
            .ok_or_else(|| {
                bad(
                    index,
                    offset,
                    format!(
                        "digest algorithm {algorithm:#06x} is not declared in the Spec ID event"
                    ),
                )
            })?;
        if digests.iter().any(|d| d.algorithm == algorithm) {
            return Err(bad(
                index,
                offset,
                format!("two digests of algorithm {algorithm:#06x}"),
            ));
        }
        let digest = r.take(size, "digest").map_err(short)?;
        digests.push(EventDigest { algorithm, digest });
    }
    let data = r.sized_u32("event data").map_err(short)?;
    if event_type != EventType::NO_ACTION && digests.len() != algorithms.len() {
        return Err(bad(
            index,
            offset,
            format!(
                "a measured event must carry a digest for each of the {} algorithms of the Spec ID event; this one carries {}",
                algorithms.len(),
                digests.len()
            ),
        ));
    }
    Ok(Event {
        index,
        offset,
        pcr: pcr_index(pcr, index, offset)?,
        event_type,
        digests,
        data,
        uintn,
    })
}

/// The Spec ID event, when the first record is one: a crypto-agile one ("Spec ID Event03")
/// must be well formed; an older one that is not is kept as a plain no-action event.
fn spec_id_event(first: &Event<'_>) -> Result<Option<SpecIdEvent>> {
    if first.event_type != EventType::NO_ACTION || !first.data.starts_with(SPEC_ID_PREFIX) {
        return Ok(None);
    }
    let parsed = parse_spec_id(first);
    if first.data.starts_with(SPEC_ID_EVENT03) {
        parsed.map(Some)
    } else {
        Ok(parsed.ok())
    }
}

/// TCG_EfiSpecIDEventStruct (or the 1.2-era structure, which has no algorithm list).
fn parse_spec_id(first: &Event<'_>) -> Result<SpecIdEvent> {
    let fail = |reason: String| bad(0, 0, format!("Spec ID event: {reason}"));
    let short = |s: Short| fail(format!("{s}"));
    let mut r = LeReader::new(first.data);
    let signature: [u8; 16] = r.array("signature").map_err(short)?;
    let crypto_agile = &signature == SPEC_ID_EVENT03;
    let text: String = signature
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| char::from(b))
        .collect();
    let platform_class = r.u32("platform class").map_err(short)?;
    let spec_version_minor = r.u8("spec version").map_err(short)?;
    let spec_version_major = r.u8("spec version").map_err(short)?;
    let spec_errata = r.u8("spec errata").map_err(short)?;
    let uintn_size = r.u8("UINTN size").map_err(short)?;
    if !matches!(uintn_size, 1 | 2) {
        return Err(fail(format!(
            "UINTN size {uintn_size} (units of 4 bytes): expected 1 or 2"
        )));
    }
    let mut algorithms = Vec::new();
    if crypto_agile {
        if first.pcr != 0 {
            return Err(fail(format!("PCR index {}: expected 0", first.pcr)));
        }
        let count = r.u32("algorithm count").map_err(short)?;
        if count == 0 || count > MAX_ALGORITHMS {
            return Err(fail(format!(
                "{count} algorithms: expected 1 to {MAX_ALGORITHMS}"
            )));
        }
        for _ in 0..count {
            let id = r.u16("algorithm id").map_err(short)?;
            let size = r.u16("digest size").map_err(short)?;
            let expected = HashAlg::from_tpm(id).map(HashAlg::digest_len);
            match expected {
                Some(len) if len != usize::from(size) => {
                    return Err(fail(format!(
                        "algorithm {id:#06x} has {len}-byte digests, the event says {size}"
                    )));
                }
                None if size == 0 || size > 64 => {
                    return Err(fail(format!(
                        "algorithm {id:#06x}: digest size {size} outside 1-64"
                    )));
                }
                _ => {}
            }
            if algorithms.iter().any(|&(known, _)| known == id) {
                return Err(fail(format!("algorithm {id:#06x} declared twice")));
            }
            algorithms.push((id, size));
        }
    }
    let vendor_len = r.u8("vendor info size").map_err(short)?;
    let vendor_info = r
        .take(usize::from(vendor_len), "vendor info")
        .map_err(short)?
        .to_vec();
    if !r.is_empty() {
        return Err(fail(format!(
            "{} bytes after the vendor information",
            r.remaining()
        )));
    }
    Ok(SpecIdEvent {
        signature: text,
        platform_class,
        spec_version_major,
        spec_version_minor,
        spec_errata,
        uintn_size,
        algorithms,
        vendor_info,
    })
}

/// The locality of the StartupLocality event, checked: at most one, before any measurement
/// into PCR 0, locality 0 or 3.
fn startup_locality(events: &[Event<'_>]) -> Result<Option<u8>> {
    let mut found = None;
    let mut pcr0_measured = false;
    for event in events {
        if event.is_measured() {
            pcr0_measured |= event.pcr == 0;
            continue;
        }
        if !event.data.starts_with(STARTUP_LOCALITY) {
            continue;
        }
        let fail = |reason: String| bad(event.index, event.offset, reason);
        let locality = match event.data {
            [_, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, locality] => *locality,
            _ => {
                return Err(fail(format!(
                    "StartupLocality event of {} bytes: expected 17",
                    event.data.len()
                )));
            }
        };
        if found.is_some() {
            return Err(fail("a second StartupLocality event".into()));
        }
        if pcr0_measured {
            return Err(fail(
                "StartupLocality event after a measurement into PCR 0".into(),
            ));
        }
        if !matches!(locality, 0 | 3) {
            return Err(fail(format!(
                "StartupLocality {locality}: TPM2_Startup runs at locality 0 or 3 (H-CRTM logs are not supported)"
            )));
        }
        found = Some(locality);
    }
    Ok(found)
}
