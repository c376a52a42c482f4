//! `policy`: capture a policy from evidence you trust, widen it to a fleet, explain one, and
//! list the firmware catalog.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use snp_vtpm::policy_text;
use snp_vtpm::{CaptureOptions, Error, ReferenceValues};

use crate::args::PolicyArgs;
use crate::exit::ExitCode;
use crate::verify::VerifyArgs;
use crate::{Outcome, inputs, output};

/// Work with policies and the firmware catalog
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  snp-vtpm policy capture evidence.json --nonce challenge -o policy.toml
  snp-vtpm policy explain --preset azure-cvm
  snp-vtpm policy catalog")]
pub(crate) struct PolicyCommand {
    #[command(subcommand)]
    command: PolicySubcommand,
}

#[derive(Debug, Subcommand)]
enum PolicySubcommand {
    Capture(Box<CaptureArgs>),
    Explain(ExplainArgs),
    Catalog(CatalogArgs),
}

/// Verify evidence you trust, then write a policy that accepts that VM (and, with --merge,
/// the VMs of an earlier policy) and refuses others
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  snp-vtpm policy capture evidence.json --nonce-hex 0218488b... -o policy.toml
  snp-vtpm policy capture evidence-vm2.json --nonce challenge --merge policy.toml -o policy.toml
  snp-vtpm policy capture evidence.json --nonce challenge --pcrs 0-7,11 --format rvps -o rv.json

Nothing is written when verification fails (exit as verify would); the TOML is read by
`snp-vtpm verify --policy` unchanged.")]
struct CaptureArgs {
    #[command(flatten)]
    verify: VerifyArgs,
    /// PCRs to pin (indices and ranges) [default: 0-5,7-9,11,12,14, those the quote covers]
    #[arg(long, value_name = "LIST", conflicts_with = "merge")]
    pcrs: Option<String>,
    /// A policy written by `policy capture`, widened so it also accepts this VM (the same PCRs
    /// are pinned; allow-lists and PCR values become unions; TCB floors stay per product and
    /// take the lower)
    #[arg(long, value_name = "FILE")]
    merge: Option<PathBuf>,
    /// toml: a policy for `verify --policy`; rvps: trustee reference values of this one VM
    /// (RVPS compares exact values, so merged floors cannot be written as RVPS)
    #[arg(long, value_enum, default_value_t = Format::Toml)]
    format: Format,
    /// Write here instead of stdout (may be the --merge file)
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Capture evidence accepted only through --allow-unknown-firmware: the policy then names
    /// that firmware itself (labs and private firmware only)
    #[arg(long, requires = "allow_unknown_firmware")]
    trust_unknown_firmware: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Toml,
    Rvps,
}

/// Say in words what a policy accepts and refuses
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  snp-vtpm policy explain policy.toml
  snp-vtpm policy explain --preset azure-tdx")]
struct ExplainArgs {
    /// The policy file (TOML or JSON); or --preset
    #[arg(
        value_name = "POLICY",
        required_unless_present = "preset",
        conflicts_with = "preset"
    )]
    file: Option<PathBuf>,
    /// A built-in policy instead of a file
    #[arg(long, value_name = "NAME")]
    preset: Option<String>,
    /// Firmware catalog file over the built-in one
    #[arg(long, env = "SNP_VTPM_FIRMWARE_CATALOG", value_name = "FILE")]
    firmware_catalog: Option<PathBuf>,
}

/// List the firmware catalog: the paravisor identities (SNP ID-key digests and measurements,
/// TDX MRTDs) that make a report's vTPM claims trustworthy
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  snp-vtpm policy catalog
  snp-vtpm policy catalog --firmware-catalog my-catalog.json --json")]
struct CatalogArgs {
    /// Firmware catalog file (JSON) that extends the built-in one, or replaces it when it says
    /// "replace": true
    #[arg(long, env = "SNP_VTPM_FIRMWARE_CATALOG", value_name = "FILE")]
    firmware_catalog: Option<PathBuf>,
    /// The catalog as one JSON document
    #[arg(long, num_args = 0..=1, require_equals = true, default_value_t = false, default_missing_value = "true", action = clap::ArgAction::Set, value_name = "BOOL")]
    json: bool,
}

impl PolicyCommand {
    /// Whether the subcommand was asked for JSON.
    pub(crate) fn json(&self) -> bool {
        match &self.command {
            PolicySubcommand::Capture(args) => args.verify.json,
            PolicySubcommand::Catalog(args) => args.json,
            PolicySubcommand::Explain(_) => false,
        }
    }
}

/// Runs `policy`.
pub(crate) fn policy(command: PolicyCommand) -> Outcome {
    match command.command {
        PolicySubcommand::Capture(args) => capture(*args),
        PolicySubcommand::Explain(args) => explain(args),
        PolicySubcommand::Catalog(args) => catalog(args),
    }
}

/// Runs `policy capture` (under --json, main writes a failure as the verdict document).
fn capture(args: CaptureArgs) -> Outcome {
    // Every argument is checked before the evidence is verified or anything fetched.
    if matches!(args.format, Format::Rvps) && args.merge.is_some() {
        return Err(Error::input(
            "--format rvps writes one VM's exact values; it does not combine with --merge (write one message per VM)",
        ));
    }
    if args.verify.no_nonce {
        return Err(Error::input(
            "policy capture needs the nonce (--nonce or --nonce-hex): a policy is captured from evidence known to be fresh",
        ));
    }
    if let Some(path) = &args.output {
        output::check_writable(path, "-o")?;
    }
    let pcrs = match &args.pcrs {
        Some(list) => Some(inputs::pcr_list(list, "--pcrs")?),
        None => None,
    };
    let old = match &args.merge {
        Some(path) => {
            let policy = PolicyArgs {
                policy: Some(path.clone()),
                preset: None,
                firmware_catalog: None,
            }
            .load(snp_vtpm::DEFAULT_EVIDENCE_PRESET)?;
            Some(ReferenceValues::from_policy(&policy).map_err(|e| {
                Error::input(format!("--merge {}: {}", path.display(), e.message()))
            })?)
        }
        None => None,
    };
    let verified = crate::verify::run_verify(&args.verify)?;
    if snp_vtpm::accepted_unknown_firmware(&verified) && !args.trust_unknown_firmware {
        return Err(Error::input(
            "the evidence was accepted only through --allow-unknown-firmware: a policy captured from it would bless firmware nobody identified; add --trust-unknown-firmware to capture it anyway (labs and private firmware only)",
        ));
    }
    let values = match old {
        Some(old) => snp_vtpm::capture_into(old, &verified, args.trust_unknown_firmware)?,
        None => snp_vtpm::capture(
            &verified,
            &CaptureOptions {
                pcrs,
                trust_unknown_firmware: args.trust_unknown_firmware,
            },
        )?,
    };
    let catalog = args.verify.policy.catalog()?;
    let text = match args.format {
        Format::Toml => policy_text::to_toml(&values, &catalog),
        Format::Rvps => {
            let mut json = serde_json::to_string_pretty(&policy_text::to_rvps(&values))
                .map_err(|e| Error::input(e.to_string()))?;
            json.push('\n');
            json
        }
    };
    output::write_out(args.output.as_deref(), text.as_bytes())?;
    if let Some(path) = &args.output {
        output::err(&format!(
            "snp-vtpm: wrote {} ({})",
            output::printable_value(&path.display().to_string()),
            match args.format {
                Format::Toml => "a policy for `snp-vtpm verify --policy`",
                Format::Rvps => "an RVPS message for trustee's rvps-client register",
            }
        ));
    }
    Ok(ExitCode::Verified)
}

fn explain(args: ExplainArgs) -> Outcome {
    let policy_args = PolicyArgs {
        policy: args.file,
        preset: args.preset,
        firmware_catalog: args.firmware_catalog,
    };
    let policy = policy_args.load(snp_vtpm::DEFAULT_EVIDENCE_PRESET)?;
    let catalog = policy_args.catalog()?;
    output::out(&output::printable(&policy_text::explain(&policy, &catalog)));
    Ok(ExitCode::Verified)
}

fn catalog(args: CatalogArgs) -> Outcome {
    let policy_args = crate::args::PolicyArgs {
        policy: None,
        preset: None,
        firmware_catalog: args.firmware_catalog,
    };
    let catalog = policy_args.catalog()?;
    if args.json {
        output::print_json(&*catalog);
        return Ok(ExitCode::Verified);
    }
    let mut text = format!(
        "firmware catalog {} ({} entries)\n",
        if catalog.version.is_empty() {
            "(no version)"
        } else {
            &catalog.version
        },
        catalog.entries.len()
    );
    for entry in &catalog.entries {
        text.push_str(&format!(
            "\n{}\n  {} {}: {}\n  first seen: {}\n  source: {}\n",
            entry.name,
            entry.platform,
            entry.kind.name(),
            entry.value,
            entry.first_seen,
            entry.source
        ));
    }
    output::out(&output::printable(&text));
    Ok(ExitCode::Verified)
}
