//! Appraisal: a plain-data policy compared with a report whose authenticity is already proven.
//!
//! A policy failure is a different error kind from a cryptographic one: the evidence is
//! genuine, but it describes a VM the relying party does not accept.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use hcl_parse::{FirmwareVersion, Generation, Hex, HexSlice, SnpReport, TcbComponents, TcbVersion};

/// Minimum SPLs for each TCB value a report carries; `None` checks nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MinimumTcb {
    /// For reported_tcb (the TCB the VCEK certifies).
    pub reported: Option<TcbComponents>,
    /// For committed_tcb (what the platform cannot roll back below).
    pub committed: Option<TcbComponents>,
    /// For launch_tcb (the TCB when the VM started).
    pub launch: Option<TcbComponents>,
    /// For current_tcb (the running firmware).
    pub current: Option<TcbComponents>,
}

impl MinimumTcb {
    /// Whether any minimum is set.
    pub fn is_set(&self) -> bool {
        self.reported.is_some()
            || self.committed.is_some()
            || self.launch.is_some()
            || self.current.is_some()
    }

    /// No minimum.
    pub const NONE: Self = Self {
        reported: None,
        committed: None,
        launch: None,
        current: None,
    };
}

/// The appraisal policy for an SNP report. Every field has a default (see `docs/policy.md`);
/// an empty allow-list allows anything.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Accept guests whose policy allows debugging (the host can read their memory). Default false.
    pub allow_debug: bool,
    /// Accept guests that may be associated with a migration agent. Default true.
    pub allow_migrate_ma: bool,
    /// Accept guests that allow SMT. Default true.
    pub allow_smt: bool,
    /// The VMPL the report must come from. Default: any.
    pub required_vmpl: Option<u32>,
    /// Minimum TCB values for reports of every product.
    pub minimum_tcb: MinimumTcb,
    /// Minimum TCB values for reports of one product (`Milan`, `Genoa`, `Turin`), applied
    /// with `minimum_tcb`: SPLs of different products do not compare, so a fleet's floors are
    /// kept per product.
    pub minimum_tcb_by_product: BTreeMap<Generation, MinimumTcb>,
    /// Accept firmware that is running but not committed (current != committed). Default true.
    pub allow_provisional_firmware: bool,
    /// Minimum running firmware version. Default: any.
    pub minimum_firmware: Option<FirmwareVersion>,
    /// Minimum guest SVN. Default: any.
    pub minimum_guest_svn: Option<u32>,
    /// Allowed launch measurements.
    pub allowed_measurements: Vec<Hex<48>>,
    /// Allowed host_data values.
    pub allowed_host_data: Vec<Hex<32>>,
    /// Allowed ID-key digests (who signed the launched firmware).
    pub allowed_id_key_digests: Vec<Hex<48>>,
    /// Allowed author-key digests.
    pub allowed_author_key_digests: Vec<Hex<48>>,
    /// Required family id.
    pub family_id: Option<Hex<16>>,
    /// Required image id.
    pub image_id: Option<Hex<16>>,
    /// Allowed report versions.
    pub allowed_report_versions: Vec<u32>,
    /// Bits that must be set in platform_info.
    pub required_platform_info_bits: u64,
    /// Bits that must be set in launch_mit_vector (reports v5+; older reports fail if non-zero).
    pub required_launch_mit_vector_bits: u64,
    /// Bits that must be set in current_mit_vector (reports v5+).
    pub required_current_mit_vector_bits: u64,
    /// Require every reserved byte, reserved policy bit and TCB reserved byte to be as the ABI
    /// defines them. Default true.
    pub require_reserved_zero: bool,
}

impl Default for Policy {
    /// The `snp-default` preset.
    fn default() -> Self {
        Self {
            allow_debug: false,
            allow_migrate_ma: true,
            allow_smt: true,
            required_vmpl: None,
            minimum_tcb: MinimumTcb::default(),
            minimum_tcb_by_product: BTreeMap::new(),
            allow_provisional_firmware: true,
            minimum_firmware: None,
            minimum_guest_svn: None,
            allowed_measurements: Vec::new(),
            allowed_host_data: Vec::new(),
            allowed_id_key_digests: Vec::new(),
            allowed_author_key_digests: Vec::new(),
            family_id: None,
            image_id: None,
            allowed_report_versions: Vec::new(),
            required_platform_info_bits: 0,
            required_launch_mit_vector_bits: 0,
            required_current_mit_vector_bits: 0,
            require_reserved_zero: true,
        }
    }
}

/// The names of the presets, for command lines and policy files.
pub const PRESETS: [&str; 1] = ["snp-default"];

impl Policy {
    /// `snp-default`: debug off, everything else as the defaults say. For raw SNP reports.
    pub fn snp_default() -> Self {
        Self::default()
    }

    /// The shape of Azure's paravisor reports: VMPL 0, debug and migration agent off, all-zero
    /// host_data. It names **no firmware**: which paravisor builds are known is data that
    /// changes (snp-vtpm's firmware catalog); pin `allowed_id_key_digests` or
    /// `allowed_measurements` yourself when using this crate alone.
    pub fn azure_cvm_layout() -> Self {
        Self {
            allow_migrate_ma: false,
            required_vmpl: Some(0),
            allowed_host_data: alloc::vec![Hex([0; 32])],
            ..Self::default()
        }
    }

    /// A preset by name (see [`PRESETS`]).
    pub fn preset(name: &str) -> Option<Self> {
        match name {
            "snp-default" => Some(Self::snp_default()),
            _ => None,
        }
    }

    /// Whether any minimum TCB applies to reports of `generation`: without one, firmware with
    /// known, fixed vulnerabilities is accepted (a verified report then carries a warning).
    pub fn has_minimum_tcb(&self, generation: Generation) -> bool {
        self.minimum_tcb.is_set()
            || self
                .minimum_tcb_by_product
                .get(&generation)
                .is_some_and(MinimumTcb::is_set)
    }

    /// Compares an authentic report with the policy; the first violation is returned.
    pub fn check(
        &self,
        report: &SnpReport<'_>,
        generation: Generation,
    ) -> Result<(), PolicyViolation> {
        match self
            .outcomes(report, generation)
            .into_iter()
            .find_map(|o| o.err())
        {
            Some(violation) => Err(violation),
            None => Ok(()),
        }
    }

    /// Every check's outcome, for tools that show which fields a report meets.
    pub fn outcomes(
        &self,
        report: &SnpReport<'_>,
        generation: Generation,
    ) -> Vec<Result<PolicyCheck, PolicyViolation>> {
        let policy = report.policy();
        let mut out = Vec::new();
        let mut push = |check: PolicyCheck, ok: bool, expected: String, found: String| {
            out.push(if ok {
                Ok(check)
            } else {
                Err(PolicyViolation {
                    check,
                    expected,
                    found,
                })
            });
        };
        push(
            PolicyCheck::Debug,
            self.allow_debug || !policy.debug_allowed(),
            "debugging disallowed".into(),
            format!(
                "guest policy {:#x} (debug bit {})",
                policy.0,
                u8::from(policy.debug_allowed())
            ),
        );
        push(
            PolicyCheck::MigrateMa,
            self.allow_migrate_ma || !policy.migrate_ma_allowed(),
            "migration agent disallowed".into(),
            format!(
                "guest policy {:#x} (migrate-MA bit {})",
                policy.0,
                u8::from(policy.migrate_ma_allowed())
            ),
        );
        push(
            PolicyCheck::Smt,
            self.allow_smt || !policy.smt_allowed(),
            "SMT disallowed".into(),
            format!(
                "guest policy {:#x} (SMT bit {})",
                policy.0,
                u8::from(policy.smt_allowed())
            ),
        );
        if let Some(vmpl) = self.required_vmpl {
            push(
                PolicyCheck::Vmpl,
                report.vmpl() == vmpl,
                vmpl.to_string(),
                report.vmpl().to_string(),
            );
        }
        let floors = [
            (&self.minimum_tcb, ""),
            (
                self.minimum_tcb_by_product
                    .get(&generation)
                    .unwrap_or(&MinimumTcb::NONE),
                " (the floor for this product)",
            ),
        ];
        for (floor, scope) in floors {
            let tcbs = [
                (
                    PolicyCheck::ReportedTcb,
                    &floor.reported,
                    report.reported_tcb(),
                ),
                (
                    PolicyCheck::CommittedTcb,
                    &floor.committed,
                    report.committed_tcb(),
                ),
                (PolicyCheck::LaunchTcb, &floor.launch, report.launch_tcb()),
                (
                    PolicyCheck::CurrentTcb,
                    &floor.current,
                    report.current_tcb(),
                ),
            ];
            for (check, minimum, tcb) in tcbs {
                if let Some(minimum) = minimum {
                    let found = tcb.components(generation);
                    push(
                        check,
                        meets(&found, minimum),
                        format!("at least {minimum}{scope}"),
                        found.to_string(),
                    );
                }
            }
        }
        // The TCB values must be ordered as firmware keeps them, component by component:
        // nothing is committed above what runs, and the VCEK (which certifies reported_tcb)
        // certifies nothing above what runs.
        let current = report.current_tcb().components(generation);
        let committed = report.committed_tcb().components(generation);
        let reported = report.reported_tcb().components(generation);
        push(
            PolicyCheck::TcbOrder,
            meets(&current, &committed) && meets(&current, &reported),
            "committed_tcb and reported_tcb each at most current_tcb, component by component"
                .into(),
            format!("current {current}, committed {committed}, reported {reported}"),
        );
        if !self.allow_provisional_firmware {
            let committed = report.current_tcb() == report.committed_tcb()
                && report.current_version() == report.committed_version();
            push(
                PolicyCheck::ProvisionalFirmware,
                committed,
                "running firmware equal to committed firmware".into(),
                format!(
                    "current {} (TCB {}), committed {} (TCB {})",
                    report.current_version(),
                    report.current_tcb(),
                    report.committed_version(),
                    report.committed_tcb()
                ),
            );
        }
        if let Some(minimum) = self.minimum_firmware {
            let current = report.current_version();
            push(
                PolicyCheck::FirmwareVersion,
                current >= minimum,
                format!("at least {minimum}"),
                current.to_string(),
            );
        }
        if let Some(minimum) = self.minimum_guest_svn {
            push(
                PolicyCheck::GuestSvn,
                report.guest_svn() >= minimum,
                format!("at least {minimum}"),
                report.guest_svn().to_string(),
            );
        }
        push_allowed(
            &mut push,
            PolicyCheck::Measurement,
            &self.allowed_measurements,
            report.measurement(),
        );
        push_allowed(
            &mut push,
            PolicyCheck::HostData,
            &self.allowed_host_data,
            report.host_data(),
        );
        push_allowed(
            &mut push,
            PolicyCheck::IdKeyDigest,
            &self.allowed_id_key_digests,
            report.id_key_digest(),
        );
        push_allowed(
            &mut push,
            PolicyCheck::AuthorKeyDigest,
            &self.allowed_author_key_digests,
            report.author_key_digest(),
        );
        if let Some(family_id) = &self.family_id {
            push_allowed(
                &mut push,
                PolicyCheck::FamilyId,
                core::slice::from_ref(family_id),
                report.family_id(),
            );
        }
        if let Some(image_id) = &self.image_id {
            push_allowed(
                &mut push,
                PolicyCheck::ImageId,
                core::slice::from_ref(image_id),
                report.image_id(),
            );
        }
        if !self.allowed_report_versions.is_empty() {
            push(
                PolicyCheck::ReportVersion,
                self.allowed_report_versions.contains(&report.version()),
                format!("one of {:?}", self.allowed_report_versions),
                report.version().to_string(),
            );
        }
        let bits = [
            (
                PolicyCheck::PlatformInfo,
                self.required_platform_info_bits,
                Some(report.platform_info().0),
            ),
            (
                PolicyCheck::LaunchMitVector,
                self.required_launch_mit_vector_bits,
                report.launch_mit_vector(),
            ),
            (
                PolicyCheck::CurrentMitVector,
                self.required_current_mit_vector_bits,
                report.current_mit_vector(),
            ),
        ];
        for (check, required, found) in bits.into_iter().filter(|(_, required, _)| *required != 0) {
            let value = found.unwrap_or(0);
            push(
                check,
                value & required == required,
                format!("bits {required:#x} set"),
                found.map_or_else(
                    || "no such field before report version 5".into(),
                    |v| format!("{v:#x}"),
                ),
            );
        }
        if self.require_reserved_zero {
            let tcbs_ok = [
                report.reported_tcb(),
                report.current_tcb(),
                report.committed_tcb(),
                report.launch_tcb(),
            ]
            .into_iter()
            .all(|tcb: TcbVersion| tcb.reserved_bytes_are_zero(generation));
            push(
                PolicyCheck::ReservedBytes,
                report.reserved_bytes_are_zero() && policy.reserved_bits_valid() && tcbs_ok,
                "reserved bytes zero, guest policy bit 17 set and bits 63:26 clear".into(),
                format!(
                    "reserved bytes {}, guest policy {:#x}, TCB reserved bytes {}",
                    if report.reserved_bytes_are_zero() {
                        "zero"
                    } else {
                        "non-zero"
                    },
                    policy.0,
                    if tcbs_ok { "zero" } else { "non-zero" }
                ),
            );
        }
        out
    }
}

fn meets(found: &TcbComponents, minimum: &TcbComponents) -> bool {
    found.bootloader >= minimum.bootloader
        && found.tee >= minimum.tee
        && found.snp >= minimum.snp
        && found.microcode >= minimum.microcode
        // Only Turin reports an FMC SPL: a floor's fmc says nothing of other products.
        && found
            .fmc
            .is_none_or(|fmc| fmc >= minimum.fmc.unwrap_or(0))
}

fn push_allowed<const N: usize>(
    push: &mut impl FnMut(PolicyCheck, bool, String, String),
    check: PolicyCheck,
    allowed: &[Hex<N>],
    found: &[u8; N],
) {
    let listing = Listing::of(allowed, found);
    if listing == Listing::Unrestricted {
        return;
    }
    let expected = match allowed {
        [one] => one.to_string(),
        many => {
            let list: Vec<String> = many.iter().map(ToString::to_string).collect();
            format!("one of [{}]", list.join(", "))
        }
    };
    push(
        check,
        listing.accepts(),
        expected,
        HexSlice(found).to_string(),
    );
}

/// How an allow-list of a [`Policy`] judges a value: the one rule every allow-list follows.
/// An empty list does not restrict the value; a non-empty list allows exactly its members.
/// The report policy accepts what is not [`Listing::NotListed`]; firmware identity (which must
/// name the firmware, not merely not exclude it) needs [`Listing::Listed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// The list is empty: any value passes, and none is identified.
    Unrestricted,
    /// The value is on the list.
    Listed,
    /// The list is not empty and the value is not on it.
    NotListed,
}

impl Listing {
    /// How `allowed` judges `found`.
    pub fn of<const N: usize>(allowed: &[Hex<N>], found: &[u8; N]) -> Self {
        if allowed.is_empty() {
            Self::Unrestricted
        } else if allowed.iter().any(|a| &a.0 == found) {
            Self::Listed
        } else {
            Self::NotListed
        }
    }

    /// Whether the report policy accepts the value.
    pub fn accepts(self) -> bool {
        self != Self::NotListed
    }
}

/// The firmware-identity allow-lists of a [`Policy`] applied to a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirmwareListing {
    /// `allowed_id_key_digests` on the ID-key digest.
    pub id_key: Listing,
    /// `allowed_author_key_digests` on the author-key digest.
    pub author_key: Listing,
    /// `allowed_measurements` on the launch measurement.
    pub measurement: Listing,
    /// `allowed_host_data` on host_data.
    pub host_data: Listing,
}

impl Policy {
    /// The firmware-identity allow-lists applied to `report` ([`Listing`] for each), read here
    /// for the report policy and for vTPM firmware identity alike.
    pub fn firmware_listing(&self, report: &SnpReport<'_>) -> FirmwareListing {
        FirmwareListing {
            id_key: Listing::of(&self.allowed_id_key_digests, report.id_key_digest()),
            author_key: Listing::of(&self.allowed_author_key_digests, report.author_key_digest()),
            measurement: Listing::of(&self.allowed_measurements, report.measurement()),
            host_data: Listing::of(&self.allowed_host_data, report.host_data()),
        }
    }
}

/// One check of the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)] // Each variant is the policy field of the same name.
pub enum PolicyCheck {
    Debug,
    MigrateMa,
    Smt,
    Vmpl,
    ReportedTcb,
    CommittedTcb,
    LaunchTcb,
    CurrentTcb,
    ProvisionalFirmware,
    /// Not a policy field: committed and reported TCB at most current, always checked.
    TcbOrder,
    FirmwareVersion,
    GuestSvn,
    Measurement,
    HostData,
    IdKeyDigest,
    AuthorKeyDigest,
    FamilyId,
    ImageId,
    ReportVersion,
    PlatformInfo,
    LaunchMitVector,
    CurrentMitVector,
    ReservedBytes,
}

impl fmt::Display for PolicyCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Debug => "debug",
            Self::MigrateMa => "migration agent",
            Self::Smt => "SMT",
            Self::Vmpl => "VMPL",
            Self::ReportedTcb => "reported TCB",
            Self::CommittedTcb => "committed TCB",
            Self::LaunchTcb => "launch TCB",
            Self::CurrentTcb => "current TCB",
            Self::ProvisionalFirmware => "provisional firmware",
            Self::TcbOrder => "TCB order",
            Self::FirmwareVersion => "firmware version",
            Self::GuestSvn => "guest SVN",
            Self::Measurement => "measurement",
            Self::HostData => "host_data",
            Self::IdKeyDigest => "ID-key digest",
            Self::AuthorKeyDigest => "author-key digest",
            Self::FamilyId => "family id",
            Self::ImageId => "image id",
            Self::ReportVersion => "report version",
            Self::PlatformInfo => "platform info",
            Self::LaunchMitVector => "launch mitigation vector",
            Self::CurrentMitVector => "current mitigation vector",
            Self::ReservedBytes => "reserved bytes",
        })
    }
}

/// A failed policy check, with what the policy wants and what the report has.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PolicyViolation {
    /// The check.
    pub check: PolicyCheck,
    /// What the policy requires.
    pub expected: String,
    /// What the report holds.
    pub found: String,
}

impl fmt::Display for PolicyViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: expected {}, found {}",
            self.check, self.expected, self.found
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_allow_list_restricts_only_when_it_names_something() {
        let (a, b) = ([1u8; 48], [2u8; 48]);
        assert_eq!(Listing::of(&[], &a), Listing::Unrestricted);
        assert_eq!(Listing::of(&[Hex(a)], &a), Listing::Listed);
        assert_eq!(Listing::of(&[Hex(a)], &b), Listing::NotListed);
        assert_eq!(Listing::of(&[Hex(b), Hex(a)], &a), Listing::Listed);
        assert!(Listing::Unrestricted.accepts() && Listing::Listed.accepts());
        assert!(!Listing::NotListed.accepts());
    }
}
