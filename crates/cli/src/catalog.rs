//! The firmware catalog: the paravisor identities (SNP ID-key digests and launch measurements,
//! TDX MRTDs) this verifier knows, kept as data so they can be updated without a release.
//!
//! A report or TD quote whose firmware no catalog entry (and no policy allow-list) names proves
//! nothing about the vTPM (see [`crate::firmware`]). The catalog says which firmware is *known*;
//! a policy's non-empty allow-lists narrow what is accepted to their members, which a policy
//! thereby also makes known (a private or test firmware pinned by its policy alone). The built-in catalog is
//! `firmware-catalog.json` beside this crate's manifest; a local file extends or replaces it at
//! run time ([`FirmwareCatalog::with_file`]). Nothing is ever fetched.

use std::sync::{Arc, OnceLock};

use hcl_parse::{Hex, SnpReport};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::policy::Platform;

/// The catalog file format this build reads.
pub const CATALOG_FORMAT: u32 = 1;

/// The built-in catalog, as shipped.
const BUILTIN: &str = include_str!("../firmware-catalog.json");

/// SHA-256 of the built-in catalog file, for `--version`.
pub(crate) fn builtin_sha256() -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(BUILTIN.as_bytes()).into()
}

/// What a catalog value is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    /// SNP: SHA-384 of the key that signed the launched firmware (report `id_key_digest`).
    IdKeyDigest,
    /// SNP: the launch measurement (one build of the firmware).
    Measurement,
    /// TDX: the paravisor TD's MRTD.
    Mrtd,
}

impl IdentityKind {
    /// The platform whose reports carry this value.
    pub fn platform(self) -> Platform {
        match self {
            Self::IdKeyDigest | Self::Measurement => Platform::Snp,
            Self::Mrtd => Platform::Tdx,
        }
    }

    /// The name used in files and messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::IdKeyDigest => "id_key_digest",
            Self::Measurement => "measurement",
            Self::Mrtd => "mrtd",
        }
    }
}

/// One known firmware identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    /// A unique name; verdicts name the entries that matched.
    pub name: String,
    /// The hardware platform.
    pub platform: Platform,
    /// What `value` is.
    pub kind: IdentityKind,
    /// The SHA-384 value.
    pub value: Hex<48>,
    /// When the value was first seen in verified evidence: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    pub first_seen: String,
    /// Where it was seen, and how it was checked.
    pub source: String,
}

/// A catalog file: the built-in one, or a local one given at run time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    format: u32,
    /// The catalog's own version (a date), for people and verdicts.
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    description: Option<String>,
    /// Replace the built-in entries instead of extending them.
    #[serde(default)]
    replace: bool,
    entries: Vec<CatalogEntry>,
}

/// The known firmware identities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirmwareCatalog {
    /// The version of the built-in catalog, or of the file that replaced it; a file that
    /// extends adds its own after a `+`.
    pub version: String,
    /// What the catalog is, in the words of its file.
    pub description: Option<String>,
    /// The entries, built-in ones first.
    pub entries: Vec<CatalogEntry>,
}

impl FirmwareCatalog {
    /// The catalog shipped with this build.
    pub fn builtin() -> Arc<Self> {
        static BUILT_IN: OnceLock<Arc<FirmwareCatalog>> = OnceLock::new();
        BUILT_IN
            .get_or_init(|| {
                // A test parses the shipped file, so this cannot fail in a released build; an
                // empty catalog (every firmware unknown) is the safe fallback regardless.
                let catalog = parse(BUILTIN.as_bytes(), "the built-in firmware catalog")
                    .map(|file| Self {
                        version: file.version.unwrap_or_default(),
                        description: file.description,
                        entries: file.entries,
                    })
                    .unwrap_or_else(|_| Self::empty());
                Arc::new(catalog)
            })
            .clone()
    }

    /// A catalog that knows no firmware.
    pub fn empty() -> Self {
        Self {
            version: String::new(),
            description: None,
            entries: Vec::new(),
        }
    }

    /// This catalog with a local catalog file applied: the file's entries are added (an entry
    /// with the name of an existing one replaces it), or, when the file says
    /// `"replace": true`, they are the whole catalog. `origin` names the file in errors.
    pub fn with_file(&self, bytes: &[u8], origin: &str) -> Result<Self, Error> {
        let file = parse(bytes, origin)?;
        // A file without a version is "local" (its path stays out of verdicts and listings).
        let file_version = file.version.unwrap_or_else(|| "local".to_string());
        if file.replace {
            return Ok(Self {
                version: file_version,
                description: file.description,
                entries: file.entries,
            });
        }
        let mut entries = self.entries.clone();
        for entry in file.entries {
            match entries.iter_mut().find(|e| e.name == entry.name) {
                Some(existing) => *existing = entry,
                None => entries.push(entry),
            }
        }
        Ok(Self {
            version: format!("{}+{file_version}", self.version),
            description: self.description.clone(),
            entries,
        })
    }

    /// The entries naming `value` as a `kind`.
    pub fn find(
        &self,
        kind: IdentityKind,
        value: &[u8; 48],
    ) -> impl Iterator<Item = &CatalogEntry> {
        self.entries
            .iter()
            .filter(move |e| e.kind == kind && &e.value.0 == value)
    }

    /// The entries an SNP report's ID-key digest or measurement matches, ID keys first.
    pub fn matches_snp(&self, report: &SnpReport<'_>) -> Vec<&CatalogEntry> {
        self.find(IdentityKind::IdKeyDigest, report.id_key_digest())
            .chain(self.find(IdentityKind::Measurement, report.measurement()))
            .collect()
    }
}

/// Reads and checks a catalog file: known format, unique names, values for their platform,
/// dates in the documented shape, a source for every entry.
fn parse(bytes: &[u8], origin: &str) -> Result<CatalogFile, Error> {
    // Editors on some systems start files with a byte-order mark.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let file: CatalogFile = serde_json::from_slice(bytes)
        .map_err(|e| Error::input(format!("{origin}: not a firmware catalog: {e}")))?;
    if file.format != CATALOG_FORMAT {
        return Err(Error::input(format!(
            "{origin}: firmware catalog format {}, expected {CATALOG_FORMAT}",
            file.format
        )));
    }
    let mut names = std::collections::BTreeSet::new();
    for (index, entry) in file.entries.iter().enumerate() {
        let at = format!("{origin}: entry {index}");
        // Names end up in verdicts, policies and terminals: plain identifiers only.
        if !is_entry_name(&entry.name) {
            return Err(Error::input(format!(
                "{at}: the name must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, found {:?}",
                entry.name
            )));
        }
        let at = format!("{at} (\"{}\")", entry.name);
        if !names.insert(entry.name.as_str()) {
            return Err(Error::input(format!("{at}: the name is used twice")));
        }
        if entry.kind.platform() != entry.platform {
            return Err(Error::input(format!(
                "{at}: kind \"{}\" is for {}, found platform \"{}\"",
                entry.kind.name(),
                entry.kind.platform(),
                entry.platform.to_string().to_lowercase()
            )));
        }
        if !is_partial_date(&entry.first_seen) {
            return Err(Error::input(format!(
                "{at}: first_seen must be YYYY, YYYY-MM or YYYY-MM-DD, found \"{}\"",
                entry.first_seen
            )));
        }
        if entry.source.trim().is_empty() || !is_one_line(&entry.source) {
            return Err(Error::input(format!(
                "{at}: the source must be one line of text (no control characters), found {:?}",
                entry.source
            )));
        }
    }
    for (field, text) in [
        ("version", &file.version),
        ("description", &file.description),
    ] {
        if let Some(text) = text.as_deref().filter(|t| !is_one_line(t)) {
            return Err(Error::input(format!(
                "{origin}: the {field} must be one line of text (no control characters), found {text:?}"
            )));
        }
    }
    Ok(file)
}

/// 1 to 64 ASCII letters, digits, '.', '_' or '-', the first a letter or digit.
fn is_entry_name(name: &str) -> bool {
    name.len() <= 64
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Text without control characters or Unicode line and paragraph separators.
fn is_one_line(text: &str) -> bool {
    text.len() <= 4096
        && !text
            .chars()
            .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD` with a plausible month and day.
fn is_partial_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let number = |part: &str, digits: usize, range: std::ops::RangeInclusive<u32>| {
        part.len() == digits
            && part.bytes().all(|b| b.is_ascii_digit())
            && part.parse::<u32>().is_ok_and(|n| range.contains(&n))
    };
    let year_ok = |year: &str| number(year, 4, 2000..=9999);
    match parts.as_slice() {
        [year] => year_ok(year),
        [year, month] => year_ok(year) && number(month, 2, 1..=12),
        [year, month, day] if year_ok(year) && number(month, 2, 1..=12) => {
            let (y, m) = (
                year.parse::<u32>().unwrap_or(0),
                month.parse::<u32>().unwrap_or(0),
            );
            let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
            let days = match m {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            number(day, 2, 1..=days)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalog_parses_and_is_consistent() {
        let file = parse(BUILTIN.as_bytes(), "built-in").expect("the shipped catalog is valid");
        assert!(!file.replace);
        assert!(file.version.as_deref().is_some_and(is_partial_date));
        let catalog = FirmwareCatalog::builtin();
        assert_eq!(catalog.entries, file.entries);
        for kind in [IdentityKind::IdKeyDigest, IdentityKind::Mrtd] {
            assert!(
                catalog.entries.iter().any(|e| e.kind == kind),
                "the catalog has {kind:?} entries"
            );
        }
    }

    #[test]
    fn local_files_extend_or_replace() {
        let builtin = FirmwareCatalog::builtin();
        let entry = |name: &str, value: &str| {
            serde_json::json!({
                "name": name, "platform": "snp", "kind": "id_key_digest",
                "value": value.repeat(48), "first_seen": "2026-12", "source": "lab",
            })
        };
        let extend = serde_json::json!({"format": 1, "version": "local-1", "entries": [entry("lab-key", "ab")]});
        let extended = builtin
            .with_file(extend.to_string().as_bytes(), "local.json")
            .unwrap();
        assert_eq!(extended.entries.len(), builtin.entries.len() + 1);
        assert_eq!(extended.version, format!("{}+local-1", builtin.version));
        assert_eq!(
            extended
                .find(IdentityKind::IdKeyDigest, &[0xab; 48])
                .count(),
            1
        );

        // A same-named entry replaces the built-in one.
        let first = &builtin.entries[0].name;
        let over = serde_json::json!({"format": 1, "entries": [entry(first, "cd")]});
        let overridden = builtin
            .with_file(over.to_string().as_bytes(), "over.json")
            .unwrap();
        assert_eq!(overridden.entries.len(), builtin.entries.len());
        assert_eq!(overridden.entries[0].value.0, [0xcd; 48]);
        assert!(overridden.version.ends_with("+local"));

        let replace =
            serde_json::json!({"format": 1, "replace": true, "entries": [entry("only", "ef")]});
        let replaced = builtin
            .with_file(replace.to_string().as_bytes(), "r.json")
            .unwrap();
        assert_eq!(replaced.entries.len(), 1);
        assert_eq!(replaced.version, "local");
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        let builtin = FirmwareCatalog::builtin();
        let refuse = |doc: serde_json::Value, needle: &str| {
            let error = builtin
                .with_file(doc.to_string().as_bytes(), "bad.json")
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("bad.json") && error.contains(needle),
                "{error}"
            );
        };
        let entry = serde_json::json!({
            "name": "x", "platform": "snp", "kind": "id_key_digest",
            "value": "ab".repeat(48), "first_seen": "2026", "source": "lab",
        });
        refuse(
            serde_json::json!({"format": 2, "entries": []}),
            "format 2, expected 1",
        );
        refuse(
            serde_json::json!({"format": 1, "entries": [entry, entry]}),
            "used twice",
        );
        let mut wrong_platform = entry.clone();
        wrong_platform["platform"] = "tdx".into();
        refuse(
            serde_json::json!({"format": 1, "entries": [wrong_platform]}),
            "is for SNP",
        );
        let mut bad_date = entry.clone();
        bad_date["first_seen"] = "last year".into();
        refuse(
            serde_json::json!({"format": 1, "entries": [bad_date]}),
            "first_seen",
        );
        let mut short = entry.clone();
        short["value"] = "ab".into();
        refuse(
            serde_json::json!({"format": 1, "entries": [short]}),
            "not a firmware catalog",
        );
        let mut extra = entry.clone();
        extra["trusted"] = true.into();
        refuse(
            serde_json::json!({"format": 1, "entries": [extra]}),
            "unknown field",
        );
        refuse(serde_json::json!([]), "not a firmware catalog");
        for name in [
            "x\n]\nallowed_host_data = [",
            "a\u{200B}b",
            "-lead",
            "",
            &"n".repeat(65),
        ] {
            let mut named = entry.clone();
            named["name"] = name.into();
            refuse(
                serde_json::json!({"format": 1, "entries": [named]}),
                "the name must be",
            );
        }
        for source in ["line\nforged", "bell\u{7}", "sep\u{2028}x", " "] {
            let mut sourced = entry.clone();
            sourced["source"] = source.into();
            refuse(
                serde_json::json!({"format": 1, "entries": [sourced]}),
                "one line",
            );
        }
        // A byte-order mark is not an error.
        let with_bom = [
            b"\xEF\xBB\xBF".as_slice(),
            serde_json::json!({"format": 1, "entries": [entry]})
                .to_string()
                .as_bytes(),
        ]
        .concat();
        assert!(builtin.with_file(&with_bom, "bom.json").is_ok());
        for good in ["2026", "2026-02", "2026-02-18"] {
            assert!(is_partial_date(good), "{good}");
        }
        for good in ["2024-02-29", "2000-02-29"] {
            assert!(is_partial_date(good), "{good}");
        }
        for bad in [
            "26",
            "2026-2",
            "2026-13",
            "2026-02-32",
            "2026-02-29",
            "2100-02-29",
            "2026-04-31",
            "2026-02-18T00",
            "",
        ] {
            assert!(!is_partial_date(bad), "{bad}");
        }
    }
}
