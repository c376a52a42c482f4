//! The Azure IMDS THIM client: from inside an Azure confidential VM, the host's VCEK, its
//! chain and its TCB, in one JSON answer. Transport only: whether an answer is used, checked
//! and cached is the [`CertificateSource`](crate::CertificateSource)'s decision.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use hcl_parse::TcbVersion;

use crate::artifact::{CertChain, Certificate, malformed};
use base64::Engine as _;

use crate::error::{ArtifactKind, Error, Result, Service};
use crate::http::{HttpConfig, ProxyConfig, normalise_base_url};
use crate::observe::Observer;
use crate::request::{ChainKind, hex_lower};
use crate::retry::{Exchange, Fetcher, RetryPolicy};
use attest_prims::clock::Clock;

/// The link-local address of Azure's instance metadata service.
pub const IMDS_BASE_URL: &str = "http://169.254.169.254";
/// The THIM path of AMD collateral.
pub const IMDS_THIM_PATH: &str = "/metadata/THIM/amd/certification";
/// The path of the TD quoting service of Azure TDX confidential VMs: a TDREPORT in, a TD quote
/// (signed by the host's quoting enclave) out.
pub const IMDS_TD_QUOTE_PATH: &str = "/acc/tdquote";

/// Settings of an [`ImdsClient`].
#[derive(Debug, Clone, PartialEq)]
pub struct ImdsConfig {
    /// Scheme and host before [`IMDS_THIM_PATH`].
    pub base_url: String,
    /// Timeouts etc.; by default short (2 s connect, 10 s in all), no proxy, no redirects.
    pub http: HttpConfig,
    /// By default 3 attempts within 10 s: IMDS is local, and KDS remains as a fallback.
    pub retry: RetryPolicy,
}

impl Default for ImdsConfig {
    fn default() -> Self {
        Self {
            base_url: IMDS_BASE_URL.to_string(),
            http: HttpConfig {
                connect_timeout: Duration::from_secs(2),
                timeout: Duration::from_secs(10),
                // IMDS must be reached directly: a proxy cannot reach the link-local address.
                proxy: ProxyConfig::Disabled,
                max_redirects: 0,
                ..HttpConfig::default()
            },
            retry: RetryPolicy {
                max_attempts: 3,
                initial_backoff: Duration::from_millis(500),
                max_backoff: Duration::from_secs(4),
                jitter: 0.5,
                deadline: Duration::from_secs(10),
            },
        }
    }
}

/// Optional query parameters of the THIM request. Empty by default; only for THIM endpoints
/// that take them (the Azure IMDS answers for its own host without them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImdsQuery {
    /// `platformId`: the chip id, in hex.
    pub platform_id: Option<Vec<u8>>,
    /// `tcbVersion`: the TCB, as 16 upper-case hex digits.
    pub tcb_version: Option<TcbVersion>,
}

impl ImdsQuery {
    fn to_query_string(&self) -> String {
        let mut query = String::new();
        if let Some(platform_id) = &self.platform_id {
            let _ = write!(query, "platformId={}", hex_lower(platform_id));
        }
        if let Some(tcb) = self.tcb_version {
            if !query.is_empty() {
                query.push('&');
            }
            let _ = write!(query, "tcbVersion={tcb}");
        }
        query
    }
}

/// The THIM answer, checked: a VCEK, a VCEK chain and the TCB they are for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThimCertification {
    /// `vcekCert`: the host chip's VCEK at `tcbm`.
    pub vcek: Certificate,
    /// `certificateChain`: ASK then ARK.
    pub chain: CertChain,
    /// `tcbm`: the TCB of `vcek`.
    pub tcbm: TcbVersion,
    /// `cacheControl`, as sent.
    pub cache_control: Option<String>,
}

#[derive(serde::Deserialize)]
struct ThimJson {
    #[serde(rename = "vcekCert")]
    vcek_cert: String,
    #[serde(rename = "certificateChain")]
    certificate_chain: String,
    tcbm: String,
    #[serde(rename = "cacheControl", default)]
    cache_control: Option<StringOrNumber>,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum StringOrNumber {
    String(String),
    Number(serde_json::Number),
}

/// A client of the THIM endpoint of Azure IMDS. Its answers are well formed but not checked:
/// a [`CertificateSource`](crate::CertificateSource) runs its
/// [`ArtifactCheck`](crate::ArtifactCheck) on them; a caller of
/// [`ImdsClient::certification`] must check them itself.
#[derive(Clone)]
pub struct ImdsClient {
    base_url: String,
    fetcher: Fetcher,
}

impl std::fmt::Debug for ImdsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImdsClient")
            .field("base_url", &self.base_url)
            .field("retry", &self.fetcher.policy)
            .finish_non_exhaustive()
    }
}

impl ImdsClient {
    /// A client as `config` describes, on the system clock and silent.
    pub fn new(config: ImdsConfig) -> Result<Self> {
        Ok(Self {
            base_url: normalise_base_url(&config.base_url)?,
            fetcher: Fetcher::new(&config.http, config.retry)?,
        })
    }

    /// Uses `clock` for retry waits and deadlines.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.fetcher.clock = clock;
        self
    }

    /// Tells `observer` about every wait.
    #[must_use]
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.fetcher.observer = observer;
        self
    }

    /// The URL asked for `query`.
    pub fn url(&self, query: &ImdsQuery) -> String {
        let query = query.to_query_string();
        if query.is_empty() {
            format!("{}{IMDS_THIM_PATH}", self.base_url)
        } else {
            format!("{}{IMDS_THIM_PATH}?{query}", self.base_url)
        }
    }

    /// GETs the THIM certification with `Metadata: true` and checks every field.
    pub fn certification(&self, query: &ImdsQuery) -> Result<ThimCertification> {
        let url = self.url(query);
        let body = self.fetcher.get(&Exchange {
            service: Service::Imds,
            kind: ArtifactKind::ImdsCertification,
            url: &url,
            headers: &[("Metadata", "true")],
            body: None,
        })?;
        parse_thim(&body).map_err(|reason| malformed(ArtifactKind::ImdsCertification, &url, reason))
    }
}

impl ImdsClient {
    /// The URL of the TD quoting service.
    pub fn td_quote_url(&self) -> String {
        format!("{}{IMDS_TD_QUOTE_PATH}", self.base_url)
    }

    /// The TD quote of `td_report` (the 1024-byte TDREPORT of an Azure TDX CVM's HCL report):
    /// POSTs `{"report": "<base64url TDREPORT>"}` and reads `{"quote": "<base64url>"}`. The
    /// answer must be a TD quote that parses and whose body repeats every field of the
    /// TDREPORT (it is verified later, with Intel's collateral, by the verifier).
    pub fn td_quote(&self, td_report: &[u8]) -> Result<Vec<u8>> {
        let report = hcl_parse::TdReport::parse(td_report)
            .map_err(|e| Error::invalid_request(format!("TDREPORT: {e}")))?;
        if td_report.len() != hcl_parse::TDREPORT_SIZE {
            return Err(Error::invalid_request(format!(
                "a TDREPORT is {} bytes, found {}",
                hcl_parse::TDREPORT_SIZE,
                td_report.len()
            )));
        }
        let url = self.td_quote_url();
        let request = format!(
            "{{\"report\":\"{}\"}}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(td_report)
        );
        let body = self.fetcher.get(&Exchange {
            service: Service::Imds,
            kind: ArtifactKind::TdQuote,
            url: &url,
            headers: &[("Content-Type", "application/json")],
            body: Some(request.as_bytes()),
        })?;
        parse_td_quote(&body, &report)
            .map_err(|reason| malformed(ArtifactKind::TdQuote, &url, reason))
    }
}

/// `{"quote": "<base64url, padded or not>"}`, holding a TD quote for `report`.
fn parse_td_quote(
    body: &[u8],
    report: &hcl_parse::TdReport,
) -> std::result::Result<Vec<u8>, String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        quote: String,
    }
    let answer: Answer =
        serde_json::from_slice(body).map_err(|e| format!("not the quote JSON object: {e}"))?;
    let text = answer.quote.trim().trim_end_matches('=');
    let quote = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| format!("quote: not base64url: {e}"))?;
    let parsed = tdx_verify::TdQuote::parse(&quote).map_err(|e| format!("quote: {e}"))?;
    // The body follows the 48-byte header (and a 6-byte descriptor in version 5).
    let body_offset = if parsed.version == 5 { 54 } else { 48 };
    let expected = report.quote_body();
    let found = parsed
        .signed
        .get(body_offset..body_offset + expected.len())
        .unwrap_or_default();
    if found != expected.as_slice() {
        return Err(format!(
            "the quote is not of the TDREPORT sent: its report data is {}, expected {}{}",
            hex_lower(&parsed.body.report_data.0),
            hex_lower(&report.report_data.0),
            if parsed.body.report_data.0 == report.report_data.0 {
                " (and another field differs)"
            } else {
                ""
            }
        ));
    }
    Ok(quote)
}

fn parse_thim(body: &[u8]) -> std::result::Result<ThimCertification, String> {
    let json: ThimJson =
        serde_json::from_slice(body).map_err(|e| format!("not the THIM JSON object: {e}"))?;
    let vcek =
        Certificate::parse(json.vcek_cert.as_bytes()).map_err(|e| format!("vcekCert: {e}"))?;
    let chain = CertChain::parse(json.certificate_chain.as_bytes(), ChainKind::Vcek, None)
        .map_err(|e| format!("certificateChain: {e}"))?;
    let tcbm = parse_tcbm(&json.tcbm)?;
    let cache_control = json.cache_control.map(|value| match value {
        StringOrNumber::String(text) => text,
        StringOrNumber::Number(number) => number.to_string(),
    });
    Ok(ThimCertification {
        vcek,
        chain,
        tcbm,
        cache_control,
    })
}

/// `tcbm`: 16 hex digits, the TCB_VERSION as a big-endian u64.
fn parse_tcbm(text: &str) -> std::result::Result<TcbVersion, String> {
    if text.len() != 16 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("tcbm \"{text}\" is not 16 hex digits"));
    }
    let value = u64::from_str_radix(text, 16).map_err(|e| format!("tcbm \"{text}\": {e}"))?;
    Ok(TcbVersion(value.to_le_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcbm_is_the_big_endian_tcb() {
        let tcb = parse_tcbm("7300000000000003").unwrap();
        assert_eq!(tcb.0, [3, 0, 0, 0, 0, 0, 0, 0x73]);
        assert_eq!(tcb.to_string(), "7300000000000003");
        assert!(parse_tcbm("73000000000003").is_err());
        assert!(parse_tcbm("73000000000000GG").is_err());
    }

    #[test]
    fn query_string() {
        let query = ImdsQuery {
            platform_id: Some(vec![0xAB, 0x01]),
            tcb_version: Some(TcbVersion([3, 0, 0, 0, 0, 0, 8, 0x73])),
        };
        assert_eq!(
            query.to_query_string(),
            "platformId=ab01&tcbVersion=7308000000000003"
        );
        assert_eq!(ImdsQuery::default().to_query_string(), "");
    }
}
