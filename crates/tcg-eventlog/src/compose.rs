//! Writing event logs: for tests, simulated guests and fuzz seeds (the forms no real sample
//! covers: SHA-1-only logs, StartupLocality, logs that match a quote).
//!
//! Verifiers never need this; it lives here so that the layout is written in one place.
//!
//! ```
//! use vtpm_quote::HashAlg;
//! use tcg_eventlog::{EventLog, EventType, compose::EventLogBuilder};
//!
//! let mut builder = EventLogBuilder::crypto_agile(&[HashAlg::Sha1, HashAlg::Sha256]);
//! builder.startup_locality(3).separators(0..=7).kernel_cmdline("/vmlinuz root=/dev/vda1");
//! let bytes = builder.build();
//! let log = EventLog::parse(&bytes).unwrap();
//! assert_eq!(log.startup_locality(), Some(3));
//! assert_eq!(log.summary().kernel_cmdlines, ["/vmlinuz root=/dev/vda1"]);
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use core::ops::RangeInclusive;

use super::parse::{SPEC_ID_EVENT03, STARTUP_LOCALITY};
use super::text::{Guid, utf16_bytes};
use super::types::{EventType, LogFormat};
use vtpm_quote::HashAlg;

/// A measurement the builder wrote: what a TPM must be extended with to match the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposedEvent {
    /// The PCR.
    pub pcr: u8,
    /// The type.
    pub event_type: EventType,
    /// One digest per bank of the log.
    pub digests: Vec<(HashAlg, Vec<u8>)>,
}

/// Builds a log record by record.
#[derive(Debug, Clone)]
pub struct EventLogBuilder {
    format: LogFormat,
    banks: Vec<HashAlg>,
    bytes: Vec<u8>,
    measured: Vec<ComposedEvent>,
}

fn u32_le(value: usize) -> [u8; 4] {
    u32::try_from(value).unwrap_or(u32::MAX).to_le_bytes()
}

impl EventLogBuilder {
    /// A crypto-agile log over `banks` (records carry one digest per bank, in this order),
    /// starting with its Spec ID event.
    pub fn crypto_agile(banks: &[HashAlg]) -> Self {
        let mut spec = Vec::new();
        spec.extend_from_slice(SPEC_ID_EVENT03);
        spec.extend_from_slice(&0u32.to_le_bytes()); // platform class: client
        spec.extend_from_slice(&[0, 2, 0, 2]); // version 2.0, errata 0, UINTN 8 bytes
        spec.extend_from_slice(&u32_le(banks.len()));
        for bank in banks {
            spec.extend_from_slice(&bank.tpm_id().to_le_bytes());
            spec.extend_from_slice(&(bank.digest_len() as u16).to_le_bytes());
        }
        spec.push(0); // no vendor info
        let mut builder = Self {
            format: LogFormat::CryptoAgile,
            banks: banks.to_vec(),
            bytes: Vec::new(),
            measured: Vec::new(),
        };
        builder.sha1_record(0, EventType::NO_ACTION, &[0; 20], &spec);
        builder
    }

    /// A legacy log: SHA-1 records only, no Spec ID event.
    pub fn sha1() -> Self {
        Self {
            format: LogFormat::Sha1,
            banks: Vec::from([HashAlg::Sha1]),
            bytes: Vec::new(),
            measured: Vec::new(),
        }
    }

    fn sha1_record(&mut self, pcr: u8, event_type: EventType, digest: &[u8], data: &[u8]) {
        self.bytes.extend_from_slice(&u32::from(pcr).to_le_bytes());
        self.bytes.extend_from_slice(&event_type.0.to_le_bytes());
        self.bytes.extend_from_slice(digest);
        self.bytes.extend_from_slice(&u32_le(data.len()));
        self.bytes.extend_from_slice(data);
    }

    fn record(
        &mut self,
        pcr: u8,
        event_type: EventType,
        digests: &[(HashAlg, Vec<u8>)],
        data: &[u8],
    ) {
        match self.format {
            LogFormat::Sha1 => {
                let digest = digests
                    .iter()
                    .find(|(b, _)| *b == HashAlg::Sha1)
                    .map(|(_, d)| d.clone())
                    .unwrap_or_else(|| alloc::vec![0; 20]);
                self.sha1_record(pcr, event_type, &digest, data);
            }
            LogFormat::CryptoAgile => {
                self.bytes.extend_from_slice(&u32::from(pcr).to_le_bytes());
                self.bytes.extend_from_slice(&event_type.0.to_le_bytes());
                self.bytes.extend_from_slice(&u32_le(digests.len()));
                for (bank, digest) in digests {
                    self.bytes.extend_from_slice(&bank.tpm_id().to_le_bytes());
                    self.bytes.extend_from_slice(digest);
                }
                self.bytes.extend_from_slice(&u32_le(data.len()));
                self.bytes.extend_from_slice(data);
            }
        }
    }

    /// An EV_NO_ACTION event (zero digests; not extended).
    pub fn no_action(&mut self, data: &[u8]) -> &mut Self {
        let zeros: Vec<(HashAlg, Vec<u8>)> = self
            .banks
            .iter()
            .map(|&b| (b, alloc::vec![0; b.digest_len()]))
            .collect();
        self.record(0, EventType::NO_ACTION, &zeros, data);
        self
    }

    /// The StartupLocality event: PCR 0 starts at `locality` (3 for a locality-3 startup).
    pub fn startup_locality(&mut self, locality: u8) -> &mut Self {
        let mut data = STARTUP_LOCALITY.to_vec();
        data.push(locality);
        self.no_action(&data)
    }

    /// A measurement with explicit digests (one per bank of the log).
    pub fn measure_digests(
        &mut self,
        pcr: u8,
        event_type: EventType,
        digests: &[(HashAlg, Vec<u8>)],
        data: &[u8],
    ) -> &mut Self {
        self.record(pcr, event_type, digests, data);
        self.measured.push(ComposedEvent {
            pcr,
            event_type,
            digests: digests.to_vec(),
        });
        self
    }

    /// A measurement of `hashed` logged with `data` (GRUB hashes the string after its prefix;
    /// image digests cover the image, not the event data).
    pub fn measure_hashing(
        &mut self,
        pcr: u8,
        event_type: EventType,
        hashed: &[u8],
        data: &[u8],
    ) -> &mut Self {
        let digests: Vec<(HashAlg, Vec<u8>)> = self
            .banks
            .iter()
            .map(|&b| (b, b.hash_parts([hashed])))
            .collect();
        self.measure_digests(pcr, event_type, &digests, data)
    }

    /// A measurement of the data itself.
    pub fn measure(&mut self, pcr: u8, event_type: EventType, data: &[u8]) -> &mut Self {
        self.measure_hashing(pcr, event_type, data, data)
    }

    /// EV_SEPARATOR (4 zero bytes) into each PCR of `pcrs`.
    pub fn separators(&mut self, pcrs: RangeInclusive<u8>) -> &mut Self {
        for pcr in pcrs {
            self.measure(pcr, EventType::SEPARATOR, &[0; 4]);
        }
        self
    }

    /// A UEFI variable measured whole into PCR 7 (EV_EFI_VARIABLE_DRIVER_CONFIG).
    pub fn efi_variable(&mut self, guid: &Guid, name: &str, value: &[u8]) -> &mut Self {
        let data = uefi_variable(guid, name, value);
        self.measure(7, EventType::EFI_VARIABLE_DRIVER_CONFIG, &data)
    }

    /// A boot application in PCR 4 loaded from `path`, whose image is `image` (the digest
    /// is the image's hash here, standing in for its Authenticode hash).
    pub fn boot_application(&mut self, path: &str, image: &[u8]) -> &mut Self {
        let data = image_load_event(Some(path));
        self.measure_hashing(4, EventType::EFI_BOOT_SERVICES_APPLICATION, image, &data)
    }

    /// A GRUB command as GRUB 2.06+ measures it into PCR 8.
    pub fn grub_command(&mut self, command: &str) -> &mut Self {
        let data = nul_terminated("grub_cmd: ", command);
        self.measure_hashing(8, EventType::IPL, command.as_bytes(), &data)
    }

    /// The kernel command line as GRUB 2.06+ measures it into PCR 8.
    pub fn kernel_cmdline(&mut self, command_line: &str) -> &mut Self {
        let data = nul_terminated("kernel_cmdline: ", command_line);
        self.measure_hashing(8, EventType::IPL, command_line.as_bytes(), &data)
    }

    /// The measurements written so far, in order (what to extend a TPM with).
    pub fn measurements(&self) -> &[ComposedEvent] {
        &self.measured
    }

    /// The log's bytes.
    pub fn build(&self) -> Vec<u8> {
        self.bytes.clone()
    }
}

fn nul_terminated(prefix: &str, text: &str) -> Vec<u8> {
    let mut data = String::from(prefix);
    data.push_str(text);
    let mut bytes = data.into_bytes();
    bytes.push(0);
    bytes
}

/// UEFI_VARIABLE_DATA for a variable.
pub fn uefi_variable(guid: &Guid, name: &str, value: &[u8]) -> Vec<u8> {
    let name = utf16_bytes(name);
    let mut out = guid.0.to_vec();
    out.extend_from_slice(&((name.len() / 2) as u64).to_le_bytes());
    out.extend_from_slice(&(value.len() as u64).to_le_bytes());
    out.extend_from_slice(&name);
    out.extend_from_slice(value);
    out
}

/// One EFI_SIGNATURE_LIST of `signature_type` with entries owned by `owner`.
pub fn signature_list(signature_type: &Guid, owner: &Guid, entries: &[&[u8]]) -> Vec<u8> {
    let size = entries.first().map_or(0, |e| e.len()) + 16;
    let mut out = signature_type.0.to_vec();
    out.extend_from_slice(&u32_le(28 + size * entries.len()));
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&u32_le(size));
    for entry in entries {
        out.extend_from_slice(&owner.0);
        out.extend_from_slice(entry);
    }
    out
}

/// A device path of one FilePath node (and the end node).
pub fn file_path_device_path(path: &str) -> Vec<u8> {
    let mut name = utf16_bytes(path);
    name.extend_from_slice(&[0, 0]);
    let mut out = Vec::from([0x04, 0x04]);
    out.extend_from_slice(
        &u16::try_from(name.len() + 4)
            .unwrap_or(u16::MAX)
            .to_le_bytes(),
    );
    out.extend_from_slice(&name);
    out.extend_from_slice(&[0x7F, 0xFF, 0x04, 0x00]);
    out
}

/// UEFI_IMAGE_LOAD_EVENT (64-bit UINTN) for an image loaded from `path` (or from memory).
pub fn image_load_event(path: Option<&str>) -> Vec<u8> {
    let device_path = path.map(file_path_device_path).unwrap_or_default();
    let mut out = Vec::new();
    out.extend_from_slice(&0x1_0000u64.to_le_bytes());
    out.extend_from_slice(&0x1000u64.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&(device_path.len() as u64).to_le_bytes());
    out.extend_from_slice(&device_path);
    out
}
