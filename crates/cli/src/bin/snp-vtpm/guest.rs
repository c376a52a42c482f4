//! Guest commands (`report`, `quote`, `evidence`) and `fetch`.

use std::path::PathBuf;

use crate::exit::ExitCode;
use clap::Args;
use hcl_parse::HclReport;
use snp_vtpm::attester::{Attester, AttesterOptions};
use snp_vtpm::snp_verify::UnixTime;
use snp_vtpm::vtpm_quote::guest::Vtpm;
use snp_vtpm::vtpm_quote::{HashAlg, PcrBankSelection, QuoteFile};
use snp_vtpm::{
    Certificates, DEFAULT_EVIDENCE_PRESET, Error, VerdictDocument, Verifier, VerifyOptions, fetch,
};

use crate::args::{FetchArgs, NonceArgs, PolicyArgs, TctiArgs, TrustArgs};
use crate::{Outcome, inputs, output};

/// Read the HCL report (from the vTPM or a file), verify its SNP report and binding, print it
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sudo snp-vtpm report --print
  snp-vtpm report --file hcl-report.bin --chain amd-milan.pem --offline --json")]
pub(crate) struct ReportArgs {
    /// Read the report from this file instead of the vTPM
    #[arg(short = 'f', long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Print every field of the report and the runtime claims
    #[arg(short = 'p', long)]
    pub print: bool,
    /// One JSON document on stdout
    #[arg(long, num_args = 0..=1, require_equals = true, default_value_t = false, default_missing_value = "true", action = clap::ArgAction::Set, value_name = "BOOL")]
    pub json: bool,
    /// Get the VCEK and chain from Azure IMDS (then KDS)
    #[arg(short = 'i', long, conflicts_with = "kds")]
    pub imds: bool,
    /// Get the VCEK and chain from AMD KDS only
    #[arg(long)]
    pub kds: bool,
    /// PEM file with the VCEK and/or the ASK and ARK; repeatable
    #[arg(long, value_name = "PEM")]
    pub chain: Vec<PathBuf>,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub tcti: TctiArgs,
    #[command(flatten)]
    pub fetch: FetchArgs,
}

impl ReportArgs {
    /// `snp-vtpm -p`: print the vTPM's report, certificates from IMDS.
    pub(crate) fn print_from_vtpm(tcti: Option<String>, offline: bool) -> Self {
        Self {
            file: None,
            print: true,
            json: false,
            imds: false,
            kds: false,
            chain: Vec::new(),
            policy: PolicyArgs {
                policy: None,
                preset: None,
                firmware_catalog: std::env::var_os("SNP_VTPM_FIRMWARE_CATALOG").map(Into::into),
            },
            tcti: TctiArgs {
                tcti: tcti.or_else(|| std::env::var("SNP_VTPM_TCTI").ok()),
            },
            fetch: FetchArgs {
                kds_url: None,
                imds_url: None,
                cache_dir: None,
                no_cache: false,
                offline,
                pcs_urls: Vec::new(),
                root_ca_crl_url: None,
            },
        }
    }
}

/// Runs `report`.
pub(crate) fn report(args: ReportArgs) -> Outcome {
    let bytes = match &args.file {
        Some(path) => inputs::read(path)?,
        None => Vtpm::open(args.tcti.tcti.as_deref())
            .and_then(|mut v| v.hcl_report())
            .map_err(Error::from)?,
    };
    let result = verify_hcl(&args, &bytes);
    let decoded = snp_vtpm::decode::decode_hcl(&bytes)?;
    match (result, args.json) {
        (result, true) => {
            let code = result
                .as_ref()
                .map_or_else(ExitCode::of, |_| ExitCode::Verified);
            let hint = result.as_ref().err().and_then(output::hint_for);
            output::print_json(
                &VerdictDocument::of(result)
                    .with_hint(hint)
                    .with_decoded(decoded.into_json()),
            );
            Ok(code)
        }
        (Ok(verified), false) => {
            output::out(&format!(
                "VERIFIED: SNP report signed by AMD, known firmware, runtime claims bound. No quote or nonce was checked: this does not show the vTPM is live or the report fresh (use `snp-vtpm evidence` and `verify`)\n{}",
                output::describe_report(&verified)
            ));
            if args.print {
                output::out(&output::printable(decoded.fields_text()));
            }
            Ok(ExitCode::Verified)
        }
        (Err(error), false) => {
            if args.print {
                output::out(&output::printable(&format!(
                    "DECODED ONLY: verification failed (below), so none of this is vouched for\n{}",
                    decoded.fields_text()
                )));
            }
            Err(error)
        }
    }
}

fn verify_hcl(
    args: &ReportArgs,
    bytes: &[u8],
) -> Result<snp_vtpm::snp_verify::VerifiedReport, Error> {
    let hcl = HclReport::parse(bytes).map_err(|e| Error::input(e.to_string()))?;
    let report = hcl.snp_report().map_err(|e| Error::input(e.to_string()))?;
    let mut certificates = Certificates::default();
    for path in &args.chain {
        certificates.add_file(&inputs::read(path)?)?;
    }
    if certificates.leaves.is_empty() || certificates.ca.is_empty() {
        let use_imds = args.imds || (args.file.is_none() && !args.kds);
        let source = args.fetch.options(use_imds).source()?;
        let (have_leaf, have_chain) =
            (!certificates.leaves.is_empty(), !certificates.ca.is_empty());
        fetch::complete(
            &source,
            &report,
            None,
            have_leaf,
            have_chain,
            &mut certificates,
        )?;
    }
    let policy = args.policy.load(DEFAULT_EVIDENCE_PRESET)?;
    let options = VerifyOptions::at(UnixTime::from_secs(inputs::now()));
    Verifier::new(policy)
        .with_firmware_catalog(args.policy.catalog()?)
        .verify_hcl_report(bytes, &certificates, &options)
}

/// Quote the vTPM's PCRs with a nonce (guest)
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sudo snp-vtpm quote --nonce challenge -o quote.json
  sudo snp-vtpm quote --nonce-hex 00112233 --pcr-select 0-7,14")]
pub(crate) struct QuoteArgs {
    #[command(flatten)]
    pub nonce: NonceArgs,
    /// SHA-256 PCRs to quote, e.g. 0-23 (default) or 0,4,7
    #[arg(long, value_name = "LIST", default_value = "0-23")]
    pub pcr_select: String,
    /// Write the quote JSON here instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub tcti: TctiArgs,
}

/// Runs `quote`.
pub(crate) fn quote(args: QuoteArgs) -> Outcome {
    // Every argument is checked before the TPM is touched.
    let nonce = vtpm_nonce(&args.nonce)?;
    let indices = inputs::pcr_list(&args.pcr_select, "--pcr-select")?;
    if let Some(path) = &args.output {
        output::check_writable(path, "-o")?;
    }
    let mut vtpm = Vtpm::open(args.tcti.tcti.as_deref()).map_err(Error::from)?;
    let selection = [PcrBankSelection {
        bank: HashAlg::Sha256,
        indices: indices.clone(),
    }];
    let quote = vtpm.quote(&nonce, &selection).map_err(Error::from)?;
    let contiguous = indices
        .iter()
        .enumerate()
        .all(|(i, &index)| usize::from(index) == i);
    let file = QuoteFile {
        signature: hcl_parse::HexBytes(quote.signature),
        message: hcl_parse::HexBytes(quote.message),
        pcrs: quote
            .pcrs
            .iter()
            .map(|(_, _, v)| hcl_parse::HexBytes(v.to_vec()))
            .collect(),
        pcr_indices: (!contiguous).then_some(indices),
    };
    let mut json = serde_json::to_vec_pretty(&file).map_err(|e| Error::input(e.to_string()))?;
    json.push(b'\n');
    output::write_out(args.output.as_deref(), &json)?;
    Ok(ExitCode::Verified)
}

/// Gather evidence for a verifier's nonce (guest: an Azure SEV-SNP or TDX CVM)
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sudo snp-vtpm evidence --nonce-hex $NONCE --fresh -o evidence.json
  sudo snp-vtpm evidence --nonce challenge --no-certs")]
pub(crate) struct EvidenceArgs {
    #[command(flatten)]
    pub nonce: NonceArgs,
    /// Bind the report to the nonce first (writes it to NV 0x01400002); evidence version 2
    #[arg(long)]
    pub fresh: bool,
    /// Do not fetch certificates: no VCEK and chain (the verifier fetches them), no AK
    /// certificate issuers. (On TDX the TD quote is still asked from IMDS at --imds-url:
    /// it is part of the evidence)
    #[arg(long)]
    pub no_certs: bool,
    /// Write the evidence here instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub tcti: TctiArgs,
    #[command(flatten)]
    pub fetch: FetchArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// PEM file with the root the AK certificate's path must end at, instead of Azure's pinned
    /// vTPM root, before fetched issuers are cached; caIssuers URLs may then name any host
    /// (test and private PKIs only)
    #[arg(long, env = "SNP_VTPM_TRUST_VTPM_ROOT", value_name = "PEM")]
    pub trust_vtpm_root: Option<PathBuf>,
}

/// Runs `evidence`.
pub(crate) fn evidence(args: EvidenceArgs) -> Outcome {
    // Every argument is checked before the TPM is touched (with --fresh, NV 0x01400002 is
    // written: not for output that cannot be kept).
    let nonce = vtpm_nonce(&args.nonce)?;
    if let Some(path) = &args.output {
        output::check_writable(path, "-o")?;
    }
    let options = attester_options(
        args.no_certs,
        &args.fetch,
        &args.trust,
        args.trust_vtpm_root.as_ref(),
    )?;
    let mut attester = Attester::open(args.tcti.tcti.as_deref(), options)?;
    let evidence = attester.evidence(&nonce, args.fresh)?;
    for warning in attester.warnings() {
        // Names and URLs come from the vTPM's certificate: no terminal controls.
        output::err(&format!("warning: {}", output::printable_value(warning)));
    }
    output::write_out(args.output.as_deref(), &evidence.to_json())?;
    Ok(ExitCode::Verified)
}

/// The attester's options: certificates fetched unless `no_certs` (through `fetch`, checked
/// under `trust`'s roots, AK certificate issuers under `vtpm_root` when given), and the TD
/// quote asked from `--imds-url`.
pub(crate) fn attester_options(
    no_certs: bool,
    fetch: &FetchArgs,
    trust: &TrustArgs,
    vtpm_root_pem: Option<&PathBuf>,
) -> Result<AttesterOptions, Error> {
    let fetch_options = if no_certs {
        None
    } else {
        let mut options = trust.apply(fetch.options(true))?;
        if let Some(path) = vtpm_root_pem {
            options.vtpm_anchors = Some(vtpm_root(&inputs::read(path)?)?);
        }
        Some(options)
    };
    Ok(AttesterOptions {
        fetch: fetch_options,
        td_quote_url: fetch.imds_url.clone(),
        ..AttesterOptions::default()
    })
}

/// The vTPM anchors of a PEM file holding one root certificate.
fn vtpm_root(pem: &[u8]) -> Result<snp_vtpm::vtpm_akcert::VtpmAnchors, Error> {
    let certificates = snp_vtpm::certs::certificates(pem)?;
    match certificates.as_slice() {
        [root] => Ok(snp_vtpm::vtpm_akcert::VtpmAnchors::test_root(root)),
        found => Err(Error::input(format!(
            "--trust-vtpm-root: expected one root certificate, found {}",
            found.len()
        ))),
    }
}

/// The nonce, refused before the TPM is opened when the Azure vTPM could not carry it.
pub(crate) fn vtpm_nonce(nonce: &NonceArgs) -> Result<Vec<u8>, Error> {
    let bytes = nonce.bytes()?;
    let max = snp_vtpm::vtpm_quote::guest::MAX_NONCE_LEN;
    if bytes.is_empty() || bytes.len() > max {
        return Err(Error::input(format!(
            "a nonce of {} bytes: the Azure vTPM quotes 1 to {max} (give a shorter one, or its hash)",
            bytes.len()
        )));
    }
    Ok(bytes)
}
