//! `show`: detects and decodes any artifact for humans (or as JSON), and says which policy
//! fields a report meets.

use std::path::PathBuf;

use crate::exit::ExitCode;
use clap::Args;
use der::Decode;
use hcl_parse::{Generation, HclReport, HexSlice, SnpReport};
use serde_json::{Value, json};
use snp_vtpm::tcg_eventlog::{DataBinding, EventLog, LogFormat};
use snp_vtpm::tdx_verify::TdQuote;
use snp_vtpm::vtpm_quote::{HashAlg, QuoteAttest, QuoteFile};
use snp_vtpm::{
    DEFAULT_EVIDENCE_PRESET, DEFAULT_REPORT_PRESET, Error, Evidence, EvidencePolicy,
    FirmwareCatalog,
};

use crate::args::PolicyArgs;
use crate::{Outcome, inputs, output};

/// Decode any artifact: HCL report, raw SNP report, TD quote, TDREPORT, vTPM quote, certificate,
/// CRL, evidence, TCG event log
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  snp-vtpm show hcl-report.bin
  snp-vtpm show evidence.json --json
  snp-vtpm show report.bin --policy my-policy.toml
  snp-vtpm show /sys/kernel/security/tpm0/binary_bios_measurements")]
pub(crate) struct ShowArgs {
    /// The file to decode
    pub file: PathBuf,
    /// JSON on stdout
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// A decoded artifact.
pub(crate) struct Description {
    /// As JSON.
    pub json: Value,
    /// As text.
    pub text: String,
    /// How it fares under the policy, for a report.
    pub policy: Option<PolicyOutcome>,
}

impl Description {
    fn new(json: Value) -> Self {
        let mut text = String::new();
        render(&json, 0, &mut text);
        Self {
            json,
            text,
            policy: None,
        }
    }
}

fn render(value: &Value, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match value {
                    Value::Object(_) | Value::Array(_) => {
                        out.push_str(&format!("{indent}{}:\n", output::printable_value(key)));
                        render(value, depth + 1, out);
                    }
                    scalar => out.push_str(&format!(
                        "{indent}{}: {}\n",
                        output::printable_value(key),
                        scalar_text(scalar)
                    )),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(_) | Value::Array(_) => {
                        out.push_str(&format!("{indent}-\n"));
                        render(item, depth + 1, out);
                    }
                    scalar => out.push_str(&format!("{indent}- {}\n", scalar_text(scalar))),
                }
            }
        }
        scalar => out.push_str(&format!("{indent}{}\n", scalar_text(scalar))),
    }
}

/// Sets `key` of a JSON object built here (a no-op on anything else, which never happens: the
/// descriptions are objects by construction).
fn set(json: &mut Value, key: &str, value: Value) {
    if let Some(object) = json.as_object_mut() {
        object.insert(key.to_string(), value);
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => output::printable_value(s),
        other => other.to_string(),
    }
}

/// What `show` says of everything it shows.
const DECODED_ONLY: &str =
    "no signature, certificate chain or quote is verified here (use `snp-vtpm verify`)";

/// Runs `show`: exit 3 when a policy given with `--policy` or `--preset` is not met.
pub(crate) fn show(args: ShowArgs) -> Outcome {
    // A policy named on the command line must load, whatever the file turns out to be.
    if args.policy.policy.is_some() || args.policy.preset.is_some() {
        args.policy.load(DEFAULT_EVIDENCE_PRESET)?;
    }
    args.policy.catalog()?;
    let bytes = inputs::read(&args.file)?;
    let mut description = describe(&bytes, &args.policy)?;
    let summary = description.policy.as_ref().map(|outcome| {
        format!(
            "policy: {} (report fields and firmware identity, were the report authentic; `verify` also checks PCRs, vm-configuration and the event log)\n",
            outcome.summary()
        )
    });
    if args.json {
        set(&mut description.json, "decoded_only", json!(DECODED_ONLY));
        output::print_json(&description.json);
    } else {
        let text = format!(
            "DECODED ONLY: {DECODED_ONLY}\n{}\n{}",
            summary.unwrap_or_default(),
            description.text
        );
        output::out(&output::printable(&text));
    }
    let policy_named = args.policy.policy.is_some() || args.policy.preset.is_some();
    match &description.policy {
        Some(outcome) if policy_named && !outcome.unmet.is_empty() => Ok(ExitCode::Policy),
        _ => Ok(ExitCode::Verified),
    }
}

/// How a decoded report fares under a policy.
pub(crate) struct PolicyOutcome {
    /// How many checks were evaluated.
    checks: usize,
    /// The names of those not met.
    unmet: Vec<String>,
}

impl PolicyOutcome {
    /// "all 8 checks met", or "1 of 8 checks not met: reported_tcb".
    fn summary(&self) -> String {
        if self.unmet.is_empty() {
            format!("all {} checks met", self.checks)
        } else {
            format!(
                "{} of {} checks not met: {}",
                self.unmet.len(),
                self.checks,
                self.unmet.join(", ")
            )
        }
    }
}

fn describe(bytes: &[u8], policy: &PolicyArgs) -> Result<Description, Error> {
    if bytes.starts_with(b"HCLA") {
        let mut description = describe_hcl(bytes)?;
        if let Ok(report) = HclReport::parse(bytes).and_then(|h| h.snp_report()) {
            add_policy(
                &mut description,
                &report,
                &policy.load(DEFAULT_EVIDENCE_PRESET)?,
                &*policy.catalog()?,
                true,
            )?;
        }
        return Ok(description);
    }
    if bytes.starts_with(&[0xFF, 0x54, 0x43, 0x47]) {
        return describe_attest(bytes).map(Description::new);
    }
    if is_td_quote(bytes) {
        return td_quote_json(bytes).map(Description::new);
    }
    if looks_like_crypto_agile_log(bytes) {
        return describe_event_log(bytes);
    }
    if bytes.first() == Some(&b'{') {
        return describe_json(bytes, policy);
    }
    if let Ok(raw) = inputs::raw_report(bytes.to_vec())
        && let Ok(report) = SnpReport::from_bytes(&raw)
    {
        let mut description =
            Description::new(json!({ "kind": "SNP report", "report": snp_json(&report) }));
        let report_policy = policy.load(DEFAULT_REPORT_PRESET)?;
        let identity_applies = report_policy.require_known_firmware;
        add_policy(
            &mut description,
            &report,
            &report_policy,
            &*policy.catalog()?,
            identity_applies,
        )?;
        return Ok(description);
    }
    if let Ok(file) = QuoteFile::from_quote_bin(bytes) {
        return describe_quote_file(&file).map(Description::new);
    }
    // An AK certificate as read from NV 0x01C101D0: DER, then zero padding.
    if let Ok(der) = snp_vtpm::vtpm_akcert::der_from_nv(bytes)
        && der.len() < bytes.len()
        && x509_cert::Certificate::from_der(der).is_ok()
    {
        return Ok(Description::new(json!({
            "kind": "AK certificate (NV 0x01C101D0, zero padded)",
            "certificates": [certificate_json(der)],
        })));
    }
    if let Ok(certificates) = snp_vtpm::certs::certificates(bytes) {
        return Ok(Description::new(json!({
            "kind": "certificates",
            "certificates": certificates.iter().map(|der| certificate_json(der)).collect::<Vec<_>>(),
        })));
    }
    if let Ok(crl) = x509_cert::crl::CertificateList::from_der(bytes) {
        return Ok(Description::new(crl_json(&crl)));
    }
    if std::str::from_utf8(bytes).is_ok_and(|t| t.contains("BEGIN X509 CRL")) {
        let (_, der) =
            pem_rfc7468::decode_vec(bytes).map_err(|e| Error::input(format!("PEM CRL: {e}")))?;
        let crl = x509_cert::crl::CertificateList::from_der(&der)
            .map_err(|e| Error::input(format!("CRL: {e}")))?;
        return Ok(Description::new(crl_json(&crl)));
    }
    if EventLog::parse(bytes).is_ok_and(|log| log.format() == LogFormat::Sha1) {
        return describe_event_log(bytes);
    }
    Err(Error::input(
        "not a recognised artifact (HCL report, raw SNP report, TD quote, quote, certificate, CRL, evidence or TCG event log)",
    ))
}

/// A crypto-agile log starts with a SHA-1-format EV_NO_ACTION record carrying the Spec ID event.
fn looks_like_crypto_agile_log(bytes: &[u8]) -> bool {
    bytes.get(4..8) == Some(&3u32.to_le_bytes()[..])
        && bytes.get(32..47) == Some(&b"Spec ID Event03"[..])
}

fn bank_name(algorithm: u16) -> String {
    HashAlg::from_tpm(algorithm).map_or_else(|| format!("{algorithm:#06x}"), |b| b.to_string())
}

/// Describes an event log: every event decoded, the summary, and the PCR values it replays
/// to, per bank.
pub(crate) fn describe_event_log(bytes: &[u8]) -> Result<Description, Error> {
    let log = EventLog::parse(bytes).map_err(|e| Error::input(e.to_string()))?;
    let summary = log.summary();
    let replay = log.replay();
    let events: Vec<Value> = log
        .events()
        .iter()
        .map(|event| {
            let digests: serde_json::Map<String, Value> = event
                .digests
                .iter()
                .map(|d| {
                    (
                        bank_name(d.algorithm),
                        json!(HexSlice(d.digest).to_string()),
                    )
                })
                .collect();
            json!({
                "index": event.index,
                "offset": event.offset,
                "pcr": event.pcr,
                "type": event.event_type,
                "digests": digests,
                "data_binding": event.data_binding(),
                "content": event.content(),
            })
        })
        .collect();
    let replayed: serde_json::Map<String, Value> = replay
        .banks()
        .iter()
        .map(|bank| {
            let values: serde_json::Map<String, Value> = bank
                .extended()
                .map(|(pcr, value)| (pcr.to_string(), json!(HexSlice(value).to_string())))
                .collect();
            (bank.bank().to_string(), Value::Object(values))
        })
        .collect();
    let json = json!({
        "kind": "TCG event log",
        "format": log.format(),
        "spec_id": log.spec_id(),
        "startup_locality": log.startup_locality(),
        "banks": log.banks(),
        "events": events,
        "summary": summary,
        "replayed_pcrs": replayed,
    });

    let mut text = format!(
        "TCG event log ({}), {} events, banks {}\n",
        log.format(),
        log.events().len(),
        log.banks()
            .iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    );
    if let Some(locality) = log.startup_locality() {
        text.push_str(&format!("startup locality: {locality}\n"));
    }
    text.push_str("events:\n");
    for event in log.events() {
        let flag = if event.data_binding() == DataBinding::Contradicts {
            "  [data does not match its digests]"
        } else {
            ""
        };
        text.push_str(&format!(
            "  #{:<4} PCR {:<2} {:<33} {}{flag}\n",
            event.index,
            event.pcr,
            event.event_type.to_string(),
            output::printable_value(&event.content().to_string())
        ));
    }
    let on_off = |b: Option<bool>| match b {
        Some(true) => "on",
        Some(false) => "off",
        None => "not measured",
    };
    let chain: Vec<String> = summary
        .boot_chain
        .iter()
        .map(|a| {
            a.path
                .as_deref()
                .map_or_else(|| "(image in memory)".into(), output::printable_value)
        })
        .collect();
    text.push_str(&format!(
        "summary (not checked against a quote):\n  secure boot:           {}\n  boot chain:            {}\n",
        on_off(summary.secure_boot),
        if chain.is_empty() { "-".to_string() } else { chain.join(" -> ") },
    ));
    if summary.kernel_cmdlines.is_empty() {
        text.push_str("  kernel command line:   -\n");
    }
    for cmdline in &summary.kernel_cmdlines {
        text.push_str(&format!(
            "  kernel command line:   {}\n",
            output::printable_value(cmdline)
        ));
    }
    if let Some(technology) = &summary.confidential_technology {
        text.push_str(&format!(
            "  confidential platform: {}\n",
            output::printable_value(technology)
        ));
    }
    if !summary.contradicting_events.is_empty() {
        text.push_str(&format!(
            "  events whose data does not match their digests: {:?}\n",
            summary.contradicting_events
        ));
    }
    text.push_str("replayed PCRs (those the log extends):\n");
    for bank in replay.banks() {
        text.push_str(&format!("  {}:\n", bank.bank()));
        for (pcr, value) in bank.extended() {
            text.push_str(&format!("    {pcr:<2} {}\n", HexSlice(value)));
        }
    }
    Ok(Description {
        json,
        text,
        policy: None,
    })
}

/// Describes an HCL report: header, SNP report and runtime claims.
pub(crate) fn describe_hcl(bytes: &[u8]) -> Result<Description, Error> {
    let hcl = HclReport::parse(bytes).map_err(|e| Error::input(e.to_string()))?;
    let claims = std::str::from_utf8(hcl.runtime_claims_bytes())
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(text).ok());
    let mut json = json!({
        "kind": "HCL report",
        "header": {
            "version": hcl.version(),
            "report_size": hcl.report_size(),
            "request_data_version": hcl.request_data_version(),
            "report_type": hcl.report_type().to_string(),
            "hash_type": hcl.hash_type().to_string(),
            "runtime_claims_bytes": hcl.runtime_claims_bytes().len(),
        },
        "report_data_binding": match hcl.verify_report_data_binding() {
            Ok(()) => "holds".to_string(),
            Err(e) => format!("BROKEN: {e}"),
        },
        "runtime_claims": claims,
    });
    if let Ok(report) = hcl.snp_report() {
        set(&mut json, "snp_report", snp_json(&report));
    }
    if let Ok(td_report) = hcl.td_report() {
        set(
            &mut json,
            "td_report",
            serde_json::to_value(&td_report).unwrap_or(Value::Null),
        );
    }
    Ok(Description::new(json))
}

/// Whether `bytes` start like a TD quote: version 4 or 5, ECDSA P-256, TEE type TDX.
pub(crate) fn is_td_quote(bytes: &[u8]) -> bool {
    matches!(bytes.get(..8), Some([4 | 5, 0, 2, 0, 0x81, 0, 0, 0]))
}

/// A TD quote, decoded: header, TD report body, QE report and the PCK chain's subjects.
fn td_quote_json(bytes: &[u8]) -> Result<Value, Error> {
    let quote = TdQuote::parse(bytes).map_err(Error::Tdx)?;
    let chain: Vec<Value> = snp_vtpm::certs::certificates(quote.pck_chain_pem)
        .map(|ders| ders.iter().map(|der| certificate_json(der)).collect())
        .unwrap_or_default();
    Ok(json!({
        "kind": "TD quote (Intel TDX)",
        "version": quote.version,
        "body": quote.body,
        "qe_report": {
            "mr_signer": HexSlice(&quote.qe_report.mr_signer).to_string(),
            "isv_prod_id": quote.qe_report.isv_prod_id,
            "isv_svn": quote.qe_report.isv_svn,
            "report_data": HexSlice(&quote.qe_report.report_data).to_string(),
        },
        "attestation_key": HexSlice(quote.attestation_key).to_string(),
        "pck_chain": chain,
    }))
}

fn tcb_json(
    report: &SnpReport<'_>,
    tcb: hcl_parse::TcbVersion,
    generation: Option<Generation>,
) -> Value {
    match generation {
        Some(g) => json!({ "raw": tcb.to_string(), "decoded": tcb.components(g) }),
        None => {
            json!({ "raw": tcb.to_string(), "milan_genoa_layout": tcb.components(Generation::Milan), "note": format!("version {} report: generation unknown", report.version()) })
        }
    }
}

fn snp_json(report: &SnpReport<'_>) -> Value {
    let generation = report.generation().ok().flatten();
    let policy = report.policy();
    json!({
        "firmware_identity": {
            "id_key_digest": HexSlice(report.id_key_digest()).to_string(),
            "author_key_digest": HexSlice(report.author_key_digest()).to_string(),
            "measurement": HexSlice(report.measurement()).to_string(),
            "vmpl": report.vmpl(),
            "host_data": HexSlice(report.host_data()).to_string(),
        },
        "version": report.version(),
        "product": generation.map(|g| g.to_string()),
        "cpuid": report.cpuid(),
        "guest_svn": report.guest_svn(),
        "policy": {
            "raw": format!("{:#x}", policy.0),
            "abi": format!("{}.{}", policy.abi_major(), policy.abi_minor()),
            "smt_allowed": policy.smt_allowed(),
            "migrate_ma_allowed": policy.migrate_ma_allowed(),
            "debug_allowed": policy.debug_allowed(),
            "single_socket_required": policy.single_socket_required(),
        },
        "family_id": HexSlice(report.family_id()).to_string(),
        "image_id": HexSlice(report.image_id()).to_string(),
        "signature_algo": report.signature_algo(),
        "signing_key": report.key_info().signing_key().to_string(),
        "platform_info": format!("{:#x}", report.platform_info().0),
        "report_data": HexSlice(report.report_data()).to_string(),
        "report_id": HexSlice(report.report_id()).to_string(),
        "chip_id": HexSlice(report.chip_id()).to_string(),
        "reported_tcb": tcb_json(report, report.reported_tcb(), generation),
        "current_tcb": tcb_json(report, report.current_tcb(), generation),
        "committed_tcb": tcb_json(report, report.committed_tcb(), generation),
        "launch_tcb": tcb_json(report, report.launch_tcb(), generation),
        "current_firmware": report.current_version().to_string(),
        "committed_firmware": report.committed_version().to_string(),
        "launch_mit_vector": report.launch_mit_vector(),
        "current_mit_vector": report.current_mit_vector(),
        "reserved_bytes_zero": report.reserved_bytes_are_zero(),
    })
}

/// The policy's verdict on a decoded report; firmware identity counts when it applies (vTPM
/// reports; raw reports under a policy that requires known firmware).
fn add_policy(
    description: &mut Description,
    report: &SnpReport<'_>,
    policy: &EvidencePolicy,
    catalog: &FirmwareCatalog,
    identity_applies: bool,
) -> Result<(), Error> {
    // As `verify` does: a policy for the other platform would not be applied.
    if policy.platform != snp_vtpm::Platform::Snp {
        return Err(Error::input(format!(
            "the policy is for {} (platform = \"{}\"), but this is an SNP report: use an SNP policy (preset azure-cvm or snp-default)",
            policy.platform,
            policy.platform.to_string().to_lowercase()
        )));
    }
    let generation = report
        .generation()
        .ok()
        .flatten()
        .unwrap_or(Generation::Milan);
    let firmware = snp_vtpm::FirmwareClaims::of(report, &policy.report, catalog, false);
    let evaluated = policy.report.outcomes(report, generation);
    let known = firmware.identified() && firmware.vmpl_ok && firmware.host_data_ok;
    let mut unmet: Vec<String> = Vec::new();
    if identity_applies && !known {
        unmet.push("firmware_identity".into());
    }
    let outcomes: Vec<Value> = evaluated
        .iter()
        .map(|outcome| match outcome {
            Ok(check) => json!({ "check": check, "met": true }),
            Err(v) => {
                unmet.push(json!(v.check).as_str().unwrap_or_default().to_string());
                json!({ "check": v.check, "met": false, "expected": v.expected, "found": v.found })
            }
        })
        .collect();
    let outcome = PolicyOutcome {
        checks: evaluated.len() + usize::from(identity_applies),
        unmet,
    };
    let section = json!({
        "summary": outcome.summary(),
        "firmware_identity": {
            "id_key_digest_allowed": firmware.id_key_allowed,
            "measurement_allowed": firmware.measurement_allowed,
            "catalog_entries": firmware.catalog_entries,
            "vmpl_is_0": firmware.vmpl_ok,
            "host_data_ok": firmware.host_data_ok,
            "known_firmware": known,
        },
        "checks": outcomes,
    });
    set(&mut description.json, "policy_evaluation", section);
    *description = Description::new(description.json.take());
    description.policy = Some(outcome);
    Ok(())
}

fn describe_attest(bytes: &[u8]) -> Result<Value, Error> {
    let attest = QuoteAttest::parse(bytes).map_err(|e| Error::input(e.to_string()))?;
    Ok(json!({
        "kind": "TPM quote (TPMS_ATTEST)",
        "qualified_signer": HexSlice(attest.qualified_signer()).to_string(),
        "nonce": HexSlice(attest.extra_data()).to_string(),
        "nonce_text": std::str::from_utf8(attest.extra_data()).ok(),
        "selection": attest.selection(),
        "pcr_digest": HexSlice(attest.pcr_digest()).to_string(),
        "clock_info_untrusted": attest.clock_info(),
    }))
}

fn describe_quote_file(file: &QuoteFile) -> Result<Value, Error> {
    let mut json = describe_attest(&file.message.0)?;
    set(
        &mut json,
        "kind",
        json!("TPM quote with signature and PCR values"),
    );
    set(&mut json, "signature_bytes", json!(file.signature.0.len()));
    set(
        &mut json,
        "pcrs",
        json!(file.pcrs.iter().map(|p| p.to_string()).collect::<Vec<_>>()),
    );
    Ok(json)
}

fn describe_json(bytes: &[u8], policy: &PolicyArgs) -> Result<Description, Error> {
    if let Ok(evidence) = Evidence::from_json(bytes, snp_vtpm::DEFAULT_SIZE_LIMIT) {
        let mut hcl = describe_hcl(&evidence.hcl_report)?;
        let quote = describe_attest(&evidence.quote.message)?;
        set(
            &mut hcl.json,
            "kind",
            json!(format!("evidence ({:?})", evidence.version)),
        );
        set(&mut hcl.json, "quote", quote);
        if let Some(td_quote) = &evidence.td_quote {
            set(
                &mut hcl.json,
                "td_quote",
                td_quote_json(td_quote).unwrap_or_else(|e| json!({ "error": e.to_string() })),
            );
        }
        set(
            &mut hcl.json,
            "pcrs",
            json!(
                evidence
                    .quote
                    .pcrs
                    .iter()
                    .map(|p| HexSlice(p).to_string())
                    .collect::<Vec<_>>()
            ),
        );
        set(
            &mut hcl.json,
            "ak_cert",
            evidence
                .ak_certificate
                .as_deref()
                .and_then(|nv| snp_vtpm::vtpm_akcert::der_from_nv(nv).ok())
                .map(certificate_json)
                .unwrap_or(Value::Null),
        );
        set(
            &mut hcl.json,
            "vcek",
            evidence
                .vcek
                .as_deref()
                .map(certificate_json)
                .unwrap_or(Value::Null),
        );
        if let Some(bytes) = &evidence.event_log {
            set(
                &mut hcl.json,
                "event_log",
                match EventLog::parse(bytes) {
                    Ok(log) => json!({
                        "format": log.format(),
                        "events": log.events().len(),
                        "summary_not_checked_against_the_quote": log.summary(),
                    }),
                    Err(e) => json!({ "error": e.to_string() }),
                },
            );
        }
        let mut description = Description::new(hcl.json);
        if let Ok(report) = HclReport::parse(&evidence.hcl_report).and_then(|h| h.snp_report()) {
            add_policy(
                &mut description,
                &report,
                &policy.load(DEFAULT_EVIDENCE_PRESET)?,
                &*policy.catalog()?,
                true,
            )?;
        }
        return Ok(description);
    }
    if let Ok(file) = QuoteFile::from_json(bytes) {
        return describe_quote_file(&file).map(Description::new);
    }
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| Error::input(format!("JSON: {e}")))?;
    Ok(Description::new(
        json!({ "kind": "JSON (not evidence or a quote)", "value": value }),
    ))
}

fn certificate_json(der: &[u8]) -> Value {
    let Ok(cert) = x509_cert::Certificate::from_der(der) else {
        return json!({ "error": "not a DER certificate" });
    };
    let tbs = cert.tbs_certificate();
    let amd: Vec<Value> = tbs
        .extensions()
        .map(|extensions| {
            extensions
                .iter()
                .filter(|e| e.extn_id.to_string().starts_with("1.3.6.1.4.1.3704.1."))
                .map(|e| json!({ "oid": e.extn_id.to_string(), "value": HexSlice(e.extn_value.as_bytes()).to_string() }))
                .collect()
        })
        .unwrap_or_default();
    use sha2::Digest;
    let extended_key_usage: Vec<String> = tbs
        .extensions()
        .into_iter()
        .flatten()
        .filter(|e| e.extn_id.to_string() == "2.5.29.37")
        .filter_map(|e| {
            use der::Decode;
            x509_cert::ext::pkix::ExtendedKeyUsage::from_der(e.extn_value.as_bytes()).ok()
        })
        .flat_map(|usages| usages.0.into_iter().map(|oid| oid.to_string()))
        .collect();
    let is_ak = extended_key_usage
        .iter()
        .any(|oid| oid == "2.23.133.8.3" || oid == "1.3.6.1.4.1.311.10.3.12");
    let subject_cn = snp_vtpm::attest_prims::x509::common_name(tbs.subject()).unwrap_or_default();
    let ak = is_ak.then(|| {
        json!({
            "vm_id": snp_vtpm::vtpm_akcert::vm_id(&subject_cn),
            "decoded_only": "not verified: snp-vtpm verify checks it under Azure's pinned vTPM root",
        })
    });
    json!({
        "subject": tbs.subject().to_string(),
        "issuer": tbs.issuer().to_string(),
        "serial": HexSlice(tbs.serial_number().as_bytes()).to_string(),
        "not_before": tbs.validity().not_before.to_string(),
        "not_after": tbs.validity().not_after.to_string(),
        "sha256": HexSlice(&sha2::Sha256::digest(der)).to_string(),
        "pinned_amd_root_or_intermediate": snp_vtpm::snp_verify::AMD_PINS.iter().any(|p| p.sha256[..] == sha2::Sha256::digest(der)[..]),
        "pinned_azure_vtpm_root": sha2::Sha256::digest(der)[..] == snp_vtpm::vtpm_akcert::AZURE_VTPM_ROOT_SHA256[..],
        "amd_extensions": amd,
        "extended_key_usage": extended_key_usage,
        "vtpm_ak_certificate": ak,
    })
}

fn crl_json(crl: &x509_cert::crl::CertificateList) -> Value {
    let tbs = &crl.tbs_cert_list;
    json!({
        "kind": "CRL",
        "issuer": tbs.issuer.to_string(),
        "this_update": tbs.this_update.to_string(),
        "next_update": tbs.next_update.map(|t| t.to_string()),
        "revoked_serials": tbs.revoked_certificates.as_ref().map(|list| list.iter().map(|r| HexSlice(r.serial_number.as_bytes()).to_string()).collect::<Vec<_>>()).unwrap_or_default(),
    })
}
