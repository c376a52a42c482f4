//! [`Vtpm`]: the operations a guest needs from Azure's vTPM.

use std::str::FromStr;
use std::time::Duration;

use tss_esapi::Context;
use tss_esapi::attributes::NvIndexAttributesBuilder;
use tss_esapi::constants::CapabilityType;
use tss_esapi::handles::{
    KeyHandle, NvIndexHandle, NvIndexTpmHandle, ObjectHandle, PcrHandle, PersistentTpmHandle,
    TpmHandle,
};
use tss_esapi::interface_types::algorithm::HashingAlgorithm;
use tss_esapi::interface_types::resource_handles::{NvAuth, Provision};
use tss_esapi::interface_types::session_handles::AuthSession;
use tss_esapi::structures::{
    CapabilityData, Data, Digest, DigestValues, MaxNvBuffer, NvPublicBuilder, PcrSelectionList,
    PcrSlot, SignatureScheme,
};
use tss_esapi::tcti_ldr::TctiNameConf;
use tss_esapi::traits::Marshall;

use super::error::TpmError;
use super::{
    AK_CERT_NV_INDEX, AK_PERSISTENT_HANDLE, DEFAULT_TCTI, EVENT_LOG_PATH, HCL_REPORT_NV_INDEX,
    MAX_NONCE_LEN, NV_CHUNK, TCTI_ENV, USER_DATA_NV_INDEX,
};
use crate::alg::HashAlg;
use crate::attest::{PcrBankSelection, QuoteAttest};
use attest_prims::clock::{Clock, SystemClock};

use crate::guest::fresh::{self, FreshReport, ReportSource};
use crate::pcrs::PcrValues;
use crate::public::TpmPublic;
use crate::verify::check_pcr_digest;

/// Quote-and-read attempts before [`TpmError::PcrsMoving`].
const PCR_ATTEMPTS: u32 = 3;

/// A quote as the TPM produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteOutput {
    /// TPMS_ATTEST exactly as signed.
    pub message: Vec<u8>,
    /// TPMT_SIGNATURE.
    pub signature: Vec<u8>,
    /// The PCR values the quote covers, read after it and checked against its digest.
    pub pcrs: PcrValues,
}

/// An open vTPM.
pub struct Vtpm {
    context: Context,
    tcti: String,
    /// When the report was last read, on `clock`.
    last_report_read: Option<Duration>,
    clock: SystemClock,
    freshness: fresh::Freshness,
}

impl std::fmt::Debug for Vtpm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vtpm")
            .field("tcti", &self.tcti)
            .finish_non_exhaustive()
    }
}

impl Vtpm {
    /// Opens the TPM named by `tcti`, else by `$SNP_VTPM_TCTI`, else `device:/dev/tpmrm0`.
    /// Any TCTI string libtss2 understands works (`swtpm:host=127.0.0.1,port=2321`).
    pub fn open(tcti: Option<&str>) -> Result<Self, TpmError> {
        let tcti = match tcti {
            Some(tcti) => tcti.to_string(),
            None => std::env::var(TCTI_ENV).unwrap_or_else(|_| DEFAULT_TCTI.to_string()),
        };
        let conf = TctiNameConf::from_str(&tcti).map_err(|source| TpmError::BadTcti {
            tcti: tcti.clone(),
            source,
        })?;
        // libtss2 says little about a device it cannot open: look first.
        if let TctiNameConf::Device(_) = conf {
            check_device(&device_path(&tcti))?;
        }
        let context = Context::new(conf).map_err(|source| TpmError::Open {
            tcti: tcti.clone(),
            source,
        })?;
        Ok(Self {
            context,
            tcti,
            last_report_read: None,
            clock: SystemClock::new(),
            freshness: fresh::Freshness::default(),
        })
    }

    /// Sets the paravisor's regeneration interval and the retry bound (Azure: 2 s, 3 retries;
    /// simulators that regenerate on every read can use a shorter interval).
    pub fn set_freshness(&mut self, freshness: fresh::Freshness) {
        self.freshness = freshness;
    }

    /// The TCTI in use.
    pub fn tcti(&self) -> &str {
        &self.tcti
    }

    /// The raw context, for operations this type does not wrap.
    pub fn context(&mut self) -> &mut Context {
        &mut self.context
    }

    /// The HCL report: the whole NV index 0x01400001 (zero padding included).
    pub fn hcl_report(&mut self) -> Result<Vec<u8>, TpmError> {
        if !self.handle_exists(HCL_REPORT_NV_INDEX)? {
            return Err(TpmError::NotAnAzureVtpm {
                index: HCL_REPORT_NV_INDEX,
                tcti: self.tcti.clone(),
            });
        }
        let bytes = self.read_nv(HCL_REPORT_NV_INDEX)?;
        self.last_report_read = Some(self.clock.monotonic());
        Ok(bytes)
    }

    /// A report whose runtime claims carry `data` (at most 64 bytes, zero-padded) as
    /// `user-data`: writes NV 0x01400002, reads the report, and re-reads only while it is stale.
    pub fn fresh_hcl_report(&mut self, data: &[u8]) -> Result<FreshReport, TpmError> {
        // Nothing is written to NV 0x01400002 of a TPM that has no HCL report to refresh.
        if !self.handle_exists(HCL_REPORT_NV_INDEX)? {
            return Err(TpmError::NotAnAzureVtpm {
                index: HCL_REPORT_NV_INDEX,
                tcti: self.tcti.clone(),
            });
        }
        let padded =
            fresh::pad_user_data(data).ok_or(TpmError::UserDataTooLong { len: data.len() })?;
        let last_read = self.last_report_read;
        let clock = self.clock;
        let freshness = self.freshness;
        let fresh = fresh::fetch_fresh_report(
            &mut NvReportSource { vtpm: self },
            &clock,
            &padded,
            last_read,
            freshness,
        )
        .map_err(|e| match e {
            fresh::FreshError::Device(inner) => *inner,
            other => TpmError::Fresh(other),
        })?;
        self.last_report_read = Some(self.clock.monotonic());
        Ok(fresh)
    }

    /// The attestation key's public area (persistent handle 0x81000003).
    pub fn ak_public(&mut self) -> Result<TpmPublic, TpmError> {
        let handle = self.ak_handle()?;
        let (public, _, _) = self
            .context
            .execute_without_session(|ctx| ctx.read_public(handle))
            .map_err(TpmError::command("ReadPublic of the AK"))?;
        let bytes = public
            .marshall()
            .map_err(TpmError::command("marshalling the AK public area"))?;
        TpmPublic::from_tpmt(&bytes).map_err(|e| TpmError::Malformed {
            what: "AK public area",
            reason: e.to_string(),
        })
    }

    /// A quote by the AK over `selection` with `nonce` (at most 50 bytes, Azure's limit), and
    /// the PCR values it covers. PCRs are read after the quote; if they moved in between, the
    /// quote is taken again (bounded).
    pub fn quote(
        &mut self,
        nonce: &[u8],
        selection: &[PcrBankSelection],
    ) -> Result<QuoteOutput, TpmError> {
        if nonce.len() > MAX_NONCE_LEN {
            return Err(TpmError::NonceTooLong {
                len: nonce.len(),
                max: MAX_NONCE_LEN,
            });
        }
        let ak = self.ak_handle()?;
        let tss_selection = tss_selection(selection)?;
        for _ in 0..PCR_ATTEMPTS {
            let qualifying =
                Data::try_from(nonce.to_vec()).map_err(TpmError::command("building the nonce"))?;
            let list = tss_selection.clone();
            let (attest, signature) = self
                .context
                .execute_with_session(Some(AuthSession::Password), |ctx| {
                    ctx.quote(ak, qualifying, SignatureScheme::Null, list)
                })
                .map_err(TpmError::command("Quote"))?;
            let message = attest
                .marshall()
                .map_err(TpmError::command("marshalling the quote"))?;
            let signature = signature
                .marshall()
                .map_err(TpmError::command("marshalling the signature"))?;
            let pcrs = self.read_pcrs(selection)?;
            let parsed = QuoteAttest::parse(&message).map_err(|e| TpmError::Malformed {
                what: "quote",
                reason: e.to_string(),
            })?;
            let hash = crate::signature::QuoteSignature::from_tpmt(&signature)
                .map_err(|e| TpmError::Malformed {
                    what: "quote signature",
                    reason: e.to_string(),
                })?
                .hash();
            if check_pcr_digest(&parsed, hash, &pcrs).is_ok() {
                return Ok(QuoteOutput {
                    message,
                    signature,
                    pcrs,
                });
            }
        }
        Err(TpmError::PcrsMoving {
            attempts: PCR_ATTEMPTS,
        })
    }

    /// Reads PCR values, one bank and at most eight PCRs per command (the TPM's limit).
    pub fn read_pcrs(&mut self, selection: &[PcrBankSelection]) -> Result<PcrValues, TpmError> {
        let mut values = PcrValues::new();
        for bank in selection {
            for chunk in bank.indices.chunks(8) {
                let list = tss_selection(&[PcrBankSelection {
                    bank: bank.bank,
                    indices: chunk.to_vec(),
                }])?;
                let (_, read, digests) = self
                    .context
                    .execute_without_session(|ctx| ctx.pcr_read(list))
                    .map_err(TpmError::command("PCR_Read"))?;
                let mut indices: Vec<u8> = read
                    .get_selections()
                    .iter()
                    .flat_map(|s| s.selected())
                    .map(|slot| (u32::from(slot)).trailing_zeros() as u8)
                    .collect();
                indices.sort_unstable();
                if indices.len() != digests.len() || indices.as_slice() != chunk {
                    return Err(TpmError::Malformed {
                        what: "PCR_Read response",
                        reason: format!(
                            "asked for {chunk:?}, got {indices:?} with {} values",
                            digests.len()
                        ),
                    });
                }
                for (index, digest) in indices.into_iter().zip(digests.value()) {
                    values
                        .insert(bank.bank, index, digest.value())
                        .map_err(|e| TpmError::Malformed {
                            what: "PCR value",
                            reason: e.to_string(),
                        })?;
                }
            }
        }
        Ok(values)
    }

    /// Extends a SHA-256 PCR with the SHA-256 of `data` (PCRs 0-16 and 23 at locality 0).
    pub fn extend_pcr(&mut self, index: u8, data: &[u8]) -> Result<(), TpmError> {
        let handle =
            PcrHandle::try_from(u32::from(index)).map_err(TpmError::command("choosing the PCR"))?;
        let digest = HashAlg::Sha256.hash_parts([data]);
        let mut values = DigestValues::new();
        values.set(
            HashingAlgorithm::Sha256,
            Digest::try_from(digest).map_err(TpmError::command("building the digest"))?,
        );
        self.context
            .execute_with_session(Some(AuthSession::Password), |ctx| {
                ctx.pcr_extend(handle, values)
            })
            .map_err(TpmError::command("PCR_Extend"))
    }

    /// Extends a PCR with given digests, one per bank (TPM2_PCR_Extend with a
    /// TPML_DIGEST_VALUES): banks not listed are left alone. This is how firmware measures an
    /// event whose log record carries these digests.
    pub fn extend_pcr_digests(
        &mut self,
        index: u8,
        digests: &[(HashAlg, &[u8])],
    ) -> Result<(), TpmError> {
        let handle =
            PcrHandle::try_from(u32::from(index)).map_err(TpmError::command("choosing the PCR"))?;
        let mut values = DigestValues::new();
        for &(bank, digest) in digests {
            values.set(
                hashing_algorithm(bank),
                Digest::try_from(digest.to_vec())
                    .map_err(TpmError::command("building the digest"))?,
            );
        }
        self.context
            .execute_with_session(Some(AuthSession::Password), |ctx| {
                ctx.pcr_extend(handle, values)
            })
            .map_err(TpmError::command("PCR_Extend"))
    }

    /// The AK certificate Azure provisions in NV 0x01C101D0, without its zero padding;
    /// `None` when the index does not exist.
    pub fn ak_certificate(&mut self) -> Result<Option<Vec<u8>>, TpmError> {
        if !self.handle_exists(AK_CERT_NV_INDEX)? {
            return Ok(None);
        }
        let bytes = self.read_nv(AK_CERT_NV_INDEX)?;
        let len = der_length(&bytes).ok_or(TpmError::Malformed {
            what: "AK certificate",
            reason: "NV 0x01C101D0 does not start with a DER SEQUENCE".into(),
        })?;
        Ok(bytes.get(..len).map(<[u8]>::to_vec))
    }

    /// The TCG event log from securityfs; `None` when the kernel exposes none.
    pub fn event_log() -> Result<Option<Vec<u8>>, TpmError> {
        match std::fs::read(EVENT_LOG_PATH) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(TpmError::Io {
                path: EVENT_LOG_PATH.into(),
                source,
            }),
        }
    }

    /// Reads a whole NV index in chunks.
    pub fn read_nv(&mut self, index: u32) -> Result<Vec<u8>, TpmError> {
        let handle = self.nv_handle(index)?;
        let (public, _) = self
            .context
            .execute_without_session(|ctx| ctx.nv_read_public(handle))
            .map_err(TpmError::command("NV_ReadPublic"))?;
        let size = public.data_size();
        let mut bytes = Vec::with_capacity(size);
        while bytes.len() < size {
            let chunk = (size - bytes.len()).min(NV_CHUNK) as u16;
            let offset = bytes.len() as u16;
            let data = self
                .context
                .execute_with_session(Some(AuthSession::Password), |ctx| {
                    ctx.nv_read(NvAuth::Owner, handle, chunk, offset)
                })
                .map_err(TpmError::command("NV_Read"))?;
            bytes.extend_from_slice(data.value());
        }
        self.close(handle.into());
        Ok(bytes)
    }

    /// Writes `data` to an NV index at offset 0, defining it (owner read/write, exactly
    /// `size` bytes) when it is missing or has another size.
    pub(crate) fn write_nv(
        &mut self,
        index: u32,
        size: usize,
        data: &[u8],
    ) -> Result<(), TpmError> {
        let handle = self.ensure_nv(index, size)?;
        for (n, chunk) in data.chunks(NV_CHUNK).enumerate() {
            let buffer = MaxNvBuffer::try_from(chunk.to_vec())
                .map_err(TpmError::command("building NV data"))?;
            let offset = (n * NV_CHUNK) as u16;
            self.context
                .execute_with_session(Some(AuthSession::Password), |ctx| {
                    ctx.nv_write(NvAuth::Owner, handle, buffer, offset)
                })
                .map_err(TpmError::command("NV_Write"))?;
        }
        self.close(handle.into());
        Ok(())
    }

    fn ensure_nv(&mut self, index: u32, size: usize) -> Result<NvIndexHandle, TpmError> {
        if self.handle_exists(index)? {
            let handle = self.nv_handle(index)?;
            let (public, _) = self
                .context
                .execute_without_session(|ctx| ctx.nv_read_public(handle))
                .map_err(TpmError::command("NV_ReadPublic"))?;
            if public.data_size() == size {
                return Ok(handle);
            }
            self.context
                .execute_with_session(Some(AuthSession::Password), |ctx| {
                    ctx.nv_undefine_space(Provision::Owner, handle)
                })
                .map_err(TpmError::command("NV_UndefineSpace"))?;
        }
        let attributes = NvIndexAttributesBuilder::new()
            .with_owner_read(true)
            .with_owner_write(true)
            .build()
            .map_err(TpmError::command("building NV attributes"))?;
        let public = NvPublicBuilder::new()
            .with_nv_index(nv_tpm_handle(index)?)
            .with_index_name_algorithm(HashingAlgorithm::Sha256)
            .with_index_attributes(attributes)
            .with_data_area_size(size)
            .build()
            .map_err(TpmError::command("building the NV public area"))?;
        self.context
            .execute_with_session(Some(AuthSession::Password), |ctx| {
                ctx.nv_define_space(Provision::Owner, None, public)
            })
            .map_err(TpmError::command("NV_DefineSpace"))
    }

    /// Whether an NV index is defined (asked with GetCapability, which fails on nothing).
    /// Whether an NV index or a persistent object exists at `handle`.
    fn handle_exists(&mut self, handle: u32) -> Result<bool, TpmError> {
        let (data, _) = self
            .context
            .execute_without_session(|ctx| ctx.get_capability(CapabilityType::Handles, handle, 1))
            .map_err(TpmError::command("GetCapability of handles"))?;
        Ok(match data {
            CapabilityData::Handles(handles) => handles.iter().any(|h| u32::from(*h) == handle),
            _ => false,
        })
    }

    fn nv_handle(&mut self, index: u32) -> Result<NvIndexHandle, TpmError> {
        let handle = nv_tpm_handle(index)?;
        self.context
            .execute_without_session(|ctx| ctx.tr_from_tpm_public(TpmHandle::NvIndex(handle)))
            .map(NvIndexHandle::from)
            .map_err(TpmError::command("TR_FromTPMPublic of the NV index"))
    }

    fn ak_handle(&mut self) -> Result<KeyHandle, TpmError> {
        if !self.handle_exists(AK_PERSISTENT_HANDLE)? {
            return Err(TpmError::NoAttestationKey {
                handle: AK_PERSISTENT_HANDLE,
                tcti: self.tcti.clone(),
            });
        }
        let handle = PersistentTpmHandle::new(AK_PERSISTENT_HANDLE)
            .map_err(TpmError::command("AK handle"))?;
        self.context
            .execute_without_session(|ctx| ctx.tr_from_tpm_public(TpmHandle::Persistent(handle)))
            .map(KeyHandle::from)
            .map_err(TpmError::command("TR_FromTPMPublic of the AK (0x81000003)"))
    }

    fn close(&mut self, handle: ObjectHandle) {
        let mut handle = handle;
        let _ = self.context.tr_close(&mut handle);
    }
}

/// The vTPM as the freshness logic's report source.
struct NvReportSource<'a> {
    vtpm: &'a mut Vtpm,
}

impl ReportSource for NvReportSource<'_> {
    type Error = Box<TpmError>;
    fn write_user_data(&mut self, data: &[u8; 64]) -> Result<(), Self::Error> {
        self.vtpm
            .write_nv(USER_DATA_NV_INDEX, 64, data)
            .map_err(Box::new)
    }
    fn read_report(&mut self) -> Result<Vec<u8>, Self::Error> {
        self.vtpm.read_nv(HCL_REPORT_NV_INDEX).map_err(Box::new)
    }
}

fn nv_tpm_handle(index: u32) -> Result<NvIndexTpmHandle, TpmError> {
    NvIndexTpmHandle::new(index).map_err(TpmError::command("NV index handle"))
}

/// tss-esapi's name of a bank.
fn hashing_algorithm(bank: HashAlg) -> HashingAlgorithm {
    match bank {
        HashAlg::Sha1 => HashingAlgorithm::Sha1,
        HashAlg::Sha256 => HashingAlgorithm::Sha256,
        HashAlg::Sha384 => HashingAlgorithm::Sha384,
        HashAlg::Sha512 => HashingAlgorithm::Sha512,
    }
}

/// Builds tss-esapi's selection list from ours.
pub(crate) fn tss_selection(selection: &[PcrBankSelection]) -> Result<PcrSelectionList, TpmError> {
    let mut builder = PcrSelectionList::builder();
    for bank in selection {
        let algorithm = hashing_algorithm(bank.bank);
        let slots = bank
            .indices
            .iter()
            .map(|&i| PcrSlot::try_from(1u32 << u32::from(i)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(TpmError::command("choosing PCR slots"))?;
        builder = builder.with_selection(algorithm, &slots);
    }
    builder
        .build()
        .map_err(TpmError::command("building the PCR selection"))
}

/// Length of the DER element at the start of `bytes` (short or long form), if well formed.
fn der_length(bytes: &[u8]) -> Option<usize> {
    match bytes {
        [0x30, len, ..] if *len < 0x80 => Some(2 + usize::from(*len)),
        [0x30, 0x81, len, ..] => Some(3 + usize::from(*len)),
        [0x30, 0x82, hi, lo, ..] => Some(4 + (usize::from(*hi) << 8 | usize::from(*lo))),
        _ => None,
    }
    .filter(|&len| len <= bytes.len())
}

/// The device a `device` TCTI names (libtss2's default without a path is /dev/tpm0).
fn device_path(tcti: &str) -> String {
    match tcti.strip_prefix("device:") {
        Some(path) if !path.is_empty() => path.to_string(),
        _ => "/dev/tpm0".to_string(),
    }
}

/// The device exists, is a character device (a TPM; libtss2 would write TPM commands into
/// anything it can open), and opens for reading and writing (what libtss2 will do).
fn check_device(path: &str) -> Result<(), TpmError> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::metadata(path) {
        Ok(metadata) if !metadata.file_type().is_char_device() => {
            return Err(TpmError::NotADevice {
                path: path.to_string(),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(TpmError::NoDevice {
                path: path.to_string(),
            });
        }
        _ => {}
    }
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(TpmError::NoDevice {
            path: path.to_string(),
        }),
        Err(source) => Err(TpmError::DeviceAccess {
            path: path.to_string(),
            source,
        }),
    }
}
