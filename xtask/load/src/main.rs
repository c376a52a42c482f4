//! `cargo xtask load`: one `snp-vtpm-server` (release build, Redis nonce store) driven by
//! concurrent keep-alive clients on 127.0.0.1, beside the in-process `verify_batch` throughput
//! of the same evidence measured in the same run.
//!
//! The evidence is what the service sees from a CVM: an Azure-shaped report signed by the test
//! PKI's VCEK and bound to a nonce the service issued, a quote signed by a software AK, the
//! VCEK and chain carried (the service trusts the test roots through its clearly named test
//! option). Making one costs several times what verifying it does, so on a small machine the
//! clients would measure themselves: the challenges are taken and the evidence made before the
//! timed phases, which then post it. `--soak-minutes M` runs the whole loop (challenge, fresh
//! evidence, post) for M minutes and samples the service's memory.
// A developer tool: a panic is a failed run, not a verdict.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hcl_parse::Generation;
use serde_json::{Value, json};
use snp_vtpm::snp_verify::UnixTime;
use snp_vtpm::{
    BatchItem, CacheLimits, CacheMode, Certificates, Evidence, EvidencePolicy, ExpectedNonce,
    VerificationCache, Verifier, VerifyOptions,
};
use snp_vtpm_testkit::azure::{TEST_FIRMWARE_ID_KEY_DIGEST, service_evidence};
use snp_vtpm_testkit::pki::TestPki;
use snp_vtpm_testkit::redis::{self, Redis};
use snp_vtpm_testkit::server::ServerProcess;

const USAGE: &str = "\
usage: cargo xtask load [--requests N] [--latency-requests N] [--soak-minutes M] [--json]

Starts redis-server and one snp-vtpm-server (release build) on 127.0.0.1, takes challenges
from it and makes evidence bound to them (not timed), then measures:
  - in-process Verifier::verify_batch over the same evidence (all cores);
  - the service's throughput at 64 keep-alive connections (--requests, default 20000);
  - its latency, p50 and p99, at 8 connections (--latency-requests, default 4000);
  - the service's resident memory after each phase.
--soak-minutes M also runs 8 clients for M minutes, each looping challenge, fresh evidence,
post, and prints the service's memory every minute (the target: flat over 10 minutes).
Loopback only; every phase is bounded in requests or time.
";

/// The targets of the issue, printed beside the figures.
const THROUGHPUT_TARGET: f64 = 0.5;
const P99_TARGET: Duration = Duration::from_millis(20);

struct Options {
    requests: usize,
    latency_requests: usize,
    soak_minutes: u64,
    json: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        requests: 20_000,
        latency_requests: 4_000,
        soak_minutes: 0,
        json: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or(format!("{name} takes a number"))
        };
        match arg.as_str() {
            "--requests" => options.requests = number(arg)?.clamp(64, 1_000_000) as usize,
            "--latency-requests" => {
                options.latency_requests = number(arg)?.clamp(8, 1_000_000) as usize
            }
            "--soak-minutes" => options.soak_minutes = number(arg)?.min(120),
            "--json" => options.json = true,
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    match parse(&args).and_then(|options| run(&options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask load: {message}");
            ExitCode::FAILURE
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// The policy of the run, the service's and the in-process verifier's: azure-cvm with the
/// test firmware, the report bound to the nonce.
fn policy_document() -> Value {
    json!({
        "require_report_bound_to_nonce": true,
        "report": { "allowed_id_key_digests": [hex::encode(TEST_FIRMWARE_ID_KEY_DIGEST)] },
    })
}

/// A binary next to this one (`cargo xtask load` builds the server in release mode).
fn sibling(name: &str) -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let path = me.parent().ok_or("no folder")?.join(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} is not built (run `cargo xtask load`)",
            path.display()
        ))
    }
}

/// Resident memory of a process, in KiB (Linux).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// One challenge: the nonce bytes.
fn challenge(agent: &ureq::Agent, base: &str) -> Result<Vec<u8>, String> {
    let mut response = agent
        .post(&format!("{base}/challenge"))
        .send(&b""[..])
        .map_err(|e| e.to_string())?;
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    let body: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
    body["nonce"]
        .as_str()
        .and_then(|n| hex::decode(n).ok())
        .ok_or(format!("no nonce: {body}"))
}

/// One post of evidence; Ok when the service answered 200 with a token.
fn attest(agent: &ureq::Agent, base: &str, evidence: &[u8]) -> Result<(), String> {
    let mut response = agent
        .post(&format!("{base}/attest"))
        .header("Content-Type", "application/json")
        .send(evidence)
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    if status == 200 && body.contains("\"token\"") {
        Ok(())
    } else {
        Err(format!(
            "{status}: {}",
            body.chars().take(300).collect::<String>()
        ))
    }
}

/// Evidence for each nonce, made on every core.
fn make_evidence(pki: &TestPki, nonces: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let next = AtomicUsize::new(0);
    let mut made: Vec<(usize, Vec<u8>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(nonce) = nonces.get(index) else {
                            return done;
                        };
                        done.push((index, service_evidence(pki, nonce)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a worker"))
            .collect()
    });
    made.sort_by_key(|(index, _)| *index);
    made.into_iter().map(|(_, evidence)| evidence).collect()
}

/// Posts every piece of `pool` over `connections` keep-alive connections; the latency of each
/// post and the whole time.
fn drive(
    base: &str,
    pool: &[Vec<u8>],
    connections: usize,
) -> Result<(Vec<Duration>, Duration), String> {
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let results: Vec<Result<Vec<Duration>, String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..connections)
            .map(|_| {
                scope.spawn(|| {
                    let agent = agent();
                    let mut latencies = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(evidence) = pool.get(index) else {
                            return Ok(latencies);
                        };
                        let sent = Instant::now();
                        attest(&agent, base, evidence)
                            .map_err(|e| format!("request {index}: {e}"))?;
                        latencies.push(sent.elapsed());
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a client"))
            .collect()
    });
    let elapsed = started.elapsed();
    let mut latencies = Vec::with_capacity(pool.len());
    for result in results {
        latencies.extend(result?);
    }
    latencies.sort();
    Ok((latencies, elapsed))
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * fraction).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// In-process `verify_batch` over `pool` (as the service verifies: the test roots, the same
/// policy, a chain and VCEK cache, a fresh report required); the best of three, per second.
fn in_process(pki: &TestPki, pool: &[Vec<u8>], nonces: &[Vec<u8>]) -> Result<f64, String> {
    let policy =
        EvidencePolicy::from_document(policy_document(), "azure-cvm").map_err(|e| e.to_string())?;
    let verifier = Verifier::with_anchors(pki.trust_anchors(), policy).with_cache(Arc::new(
        VerificationCache::new(CacheMode::ChainAndLeaf, CacheLimits::default()),
    ));
    let evidence: Vec<Evidence> = pool
        .iter()
        .map(|json| Evidence::from_json(json, snp_vtpm::DEFAULT_SIZE_LIMIT))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let certificates = Certificates::default();
    let options = VerifyOptions {
        require_fresh_report: true,
        ..VerifyOptions::at(UnixTime::from_secs(now()))
    };
    let items: Vec<BatchItem<'_>> = evidence
        .iter()
        .zip(nonces)
        .map(|(evidence, nonce)| BatchItem {
            evidence,
            nonce: ExpectedNonce::Exactly(nonce),
            certificates: &certificates,
            options,
        })
        .collect();
    let mut best = 0.0f64;
    for _ in 0..3 {
        let started = Instant::now();
        let results = verifier.verify_batch(&items);
        let elapsed = started.elapsed();
        if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
            return Err(format!("in-process verification failed: {e}"));
        }
        best = best.max(items.len() as f64 / elapsed.as_secs_f64());
    }
    Ok(best)
}

/// The soak: `clients` loops of challenge, fresh evidence, post, for `minutes`; the service's
/// memory each minute (KiB) and the requests done.
fn soak(
    base: &str,
    pki: &TestPki,
    pid: u32,
    minutes: u64,
    verbose: bool,
) -> Result<(Vec<u64>, usize), String> {
    let deadline = Instant::now() + Duration::from_secs(minutes * 60);
    let done = AtomicUsize::new(0);
    let mut samples = Vec::new();
    let outcome: Result<(), String> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| -> Result<(), String> {
                    let agent = agent();
                    while Instant::now() < deadline {
                        let nonce = challenge(&agent, base)?;
                        attest(&agent, base, &service_evidence(pki, &nonce))?;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(())
                })
            })
            .collect();
        for minute in 1..=minutes {
            let wake = deadline - Duration::from_secs((minutes - minute) * 60);
            let stopped = || clients.iter().any(|c| c.is_finished());
            while Instant::now() < wake && !stopped() {
                std::thread::sleep(Duration::from_millis(200));
            }
            if stopped() && Instant::now() < deadline {
                // A client failed: its error is reported below, not more minutes.
                break;
            }
            let rss = rss_kib(pid).unwrap_or_default();
            samples.push(rss);
            if verbose {
                eprintln!(
                    "  soak minute {minute}: service RSS {:.1} MiB, {} requests so far",
                    rss as f64 / 1024.0,
                    done.load(Ordering::Relaxed)
                );
            }
        }
        for client in clients {
            client.join().expect("a client")?;
        }
        Ok(())
    });
    outcome?;
    Ok((samples, done.load(Ordering::Relaxed)))
}

fn run(options: &Options) -> Result<(), String> {
    let verbose = !options.json;
    let say = |text: String| {
        if verbose {
            eprintln!("{text}");
        }
    };
    if !redis::available() {
        return Err("redis-server is not installed (cargo xtask load installs it)".into());
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    say(format!(
        "cargo xtask load: snp-vtpm-server (release) with a Redis nonce store, on 127.0.0.1, {cores} cores"
    ));
    let pki = TestPki::shared();
    let dir = std::env::temp_dir().join(format!("snp-vtpm-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let result = run_in(options, pki, &dir, verbose);
    let _ = std::fs::remove_dir_all(&dir);
    let summary = result?;
    if options.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).unwrap_or_default()
        );
    }
    Ok(())
}

fn run_in(
    options: &Options,
    pki: &'static TestPki,
    dir: &Path,
    verbose: bool,
) -> Result<Value, String> {
    let say = |text: String| {
        if verbose {
            eprintln!("{text}");
        }
    };
    let store = Redis::start().map_err(|e| format!("redis-server: {e}"))?;
    let server_binary = sibling("snp-vtpm-server")?;
    let write = |name: &str, text: &str| -> Result<PathBuf, String> {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    };
    let roots = write(
        "test-roots.pem",
        &pki.product(Generation::Milan).vcek_chain_pem(),
    )?;
    let policy = write("policy.json", &policy_document().to_string())?;
    let key = dir.join("signing-key.pem");
    let generated = Command::new(&server_binary)
        .arg("--generate-key")
        .arg(&key)
        .output()
        .map_err(|e| e.to_string())?;
    if !generated.status.success() {
        return Err(String::from_utf8_lossy(&generated.stderr).into_owned());
    }
    let cache = dir.join("cache");
    let server = ServerProcess::start(
        &server_binary,
        &[
            "--listen".as_ref(),
            "127.0.0.1:0".as_ref(),
            "--nonce-store".as_ref(),
            store.url().as_ref(),
            "--offline".as_ref(),
            "--no-crl-fetch".as_ref(),
            "--nonce-ttl".as_ref(),
            "86400".as_ref(),
            "--signing-key".as_ref(),
            key.as_os_str(),
            "--policy".as_ref(),
            policy.as_os_str(),
            "--trust-test-amd-roots".as_ref(),
            roots.as_os_str(),
            "--cache-dir".as_ref(),
            cache.as_os_str(),
        ],
    )
    .map_err(|e| format!("snp-vtpm-server: {e}"))?;
    let base = server.url().to_string();
    let pid = server.pid();
    let mut rss = vec![("started", rss_kib(pid).unwrap_or_default())];

    // Challenges from the service, evidence bound to each (not timed).
    let total = options.requests + options.latency_requests;
    let started = Instant::now();
    let client = agent();
    let nonces: Vec<Vec<u8>> = (0..total)
        .map(|_| challenge(&client, &base))
        .collect::<Result<_, _>>()?;
    let challenge_rate = total as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let pool = make_evidence(pki, &nonces);
    say(format!(
        "  {total} challenges taken ({challenge_rate:.0}/s on one connection), evidence bound to each made in {:.1} s (not timed)",
        started.elapsed().as_secs_f64()
    ));

    // In-process, on the evidence of the throughput phase (the service has not seen it yet;
    // verifying it here consumes nothing).
    let batch = options.requests.min(4_000);
    let in_process_rate = in_process(pki, &pool[..batch], &nonces[..batch])?;
    say(format!(
        "  in-process Verifier::verify_batch ({cores} threads, {batch} evidences, best of 3): {in_process_rate:.0}/s",
        cores = std::thread::available_parallelism().map_or(1, usize::from)
    ));

    // Warm the service's connections and caches on a few, then the two timed phases.
    let (throughput_pool, latency_pool) = pool.split_at(options.requests);
    drive(&base, &throughput_pool[..64], 64)?;
    let (latencies, elapsed) = drive(&base, &throughput_pool[64..], 64)?;
    let throughput = latencies.len() as f64 / elapsed.as_secs_f64();
    rss.push(("after 64 connections", rss_kib(pid).unwrap_or_default()));
    let ratio = throughput / in_process_rate;
    say(format!(
        "  service, 64 connections: {} requests in {:.2} s = {throughput:.0}/s, {:.0} % of in-process (target >= {:.0} %: {})",
        latencies.len(),
        elapsed.as_secs_f64(),
        ratio * 100.0,
        THROUGHPUT_TARGET * 100.0,
        if ratio >= THROUGHPUT_TARGET {
            "met"
        } else {
            "NOT met"
        }
    ));
    let (latencies, _) = drive(&base, latency_pool, 8)?;
    rss.push(("after 8 connections", rss_kib(pid).unwrap_or_default()));
    let (p50, p99, max) = (
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default(),
    );
    say(format!(
        "  service, 8 connections: {} requests, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target p99 <= {} ms: {})",
        latencies.len(),
        millis(p50),
        millis(p99),
        millis(max),
        P99_TARGET.as_millis(),
        if p99 <= P99_TARGET { "met" } else { "NOT met" }
    ));

    let mut soak_json = Value::Null;
    if options.soak_minutes > 0 {
        say(format!(
            "  soak: 8 clients, challenge, fresh evidence, post, for {} min",
            options.soak_minutes
        ));
        let (samples, requests) = soak(&base, pki, pid, options.soak_minutes, verbose)?;
        let first = samples.first().copied().unwrap_or_default();
        let last = samples.last().copied().unwrap_or_default();
        let peak = samples.iter().copied().max().unwrap_or_default();
        say(format!(
            "  soak: {requests} requests; service RSS {:.1} MiB after minute 1, {:.1} MiB at the end, peak {:.1} MiB",
            first as f64 / 1024.0,
            last as f64 / 1024.0,
            peak as f64 / 1024.0
        ));
        soak_json = json!({
            "minutes": options.soak_minutes, "requests": requests,
            "rss_kib_per_minute": samples,
        });
    }
    for (when, kib) in &rss {
        say(format!(
            "  service RSS {when}: {:.1} MiB",
            *kib as f64 / 1024.0
        ));
    }
    drop(server);
    drop(store);
    Ok(json!({
        "cores": std::thread::available_parallelism().map_or(1, usize::from),
        "challenges_per_second_one_connection": challenge_rate,
        "in_process_verify_batch_per_second": in_process_rate,
        "throughput_64_connections_per_second": throughput,
        "throughput_ratio": ratio,
        "latency_8_connections_ms": { "p50": millis(p50), "p99": millis(p99), "max": millis(max) },
        "rss_kib": rss.iter().map(|(when, kib)| json!({ "when": when, "kib": kib })).collect::<Vec<_>>(),
        "soak": soak_json,
    }))
}
