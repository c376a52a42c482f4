//! TPMS_ATTEST of a quote, parsed fully and strictly (big-endian, every size bounded).

use alloc::vec::Vec;

use crate::alg::HashAlg;
use crate::error::{Error, Result};
use crate::reader::Reader;

const TPM_GENERATED_VALUE: u32 = 0xFF54_4347;
const TPM_ST_ATTEST_QUOTE: u16 = 0x8018;
/// sizeof(TPMU_NAME): the largest name (a 2-byte algorithm and a SHA-512 digest).
const MAX_NAME: usize = 2 + 64;
/// sizeof(TPMU_HA): a TPM2B_DATA or TPM2B_DIGEST holds at most 64 bytes.
const MAX_DATA: usize = 64;
/// PCR_SELECT_MAX for 24 PCRs is 3; accept up to 32 PCRs' worth to be generous but bounded.
const MAX_SELECT: usize = 4;
/// HASH_COUNT: how many banks a selection may list.
const MAX_BANKS: u32 = 16;

/// TPMS_CLOCK_INFO: the TPM's clock. Obfuscated for keys outside the endorsement hierarchy
/// and not authenticated as time by anything: never base a decision on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ClockInfo {
    /// Milliseconds the TPM has been powered.
    pub clock: u64,
    /// TPM resets.
    pub reset_count: u32,
    /// TPM restarts.
    pub restart_count: u32,
    /// Whether the clock value is safe (not rolled back).
    pub safe: bool,
}

/// One bank of a TPML_PCR_SELECTION: a hash algorithm and the selected indices, ascending.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PcrBankSelection {
    /// The bank's hash algorithm.
    pub bank: HashAlg,
    /// Selected PCR indices in ascending order.
    pub indices: Vec<u8>,
}

/// A parsed TPMS_ATTEST of type quote, borrowing from the message bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteAttest<'a> {
    bytes: &'a [u8],
    qualified_signer: &'a [u8],
    extra_data: &'a [u8],
    clock_info: ClockInfo,
    firmware_version: u64,
    selection: Vec<PcrBankSelection>,
    pcr_digest: &'a [u8],
}

impl<'a> QuoteAttest<'a> {
    /// Parses a quote message: every byte must belong to the structure.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new("TPMS_ATTEST", bytes);
        let magic = r.u32()?;
        if magic != TPM_GENERATED_VALUE {
            return Err(Error::BadMagic { found: magic });
        }
        let kind = r.u16()?;
        if kind != TPM_ST_ATTEST_QUOTE {
            return Err(Error::NotAQuote { found: kind });
        }
        let qualified_signer = r.sized("qualifiedSigner", MAX_NAME)?;
        let extra_data = r.sized("extraData", MAX_DATA)?;
        let clock_info = ClockInfo {
            clock: r.u64()?,
            reset_count: r.u32()?,
            restart_count: r.u32()?,
            safe: match r.u8()? {
                0 => false,
                1 => true,
                other => {
                    return Err(Error::BadFormat {
                        format: "TPMS_CLOCK_INFO",
                        reason: alloc::format!("safe must be 0 or 1, found {other}"),
                    });
                }
            },
        };
        let firmware_version = r.u64()?;
        let selection = parse_selection(&mut r)?;
        let pcr_digest = r.sized("pcrDigest", MAX_DATA)?;
        r.finish()?;
        Ok(Self {
            bytes,
            qualified_signer,
            extra_data,
            clock_info,
            firmware_version,
            selection,
            pcr_digest,
        })
    }

    /// The message exactly as received: what the signature covers.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// qualifiedSigner: the qualified name of the signing key.
    pub fn qualified_signer(&self) -> &'a [u8] {
        self.qualified_signer
    }

    /// extraData: the nonce the verifier supplied.
    pub fn extra_data(&self) -> &'a [u8] {
        self.extra_data
    }

    /// The TPM clock (not trustworthy; see [`ClockInfo`]).
    pub fn clock_info(&self) -> ClockInfo {
        self.clock_info
    }

    /// The TPM firmware version (obfuscated for non-endorsement keys; not trustworthy).
    pub fn firmware_version(&self) -> u64 {
        self.firmware_version
    }

    /// The PCR selection, banks in quote order.
    pub fn selection(&self) -> &[PcrBankSelection] {
        &self.selection
    }

    /// pcrDigest: the hash of the selected PCR values.
    pub fn pcr_digest(&self) -> &'a [u8] {
        self.pcr_digest
    }
}

fn parse_selection(r: &mut Reader<'_>) -> Result<Vec<PcrBankSelection>> {
    let count = r.u32()?;
    if count > MAX_BANKS {
        return Err(Error::BadPcrSelection {
            reason: alloc::format!("{count} banks, at most {MAX_BANKS}"),
        });
    }
    let mut banks: Vec<PcrBankSelection> = Vec::new();
    for _ in 0..count {
        let alg = r.u16()?;
        let bank = HashAlg::from_tpm(alg).ok_or(Error::UnsupportedAlgorithm {
            field: "PCR bank",
            found: alg,
        })?;
        let size = usize::from(r.u8()?);
        if size > MAX_SELECT {
            return Err(Error::BadPcrSelection {
                reason: alloc::format!("bitmap of {size} bytes, at most {MAX_SELECT}"),
            });
        }
        let bitmap = r.take(size)?;
        if banks.iter().any(|b| b.bank == bank) {
            return Err(Error::BadPcrSelection {
                reason: alloc::format!("bank {bank} listed twice"),
            });
        }
        let indices = (0u8..)
            .zip(
                bitmap
                    .iter()
                    .flat_map(|byte| (0..8).map(move |bit| byte >> bit & 1 == 1)),
            )
            .filter_map(|(index, selected)| selected.then_some(index))
            .collect();
        banks.push(PcrBankSelection { bank, indices });
    }
    Ok(banks)
}
