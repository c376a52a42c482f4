//! `snp-vtpm`: attestation for Azure SEV-SNP and TDX confidential VMs from the command line.

mod args;
#[cfg(feature = "attester")]
mod attest;
mod exit;
mod fetch;
#[cfg(feature = "attester")]
mod guest;
mod inputs;
mod output;
mod policy;
mod show;
mod token;
mod verify;

use std::process::ExitCode as ProcessExit;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use snp_vtpm::Error;

use crate::exit::ExitCode;

const EXIT_CODES: &str = "\
Exit codes:
  0  verified (or the command succeeded)
  1  usage error, or unreadable or malformed input
  2  a cryptographic, binding or freshness check failed (chain, expired or revoked certificate,
     hwID/TCB, signature, report_data, AK, qualifiedSigner, quote signature, nonce, PCR digest,
     event log replay, user-data)
  3  a policy check failed (firmware identity, TCB minima, debug, VMPL, PCR values,
     vm-configuration, event log requirements)
  4  certificates, CRL or TDX collateral unavailable (offline and not cached, KDS or PCS
     refused after retries, or sent something that does not verify)
  5  TPM error";

/// Attestation for Azure SEV-SNP and TDX confidential VMs: read the vTPM's HCL report, quote,
/// gather evidence on the guest; verify evidence anywhere, in pure Rust, against AMD's or
/// Intel's pinned roots.
#[derive(Debug, Parser)]
#[command(name = "snp-vtpm", version, after_help = EXIT_CODES, args_conflicts_with_subcommands = true)]
struct Cli {
    /// Print the vTPM's HCL report (same as `report --print`; as the original az-snp-vtpm tool)
    #[cfg(feature = "attester")]
    #[arg(short = 'p', long = "print")]
    print: bool,

    /// With -p: the TPM's TCTI (default device:/dev/tpmrm0)
    #[cfg(feature = "attester")]
    #[arg(long, value_name = "TCTI", requires = "print")]
    tcti: Option<String>,

    /// With -p: certificates from files and the cache only
    #[cfg(feature = "attester")]
    #[arg(long, requires = "print")]
    offline: bool,

    /// Let libtss2 log to stderr as it would by itself (it is silenced unless TSS2_LOG is set)
    #[cfg(feature = "attester")]
    #[arg(long, global = true)]
    verbose: bool,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[cfg(feature = "attester")]
    Report(guest::ReportArgs),
    #[cfg(feature = "attester")]
    Quote(guest::QuoteArgs),
    #[cfg(feature = "attester")]
    Evidence(guest::EvidenceArgs),
    #[cfg(feature = "attester")]
    Attest(attest::AttestArgs),
    Verify(verify::VerifyArgs),
    VerifyReport(verify::VerifyReportArgs),
    VerifyToken(token::VerifyTokenArgs),
    Fetch(fetch::FetchCommand),
    Show(show::ShowArgs),
    Policy(policy::PolicyCommand),
}

fn main() -> ProcessExit {
    let command = Cli::command().long_version(snp_vtpm::BuildInfo::current().to_string());
    let matches = match command.try_get_matches() {
        Ok(matches) => matches,
        Err(e) => {
            // clap's own errors are usage errors (1); help and version are success. Under
            // --json, a usage error is the one JSON document on stdout, as any failure is.
            let json_asked = std::env::args_os()
                .any(|a| a == "--json" || a.to_string_lossy().starts_with("--json="));
            if e.use_stderr() && json_asked {
                output::usage_error_json(&e.render().to_string());
            } else {
                let _ = e.print();
            }
            return ProcessExit::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ProcessExit::from(1);
        }
    };
    #[cfg(feature = "attester")]
    if let Some(code) = quiet_tss2(&cli) {
        return code;
    }
    let json = wants_json(&cli);
    let result = match cli.command {
        #[cfg(feature = "attester")]
        Some(Command::Report(args)) => guest::report(args),
        #[cfg(feature = "attester")]
        Some(Command::Quote(args)) => guest::quote(args),
        #[cfg(feature = "attester")]
        Some(Command::Evidence(args)) => guest::evidence(args),
        #[cfg(feature = "attester")]
        Some(Command::Attest(args)) => attest::attest(args),
        Some(Command::Verify(args)) => verify::verify(args),
        Some(Command::VerifyReport(args)) => verify::verify_report(args),
        Some(Command::VerifyToken(args)) => token::verify_token_command(args),
        Some(Command::Fetch(args)) => fetch::fetch(args),
        Some(Command::Show(args)) => show::show(args),
        Some(Command::Policy(args)) => policy::policy(args),
        #[cfg(feature = "attester")]
        None if cli.print => guest::report(guest::ReportArgs::print_from_vtpm(
            cli.tcti.clone(),
            cli.offline,
        )),
        None => {
            let _ = Cli::command().print_help();
            return ProcessExit::from(1);
        }
    };
    let code = match result {
        Ok(code) => code,
        // Under --json, every failure is the one JSON document (commands that print their
        // verdicts as JSON already did; this is what failed before one could be written).
        Err(error) if json => output::report_result::<()>(Err(error), true, |_| String::new())
            .unwrap_or(ExitCode::Input),
        Err(error) => {
            // One line: an error quotes evidence (command lines, names), which must not start
            // lines of its own.
            output::err(&format!(
                "snp-vtpm: {}",
                output::printable_value(&error.to_string())
            ));
            if let Some(hint) = output::hint_for(&error) {
                output::err(&format!(
                    "snp-vtpm: hint: {}",
                    output::printable_value(&hint)
                ));
            }
            ExitCode::of(&error)
        }
    };
    // A reader that stopped early (`| head`) does not change the verdict; any other failure to
    // write the output is an error of its own.
    match output::stdout_failure() {
        Some(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            output::err(&format!("snp-vtpm: cannot write output: {e}"));
            ProcessExit::from(ExitCode::Input as u8)
        }
        _ => ProcessExit::from(code as u8),
    }
}

#[cfg(feature = "attester")]
/// libtss2 logs to stderr by itself, and its lines bury the cause of a TPM error that the
/// tool states. It reads its level from `TSS2_LOG` when loaded, and a Rust program cannot set
/// its own environment safely: so a command that opens the TPM runs this binary again with
/// `TSS2_LOG=all+NONE` (in place of this process), unless the user set `TSS2_LOG` or passed
/// `--verbose`.
fn quiet_tss2(cli: &Cli) -> Option<ProcessExit> {
    let opens_tpm = match &cli.command {
        Some(Command::Report(args)) => args.file.is_none(),
        Some(Command::Quote(_) | Command::Evidence(_) | Command::Attest(_)) => true,
        None => cli.print,
        _ => false,
    };
    let user_set = std::env::var_os("TSS2_LOG").is_some_and(|v| !v.is_empty());
    if !opens_tpm || cli.verbose || user_set {
        return None;
    }
    let program = std::env::current_exe().ok()?;
    // Started through the dynamic loader (`ld-linux... snp-vtpm`): running "itself" would run
    // the loader; keep libtss2's log rather than guess.
    let name = program.file_name()?.to_string_lossy();
    if name.starts_with("ld-") || name.starts_with("ld.") {
        return None;
    }
    // The image is replaced, not forked: one process, its PID, its signals and exit code.
    use std::os::unix::process::CommandExt;
    let error = std::process::Command::new(program)
        .args(std::env::args_os().skip(1))
        .env("TSS2_LOG", "all+NONE")
        .exec();
    // exec returns only when it failed: go on with libtss2's log as it is.
    output::err(&format!(
        "snp-vtpm: cannot silence libtss2's log ({error}): going on"
    ));
    None
}

/// Whether the command was asked for JSON output.
fn wants_json(cli: &Cli) -> bool {
    match &cli.command {
        Some(Command::Verify(args)) => args.json,
        Some(Command::VerifyReport(args)) => args.json,
        Some(Command::Show(args)) => args.json,
        Some(Command::Policy(args)) => args.json(),
        #[cfg(feature = "attester")]
        Some(Command::Report(args)) => args.json,
        #[cfg(feature = "attester")]
        Some(Command::Attest(args)) => args.json,
        _ => false,
    }
}

/// The result of a command: an exit code (0 unless a verdict says otherwise), or an error
/// printed on stderr.
pub(crate) type Outcome = Result<ExitCode, Error>;
