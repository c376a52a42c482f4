//! Reference values: what verified evidence proves about one VM, turned into a policy that
//! accepts that VM (and, merged, a fleet of them) and refuses others.
//!
//! Capture reads only what verification proved: the verdict of [`crate::Verifier::verify`],
//! never the raw evidence. The result is plain data ([`ReferenceValues`]) that becomes an
//! [`EvidencePolicy`] ([`ReferenceValues::to_policy`]), commented TOML or trustee reference
//! values ([`crate::policy_text`]).

use std::collections::BTreeMap;

use hcl_parse::{Generation, Hex, HexBytes, TcbComponents};
use serde_json::{Value, json};
use vtpm_quote::HashAlg;

use crate::error::Error;
use crate::policy::{AkCertificateRule, EvidencePolicy, Platform, VmConfigurationPolicy};
use crate::verdict::VerifiedEvidence;
use crate::{AkCertificateClaims, PcrValues};

/// The PCRs `policy capture` pins unless told otherwise: firmware, its configuration, the boot
/// loader and its configuration, Secure Boot, the command lines, the kernel and initrd, the
/// unified kernel image, and shim's MOK state (PCR 6 and 10 vary by host and run).
pub const DEFAULT_CAPTURE_PCRS: [u8; 12] = [0, 1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 14];

/// What to capture.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaptureOptions {
    /// The PCRs to pin; `None`: [`DEFAULT_CAPTURE_PCRS`] (those the quote covers).
    pub pcrs: Option<Vec<u8>>,
    /// Capture evidence that was accepted only because the caller allowed unknown firmware:
    /// the policy then names that firmware itself. Off by default: a policy must never bless
    /// firmware nobody identified.
    pub trust_unknown_firmware: bool,
}

/// The event-log facts a policy pins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventLogReference {
    /// The SecureBoot state the firmware measured, when it measured one.
    pub secure_boot: Option<bool>,
    /// Every kernel command line measured (empty when the log's command lines cannot be
    /// judged: see [`crate::EventLogPolicy::allowed_kernel_cmdlines`]).
    pub kernel_cmdlines: Vec<String>,
    /// The boot applications' SHA-256 Authenticode digests, with the path the log gives (for
    /// comments only; `None` when read back from a policy).
    pub boot_images: Vec<(Hex<32>, Option<String>)>,
}

/// What a policy pins, in the shape capture and merge work on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceValues {
    /// The hardware.
    pub platform: Platform,
    /// The report must be bound to the nonce (the evidence was).
    pub report_bound_to_nonce: bool,
    /// The AK certificate must be present (the evidence carried one that verified).
    pub ak_certificate_required: bool,
    /// SNP: accepted ID-key digests.
    pub id_key_digests: Vec<Hex<48>>,
    /// SNP: accepted launch measurements.
    pub measurements: Vec<Hex<48>>,
    /// SNP guest policy: debugging allowed.
    pub allow_debug: bool,
    /// SNP guest policy: migration agent allowed.
    pub allow_migrate_ma: bool,
    /// SNP guest policy: SMT allowed.
    pub allow_smt: bool,
    /// SNP: the VMPL.
    pub vmpl: Option<u32>,
    /// SNP: the lowest reported TCB accepted, per product.
    pub tcb_floors: BTreeMap<Generation, TcbComponents>,
    /// TDX: accepted MRTDs.
    pub mrtds: Vec<Hex<48>>,
    /// The PCR bank of `pcrs`.
    pub pcr_bank: HashAlg,
    /// Accepted values per PCR.
    pub pcrs: BTreeMap<u8, Vec<HexBytes>>,
    /// vm-configuration values.
    pub vm_configuration: VmConfigurationPolicy,
    /// What the event log showed, when the evidence carried one.
    pub event_log: Option<EventLogReference>,
}

impl ReferenceValues {
    /// The preset the policy extends.
    pub fn preset(&self) -> &'static str {
        self.platform.default_preset()
    }

    /// The policy, as `verify --policy` reads it.
    pub fn to_policy(&self) -> Result<EvidencePolicy, Error> {
        EvidencePolicy::from_document(self.to_document(), self.preset())
    }

    /// The policy document (the JSON form of the TOML [`crate::policy_text::to_toml`] writes).
    pub fn to_document(&self) -> Value {
        let mut document = serde_json::Map::new();
        document.insert("extends".into(), json!(self.preset()));
        if self.report_bound_to_nonce {
            document.insert("require_report_bound_to_nonce".into(), json!(true));
        }
        if self.ak_certificate_required {
            document.insert("ak_certificate".into(), json!("required"));
        }
        match self.platform {
            Platform::Snp => {
                let floors: serde_json::Map<String, Value> = self
                    .tcb_floors
                    .iter()
                    .map(|(product, tcb)| (product_name(*product), json!({ "reported": tcb })))
                    .collect();
                let mut report = json!({
                    "allowed_id_key_digests": self.id_key_digests,
                    "allowed_measurements": self.measurements,
                    "allow_debug": self.allow_debug,
                    "allow_migrate_ma": self.allow_migrate_ma,
                    "allow_smt": self.allow_smt,
                    "minimum_tcb_by_product": floors,
                });
                if let (Some(vmpl), Value::Object(fields)) = (self.vmpl, &mut report) {
                    fields.insert("required_vmpl".into(), json!(vmpl));
                }
                document.insert("report".into(), report);
            }
            Platform::Tdx => {
                document.insert("tdx".into(), json!({ "allowed_mrtds": self.mrtds }));
            }
        }
        let expected: serde_json::Map<String, Value> = self
            .pcrs
            .iter()
            .map(|(index, values)| (index.to_string(), json!(PcrValues(values.clone()))))
            .collect();
        document.insert(
            "pcrs".into(),
            json!({
                "bank": self.pcr_bank,
                "required": self.pcrs.keys().collect::<Vec<_>>(),
                "expected": expected,
            }),
        );
        document.insert("vm_configuration".into(), json!(self.vm_configuration));
        if let Some(log) = &self.event_log {
            let images: Vec<&Hex<32>> = log.boot_images.iter().map(|(d, _)| d).collect();
            let mut section = json!({
                "required": true,
                "allowed_kernel_cmdlines": log.kernel_cmdlines,
                "allowed_boot_images": images,
            });
            if let (Some(on), Value::Object(fields)) = (log.secure_boot, &mut section) {
                fields.insert("secure_boot".into(), json!(on));
            }
            document.insert("event_log".into(), section);
        }
        Value::Object(document)
    }

    /// Reads back a policy that capture (or merge) wrote, for `--merge`. A policy with
    /// settings capture does not write is refused with the first one named: merging would
    /// drop it.
    pub fn from_policy(policy: &EvidencePolicy) -> Result<Self, Error> {
        let report = &policy.report;
        let log = &policy.event_log;
        let event_log = log.needs_log().then(|| EventLogReference {
            secure_boot: log.secure_boot,
            kernel_cmdlines: log.allowed_kernel_cmdlines.clone(),
            boot_images: log.allowed_boot_images.iter().map(|d| (*d, None)).collect(),
        });
        let values = Self {
            platform: policy.platform,
            report_bound_to_nonce: policy.require_report_bound_to_nonce,
            ak_certificate_required: policy.ak_certificate == AkCertificateRule::Required,
            id_key_digests: report.allowed_id_key_digests.clone(),
            measurements: report.allowed_measurements.clone(),
            allow_debug: report.allow_debug,
            allow_migrate_ma: report.allow_migrate_ma,
            allow_smt: report.allow_smt,
            vmpl: report.required_vmpl,
            tcb_floors: report
                .minimum_tcb_by_product
                .iter()
                .filter_map(|(product, floor)| floor.reported.map(|tcb| (*product, tcb)))
                .collect(),
            mrtds: policy.tdx.allowed_mrtds.clone(),
            pcr_bank: policy.pcrs.bank,
            pcrs: policy
                .pcrs
                .expected
                .iter()
                .map(|(index, values)| (*index, values.0.clone()))
                .collect(),
            vm_configuration: policy.vm_configuration.clone(),
            event_log,
        };
        let again = values.to_policy()?;
        if let Some(path) = first_difference(
            &serde_json::to_value(policy).unwrap_or_default(),
            &serde_json::to_value(&again).unwrap_or_default(),
            String::new(),
        ) {
            return Err(Error::input(format!(
                "the policy to merge into has a setting capture does not write ({path}): merging would drop it; merge by hand, or capture into a new file"
            )));
        }
        Ok(values)
    }

    /// This policy widened to accept what `other` accepts too: allow-lists and PCR values are
    /// unions (an empty list, which accepts anything, stays empty), TCB floors are kept per
    /// product and lowered to the lower of the two (a Milan floor never moves a Genoa one; a
    /// product the policy has no floor for gets `other`'s). Whatever cannot widen without
    /// dropping a check is refused with the setting named: another platform, PCR bank, set of
    /// pinned PCRs or VMPL; a requirement (fresh report, AK certificate, event log) `other`
    /// does not meet; a guest-policy bit the policy refuses and `other` allows; a pinned value
    /// (vm-configuration, Secure Boot, a list) that `other` contradicts or cannot give.
    pub fn merge(mut self, other: &Self) -> Result<Self, Error> {
        let same = |what: &str, ours: String, theirs: String| {
            if ours == theirs {
                Ok(())
            } else {
                Err(refuse(what, &ours, &theirs))
            }
        };
        same(
            "the platform",
            self.platform.to_string(),
            other.platform.to_string(),
        )?;
        same(
            "the PCR bank",
            self.pcr_bank.to_string(),
            other.pcr_bank.to_string(),
        )?;
        let vmpl = |v: Option<u32>| v.map_or_else(|| "any".to_string(), |v| v.to_string());
        same("the VMPL", vmpl(self.vmpl), vmpl(other.vmpl))?;
        same(
            "the set of pinned PCRs",
            format!("{:?}", self.pcrs.keys().collect::<Vec<_>>()),
            format!("{:?}", other.pcrs.keys().collect::<Vec<_>>()),
        )?;
        let requirements = [
            (
                "a report bound to the nonce (version 2 evidence, `evidence --fresh`)",
                self.report_bound_to_nonce,
                other.report_bound_to_nonce,
            ),
            (
                "an AK certificate",
                self.ak_certificate_required,
                other.ak_certificate_required,
            ),
        ];
        for (what, ours, theirs) in requirements {
            if ours && !theirs {
                return Err(refuse(
                    &format!("the requirement of {what}"),
                    "set",
                    "not met",
                ));
            }
        }
        let bits = [
            ("debugging", self.allow_debug, other.allow_debug),
            (
                "a migration agent",
                self.allow_migrate_ma,
                other.allow_migrate_ma,
            ),
            ("SMT", self.allow_smt, other.allow_smt),
        ];
        for (what, ours, theirs) in bits {
            if !ours && theirs {
                return Err(refuse(
                    &format!("the guest policy on {what}"),
                    "refused",
                    "allowed",
                ));
            }
        }
        widen(
            "report.allowed_id_key_digests",
            &mut self.id_key_digests,
            &other.id_key_digests,
        )?;
        widen(
            "report.allowed_measurements",
            &mut self.measurements,
            &other.measurements,
        )?;
        widen("tdx.allowed_mrtds", &mut self.mrtds, &other.mrtds)?;
        let config = &self.vm_configuration;
        let theirs = &other.vm_configuration;
        pinned(
            "vm_configuration.secure_boot",
            config.secure_boot,
            theirs.secure_boot,
        )?;
        pinned(
            "vm_configuration.tpm_enabled",
            config.tpm_enabled,
            theirs.tpm_enabled,
        )?;
        pinned(
            "vm_configuration.console_enabled",
            config.console_enabled,
            theirs.console_enabled,
        )?;
        // A policy without any floor (the user deleted them) stays without; one with floors
        // gets a floor for each product it sees.
        if !self.tcb_floors.is_empty() {
            for (product, theirs) in &other.tcb_floors {
                self.tcb_floors
                    .entry(*product)
                    .and_modify(|ours| *ours = lower(ours, theirs))
                    .or_insert(*theirs);
            }
        }
        for (index, theirs) in &other.pcrs {
            union(self.pcrs.entry(*index).or_default(), theirs);
        }
        match (&mut self.event_log, &other.event_log) {
            // The policy requires no log: it still requires none.
            (None, _) => {}
            (Some(_), None) => {
                return Err(refuse("the event log", "required", "absent"));
            }
            (Some(ours), Some(theirs)) => {
                pinned(
                    "event_log.secure_boot",
                    ours.secure_boot,
                    theirs.secure_boot,
                )?;
                widen(
                    "event_log.allowed_kernel_cmdlines",
                    &mut ours.kernel_cmdlines,
                    &theirs.kernel_cmdlines,
                )?;
                if !ours.boot_images.is_empty() {
                    if theirs.boot_images.is_empty() {
                        return Err(refuse(
                            "event_log.allowed_boot_images",
                            "pinned",
                            "not measurable",
                        ));
                    }
                    for image in &theirs.boot_images {
                        match ours.boot_images.iter_mut().find(|(d, _)| *d == image.0) {
                            Some(known) if known.1.is_none() => known.1.clone_from(&image.1),
                            Some(_) => {}
                            None => ours.boot_images.push(image.clone()),
                        }
                    }
                }
            }
        }
        Ok(self)
    }
}

/// A merge that would drop a check.
fn refuse(what: &str, ours: &str, theirs: &str) -> Error {
    Error::input(format!(
        "cannot merge: {what} is {ours} in the policy and {theirs} in the evidence; widening it would drop the check, so edit the policy by hand if both are meant"
    ))
}

/// Widens a pinned list by `theirs`; an empty list accepts anything and stays so.
fn widen<T: PartialEq + Clone>(what: &str, ours: &mut Vec<T>, theirs: &[T]) -> Result<(), Error> {
    if ours.is_empty() {
        return Ok(());
    }
    if theirs.is_empty() {
        return Err(refuse(what, "pinned", "not known (nothing to add)"));
    }
    union(ours, theirs);
    Ok(())
}

/// A value the policy pins (Some) must be the evidence's; an unpinned one stays unpinned.
fn pinned(what: &str, ours: Option<bool>, theirs: Option<bool>) -> Result<(), Error> {
    match ours {
        Some(value) if theirs != Some(value) => Err(refuse(
            what,
            &value.to_string(),
            &theirs.map_or_else(|| "absent".to_string(), |t| t.to_string()),
        )),
        _ => Ok(()),
    }
}

/// `old` widened to accept the VM `verified` proves too: the evidence is captured with the
/// PCRs `old` pins (a PCR pinned for one VM only would refuse the others), then merged
/// ([`ReferenceValues::merge`]).
pub fn capture_into(
    old: ReferenceValues,
    verified: &VerifiedEvidence,
    trust_unknown_firmware: bool,
) -> Result<ReferenceValues, Error> {
    let options = CaptureOptions {
        pcrs: Some(old.pcrs.keys().copied().collect()),
        trust_unknown_firmware,
    };
    let captured = capture(verified, &options)?;
    old.merge(&captured)
}

/// Whether `verified` was accepted only because the caller allowed unknown firmware (with that
/// allowance, VMPL and host_data went unchecked too): firmware nobody identified.
pub fn accepted_unknown_firmware(verified: &VerifiedEvidence) -> bool {
    verified
        .firmware()
        .is_some_and(|f| f.unknown_firmware_allowed && !f.problems().is_empty())
        || verified
            .tdx()
            .is_some_and(|t| t.unknown_firmware_allowed && !t.mrtd_allowed)
}

/// What `verified` proves about the VM, for a policy that accepts it. Refuses evidence whose
/// firmware was accepted only because the caller allowed unknown firmware, unless
/// [`CaptureOptions::trust_unknown_firmware`]; and PCRs the quote does not cover when they
/// were asked for by name.
pub fn capture(
    verified: &VerifiedEvidence,
    options: &CaptureOptions,
) -> Result<ReferenceValues, Error> {
    let unknown_firmware = accepted_unknown_firmware(verified);
    if unknown_firmware && !options.trust_unknown_firmware {
        return Err(Error::input(
            "the evidence was accepted only because unknown firmware was allowed: a policy captured from it would bless firmware nobody identified (trust it explicitly to capture anyway)",
        ));
    }
    let quote = verified.quote();
    let bank = HashAlg::Sha256;
    let mut pcrs = BTreeMap::new();
    let (wanted, named): (Vec<u8>, bool) = match &options.pcrs {
        Some(list) => (list.clone(), true),
        None => (DEFAULT_CAPTURE_PCRS.to_vec(), false),
    };
    for index in wanted {
        match quote.pcr(bank, index) {
            Some(value) => {
                pcrs.insert(index, vec![HexBytes(value.to_vec())]);
            }
            None if named => {
                return Err(Error::input(format!(
                    "PCR {index} is not in the quote's {bank} bank, so it cannot be pinned (the quote covers {})",
                    covered(quote, bank)
                )));
            }
            None => {}
        }
    }
    let mut values = ReferenceValues {
        platform: verified.platform(),
        // Only version 2 evidence shows a fresh report to the policy check.
        report_bound_to_nonce: verified.report_bound_to_nonce()
            && verified.evidence_version() == crate::EvidenceVersion::V2,
        ak_certificate_required: matches!(
            verified.ak_certificate(),
            AkCertificateClaims::Verified(_)
        ),
        id_key_digests: Vec::new(),
        measurements: Vec::new(),
        // TDX policies keep the report section's defaults.
        allow_debug: snp_verify::Policy::default().allow_debug,
        allow_migrate_ma: snp_verify::Policy::default().allow_migrate_ma,
        allow_smt: snp_verify::Policy::default().allow_smt,
        vmpl: None,
        tcb_floors: BTreeMap::new(),
        mrtds: Vec::new(),
        pcr_bank: bank,
        pcrs,
        vm_configuration: vm_configuration(verified),
        event_log: verified.event_log().map(event_log_reference),
    };
    if let Some(report) = verified.report() {
        // The key is pinned when it is known (or trusted explicitly): firmware known by its
        // measurement alone must not make its signing key trusted for every other build.
        let key_known = verified.firmware().is_some_and(|f| f.id_key_allowed);
        if key_known || (unknown_firmware && options.trust_unknown_firmware) {
            values.id_key_digests = vec![Hex(*report.id_key_digest())];
        }
        values.measurements = vec![Hex(*report.measurement())];
        let policy = report.policy();
        values.allow_debug = policy.debug_allowed;
        values.allow_migrate_ma = policy.migrate_ma_allowed;
        values.allow_smt = policy.smt_allowed;
        values.vmpl = Some(report.vmpl());
        values
            .tcb_floors
            .insert(report.product(), report.tcb().reported);
    }
    if let Some(tdx) = verified.tdx() {
        values.mrtds = vec![tdx.quote.body().mr_td];
    }
    Ok(values)
}

/// The vm-configuration values the claims carried.
fn vm_configuration(verified: &VerifiedEvidence) -> VmConfigurationPolicy {
    let claims = verified.vm_configuration();
    VmConfigurationPolicy {
        secure_boot: claims.and_then(|c| c.secure_boot),
        tpm_enabled: claims.and_then(|c| c.tpm_enabled),
        console_enabled: claims.and_then(|c| c.console_enabled),
    }
}

/// What an attested log shows that a policy can pin: the command lines only when a policy on
/// them could be met (PCRs 8, 9 and 12 attested, nothing opaque, the kernel's own record
/// matching), the boot images only when PCR 4 is attested in SHA-256 with nothing opaque.
fn event_log_reference(log: &crate::EventLogClaims) -> EventLogReference {
    let attested = |bank: HashAlg, pcr: u8| {
        log.matched_pcrs
            .iter()
            .any(|b| b.bank == bank && b.indices.contains(&pcr))
    };
    let any_bank = |pcr: u8| log.matched_pcrs.iter().any(|b| b.indices.contains(&pcr));
    let summary = &log.summary;
    let cmdlines_judgeable = [
        tcg_eventlog::CMDLINE_PCRS[0],
        tcg_eventlog::KERNEL_STUB_PCR,
        tcg_eventlog::CMDLINE_PCRS[1],
    ]
    .iter()
    .all(|&pcr| any_bank(pcr))
        && summary.opaque_cmdline_events.is_empty()
        && summary
            .kernel_load_options
            .iter()
            .all(|o| o.matches_a_cmdline)
        // A policy entry ending in '*' is a prefix: such a command line cannot be pinned.
        && !summary.kernel_cmdlines.iter().any(|c| c.ends_with('*'));
    let images_judgeable = attested(HashAlg::Sha256, tcg_eventlog::BOOT_APPLICATIONS_PCR)
        && summary.opaque_boot_events.is_empty()
        && summary.boot_chain.iter().all(|i| i.sha256.is_some());
    let mut boot_images: Vec<(Hex<32>, Option<String>)> = Vec::new();
    if images_judgeable {
        for image in &summary.boot_chain {
            let Some(digest) = image
                .sha256
                .as_deref()
                .and_then(|d| <[u8; 32]>::try_from(d).ok())
            else {
                continue;
            };
            if !boot_images.iter().any(|(d, _)| d.0 == digest) {
                boot_images.push((Hex(digest), image.path.clone()));
            }
        }
    }
    EventLogReference {
        secure_boot: summary.secure_boot,
        kernel_cmdlines: if cmdlines_judgeable {
            summary.kernel_cmdlines.clone()
        } else {
            Vec::new()
        },
        boot_images,
    }
}

fn covered(quote: &vtpm_quote::VerifiedQuote, bank: HashAlg) -> String {
    let indices: Vec<String> = quote
        .pcrs()
        .iter()
        .filter(|b| b.bank == bank)
        .flat_map(|b| b.values.iter().map(|(i, _)| i.to_string()))
        .collect();
    if indices.is_empty() {
        "none".into()
    } else {
        indices.join(",")
    }
}

/// Appends the items of `theirs` that `ours` lacks.
fn union<T: PartialEq + Clone>(ours: &mut Vec<T>, theirs: &[T]) {
    for item in theirs {
        if !ours.contains(item) {
            ours.push(item.clone());
        }
    }
}

/// The component-wise lower of two floors.
fn lower(a: &TcbComponents, b: &TcbComponents) -> TcbComponents {
    TcbComponents {
        // A floor without an FMC SPL does not check it: the lower of the two checks it only
        // when both do.
        fmc: match (a.fmc, b.fmc) {
            (Some(x), Some(y)) => Some(x.min(y)),
            _ => None,
        },
        bootloader: a.bootloader.min(b.bootloader),
        tee: a.tee.min(b.tee),
        snp: a.snp.min(b.snp),
        microcode: a.microcode.min(b.microcode),
    }
}

/// The product's name as policies write it.
pub(crate) fn product_name(product: Generation) -> String {
    format!("{product:?}")
}

/// The path of the first value that differs between two JSON documents.
fn first_difference(a: &Value, b: &Value, path: String) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|key| {
                let at = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                first_difference(
                    x.get(key).unwrap_or(&Value::Null),
                    y.get(key).unwrap_or(&Value::Null),
                    at,
                )
            })
        }
        _ if a == b => None,
        _ => Some(if path.is_empty() {
            "the policy".into()
        } else {
            path
        }),
    }
}
