//! Hex constants decoded at compile time: pins and digests are written as the hex people
//! compare them with, and a typo fails the build, never a verification.

/// Decodes exactly `2 * N` lower-case hex digits. Only ever evaluated in constants.
#[allow(clippy::panic, clippy::indexing_slicing)]
pub(crate) const fn decode<const N: usize>(text: &str) -> [u8; N] {
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
