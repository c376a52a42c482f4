//! Guest commands (`report`, `quote`, `evidence`) and `fetch`.

use std::path::PathBuf;

use crate::exit::{self, ExitCode};
use clap::{Args, Subcommand};
use hcl_parse::{Generation, HclReport, SnpReport, TcbVersion};
use snp_vtpm::amd_kds::{ChainKind, VcekRequest};
use snp_vtpm::attester::{Attester, AttesterOptions};
use snp_vtpm::snp_verify::UnixTime;
use snp_vtpm::tdx_verify::{CollateralRequest, IntelRoots, PckCa};
use snp_vtpm::vtpm_quote::guest::Vtpm;
use snp_vtpm::vtpm_quote::{HashAlg, PcrBankSelection, QuoteFile};
use snp_vtpm::{
    Certificates, DEFAULT_EVIDENCE_PRESET, Error, Evidence, Verifier, VerifyOptions, fetch,
};

use crate::args::{FetchArgs, NonceArgs, PolicyArgs, TctiArgs, TrustArgs};
use crate::{Outcome, inputs, output, show};

/// Read the HCL report (from the vTPM or a file), verify its SNP report and binding, print it
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sudo snp-vtpm report --print
  snp-vtpm report --file hcl-report.bin --chain amd-milan.pem --offline --json")]
pub(crate) struct ReportArgs {
    /// Read the report from this file instead of the vTPM
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Print every field of the report and the runtime claims
    #[arg(short = 'p', long)]
    pub print: bool,
    /// One JSON document on stdout
    #[arg(long)]
    pub json: bool,
    /// Get the VCEK and chain from Azure IMDS (then KDS)
    #[arg(long, conflicts_with = "kds")]
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
    pub(crate) fn print_from_vtpm() -> Self {
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
                tcti: std::env::var("SNP_VTPM_TCTI").ok(),
            },
            fetch: FetchArgs {
                kds_url: None,
                imds_url: None,
                cache_dir: None,
                no_cache: false,
                offline: false,
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
    let description = show::describe_hcl(&bytes)?;
    match (result, args.json) {
        (Ok(verified), true) => {
            output::print_json(&serde_json::json!({
                "verified": true, "exit_code": 0, "verdict": verified, "report": description.json,
            }));
            Ok(ExitCode::Verified)
        }
        (Ok(verified), false) => {
            output::out(&format!(
                "VERIFIED: SNP report signed by AMD, known firmware, runtime claims bound. No quote or nonce was checked: this does not show the vTPM is live or the report fresh (use `snp-vtpm evidence` and `verify`)\n{}",
                output::describe_report(&verified)
            ));
            if args.print {
                output::out(&output::printable(&description.text));
            }
            Ok(ExitCode::Verified)
        }
        (Err(error), true) => {
            let mut verdict = serde_json::json!({
                "verified": false, "exit_code": ExitCode::of(&error) as u8, "failed_check": error.check(),
                "error": error.message(), "report": description.json,
            });
            if let (Some(hint), Some(fields)) = (exit::hint(&error), verdict.as_object_mut()) {
                fields.insert("hint".into(), hint.into());
            }
            output::print_json(&verdict);
            Ok(ExitCode::of(&error))
        }
        (Err(error), false) => {
            if args.print {
                output::out(&output::printable(&format!(
                    "DECODED ONLY: verification failed (below), so none of this is vouched for\n{}",
                    description.text
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

/// Fetch certificates, a CRL (AMD KDS, Azure IMDS) or TDX collateral (Intel PCS), through the
/// cache
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  snp-vtpm fetch vcek --report hcl-report.bin -o vcek.pem
  snp-vtpm fetch chain --product Genoa -o genoa.pem
  snp-vtpm fetch crl --product Milan -o milan.crl
  snp-vtpm fetch vcek --imds
  snp-vtpm fetch collateral tdx-evidence.json -o intel-collateral.json
  snp-vtpm fetch collateral --fmspc 90C06F000000 --pcs-url azure")]
pub(crate) struct FetchCommand {
    /// What to fetch
    #[command(subcommand)]
    pub what: FetchWhat,
}

/// What `fetch` gets.
#[derive(Debug, Subcommand)]
pub(crate) enum FetchWhat {
    /// The VCEK for a report (or product, hwID and TCB)
    Vcek(FetchTarget),
    /// The ASK (or ASVK with --vlek) and ARK of a product
    Chain(FetchTarget),
    /// The CRL of a product (DER)
    Crl(FetchTarget),
    /// The Intel collateral of a TD quote (TCB info, QE identity, CRLs): the JSON that
    /// `verify --collateral` reads, for verifying offline later
    Collateral(CollateralTarget),
}

/// Which platform's TDX collateral.
#[derive(Debug, Args)]
pub(crate) struct CollateralTarget {
    /// A TD quote, or TDX evidence (JSON) holding one: its PCK certificate names the FMSPC
    /// and CA
    #[arg(value_name = "QUOTE|EVIDENCE", required_unless_present = "fmspc")]
    pub quote: Option<PathBuf>,
    /// The platform's FMSPC (12 hex digits) instead of a quote
    #[arg(long, value_name = "HEX", conflicts_with = "quote")]
    pub fmspc: Option<String>,
    /// The CA that issued the platform's PCK certificate, with --fmspc
    #[arg(
        long,
        value_name = "platform|processor",
        default_value = "platform",
        requires = "fmspc"
    )]
    pub ca: String,
    /// Write here instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub fetch: FetchArgs,
}

/// Which chip, TCB or product.
#[derive(Debug, Args)]
pub(crate) struct FetchTarget {
    /// An HCL report or raw SNP report file to take product, chip id and TCB from
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Milan, Genoa or Turin
    #[arg(long, value_name = "PRODUCT")]
    pub product: Option<String>,
    /// Hardware id in hex (64 bytes; 8 on Turin)
    #[arg(long, value_name = "HEX")]
    pub hwid: Option<String>,
    /// TCB as 16 hex digits (tcbm)
    #[arg(long, value_name = "HEX")]
    pub tcb: Option<String>,
    /// Ask Azure IMDS (the host's own VCEK and chain)
    #[arg(long)]
    pub imds: bool,
    /// The VLEK chain (ASVK) instead of the VCEK chain
    #[arg(long)]
    pub vlek: bool,
    /// Write here instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub fetch: FetchArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
}

fn product_of(target: &FetchTarget, report: Option<&SnpReport<'_>>) -> Result<Generation, Error> {
    if let Some(name) = &target.product {
        return Generation::from_product_name(name)
            .ok_or_else(|| Error::input(format!("unknown product {name}")));
    }
    report
        .and_then(|r| r.generation().ok().flatten())
        .ok_or_else(|| {
            Error::input("give --product (a version 2 report does not name its product)")
        })
}

/// Runs `fetch`.
pub(crate) fn fetch(command: FetchCommand) -> Outcome {
    let target = match &command.what {
        FetchWhat::Collateral(target) => return fetch_collateral(target),
        FetchWhat::Vcek(target) | FetchWhat::Chain(target) | FetchWhat::Crl(target) => target,
    };
    let report_bytes = target
        .report
        .as_ref()
        .map(|p| inputs::read(p))
        .transpose()?;
    let snp_bytes = match &report_bytes {
        Some(bytes) if bytes.starts_with(b"HCLA") => Some(
            HclReport::parse(bytes)
                .map_err(|e| Error::input(e.to_string()))?
                .hardware_report()
                .to_vec(),
        ),
        Some(bytes) => Some(inputs::raw_report(bytes.clone())?),
        None => None,
    };
    let report = snp_bytes
        .as_deref()
        .map(SnpReport::from_bytes)
        .transpose()
        .map_err(|e| Error::input(e.to_string()))?;
    let options = target.trust.apply(target.fetch.options(target.imds))?;
    let source = options.source()?;
    let bytes = match &command.what {
        FetchWhat::Vcek(_) => {
            let request = match (&report, &target.hwid, &target.tcb) {
                (Some(report), _, _) => {
                    let product = match &target.product {
                        Some(_) => Some(product_of(target, None)?),
                        None => None,
                    };
                    if product.is_none() && matches!(report.generation(), Ok(None)) {
                        return Err(Error::input(
                            "a version 2 SNP report does not name its processor: give --product (Milan, Genoa or Turin)",
                        ));
                    }
                    VcekRequest::detect(report, product).map_err(Error::from)?
                }
                (None, Some(hwid), Some(tcb)) => {
                    let product = product_of(target, None)?;
                    let hwid = inputs::hex_bytes(hwid, "--hwid")?;
                    let tcb = u64::from_str_radix(tcb, 16)
                        .map_err(|e| Error::input(format!("--tcb: {e}")))?;
                    let components = TcbVersion(tcb.to_le_bytes()).components(product);
                    VcekRequest::new(product, &hwid, components).map_err(Error::from)?
                }
                (None, _, _) if target.imds => {
                    if options.offline {
                        return Err(Error::input("--imds asks Azure IMDS: not with --offline"));
                    }
                    let vcek = fetch::imds_vcek(&options)?;
                    return write_text(target, vcek.to_pem());
                }
                _ => {
                    return Err(Error::input(
                        "give --report, or --product with --hwid and --tcb, or --imds",
                    ));
                }
            };
            source
                .vcek(&request)
                .map_err(Error::from)?
                .value
                .to_pem()
                .into_bytes()
        }
        FetchWhat::Chain(_) => {
            let kind = if target.vlek {
                ChainKind::Vlek
            } else {
                ChainKind::Vcek
            };
            let product = product_of(target, report.as_ref())?;
            source
                .cert_chain(product, kind)
                .map_err(Error::from)?
                .value
                .to_pem()
                .into_bytes()
        }
        FetchWhat::Collateral(collateral) => return fetch_collateral(collateral),
        FetchWhat::Crl(_) => {
            let product = product_of(target, report.as_ref())?;
            let der = fetch::crl(&source, product)?;
            if target.output.is_none() {
                snp_vtpm::attest_prims::pem::encode(snp_vtpm::attest_prims::pem::CRL, &der)
                    .into_bytes()
            } else {
                der
            }
        }
    };
    output::write_out(target.output.as_deref(), &bytes)?;
    Ok(ExitCode::Verified)
}

/// `fetch collateral`: the collateral of a quote's platform (or of --fmspc and --ca), checked
/// under Intel's pinned root before it is written or cached.
fn fetch_collateral(target: &CollateralTarget) -> Outcome {
    let request = match (&target.quote, &target.fmspc) {
        (Some(path), _) => {
            let bytes = inputs::read(path)?;
            let quote = if show::is_td_quote(&bytes) {
                bytes
            } else {
                Evidence::from_json(&bytes, snp_vtpm::DEFAULT_SIZE_LIMIT)?
                    .td_quote
                    .ok_or_else(|| {
                        Error::input(format!(
                            "{}: neither a TD quote nor TDX evidence holding one",
                            path.display()
                        ))
                    })?
            };
            let now = UnixTime::from_secs(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or_default(),
            );
            CollateralRequest::of_quote(&quote, &IntelRoots::intel(), now).map_err(Error::Tdx)?
        }
        (None, Some(fmspc)) => {
            let fmspc = hex::decode(fmspc.trim())
                .ok()
                .and_then(|bytes| <[u8; 6]>::try_from(bytes).ok())
                .ok_or_else(|| {
                    Error::input(format!(
                        "--fmspc: expected 12 hex digits, found \"{fmspc}\""
                    ))
                })?;
            let ca = PckCa::from_query_value(&target.ca).ok_or_else(|| {
                Error::input(format!(
                    "--ca: expected platform or processor, found \"{}\"",
                    target.ca
                ))
            })?;
            CollateralRequest { fmspc, ca }
        }
        (None, None) => return Err(Error::input("give a QUOTE or EVIDENCE file, or --fmspc")),
    };
    let source = target.fetch.options(false).source()?;
    let collateral = source.tdx_collateral(&request).map_err(Error::from)?;
    output::write_out(
        target.output.as_deref(),
        collateral.value.to_json().as_bytes(),
    )?;
    Ok(ExitCode::Verified)
}

fn write_text(target: &FetchTarget, text: String) -> Outcome {
    output::write_out(target.output.as_deref(), text.as_bytes())?;
    Ok(ExitCode::Verified)
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
