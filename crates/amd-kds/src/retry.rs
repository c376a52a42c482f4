//! The retry policy: 429 waits what `Retry-After` says, 5xx and connection failures back off
//! exponentially with jitter, 404 and other 4xx are final, every attempt is logged, and the
//! whole exchange fits in a deadline measured on the injected clock.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::error::{ArtifactKind, Error, Failure, Result, Service};
use crate::http::{Answer, Transport, TransportError};
use crate::observe::{Observer, WaitEvent};
use attest_prims::clock::Clock;

/// How often and how long to retry.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Requests made at most (1 = no retry).
    pub max_attempts: u32,
    /// The first backoff after a 5xx or a connection failure; it doubles at each retry.
    pub initial_backoff: Duration,
    /// The longest backoff.
    pub max_backoff: Duration,
    /// Fraction of each backoff that is random, in `0.0..=1.0`: a backoff `d` becomes a value
    /// in `[d * (1 - jitter), d]`. `Retry-After` waits have no jitter.
    pub jitter: f64,
    /// The whole exchange (attempts and waits, on the clock) must end within this; a wait that
    /// would pass it is not started.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts, backoff 1 s doubling up to 30 s with 50 % jitter, 60 s deadline (KDS
    /// throttles to about one request every 10 s).
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            jitter: 0.5,
            deadline: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A single attempt, never retried.
    pub fn no_retry() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.max_attempts == 0 {
            return Err(Error::invalid_config(
                "retry policy: max_attempts must be at least 1",
            ));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(Error::invalid_config(format!(
                "retry policy: jitter must be within 0.0..=1.0, found {}",
                self.jitter
            )));
        }
        Ok(())
    }

    /// The backoff before the attempt after `failed_attempt` (1-based), before jitter.
    pub fn backoff(&self, failed_attempt: u32) -> Duration {
        let doublings = failed_attempt.saturating_sub(1).min(32);
        self.initial_backoff
            .saturating_mul(1u32 << doublings.min(31))
            .min(self.max_backoff)
    }

    fn jittered(&self, backoff: Duration) -> Duration {
        if self.jitter <= 0.0 {
            return backoff;
        }
        let fraction = self.jitter * random_unit();
        backoff.mul_f64((1.0 - fraction).clamp(0.0, 1.0))
    }
}

/// A uniform value in `[0, 1)` from the standard library's randomly seeded hasher.
fn random_unit() -> f64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Parses `Retry-After`: delay-seconds, or an HTTP date turned into a wait from `now`.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Everything one exchange needs.
pub(crate) struct Exchange<'a> {
    pub service: Service,
    pub kind: ArtifactKind,
    pub url: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    /// The request body: a POST when present (see [`ArtifactKind::method`]), else a GET.
    pub body: Option<&'a [u8]>,
}

/// The HTTP side of a client: transport, policy, clock and observer.
#[derive(Clone)]
pub(crate) struct Fetcher {
    pub transport: Transport,
    pub policy: RetryPolicy,
    pub clock: Arc<dyn Clock>,
    pub observer: Arc<dyn Observer>,
}

/// A 200 answer: its body and headers.
pub(crate) struct Reply {
    pub body: Vec<u8>,
    pub headers: ureq::http::HeaderMap,
}

impl Reply {
    /// The value of header `name` (case-insensitive), if it is present and visible ASCII.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

impl Fetcher {
    /// A fetcher with `http`'s transport and `policy` (checked), on the system clock, silent:
    /// what every client starts from.
    pub(crate) fn new(http: &crate::http::HttpConfig, policy: RetryPolicy) -> Result<Self> {
        policy.validate()?;
        Ok(Self {
            transport: Transport::new(http)?,
            policy,
            clock: Arc::new(attest_prims::clock::SystemClock::new()),
            observer: Arc::new(crate::observe::SilentObserver),
        })
    }

    /// GETs `exchange.url` until a 200 answer, a final failure, or the policy gives up.
    pub(crate) fn get(&self, exchange: &Exchange<'_>) -> Result<Vec<u8>> {
        self.get_reply(exchange).map(|reply| reply.body)
    }

    /// [`Fetcher::get`], keeping the headers of the answer.
    pub(crate) fn get_reply(&self, exchange: &Exchange<'_>) -> Result<Reply> {
        let Exchange {
            service,
            kind,
            url,
            headers,
            body: request_body,
        } = *exchange;
        let method = kind.method();
        let policy = &self.policy;
        let start = self.clock.monotonic();
        let mut waited = Duration::ZERO;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            log::debug!(
                "{service}: {method} {url} for the {kind}, attempt {attempt} of {}",
                policy.max_attempts
            );
            let failure = match self.transport.send(url, headers, request_body) {
                Ok(Answer {
                    status: 200,
                    body,
                    headers,
                    ..
                }) => {
                    log::debug!("{service}: {method} {url}: 200 OK, {} bytes", body.len());
                    return Ok(Reply { body, headers });
                }
                Ok(Answer { status: 404, .. }) => {
                    log::debug!("{service}: {method} {url}: 404 Not Found (final)");
                    return Err(Error::NotFound {
                        service,
                        kind,
                        url: url.to_string(),
                    });
                }
                Ok(Answer {
                    status: 429,
                    retry_after,
                    ..
                }) => Failure::RateLimited {
                    retry_after: retry_after
                        .as_deref()
                        .and_then(|value| parse_retry_after(value, self.clock.now())),
                },
                Ok(Answer { status, .. }) if (500..=599).contains(&status) => {
                    Failure::Status(status)
                }
                Ok(Answer { status, .. }) => {
                    log::debug!("{service}: {method} {url}: HTTP {status} (final)");
                    return Err(Error::HttpStatus {
                        service,
                        kind,
                        url: url.to_string(),
                        status,
                    });
                }
                Err(TransportError::Timeout(which)) => Failure::Timeout(which),
                Err(TransportError::Connection(reason)) => Failure::Connection(reason),
                Err(TransportError::TooLarge(limit)) => {
                    return Err(Error::Malformed {
                        kind,
                        origin: url.to_string(),
                        reason: format!("the body is larger than the {limit}-byte limit"),
                    });
                }
                Err(TransportError::Fatal(reason)) => {
                    log::debug!("{service}: {method} {url}: {reason} (final)");
                    return Err(Error::Transport {
                        service,
                        kind,
                        url: url.to_string(),
                        reason,
                    });
                }
            };
            log::debug!("{service}: {method} {url}: attempt {attempt} failed: {failure}");
            let exhausted = |last: Failure| Error::RetriesExhausted {
                service,
                kind,
                url: url.to_string(),
                attempts: attempt,
                waited,
                last,
            };
            if attempt >= policy.max_attempts {
                return Err(exhausted(failure));
            }
            let (wait, asked) = match &failure {
                Failure::RateLimited {
                    retry_after: Some(asked),
                } => (*asked, Some(*asked)),
                _ => (policy.jittered(policy.backoff(attempt)), None),
            };
            let elapsed = self.clock.monotonic().saturating_sub(start);
            if elapsed.saturating_add(wait) > policy.deadline {
                log::debug!(
                    "{service}: {method} {url}: a wait of {wait:?} after {elapsed:?} would pass the \
                     {:?} deadline; giving up",
                    policy.deadline
                );
                return Err(match asked {
                    Some(retry_after) => Error::RateLimited {
                        service,
                        kind,
                        url: url.to_string(),
                        attempts: attempt,
                        waited,
                        retry_after,
                        deadline: policy.deadline,
                    },
                    None => exhausted(failure),
                });
            }
            self.observer.on_wait(&WaitEvent {
                service,
                kind,
                url,
                failure: &failure,
                attempt,
                max_attempts: policy.max_attempts,
                wait,
            });
            log::debug!("{service}: waiting {wait:?} before attempt {}", attempt + 1);
            self.clock.sleep(wait);
            waited += wait;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn backoff_doubles_and_caps() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(3),
            ..RetryPolicy::default()
        };
        let waits: Vec<_> = (1..=5).map(|n| policy.backoff(n).as_millis()).collect();
        assert_eq!(waits, [500, 1000, 2000, 3000, 3000]);
        assert_eq!(policy.backoff(u32::MAX), Duration::from_secs(3));
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let policy = RetryPolicy {
            jitter: 0.5,
            ..RetryPolicy::default()
        };
        for _ in 0..1000 {
            let wait = policy.jittered(Duration::from_secs(4));
            assert!(wait >= Duration::from_secs(2) && wait <= Duration::from_secs(4));
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(1_445_412_480); // Wed, 21 Oct 2015 07:28:00
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:07 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Wednesday, 21-Oct-15 07:28:03 GMT", now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means no wait"
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn policy_validation() {
        assert!(RetryPolicy::default().validate().is_ok());
        let zero = RetryPolicy {
            max_attempts: 0,
            ..RetryPolicy::default()
        };
        assert!(zero.validate().is_err());
        let jitter = RetryPolicy {
            jitter: 1.5,
            ..RetryPolicy::default()
        };
        assert!(jitter.validate().is_err());
    }
}
