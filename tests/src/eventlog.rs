//! Synthetic evidence that carries a TCG event log: a log the project writes, and a quote (by
//! the software AK) over the SHA-256 PCR values that log replays to. No real sample has a log
//! that matches its quote.

use base64::Engine;
use tcg_eventlog::compose::{EventLogBuilder, image_load_event};
use tcg_eventlog::{EFI_GLOBAL_VARIABLE, EventLog, EventType};
use vtpm_quote::HashAlg;

use crate::azure::{SoftwareAk, SyntheticEvidence, SyntheticReport};
use crate::pki::TestPki;

/// A Linux guest's boot as firmware, shim and GRUB log it (SHA-1 and SHA-256 banks):
/// SecureBoot, separators 0-7, shim and GRUB in PCR 4, GRUB commands and the kernel command
/// line in PCR 8.
pub fn linux_boot_log(secure_boot: bool, kernel_cmdline: &str) -> Vec<u8> {
    linux_boot_log_with(secure_boot, kernel_cmdline, b"shim image", None)
}

/// [`linux_boot_log`] with shim's image bytes given, and optionally one more image measured
/// into PCR 4 as a boot *driver* (an application relabelled: its type is covered by no
/// digest).
pub fn linux_boot_log_with(
    secure_boot: bool,
    kernel_cmdline: &str,
    shim_image: &[u8],
    relabelled_image: Option<&[u8]>,
) -> Vec<u8> {
    let mut builder = EventLogBuilder::crypto_agile(&[HashAlg::Sha1, HashAlg::Sha256]);
    builder
        .measure(0, EventType::S_CRTM_CONTENTS, b"synthetic firmware")
        .efi_variable(&EFI_GLOBAL_VARIABLE, "SecureBoot", &[u8::from(secure_boot)])
        .separators(0..=7)
        .boot_application("\\EFI\\ubuntu\\shimx64.efi", shim_image)
        .boot_application("\\EFI\\ubuntu\\grubx64.efi", b"grub image");
    if let Some(image) = relabelled_image {
        builder.measure_hashing(
            4,
            EventType::EFI_BOOT_SERVICES_DRIVER,
            image,
            &image_load_event(Some("\\EFI\\ubuntu\\hidden.efi")),
        );
    }
    builder
        .grub_command(&format!("linux {kernel_cmdline}"))
        .kernel_cmdline(kernel_cmdline);
    builder.build()
}

/// The SHA-256 values of PCRs 0-23 a log replays to.
pub fn sha256_pcrs(log: &[u8]) -> Vec<[u8; 32]> {
    let log = EventLog::parse(log).expect("a log the test wrote parses");
    let replay = log.replay();
    (0..24u8)
        .map(|pcr| {
            let value = replay
                .get(HashAlg::Sha256, pcr)
                .expect("the log has a SHA-256 bank");
            <[u8; 32]>::try_from(value).expect("32 bytes")
        })
        .collect()
}

/// Native evidence (version 1) from the test PKI whose quote covers the SHA-256 replay of
/// `quoted_log`, carrying `carried_log` as its event log (None: no log).
pub fn synthetic_evidence_with_log(
    pki: &TestPki,
    report: &SyntheticReport,
    nonce: &[u8],
    quoted_log: &[u8],
    carried_log: Option<&[u8]>,
) -> SyntheticEvidence {
    let ak = SoftwareAk::shared();
    let report = SyntheticReport {
        ak_modulus: ak.modulus(),
        ..report.clone()
    };
    let (hcl, vcek) = report.build(pki);
    let pcrs = sha256_pcrs(quoted_log);
    let (message, signature) = ak.quote(nonce, &pcrs);
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let mut json = serde_json::json!({
        "version": 1,
        "tpm_quote": {
            "signature": hex::encode(&signature),
            "message": hex::encode(&message),
            "pcrs": pcrs.iter().map(hex::encode).collect::<Vec<_>>(),
        },
        "hcl_report": b64(&hcl),
        "vcek": b64(&vcek.der),
    });
    if let Some(log) = carried_log {
        json["event_log"] = serde_json::Value::String(b64(log));
    }
    SyntheticEvidence {
        json: serde_json::to_vec_pretty(&json).expect("JSON"),
        chain_pem: pki.product(report.generation).vcek_chain_pem(),
        nonce: nonce.to_vec(),
    }
}
