//! Time as a value: verification never reads a clock, the caller passes the time.

use core::fmt;

/// Seconds since the Unix epoch (UTC), as the caller states it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct UnixTime(pub u64);

impl UnixTime {
    /// From seconds since the epoch.
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs)
    }

    /// Seconds since the epoch.
    pub const fn as_secs(self) -> u64 {
        self.0
    }

    /// Parses an RFC 3339 time in UTC (`2025-06-01T00:00:00Z`, `+00:00` also; a fraction of a
    /// second is allowed and dropped), as `--at` and Intel's collateral dates are written. The
    /// error says what is wrong.
    pub fn parse_rfc3339(text: &str) -> Result<Self, &'static str> {
        let trimmed = text.trim();
        let rest = trimmed
            .strip_suffix('Z')
            .or_else(|| trimmed.strip_suffix('z'))
            .or_else(|| trimmed.strip_suffix("+00:00"))
            .ok_or("UTC only (Z or +00:00)")?;
        // YYYY-MM-DDTHH:MM:SS, then an optional fraction of a second.
        let (Some(main), Some(fraction)) = (rest.get(..19), rest.get(19..)) else {
            return Err("not of the form YYYY-MM-DDTHH:MM:SS");
        };
        let fraction_ok = fraction.is_empty()
            || fraction.strip_prefix('.').is_some_and(|digits| {
                !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
            });
        let bytes = main.as_bytes();
        let shape_ok = bytes.len() == 19
            && bytes.iter().enumerate().all(|(i, &b)| match i {
                4 | 7 => b == b'-',
                10 => matches!(b, b'T' | b't' | b' '),
                13 | 16 => b == b':',
                _ => b.is_ascii_digit(),
            });
        if !shape_ok || !fraction_ok {
            return Err("not of the form YYYY-MM-DDTHH:MM:SS");
        }
        let number = |range: core::ops::Range<usize>| -> u64 {
            main.get(range)
                .and_then(|digits| digits.parse().ok())
                .unwrap_or(u64::MAX)
        };
        let (year, month, day) = (number(0..4), number(5..7), number(8..10));
        let (hour, minute, second) = (number(11..13), number(14..16), number(17..19));
        if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) {
            return Err("no such year or month");
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err("no such day in that month");
        }
        if hour > 23 || minute > 59 {
            return Err("no such hour or minute");
        }
        if second > 59 {
            // Unix time has no leap seconds: 23:59:60 cannot be said in it.
            return Err("seconds above 59 (leap seconds are not representable)");
        }
        // Days since the epoch (the inverse of the civil-from-days algorithm).
        let y = if month <= 2 { year - 1 } else { year };
        let era = y / 400;
        let yoe = y - era * 400;
        let mp = (month + 9) % 12;
        let doy = (153 * mp + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        Ok(Self(days * 86_400 + hour * 3600 + minute * 60 + second))
    }
}

impl fmt::Display for UnixTime {
    /// RFC 3339 in UTC, e.g. `2024-05-01T12:00:00Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0;
        let days = secs / 86_400;
        let rem = secs % 86_400;
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        )
    }
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

/// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's civil-from-days algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn parses_rfc3339() {
        let secs = |text| UnixTime::parse_rfc3339(text).map(UnixTime::as_secs);
        assert_eq!(secs("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(secs("2025-06-01T00:00:00Z"), Ok(1_748_736_000));
        assert_eq!(secs("2000-02-29T12:30:05+00:00"), Ok(951_827_405));
        assert_eq!(secs("2025-06-01T00:00:00.75Z"), Ok(1_748_736_000));
        assert_eq!(secs("2024-03-13T00:00:00Z"), Ok(1_710_288_000));
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
            assert!(secs(impossible).is_err(), "{impossible}");
        }
        assert!(secs("2024-02-29T00:00:00Z").is_ok());
        // Parsing inverts display.
        let t = UnixTime::from_secs(1_771_423_480);
        assert_eq!(UnixTime::parse_rfc3339(&t.to_string()), Ok(t));
    }

    #[test]
    fn formats_rfc3339() {
        assert_eq!(UnixTime(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(UnixTime(1_678_652_405).to_string(), "2023-03-12T20:20:05Z");
        assert_eq!(UnixTime(951_782_400).to_string(), "2000-02-29T00:00:00Z");
        assert_eq!(UnixTime(2_524_608_000).to_string(), "2050-01-01T00:00:00Z");
    }
}
