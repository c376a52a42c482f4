//! `fetch`: certificates, CRLs and TDX collateral through the cache (no TPM: the verifier-only
//! build has it too).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use hcl_parse::{Generation, HclReport, SnpReport, TcbVersion};
use snp_vtpm::amd_kds::{ChainKind, VcekRequest};
use snp_vtpm::snp_verify::UnixTime;
use snp_vtpm::tdx_verify::{CollateralRequest, IntelRoots, PckCa};
use snp_vtpm::{Error, Evidence, fetch};

use crate::args::{FetchArgs, TrustArgs};
use crate::exit::ExitCode;
use crate::{Outcome, inputs, output};

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
    #[command(after_help = "Examples:
  snp-vtpm fetch vcek --report hcl-report.bin -o vcek.pem
  snp-vtpm fetch vcek --product Milan --hwid $CHIP_ID_HEX --tcb 7300000000000003 -o vcek.pem
  snp-vtpm fetch vcek --imds -o vcek.pem")]
    Vcek(FetchTarget),
    /// The ASK (or ASVK with --vlek) and ARK of a product
    #[command(after_help = "Examples:
  snp-vtpm fetch chain --product Genoa -o genoa.pem
  snp-vtpm fetch chain --report hcl-report.bin --vlek -o vlek-chain.pem")]
    Chain(FetchTarget),
    /// The CRL of a product (DER)
    #[command(after_help = "Examples:
  snp-vtpm fetch crl --product Milan -o milan.crl
  snp-vtpm verify evidence.json --nonce challenge --crl milan.crl --offline")]
    Crl(FetchTarget),
    /// The Intel collateral of a TD quote (TCB info, QE identity, CRLs): the JSON that
    /// `verify --collateral` reads, for verifying offline later
    #[command(after_help = "Examples:
  snp-vtpm fetch collateral tdx-evidence.json -o intel-collateral.json
  snp-vtpm fetch collateral --fmspc 90C06F000000 --ca platform --pcs-url azure -o collateral.json")]
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
            let quote = if snp_vtpm::decode::is_td_quote(&bytes) {
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
