//! Getting an HCL report bound to caller data, without blind sleeping.
//!
//! The paravisor regenerates the HCL report when NV 0x01400001 is read at offset 0, but at most
//! once every 2 s; a read sooner returns the previous report. So: write the data, read, check
//! that the report's `user-data` is the data; only when it is stale, wait until 2 s have passed
//! since the previous read and read again, a bounded number of times. The steps sit behind
//! [`ReportSource`] and a [`Clock`] so that tests drive them with a simulated paravisor.

use core::time::Duration;

use attest_prims::clock::Clock;
use hcl_parse::HclReport;

/// The minimum interval between two report regenerations on Azure.
pub const REGENERATION_INTERVAL: Duration = Duration::from_secs(2);
/// Reads after the first one before giving up.
pub const MAX_RETRIES: u32 = 3;

/// How long the paravisor needs between regenerations, and how often to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    /// Minimum interval between two regenerations (2 s on Azure).
    pub interval: Duration,
    /// Reads after the first one before giving up.
    pub retries: u32,
}

impl Default for Freshness {
    fn default() -> Self {
        Self {
            interval: REGENERATION_INTERVAL,
            retries: MAX_RETRIES,
        }
    }
}

/// Where the report comes from (the vTPM, or a simulation).
pub trait ReportSource {
    /// The error of the underlying device.
    type Error;
    /// Writes the 64 bytes of user data (NV 0x01400002).
    fn write_user_data(&mut self, data: &[u8; 64]) -> Result<(), Self::Error>;
    /// Reads the HCL report (NV 0x01400001) from offset 0.
    fn read_report(&mut self) -> Result<alloc::vec::Vec<u8>, Self::Error>;
}

/// Why no fresh report could be obtained.
#[derive(Debug, thiserror::Error)]
pub enum FreshError<E> {
    /// The device failed.
    #[error("{0}")]
    Device(E),
    /// The report read back is malformed.
    #[error("the HCL report read back is malformed: {0}")]
    Malformed(hcl_parse::Error),
    /// The report never carried the written data.
    #[error(
        "stale report: after {reads} reads over {waited:?}, the HCL report's user-data is still not the data written \
         (the paravisor did not regenerate it; found {found})"
    )]
    Stale {
        /// Reads made.
        reads: u32,
        /// Time spent waiting.
        waited: Duration,
        /// The user-data of the last report (hex), or "none".
        found: alloc::string::String,
    },
}

/// The outcome of [`fetch_fresh_report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreshReport {
    /// The HCL report bytes (NV contents).
    pub bytes: alloc::vec::Vec<u8>,
    /// How many reads it took.
    pub reads: u32,
    /// How long was spent waiting for the paravisor.
    pub waited: Duration,
}

/// Pads caller data to the 64 bytes of NV 0x01400002; longer data is refused by the caller.
pub fn pad_user_data(data: &[u8]) -> Option<[u8; 64]> {
    let mut padded = [0u8; 64];
    padded.get_mut(..data.len())?.copy_from_slice(data);
    Some(padded)
}

/// Writes `data`, then reads until the report's `user-data` equals it.
///
/// `last_read` is when this source was last read (if known): a read within the regeneration
/// interval would be stale, so the first read waits for the rest of it.
pub fn fetch_fresh_report<S: ReportSource, C: Clock + ?Sized>(
    source: &mut S,
    clock: &C,
    data: &[u8; 64],
    last_read: Option<Duration>,
    freshness: Freshness,
) -> Result<FreshReport, FreshError<S::Error>> {
    source.write_user_data(data).map_err(FreshError::Device)?;
    let mut waited = Duration::ZERO;
    let mut previous_read = last_read;
    let mut found = alloc::string::String::from("none");
    for reads in 1..=freshness.retries + 1 {
        if let Some(previous) = previous_read.filter(|_| reads > 1) {
            let ready_at = previous + freshness.interval;
            let now = clock.monotonic();
            if ready_at > now {
                clock.sleep(ready_at - now);
                waited += ready_at - now;
            }
        }
        let bytes = source.read_report().map_err(FreshError::Device)?;
        previous_read = Some(clock.monotonic());
        let user_data = {
            let hcl = HclReport::parse(&bytes).map_err(FreshError::Malformed)?;
            hcl.runtime_claims()
                .map_err(FreshError::Malformed)?
                .user_data
        };
        if user_data.as_ref() == Some(data) {
            return Ok(FreshReport {
                bytes,
                reads,
                waited,
            });
        }
        found = user_data.map_or_else(
            || "none".into(),
            |u| alloc::format!("{}", attest_prims::HexSlice(&u)),
        );
    }
    Err(FreshError::Stale {
        reads: freshness.retries + 1,
        waited,
        found,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use hcl_parse::compose::HclReportBuilder;
    use hcl_parse::snp::RawSnpReport;
    use zerocopy::IntoBytes;

    /// Simulated time: sleeping advances it, nothing waits for real.
    type SimClock = attest_prims::clock::SimulatedClock;

    fn sim_clock() -> SimClock {
        SimClock::at_unix(1_700_000_000)
    }

    /// A paravisor that regenerates the report on a read at most every 2 s.
    struct SimulatedParavisor<'c> {
        clock: &'c SimClock,
        nv_user_data: [u8; 64],
        report_user_data: [u8; 64],
        last_regeneration: Option<Duration>,
        reads: u32,
        never_regenerates: bool,
    }

    impl<'c> SimulatedParavisor<'c> {
        fn new(clock: &'c SimClock, last_regeneration: Option<Duration>) -> Self {
            Self {
                clock,
                nv_user_data: [0; 64],
                report_user_data: [0; 64],
                last_regeneration,
                reads: 0,
                never_regenerates: false,
            }
        }
    }

    impl ReportSource for SimulatedParavisor<'_> {
        type Error = &'static str;
        fn write_user_data(&mut self, data: &[u8; 64]) -> Result<(), Self::Error> {
            self.nv_user_data = *data;
            Ok(())
        }
        fn read_report(&mut self) -> Result<Vec<u8>, Self::Error> {
            self.reads += 1;
            let now = self.clock.monotonic();
            let due = self
                .last_regeneration
                .is_none_or(|at| now >= at + REGENERATION_INTERVAL);
            if due && !self.never_regenerates {
                self.report_user_data = self.nv_user_data;
                self.last_regeneration = Some(now);
            }
            let user_data = attest_prims::HexSlice(&self.report_user_data);
            let claims = alloc::format!(r#"{{"keys":[],"user-data":"{user_data}"}}"#);
            let mut snp = RawSnpReport::new(3);
            snp.report_data =
                hcl_parse::expected_report_data(hcl_parse::HashType::Sha256, claims.as_bytes());
            Ok(HclReportBuilder::new(snp.as_bytes(), claims.as_bytes()).build())
        }
    }

    fn data() -> [u8; 64] {
        pad_user_data(b"nonce-1234").unwrap()
    }

    #[test]
    fn fresh_on_the_first_read_when_the_paravisor_is_idle() {
        let clock = sim_clock();
        clock.sleep(Duration::from_secs(100));
        let mut paravisor = SimulatedParavisor::new(&clock, Some(Duration::from_secs(10)));
        let fresh = fetch_fresh_report(&mut paravisor, &clock, &data(), None, Freshness::default())
            .unwrap();
        assert_eq!((fresh.reads, fresh.waited), (1, Duration::ZERO));
        assert_eq!(
            clock.monotonic(),
            Duration::from_secs(100),
            "no time passed"
        );
    }

    #[test]
    fn stale_then_fresh_waits_only_the_rest_of_the_interval() {
        let clock = sim_clock();
        clock.sleep(Duration::from_millis(10_500));
        // Regenerated 0.5 s ago (by someone else's read): the first read is stale.
        let mut paravisor = SimulatedParavisor::new(&clock, Some(Duration::from_secs(10)));
        let fresh = fetch_fresh_report(&mut paravisor, &clock, &data(), None, Freshness::default())
            .unwrap();
        assert_eq!(fresh.reads, 2);
        // The second read happens 2 s after the first read, not after a blind 3 s sleep.
        assert_eq!(fresh.waited, Duration::from_secs(2));
        let hcl = HclReport::parse(&fresh.bytes).unwrap();
        assert_eq!(hcl.runtime_claims().unwrap().user_data, Some(data()));
    }

    #[test]
    fn a_recent_read_of_our_own_is_waited_out() {
        let clock = sim_clock();
        clock.sleep(Duration::from_secs(50));
        let mut paravisor = SimulatedParavisor::new(&clock, None);
        paravisor.read_report().unwrap(); // e.g. an earlier hcl_report() call
        let last_read = Some(clock.monotonic());
        clock.sleep(Duration::from_millis(300));
        let fresh = fetch_fresh_report(
            &mut paravisor,
            &clock,
            &data(),
            last_read,
            Freshness::default(),
        )
        .unwrap();
        assert_eq!(fresh.reads, 2, "the first read is stale, the second fresh");
        assert_eq!(fresh.waited, Duration::from_secs(2));
    }

    #[test]
    fn a_paravisor_that_never_regenerates_gives_a_clear_error() {
        let clock = sim_clock();
        let mut paravisor = SimulatedParavisor::new(&clock, None);
        paravisor.never_regenerates = true;
        let err = fetch_fresh_report(&mut paravisor, &clock, &data(), None, Freshness::default())
            .unwrap_err();
        assert!(matches!(err, FreshError::Stale { reads: 4, .. }), "{err}");
        assert_eq!(paravisor.reads, 4, "bounded");
        assert_eq!(
            clock.monotonic(),
            Duration::from_secs(6),
            "three waits of 2 s"
        );
        assert!(alloc::format!("{err}").contains("stale report"));
    }

    #[test]
    fn user_data_is_padded_and_bounded() {
        assert_eq!(pad_user_data(&[1; 64]), Some([1; 64]));
        assert_eq!(pad_user_data(&[1; 65]), None);
        assert_eq!(pad_user_data(b"ab").unwrap()[2..], [0; 62]);
    }
}
