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

/// Every PEM block of a text (certificates of a chain file), decoded to DER.
pub fn pem_blocks(text: &str) -> Vec<Vec<u8>> {
    let mut blocks = Vec::new();
    let mut body: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line.starts_with("-----BEGIN ") {
            body = Some(String::new());
        } else if line.starts_with("-----END ") {
            let b64 = body.take().expect("END without BEGIN");
            let standard = base64::engine::general_purpose::STANDARD;
            blocks.push(standard.decode(b64).expect("PEM body is base64"));
        } else if let Some(body) = body.as_mut() {
            body.push_str(line);
        }
    }
    blocks
}

/// The DER certificates of a PEM file of the vectors folder.
pub fn read_pem(relative: &str) -> Vec<Vec<u8>> {
    let blocks = pem_blocks(&read_text(relative));
    assert!(!blocks.is_empty(), "{relative} holds no PEM block");
    blocks
}

/// One complete real SNP evidence: report, leaf certificate and the AMD CA certificates.
#[derive(Debug, Clone)]
pub struct SnpSample {
    /// Where it comes from.
    pub name: &'static str,
    /// The 1184-byte SNP report (from an HCL report where the sample is Azure's).
    pub report: Vec<u8>,
    /// The VCEK (DER).
    pub vcek: Vec<u8>,
    /// The product's ASK and ARK (DER), from `amd/<product>/`.
    pub ca: Vec<Vec<u8>>,
    /// Product name as the README gives it.
    pub product: &'static str,
    /// Whether it comes from an Azure CVM (so the azure-cvm policy applies).
    pub azure: bool,
}

fn amd_chain(product: &str) -> Vec<Vec<u8>> {
    let dir = product.to_ascii_lowercase();
    let mut chain = read_pem(&format!("amd/{dir}/ask.pem"));
    chain.extend(read_pem(&format!("amd/{dir}/ark.pem")));
    chain
}

fn hardware_report(hcl: &[u8]) -> Vec<u8> {
    hcl[0x20..0x20 + 1184].to_vec()
}

/// The VCEK of an evidence JSON file: PEM text (v0) or base64url DER (v1/v2).
pub fn vcek_from_evidence(relative: &str) -> Vec<u8> {
    let json = read_json(relative);
    let text = json["vcek"].as_str().expect("vcek string");
    if text.contains("BEGIN CERTIFICATE") {
        return pem_blocks(text).swap_remove(0);
    }
    BASE64URL.decode(text).expect("vcek base64url")
}

/// Every real report that has its VCEK, with the AMD chain of its product.
pub fn snp_samples() -> Vec<SnpSample> {
    let azure = |name, evidence: &str, vcek: Vec<u8>, product| SnpSample {
        name,
        report: hardware_report(&hcl_report_from_evidence(evidence)),
        vcek,
        ca: amd_chain(product),
        product,
        azure: true,
    };
    vec![
        SnpSample {
            name: "milan-v2",
            report: hardware_report(&read("azure/milan-v2/hcl-report.bin")),
            vcek: read_pem("azure/milan-v2/vcek.pem").swap_remove(0),
            ca: amd_chain("Milan"),
            product: "Milan",
            azure: true,
        },
        azure(
            "milan-v3",
            "azure/milan-v3/evidence-v0.json",
            vcek_from_evidence("azure/milan-v3/evidence-v0.json"),
            "Milan",
        ),
        azure(
            "milan-v3-userdata",
            "azure/milan-v3-userdata/evidence-v2.json",
            vcek_from_evidence("azure/milan-v3-userdata/evidence-v2.json"),
            "Milan",
        ),
        azure(
            "genoa-v3",
            "azure/genoa-v3/evidence-genoa.json",
            read_pem("azure/genoa-v3/vcek-genoa.pem").swap_remove(0),
            "Genoa",
        ),
        SnpSample {
            name: "snp/milan",
            report: raw_milan_report(),
            vcek: read("snp/milan/vcek_milan.der"),
            ca: read_pem("snp/milan/cert_chain_milan"),
            product: "Milan",
            azure: false,
        },
    ]
}

/// A real quote with what verifies it, the nonce taken from the vectors README.
#[derive(Debug, Clone)]
pub struct QuoteSample {
    /// Where it comes from.
    pub name: &'static str,
    /// TPMS_ATTEST.
    pub message: Vec<u8>,
    /// The signature as stored (bare RSA in every sample).
    pub signature: Vec<u8>,
    /// SHA-256 PCR values, PCR 0 first.
    pub pcrs: Vec<Vec<u8>>,
    /// The HCL report whose runtime claims carry the AK (absent for `quote-only`).
    pub hcl_report: Option<Vec<u8>>,
    /// The AK as a PEM SubjectPublicKeyInfo (only `quote-only`).
    pub ak_pem: Option<Vec<u8>>,
    /// The verifier's nonce.
    pub nonce: Vec<u8>,
}

fn quote_bin(bytes: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<Vec<u8>>) {
    let mut rest = bytes;
    let mut take = |n: usize| {
        let (head, tail) = rest.split_at(n);
        rest = tail;
        head.to_vec()
    };
    let len = u64::from_le_bytes(take(8).try_into().unwrap()) as usize;
    let signature = take(len);
    let len = u64::from_le_bytes(take(8).try_into().unwrap()) as usize;
    let message = take(len);
    let count = u64::from_le_bytes(take(8).try_into().unwrap()) as usize;
    let pcrs = (0..count).map(|_| take(32)).collect();
    (signature, message, pcrs)
}

fn bytes_of(value: &serde_json::Value) -> Vec<u8> {
    match value {
        serde_json::Value::String(text) => hex::decode(text).expect("hex"),
        serde_json::Value::Array(items) => {
            items.iter().map(|b| b.as_u64().unwrap() as u8).collect()
        }
        other => panic!("not bytes: {other}"),
    }
}

fn quote_from_evidence(name: &'static str, relative: &str, nonce: Vec<u8>) -> QuoteSample {
    let json = read_json(relative);
    let quote = json
        .get("tpm_quote")
        .or_else(|| json.get("quote"))
        .expect("quote");
    QuoteSample {
        name,
        message: bytes_of(&quote["message"]),
        signature: bytes_of(&quote["signature"]),
        pcrs: quote["pcrs"]
            .as_array()
            .unwrap()
            .iter()
            .map(bytes_of)
            .collect(),
        hcl_report: Some(hcl_report_from_evidence(relative)),
        ak_pem: None,
        nonce,
    }
}

/// Every real quote, with the nonce the vectors README gives.
pub fn quote_samples() -> Vec<QuoteSample> {
    let (signature, message, pcrs) = quote_bin(&read("azure/milan-v2/quote.bin"));
    let json = read_json("azure/milan-v2/tpm-quote-v1.json");
    let (only_signature, only_message, only_pcrs) = quote_bin(&read("azure/quote-only/quote.bin"));
    vec![
        QuoteSample {
            name: "milan-v2 quote.bin",
            message,
            signature,
            pcrs,
            hcl_report: Some(read("azure/milan-v2/hcl-report.bin")),
            ak_pem: None,
            nonce: b"challenge".to_vec(),
        },
        QuoteSample {
            name: "milan-v2 tpm-quote-v1.json",
            message: bytes_of(&json["message"]),
            signature: bytes_of(&json["signature"]),
            pcrs: json["pcrs"]
                .as_array()
                .unwrap()
                .iter()
                .map(bytes_of)
                .collect(),
            hcl_report: Some(read("azure/milan-v2/hcl-report.bin")),
            ak_pem: None,
            nonce: b"challenge".to_vec(),
        },
        quote_from_evidence(
            "milan-v3",
            "azure/milan-v3/evidence-v0.json",
            b"challenge".to_vec(),
        ),
        quote_from_evidence(
            "milan-v3-userdata",
            "azure/milan-v3-userdata/evidence-v2.json",
            hex::decode(MILAN_V3_USERDATA_NONCE).unwrap(),
        ),
        quote_from_evidence(
            "genoa-v3",
            "azure/genoa-v3/evidence-genoa.json",
            hex::decode(GENOA_NONCE).unwrap(),
        ),
        QuoteSample {
            name: "quote-only",
            message: only_message,
            signature: only_signature,
            pcrs: only_pcrs,
            hcl_report: None,
            ak_pem: Some(read("azure/quote-only/akpub.pem")),
            nonce: b"challenge".to_vec(),
        },
    ]
}

/// snp-verify's Azure report shape with the ID-key digests of snp-vtpm's built-in firmware
/// catalog: what a program using snp-verify alone would pin for Azure's paravisor.
pub fn azure_report_policy() -> snp_vtpm::snp_verify::Policy {
    let catalog = snp_vtpm::FirmwareCatalog::builtin();
    snp_vtpm::snp_verify::Policy {
        allowed_id_key_digests: catalog
            .entries
            .iter()
            .filter(|e| e.kind == snp_vtpm::IdentityKind::IdKeyDigest)
            .map(|e| e.value)
            .collect(),
        ..snp_vtpm::snp_verify::Policy::azure_cvm_layout()
    }
}
