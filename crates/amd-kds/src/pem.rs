//! PEM (RFC 7468) decoding and encoding for the bodies KDS and IMDS send.
//!
//! Decoding is lenient about what the strict DER parse after it makes irrelevant (line width,
//! CR/LF, explanatory text between blocks) and strict about the rest (matching BEGIN/END
//! labels, canonical base64, no unterminated block).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// One decoded PEM block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Block {
    pub label: String,
    pub der: Vec<u8>,
}

/// True when `body` starts (after whitespace) like PEM text rather than DER.
pub(crate) fn looks_like_pem(body: &[u8]) -> bool {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    body.get(start..)
        .is_some_and(|rest| rest.starts_with(b"-----BEGIN "))
}

/// Every PEM block of `text`, in order.
pub(crate) fn decode_all(text: &[u8]) -> Result<Vec<Block>, String> {
    let text = std::str::from_utf8(text).map_err(|e| format!("PEM text is not UTF-8: {e}"))?;
    let mut blocks = Vec::new();
    let mut open: Option<(&str, String)> = None;
    for (index, raw_line) in text.lines().enumerate() {
        let line = raw_line.trim();
        let number = index + 1;
        match open.take() {
            None => {
                if let Some(label) = boundary(line, "BEGIN") {
                    open = Some((label, String::new()));
                } else if line.starts_with("-----") {
                    return Err(format!("line {number}: unexpected PEM boundary \"{line}\""));
                }
            }
            Some((label, mut base64)) => {
                if let Some(end) = boundary(line, "END") {
                    if end != label {
                        return Err(format!(
                            "line {number}: \"-----END {end}-----\" closes \"-----BEGIN {label}-----\""
                        ));
                    }
                    let der = STANDARD
                        .decode(base64.as_bytes())
                        .map_err(|e| format!("PEM block {label} ending at line {number}: {e}"))?;
                    blocks.push(Block {
                        label: label.to_string(),
                        der,
                    });
                } else if line.starts_with("-----") {
                    return Err(format!(
                        "line {number}: \"{line}\" inside the PEM block {label}"
                    ));
                } else {
                    base64.extend(line.chars().filter(|c| !c.is_ascii_whitespace()));
                    open = Some((label, base64));
                }
            }
        }
    }
    if let Some((label, _)) = open {
        return Err(format!("PEM block {label} has no END line (truncated?)"));
    }
    if blocks.is_empty() {
        return Err("no PEM block found".to_string());
    }
    Ok(blocks)
}

fn boundary<'a>(line: &'a str, which: &str) -> Option<&'a str> {
    line.strip_prefix("-----")?
        .strip_prefix(which)?
        .strip_prefix(' ')?
        .strip_suffix("-----")
}

/// PEM text with 64-column base64 lines and a final newline.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let base64 = STANDARD.encode(der);
    let mut out = String::with_capacity(base64.len() + base64.len() / 64 + 64);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    let mut rest = base64.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_crlf() {
        let der: Vec<u8> = (0..=255).collect();
        let text = encode("CERTIFICATE", &der) + &encode("CERTIFICATE", &der[..10]);
        let blocks = decode_all(text.replace('\n', "\r\n").as_bytes()).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].der, der);
        assert_eq!(blocks[1].der, &der[..10]);
        assert!(looks_like_pem(b"\n  -----BEGIN X-----"));
        assert!(!looks_like_pem(&[0x30, 0x82]));
    }

    #[test]
    fn refuses_truncated_mismatched_and_empty() {
        let text = encode("CERTIFICATE", b"abc");
        let cut = &text[..text.find("-----END").unwrap()];
        assert!(decode_all(cut.as_bytes()).unwrap_err().contains("no END"));
        let half_end = &text[..text.len() - 10];
        assert!(
            decode_all(half_end.as_bytes())
                .unwrap_err()
                .contains("inside")
        );
        let swapped = text.replace("END CERTIFICATE", "END X509 CRL");
        assert!(
            decode_all(swapped.as_bytes())
                .unwrap_err()
                .contains("closes")
        );
        assert!(decode_all(b"hello").unwrap_err().contains("no PEM block"));
        let bad = text.replace("YWJj", "YW!j");
        assert!(decode_all(bad.as_bytes()).is_err());
    }
}
