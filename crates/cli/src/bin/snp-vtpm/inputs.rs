//! Reading input files: size-limited before parsing, with clear errors.

use std::io::Read;
use std::path::Path;

use snp_vtpm::{DEFAULT_SIZE_LIMIT, Error};

/// Reads a file (or stdin for `-`), refusing more than the size limit.
pub fn read(path: &Path) -> Result<Vec<u8>, Error> {
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
pub fn raw_report(bytes: Vec<u8>) -> Result<Vec<u8>, Error> {
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
pub fn rfc3339(text: &str) -> Result<u64, Error> {
    let bad = || {
        Error::input(format!(
            "--at: expected an RFC 3339 UTC time like 2025-06-01T00:00:00Z, found {text}"
        ))
    };
    let text = text.trim();
    let text = text
        .strip_suffix('Z')
        .or_else(|| text.strip_suffix("+00:00"))
        .ok_or_else(bad)?;
    let (date, time) = text.split_once(['T', ' ']).ok_or_else(bad)?;
    let numbers = |part: &str, sep: char| -> Result<Vec<u64>, Error> {
        part.split(sep)
            .map(|n| {
                n.split('.')
                    .next()
                    .unwrap_or(n)
                    .parse::<u64>()
                    .map_err(|_| bad())
            })
            .collect()
    };
    let (d, t) = (numbers(date, '-')?, numbers(time, ':')?);
    let [year, month, day] = <[u64; 3]>::try_from(d).map_err(|_| bad())?;
    let [hour, minute, second] = <[u64; 3]>::try_from(t).map_err(|_| bad())?;
    let valid = (1970..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second < 61;
    if !valid {
        return Err(bad());
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

/// Now, from the system clock (the library never reads a clock; the tool does, here).
pub fn now() -> u64 {
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
        assert!(super::rfc3339("2025-13-01T00:00:00Z").is_err());
        assert!(super::rfc3339("yesterday").is_err());
    }
}
