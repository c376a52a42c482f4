//! The hook through which a waiting caller is told why and for how long: silent by default; a
//! command-line tool sets [`StderrObserver`] (or its own closure) so that a user kept waiting
//! by a rate limit knows it.

use std::time::Duration;

use crate::error::{ArtifactKind, Failure, Service};

/// One wait between two attempts, announced before the wait starts.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct WaitEvent<'a> {
    /// The service that failed.
    pub service: Service,
    /// What is being fetched.
    pub kind: ArtifactKind,
    /// The URL requested.
    pub url: &'a str,
    /// Why the attempt failed.
    pub failure: &'a Failure,
    /// The attempt that failed (1-based).
    pub attempt: u32,
    /// The most attempts the policy allows.
    pub max_attempts: u32,
    /// How long the client now waits before the next attempt.
    pub wait: Duration,
}

impl WaitEvent<'_> {
    /// True when the wait is for a rate limit (HTTP 429).
    pub fn is_rate_limit(&self) -> bool {
        matches!(self.failure, Failure::RateLimited { .. })
    }

    /// A one-line message for a person: what is awaited, for how long, which attempt comes.
    pub fn message(&self) -> String {
        let next = self.attempt.saturating_add(1);
        if self.is_rate_limit() {
            format!(
                "{} is rate-limiting requests (HTTP 429): waiting {:.1} s for the {} before \
                 attempt {next} of {}",
                self.service,
                self.wait.as_secs_f64(),
                self.kind,
                self.max_attempts
            )
        } else {
            format!(
                "{} failed to deliver the {} ({}): retrying in {:.1} s (attempt {next} of {})",
                self.service,
                self.kind,
                self.failure,
                self.wait.as_secs_f64(),
                self.max_attempts
            )
        }
    }
}

/// Receives every wait of the retry loop.
pub trait Observer: Send + Sync {
    /// Called before sleeping `event.wait`.
    fn on_wait(&self, event: &WaitEvent<'_>);
}

impl<F: Fn(&WaitEvent<'_>) + Send + Sync> Observer for F {
    fn on_wait(&self, event: &WaitEvent<'_>) {
        self(event)
    }
}

/// Says nothing (the default: a library does not write to the terminal).
#[derive(Debug, Clone, Copy, Default)]
pub struct SilentObserver;

impl Observer for SilentObserver {
    fn on_wait(&self, _event: &WaitEvent<'_>) {}
}

/// Writes each wait to standard error as `snp-vtpm: <message>`, for command-line tools.
#[derive(Debug, Clone, Copy, Default)]
pub struct StderrObserver;

impl Observer for StderrObserver {
    fn on_wait(&self, event: &WaitEvent<'_>) {
        eprintln!("snp-vtpm: {}", event.message());
    }
}
