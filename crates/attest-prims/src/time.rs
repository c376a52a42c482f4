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
    fn formats_rfc3339() {
        assert_eq!(UnixTime(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(UnixTime(1_678_652_405).to_string(), "2023-03-12T20:20:05Z");
        assert_eq!(UnixTime(951_782_400).to_string(), "2000-02-29T00:00:00Z");
        assert_eq!(UnixTime(2_524_608_000).to_string(), "2050-01-01T00:00:00Z");
    }
}
