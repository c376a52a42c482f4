//! A bounds-checked big-endian cursor for TPM structures: every read can fail, none can panic.

use crate::error::{Error, Result};

/// Reads TPM wire types from a byte slice.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(what: &'static str, bytes: &'a [u8]) -> Self {
        Self { bytes, what }
    }

    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8]> {
        if self.bytes.len() < len {
            return Err(Error::Truncated {
                what: self.what,
                needed: len,
                found: self.bytes.len(),
            });
        }
        let (head, tail) = self.bytes.split_at(len);
        self.bytes = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    pub(crate) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A TPM2B: a u16 size, then that many bytes, at most `max`.
    pub(crate) fn sized(&mut self, field: &'static str, max: usize) -> Result<&'a [u8]> {
        let size = usize::from(self.u16()?);
        if size > max {
            return Err(Error::FieldTooLarge {
                field,
                max,
                found: size,
            });
        }
        self.take(size)
    }

    /// Fails unless every byte was consumed.
    pub(crate) fn finish(self) -> Result<()> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(Error::TrailingBytes {
                what: self.what,
                count: self.bytes.len(),
            })
        }
    }
}
