//! Time as an injected dependency, for the code that waits or dates things: amd-kds' retry loop
//! (deadlines, `Retry-After`) and cache (CRL expiry), and the guest side's wait for a fresh
//! HCL report. Tests run in simulated time. (Verification itself never reads a clock: its time
//! is a parameter.)

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use std::vec::Vec;

/// Wall-clock time, monotonic time and sleeping.
pub trait Clock: Send + Sync {
    /// The wall-clock time (for `Retry-After` dates and CRL expiry).
    fn now(&self) -> SystemTime;
    /// Time elapsed since an arbitrary fixed origin, never going backwards (for deadlines).
    fn monotonic(&self) -> Duration;
    /// Blocks the calling thread for `duration` (or pretends to).
    fn sleep(&self, duration: Duration);
}

/// The real clock: `SystemTime::now`, `Instant` and `std::thread::sleep`.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A real clock whose monotonic origin is now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// A clock that only moves when told to: `sleep` returns at once and advances it, and every
/// sleep is recorded. For tests and benchmarks of the retry policy.
///
/// ```
/// use std::time::Duration;
/// use attest_prims::clock::{Clock, SimulatedClock};
///
/// let clock = SimulatedClock::at_unix(1_700_000_000);
/// clock.sleep(Duration::from_secs(2));
/// assert_eq!(clock.monotonic(), Duration::from_secs(2));
/// assert_eq!(clock.sleeps(), [Duration::from_secs(2)]);
/// ```
pub struct SimulatedClock {
    start: SystemTime,
    state: Mutex<SimulatedState>,
}

#[derive(Default)]
struct SimulatedState {
    elapsed: Duration,
    sleeps: Vec<Duration>,
}

impl SimulatedClock {
    /// A simulated clock that starts at `start`.
    pub fn new(start: SystemTime) -> Self {
        Self {
            start,
            state: Mutex::default(),
        }
    }

    /// A simulated clock that starts at `unix_seconds` after the epoch.
    pub fn at_unix(unix_seconds: u64) -> Self {
        Self::new(UNIX_EPOCH + Duration::from_secs(unix_seconds))
    }

    /// Moves the clock forward without recording a sleep.
    pub fn advance(&self, duration: Duration) {
        self.state().elapsed += duration;
    }

    /// Every sleep so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.state().sleeps.clone()
    }

    /// The sum of every sleep so far.
    pub fn total_slept(&self) -> Duration {
        self.state().sleeps.iter().sum()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SimulatedState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for SimulatedClock {
    fn now(&self) -> SystemTime {
        self.start + self.state().elapsed
    }

    fn monotonic(&self) -> Duration {
        self.state().elapsed
    }

    fn sleep(&self, duration: Duration) {
        let mut state = self.state();
        state.elapsed += duration;
        state.sleeps.push(duration);
    }
}

impl fmt::Debug for SimulatedClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("SimulatedClock")
            .field("start", &self.start)
            .field("elapsed", &state.elapsed)
            .field("sleeps", &state.sleeps.len())
            .finish()
    }
}
