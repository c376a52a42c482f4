//! Shared parts of the peer benchmarks: the real Milan evidence, the name of the `sev` backend
//! this build uses, and a plain-text report of criterion's medians.
//!
//! Exactly one of the features `openssl` (sev's OpenSSL backend, system libssl) and `nossl`
//! (sev's pure-Rust backend) must be enabled.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

#[cfg(all(feature = "openssl", feature = "nossl"))]
compile_error!(
    "sev's backends are exclusive: enable only one of the features `openssl` and `nossl`"
);
#[cfg(not(any(feature = "openssl", feature = "nossl")))]
compile_error!("choose sev's backend: build with `--features openssl` or `--features nossl`");

/// The criterion group of this build: `sev-openssl` or `sev-nossl`.
#[cfg(feature = "openssl")]
pub const GROUP: &str = "sev-openssl";
/// The criterion group of this build: `sev-openssl` or `sev-nossl`.
#[cfg(all(feature = "nossl", not(feature = "openssl")))]
pub const GROUP: &str = "sev-nossl";

/// Where the SNP report starts inside the HCL report (after the HCL header).
const SNP_REPORT_OFFSET: usize = 0x20;
/// Size of an SNP ATTESTATION_REPORT.
const SNP_REPORT_LEN: usize = 1184;

/// The real Azure Milan evidence (`azure/milan-v2`) and the Milan CA chain, as raw bytes and DER.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// The 1184-byte SNP report.
    pub report: Vec<u8>,
    /// The VCEK (DER).
    pub vcek: Vec<u8>,
    /// The Milan ASK (DER).
    pub ask: Vec<u8>,
    /// The Milan ARK (DER).
    pub ark: Vec<u8>,
}

impl Evidence {
    /// Reads the vectors; panics with a message naming what is missing.
    pub fn load() -> Self {
        let hcl = read_vector("azure/milan-v2/hcl-report.bin");
        let report = hcl
            .get(SNP_REPORT_OFFSET..SNP_REPORT_OFFSET + SNP_REPORT_LEN)
            .unwrap_or_else(|| panic!("hcl-report.bin is too short ({} bytes)", hcl.len()))
            .to_vec();
        Self {
            report,
            vcek: first_pem_block("azure/milan-v2/vcek.pem"),
            ask: first_pem_block("amd/milan/ask.pem"),
            ark: first_pem_block("amd/milan/ark.pem"),
        }
    }
}

/// The vectors folder: `$SNP_VTPM_VECTORS`, else `../shared/vectors` beside the checkout.
pub fn vectors_dir() -> PathBuf {
    match std::env::var_os("SNP_VTPM_VECTORS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors"),
    }
}

fn read_vector(relative: &str) -> Vec<u8> {
    let path = vectors_dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "the peer benchmarks need the shared real vectors, but {} cannot be read ({e}). \
             Put the `shared` folder next to the checkout (../shared/vectors) or set \
             SNP_VTPM_VECTORS to its vectors folder.",
            path.display()
        )
    })
}

/// The DER of the first PEM block of a vectors file.
fn first_pem_block(relative: &str) -> Vec<u8> {
    let bytes = read_vector(relative);
    let text = std::str::from_utf8(&bytes).unwrap_or_else(|_| panic!("{relative} is not text"));
    let mut lines = text.lines().map(str::trim);
    if !lines.by_ref().any(|line| line.starts_with("-----BEGIN ")) {
        panic!("{relative} holds no PEM block");
    }
    let body: String = lines
        .take_while(|line| !line.starts_with("-----END "))
        .collect();
    STANDARD
        .decode(body)
        .unwrap_or_else(|e| panic!("{relative}: the first PEM block is not base64 ({e})"))
}

/// Criterion's output folder, found the way criterion finds it: `$CRITERION_HOME`, else
/// `$CARGO_TARGET_DIR/criterion`, else the target directory `cargo metadata` names, else
/// `target/criterion`.
pub fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let metadata = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| serde_json::from_slice::<serde_json::Value>(&out.stdout).ok());
    match metadata
        .as_ref()
        .and_then(|m| m.get("target_directory"))
        .and_then(|t| t.as_str())
    {
        Some(target) => Path::new(target).join("criterion"),
        None => PathBuf::from("target/criterion"),
    }
}

/// The median (ns) criterion recorded for `group/name`, if it was written at or after `since`.
pub fn fresh_median_ns(dir: &Path, group: &str, name: &str, since: SystemTime) -> Option<f64> {
    let path = dir.join(group).join(name).join("new/estimates.json");
    let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
    if modified < since {
        return None;
    }
    let estimates: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    estimates.get("median")?.get("point_estimate")?.as_f64()
}

/// A duration in ns, printed in the unit that keeps 3-4 significant digits.
pub fn human(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.3} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} us", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

/// Prints the medians of `names` in `group` measured by this run (written at or after `since`)
/// and saves them as `<criterion>/<group>/medians.txt` (`name<TAB>median-ns` lines).
pub fn report_medians(group: &str, names: &[&str], since: SystemTime) {
    let dir = criterion_dir();
    let measured: Vec<(&str, f64)> = names
        .iter()
        .filter_map(|name| Some((*name, fresh_median_ns(&dir, group, name, since)?)))
        .collect();
    if measured.is_empty() {
        return;
    }
    println!("\n{group}: medians");
    let mut saved = String::new();
    for (name, ns) in &measured {
        println!("  {name:<28} {:>12}", human(*ns));
        saved.push_str(&format!("{name}\t{ns:.1}\n"));
    }
    let file = dir.join(group).join("medians.txt");
    match std::fs::write(&file, saved) {
        Ok(()) => println!("  (saved to {})", file.display()),
        Err(e) => eprintln!("cannot write {}: {e}", file.display()),
    }
}

/// The whole milan-v2 evidence as the az-snp-vtpm and aws-lc-rs peers take it.
#[derive(Debug, Clone)]
pub struct FullEvidence {
    /// The 2600-byte NV dump (HCL report).
    pub hcl_report: Vec<u8>,
    /// The VCEK as PEM (first block of `vcek.pem`).
    pub vcek_pem: String,
    /// ASK then ARK as PEM (what `az_snp_vtpm::certs::build_cert_chain` takes).
    pub chain_pem: String,
    /// The quote's RSA signature.
    pub quote_signature: Vec<u8>,
    /// The quote's TPMS_ATTEST.
    pub quote_message: Vec<u8>,
    /// PCRs 0..23 (SHA-256).
    pub pcrs: Vec<[u8; 32]>,
    /// The nonce the quote must carry.
    pub nonce: Vec<u8>,
}

impl FullEvidence {
    /// Reads `azure/milan-v2` and the Milan chain.
    pub fn load() -> Self {
        let quote = read_vector("azure/milan-v2/quote.bin");
        let (quote_signature, rest) = length_prefixed(&quote);
        let (quote_message, rest) = length_prefixed(rest);
        let (count, rest) = rest.split_at(8);
        let count = u64::from_le_bytes(count.try_into().expect("8 bytes")) as usize;
        let pcrs = rest
            .chunks_exact(32)
            .take(count)
            .map(|c| c.try_into().expect("32 bytes"))
            .collect();
        let vcek_pem = String::from_utf8(read_vector("azure/milan-v2/vcek.pem")).expect("PEM");
        let first_end = vcek_pem.find("-----END CERTIFICATE-----").expect("a PEM block")
            + "-----END CERTIFICATE-----".len();
        let chain_pem = format!(
            "{}{}",
            String::from_utf8(read_vector("amd/milan/ask.pem")).expect("PEM"),
            String::from_utf8(read_vector("amd/milan/ark.pem")).expect("PEM")
        );
        Self {
            hcl_report: read_vector("azure/milan-v2/hcl-report.bin"),
            vcek_pem: format!("{}\n", &vcek_pem[..first_end]),
            chain_pem,
            quote_signature: quote_signature.to_vec(),
            quote_message: quote_message.to_vec(),
            pcrs,
            nonce: b"challenge".to_vec(),
        }
    }

    /// The DER of the VCEK, ASK and ARK.
    pub fn ders(&self) -> [Vec<u8>; 3] {
        let evidence = Evidence::load();
        [evidence.vcek, evidence.ask, evidence.ark]
    }
}

fn length_prefixed(bytes: &[u8]) -> (&[u8], &[u8]) {
    let (length, rest) = bytes.split_at(8);
    let length = u64::from_le_bytes(length.try_into().expect("8 bytes")) as usize;
    rest.split_at(length)
}
