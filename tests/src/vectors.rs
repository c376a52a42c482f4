//! The real evidence and certificates in `../shared/vectors`, found next to the checkout.
//!
//! `SNP_VTPM_VECTORS` overrides the location. A missing folder fails the test with a message
//! that says what is missing, rather than passing silently.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The vectors folder: `$SNP_VTPM_VECTORS`, else `../shared/vectors` beside the checkout.
pub fn dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SNP_VTPM_VECTORS") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors")
}

/// Reads a file of the vectors folder, failing with a clear message when it is absent.
pub fn read(relative: &str) -> Vec<u8> {
    let path = dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "this test needs the shared real vectors, but {} cannot be read ({e}). \
             Put the `shared` folder next to the checkout (../shared/vectors) or set \
             SNP_VTPM_VECTORS to its vectors folder.",
            path.display()
        )
    })
}

/// Reads a file of the vectors folder as text.
pub fn read_text(relative: &str) -> String {
    String::from_utf8(read(relative)).unwrap_or_else(|_| panic!("{relative} is not UTF-8"))
}

/// Reads a JSON file of the vectors folder.
pub fn read_json(relative: &str) -> serde_json::Value {
    serde_json::from_slice(&read(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// The raw 1184-byte SNP report of `snp/milan/report_milan.hex`.
pub fn raw_milan_report() -> Vec<u8> {
    let text: String = read_text("snp/milan/report_milan.hex")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    hex::decode(text).expect("report_milan.hex is hex")
}

/// Facts about one Azure HCL report, taken from the vectors README (not from the parser).
#[derive(Debug, Clone)]
pub struct AzureReport {
    /// Folder name under `azure/`.
    pub name: &'static str,
    /// The HCL report bytes (NV contents, possibly padded).
    pub bytes: Vec<u8>,
    /// HCL header version.
    pub hcl_version: u32,
    /// SNP report version, where the README states it.
    pub snp_version: Option<u32>,
    /// Product the README names ("Milan", "Genoa").
    pub product: &'static str,
    /// The ID-key digest's first bytes, as the README gives them.
    pub id_key_digest_prefix: &'static str,
    /// Whether the runtime claims carry an EK and `user-data`.
    pub has_ek_and_user_data: bool,
}

/// The HCL report inside an evidence JSON file: `report` (v0, byte array) or `hcl_report`
/// (v1/v2, base64url padded or not).
pub fn hcl_report_from_evidence(relative: &str) -> Vec<u8> {
    let json = read_json(relative);
    if let Some(array) = json.get("report").and_then(|r| r.as_array()) {
        return array
            .iter()
            .map(|v| v.as_u64().and_then(|b| u8::try_from(b).ok()).expect("byte"))
            .collect();
    }
    let text = json["hcl_report"].as_str().expect("hcl_report string");
    BASE64URL.decode(text).expect("hcl_report base64url")
}

/// Every Azure SNP HCL report in the vectors, with the facts the README states.
pub fn azure_snp_reports() -> Vec<AzureReport> {
    vec![
        AzureReport {
            name: "milan-v2",
            bytes: read("azure/milan-v2/hcl-report.bin"),
            hcl_version: 1,
            snp_version: Some(2),
            product: "Milan",
            id_key_digest_prefix: "0356215882a8",
            has_ek_and_user_data: true,
        },
        AzureReport {
            name: "milan-v3",
            bytes: hcl_report_from_evidence("azure/milan-v3/evidence-v0.json"),
            hcl_version: 1,
            snp_version: Some(3),
            product: "Milan",
            id_key_digest_prefix: "942fd93ebde6",
            has_ek_and_user_data: true,
        },
        AzureReport {
            name: "milan-v3-userdata",
            bytes: hcl_report_from_evidence("azure/milan-v3-userdata/evidence-v2.json"),
            hcl_version: 1,
            snp_version: Some(3),
            product: "Milan",
            id_key_digest_prefix: "942fd93ebde6",
            has_ek_and_user_data: true,
        },
        AzureReport {
            name: "genoa-v3",
            bytes: hcl_report_from_evidence("azure/genoa-v3/evidence-genoa.json"),
            hcl_version: 2,
            snp_version: Some(3),
            product: "Genoa",
            id_key_digest_prefix: "942fd93ebde6",
            has_ek_and_user_data: true,
        },
        AzureReport {
            name: "milan-2023",
            bytes: read("azure/milan-2023/hcl-report-snp.bin"),
            hcl_version: 1,
            snp_version: None,
            product: "Milan",
            id_key_digest_prefix: "934f68bd8ba0",
            has_ek_and_user_data: false,
        },
    ]
}

/// The 48-byte nonce of `milan-v3-userdata`, from the vectors README.
pub const MILAN_V3_USERDATA_NONCE: &str = "982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef";
/// The 48-byte nonce of `genoa-v3`, from the vectors README.
pub const GENOA_NONCE: &str = "0218488bae25d2509232bf676f1a66a30d7372add909109b36016ef136f2938ca05475f8b46094de6b64270ea35d950f";
