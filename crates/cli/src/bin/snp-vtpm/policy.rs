//! `policy`: the firmware catalog, and (next) policies captured from trusted evidence.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::exit::ExitCode;
use crate::{Outcome, output};

/// Work with policies and the firmware catalog
#[derive(Debug, Args)]
pub(crate) struct PolicyCommand {
    #[command(subcommand)]
    command: PolicySubcommand,
}

#[derive(Debug, Subcommand)]
enum PolicySubcommand {
    Catalog(CatalogArgs),
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
    #[arg(long)]
    json: bool,
}

/// Runs `policy`.
pub(crate) fn policy(command: PolicyCommand) -> Outcome {
    match command.command {
        PolicySubcommand::Catalog(args) => catalog(args),
    }
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
