//! Reading input files: size-limited before parsing, with clear errors.

use std::io::Read;
use std::path::Path;

use snp_vtpm::snp_verify::UnixTime;
use snp_vtpm::{DEFAULT_SIZE_LIMIT, Error};

/// Reads a file (or stdin for `-`), refusing more than the size limit.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, Error> {
    let cannot = |e: std::io::Error| Error::input(format!("cannot read {}: {e}", path.display()));
    let mut bytes = Vec::new();
    let limit = DEFAULT_SIZE_LIMIT as u64 + 1;
    if path == Path::new("-") {
        std::io::stdin()
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(cannot)?;
    } else {
        std::fs::File::open(path)
            .map_err(cannot)?
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(cannot)?;
    }
    if bytes.len() > DEFAULT_SIZE_LIMIT {
        return Err(Error::input(format!(
            "{} is over the {DEFAULT_SIZE_LIMIT}-byte input limit",
            path.display()
        )));
    }
    Ok(bytes)
}

/// A raw 1184-byte SNP report from binary or hex text.
pub(crate) fn raw_report(bytes: Vec<u8>) -> Result<Vec<u8>, Error> {
    Ok(snp_vtpm::decode::raw_snp_report(&bytes)?.into_owned())
}

/// Hex given to `flag`: surrounding spaces and a `0x` prefix allowed.
pub(crate) fn hex_bytes(text: &str, flag: &str) -> Result<Vec<u8>, Error> {
    let text = text.trim();
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    hex::decode(digits).map_err(|e| Error::input(format!("{flag}: {e}")))
}

/// Parses an RFC 3339 UTC time (`2025-06-01T00:00:00Z`) into Unix seconds.
pub(crate) fn rfc3339(text: &str) -> Result<u64, Error> {
    UnixTime::parse_rfc3339(text)
        .map(UnixTime::as_secs)
        .map_err(|why| {
            Error::input(format!(
                "--at: expected an RFC 3339 UTC time like 2025-06-01T00:00:00Z, found {text:?}: {why}"
            ))
        })
}

/// Now, from the system clock (the library never reads a clock; the tool does, here).
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// PCR indices as a command line gives them (`0-7,14`), sorted and without repeats.
pub(crate) fn pcr_list(text: &str, flag: &str) -> Result<Vec<u8>, Error> {
    let bad = || {
        Error::input(format!(
            "{flag}: expected indices like 0-7,14, found {text}"
        ))
    };
    let mut indices = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (from, to) = part.split_once('-').unwrap_or((part, part));
        let (from, to): (u8, u8) = (
            from.trim().parse().map_err(|_| bad())?,
            to.trim().parse().map_err(|_| bad())?,
        );
        if from > to || to > 23 {
            return Err(bad());
        }
        indices.extend(from..=to);
    }
    indices.sort_unstable();
    indices.dedup();
    if indices.is_empty() {
        return Err(bad());
    }
    Ok(indices)
}

/// A CRL file as `flag` names it: DER, or PEM (`X509 CRL`), checked to be one.
pub(crate) fn crl(path: &Path, flag: &str) -> Result<Vec<u8>, Error> {
    let bytes = read(path)?;
    crl_of(&bytes, path, flag).map_err(|e| wrong_file(e, &bytes, flag))
}

fn crl_of(bytes: &[u8], path: &Path, flag: &str) -> Result<Vec<u8>, Error> {
    snp_vtpm::certs::crl_der(bytes)
        .map_err(|e| Error::input(format!("{flag} {}: {}", path.display(), e.message())))
}

/// `error` from reading a file given as `flag`; when the file's content says what it is,
/// the hint names the flag or command it belongs to.
pub(crate) fn wrong_file(error: Error, bytes: &[u8], flag: &str) -> Error {
    if let Some(what) = recognise(bytes) {
        crate::output::set_context_hint(format!("the file given as {flag} looks like {what}"));
    }
    error
}

/// What a file is, by its content, and where it goes; `None` when nothing is recognised.
pub(crate) fn recognise(bytes: &[u8]) -> Option<&'static str> {
    use der::Decode;
    if bytes.starts_with(b"HCLA") {
        return Some(
            "an HCL report: give it with verify --hcl-report (and the quote with --quote), or read it with `snp-vtpm show`",
        );
    }
    // 1184 bytes, or their hex text.
    if snp_vtpm::decode::raw_snp_report(bytes).is_ok() {
        return Some("a raw SNP report: verify it with `snp-vtpm verify-report --report`");
    }
    if bytes.starts_with(&[0xFF, 0x54, 0x43, 0x47]) {
        return Some("a TPM quote message (TPMS_ATTEST): give it with --quote-msg");
    }
    if snp_vtpm::decode::is_td_quote(bytes) {
        return Some(
            "a TD quote: verify it with `snp-vtpm verify-report --report FILE --collateral ...`",
        );
    }
    let text = String::from_utf8_lossy(bytes.get(..bytes.len().min(1 << 20))?);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with('{') {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        let has = |key: &str| value.get(key).is_some();
        return if has("hcl_report") || has("tpm_quote") || has("report") && has("quote") {
            Some("evidence: give it as EVIDENCE, verify's first argument")
        } else if has("signature") && has("message") && has("pcrs") {
            Some("a quote file: give it with verify --quote")
        } else if has("tcb_info") || has("qe_identity") || has("pck_crl") {
            Some("TDX collateral: give it with --collateral")
        } else if has("entries") && has("format") {
            Some("a firmware catalog: give it with --firmware-catalog")
        } else if has("keys") {
            Some("a JWKS: give it to `snp-vtpm verify-token --jwks`")
        } else {
            None
        };
    }
    if text.starts_with("-----BEGIN X509 CRL") {
        return Some("a CRL: give it with --crl");
    }
    if text.starts_with("-----BEGIN PUBLIC KEY") {
        return Some("a public key, not a certificate");
    }
    let crl: Result<x509_cert::crl::CertificateList, _> =
        x509_cert::crl::CertificateList::from_der(bytes);
    if crl.is_ok() {
        return Some("a CRL: give it with --crl");
    }
    let certificates = snp_vtpm::certs::certificates(bytes).ok()?;
    let leaves = snp_vtpm::certs::sort(certificates.iter().cloned()).leaves;
    if !leaves.is_empty() && leaves.len() == certificates.len() {
        return Some("a VCEK or VLEK: give it with --vcek");
    }
    if leaves.is_empty() {
        return Some("CA certificates (ASK, ASVK, ARK): give them with --chain");
    }
    Some("certificates (a VCEK or VLEK with its chain): give them with --vcek or --chain")
}

#[cfg(test)]
mod tests {
    #[test]
    fn at_is_rfc3339_and_a_bad_one_is_an_input_error() {
        assert_eq!(
            super::rfc3339("2025-06-01T00:00:00Z").unwrap(),
            1_748_736_000
        );
        let err = super::rfc3339("2025-02-29T00:00:00Z").unwrap_err();
        assert_eq!(err.kind(), snp_vtpm::ErrorKind::Input);
        assert!(
            err.to_string()
                .contains("--at: expected an RFC 3339 UTC time")
        );
        assert!(err.to_string().contains("no such day in that month"));
    }

    /// A CRL as DER or PEM reads as the same DER; anything else is an input error naming the
    /// flag and the file.
    #[test]
    fn a_crl_file_is_der_or_pem() {
        use snp_vtpm::attest_prims::pem;
        let der = snp_vtpm_testkit::pki::TestPki::shared().crl(
            hcl_parse::Generation::Milan,
            &snp_vtpm_testkit::pki::CrlSpec::new(1_700_000_000, 1_800_000_000),
        );
        let dir = std::env::temp_dir().join(format!("snp-vtpm-crl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        let as_der = write("crl.der", &der);
        let as_pem = write("crl.pem", pem::encode(pem::CRL, &der).as_bytes());
        assert_eq!(super::crl(&as_der, "--crl").unwrap(), der);
        assert_eq!(super::crl(&as_pem, "--crl").unwrap(), der);
        for (name, bytes) in [
            ("empty.crl", &b""[..]),
            ("cert.pem", pem::encode(pem::CERTIFICATE, &der).as_bytes()),
            ("short.crl", &der[..der.len() - 1]),
        ] {
            let error = super::crl(&write(name, bytes), "--crl").unwrap_err();
            assert_eq!(error.kind(), snp_vtpm::ErrorKind::Input);
            assert!(
                error
                    .to_string()
                    .contains(&format!("--crl {}", dir.join(name).display())),
                "{error}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
