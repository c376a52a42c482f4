//! What a run did: steps with durations, the verdict, the token, the attacks.

use std::time::Instant;

use serde_json::{Value, json};

/// One step and how long it took.
#[derive(Debug, Clone)]
pub struct Step {
    /// What was done.
    pub name: String,
    /// Milliseconds.
    pub millis: u128,
}

/// One attack and how the relying party answered.
#[derive(Debug, Clone)]
pub struct Attack {
    /// What the attacker tried.
    pub name: &'static str,
    /// The HTTP status of the answer.
    pub status: u16,
    /// The check that refused it.
    pub failed_check: String,
    /// The relying party's message.
    pub error: String,
    /// The check it must be refused by.
    pub expected_check: &'static str,
}

impl Attack {
    /// Refused, by the expected check.
    pub fn refused_as_expected(&self) -> bool {
        self.status == 403 && self.failed_check == self.expected_check
    }
}

/// The outcome of a run.
#[derive(Debug, Default)]
pub struct RunReport {
    /// Steps in order.
    pub steps: Vec<Step>,
    /// What shows the honest evidence was accepted: the attestation result (a token that
    /// verified against the service's JWKS) of the local run, `verified` on a host run.
    pub accepted: Option<String>,
    /// The verdict that released it.
    pub verdict: Option<Value>,
    /// The attacks.
    pub attacks: Vec<Attack>,
    /// Processes started (swtpm), to check they are gone.
    pub pids: Vec<u32>,
    /// Print as it goes (not with --json).
    pub verbose: bool,
}

impl RunReport {
    /// Runs `f` as a named step, printing it with its duration.
    pub fn step<T>(
        &mut self,
        name: impl Into<String>,
        f: impl FnOnce() -> Result<T, String>,
    ) -> Result<T, String> {
        let name = name.into();
        let started = Instant::now();
        let result = f();
        let millis = started.elapsed().as_millis();
        if self.verbose {
            let mark = if result.is_ok() { "ok" } else { "FAILED" };
            eprintln!("  [{millis:>5} ms] {name} ... {mark}");
        }
        self.steps.push(Step {
            name: name.clone(),
            millis,
        });
        result.map_err(|e| format!("{name}: {e}"))
    }

    /// Everything went as expected: the honest evidence accepted, every attack refused by its
    /// check.
    pub fn succeeded(&self) -> bool {
        self.accepted.is_some() && self.attacks.iter().all(Attack::refused_as_expected)
    }

    /// The run as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "succeeded": self.succeeded(),
            "accepted": self.accepted.is_some(),
            "token": self.accepted,
            "verdict": self.verdict,
            "attacks": self.attacks.iter().map(|a| json!({
                "attack": a.name, "refused": a.status == 403, "failed_check": a.failed_check,
                "expected_check": a.expected_check, "error": a.error,
            })).collect::<Vec<_>>(),
            "steps": self.steps.iter().map(|s| json!({ "step": s.name, "ms": s.millis })).collect::<Vec<_>>(),
            "total_ms": self.steps.iter().map(|s| s.millis).sum::<u128>(),
        })
    }
}
