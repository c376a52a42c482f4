//! Output: human text by default; with `--json`, one JSON document on stdout for success and
//! failure alike (docs/verdict.schema.json).

use serde::Serialize;
use snp_vtpm::{Error, VerdictDocument};

use crate::exit::{self, ExitCode};

/// A hint the command worked out from its own arguments (which flag was meant), given with the
/// next failure instead of the error's generic one.
static CONTEXT_HINT: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Sets the hint for the failure being reported.
pub(crate) fn set_context_hint(hint: String) {
    *CONTEXT_HINT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(hint);
}

/// The hint for a failure: the command's own, else the error's.
pub(crate) fn hint_for(error: &Error) -> Option<String> {
    CONTEXT_HINT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
        .or_else(|| exit::hint(error).map(String::from))
}

/// A command-line usage error under `--json`: the failure document, the error being clap's
/// first line (its usage text stays out of the document).
pub(crate) fn usage_error_json(rendered: &str) {
    let first = rendered.lines().next().unwrap_or_default();
    let message = first.strip_prefix("error: ").unwrap_or(first);
    print_json(&VerdictDocument::<()>::bad_input(message).with_hint(Some("see --help".into())));
}

/// Reports a verification result: JSON on stdout, or human text; returns the exit code.
pub(crate) fn report_result<T: Serialize>(
    result: Result<T, Error>,
    json: bool,
    human: impl FnOnce(&T) -> String,
) -> crate::Outcome {
    match (result, json) {
        (result, true) => {
            let code = result
                .as_ref()
                .map_or_else(ExitCode::of, |_| ExitCode::Verified);
            let hint = result.as_ref().err().and_then(hint_for);
            print_json(&VerdictDocument::of(result).with_hint(hint));
            Ok(code)
        }
        (Ok(value), false) => {
            out(&printable(&human(&value)));
            Ok(ExitCode::Verified)
        }
        (Err(error), false) => Err(error),
    }
}

pub(crate) use snp_vtpm::terminal::{printable, printable_value};

/// Prints a value as pretty JSON on stdout.
pub(crate) fn print_json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => out(&format!("{text}\n")),
        Err(e) => err(&format!("snp-vtpm: cannot write JSON: {e}")),
    }
}

/// The first failure to write stdout (a closed pipe, a full disk): output never panics, and
/// `main` turns this into the exit status.
static STDOUT_FAILURE: std::sync::Mutex<Option<std::io::Error>> = std::sync::Mutex::new(None);

/// Writes text to stdout; a failure is kept for [`stdout_failure`], and later writes are
/// skipped.
pub(crate) fn out(text: &str) {
    write_stdout(text.as_bytes());
}

/// Writes bytes to stdout and flushes; as [`out`].
pub(crate) fn write_stdout(bytes: &[u8]) {
    use std::io::Write;
    let mut failure = STDOUT_FAILURE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if failure.is_some() {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        *failure = Some(e);
    }
}

/// Why stdout could not be written, if it could not.
pub(crate) fn stdout_failure() -> Option<std::io::Error> {
    STDOUT_FAILURE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
}

/// Writes a line to stderr; a closed stderr is ignored (there is nowhere left to say so).
pub(crate) fn err(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Checks that `path` can be written, before the TPM or the network is touched, so that no
/// fresh report or quote is made for output that cannot be kept. Leaves an existing file as
/// it was and no new file behind; pipes and devices are not opened (a reader would see the
/// end of its input), and a symbolic link is judged by what it points to.
pub(crate) fn check_writable(path: &std::path::Path, flag: &str) -> Result<(), Error> {
    let cannot = |e: std::io::Error| {
        Error::input(format!(
            "{flag} {}: cannot write: {e}",
            printable_value(&path.display().to_string())
        ))
    };
    match std::fs::metadata(path) {
        Ok(metadata) if metadata.is_dir() => Err(cannot(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "a directory",
        ))),
        Ok(metadata) if metadata.is_file() => std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map(drop)
            .map_err(cannot),
        // A pipe or a device: opening it would be a write of its own.
        Ok(_) => Ok(()),
        // Nothing there, or a link to nothing: the file the write would create must be
        // creatable (through a link, its target), and is removed again; the link stays.
        Err(_) => {
            let target = match std::fs::read_link(path) {
                Ok(target) if target.is_relative() => path
                    .parent()
                    .map_or_else(|| target.clone(), |dir| dir.join(&target)),
                Ok(target) => target,
                Err(_) => path.to_path_buf(),
            };
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&target)
                .map_err(cannot)?;
            let _ = std::fs::remove_file(&target);
            Ok(())
        }
    }
}

/// Writes bytes to a file (created, or replaced in place: its owner, mode and links stay as
/// they are), or to stdout when no file is named. Everything was computed before: the write
/// is the last step.
pub(crate) fn write_out(path: Option<&std::path::Path>, bytes: &[u8]) -> Result<(), Error> {
    match path {
        Some(path) => std::fs::write(path, bytes).map_err(|e| {
            Error::input(format!(
                "cannot write {}: {e}",
                printable_value(&path.display().to_string())
            ))
        }),
        None => {
            write_stdout(bytes);
            Ok(())
        }
    }
}

/// Human text for a verified report's identity and TCB.
pub(crate) fn describe_report(report: &snp_vtpm::snp_verify::VerifiedReport) -> String {
    use hcl_parse::HexSlice;
    let tcb = report.tcb().reported;
    format!(
        "  product:            {}\n  report version:     {}\n  signing key:        {}\n  VMPL:               {}\n  guest policy:       {:#x} (debug {}, migrate-MA {}, SMT {})\n  reported TCB:       {tcb}\n  measurement:        {}\n  ID-key digest:      {}\n  author-key digest:  {}\n  host_data:          {}\n  chip id:            {}\n  revocation:         {}\n",
        report.product(),
        report.report_version(),
        report.signing_key(),
        report.vmpl(),
        report.policy().raw,
        report.policy().debug_allowed,
        report.policy().migrate_ma_allowed,
        report.policy().smt_allowed,
        HexSlice(report.measurement()),
        HexSlice(report.id_key_digest()),
        HexSlice(report.author_key_digest()),
        HexSlice(report.host_data()),
        HexSlice(report.chip_id()),
        match report.revocation() {
            snp_vtpm::snp_verify::RevocationStatus::Checked { .. } => "checked (CRL)",
            snp_vtpm::snp_verify::RevocationStatus::NotChecked => "NOT checked (no CRL)",
        },
    ) + &warning_lines(report.warnings())
}

/// The lines `verify` prints for a verified TD quote.
pub(crate) fn describe_td_quote(quote: &snp_vtpm::tdx_verify::VerifiedTdQuote) -> String {
    let body = quote.body();
    let tcb = quote.tcb();
    let rtmrs: Vec<String> = body.rtmrs.iter().map(ToString::to_string).collect();
    format!(
        "  platform:           Intel TDX (TD quote v{}{})\n  TCB status:         {}{}{}\n  FMSPC:              {}\n  MRTD:               {}\n  RTMR0-3:            {}\n  TD attributes:      {} (debug {})\n  XFAM:               {}\n  MRSEAM:             {}\n  TEE_TCB_SVN:        {}\n  MRCONFIGID:         {}\n  MROWNER:            {}\n  MROWNERCONFIG:      {}\n",
        quote.version(),
        if quote.under_test_root() {
            ", under a TEST Intel root"
        } else {
            ""
        },
        tcb.status,
        tcb.tcb_date
            .as_deref()
            .map_or_else(String::new, |date| format!(" (TCB level of {date})")),
        if tcb.advisory_ids.is_empty() {
            String::new()
        } else {
            format!("; advisories {}", tcb.advisory_ids.join(", "))
        },
        quote.fmspc(),
        body.mr_td,
        rtmrs.join(" "),
        body.td_attributes,
        body.debug(),
        body.xfam,
        body.mr_seam,
        body.tee_tcb_svn,
        body.mr_config_id,
        body.mr_owner,
        body.mr_owner_config,
    )
}

/// One `warning:` line per warning.
pub(crate) fn warning_lines(warnings: &[String]) -> String {
    warnings
        .iter()
        .map(|w| format!("  warning:            {w}\n"))
        .collect()
}
