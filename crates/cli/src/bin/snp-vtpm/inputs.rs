//! Reading input files: size-limited before parsing, with clear errors.

use std::io::Read;
use std::path::Path;

use snp_vtpm::{DEFAULT_SIZE_LIMIT, Error};

/// Reads a file (or stdin for `-`), refusing more than the size limit.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, Error> {
    let cannot = |e: std::io::Error| Error::input(format!("cannot read {}: {e}", path.display()));
    let mut bytes = Vec::new();
    let limit = DEFAULT_SIZE_LIMIT as u64 + 1;
    if path == Path::new("-") {
        std::io::stdin()
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(cannot)?;
    } else {
        std::fs::File::open(path)
            .map_err(cannot)?
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(cannot)?;
    }
    if bytes.len() > DEFAULT_SIZE_LIMIT {
        return Err(Error::input(format!(
            "{} is over the {DEFAULT_SIZE_LIMIT}-byte input limit",
            path.display()
        )));
    }
    Ok(bytes)
}

/// A raw 1184-byte SNP report from binary or hex text.
pub(crate) fn raw_report(bytes: Vec<u8>) -> Result<Vec<u8>, Error> {
    if bytes.len() == hcl_parse::snp::SNP_REPORT_SIZE {
        return Ok(bytes);
    }
    let text: String = String::from_utf8_lossy(&bytes)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    match hex::decode(&text) {
        Ok(decoded) if decoded.len() == hcl_parse::snp::SNP_REPORT_SIZE => Ok(decoded),
        _ => Err(Error::input(format!(
            "not a raw SNP report: expected 1184 bytes (binary or hex text), found {} bytes",
            bytes.len()
        ))),
    }
}

/// Parses an RFC 3339 UTC time (`2025-06-01T00:00:00Z`) into Unix seconds.
pub(crate) fn rfc3339(text: &str) -> Result<u64, Error> {
    let bad = |why: &str| {
        Error::input(format!(
            "--at: expected an RFC 3339 UTC time like 2025-06-01T00:00:00Z, found {text:?}: {why}"
        ))
    };
    let trimmed = text.trim();
    let rest = trimmed
        .strip_suffix('Z')
        .or_else(|| trimmed.strip_suffix('z'))
        .or_else(|| trimmed.strip_suffix("+00:00"))
        .ok_or_else(|| bad("UTC only (Z or +00:00)"))?;
    // YYYY-MM-DDTHH:MM:SS, then an optional fraction of a second.
    let (Some(main), Some(fraction)) = (rest.get(..19), rest.get(19..)) else {
        return Err(bad("not of the form YYYY-MM-DDTHH:MM:SS"));
    };
    let fraction_ok = fraction.is_empty()
        || fraction
            .strip_prefix('.')
            .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()));
    let bytes = main.as_bytes();
    let shape_ok = bytes.len() == 19
        && bytes.iter().enumerate().all(|(i, &b)| match i {
            4 | 7 => b == b'-',
            10 => matches!(b, b'T' | b't' | b' '),
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok || !fraction_ok {
        return Err(bad("not of the form YYYY-MM-DDTHH:MM:SS"));
    }
    let number = |range: core::ops::Range<usize>| -> u64 {
        main.get(range)
            .and_then(|digits| digits.parse().ok())
            .unwrap_or(u64::MAX)
    };
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    let (hour, minute, second) = (number(11..13), number(14..16), number(17..19));
    if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) {
        return Err(bad("no such year or month"));
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(bad("no such day in that month"));
    }
    if hour > 23 || minute > 59 {
        return Err(bad("no such hour or minute"));
    }
    if second > 59 {
        // Unix time has no leap seconds: 23:59:60 cannot be said in it.
        return Err(bad("seconds above 59 (leap seconds are not representable)"));
    }
    // Days since the epoch (the inverse of the civil-from-days algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(days * 86_400 + hour * 3600 + minute * 60 + second)
}

fn days_in_month(year: u64, month: u64) -> u64 {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Now, from the system clock (the library never reads a clock; the tool does, here).
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_rfc3339() {
        assert_eq!(super::rfc3339("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(
            super::rfc3339("2025-06-01T00:00:00Z").unwrap(),
            1_748_736_000
        );
        assert_eq!(
            super::rfc3339("2000-02-29T12:30:05+00:00").unwrap(),
            951_827_405
        );
        assert_eq!(
            super::rfc3339("2025-06-01T00:00:00.75Z").unwrap(),
            1_748_736_000
        );
        for impossible in [
            "2025-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "2025-04-31T00:00:00Z",
            "2025-06-00T00:00:00Z",
            "2016-12-31T23:59:60Z",
            "2025-06-01T24:00:00Z",
            "2025-06-01T00:60:00Z",
            "2025-06-01T00:00:00.Z",
            "+025-06-01T00:00:00Z",
            "2025-6-01T00:00:00Z",
            "2025-06-01T00:00:00+01:00",
            "yesterday",
            "",
            "2025-06-01T00:00:0\u{e9}Z",
        ] {
            let err = super::rfc3339(impossible).unwrap_err();
            assert_eq!(err.kind(), snp_vtpm::ErrorKind::Input, "{impossible}");
        }
        assert!(super::rfc3339("2024-02-29T00:00:00Z").is_ok());
        assert!(super::rfc3339("2000-02-29T00:00:00Z").is_ok());
    }
}
