//! A bounds-checked little-endian cursor: the TCG event log and the UEFI structures inside it
//! are little-endian, unlike the TPM wire format of [`crate::reader`].

use core::fmt;

/// A read past the end of the input: what was being read, and how many bytes were needed and
/// left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Short {
    pub what: &'static str,
    pub needed: usize,
    pub left: usize,
}

impl fmt::Display for Short {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} needs {} bytes, {} left",
            self.what, self.needed, self.left
        )
    }
}

/// Reads little-endian values from a byte slice; every read can fail, none can panic.
#[derive(Debug, Clone)]
pub(crate) struct LeReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> LeReader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// Bytes consumed so far (the offset of the next read).
    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub(super) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub(super) fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], Short> {
        let short = Short {
            what,
            needed: len,
            left: self.remaining(),
        };
        let end = self.pos.checked_add(len).ok_or(short)?;
        let head = self.bytes.get(self.pos..end).ok_or(short)?;
        self.pos = end;
        Ok(head)
    }

    /// Everything not yet read.
    pub(super) fn rest(&mut self) -> &'a [u8] {
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        self.pos = self.bytes.len();
        rest
    }

    pub(super) fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Short> {
        let bytes = self.take(N, what)?;
        <[u8; N]>::try_from(bytes).map_err(|_| Short {
            what,
            needed: N,
            left: bytes.len(),
        })
    }

    pub(super) fn u8(&mut self, what: &'static str) -> Result<u8, Short> {
        Ok(u8::from_le_bytes(self.array(what)?))
    }

    pub(super) fn u16(&mut self, what: &'static str) -> Result<u16, Short> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    pub(super) fn u32(&mut self, what: &'static str) -> Result<u32, Short> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub(super) fn u64(&mut self, what: &'static str) -> Result<u64, Short> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A UINTN of `size` bytes (4 or 8).
    pub(super) fn uintn(&mut self, size: usize, what: &'static str) -> Result<u64, Short> {
        match size {
            4 => self.u32(what).map(u64::from),
            _ => self.u64(what),
        }
    }

    /// A length field of `width` bytes followed by that many bytes.
    pub(super) fn sized_u32(&mut self, what: &'static str) -> Result<&'a [u8], Short> {
        let len = self.u32(what)?;
        self.take(usize::try_from(len).unwrap_or(usize::MAX), what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_little_endian_and_never_past_the_end() {
        let mut r = LeReader::new(&[1, 0, 2, 0, 0, 0, 9]);
        assert_eq!(r.u16("a").unwrap(), 1);
        assert_eq!(r.u32("b").unwrap(), 2);
        assert_eq!(r.pos(), 6);
        let err = r.u16("c").unwrap_err();
        assert_eq!((err.needed, err.left), (2, 1));
        assert_eq!(r.take(usize::MAX, "d").unwrap_err().left, 1);
        assert_eq!(r.rest(), &[9]);
        assert!(r.is_empty());
    }
}
