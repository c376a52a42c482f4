//! The HTTP transport: one blocking GET with timeouts, proxy and User-Agent, its outcome
//! sorted into "answered", "may work on retry" and "cannot work", and the base URLs the KDS and
//! IMDS clients put in front of their paths. No retry here (see `retry`).

use std::time::Duration;

use crate::error::{Error, Result};

/// The User-Agent this crate sends: `snp-vtpm/<version>`.
pub const USER_AGENT: &str = concat!("snp-vtpm/", env!("CARGO_PKG_VERSION"));

/// Bodies larger than this are refused unless configured otherwise (a VCEK is about 1.3 KiB,
/// a chain about 4 KiB).
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1 << 20;

/// Where requests go through.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ProxyConfig {
    /// The first of `ALL_PROXY`, `all_proxy`, `HTTPS_PROXY`, `https_proxy`, `HTTP_PROXY`,
    /// `http_proxy` that is set, minus the hosts of `NO_PROXY`/`no_proxy`; read when the client
    /// is built. HTTP proxies are used through CONNECT tunnels.
    #[default]
    FromEnvironment,
    /// Connect directly.
    Disabled,
    /// This proxy (`http://host:port`, or `https://`; SOCKS URLs need ureq's `socks-proxy`
    /// feature, which this crate does not enable).
    Url(String),
}

/// Connection settings shared by the KDS and IMDS clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Longest time to set up a connection (DNS, TCP, TLS, proxy).
    pub connect_timeout: Duration,
    /// Longest time for one whole attempt, body included.
    pub timeout: Duration,
    /// Proxy choice.
    pub proxy: ProxyConfig,
    /// The User-Agent header ([`USER_AGENT`] by default).
    pub user_agent: String,
    /// Bodies larger than this are refused as malformed.
    pub max_body_bytes: u64,
    /// Redirects followed (KDS and IMDS send none; 0 refuses them).
    pub max_redirects: u32,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            proxy: ProxyConfig::FromEnvironment,
            user_agent: USER_AGENT.to_string(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_redirects: 3,
        }
    }
}

/// A complete answer (any status).
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
    /// The response headers (PCS sends issuer chains in them).
    pub headers: ureq::http::HeaderMap,
}

/// Why no complete answer came.
#[derive(Debug)]
pub(crate) enum TransportError {
    /// A timeout expired: worth retrying.
    Timeout(String),
    /// Connection refused, reset, DNS failure, broken framing: worth retrying.
    Connection(String),
    /// The body passed the size limit: the answer is malformed.
    TooLarge(u64),
    /// TLS, bad URL, bad proxy: retrying cannot help.
    Fatal(String),
}

/// A configured ureq agent.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    agent: ureq::Agent,
    max_body_bytes: u64,
}

impl Transport {
    pub(crate) fn new(config: &HttpConfig) -> Result<Self> {
        if config.timeout.is_zero() || config.connect_timeout.is_zero() {
            return Err(Error::invalid_config("timeouts must be longer than zero"));
        }
        let proxy = match &config.proxy {
            ProxyConfig::FromEnvironment => ureq::Proxy::try_from_env(),
            ProxyConfig::Disabled => None,
            ProxyConfig::Url(url) => Some(
                ureq::Proxy::new(url)
                    .map_err(|e| Error::invalid_config(format!("proxy URL \"{url}\": {e}")))?,
            ),
        };
        let agent_config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(config.connect_timeout))
            .timeout_global(Some(config.timeout))
            .user_agent(config.user_agent.as_str())
            .proxy(proxy)
            .max_redirects(config.max_redirects)
            .build();
        Ok(Self {
            agent: ureq::Agent::new_with_config(agent_config),
            max_body_bytes: config.max_body_bytes,
        })
    }

    /// One GET, or one POST of `body` when there is one. A 200 answer's body is read in full
    /// (up to the limit); other statuses' bodies are not read.
    pub(crate) fn send(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> std::result::Result<Answer, TransportError> {
        let sent = match body {
            None => {
                let mut request = self.agent.get(url);
                for (name, value) in headers {
                    request = request.header(*name, *value);
                }
                request.call()
            }
            Some(body) => {
                let mut request = self.agent.post(url);
                for (name, value) in headers {
                    request = request.header(*name, *value);
                }
                request.send(body)
            }
        };
        let mut response = sent.map_err(classify)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        let body = if status == 200 {
            response
                .body_mut()
                .with_config()
                .limit(self.max_body_bytes)
                .read_to_vec()
                .map_err(classify)?
        } else {
            Vec::new()
        };
        Ok(Answer {
            status,
            retry_after,
            body,
            headers: response.headers().clone(),
        })
    }
}

/// Checks and trims a base URL: `http://` or `https://`, a host, no query or fragment. Here,
/// not in a client, because the KDS and IMDS clients both take one.
pub(crate) fn normalise_base_url(url: &str) -> Result<String> {
    let trimmed = url.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| {
            Error::invalid_config(format!("base URL \"{url}\" is not http:// or https://"))
        })?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(Error::invalid_config(format!(
            "base URL \"{url}\" has no host"
        )));
    }
    if rest.contains(['?', '#']) {
        return Err(Error::invalid_config(format!(
            "base URL \"{url}\" must not have a query or fragment"
        )));
    }
    Ok(trimmed.to_string())
}

fn classify(error: ureq::Error) -> TransportError {
    match error {
        ureq::Error::Timeout(which) => TransportError::Timeout(format!("{which} timeout")),
        ureq::Error::BodyExceedsLimit(limit) => TransportError::TooLarge(limit),
        ureq::Error::Io(_)
        | ureq::Error::HostNotFound
        | ureq::Error::ConnectionFailed
        | ureq::Error::Protocol(_) => TransportError::Connection(error.to_string()),
        other => TransportError::Fatal(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            normalise_base_url("https://kdsintf.amd.com/").unwrap(),
            "https://kdsintf.amd.com"
        );
        assert_eq!(
            normalise_base_url("http://127.0.0.1:8080/prefix").unwrap(),
            "http://127.0.0.1:8080/prefix"
        );
        for bad in ["ftp://x", "https://", "kdsintf.amd.com", "http://x/?a=b"] {
            assert!(normalise_base_url(bad).is_err(), "{bad}");
        }
    }
}
