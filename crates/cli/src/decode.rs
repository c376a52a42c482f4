//! Decoding any artifact for people: HCL and raw SNP reports, TD quotes, vTPM quotes,
//! evidence, certificates, CRLs, public keys and TCG event logs, as JSON (`docs/show.schema.json`)
//! and as text. This is what `snp-vtpm show`, the npm package's `decode` and the Python
//! package's `decode` return.
//!
//! Nothing here is verified: every decoding says so (`decoded_only`). A report is also held
//! against a policy's report fields and the firmware catalog, so that a reader sees which of
//! those checks the bytes would meet were they authentic.

use std::borrow::Cow;
use std::sync::Arc;

use der::{Decode, Encode};
use hcl_parse::{Generation, HclReport, HexSlice, SnpReport};
use serde_json::{Value, json};
use sha2::Digest;
use snp_verify::{AmdExtensions, CertRole, GuestPolicyClaims, TcbClaims, UnixTime};
use tcg_eventlog::{DataBinding, EventLog, LogFormat};
use tdx_verify::TdQuote;
use vtpm_quote::{AkPublic, HashAlg, QuoteAttest, QuoteFile};

use crate::catalog::FirmwareCatalog;
use crate::claims::FirmwareClaims;
use crate::error::Error;
use crate::evidence::{DEFAULT_SIZE_LIMIT, Evidence};
use crate::policy::{DEFAULT_EVIDENCE_PRESET, DEFAULT_REPORT_PRESET, EvidencePolicy, Platform};
use crate::terminal::printable_value;

/// What every decoding says of itself.
pub const DECODED_ONLY: &str =
    "no signature, certificate chain or quote is verified here (use `snp-vtpm verify`)";

/// What [`decode`] needs besides the bytes.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// The policy a vTPM's SNP report (in an HCL report or evidence) is held against; `None`
    /// for `azure-cvm`.
    pub vtpm_policy: Option<EvidencePolicy>,
    /// The policy a raw SNP report is held against; `None` for `snp-default` (a policy file
    /// for raw reports extends it, as `snp-vtpm verify-report` reads one).
    pub raw_report_policy: Option<EvidencePolicy>,
    /// The firmware catalog that says which firmware is known.
    pub catalog: Arc<FirmwareCatalog>,
    /// The time certificates' validity is shown at; `None` shows no validity verdict.
    pub at: Option<UnixTime>,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            vtpm_policy: None,
            raw_report_policy: None,
            catalog: FirmwareCatalog::builtin(),
            at: None,
        }
    }
}

/// `policy`, or the preset `default_preset`.
fn policy_or(
    policy: Option<&EvidencePolicy>,
    default_preset: &str,
) -> Result<EvidencePolicy, Error> {
    match policy {
        Some(policy) => Ok(policy.clone()),
        None => EvidencePolicy::preset(default_preset)
            .ok_or_else(|| Error::input(format!("no preset {default_preset}"))),
    }
}

/// A decoded artifact.
#[derive(Debug, Clone)]
pub struct Decoded {
    json: Value,
    body_text: String,
    policy: Option<PolicyOutcome>,
}

impl Decoded {
    fn new(json: Value) -> Self {
        let mut body_text = String::new();
        render(&json, 0, &mut body_text);
        Self {
            json,
            body_text,
            policy: None,
        }
    }

    /// As JSON (`docs/show.schema.json`): `kind`, `decoded_only`, the fields of the artifact,
    /// and `policy_evaluation` for a report.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// The JSON, owned.
    pub fn into_json(self) -> Value {
        self.json
    }

    /// What kind of artifact it is ("HCL report", "SNP report", "certificates", ...).
    pub fn kind(&self) -> &str {
        self.json
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// As text for a terminal: the decoded-only line, the policy summary for a report, then
    /// the fields (strings from the artifact escaped, see [`crate::terminal`]).
    pub fn text(&self) -> String {
        let summary = self.policy.as_ref().map_or_else(String::new, |outcome| {
            format!(
                "policy: {} (report fields and firmware identity, were the report authentic; `verify` also checks PCRs, vm-configuration and the event log)\n",
                outcome.summary()
            )
        });
        format!(
            "DECODED ONLY: {DECODED_ONLY}\n{summary}\n{}",
            self.body_text
        )
    }

    /// The fields as text, without the decoded-only line and the policy summary (for a front
    /// end that says itself what was verified).
    pub fn fields_text(&self) -> &str {
        &self.body_text
    }

    /// How a report fares under the policy; `None` for other artifacts.
    pub fn policy_outcome(&self) -> Option<&PolicyOutcome> {
        self.policy.as_ref()
    }

    /// Marks the JSON as decoded only; every public constructor ends here.
    fn finish(mut self) -> Self {
        set(&mut self.json, "decoded_only", json!(DECODED_ONLY));
        self
    }
}

/// How a decoded report fares under a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyOutcome {
    checks: usize,
    unmet: Vec<String>,
}

impl PolicyOutcome {
    /// How many checks were evaluated.
    pub fn checks(&self) -> usize {
        self.checks
    }

    /// The names of those not met (as the verdict names checks).
    pub fn unmet(&self) -> &[String] {
        &self.unmet
    }

    /// "all 8 checks met", or "1 of 8 checks not met: reported_tcb".
    pub fn summary(&self) -> String {
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

/// Decodes any artifact this project knows, recognised by its content.
///
/// ```
/// let decoded = snp_vtpm::decode::decode(b"not an artifact", &Default::default());
/// assert!(decoded.is_err());
/// ```
pub fn decode(bytes: &[u8], options: &DecodeOptions) -> Result<Decoded, Error> {
    decode_unmarked(bytes, options).map(Decoded::finish)
}

/// Decodes an HCL report (header, SNP or TD report, runtime claims) without a policy.
pub fn decode_hcl(bytes: &[u8]) -> Result<Decoded, Error> {
    describe_hcl(bytes).map(Decoded::finish)
}

/// Whether `bytes` start like a TD quote: version 4 or 5, ECDSA P-256, TEE type TDX.
pub fn is_td_quote(bytes: &[u8]) -> bool {
    matches!(bytes.get(..8), Some([4 | 5, 0, 2, 0, 0x81, 0, 0, 0]))
}

/// A raw SNP report from its 1184 bytes, or from hex text of them (whitespace ignored).
pub fn raw_snp_report(bytes: &[u8]) -> Result<Cow<'_, [u8]>, Error> {
    if bytes.len() == hcl_parse::snp::SNP_REPORT_SIZE {
        return Ok(Cow::Borrowed(bytes));
    }
    let text: String = String::from_utf8_lossy(bytes)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    match hex::decode(&text) {
        Ok(decoded) if decoded.len() == hcl_parse::snp::SNP_REPORT_SIZE => Ok(Cow::Owned(decoded)),
        _ => Err(Error::input(format!(
            "not a raw SNP report: expected 1184 bytes (binary or hex text), found {} bytes",
            bytes.len()
        ))),
    }
}

fn decode_unmarked(bytes: &[u8], options: &DecodeOptions) -> Result<Decoded, Error> {
    if !bytes.is_empty() && bytes.iter().all(|&b| b == 0) {
        return Err(Error::input(format!(
            "all {} bytes are zero (an NV index nothing was written to?)",
            bytes.len()
        )));
    }
    if bytes.starts_with(b"HCLA") {
        let mut decoded = describe_hcl(bytes)?;
        if let Ok(report) = HclReport::parse(bytes).and_then(|h| h.snp_report()) {
            let policy = policy_or(options.vtpm_policy.as_ref(), DEFAULT_EVIDENCE_PRESET)?;
            add_policy(&mut decoded, &report, &policy, &options.catalog, true)?;
        }
        return Ok(decoded);
    }
    if bytes.starts_with(&[0xFF, 0x54, 0x43, 0x47]) {
        return describe_attest(bytes).map(Decoded::new);
    }
    if is_td_quote(bytes) {
        return td_quote_json(bytes, options.at).map(Decoded::new);
    }
    if looks_like_crypto_agile_log(bytes) {
        return describe_event_log(bytes);
    }
    if bytes.trim_ascii_start().first() == Some(&b'{') {
        return describe_json(bytes, options);
    }
    if let Ok(raw) = raw_snp_report(bytes)
        && let Ok(report) = SnpReport::from_bytes(&raw)
    {
        let mut decoded =
            Decoded::new(json!({ "kind": "SNP report", "report": snp_json(&report) }));
        let policy = policy_or(options.raw_report_policy.as_ref(), DEFAULT_REPORT_PRESET)?;
        let identity_applies = policy.require_known_firmware;
        add_policy(
            &mut decoded,
            &report,
            &policy,
            &options.catalog,
            identity_applies,
        )?;
        return Ok(decoded);
    }
    if let Ok(file) = QuoteFile::from_quote_bin(bytes) {
        return describe_quote_file(&file).map(Decoded::new);
    }
    // A certificate as read from NV (the AK certificate's index 0x01C101D0 holds one): DER,
    // then zero padding (trimmed).
    if let Ok(der) = vtpm_akcert::der_from_nv(bytes)
        && der.len() < bytes.len()
        && x509_cert::Certificate::from_der(der).is_ok()
    {
        let certificate = certificate_json(der, options.at);
        let kind = if certificate
            .get("vtpm_ak_certificate")
            .is_none_or(Value::is_null)
        {
            "certificate (DER with zero padding, trimmed)"
        } else {
            "AK certificate (NV 0x01C101D0, zero padding trimmed)"
        };
        return Ok(Decoded::new(json!({
            "kind": kind,
            "padding_bytes": bytes.len() - der.len(),
            "certificates": [certificate],
        })));
    }
    if let Some(key) = public_key(bytes) {
        return Ok(Decoded::new(key));
    }
    if let Ok(certificates) = crate::certs::certificates(bytes) {
        return Ok(Decoded::new(json!({
            "kind": "certificates",
            "certificates": certificates.iter().map(|der| certificate_json(der, options.at)).collect::<Vec<_>>(),
        })));
    }
    if let Ok(crl) = x509_cert::crl::CertificateList::from_der(bytes) {
        return Ok(Decoded::new(crl_json(&crl, options.at)));
    }
    if std::str::from_utf8(bytes).is_ok_and(|t| t.contains("BEGIN X509 CRL")) {
        let (_, der) =
            pem_rfc7468::decode_vec(bytes).map_err(|e| Error::input(format!("PEM CRL: {e}")))?;
        let crl = x509_cert::crl::CertificateList::from_der(&der)
            .map_err(|e| Error::input(format!("CRL: {e}")))?;
        return Ok(Decoded::new(crl_json(&crl, options.at)));
    }
    if EventLog::parse(bytes).is_ok_and(|log| log.format() == LogFormat::Sha1) {
        return describe_event_log(bytes);
    }
    Err(Error::input(
        "not a recognised artifact (HCL report, raw SNP report, TD quote, quote, certificate, CRL, public key, evidence or TCG event log)",
    ))
}

fn render(value: &Value, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    match value {
        Value::Object(map) => {
            // What the artifact is comes first; the rest in the JSON's order.
            let kind = map.get_key_value("kind");
            for (key, value) in kind
                .into_iter()
                .chain(map.iter().filter(|(k, _)| *k != "kind"))
            {
                match value {
                    Value::Object(_) | Value::Array(_) => {
                        out.push_str(&format!("{indent}{}:\n", printable_value(key)));
                        render(value, depth + 1, out);
                    }
                    scalar => out.push_str(&format!(
                        "{indent}{}: {}\n",
                        printable_value(key),
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
/// decodings are objects by construction).
fn set(json: &mut Value, key: &str, value: Value) {
    if let Some(object) = json.as_object_mut() {
        object.insert(key.to_string(), value);
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => printable_value(s),
        other => other.to_string(),
    }
}

/// A crypto-agile log starts with a SHA-1-format EV_NO_ACTION record carrying the Spec ID event.
fn looks_like_crypto_agile_log(bytes: &[u8]) -> bool {
    bytes.get(4..8) == Some(&3u32.to_le_bytes()[..])
        && bytes.get(32..47) == Some(&b"Spec ID Event03"[..])
}

fn bank_name(algorithm: u16) -> String {
    HashAlg::from_tpm(algorithm).map_or_else(|| format!("{algorithm:#06x}"), |b| b.to_string())
}

fn hex(bytes: &[u8]) -> Value {
    json!(HexSlice(bytes).to_string())
}

/// An event log: every event decoded, the summary, and the PCR values it replays to, per bank.
fn describe_event_log(bytes: &[u8]) -> Result<Decoded, Error> {
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
                .map(|d| (bank_name(d.algorithm), hex(d.digest)))
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
                .map(|(pcr, value)| (pcr.to_string(), hex(value)))
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
            printable_value(&event.content().to_string())
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
                .map_or_else(|| "(image in memory)".into(), printable_value)
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
            printable_value(cmdline)
        ));
    }
    if let Some(technology) = &summary.confidential_technology {
        text.push_str(&format!(
            "  confidential platform: {}\n",
            printable_value(technology)
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
    Ok(Decoded {
        json,
        body_text: text,
        policy: None,
    })
}

/// An HCL report: header, SNP or TD report, and runtime claims.
fn describe_hcl(bytes: &[u8]) -> Result<Decoded, Error> {
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
        "attestation_key": claims_ak(&hcl),
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
    Ok(Decoded::new(json))
}

/// The runtime claims' attestation key (HCLAkPub), as [`key_json`] describes keys, or why it
/// cannot be read.
fn claims_ak(hcl: &HclReport<'_>) -> Value {
    let key = hcl
        .runtime_claims()
        .and_then(|claims| claims.attestation_key()?.rsa_public_numbers())
        .map_err(|e| e.to_string())
        .and_then(|numbers| AkPublic::from_jwk(&numbers).map_err(|e| e.to_string()));
    match key {
        Ok(key) => key_json(&key),
        Err(error) => json!({ "error": error }),
    }
}

/// A TD quote: header, TD report body, QE report and the PCK chain.
fn td_quote_json(bytes: &[u8], at: Option<UnixTime>) -> Result<Value, Error> {
    let quote = TdQuote::parse(bytes).map_err(Error::Tdx)?;
    let chain: Vec<Value> = crate::certs::certificates(quote.pck_chain_pem)
        .map(|ders| ders.iter().map(|der| certificate_json(der, at)).collect())
        .unwrap_or_default();
    Ok(json!({
        "kind": "TD quote (Intel TDX)",
        "version": quote.version,
        "body": quote.body,
        "qe_report": {
            "mr_signer": hex(&quote.qe_report.mr_signer),
            "isv_prod_id": quote.qe_report.isv_prod_id,
            "isv_svn": quote.qe_report.isv_svn,
            "report_data": hex(&quote.qe_report.report_data),
        },
        "attestation_key": hex(quote.attestation_key),
        "pck_chain": chain,
    }))
}

/// An SNP report, with the names and shapes of the verdict's `report` (TCB values as
/// components, numbers as numbers, hex in lower case), and the fields only a decoding shows.
fn snp_json(report: &SnpReport<'_>) -> Value {
    let generation = report.generation().ok().flatten();
    let layout = generation.unwrap_or(Generation::Milan);
    let mut json = json!({
        "product": generation,
        "report_version": report.version(),
        "vmpl": report.vmpl(),
        "guest_svn": report.guest_svn(),
        "policy": GuestPolicyClaims::of(report.policy()),
        "chip_id": hex(report.chip_id()),
        "tcb": TcbClaims::of(report, layout),
        "current_firmware": report.current_version(),
        "committed_firmware": report.committed_version(),
        "measurement": hex(report.measurement()),
        "report_data": hex(report.report_data()),
        "host_data": hex(report.host_data()),
        "id_key_digest": hex(report.id_key_digest()),
        "author_key_digest": hex(report.author_key_digest()),
        "family_id": hex(report.family_id()),
        "image_id": hex(report.image_id()),
        "report_id": hex(report.report_id()),
        "platform_info": report.platform_info().0,
        "signing_key": report.key_info().signing_key().to_string(),
        "signature_algo": report.signature_algo(),
        "cpuid": report.cpuid(),
        "launch_mit_vector": report.launch_mit_vector(),
        "current_mit_vector": report.current_mit_vector(),
        "reserved_bytes_zero": report.reserved_bytes_are_zero(),
    });
    if generation.is_none() {
        set(
            &mut json,
            "tcb_layout",
            json!(format!(
                "version {} reports do not name their product: TCB values decoded with the Milan and Genoa layout",
                report.version()
            )),
        );
    }
    json
}

/// The policy's verdict on a decoded report; firmware identity counts when it applies (vTPM
/// reports; raw reports under a policy that requires known firmware).
fn add_policy(
    decoded: &mut Decoded,
    report: &SnpReport<'_>,
    policy: &EvidencePolicy,
    catalog: &FirmwareCatalog,
    identity_applies: bool,
) -> Result<(), Error> {
    // As verification does: a policy for the other platform would not be applied.
    if policy.platform != Platform::Snp {
        return Err(Error::input(format!(
            "the policy is for {} (platform = \"{}\"), but this is an SNP report: use an SNP policy (preset azure-cvm or snp-default)",
            policy.platform,
            policy.platform.to_string().to_lowercase()
        )));
    }
    let named = report.generation().ok().flatten();
    let generation = named.unwrap_or(Generation::Milan);
    let firmware = FirmwareClaims::of(report, &policy.report, catalog, false);
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
    let mut section = section;
    if named.is_none() {
        set(
            &mut section,
            "note",
            json!(
                "the report does not name its product (version 2): per-product TCB floors were judged as Milan's; verification takes the product from the VCEK"
            ),
        );
    }
    set(&mut decoded.json, "policy_evaluation", section);
    *decoded = Decoded::new(decoded.json.take());
    decoded.policy = Some(outcome);
    Ok(())
}

fn describe_attest(bytes: &[u8]) -> Result<Value, Error> {
    let attest = QuoteAttest::parse(bytes).map_err(|e| Error::input(e.to_string()))?;
    Ok(json!({
        "kind": "TPM quote (TPMS_ATTEST)",
        "qualified_signer": hex(attest.qualified_signer()),
        "nonce": hex(attest.extra_data()),
        "nonce_text": std::str::from_utf8(attest.extra_data()).ok(),
        "selection": attest.selection(),
        "pcr_digest": hex(attest.pcr_digest()),
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

fn describe_json(bytes: &[u8], options: &DecodeOptions) -> Result<Decoded, Error> {
    let parsed = Evidence::from_json(bytes, DEFAULT_SIZE_LIMIT);
    if let Ok(evidence) = &parsed {
        let mut hcl = describe_hcl(&evidence.hcl_report)?;
        set(
            &mut hcl.json,
            "kind",
            json!(format!("evidence ({:?})", evidence.version)),
        );
        set(
            &mut hcl.json,
            "quote",
            describe_attest(&evidence.quote.message)?,
        );
        if let Some(td_quote) = &evidence.td_quote {
            set(
                &mut hcl.json,
                "td_quote",
                td_quote_json(td_quote, options.at)
                    .unwrap_or_else(|e| json!({ "error": e.to_string() })),
            );
        }
        let pcrs: Vec<Value> = evidence.quote.pcrs.iter().map(|p| hex(p)).collect();
        set(&mut hcl.json, "pcrs", json!(pcrs));
        let ak_certificate = evidence.ak_certificate.as_deref().map(|nv| {
            vtpm_akcert::der_from_nv(nv).map_or_else(
                |e| json!({ "error": e.to_string() }),
                |der| certificate_json(der, options.at),
            )
        });
        set(&mut hcl.json, "ak_cert", json!(ak_certificate));
        let vcek = evidence
            .vcek
            .as_deref()
            .map(|der| certificate_json(der, options.at));
        set(&mut hcl.json, "vcek", json!(vcek));
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
        let mut decoded = Decoded::new(hcl.json);
        if let Ok(report) = HclReport::parse(&evidence.hcl_report).and_then(|h| h.snp_report()) {
            let policy = policy_or(options.vtpm_policy.as_ref(), DEFAULT_EVIDENCE_PRESET)?;
            add_policy(&mut decoded, &report, &policy, &options.catalog, true)?;
        }
        return Ok(decoded);
    }
    if let Ok(file) = QuoteFile::from_json(bytes) {
        return describe_quote_file(&file).map(Decoded::new);
    }
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| Error::input(format!("JSON: {e}")))?;
    // Evidence that does not parse says why, rather than passing for other JSON.
    let evidence_keys = ["hcl_report", "report", "tpm_quote", "quote"];
    if value
        .as_object()
        .is_some_and(|object| evidence_keys.iter().any(|key| object.contains_key(*key)))
        && let Err(error) = parsed
    {
        return Err(error);
    }
    Ok(Decoded::new(
        json!({ "kind": "JSON (not evidence or a quote)", "value": value }),
    ))
}

/// A public key in PEM (`PUBLIC KEY`) or DER (SubjectPublicKeyInfo): its type, size and the
/// fingerprint the verdict's `ak_fingerprint` uses.
fn public_key(bytes: &[u8]) -> Option<Value> {
    let key = if bytes.starts_with(b"-----BEGIN PUBLIC KEY-----")
        || std::str::from_utf8(bytes)
            .is_ok_and(|t| t.trim_start().starts_with("-----BEGIN PUBLIC KEY-----"))
    {
        let text = std::str::from_utf8(bytes).ok()?.trim_start();
        AkPublic::from_spki_pem(text.as_bytes())
    } else {
        // DER: a SubjectPublicKeyInfo and nothing after it.
        x509_cert::spki::SubjectPublicKeyInfoRef::from_der(bytes).ok()?;
        AkPublic::from_spki_der(bytes)
    };
    Some(match key {
        Ok(key) => json!({
            "kind": "public key",
            "key": key_json(&key),
        }),
        Err(e) => json!({
            "kind": "public key",
            "error": e.to_string(),
        }),
    })
}

/// A key's type, size and fingerprint (SHA-256 of the RSA modulus or of the uncompressed EC
/// point, as the verdict's `ak_fingerprint`).
fn key_json(key: &AkPublic) -> Value {
    json!({
        "type": key.type_name(),
        "bits": key.rsa_modulus().map_or_else(|| match key {
            AkPublic::P256(_) => 256,
            _ => 384,
        }, |modulus| modulus.len() * 8),
        "fingerprint": hex(&key.fingerprint()),
    })
}

/// The key of a certificate, described as [`key_json`], or the reason it cannot be.
fn certificate_key(cert: &x509_cert::Certificate) -> Value {
    let spki = cert.tbs_certificate().subject_public_key_info();
    match spki
        .to_der()
        .map_err(|e| e.to_string())
        .and_then(|der| AkPublic::from_spki_der(&der).map_err(|e| e.to_string()))
    {
        Ok(key) => key_json(&key),
        Err(reason) => json!({ "algorithm": spki.algorithm.oid.to_string(), "note": reason }),
    }
}

/// The signature algorithm's name, for those used in this project's chains.
fn signature_algorithm(cert: &x509_cert::Certificate) -> String {
    match cert.signature_algorithm().oid.to_string().as_str() {
        "1.2.840.113549.1.1.10" => "RSASSA-PSS".into(),
        "1.2.840.113549.1.1.11" => "RSA PKCS#1 v1.5 with SHA-256".into(),
        "1.2.840.113549.1.1.12" => "RSA PKCS#1 v1.5 with SHA-384".into(),
        "1.2.840.113549.1.1.13" => "RSA PKCS#1 v1.5 with SHA-512".into(),
        "1.2.840.10045.4.3.2" => "ECDSA with SHA-256".into(),
        "1.2.840.10045.4.3.3" => "ECDSA with SHA-384".into(),
        other => other.to_string(),
    }
}

/// A VCEK's or VLEK's AMD extensions decoded (product, each SPL, hwID or cspId), when the
/// certificate has them.
fn amd_extensions(cert: &x509_cert::Certificate, der: &[u8]) -> Option<Value> {
    let has_amd = cert.tbs_certificate().extensions().is_some_and(|e| {
        e.iter()
            .any(|e| e.extn_id.to_string().starts_with("1.3.6.1.4.1.3704.1."))
    });
    if !has_amd {
        return None;
    }
    let cn = attest_prims::x509::common_name(cert.tbs_certificate().subject()).unwrap_or_default();
    let role = if cn == "SEV-VLEK" {
        CertRole::Vlek
    } else {
        CertRole::Vcek
    };
    Some(match AmdExtensions::from_certificate_der(role, der) {
        Ok(extensions) => json!({
            "role": role,
            "product_name": extensions.product_name,
            "product": extensions.generation,
            "struct_version": extensions.struct_version,
            "tcb": extensions.tcb,
            "hw_id": extensions.hw_id.as_deref().map(hex),
            "csp_id": extensions.csp_id,
        }),
        Err(e) => json!({ "role": role, "error": e.to_string() }),
    })
}

fn certificate_json(der: &[u8], at: Option<UnixTime>) -> Value {
    let Ok(cert) = x509_cert::Certificate::from_der(der) else {
        return json!({ "error": "not a DER certificate" });
    };
    let tbs = cert.tbs_certificate();
    let digest = sha2::Sha256::digest(der);
    let extended_key_usage: Vec<String> = tbs
        .extensions()
        .into_iter()
        .flatten()
        .filter(|e| e.extn_id.to_string() == "2.5.29.37")
        .filter_map(|e| {
            x509_cert::ext::pkix::ExtendedKeyUsage::from_der(e.extn_value.as_bytes()).ok()
        })
        .flat_map(|usages| usages.0.into_iter().map(|oid| oid.to_string()))
        .collect();
    let is_ak = extended_key_usage
        .iter()
        .any(|oid| oid == "2.23.133.8.3" || oid == "1.3.6.1.4.1.311.10.3.12");
    let subject_cn = attest_prims::x509::common_name(tbs.subject()).unwrap_or_default();
    let ak = is_ak.then(|| {
        json!({
            "vm_id": vtpm_akcert::vm_id(&subject_cn),
            "decoded_only": "not verified: snp-vtpm verify checks it under Azure's pinned vTPM root",
        })
    });
    let not_before = attest_prims::x509::unix_time(tbs.validity().not_before);
    let not_after = attest_prims::x509::unix_time(tbs.validity().not_after);
    let validity = at.map(|at| {
        let state = if at < not_before {
            "not yet valid"
        } else if at > not_after {
            "expired"
        } else {
            "valid"
        };
        json!({ "at": at.to_string(), "state": state })
    });
    let pinned_amd = snp_verify::AMD_PINS
        .iter()
        .find(|pin| pin.sha256[..] == digest[..])
        .map(|pin| {
            format!(
                "{} {}",
                pin.generation,
                json!(pin.role).as_str().unwrap_or_default()
            )
        });
    json!({
        "subject": tbs.subject().to_string(),
        "issuer": tbs.issuer().to_string(),
        "serial": hex(tbs.serial_number().as_bytes()),
        "not_before": not_before.to_string(),
        "not_after": not_after.to_string(),
        "validity": validity,
        "sha256": hex(&digest),
        "key": certificate_key(&cert),
        "signature_algorithm": signature_algorithm(&cert),
        "pinned_amd_certificate": pinned_amd,
        "pinned_azure_vtpm_root": digest[..] == vtpm_akcert::AZURE_VTPM_ROOT_SHA256[..],
        "pinned_intel_sgx_root": digest[..] == tdx_verify::INTEL_SGX_ROOT_SHA256[..],
        "amd_extensions": amd_extensions(&cert, der),
        "extended_key_usage": extended_key_usage,
        "vtpm_ak_certificate": ak,
    })
}

fn crl_json(crl: &x509_cert::crl::CertificateList, at: Option<UnixTime>) -> Value {
    let tbs = &crl.tbs_cert_list;
    let this_update = attest_prims::x509::unix_time(tbs.this_update);
    let next_update = tbs.next_update.map(attest_prims::x509::unix_time);
    // As snp-verify judges AMD's CRLs: one without nextUpdate is refused, and one is stale
    // after nextUpdate.
    let validity = at.map(|at| {
        let state = match next_update {
            _ if at < this_update => "not yet valid",
            None => "refused (no next_update)",
            Some(next) if at > next => "stale (past next_update)",
            Some(_) => "current",
        };
        json!({ "at": at.to_string(), "state": state })
    });
    json!({
        "kind": "CRL",
        "issuer": tbs.issuer.to_string(),
        "this_update": this_update.to_string(),
        "next_update": next_update.map(|t| t.to_string()),
        "validity": validity,
        "revoked_serials": tbs.revoked_certificates.as_ref().map(|list| list.iter().map(|r| hex(r.serial_number.as_bytes())).collect::<Vec<_>>()).unwrap_or_default(),
    })
}
