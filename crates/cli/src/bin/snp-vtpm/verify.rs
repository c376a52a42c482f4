//! `verify` (evidence) and `verify-report` (raw SNP reports).

use std::path::PathBuf;

use clap::Args;
use hcl_parse::{Generation, HclReport};
use snp_vtpm::snp_verify::{TrustAnchors, UnixTime};
use snp_vtpm::tdx_verify::Collateral;
use snp_vtpm::vtpm_quote::QuoteFile;
use snp_vtpm::{
    Certificates, Check, DEFAULT_REPORT_PRESET, DEFAULT_TD_QUOTE_PRESET, Error, Evidence,
    EvidenceVersion, ExpectedNonce, Missing, Platform, QuoteParts, VerifiedEvidence, Verifier,
    VerifyOptions, fetch,
};

use crate::args::{FetchArgs, PolicyArgs};
use crate::{Outcome, inputs, output};

/// Verify evidence from an Azure SEV-SNP or TDX CVM against AMD's or Intel's pinned roots and a
/// policy
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  snp-vtpm verify evidence.json --nonce-hex 0218488b... --chain amd-genoa.pem --offline
  snp-vtpm verify evidence.json --nonce challenge --require-fresh-report --json
  snp-vtpm verify --hcl-report hcl.bin --quote quote.bin --vcek vcek.pem --chain chain.pem --nonce challenge
  snp-vtpm verify evidence.json --no-nonce --policy my-policy.toml --at 2025-06-01T00:00:00Z
  snp-vtpm verify tdx-evidence.json --nonce-hex 00112233... --collateral intel-collateral.json --offline")]
pub(crate) struct VerifyArgs {
    /// Evidence JSON (v0, v1, v2 or native); or give the artifacts separately
    #[arg(value_name = "EVIDENCE", required_unless_present = "hcl_report")]
    pub evidence: Option<PathBuf>,
    /// The nonce as text
    #[arg(long, group = "nonce_choice")]
    pub nonce: Option<String>,
    /// The nonce as hex
    #[arg(long, value_name = "HEX", group = "nonce_choice")]
    pub nonce_hex: Option<String>,
    /// Do not check a nonce (replays are then possible; recorded in the verdict)
    #[arg(long, group = "nonce_choice")]
    pub no_nonce: bool,
    /// HCL report file (instead of EVIDENCE)
    #[arg(long, value_name = "FILE", conflicts_with = "evidence")]
    pub hcl_report: Option<PathBuf>,
    /// Quote file: quote.bin or the JSON quote layout
    #[arg(long, value_name = "FILE", requires = "hcl_report", conflicts_with_all = ["quote_msg", "quote_sig"])]
    pub quote: Option<PathBuf>,
    /// Quote message (TPMS_ATTEST), binary
    #[arg(long, value_name = "FILE", requires_all = ["hcl_report", "quote_sig", "pcr_values"])]
    pub quote_msg: Option<PathBuf>,
    /// Quote signature, binary
    #[arg(long, value_name = "FILE", requires = "quote_msg")]
    pub quote_sig: Option<PathBuf>,
    /// SHA-256 PCR values, PCR 0 first: a JSON list of hex strings or one hex value per line
    #[arg(long, value_name = "FILE", requires = "quote_msg")]
    pub pcr_values: Option<PathBuf>,
    /// The VCEK or VLEK (DER or PEM)
    #[arg(long, value_name = "FILE")]
    pub vcek: Option<PathBuf>,
    /// PEM file with the ASK/ASVK and ARK (any order); repeatable
    #[arg(long, value_name = "PEM")]
    pub chain: Vec<PathBuf>,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Require the report to be bound to the nonce (v2 evidence; user-data = nonce, then zeros)
    #[arg(long, conflicts_with = "no_nonce")]
    pub require_fresh_report: bool,
    /// Accept firmware the policy does not identify (tests and labs only; recorded in the verdict)
    #[arg(long)]
    pub allow_unknown_firmware: bool,
    /// A CRL (DER) to check revocation against
    #[arg(long, value_name = "FILE", conflicts_with = "fetch_crl")]
    pub crl: Option<PathBuf>,
    /// TDX collateral (JSON: PCK and root CA CRLs, TCB info, QE identity and their chains) for
    /// a TD quote; without it, the cache's or Intel PCS's (see --pcs-url)
    #[arg(long, value_name = "FILE")]
    pub collateral: Option<PathBuf>,
    /// Fetch the product's CRL (from the cache, else KDS)
    #[arg(long)]
    pub fetch_crl: bool,
    /// Refuse when no CRL is available (exit 4)
    #[arg(long)]
    pub require_crl: bool,
    /// Verify as of this time (RFC 3339, UTC) instead of now
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<String>,
    /// The product, when the report does not say (version 2 reports)
    #[arg(long, value_name = "PRODUCT")]
    pub product: Option<String>,
    /// One JSON document on stdout (docs/verdict.schema.json)
    #[arg(long, num_args = 0..=1, require_equals = true, default_value_t = false, default_missing_value = "true", action = clap::ArgAction::Set, value_name = "BOOL")]
    pub json: bool,
    #[command(flatten)]
    pub fetch: FetchArgs,
}

/// Verify a raw SNP report (hosts with /dev/sev-guest) or a raw TD quote (with --collateral)
#[derive(Debug, Args)]
#[command(after_help = "Example:
  snp-vtpm verify-report --report report.bin --vcek vcek.der --chain cert_chain.pem --offline")]
pub(crate) struct VerifyReportArgs {
    /// The 1184-byte report, binary or hex text
    #[arg(long, value_name = "FILE")]
    pub report: PathBuf,
    /// The VCEK or VLEK (DER or PEM)
    #[arg(long, value_name = "FILE")]
    pub vcek: Option<PathBuf>,
    /// PEM file with the ASK/ASVK and ARK; repeatable
    #[arg(long, value_name = "PEM")]
    pub chain: Vec<PathBuf>,
    /// The product (Milan, Genoa, Turin), for version 2 reports
    #[arg(long, value_name = "PRODUCT")]
    pub product: Option<String>,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// A CRL (DER)
    #[arg(long, value_name = "FILE")]
    pub crl: Option<PathBuf>,
    /// Refuse when no CRL is available (exit 4)
    #[arg(long)]
    pub require_crl: bool,
    /// Verify as of this time (RFC 3339, UTC)
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<String>,
    /// TDX collateral (JSON) when REPORT is a raw TD quote; without it, the cache's or Intel
    /// PCS's (see --pcs-url)
    #[arg(long, value_name = "FILE")]
    pub collateral: Option<PathBuf>,
    /// The report data the guest bound into the report (hex): all 64 bytes, or a prefix that
    /// the rest of report_data must follow with zero bytes. Without it, VERIFIED does not say
    /// the report is fresh or whose it is
    #[arg(long, value_name = "HEX")]
    pub report_data_hex: Option<String>,
    /// One JSON document on stdout
    #[arg(long, num_args = 0..=1, require_equals = true, default_value_t = false, default_missing_value = "true", action = clap::ArgAction::Set, value_name = "BOOL")]
    pub json: bool,
    #[command(flatten)]
    pub fetch: FetchArgs,
}

fn product(name: Option<&str>) -> Result<Option<Generation>, Error> {
    name.map(|n| {
        Generation::from_product_name(n)
            .ok_or_else(|| Error::input(format!("unknown product {n} (Milan, Genoa, Turin)")))
    })
    .transpose()
}

fn time(at: Option<&str>) -> Result<UnixTime, Error> {
    Ok(UnixTime::from_secs(match at {
        Some(text) => inputs::rfc3339(text)?,
        None => inputs::now(),
    }))
}

fn load_certificates(
    vcek: Option<&PathBuf>,
    chain: &[PathBuf],
    crl: Option<&PathBuf>,
) -> Result<Certificates, Error> {
    let mut certificates = Certificates::default();
    if let Some(path) = vcek {
        let before = certificates.leaves.len();
        let bytes = inputs::read(path)?;
        certificates
            .add_file(&bytes)
            .map_err(|e| inputs::wrong_file(e, &bytes, "--vcek"))?;
        if certificates.leaves.len() == before {
            // A leaf whose subject is unusual: take the file's first certificate as the leaf.
            let first = snp_vtpm::certs::certificates(&inputs::read(path)?)?;
            certificates.leaves.extend(first.into_iter().take(1));
        }
    }
    // Each file is read once (`-` is stdin).
    let mut given = Vec::new();
    for path in chain {
        let bytes = inputs::read(path)?;
        certificates
            .add_file(&bytes)
            .map_err(|e| inputs::wrong_file(e, &bytes, "--chain"))?;
        given.push((path.as_path(), bytes));
    }
    require_whole_chains(&given, &certificates)?;
    if let Some(path) = crl {
        certificates.crl = Some(inputs::crl(path, "--crl")?);
    }
    Ok(certificates)
}

/// Every intermediate in the `--chain` files comes with its root (among every certificate
/// given, `--vcek` bundles included): a file holding an ASK without its ARK is a mistake to
/// name, not something to complete quietly.
fn require_whole_chains(
    chain: &[(&std::path::Path, Vec<u8>)],
    given: &Certificates,
) -> Result<(), Error> {
    let mut named = Vec::new();
    for (path, bytes) in chain {
        for der in snp_vtpm::certs::certificates(bytes)? {
            if let Some((subject, issuer)) = snp_vtpm::certs::subject_and_issuer(&der) {
                named.push((path, subject, issuer));
            }
        }
    }
    let subjects: Vec<String> = given
        .ca
        .iter()
        .chain(&given.leaves)
        .filter_map(|der| snp_vtpm::certs::subject_and_issuer(der))
        .map(|(subject, _)| subject)
        .collect();
    let orphan = named.iter().find(|(_, subject, issuer)| {
        subject != issuer
            && subject != "SEV-VCEK"
            && subject != "SEV-VLEK"
            && !subjects.contains(issuer)
    });
    match orphan {
        Some((path, subject, issuer)) => Err(Error::input(format!(
            "--chain {}: holds {subject}, issued by {issuer}, but no --chain file holds {issuer}: give the whole chain (ASK or ASVK and ARK), or leave --chain out to use the AMD chains shipped with the tool",
            path.display(),
        ))),
        None => Ok(()),
    }
}

fn separate_artifacts(args: &VerifyArgs, hcl_path: &std::path::Path) -> Result<Evidence, Error> {
    let hcl_report = inputs::read(hcl_path)?;
    let file = if let Some(path) = &args.quote {
        let bytes = inputs::read(path)?;
        if bytes.first() == Some(&b'{') {
            QuoteFile::from_json(&bytes)
        } else {
            QuoteFile::from_quote_bin(&bytes)
        }
        .map_err(|e| Error::input(format!("{}: {e}", path.display())))?
    } else {
        let (Some(msg), Some(sig), Some(pcrs)) =
            (&args.quote_msg, &args.quote_sig, &args.pcr_values)
        else {
            return Err(Error::input(
                "give the quote with --quote, or --quote-msg, --quote-sig and --pcr-values",
            ));
        };
        let pcr_text = String::from_utf8(inputs::read(pcrs)?)
            .map_err(|_| Error::input("--pcr-values is not text"))?;
        let values: Vec<String> = if pcr_text.trim_start().starts_with('[') {
            serde_json::from_str(&pcr_text)
                .map_err(|e| Error::input(format!("--pcr-values: {e}")))?
        } else {
            pcr_text.split_whitespace().map(String::from).collect()
        };
        let pcrs = values
            .iter()
            .map(|v| hex::decode(v).map(hcl_parse::HexBytes))
            .collect::<Result<_, _>>()
            .map_err(|e| Error::input(format!("--pcr-values: {e}")))?;
        QuoteFile {
            message: hcl_parse::HexBytes(inputs::read(msg)?),
            signature: hcl_parse::HexBytes(inputs::read(sig)?),
            pcrs,
            pcr_indices: None,
        }
    };
    Ok(Evidence::new(
        EvidenceVersion::V1,
        hcl_report,
        QuoteParts::from_file(file),
    ))
}

/// Runs `verify`.
pub(crate) fn verify(args: VerifyArgs) -> Outcome {
    let result = run_verify(&args);
    if let Err(error) = &result
        && let Some(hint) = nonce_hint(&args, error)
    {
        output::set_context_hint(hint);
    }
    output::report_result(result, args.json, human_verdict)
}

/// When the quote's nonce is the nonce given, read the other way: `--nonce` holding hex, or
/// `--nonce-hex` holding the text that was quoted.
fn nonce_hint(args: &VerifyArgs, error: &Error) -> Option<String> {
    let Error::Quote(snp_vtpm::vtpm_quote::Error::NonceMismatch { found, .. }) = error else {
        return None;
    };
    let quoted = hex::decode(found).ok()?;
    if let Some(text) = &args.nonce {
        let digits = text.strip_prefix("0x").unwrap_or(text);
        if hex::decode(digits).is_ok_and(|bytes| bytes == quoted) {
            return Some(format!(
                "the quote's nonce is the hex decoding of --nonce: give it as --nonce-hex {text}"
            ));
        }
    }
    if let Some(hex_text) = &args.nonce_hex
        && hex_text.as_bytes() == quoted.as_slice()
    {
        return Some(format!(
            "the quote's nonce is the text of --nonce-hex itself: give it as --nonce {hex_text}"
        ));
    }
    None
}

pub(crate) fn run_verify(args: &VerifyArgs) -> Result<VerifiedEvidence, Error> {
    let nonce_bytes = match (&args.nonce, &args.nonce_hex, args.no_nonce) {
        (Some(text), _, _) => Some(text.as_bytes().to_vec()),
        (None, Some(hex_text), _) => Some(inputs::hex_bytes(hex_text, "--nonce-hex")?),
        (None, None, true) => None,
        (None, None, false) => {
            return Err(Error::input(
                "a nonce is required: --nonce, --nonce-hex, or --no-nonce to skip the check",
            ));
        }
    };
    // Checked before any file is read or certificate fetched.
    if let Some(bytes) = &nonce_bytes {
        ExpectedNonce::exactly(bytes)?;
    }
    let evidence = match (&args.evidence, &args.hcl_report) {
        (Some(path), _) => {
            let bytes = inputs::read(path)?;
            Evidence::from_json(&bytes, snp_vtpm::DEFAULT_SIZE_LIMIT)
                .map_err(|e| inputs::wrong_file(e, &bytes, "EVIDENCE"))?
        }
        (None, Some(hcl)) => separate_artifacts(args, hcl)?,
        (None, None) => return Err(Error::input("give EVIDENCE or --hcl-report")),
    };
    let mut certificates = load_certificates(args.vcek.as_ref(), &args.chain, args.crl.as_ref())?;
    let hint = product(args.product.as_deref())?;
    let hcl = HclReport::parse(&evidence.hcl_report).map_err(|e| Error::input(e.to_string()))?;
    // Without a preset or policy, the evidence's platform picks one (azure-cvm, azure-tdx).
    let platform = Platform::of(hcl.report_type()).unwrap_or_default();
    // A policy file extends azure-cvm unless it says otherwise (its platform is its own, never
    // the evidence's: a file for one platform must not silently apply to the other).
    let default_preset = if args.policy.policy.is_some() {
        Platform::Snp.default_preset()
    } else {
        platform.default_preset()
    };
    let policy = args.policy.load(default_preset)?;
    let catalog = args.policy.catalog()?;
    let options = VerifyOptions {
        time: time(args.at.as_deref())?,
        allow_unknown_firmware: args.allow_unknown_firmware,
        require_fresh_report: args.require_fresh_report,
        require_crl: args.require_crl,
        generation_hint: hint,
    };
    // The collateral of TDX evidence, once every argument is known to be usable.
    if let (Platform::Tdx, Some(quote)) = (platform, &evidence.td_quote) {
        certificates.tdx_collateral = Some(tdx_collateral(
            args.collateral.as_ref(),
            &args.fetch,
            quote,
        )?);
    }

    // Fetch only what is missing; never with --offline (then the cache only). Whatever is
    // fetched or read from the cache passed the pinned-root check of `fetch` first; the chain
    // the caller holds (files, evidence) is used for that check when it verifies.
    let have_leaf = !certificates.leaves.is_empty() || evidence.vcek.is_some();
    // Without an ARK from the files or the evidence, AMD's certificates shipped with the tool
    // complete the chain: no download, and fetched VCEKs and CRLs are checked under them.
    certificates.complete_amd_chain(&evidence);
    let have_chain = true;
    let held = |certificates: &Certificates| {
        let mut held = certificates.clone();
        held.leaves.extend(evidence.vcek.iter().cloned());
        held.ca.extend(evidence.cert_chain.iter().cloned());
        held
    };
    if let Ok(report) = hcl.snp_report() {
        let source = fetch::with_known_chains(
            &args.fetch.options(false).source()?,
            &held(&certificates).ca,
        );
        let reported = report.generation().ok().flatten().or(hint);
        if !have_leaf || !have_chain {
            let product = reported.or_else(|| fetch::product_of(&held(&certificates)));
            fetch::complete(
                &source,
                &report,
                product,
                have_leaf,
                have_chain,
                &mut certificates,
            )?;
        }
        if certificates.crl.is_none() {
            // The product: the report's CPUID or --product, else the VCEK's productName or
            // the chain's ARK (version 2 reports name no product).
            let held = held(&certificates);
            match (
                reported.or_else(|| fetch::product_of(&held)),
                args.fetch_crl,
            ) {
                (Some(product), true) => {
                    certificates.crl = Some(fetch::crl_for(&source, product, &held)?);
                }
                (Some(product), false) => {
                    // A cached CRL is used, also offline; none is fetched.
                    let cache = fetch::with_known_chains(&cache_only(&args.fetch)?, &held.ca);
                    if let Ok(crl) = fetch::crl_for(&cache, product, &held) {
                        certificates.crl = Some(crl);
                    }
                }
                (None, true) => {
                    // Which product's CRL to fetch: a version 2 report does not say.
                    return Err(Missing::Product.into());
                }
                (None, false) => {}
            }
        }
    }
    let verifier =
        Verifier::with_anchors(TrustAnchors::amd(), policy).with_firmware_catalog(catalog);
    let nonce = match &nonce_bytes {
        Some(bytes) => ExpectedNonce::Exactly(bytes),
        None => ExpectedNonce::NotChecked,
    };
    verifier.verify(&evidence, nonce, &certificates, &options)
}

/// The cache alone: a cached CRL is used without asking for one.
fn cache_only(fetch: &FetchArgs) -> Result<snp_vtpm::amd_kds::CertificateSource, Error> {
    let mut options = fetch.options(false);
    options.offline = true;
    options.notify_on_stderr = false;
    options.source()
}

fn flag(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "on",
        Some(false) => "off",
        None => "absent",
    }
}

fn nonce_text(nonce: &[u8]) -> String {
    let hex = hcl_parse::HexSlice(nonce).to_string();
    match std::str::from_utf8(nonce) {
        Ok(text) if text.chars().all(|c| c.is_ascii_graphic()) => format!("{hex} (\"{text}\")"),
        _ => hex,
    }
}

/// How known firmware was recognised: the catalog entries it matched, else the policy's list.
fn known_by(catalog_entries: &[String], by_policy: &str) -> String {
    if catalog_entries.is_empty() {
        by_policy.to_string()
    } else {
        format!("firmware catalog: {}", catalog_entries.join(", "))
    }
}

/// Checks every verification makes unless the caller said otherwise (`--no-nonce`,
/// `--allow-unknown-firmware`): skipping one is an exception the headline names.
const CALLER_SKIPPABLE: [Check; 2] = [Check::Nonce, Check::FirmwareIdentity];

/// `VERIFIED`, or `VERIFIED WITH EXCEPTIONS: nonce, firmware_identity not checked`.
fn headline(verified: &VerifiedEvidence) -> String {
    let skipped: Vec<String> = verified
        .checks()
        .iter()
        .filter(|c| c.outcome == snp_vtpm::Outcome::Skipped && CALLER_SKIPPABLE.contains(&c.check))
        .map(|c| c.check.to_string())
        .collect();
    if skipped.is_empty() {
        "VERIFIED\n".into()
    } else {
        format!(
            "VERIFIED WITH EXCEPTIONS: {} not checked\n",
            skipped.join(", ")
        )
    }
}

fn human_verdict(verified: &VerifiedEvidence) -> String {
    let mut text = headline(verified);
    let unknown = "NOT CHECKED (--allow-unknown-firmware: the vTPM binding is not trustworthy)";
    if let (Some(report), Some(firmware)) = (verified.report(), verified.firmware()) {
        text.push_str(&output::describe_report(report));
        let identity = if firmware.unknown_firmware_allowed {
            unknown.to_string()
        } else {
            known_by(
                &firmware.catalog_entries,
                if firmware.id_key_allowed {
                    "ID-key digest allowed by the policy"
                } else {
                    "measurement allowed by the policy"
                },
            )
        };
        text.push_str(&format!("  firmware identity:  {identity}\n"));
    }
    if let Some(tdx) = verified.tdx() {
        text.push_str(&output::describe_td_quote(&tdx.quote));
        let identity = if tdx.unknown_firmware_allowed {
            unknown.to_string()
        } else {
            known_by(&tdx.catalog_entries, "MRTD allowed by the policy")
        };
        text.push_str(&format!("  firmware identity:  {identity}\n"));
    }
    text.push_str(&format!(
        "  nonce:              {}\n  report fresh:       {}\n",
        if verified.nonce_checked() {
            nonce_text(verified.quote().nonce())
        } else {
            "NOT CHECKED (--no-nonce)".into()
        },
        if verified.report_bound_to_nonce() {
            "bound to the nonce"
        } else {
            "not bound to the nonce"
        }
    ));
    if let Some(config) = verified.vm_configuration() {
        text.push_str(&format!(
            "  vm-configuration:   secure-boot {}, tpm-enabled {}, console-enabled {}, vmUniqueId {}\n",
            flag(config.secure_boot),
            flag(config.tpm_enabled),
            flag(config.console_enabled),
            config
                .vm_unique_id
                .as_deref()
                .map_or_else(|| "-".into(), output::printable_value)
        ));
    }
    if let Some(log) = verified.event_log() {
        let summary = &log.summary;
        text.push_str(&format!(
            "  event log:          {} events, replays to the quoted PCRs; secure boot {}\n",
            log.events,
            flag(summary.secure_boot)
        ));
        for application in &summary.boot_chain {
            text.push_str(&format!(
                "  booted:             {}\n",
                application
                    .path
                    .as_deref()
                    .map_or_else(|| "(unnamed)".into(), output::printable_value)
            ));
        }
        for cmdline in &summary.kernel_cmdlines {
            text.push_str(&format!(
                "  kernel cmdline:     {}\n",
                output::printable_value(cmdline)
            ));
        }
    }
    for bank in verified.quote().pcrs() {
        for (index, value) in &bank.values {
            text.push_str(&format!(
                "  PCR {}:{index:<2}          {value}\n",
                bank.bank
            ));
        }
    }
    for check in verified
        .checks()
        .iter()
        .filter(|c| c.outcome == snp_vtpm::Outcome::Skipped)
    {
        text.push_str(&format!(
            "  skipped:            {} ({})\n",
            check.check,
            check.reason.as_deref().unwrap_or("")
        ));
    }
    text
}

/// Runs `verify-report`: a raw SNP report, or a raw TD quote.
pub(crate) fn verify_report(args: VerifyReportArgs) -> Outcome {
    match inputs::read(&args.report) {
        Ok(bytes) if snp_vtpm::decode::is_td_quote(&bytes) => verify_td_quote(&args, &bytes),
        read => verify_snp_report(args, read),
    }
}

/// `verify-report` of a raw TD quote: the quote with `--collateral`, the TDX policy, and
/// `--report-data-hex` against its REPORTDATA.
fn verify_td_quote(args: &VerifyReportArgs, quote: &[u8]) -> Outcome {
    let result = (|| {
        let expected_data = report_data_arg(args.report_data_hex.as_deref())?;
        // A policy file extends snp-default unless it says otherwise, as for SNP reports.
        let default_preset = if args.policy.policy.is_some() {
            DEFAULT_REPORT_PRESET
        } else {
            DEFAULT_TD_QUOTE_PRESET
        };
        let policy = args.policy.load(default_preset)?;
        let options = VerifyOptions::at(time(args.at.as_deref())?);
        let certificates = Certificates {
            tdx_collateral: Some(tdx_collateral(
                args.collateral.as_ref(),
                &args.fetch,
                quote,
            )?),
            ..Certificates::default()
        };
        let verified = Verifier::new(policy)
            .with_firmware_catalog(args.policy.catalog()?)
            .verify_raw_td_quote(quote, &certificates, &options)?;
        if let Some(expected) = &expected_data {
            snp_vtpm::check_report_data_bytes(&verified.quote.body().report_data.0, expected)?;
        }
        Ok(verified)
    })();
    let data_checked = args.report_data_hex.is_some();
    output::report_result(result, args.json, |verified| {
        let scope = if data_checked {
            "VERIFIED: Intel signatures, PCK chain, collateral, TCB status and policy; REPORTDATA equals --report-data-hex\n"
        } else {
            "VERIFIED: Intel signatures, PCK chain, collateral, TCB status and policy only. REPORTDATA was NOT checked, so this does not show the quote is fresh or bound to anything (pass --report-data-hex)\n"
        };
        format!("{scope}{}", output::describe_td_quote(&verified.quote))
    })
}

/// The collateral of a TD quote: `--collateral` when given, else the cache's or Intel PCS's
/// (the cache alone with `--offline`), verified under Intel's pinned root before it is used.
fn tdx_collateral(
    file: Option<&PathBuf>,
    fetch: &FetchArgs,
    quote: &[u8],
) -> Result<Collateral, Error> {
    match file {
        Some(path) => Collateral::from_json(&inputs::read(path)?).map_err(Error::Tdx),
        None => fetch::tdx_collateral(
            &fetch.options(false).source()?,
            &snp_vtpm::tdx_verify::IntelRoots::intel(),
            quote,
        ),
    }
}

/// `--report-data-hex`, checked before anything is read or verified.
fn report_data_arg(text: Option<&str>) -> Result<Option<Vec<u8>>, Error> {
    let Some(text) = text else {
        return Ok(None);
    };
    let expected = inputs::hex_bytes(text, "--report-data-hex")?;
    snp_vtpm::check_report_data_length(&expected)?;
    Ok(Some(expected))
}

/// `verify-report` of a raw SNP report; `read` is the file as read (or why it could not be).
fn verify_snp_report(args: VerifyReportArgs, read: Result<Vec<u8>, Error>) -> Outcome {
    let result = (|| {
        // Arguments first: nothing is parsed, fetched or verified with an unusable one.
        let expected_data = report_data_arg(args.report_data_hex.as_deref())?;
        let report = inputs::raw_report(read?)?;
        let mut certificates =
            load_certificates(args.vcek.as_ref(), &args.chain, args.crl.as_ref())?;
        if !TrustAnchors::amd().holds_pinned_root(certificates.ca.iter().map(Vec::as_slice)) {
            certificates
                .ca
                .extend(snp_vtpm::snp_verify::shipped_amd_certificates());
        }
        let hint = product(args.product.as_deref())?;
        if certificates.leaves.is_empty() || certificates.ca.is_empty() {
            let parsed = hcl_parse::SnpReport::from_bytes(&report)
                .map_err(|e| Error::input(e.to_string()))?;
            let (have_leaf, have_chain) =
                (!certificates.leaves.is_empty(), !certificates.ca.is_empty());
            let source = args.fetch.options(false).source()?;
            fetch::complete(
                &source,
                &parsed,
                hint,
                have_leaf,
                have_chain,
                &mut certificates,
            )?;
        }
        let policy = args.policy.load(DEFAULT_REPORT_PRESET)?;
        let options = VerifyOptions {
            time: time(args.at.as_deref())?,
            allow_unknown_firmware: false,
            require_fresh_report: false,
            require_crl: args.require_crl,
            generation_hint: hint,
        };
        let verified = Verifier::new(policy)
            .with_firmware_catalog(args.policy.catalog()?)
            .verify_raw_report(&report, &certificates, &options)?;
        if let Some(expected) = &expected_data {
            snp_vtpm::check_report_data(&verified, expected)?;
        }
        Ok(verified)
    })();
    let data_checked = args.report_data_hex.is_some();
    output::report_result(result, args.json, |report| {
        let scope = if data_checked {
            "VERIFIED: AMD signature, chain, TCB and policy; report_data equals --report-data-hex\n"
        } else {
            "VERIFIED: AMD signature, chain, TCB and policy only. report_data was NOT checked, so this does not show the report is fresh or bound to anything: whoever holds a copy can replay it (pass --report-data-hex)\n"
        };
        format!("{scope}{}", output::describe_report(report))
    })
}
