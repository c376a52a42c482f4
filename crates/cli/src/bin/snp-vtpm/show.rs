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
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// Runs `show`: exit 3 when a policy given with `--policy` or `--preset` is not met.
pub(crate) fn show(args: ShowArgs) -> Outcome {
    let policy_named = args.policy.policy.is_some() || args.policy.preset.is_some();
    // A policy named on the command line must load, whatever the file turns out to be.
    let policy = if policy_named {
        Some(args.policy.load(snp_vtpm::DEFAULT_EVIDENCE_PRESET)?)
    } else {
        None
    };
    let options = DecodeOptions {
        policy,
        catalog: args.policy.catalog()?,
        at: Some(snp_vtpm::snp_verify::UnixTime::from_secs(inputs::now())),
    };
    let bytes = inputs::read(&args.file)?;
    let decoded = decode(&bytes, &options)?;
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
