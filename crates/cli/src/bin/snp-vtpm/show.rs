//! `show`: prints what [`snp_vtpm::decode`] makes of any artifact, for people or as JSON.

use std::path::PathBuf;

use clap::Args;
use snp_vtpm::decode::{DecodeOptions, decode};

use crate::args::PolicyArgs;
use crate::exit::ExitCode;
use crate::{Outcome, inputs, output};

/// Decode any artifact: HCL report, raw SNP report, TD quote, TDREPORT, vTPM quote, certificate,
/// CRL, public key, evidence, TCG event log
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  snp-vtpm show hcl-report.bin
  snp-vtpm show evidence.json --json
  snp-vtpm show report.bin --policy my-policy.toml
  snp-vtpm show vcek.pem
  snp-vtpm show /sys/kernel/security/tpm0/binary_bios_measurements")]
pub(crate) struct ShowArgs {
    /// The file to decode
    pub file: PathBuf,
    /// JSON on stdout (docs/show.schema.json)
    #[arg(long, num_args = 0..=1, require_equals = true, default_value_t = false, default_missing_value = "true", action = clap::ArgAction::Set, value_name = "BOOL")]
    pub json: bool,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// Runs `show`: exit 3 when a policy given with `--policy` or `--preset` is not met.
pub(crate) fn show(args: ShowArgs) -> Outcome {
    let policy_named = args.policy.policy.is_some() || args.policy.preset.is_some();
    // A policy named on the command line must load, whatever the file turns out to be. A
    // policy file extends azure-cvm for a vTPM's report and snp-default for a raw one, as
    // `verify` and `verify-report` read it.
    let (vtpm_policy, raw_report_policy) = if policy_named {
        let [vtpm, raw] = args.policy.load_each([
            snp_vtpm::DEFAULT_EVIDENCE_PRESET,
            snp_vtpm::DEFAULT_REPORT_PRESET,
        ])?;
        (Some(vtpm), Some(raw))
    } else {
        (None, None)
    };
    let options = DecodeOptions {
        vtpm_policy,
        raw_report_policy,
        catalog: args.policy.catalog()?,
        at: Some(snp_vtpm::snp_verify::UnixTime::from_secs(inputs::now())),
    };
    let bytes = inputs::read(&args.file)?;
    let decoded = decode(&bytes, &options)?;
    if policy_named && decoded.policy_outcome().is_none() {
        return Err(snp_vtpm::Error::input(format!(
            "--policy/--preset: {} is a {} and holds no SNP report to hold against the policy (TDX evidence and quotes are appraised by `snp-vtpm verify`)",
            output::printable_value(&args.file.display().to_string()),
            output::printable_value(decoded.kind())
        )));
    }
    if args.json {
        output::print_json(decoded.json());
    } else {
        output::out(&output::printable(&decoded.text()));
    }
    match decoded.policy_outcome() {
        Some(outcome) if policy_named && !outcome.unmet().is_empty() => Ok(ExitCode::Policy),
        _ => Ok(ExitCode::Verified),
    }
}
