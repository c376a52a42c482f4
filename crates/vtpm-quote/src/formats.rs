//! Quote file formats found in the wild: `quote.bin` and the `tpm-quote-v1.json` layout.

use alloc::format;
use alloc::vec::Vec;

use attest_prims::HexBytes;

use crate::error::{Error, Result};

/// A quote with its signature and PCR values, as separate files and evidence carry it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QuoteFile {
    /// The signature (bare RSA or TPMT_SIGNATURE).
    pub signature: HexBytes,
    /// The TPMS_ATTEST message.
    pub message: HexBytes,
    /// SHA-256 PCR values, PCR 0 first (or in the order of `pcr_indices`).
    pub pcrs: Vec<HexBytes>,
    /// The PCR indices of `pcrs` when they are not 0, 1, 2, ... (written by `snp-vtpm quote
    /// --pcr-select`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pcr_indices: Option<Vec<u8>>,
}

/// The largest part `quote.bin` may declare (a quote is a few hundred bytes).
const MAX_PART: u64 = 64 * 1024;

impl QuoteFile {
    /// `quote.bin`: u64-LE length + signature, u64-LE length + TPMS_ATTEST, u64-LE count +
    /// count x 32-byte SHA-256 PCR values.
    pub fn from_quote_bin(bytes: &[u8]) -> Result<Self> {
        let mut rest = bytes;
        let signature = take_part(&mut rest, "signature")?.to_vec();
        let message = take_part(&mut rest, "message")?.to_vec();
        let count = take_u64(&mut rest, "PCR count")?;
        if count > 24 {
            return Err(bad(format!("{count} PCR values; a TPM has 24")));
        }
        let mut pcrs = Vec::new();
        for _ in 0..count {
            let (value, tail) = rest
                .split_at_checked(32)
                .ok_or_else(|| bad("a PCR value is truncated".into()))?;
            pcrs.push(HexBytes(value.to_vec()));
            rest = tail;
        }
        if !rest.is_empty() {
            return Err(bad(format!("{} bytes after the PCR values", rest.len())));
        }
        Ok(Self {
            signature: HexBytes(signature),
            message: HexBytes(message),
            pcrs,
            pcr_indices: None,
        })
    }

    /// `tpm-quote-v1.json`: `{"signature": hex, "message": hex, "pcrs": [hex, ...]}`.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|e| Error::BadFormat {
            format: "quote JSON",
            reason: format!("{e}"),
        })
    }
}

fn bad(reason: alloc::string::String) -> Error {
    Error::BadFormat {
        format: "quote.bin",
        reason,
    }
}

fn take_u64(rest: &mut &[u8], what: &str) -> Result<u64> {
    let (head, tail) = rest
        .split_at_checked(8)
        .ok_or_else(|| bad(format!("{what} is truncated")))?;
    *rest = tail;
    let mut value = [0u8; 8];
    value.copy_from_slice(head);
    Ok(u64::from_le_bytes(value))
}

fn take_part<'a>(rest: &mut &'a [u8], what: &str) -> Result<&'a [u8]> {
    let len = take_u64(rest, what)?;
    if len > MAX_PART {
        return Err(bad(format!("{what} of {len} bytes")));
    }
    let (head, tail) = rest
        .split_at_checked(len as usize)
        .ok_or_else(|| bad(format!("{what} is truncated")))?;
    *rest = tail;
    Ok(head)
}
