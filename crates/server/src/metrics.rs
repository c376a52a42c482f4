//! What the service counts, as Prometheus text: verifications by outcome and failed check, a
//! latency histogram of `/attest`, nonce-store errors, challenges issued, and certificates
//! asked for (from the cache or fetched).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

/// The counters.
#[derive(Debug, Default)]
pub struct Metrics {
    verifications: Mutex<BTreeMap<(String, String), u64>>,
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_micros: AtomicU64,
    nonce_store_errors: AtomicU64,
    challenges: AtomicU64,
    certificates: Mutex<BTreeMap<String, u64>>,
}

impl Metrics {
    /// One `/attest` answered: `outcome` (`verified`, `refused`, `malformed`, `unavailable`),
    /// the failed check (empty when verified), and how long it took.
    pub fn verification(&self, outcome: &str, failed_check: &str, took: Duration) {
        *self
            .verifications
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((outcome.to_string(), failed_check.to_string()))
            .or_default() += 1;
        let seconds = took.as_secs_f64();
        for (bucket, bound) in self.latency_buckets.iter().zip(BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_micros.fetch_add(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// The nonce store failed to answer.
    pub fn nonce_store_error(&self) {
        self.nonce_store_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// A nonce was issued.
    pub fn challenge(&self) {
        self.challenges.fetch_add(1, Ordering::Relaxed);
    }

    /// Certificates or collateral were needed: `source` is `cache`, `fetched` or `failed`.
    pub fn certificates(&self, source: &str) {
        *self
            .certificates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(source.to_string())
            .or_default() += 1;
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP snp_vtpm_verifications_total Evidence verifications by outcome and failed check.\n# TYPE snp_vtpm_verifications_total counter"
        );
        for ((outcome, check), count) in self
            .verifications
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "snp_vtpm_verifications_total{{outcome=\"{outcome}\",failed_check=\"{check}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP snp_vtpm_attest_seconds Time to answer POST /attest.\n# TYPE snp_vtpm_attest_seconds histogram"
        );
        for (bucket, bound) in self.latency_buckets.iter().zip(BUCKETS) {
            let _ = writeln!(
                out,
                "snp_vtpm_attest_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(out, "snp_vtpm_attest_seconds_bucket{{le=\"+Inf\"}} {count}");
        let micros = self.latency_micros.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "snp_vtpm_attest_seconds_sum {}.{:06}",
            micros / 1_000_000,
            micros % 1_000_000
        );
        let _ = writeln!(out, "snp_vtpm_attest_seconds_count {count}");
        let _ = writeln!(
            out,
            "# HELP snp_vtpm_nonce_store_errors_total Nonce-store operations that failed.\n# TYPE snp_vtpm_nonce_store_errors_total counter\nsnp_vtpm_nonce_store_errors_total {}",
            self.nonce_store_errors.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP snp_vtpm_challenges_total Nonces issued.\n# TYPE snp_vtpm_challenges_total counter\nsnp_vtpm_challenges_total {}",
            self.challenges.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP snp_vtpm_certificates_total Certificate and collateral look-ups by source.\n# TYPE snp_vtpm_certificates_total counter"
        );
        for (source, count) in self
            .certificates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "snp_vtpm_certificates_total{{source=\"{source}\"}} {count}"
            );
        }
        out
    }
}
