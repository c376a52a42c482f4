//! PEM bundles: certificate files, chains KDS and IMDS send, the files amd-kds's cache writes.
//! Each block is decoded and encoded by `pem-rfc7468`; what is left here is what that crate
//! does not do: telling PEM from DER, and splitting a bundle of blocks (a CA chain) into
//! single documents.
//!
//! Lenient where the strict DER parse after it makes it irrelevant (explanatory text between
//! blocks, CR/LF, a line width other than 64), strict about the rest (matching BEGIN/END
//! labels, canonical base64, no unterminated or nested block, no END line outside a block).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use pem_rfc7468::{Decoder, LineEnding};

/// The label of an X.509 certificate.
pub const CERTIFICATE: &str = "CERTIFICATE";
/// The label of an X.509 CRL.
pub const CRL: &str = "X509 CRL";

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"-----END ";
const DASHES: &[u8] = b"-----";

/// One decoded PEM block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The label (`CERTIFICATE`, `X509 CRL`, ...).
    pub label: String,
    /// The decoded bytes.
    pub der: Vec<u8>,
}

/// True when `body` starts (after whitespace) like PEM text rather than DER.
pub fn looks_like_pem(body: &[u8]) -> bool {
    body.trim_ascii_start().starts_with(BEGIN)
}

/// Every PEM block of `text`, in order.
pub fn decode_all(text: &[u8]) -> Result<Vec<Block>, String> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = find(rest, BEGIN) {
        let number = blocks.len() + 1;
        let (between, from_begin) = rest
            .split_at_checked(start)
            .ok_or("PEM text ends inside a boundary")?;
        refuse_end_outside_a_block(between)?;
        let (block, tail) = block_len(from_begin)
            .and_then(|len| from_begin.split_at_checked(len))
            .ok_or_else(|| format!("PEM block {number} has no END line (truncated?)"))?;
        blocks.push(decode_block(block, number)?);
        rest = tail;
    }
    refuse_end_outside_a_block(rest)?;
    if blocks.is_empty() {
        return Err("no PEM block found".to_string());
    }
    Ok(blocks)
}

/// PEM text with 64-column base64 lines, LF line ends and a final newline.
pub fn encode(label: &'static str, der: &[u8]) -> String {
    // pem-rfc7468 fails only for an invalid label (ours are the constants above, tested below)
    // or a length that overflows usize (impossible for DER held in memory).
    pem_rfc7468::encode_string(label, LineEnding::LF, der).unwrap_or_default()
}

/// The length of the block `text` starts with (from its BEGIN line to the dashes closing its
/// END line), or `None` when it has no END line of its own (truncated, or another block
/// begins first).
fn block_len(text: &[u8]) -> Option<usize> {
    let body = text.get(BEGIN.len()..)?;
    let end = find(body, END)?;
    if find(body.get(..end)?, BEGIN).is_some() {
        return None;
    }
    let after_end = end.checked_add(END.len())?;
    let close = find(body.get(after_end..)?, DASHES)?;
    BEGIN
        .len()
        .checked_add(after_end)?
        .checked_add(close)?
        .checked_add(DASHES.len())
}

/// Decodes one block; the line width is taken from its first line.
fn decode_block(block: &[u8], number: usize) -> Result<Block, String> {
    let mut decoder =
        Decoder::new_detect_wrap(block).map_err(|e| format!("PEM block {number}: {e}"))?;
    let label = decoder.type_label().to_string();
    let mut der = Vec::new();
    decoder
        .decode_to_end(&mut der)
        .map_err(|e| format!("PEM block {number} ({label}): {e}"))?;
    Ok(Block { label, der })
}

fn refuse_end_outside_a_block(text: &[u8]) -> Result<(), String> {
    match find(text, END) {
        Some(_) => Err("an END line outside a PEM block".to_string()),
        None => Ok(()),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn der(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn a_bundle_round_trips_with_crlf_and_text_between_blocks() {
        let (a, b, c) = (der(1300), der(10), der(64));
        let text = format!(
            "leading text\n{}between\n\n{}{}trailing text\n",
            encode(CERTIFICATE, &a),
            encode(CERTIFICATE, &b),
            encode(CRL, &c)
        );
        for text in [text.clone(), text.replace('\n', "\r\n")] {
            let blocks = decode_all(text.as_bytes()).unwrap();
            let found: Vec<(&str, &[u8])> = blocks
                .iter()
                .map(|block| (block.label.as_str(), block.der.as_slice()))
                .collect();
            assert_eq!(
                found,
                [(CERTIFICATE, &a[..]), (CERTIFICATE, &b[..]), (CRL, &c[..])]
            );
        }
        assert!(looks_like_pem(b"\n  -----BEGIN X-----"));
        assert!(!looks_like_pem(&[0x30, 0x82]));
    }

    #[test]
    fn encoding_is_64_columns_with_lf() {
        let text = encode(CRL, &der(100));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.first(), Some(&"-----BEGIN X509 CRL-----"));
        assert_eq!(lines.last(), Some(&"-----END X509 CRL-----"));
        assert_eq!(lines[1].len(), 64);
        assert!(text.ends_with("-----\n") && !text.contains('\r'));
        assert!(!encode(CERTIFICATE, &der(1)).is_empty());
    }

    #[test]
    fn another_line_width_is_accepted() {
        use base64::Engine as _;
        let data = der(200);
        let base64 = base64::engine::general_purpose::STANDARD.encode(&data);
        let lines: Vec<&str> = base64
            .as_bytes()
            .chunks(76)
            .map(|line| std::str::from_utf8(line).unwrap())
            .collect();
        let text = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        );
        assert_eq!(decode_all(text.as_bytes()).unwrap()[0].der, data);
    }

    #[test]
    fn refuses_truncated_nested_mismatched_stray_and_empty() {
        let one = encode(CERTIFICATE, b"abc");
        let cut = &one[..one.find("-----END").unwrap()];
        assert!(decode_all(cut.as_bytes()).unwrap_err().contains("no END"));
        let nested = format!("{cut}{one}");
        assert!(
            decode_all(nested.as_bytes())
                .unwrap_err()
                .contains("PEM block 1 has no END")
        );
        let second_cut = format!("{one}{cut}");
        assert!(
            decode_all(second_cut.as_bytes())
                .unwrap_err()
                .contains("PEM block 2 has no END")
        );
        let swapped = one.replace("END CERTIFICATE", "END X509 CRL");
        assert!(decode_all(swapped.as_bytes()).is_err());
        let stray = format!("-----END CERTIFICATE-----\n{one}");
        assert!(
            decode_all(stray.as_bytes())
                .unwrap_err()
                .contains("outside a PEM block")
        );
        assert!(decode_all(b"hello").unwrap_err().contains("no PEM block"));
        let bad = one.replace("YWJj", "YW!j");
        assert!(decode_all(bad.as_bytes()).is_err());
        let header = one.replace("YWJj", "Proc-Type: 4,ENCRYPTED\n\nYWJj");
        assert!(decode_all(header.as_bytes()).is_err());
    }

    #[test]
    fn malformed_text_is_an_error_never_a_panic() {
        let bundle = encode(CERTIFICATE, &der(300)) + &encode(CERTIFICATE, &der(90));
        let bytes = bundle.as_bytes();
        for len in 0..bytes.len() {
            let _ = decode_all(&bytes[..len]);
        }
        for index in 0..bytes.len() {
            for replacement in [b'-', b'\n', b'\r', b'=', b' ', 0, 0xFF] {
                let mut mutated = bytes.to_vec();
                mutated[index] = replacement;
                let _ = decode_all(&mutated);
            }
        }
    }
}
