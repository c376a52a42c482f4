//! The retry policy against a real loopback server, on a simulated clock: waits are asserted
//! without sleeping for real.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use amd_kds::{
    Cache, CertificateSource, Clock, Error, Failure, HttpConfig, KdsClient, KdsConfig, ProxyConfig,
    RetryPolicy, VcekRequest, WaitEvent,
};
use hcl_parse::{Generation, SnpReport};
use support::*;

fn milan_request() -> VcekRequest {
    let raw = milan_report();
    VcekRequest::from_report(&SnpReport::from_bytes(&raw).unwrap(), Generation::Milan).unwrap()
}

fn vcek() -> Vec<u8> {
    vector("snp/milan/vcek_milan.der")
}

/// Records what the observer hook is told, as a CLI's stderr printer would see it.
#[derive(Default)]
struct Notices(Mutex<Vec<(bool, Duration, u32, String)>>);

impl Notices {
    fn hook(self: &Arc<Self>) -> Arc<dyn amd_kds::Observer> {
        let notices = self.clone();
        Arc::new(move |event: &WaitEvent<'_>| {
            notices.0.lock().unwrap().push((
                event.is_rate_limit(),
                event.wait,
                event.attempt,
                event.message(),
            ));
        })
    }

    fn all(&self) -> Vec<(bool, Duration, u32, String)> {
        self.0.lock().unwrap().clone()
    }
}

#[test]
fn rate_limit_with_retry_after_seconds_then_success() {
    let body = vcek();
    let server = TestServer::start(move |n, _| match n {
        0 => Reply::status(429).with_header("Retry-After", "2"),
        _ => Reply::ok(body.clone()),
    });
    let clock = sim_clock();
    let notices = Arc::new(Notices::default());
    let client = CertificateSource::new(
        kds_client(&server, exact_policy(5, 60), &clock).with_observer(notices.hook()),
        Cache::disabled(),
    );
    let started = Instant::now();
    let fetched = client.vcek(&milan_request()).unwrap();
    assert_eq!(fetched.value.der(), vcek().as_slice());
    assert_eq!(server.count(), 2, "one 429, then the success");
    assert_eq!(
        clock.sleeps(),
        [Duration::from_secs(2)],
        "waited exactly Retry-After"
    );
    assert_eq!(clock.monotonic(), Duration::from_secs(2));
    assert!(started.elapsed() < Duration::from_secs(2), "no real sleep");
    let notices = notices.all();
    assert_eq!(notices.len(), 1);
    let (rate_limit, wait, attempt, message) = &notices[0];
    assert!(rate_limit);
    assert_eq!((*wait, *attempt), (Duration::from_secs(2), 1));
    assert_eq!(
        message,
        "AMD KDS is rate-limiting requests (HTTP 429): waiting 2.0 s for the VCEK before \
         attempt 2 of 5"
    );
}

#[test]
fn rate_limit_with_retry_after_as_an_http_date() {
    let clock = sim_clock();
    let in_seven_seconds = httpdate::fmt_http_date(clock.now() + Duration::from_secs(7));
    let body = vcek();
    let server = TestServer::start(move |n, _| match n {
        0 => Reply::status(429).with_header("Retry-After", &in_seven_seconds),
        _ => Reply::ok(body.clone()),
    });
    let client = kds_source(&server, None, exact_policy(5, 60), &clock);
    client.vcek(&milan_request()).unwrap();
    assert_eq!(server.count(), 2);
    assert_eq!(clock.sleeps(), [Duration::from_secs(7)]);
}

#[test]
fn rate_limit_beyond_the_deadline_fails_at_once() {
    let server = TestServer::always(Reply::status(429).with_header("Retry-After", "120"));
    let clock = sim_clock();
    let client = kds_source(&server, None, exact_policy(5, 60), &clock);
    let e = client.vcek(&milan_request()).unwrap_err();
    match &e {
        Error::RateLimited {
            attempts,
            waited,
            retry_after,
            deadline,
            ..
        } => {
            assert_eq!(*attempts, 1);
            assert_eq!(*waited, Duration::ZERO);
            assert_eq!(*retry_after, Duration::from_secs(120));
            assert_eq!(*deadline, Duration::from_secs(60));
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(e.is_unavailable());
    assert!(e.to_string().contains("asks to wait 120s"), "{e}");
    assert_eq!(server.count(), 1);
    assert!(
        clock.sleeps().is_empty(),
        "a wait past the deadline is not started"
    );
}

#[test]
fn a_429_without_retry_after_backs_off() {
    let body = vcek();
    let server = TestServer::start(move |n, _| match n {
        0 | 1 => Reply::status(429),
        _ => Reply::ok(body.clone()),
    });
    let clock = sim_clock();
    let client = kds_source(&server, None, exact_policy(5, 60), &clock);
    client.vcek(&milan_request()).unwrap();
    assert_eq!(
        clock.sleeps(),
        [Duration::from_secs(1), Duration::from_secs(2)]
    );
}

#[test]
fn server_errors_back_off_exponentially_then_succeed() {
    let body = vcek();
    let server = TestServer::start(move |n, _| match n {
        0 => Reply::status(500),
        1 => Reply::status(502),
        2 => Reply::status(503).with_header("Retry-After", "50"),
        _ => Reply::ok(body.clone()),
    });
    let clock = sim_clock();
    let notices = Arc::new(Notices::default());
    let client = CertificateSource::new(
        kds_client(&server, exact_policy(5, 60), &clock).with_observer(notices.hook()),
        Cache::disabled(),
    );
    client.vcek(&milan_request()).unwrap();
    assert_eq!(server.count(), 4);
    let secs = |s| Duration::from_secs(s);
    assert_eq!(clock.sleeps(), [secs(1), secs(2), secs(4)]);
    let notices = notices.all();
    assert!(notices.iter().all(|(rate_limit, ..)| !rate_limit));
    assert_eq!(
        notices[1].3,
        "AMD KDS failed to deliver the VCEK (HTTP 502): retrying in 2.0 s (attempt 3 of 5)"
    );
}

#[test]
fn backoff_jitter_stays_within_its_bounds() {
    let server = TestServer::always(Reply::status(500));
    let clock = sim_clock();
    let policy = RetryPolicy {
        jitter: 0.5,
        ..exact_policy(5, 600)
    };
    let client = kds_source(&server, None, policy, &clock);
    let e = client.vcek(&milan_request()).unwrap_err();
    assert!(
        matches!(e, Error::RetriesExhausted { attempts: 5, .. }),
        "{e:?}"
    );
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 4);
    for (n, wait) in sleeps.iter().enumerate() {
        let full = Duration::from_secs(1 << n);
        assert!(
            *wait <= full && *wait >= full / 2,
            "wait {n}: {wait:?} vs {full:?}"
        );
    }
}

#[test]
fn server_errors_exhaust_the_attempts() {
    let server = TestServer::always(Reply::status(500));
    let clock = sim_clock();
    let client = kds_source(&server, None, exact_policy(3, 60), &clock);
    let e = client.vcek(&milan_request()).unwrap_err();
    match &e {
        Error::RetriesExhausted {
            attempts,
            waited,
            last,
            url,
            ..
        } => {
            assert_eq!(*attempts, 3);
            assert_eq!(*waited, Duration::from_secs(3));
            assert_eq!(*last, Failure::Status(500));
            assert!(url.starts_with(&server.base_url()));
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert!(e.is_unavailable());
    assert!(
        e.to_string()
            .contains("after 3 attempt(s) and 3s of waiting; last failure: HTTP 500"),
        "{e}"
    );
    assert_eq!(server.count(), 3);
}

#[test]
fn the_deadline_bounds_backoff() {
    let server = TestServer::always(Reply::status(503));
    let clock = sim_clock();
    // 1 + 2 + 4 = 7 s fit in 10 s; the next backoff (8 s) would not.
    let client = kds_source(&server, None, exact_policy(10, 10), &clock);
    let e = client.vcek(&milan_request()).unwrap_err();
    assert!(
        matches!(e, Error::RetriesExhausted { attempts: 4, .. }),
        "{e:?}"
    );
    assert_eq!(clock.total_slept(), Duration::from_secs(7));
    assert_eq!(server.count(), 4);
}

#[test]
fn not_found_is_final_after_one_request() {
    let server = TestServer::always(Reply::status(404));
    let clock = sim_clock();
    let client = kds_source(&server, None, exact_policy(5, 60), &clock);
    let request = milan_request();
    let e = client.vcek(&request).unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    assert!(e.is_unavailable());
    assert_eq!(
        e.to_string(),
        format!(
            "AMD KDS has no certificate for this chip and TCB (GET {} answered 404 Not Found)",
            client.kds().vcek_url(&request)
        )
    );
    assert_eq!(server.count(), 1);
    assert!(clock.sleeps().is_empty());
}

#[test]
fn other_client_errors_are_final() {
    let server = TestServer::always(Reply::status(403));
    let client = kds_source(&server, None, exact_policy(5, 60), &sim_clock());
    let e = client.crl(Generation::Genoa).unwrap_err();
    assert!(matches!(e, Error::HttpStatus { status: 403, .. }), "{e:?}");
    assert_eq!(server.count(), 1);
}

#[test]
fn connection_refused_is_retried_with_backoff() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }; // closed again: connections are refused
    let clock = sim_clock();
    let kds = KdsClient::new(KdsConfig {
        base_url: format!("http://127.0.0.1:{port}"),
        http: loopback_http(),
        retry: exact_policy(3, 60),
    })
    .unwrap()
    .with_clock(clock.clone());
    let client = CertificateSource::new(kds, Cache::disabled());
    let e = client.vcek(&milan_request()).unwrap_err();
    assert!(
        matches!(
            &e,
            Error::RetriesExhausted {
                attempts: 3,
                last: Failure::Connection(_),
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        clock.sleeps(),
        [Duration::from_secs(1), Duration::from_secs(2)]
    );
}

#[test]
fn a_broken_transfer_is_retried() {
    let body = vcek();
    let server = TestServer::start(move |n, _| match n {
        0 => Reply::Truncated {
            declared: body.len(),
            body: body[..body.len() / 2].to_vec(),
        },
        _ => Reply::ok(body.clone()),
    });
    let clock = sim_clock();
    let client = kds_source(&server, None, exact_policy(5, 60), &clock);
    let fetched = client.vcek(&milan_request()).unwrap();
    assert_eq!(fetched.value.der(), vcek().as_slice());
    assert_eq!(server.count(), 2);
    assert_eq!(clock.sleeps(), [Duration::from_secs(1)]);
}

#[test]
fn a_server_that_never_answers_times_out() {
    let server = TestServer::always(Reply::Hang);
    let clock = sim_clock();
    let kds = KdsClient::new(KdsConfig {
        http: HttpConfig {
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_millis(300),
            proxy: ProxyConfig::Disabled,
            ..HttpConfig::default()
        },
        ..kds_config(&server, exact_policy(2, 60))
    })
    .unwrap()
    .with_clock(clock.clone());
    let client = CertificateSource::new(kds, Cache::disabled());
    let started = Instant::now();
    let e = client.vcek(&milan_request()).unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        matches!(
            &e,
            Error::RetriesExhausted {
                attempts: 2,
                last: Failure::Timeout(_),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("timed out"), "{e}");
    assert_eq!(server.count(), 2);
    assert!(
        elapsed >= Duration::from_millis(600) && elapsed < Duration::from_secs(5),
        "two 300 ms timeouts took {elapsed:?}"
    );
    assert_eq!(clock.sleeps(), [Duration::from_secs(1)]);
}

/// A 30-second storm of 429s on simulated time: how many requests reach the server.
fn storm(reply: Reply) -> (usize, Duration, Error) {
    let server = TestServer::always(reply);
    let clock = sim_clock();
    let client = kds_source(&server, None, exact_policy(100, 30), &clock);
    let e = client.vcek(&milan_request()).unwrap_err();
    (server.count(), clock.total_slept(), e)
}

#[test]
fn a_30_second_storm_of_429s_is_bounded() {
    // KDS's own pace: Retry-After 10 s -> requests at 0, 10, 20, 30 s.
    let (count, slept, e) = storm(Reply::status(429).with_header("Retry-After", "10"));
    eprintln!("429 storm, Retry-After 10: {count} requests, {slept:?} waited");
    assert_eq!((count, slept), (4, Duration::from_secs(30)));
    assert!(matches!(e, Error::RateLimited { attempts: 4, .. }), "{e:?}");

    // An aggressive Retry-After of 1 s: one request a simulated second, 31 in all.
    let (count, slept, _) = storm(Reply::status(429).with_header("Retry-After", "1"));
    eprintln!("429 storm, Retry-After 1: {count} requests, {slept:?} waited");
    assert_eq!((count, slept), (31, Duration::from_secs(30)));

    // No Retry-After: exponential backoff 1, 2, 4, 8 s; the next (16 s) would pass 30 s.
    let (count, slept, e) = storm(Reply::status(429));
    eprintln!("429 storm, no Retry-After: {count} requests, {slept:?} waited");
    assert_eq!((count, slept), (5, Duration::from_secs(15)));
    assert!(
        matches!(e, Error::RetriesExhausted { attempts: 5, .. }),
        "{e:?}"
    );
}

#[test]
fn the_default_policy_bounds_a_storm_by_attempts() {
    let server = TestServer::always(Reply::status(429).with_header("Retry-After", "1"));
    let clock = sim_clock();
    let client = kds_source(&server, None, RetryPolicy::default(), &clock);
    let e = client.vcek(&milan_request()).unwrap_err();
    assert!(
        matches!(e, Error::RetriesExhausted { attempts: 5, .. }),
        "{e:?}"
    );
    assert_eq!(server.count(), 5);
    assert_eq!(clock.total_slept(), Duration::from_secs(4));
}

// Every attempt is logged at debug level.

struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Debug
    }
    fn log(&self, record: &log::Record<'_>) {
        if record.level() == log::Level::Debug && record.target().starts_with("amd_kds") {
            self.0.lock().unwrap().push(record.args().to_string());
        }
    }
    fn flush(&self) {}
}

fn captured() -> &'static Capture {
    static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture: &'static Capture = Box::leak(Box::new(Capture(Mutex::default())));
        log::set_logger(capture).expect("one logger per test binary");
        log::set_max_level(log::LevelFilter::Debug);
        capture
    })
}

#[test]
fn every_attempt_is_logged_at_debug_level() {
    let capture = captured();
    let body = vcek();
    let server = TestServer::start(move |n, _| match n {
        0 => Reply::status(503),
        _ => Reply::ok(body.clone()),
    });
    let client = kds_source(&server, None, exact_policy(5, 60), &sim_clock());
    let request = milan_request();
    client.vcek(&request).unwrap();
    let url = client.kds().vcek_url(&request);
    let lines: Vec<String> = capture
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|line| line.contains(&url))
        .cloned()
        .collect();
    for expected in [
        format!("AMD KDS: GET {url} for the VCEK, attempt 1 of 5"),
        format!("AMD KDS: GET {url}: attempt 1 failed: HTTP 503"),
        format!("AMD KDS: GET {url} for the VCEK, attempt 2 of 5"),
    ] {
        assert!(
            lines.contains(&expected),
            "missing \"{expected}\" in {lines:#?}"
        );
    }
}
