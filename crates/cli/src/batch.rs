//! [`Verifier::verify_batch`]: many evidences spread over all cores, sharing the verifier's
//! [`VerificationCache`](crate::VerificationCache) when it has one.

use std::sync::atomic::{AtomicUsize, Ordering};

use vtpm_quote::ExpectedNonce;

use crate::error::Error;
use crate::evidence::Evidence;
use crate::verdict::VerifiedEvidence;
use crate::verifier::{Certificates, Verifier, VerifyOptions};

/// One evidence of a batch and how to verify it.
#[derive(Debug, Clone, Copy)]
pub struct BatchItem<'a> {
    /// The evidence.
    pub evidence: &'a Evidence,
    /// The nonce its quote must carry.
    pub nonce: ExpectedNonce<'a>,
    /// Certificates beside it.
    pub certificates: &'a Certificates,
    /// Options.
    pub options: VerifyOptions,
}

impl Verifier {
    /// Verifies a batch over all cores (`std::thread::available_parallelism`); results in
    /// input order. Give the verifier a cache ([`Verifier::with_cache`]) so that the threads
    /// share verified chains and VCEK tables.
    pub fn verify_batch(&self, items: &[BatchItem<'_>]) -> Vec<Result<VerifiedEvidence, Error>> {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        self.verify_batch_on(items, threads)
    }

    /// [`Verifier::verify_batch`] on at most `threads` threads (1: on the calling thread).
    pub fn verify_batch_on(
        &self,
        items: &[BatchItem<'_>],
        threads: usize,
    ) -> Vec<Result<VerifiedEvidence, Error>> {
        let verify_one = |item: &BatchItem<'_>| {
            self.verify(item.evidence, item.nonce, item.certificates, &item.options)
        };
        let threads = threads.clamp(1, items.len().max(1));
        if threads == 1 {
            return items.iter().map(verify_one).collect();
        }
        let next = AtomicUsize::new(0);
        let work = || {
            let mut done = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(index) else {
                    return done;
                };
                done.push((index, verify_one(item)));
            }
        };
        let mut results: Vec<Option<Result<VerifiedEvidence, Error>>> =
            std::iter::repeat_with(|| None).take(items.len()).collect();
        std::thread::scope(|scope| {
            // Where threads cannot be started (wasm32), the calling thread does the work alone.
            let handles: Vec<_> = (1..threads)
                .filter_map(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok())
                .collect();
            let mut all = work();
            for handle in handles {
                match handle.join() {
                    Ok(done) => all.extend(done),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            for (index, result) in all {
                if let Some(slot) = results.get_mut(index) {
                    *slot = Some(result);
                }
            }
        });
        results
            .into_iter()
            .zip(items)
            .map(|(result, item)| result.unwrap_or_else(|| verify_one(item)))
            .collect()
    }
}
