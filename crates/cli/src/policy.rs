//! The evidence policy: snp-verify's report policy plus what the vTPM adds (PCRs,
//! vm-configuration, freshness, revocation). Policy files name a preset to extend, or replace
//! it; see `docs/policy.md`.

use std::collections::BTreeMap;

use hcl_parse::{Hex, HexBytes};
use serde::{Deserialize, Serialize};
use snp_verify::Policy;
use tcg_eventlog::{BOOT_APPLICATIONS_PCR, CMDLINE_PCRS, KERNEL_STUB_PCR};
use vtpm_quote::{HashAlg, VerifiedQuote};

use crate::claims::{AkCertificateClaims, EventLogClaims};
use crate::error::{Error, PolicyViolation};
use crate::tdx::TdxPolicy;

/// Names of the presets: snp-verify's, `azure-cvm-strict` (`azure-cvm` with the AK
/// certificate required), `azure-tdx` (Azure's TDX CVMs) and `tdx-default` (raw TD quotes).
pub const PRESETS: [&str; 5] = [
    "snp-default",
    "azure-cvm",
    "azure-cvm-strict",
    "azure-tdx",
    "tdx-default",
];
/// The preset for vTPM evidence from an SNP CVM.
pub const DEFAULT_EVIDENCE_PRESET: &str = "azure-cvm";
/// The preset for vTPM evidence from a TDX CVM.
pub const DEFAULT_TDX_PRESET: &str = "azure-tdx";

/// The hardware a policy is written for: a policy for one is refused on evidence of the other.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// AMD SEV-SNP (the `report` section applies).
    #[default]
    Snp,
    /// Intel TDX (the `tdx` section applies).
    Tdx,
}

impl Platform {
    /// The preset `verify` uses for evidence of this platform when none is named.
    pub fn default_preset(self) -> &'static str {
        match self {
            Self::Snp => DEFAULT_EVIDENCE_PRESET,
            Self::Tdx => DEFAULT_TDX_PRESET,
        }
    }

    /// The platform of an HCL report's hardware report, when it is one this verifier knows.
    pub fn of(report_type: hcl_parse::ReportType) -> Option<Self> {
        match report_type {
            hcl_parse::ReportType::Snp => Some(Self::Snp),
            hcl_parse::ReportType::Tdx => Some(Self::Tdx),
            _ => None,
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Snp => "SNP",
            Self::Tdx => "TDX",
        })
    }
}
/// The preset for raw SNP reports.
pub const DEFAULT_REPORT_PRESET: &str = "snp-default";
/// The preset for raw TD quotes.
pub const DEFAULT_TD_QUOTE_PRESET: &str = "tdx-default";

/// Required PCRs and expected values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PcrPolicy {
    /// The bank the entries below refer to.
    pub bank: HashAlg,
    /// PCR indices the quote must cover.
    pub required: Vec<u8>,
    /// Accepted values by PCR index (each must also be covered by the quote): one value, or
    /// a list of values any of which is accepted (a fleet's policy, `policy capture --merge`).
    pub expected: BTreeMap<u8, PcrValues>,
}

/// The values a PCR may have: one (written as a string) or several (a list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcrValues(pub Vec<HexBytes>);

impl PcrValues {
    /// One accepted value.
    pub fn one(value: HexBytes) -> Self {
        Self(vec![value])
    }

    /// Whether `value` is one of them.
    pub fn accepts(&self, value: &[u8]) -> bool {
        self.0.iter().any(|accepted| accepted.0 == value)
    }
}

impl Serialize for PcrValues {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => one.serialize(serializer),
            many => many.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for PcrValues {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(HexBytes),
            Many(Vec<HexBytes>),
        }
        // Untagged errors say nothing useful: name the shape instead.
        let value = serde_json::Value::deserialize(deserializer)?;
        match serde_json::from_value::<OneOrMany>(value) {
            Ok(OneOrMany::One(one)) => Ok(Self(vec![one])),
            Ok(OneOrMany::Many(many)) if !many.is_empty() => Ok(Self(many)),
            Ok(OneOrMany::Many(_)) => Err(serde::de::Error::custom(
                "a PCR's accepted values must not be an empty list",
            )),
            Err(_) => Err(serde::de::Error::custom(
                "a PCR value must be a hex string or a list of hex strings",
            )),
        }
    }
}

impl PcrPolicy {
    /// PCR indices 0 to 23, and values as long as the bank's digests.
    fn check_values(&self) -> Result<(), Error> {
        let indices = self.required.iter().chain(self.expected.keys());
        if let Some(index) = indices.into_iter().find(|&&i| i > 23) {
            return Err(Error::input(format!(
                "policy [pcrs]: PCR {index} does not exist (a TPM has PCRs 0 to 23)"
            )));
        }
        let length = self.bank.digest_len();
        for (index, values) in &self.expected {
            if let Some(bad) = values.0.iter().find(|v| v.0.len() != length) {
                return Err(Error::input(format!(
                    "policy [pcrs] expected.\"{index}\": {} bytes, but a {} PCR has {length}: {bad}",
                    bad.0.len(),
                    self.bank
                )));
            }
        }
        Ok(())
    }
}

impl Default for PcrPolicy {
    fn default() -> Self {
        Self {
            bank: HashAlg::Sha256,
            required: Vec::new(),
            expected: BTreeMap::new(),
        }
    }
}

/// Required values of the runtime claims' `vm-configuration`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VmConfigurationPolicy {
    /// `secure-boot` must have this value.
    pub secure_boot: Option<bool>,
    /// `tpm-enabled` must have this value.
    pub tpm_enabled: Option<bool>,
    /// `console-enabled` must have this value.
    pub console_enabled: Option<bool>,
}

/// What the TCG event log must show (see `docs/policy.md`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventLogPolicy {
    /// Refuse evidence without an event log.
    pub required: bool,
    /// The SecureBoot variable the log measured in PCR 7 must be on (true) or off (false).
    pub secure_boot: Option<bool>,
    /// The measured kernel command line must be one of these: exactly, or, for an entry
    /// ending in `*`, starting with the text before the `*`. Empty: any.
    pub allowed_kernel_cmdlines: Vec<String>,
    /// Every boot application the firmware loaded (PCR 4) must have one of these SHA-256
    /// Authenticode digests. Empty: any.
    pub allowed_boot_images: Vec<Hex<32>>,
}

impl EventLogPolicy {
    /// Whether a kernel command line is allowed (always, when the list is empty).
    pub fn allows_kernel_cmdline(&self, cmdline: &str) -> bool {
        self.allowed_kernel_cmdlines.is_empty()
            || self
                .allowed_kernel_cmdlines
                .iter()
                .any(|allowed| match allowed.strip_suffix('*') {
                    Some(prefix) => cmdline.starts_with(prefix),
                    None => allowed == cmdline,
                })
    }

    /// Whether any field needs a log.
    pub fn needs_log(&self) -> bool {
        self.required
            || self.secure_boot.is_some()
            || !self.allowed_kernel_cmdlines.is_empty()
            || !self.allowed_boot_images.is_empty()
    }
}

/// Whether the vTPM AK certificate must be present (see `docs/policy.md`). A certificate that
/// is present is verified under `required` and `if-present` alike, and refused if it fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AkCertificateRule {
    /// Refuse evidence without one (exit 3).
    Required,
    /// Verify it when the evidence carries one; record its absence as a skipped check.
    #[default]
    IfPresent,
    /// Do not look at it (recorded as a skipped check).
    Ignored,
}

/// The whole appraisal policy for evidence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvidencePolicy {
    /// The hardware this policy is for.
    pub platform: Platform,
    /// The SNP report policy (snp-verify's fields).
    pub report: Policy,
    /// The TDX policy (TD quote, TCB status, MRTD).
    pub tdx: TdxPolicy,
    /// PCR requirements.
    pub pcrs: PcrPolicy,
    /// vm-configuration requirements.
    pub vm_configuration: VmConfigurationPolicy,
    /// Event-log requirements.
    pub event_log: EventLogPolicy,
    /// The runtime claims' user-data must start with the nonce (the rest zero), so the report
    /// is as fresh as the nonce; v0/v1 evidence is refused.
    pub require_report_bound_to_nonce: bool,
    /// Refuse when no CRL is available.
    pub require_crl: bool,
    /// Whether the vTPM AK certificate must be present.
    pub ak_certificate: AkCertificateRule,
    /// Raw reports and TD quotes (`verify-report`) must come from known firmware: a
    /// firmware-catalog entry or the policy's allow-lists name it. (vTPM evidence always must,
    /// unless the caller accepts unknown firmware.) True in the Azure presets.
    pub require_known_firmware: bool,
}

impl EvidencePolicy {
    /// A preset by name (`snp-default`, `azure-cvm`, `azure-cvm-strict`, `azure-tdx`).
    pub fn preset(name: &str) -> Option<Self> {
        if name == "azure-cvm-strict" {
            return Self::preset("azure-cvm").map(|azure| Self {
                ak_certificate: AkCertificateRule::Required,
                ..azure
            });
        }
        if name == "tdx-default" {
            // Raw TD quotes: Intel's TCB statuses and the TD's attributes, no MRTD list.
            return Some(Self {
                platform: Platform::Tdx,
                ..Self::default()
            });
        }
        if name == "azure-tdx" {
            // The vTPM side as azure-cvm's; the hardware side is the TDX section's.
            return Some(Self {
                platform: Platform::Tdx,
                tdx: TdxPolicy::azure(),
                require_known_firmware: true,
                ..Self::default()
            });
        }
        if name == "azure-cvm" {
            // Which paravisor builds are known is the firmware catalog's to say.
            return Some(Self {
                report: Policy::azure_cvm_layout(),
                require_known_firmware: true,
                ..Self::default()
            });
        }
        Policy::preset(name).map(|report| Self {
            report,
            ..Self::default()
        })
    }

    /// A preset by name, or an input error that lists the presets.
    pub fn named(name: &str) -> Result<Self, Error> {
        Self::preset(name).ok_or_else(|| {
            Error::input(format!(
                "unknown preset \"{name}\" (presets: {})",
                PRESETS.join(", ")
            ))
        })
    }

    /// Reads a policy file's text, TOML or JSON (a JSON document starts with `{`; a UTF-8
    /// byte-order mark is allowed), as [`EvidencePolicy::from_document`] builds it. `origin`
    /// names the file in errors.
    pub fn from_text(text: &[u8], default_preset: &str, origin: &str) -> Result<Self, Error> {
        let text = std::str::from_utf8(text)
            .map_err(|_| Error::input(format!("{origin}: the policy is not UTF-8")))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let document: serde_json::Value = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| Error::input(format!("{origin}: {e}")))?
        } else {
            toml::from_str(text).map_err(|e| Error::input(format!("{origin}: {e}")))?
        };
        Self::from_document(document, default_preset)
            .map_err(|e| Error::input(format!("{origin}: {}", e.message())))
    }

    /// SHA-256 of the policy as this build applies it (its JSON form, every field written):
    /// two builds whose digests of a preset agree apply the same checks.
    pub fn digest(&self) -> [u8; 32] {
        use sha2::Digest;
        let json = serde_json::to_vec(self).unwrap_or_default();
        sha2::Sha256::digest(json).into()
    }

    /// Builds a policy from a document (JSON, or TOML converted to JSON values): it extends
    /// the preset named by `extends` (default: `default_preset`), or starts from the built-in
    /// defaults when `replace = true`. Objects merge field by field; lists extend the
    /// preset's lists; other values replace.
    pub fn from_document(document: serde_json::Value, default_preset: &str) -> Result<Self, Error> {
        let serde_json::Value::Object(mut fields) = document else {
            return Err(Error::input("a policy document must be a table/object"));
        };
        let replace = match fields.remove("replace") {
            None => false,
            Some(serde_json::Value::Bool(b)) => b,
            Some(other) => {
                return Err(Error::input(format!(
                    "policy \"replace\" must be true or false, found {other}"
                )));
            }
        };
        let preset = match fields.remove("extends") {
            None => default_preset.to_string(),
            Some(serde_json::Value::String(name)) => name,
            Some(other) => {
                return Err(Error::input(format!(
                    "policy \"extends\" must be a preset name, found {other}"
                )));
            }
        };
        let base = if replace {
            Self::default()
        } else {
            Self::named(&preset)?
        };
        let sections = (fields.contains_key("report"), fields.contains_key("tdx"));
        let mut merged = serde_json::to_value(base).map_err(|e| Error::input(e.to_string()))?;
        merge(&mut merged, serde_json::Value::Object(fields));
        // The error names the key, with its table: "report.minimum_tcb.reported.snp: ...".
        let policy: Self = serde_path_to_error::deserialize(merged)
            .map_err(|e| Error::input(format!("policy: {}: {}", e.path(), e.inner())))?;
        policy.pcrs.check_values()?;
        // A floor must constrain something on every product it applies to: one whose
        // components are all 0 (an empty table, now that a missing component means 0) would
        // check nothing yet silence the "no minimum TCB" warning; FMC alone checks Turin only.
        let floors = |tcb: &snp_verify::MinimumTcb| {
            [
                ("reported", tcb.reported),
                ("committed", tcb.committed),
                ("launch", tcb.launch),
                ("current", tcb.current),
            ]
        };
        for (name, floor) in floors(&policy.report.minimum_tcb) {
            let Some(floor) = floor else { continue };
            if [floor.bootloader, floor.tee, floor.snp, floor.microcode] == [0; 4] {
                return Err(Error::input(match floor.fmc {
                    Some(fmc) if fmc > 0 => format!(
                        "policy [report.minimum_tcb.{name}]: fmc alone constrains Turin reports only, and this floor applies to every product; put it under [report.minimum_tcb_by_product.Turin.{name}]"
                    ),
                    _ => format!(
                        "policy [report.minimum_tcb.{name}]: every component is 0, so it constrains nothing; name the components (bootloader, tee, snp, microcode) or remove the table"
                    ),
                }));
            }
        }
        for (product, floor) in &policy.report.minimum_tcb_by_product {
            for (name, tcb) in floors(floor) {
                if let Some(tcb) = tcb
                    && [tcb.bootloader, tcb.tee, tcb.snp, tcb.microcode] == [0; 4]
                    && tcb.fmc.unwrap_or(0) == 0
                {
                    return Err(Error::input(format!(
                        "policy [report.minimum_tcb_by_product.{product:?}.{name}]: every component is 0, so it constrains nothing; name the components or remove the table"
                    )));
                }
            }
        }
        // Only Turin has an FMC SPL: a floor that names one for another product refuses every
        // report of it.
        for (product, floor) in &policy.report.minimum_tcb_by_product {
            let tcbs = [floor.reported, floor.committed, floor.launch, floor.current];
            if *product != hcl_parse::Generation::Turin
                && tcbs.iter().flatten().any(|tcb| tcb.fmc.is_some())
            {
                return Err(Error::input(format!(
                    "policy [report.minimum_tcb_by_product.{product:?}]: fmc is a Turin SPL; {product:?} reports have none"
                )));
            }
        }
        // A section for the other platform would be ignored: say so instead.
        let ignored = match (policy.platform, sections) {
            (Platform::Snp, (_, true)) => Some(("[tdx]", "extends = \"azure-tdx\"")),
            (Platform::Tdx, (true, _)) => Some(("[report]", "extends = \"azure-cvm\"")),
            _ => None,
        };
        if let Some((section, fix)) = ignored {
            return Err(Error::input(format!(
                "the policy has a {section} section, but it is for {} (platform = \"{}\", from preset \"{preset}\" unless set): that section would be ignored; for the other platform write {fix}",
                policy.platform,
                policy.platform.to_string().to_lowercase()
            )));
        }
        Ok(policy)
    }
}

/// Merges `overlay` into `base`: objects field by field, arrays by appending new items,
/// everything else by replacement.
fn merge(base: &mut serde_json::Value, overlay: serde_json::Value) {
    use serde_json::Value;
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(&key) {
                    Some(slot) => merge(slot, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (Value::Array(base), Value::Array(overlay)) => {
            for item in overlay {
                if !base.contains(&item) {
                    base.push(item);
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

/// The vTPM parts of the policy: PCR values, vm-configuration claims and what the event log
/// shows. (The report's part is [`snp_verify::Policy`], appraised by snp-verify.)
impl EvidencePolicy {
    /// Checks the verified quote, the runtime claims' vm-configuration and the event log's
    /// claims against the policy; the first violation is the error (exit 3).
    pub(crate) fn check_vtpm(
        &self,
        quote: &VerifiedQuote,
        vm_configuration: Option<&hcl_parse::VmConfiguration<'_>>,
        event_log: Option<&EventLogClaims>,
        ak_certificate: &AkCertificateClaims,
    ) -> Result<(), Error> {
        self.check_pcrs(quote)?;
        self.check_vm_configuration(vm_configuration)?;
        self.check_event_log(event_log)?;
        if self.ak_certificate == AkCertificateRule::Required
            && matches!(ak_certificate, AkCertificateClaims::Absent)
        {
            return Err(PolicyViolation::AkCertificateRequired.into());
        }
        Ok(())
    }

    fn check_pcrs(&self, quote: &VerifiedQuote) -> Result<(), Error> {
        let pcrs = &self.pcrs;
        let required = pcrs.required.iter().chain(pcrs.expected.keys());
        for &index in required {
            let Some(value) = quote.pcr(pcrs.bank, index) else {
                return Err(PolicyViolation::PcrNotQuoted {
                    bank: pcrs.bank,
                    index,
                }
                .into());
            };
            if let Some(expected) = pcrs.expected.get(&index).filter(|e| !e.accepts(value)) {
                return Err(PolicyViolation::PcrValue {
                    bank: pcrs.bank,
                    index,
                    expected: expected.0.clone(),
                    found: HexBytes(value.to_vec()),
                }
                .into());
            }
        }
        Ok(())
    }

    fn check_event_log(&self, log: Option<&EventLogClaims>) -> Result<(), Error> {
        let wanted = &self.event_log;
        let Some(log) = log else {
            if wanted.needs_log() {
                return Err(PolicyViolation::NoEventLog.into());
            }
            return Ok(());
        };
        if let Some(expected) = wanted.secure_boot
            && log.summary.secure_boot != Some(expected)
        {
            return Err(PolicyViolation::SecureBoot {
                expected,
                found: log.summary.secure_boot,
            }
            .into());
        }
        if !wanted.allowed_kernel_cmdlines.is_empty() {
            check_kernel_cmdlines(wanted, log)?;
        }
        if !wanted.allowed_boot_images.is_empty() {
            check_boot_images(&wanted.allowed_boot_images, log)?;
        }
        Ok(())
    }

    fn check_vm_configuration(
        &self,
        config: Option<&hcl_parse::VmConfiguration<'_>>,
    ) -> Result<(), Error> {
        let wanted = &self.vm_configuration;
        let fields = [
            (
                "secure-boot",
                wanted.secure_boot,
                config.and_then(|c| c.secure_boot),
            ),
            (
                "tpm-enabled",
                wanted.tpm_enabled,
                config.and_then(|c| c.tpm_enabled),
            ),
            (
                "console-enabled",
                wanted.console_enabled,
                config.and_then(|c| c.console_enabled),
            ),
        ];
        for (name, expected, found) in fields {
            if let Some(expected) = expected.filter(|e| Some(*e) != found) {
                return Err(PolicyViolation::VmConfiguration {
                    field: name,
                    expected,
                    found,
                }
                .into());
            }
        }
        Ok(())
    }
}

/// The boot applications the firmware measured into an attested PCR 4, each one the policy
/// allows, and nothing there that could be an image under another type.
fn check_boot_images(allowed: &[Hex<32>], log: &EventLogClaims) -> Result<(), PolicyViolation> {
    let pcr = BOOT_APPLICATIONS_PCR;
    // The digests compared are SHA-256 ones: that bank must be the attested one.
    let attested = log
        .matched_pcrs
        .iter()
        .any(|bank| bank.bank == HashAlg::Sha256 && bank.indices.contains(&pcr));
    if !attested {
        return Err(PolicyViolation::BootImagePcrNotQuoted { pcr });
    }
    if !log.summary.opaque_boot_events.is_empty() {
        return Err(PolicyViolation::OpaqueBootEvents {
            pcr,
            events: log.summary.opaque_boot_events.clone(),
        });
    }
    let is_allowed = |digest: &Option<Vec<u8>>| {
        digest
            .as_deref()
            .is_some_and(|d| allowed.iter().any(|a| a.0.as_slice() == d))
    };
    if let Some(image) = log
        .summary
        .boot_chain
        .iter()
        .find(|i| !is_allowed(&i.sha256))
    {
        return Err(PolicyViolation::BootImageNotAllowed {
            allowed: allowed.len(),
            event: image.event,
            sha256: image.sha256.clone().map(HexBytes),
            path: image.path.clone(),
        });
    }
    if log.summary.boot_chain.is_empty() {
        return Err(PolicyViolation::NoBootImages {
            allowed: allowed.len(),
        });
    }
    Ok(())
}

/// The command lines measured in attested PCRs, each one the policy allows.
fn check_kernel_cmdlines(
    wanted: &EventLogPolicy,
    log: &EventLogClaims,
) -> Result<(), PolicyViolation> {
    let allowed = &wanted.allowed_kernel_cmdlines;
    // The command-line PCRs must be attested, and nothing in them may be unreadable: a command
    // line could hide in an unquoted PCR or behind a description.
    let attested = |pcr: u8| {
        log.matched_pcrs
            .iter()
            .any(|bank| bank.indices.contains(&pcr))
    };
    let needed = [CMDLINE_PCRS[0], KERNEL_STUB_PCR, CMDLINE_PCRS[1]];
    if let Some(&missing) = needed.iter().find(|&&pcr| !attested(pcr)) {
        return Err(PolicyViolation::CmdlinePcrNotQuoted {
            needed: needed.to_vec(),
            missing,
        });
    }
    // The kernel's own measurement of its load options must be one of the command lines the
    // boot loader measured (a chainloaded kernel, or one started without GRUB, gets options no
    // boot-loader event shows).
    if let Some(unmatched) = log
        .summary
        .kernel_load_options
        .iter()
        .find(|options| !options.matches_a_cmdline)
    {
        return Err(PolicyViolation::KernelLoadOptionsUnmatched {
            event: unmatched.event,
            pcr: KERNEL_STUB_PCR,
        });
    }
    if !log.summary.opaque_cmdline_events.is_empty() {
        return Err(PolicyViolation::OpaqueCmdlineEvents {
            pcrs: CMDLINE_PCRS.to_vec(),
            events: log.summary.opaque_cmdline_events.clone(),
        });
    }
    // Every measured command line must be allowed: whoever measured one could measure another
    // after it.
    let measured = &log.summary.kernel_cmdlines;
    if let Some(found) = measured.iter().find(|c| !wanted.allows_kernel_cmdline(c)) {
        return Err(PolicyViolation::CmdlineNotAllowed {
            allowed: allowed.to_vec(),
            found: found.clone(),
            measured: measured.clone(),
        });
    }
    if measured.is_empty() {
        return Err(PolicyViolation::NoCmdline {
            allowed: allowed.to_vec(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_extend_or_replace_presets() {
        let doc = serde_json::json!({
            "report": {"allowed_id_key_digests": ["7e".repeat(48)]},
            "pcrs": {"required": [0, 7], "expected": {"7": "00".repeat(32)}},
        });
        let policy = EvidencePolicy::from_document(doc, DEFAULT_EVIDENCE_PRESET).unwrap();
        assert_eq!(
            policy.report.allowed_id_key_digests,
            [hcl_parse::Hex([0x7e; 48])],
            "the preset names no firmware (the catalog does): the list narrows"
        );
        assert_eq!(
            policy.report.required_vmpl,
            Some(0),
            "keeps the preset's VMPL"
        );
        assert_eq!(policy.pcrs.required, [0, 7]);
        assert_eq!(policy.pcrs.expected[&7].0, [HexBytes(vec![0; 32])]);

        let replaced = EvidencePolicy::from_document(
            serde_json::json!({"replace": true, "report": {"allow_debug": true}}),
            DEFAULT_EVIDENCE_PRESET,
        )
        .unwrap();
        assert!(replaced.report.allowed_id_key_digests.is_empty());
        assert!(replaced.report.allow_debug);

        let snp = EvidencePolicy::from_document(
            serde_json::json!({"extends": "snp-default"}),
            "azure-cvm",
        )
        .unwrap();
        assert_eq!(snp, EvidencePolicy::preset("snp-default").unwrap());
        assert!(
            EvidencePolicy::from_document(serde_json::json!({"extends": "nope"}), "azure-cvm")
                .is_err()
        );
        assert!(
            EvidencePolicy::from_document(serde_json::json!({"reprot": {}}), "azure-cvm").is_err()
        );
        assert!(EvidencePolicy::from_document(serde_json::json!([1]), "azure-cvm").is_err());
        // Load-time checks name the table and key.
        let refused = |doc: serde_json::Value, needle: &str| {
            let error = EvidencePolicy::from_document(doc, "azure-cvm").unwrap_err();
            assert!(error.to_string().contains(needle), "{error}");
        };
        let tcb =
            serde_json::json!({"bootloader": 1, "tee": 0, "snp": 1, "microcode": 1, "fmc": 1});
        refused(
            serde_json::json!({"report": {"minimum_tcb_by_product": {"Milan": {"reported": tcb}}}}),
            "fmc is a Turin SPL",
        );
        refused(
            serde_json::json!({"pcrs": {"expected": {"7": "00"}}}),
            "expected.\"7\": 1 bytes",
        );
        refused(serde_json::json!({"pcrs": {"required": [24]}}), "PCR 24");
        refused(
            serde_json::json!({"pcrs": {"expected": {"7": []}}}),
            "must not be an empty list",
        );
        let turin = EvidencePolicy::from_document(
            serde_json::json!({"report": {"minimum_tcb_by_product": {"Turin": {"reported": tcb}}}}),
            "azure-cvm",
        );
        assert!(turin.is_ok());
    }

    #[test]
    fn event_log_section_reads_and_matches_command_lines() {
        let doc = serde_json::json!({
            "event_log": {
                "required": true,
                "secure_boot": true,
                "allowed_kernel_cmdlines": ["/vmlinuz root=/dev/vda1 ro", "/vmlinuz-6.8.0-*"],
            },
        });
        let policy = EvidencePolicy::from_document(doc, DEFAULT_EVIDENCE_PRESET).unwrap();
        let log = &policy.event_log;
        assert!(log.required && log.needs_log());
        assert_eq!(log.secure_boot, Some(true));
        assert!(log.allows_kernel_cmdline("/vmlinuz root=/dev/vda1 ro"));
        assert!(!log.allows_kernel_cmdline("/vmlinuz root=/dev/vda1 ro init=/bin/sh"));
        assert!(log.allows_kernel_cmdline("/vmlinuz-6.8.0-1010-gcp root=PARTUUID=x"));
        assert!(!log.allows_kernel_cmdline("/vmlinuz-6.9.0 root=x"));
        assert!(EventLogPolicy::default().allows_kernel_cmdline("anything"));
        assert!(!EventLogPolicy::default().needs_log());
        assert!(
            EvidencePolicy::from_document(
                serde_json::json!({"event_log": {"secureboot": true}}),
                "azure-cvm"
            )
            .is_err(),
            "unknown fields are refused"
        );
    }

    #[test]
    fn every_field_is_optional_and_errors_name_the_key() {
        // A TCB floor that names one component: the others are 0.
        let policy = EvidencePolicy::from_text(
            b"[report.minimum_tcb.reported]\nsnp = 8\n",
            "azure-cvm",
            "p.toml",
        )
        .unwrap();
        let floor = policy.report.minimum_tcb.reported.unwrap();
        assert_eq!((floor.snp, floor.bootloader, floor.microcode), (8, 0, 0));
        assert_eq!(floor.fmc, None);
        // An empty document is the preset itself.
        assert_eq!(
            EvidencePolicy::from_text(b"", "azure-cvm", "p.toml").unwrap(),
            EvidencePolicy::preset("azure-cvm").unwrap()
        );
        // A misspelt key and a wrong type: the file, the table path and the key are named.
        for (text, named) in [
            (
                &b"[report.minimum_tcb.reported]\nbootlader = 1\n"[..],
                "p.toml: policy: report.minimum_tcb.reported.bootlader: unknown field",
            ),
            (
                b"[report]\nrequired_vmpl = \"zero\"\n",
                "p.toml: policy: report.required_vmpl: invalid type",
            ),
        ] {
            let error = EvidencePolicy::from_text(text, "azure-cvm", "p.toml").unwrap_err();
            assert!(error.to_string().contains(named), "{error}");
        }
    }

    #[test]
    fn floors_that_constrain_nothing_are_refused() {
        for (text, named) in [
            (
                &b"[report.minimum_tcb.reported]\n"[..],
                "constrains nothing",
            ),
            (
                b"[report.minimum_tcb.reported]\nfmc = 200\n",
                "Turin reports only",
            ),
            (
                b"[report.minimum_tcb_by_product.Genoa.launch]\nsnp = 0\n",
                "constrains nothing",
            ),
        ] {
            let error = EvidencePolicy::from_text(text, "azure-cvm", "p.toml").unwrap_err();
            assert!(error.to_string().contains(named), "{error}");
        }
        // FMC on Turin's own floor is fine.
        assert!(
            EvidencePolicy::from_text(
                b"[report.minimum_tcb_by_product.Turin.reported]\nfmc = 1\n",
                "azure-cvm",
                "p.toml"
            )
            .is_ok()
        );
    }

    #[test]
    fn digests_are_stable_and_tell_policies_apart() {
        let azure = EvidencePolicy::preset("azure-cvm").unwrap();
        assert_eq!(
            azure.digest(),
            EvidencePolicy::preset("azure-cvm").unwrap().digest()
        );
        let mut other = azure.clone();
        other.report.required_vmpl = Some(1);
        assert_ne!(azure.digest(), other.digest());
    }
}
