//! Hex display for byte values in errors and verdicts.

use core::fmt;

/// A fixed-size byte value shown as lower-case hex (in `Display`, `Debug` and JSON).
///
/// Errors carry the compared values by value, so they stay meaningful after the input is gone.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hex<const N: usize>(pub [u8; N]);

impl<const N: usize> Hex<N> {
    /// The bytes.
    pub const fn as_bytes(&self) -> &[u8; N] {
        &self.0
    }
}

impl<const N: usize> From<[u8; N]> for Hex<N> {
    fn from(bytes: [u8; N]) -> Self {
        Self(bytes)
    }
}

impl<const N: usize> fmt::Display for Hex<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        HexSlice(&self.0).fmt(f)
    }
}

impl<const N: usize> fmt::Debug for Hex<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        HexSlice(&self.0).fmt(f)
    }
}

impl<const N: usize> serde::Serialize for Hex<N> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de, const N: usize> serde::Deserialize<'de> for Hex<N> {
    /// From exactly `2 * N` hex digits, either case (policy files, verdicts).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = alloc::borrow::Cow::<str>::deserialize(deserializer)?;
        let mut bytes = [0u8; N];
        hex::decode_to_slice(text.as_bytes(), &mut bytes).map_err(|_| {
            serde::de::Error::custom(alloc::format!(
                "expected {} hex digits, found \"{text}\"",
                2 * N
            ))
        })?;
        Ok(Self(bytes))
    }
}

/// A borrowed byte slice shown as lower-case hex.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HexSlice<'a>(pub &'a [u8]);

impl fmt::Display for HexSlice<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for HexSlice<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl serde::Serialize for HexSlice<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Owned bytes of any length shown as lower-case hex (nonces, PCR values in verdicts).
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct HexBytes(pub alloc::vec::Vec<u8>);

impl fmt::Display for HexBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        HexSlice(&self.0).fmt(f)
    }
}

impl fmt::Debug for HexBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        HexSlice(&self.0).fmt(f)
    }
}

impl serde::Serialize for HexBytes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for HexBytes {
    /// From an even number of hex digits, either case.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = alloc::borrow::Cow::<str>::deserialize(deserializer)?;
        hex::decode(text.as_bytes()).map(Self).map_err(|_| {
            serde::de::Error::custom(alloc::format!("expected hex digits, found \"{text}\""))
        })
    }
}

/// Decodes exactly `2 * N` lower-case hex digits at compile time: pins and digests are written
/// as the hex people compare them with, and a typo fails the build, never a verification.
/// Meant for constants only (it panics on bad input, which in a constant is a build error).
#[allow(clippy::panic, clippy::indexing_slicing)]
pub const fn hex_array<const N: usize>(text: &str) -> [u8; N] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("hex constants must be lower-case hex digits"),
        }
    }
    assert!(text.len() == 2 * N, "a hex constant has the wrong length");
    let bytes = text.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = nibble(bytes[2 * i]) << 4 | nibble(bytes[2 * i + 1]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn shows_lower_case_hex() {
        assert_eq!(format!("{}", Hex([0x48, 0x43, 0x4c, 0xff])), "48434cff");
        assert_eq!(format!("{:?}", HexSlice(&[0x00, 0x0a])), "000a");
    }
}
