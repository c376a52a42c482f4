//! `cargo xtask fuzz`: seed corpora, live fuzzing sessions and their figures.
//!
//! - `cargo xtask fuzz seeds` writes the seed corpora into `fuzz/corpus/<target>/`, generated
//!   from `../shared/vectors` and the test PKI (`snp_vtpm_testkit::fuzzing::seeds`).
//! - `cargo xtask fuzz [--seconds N] [--parallel P] [TARGET...]` installs cargo-fuzz when it
//!   is missing, writes the seeds, then runs every target (or the ones named) for N seconds
//!   each (default 60), P at a time (default 1), and fails if any target crashed. It prints the
//!   executions per target and in total.
//! - `cargo xtask fuzz replay` runs every target once over its corpus and `fuzz/regressions/`
//!   (`-runs=0`): what CI does without nightly is `cargo test --test fuzz_replay`.
//!
//! Targets build with debug assertions (overflow checks) and no sanitizer: the project has no
//! `unsafe`, so AddressSanitizer would only halve the speed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use snp_vtpm_testkit::fuzzing::{TARGETS, seeds};

use crate::setup::{step, workspace_root};

const DEFAULT_SECONDS: u64 = 60;

/// Entry point of `cargo xtask fuzz`.
pub(crate) fn fuzz(args: &[String]) -> Result<(), String> {
    let mut seconds = DEFAULT_SECONDS;
    let mut parallel = 1usize;
    let mut targets: Vec<String> = Vec::new();
    let mut mode = Mode::Run;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "seeds" => mode = Mode::Seeds,
            "replay" => mode = Mode::Replay,
            "--seconds" => seconds = number(args.next(), "--seconds")?,
            "--parallel" => parallel = number(args.next(), "--parallel")?.max(1) as usize,
            name if TARGETS.contains(&name) => targets.push(name.to_string()),
            other => {
                return Err(format!(
                    "cargo xtask fuzz: unknown argument {other:?} (targets: {})",
                    TARGETS.join(", ")
                ));
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|t| t.to_string()).collect();
    }
    let written = write_seeds()?;
    match mode {
        Mode::Seeds => {
            eprintln!(
                "wrote {written} seed inputs into {}",
                corpus_dir().display()
            );
            Ok(())
        }
        Mode::Replay => {
            ensure_cargo_fuzz()?;
            replay(&targets)
        }
        Mode::Run => {
            ensure_cargo_fuzz()?;
            run_sessions(&targets, seconds, parallel)
        }
    }
}

#[derive(Clone, Copy)]
enum Mode {
    Seeds,
    Replay,
    Run,
}

fn number(value: Option<&String>, flag: &str) -> Result<u64, String> {
    value
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("{flag} needs a whole number"))
}

fn fuzz_dir() -> PathBuf {
    workspace_root().join("fuzz")
}

fn corpus_dir() -> PathBuf {
    fuzz_dir().join("corpus")
}

fn regressions_dir(target: &str) -> PathBuf {
    fuzz_dir().join("regressions").join(target)
}

/// Writes every seed into `fuzz/corpus/<target>/seed-<name>`; returns how many.
fn write_seeds() -> Result<usize, String> {
    step("generating seed corpora from ../shared/vectors and the test PKI");
    let seeds = seeds();
    for seed in &seeds {
        let dir = corpus_dir().join(seed.target);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = dir.join(format!("seed-{}", seed.name));
        std::fs::write(&path, &seed.data).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(seeds.len())
}

/// `cargo +nightly fuzz ...` from `fuzz/`, without the outer cargo's target dir or toolchain.
fn cargo_fuzz() -> Command {
    let mut command = Command::new("cargo");
    command
        .args(["+nightly", "fuzz"])
        .current_dir(fuzz_dir())
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC");
    command
}

/// Build flags of every session: release, debug assertions (overflow checks), no sanitizer.
const BUILD_FLAGS: [&str; 4] = ["--release", "--debug-assertions", "--sanitizer", "none"];

fn ensure_cargo_fuzz() -> Result<(), String> {
    let present = cargo_fuzz()
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if present {
        return Ok(());
    }
    step("installing cargo-fuzz");
    let status = Command::new("cargo")
        .args(["+nightly", "install", "cargo-fuzz", "--locked"])
        .env_remove("RUSTUP_TOOLCHAIN")
        .status()
        .map_err(|e| format!("cannot run cargo install: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`cargo +nightly install cargo-fuzz --locked` failed ({status}); a nightly toolchain is needed (rustup toolchain install nightly)"
        ))
    }
}

fn build() -> Result<(), String> {
    step("building the fuzz targets (nightly, release, debug assertions)");
    let status = cargo_fuzz()
        .arg("build")
        .args(BUILD_FLAGS)
        .status()
        .map_err(|e| format!("cannot run cargo fuzz: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo fuzz build failed ({status})"))
    }
}

/// The result of one session.
struct Session {
    target: String,
    executions: Option<u64>,
    crashed: bool,
    artifact: Option<String>,
    log: PathBuf,
}

fn run_sessions(targets: &[String], seconds: u64, parallel: usize) -> Result<(), String> {
    build()?;
    step(&format!(
        "fuzzing {} targets for {seconds} s each, {parallel} at a time",
        targets.len()
    ));
    let mut sessions = Vec::new();
    for group in targets.chunks(parallel) {
        let running: Vec<_> = group
            .iter()
            .map(|target| start_session(target, seconds).map(|child| (target.clone(), child)))
            .collect::<Result<_, _>>()?;
        for (target, (child, log)) in running {
            sessions.push(finish_session(target, child, log)?);
        }
    }
    report(&sessions, seconds)
}

fn start_session(target: &str, seconds: u64) -> Result<(std::process::Child, PathBuf), String> {
    let corpus = corpus_dir().join(target);
    let log = fuzz_dir().join("artifacts").join(format!("{target}.log"));
    if let Some(parent) = log.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    eprintln!("  {target}: log in {}", log.display());
    let child = cargo_fuzz()
        .arg("run")
        .args(BUILD_FLAGS)
        .arg(target)
        .arg(&corpus)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg("-print_final_stats=1")
        .arg("-timeout=30")
        .arg("-rss_limit_mb=4096")
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .map_err(|e| format!("cannot run cargo fuzz: {e}"))?;
    Ok((child, log))
}

fn finish_session(
    target: String,
    mut child: std::process::Child,
    log: PathBuf,
) -> Result<Session, String> {
    let status = child
        .wait()
        .map_err(|e| format!("cargo fuzz run {target}: {e}"))?;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    Ok(Session {
        executions: executions(&text),
        crashed: !status.success(),
        artifact: text
            .lines()
            .find_map(|line| line.split_once("Test unit written to "))
            .map(|(_, path)| path.trim().to_string()),
        target,
        log,
    })
}

/// Executions from libFuzzer's final statistics (`stat::number_of_executed_units: N`), else
/// from its last `#N ...` status line.
fn executions(log: &str) -> Option<u64> {
    let from_stats = log.lines().find_map(|line| {
        line.strip_prefix("stat::number_of_executed_units:")
            .and_then(|n| n.trim().parse().ok())
    });
    from_stats.or_else(|| {
        log.lines().rev().find_map(|line| {
            let rest = line.strip_prefix('#')?;
            rest.split_whitespace().next()?.parse().ok()
        })
    })
}

fn report(sessions: &[Session], seconds: u64) -> Result<(), String> {
    step("fuzzing results");
    let mut total = 0u64;
    for session in sessions {
        let executions = session.executions.unwrap_or(0);
        total += executions;
        let outcome = if session.crashed { "CRASH" } else { "ok" };
        eprintln!(
            "  {:<16} {:>12} executions in {seconds} s ({:>8}/s)  {outcome}",
            session.target,
            executions,
            executions / seconds.max(1),
        );
    }
    eprintln!(
        "  {:<16} {:>12} executions in {} targets",
        "total",
        total,
        sessions.len()
    );
    let crashed: Vec<&Session> = sessions.iter().filter(|s| s.crashed).collect();
    if crashed.is_empty() {
        return Ok(());
    }
    for session in &crashed {
        eprintln!(
            "\n{} crashed (log: {}){}",
            session.target,
            session.log.display(),
            session
                .artifact
                .as_deref()
                .map(|a| format!("\n  input: fuzz/{a}\n  minimise: cargo +nightly fuzz tmin {} {a}\n  then fix the root cause and save the input in {}", session.target, regressions_dir(&session.target).display()))
                .unwrap_or_default()
        );
    }
    Err(format!(
        "{} of {} fuzz targets crashed: {}",
        crashed.len(),
        sessions.len(),
        crashed
            .iter()
            .map(|s| s.target.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// Runs every target once over its corpus and its saved crash inputs.
fn replay(targets: &[String]) -> Result<(), String> {
    build()?;
    for target in targets {
        step(&format!("replaying {target}"));
        let mut command = cargo_fuzz();
        command
            .arg("run")
            .args(BUILD_FLAGS)
            .arg(target)
            .arg(corpus_dir().join(target));
        let regressions = regressions_dir(target);
        if has_files(&regressions) {
            command.arg(&regressions);
        }
        let status = command
            .args(["--", "-runs=0"])
            .status()
            .map_err(|e| format!("cannot run cargo fuzz: {e}"))?;
        if !status.success() {
            return Err(format!(
                "{target}: an input of the corpus or regressions crashes"
            ));
        }
    }
    Ok(())
}

fn has_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
}

#[cfg(test)]
mod tests {
    use super::executions;

    #[test]
    fn executions_come_from_the_final_statistics_or_the_last_status_line() {
        let log = "#2\tINITED cov: 10\n#4096\tpulse  cov: 12\n#52341\tDONE   cov: 99 ft: 1\nstat::number_of_executed_units: 52342\n";
        assert_eq!(executions(log), Some(52342));
        assert_eq!(executions("#1\tINITED\n#77\tDONE   cov: 3\n"), Some(77));
        assert_eq!(executions("no numbers"), None);
    }
}
