//! The service: its state (verifiers, certificate source, signing keys, nonce store, metrics),
//! the verification of one request, and the HTTP routes.
//!
//! | route | answer |
//! |---|---|
//! | `POST /challenge` | `{"nonce": "<hex>", "expires_at": <unix seconds>}`: 32 random bytes, single use |
//! | `POST /attest` | evidence JSON; 200 `{"token", "verdict"}`, 400 malformed, 403 refused (with the failure), 413 over 2 MiB, 503 (with Retry-After) when certificates or the nonce store are unavailable |
//! | `GET /.well-known/jwks.json` | the public signing keys |
//! | `GET /metrics` | Prometheus text |
//! | `GET /healthz`, `GET /readyz` | alive; ready (the nonce store answers) |
//! | `GET /`, `GET /{file}` | with `--web DIR`: the verification page (see [`crate::site`]) |

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ear_token::{Algorithm, Jwks, SigningKey};
use serde_json::{Value, json};
use snp_vtpm::amd_kds::CertificateSource;
use snp_vtpm::fetch::FetchOptions;
use snp_vtpm::snp_verify::UnixTime;
use snp_vtpm::tdx_verify::IntelRoots;
use snp_vtpm::vtpm_akcert::VtpmAnchors;
use snp_vtpm::vtpm_quote::QuoteAttest;
use snp_vtpm::{
    CacheLimits, CacheMode, ErrorKind, Evidence, EvidencePolicy, ExpectedNonce, FirmwareCatalog,
    VerificationCache, Verifier, VerifyOptions,
};
use tower::ServiceExt as _;

use crate::config::{Config, NonceStoreConfig};
use crate::metrics::Metrics;
use crate::nonce::NonceStore;
use crate::result::{Trustworthiness, ear_claims};
use crate::site::Site;

/// The largest evidence accepted (larger bodies are 413).
pub const MAX_BODY: usize = 2 * 1024 * 1024;
/// Bytes of a nonce.
pub const NONCE_LEN: usize = 32;
/// What a 503 asks the client to wait, in seconds.
const RETRY_AFTER_SECONDS: u64 = 5;

/// One platform's appraisal: its verifier and the id of its policy.
struct Appraiser {
    verifier: Verifier,
    policy_id: String,
    boot_pinned: bool,
}

/// Everything a request needs.
pub struct AppState {
    snp: Appraiser,
    tdx: Appraiser,
    source: CertificateSource,
    fetch_crl: bool,
    keys: Vec<SigningKey>,
    nonces: NonceStore,
    nonce_ttl: Duration,
    token_ttl: Duration,
    /// Permits for verifications running at once (the blocking threads they use are bounded
    /// by it; a full house is 503, not a queue).
    verifications: Arc<tokio::sync::Semaphore>,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
    /// The verification page, when `--web` names it.
    site: Option<Site>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("keys", &self.keys)
            .field("nonces", &self.nonces)
            .finish_non_exhaustive()
    }
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{what} {}: {e}", path.display()))
}

/// A policy from a TOML or JSON file over `preset`, or the preset itself; its id is the preset
/// name or the SHA-256 of the file.
fn policy(path: Option<&Path>, preset: &str) -> Result<(EvidencePolicy, String), String> {
    let Some(path) = path else {
        let policy = EvidencePolicy::preset(preset).ok_or(format!("no preset {preset}"))?;
        return Ok((policy, format!("snp-vtpm:preset/{preset}")));
    };
    let bytes = read(path, "policy")?;
    let policy = EvidencePolicy::from_text(&bytes, preset, &format!("policy {}", path.display()))
        .map_err(|e| e.to_string())?;
    let digest = snp_vtpm::attest_prims::HexSlice(&sha256(&bytes)).to_string();
    Ok((policy, format!("snp-vtpm:policy/sha256:{digest}")))
}

/// The built-in firmware catalog, or it with a local file applied; with the suffix that policy
/// ids then carry (the file's SHA-256), so results say which firmware list decided.
fn firmware_catalog(path: Option<&Path>) -> Result<(Arc<FirmwareCatalog>, String), String> {
    let builtin = FirmwareCatalog::builtin();
    let Some(path) = path else {
        return Ok((builtin, String::new()));
    };
    let bytes = read(path, "firmware catalog")?;
    let origin = format!("firmware catalog {}", path.display());
    let catalog = builtin
        .with_file(&bytes, &origin)
        .map_err(|e| e.to_string())?;
    let digest = snp_vtpm::attest_prims::HexSlice(&sha256(&bytes)).to_string();
    Ok((
        Arc::new(catalog),
        format!("+firmware-catalog/sha256:{digest}"),
    ))
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// The one certificate of a PEM file (a test root).
fn one_certificate(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    let certificates =
        snp_vtpm::certs::certificates(&read(path, what)?).map_err(|e| format!("{what}: {e}"))?;
    match <[Vec<u8>; 1]>::try_from(certificates) {
        Ok([der]) => Ok(der),
        Err(found) => Err(format!(
            "{what} {}: expected one certificate, found {}",
            path.display(),
            found.len()
        )),
    }
}

impl AppState {
    /// The state `config` describes (keys read or generated, verifiers built, the nonce store
    /// connected).
    pub async fn new(config: &Config) -> Result<Self, String> {
        let mut fetch = FetchOptions {
            kds_url: config.kds_url.clone(),
            pcs_urls: config.pcs_urls.clone(),
            root_ca_crl_url: config.root_ca_crl_url.clone(),
            cache_dir: config.cache_dir.clone(),
            offline: config.offline,
            no_cache: config.no_cache,
            ..FetchOptions::default()
        };
        let anchors = match &config.trust_test_amd_roots {
            Some(path) => {
                let anchors = snp_vtpm::fetch::anchors_from_pem(&read(path, "test AMD roots")?)
                    .map_err(|e| e.to_string())?;
                fetch.anchors = Some(anchors.clone());
                Some(anchors)
            }
            None => None,
        };
        let intel_roots = match &config.trust_test_intel_root {
            Some(path) => IntelRoots::test_root(&one_certificate(path, "test Intel root")?),
            None => IntelRoots::intel(),
        };
        fetch.intel_roots = Some(intel_roots.clone());
        let vtpm = match &config.trust_test_vtpm_root {
            Some(path) => Some(VtpmAnchors::test_root(&one_certificate(
                path,
                "test vTPM root",
            )?)),
            None => None,
        };
        fetch.vtpm_anchors = vtpm.clone();
        let source = fetch.source().map_err(|e| e.to_string())?;

        let (catalog, catalog_id) = firmware_catalog(config.firmware_catalog.as_deref())?;
        let appraiser = |path: Option<&Path>, preset: &str| -> Result<Appraiser, String> {
            let (policy, mut policy_id) = policy(path, preset)?;
            policy_id.push_str(&catalog_id);
            let boot_pinned = !policy.pcrs.expected.is_empty()
                || !policy.event_log.allowed_kernel_cmdlines.is_empty()
                || !policy.event_log.allowed_boot_images.is_empty();
            let mut verifier = match &anchors {
                Some(anchors) => Verifier::with_anchors(anchors.clone(), policy),
                None => Verifier::new(policy),
            }
            .with_intel_roots(intel_roots.clone())
            .with_firmware_catalog(catalog.clone())
            .with_cache(Arc::new(VerificationCache::new(
                CacheMode::ChainAndLeaf,
                CacheLimits::default(),
            )));
            if let Some(vtpm) = &vtpm {
                verifier = verifier.with_vtpm_anchors(vtpm.clone());
            }
            Ok(Appraiser {
                verifier,
                policy_id,
                boot_pinned,
            })
        };
        let mut snp = appraiser(config.policy.as_deref(), "azure-cvm")?;
        let mut tdx = appraiser(config.tdx_policy.as_deref(), "azure-tdx")?;
        for (appraiser, expected, option) in [
            (&snp, snp_vtpm::Platform::Snp, "--policy"),
            (&tdx, snp_vtpm::Platform::Tdx, "--tdx-policy"),
        ] {
            let found = appraiser.verifier.policy().platform;
            if found != expected {
                return Err(format!(
                    "{option}: expected a policy for {expected:?} evidence, found one for {found:?}"
                ));
            }
        }
        let test_roots = [
            ("AMD", config.trust_test_amd_roots.is_some()),
            ("Intel", config.trust_test_intel_root.is_some()),
            ("vTPM", config.trust_test_vtpm_root.is_some()),
        ]
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(name, _)| name)
        .collect::<Vec<_>>();
        if !test_roots.is_empty() {
            eprintln!(
                "snp-vtpm-server: WARNING: trusting TEST roots instead of the pinned {} roots: \
                 results prove nothing about real hardware; their policy ids end in +test-roots",
                test_roots.join(", ")
            );
            for appraiser in [&mut snp, &mut tdx] {
                appraiser.policy_id.push_str("+test-roots");
            }
        }

        let mut keys = Vec::new();
        for path in &config.signing_keys {
            warn_if_readable_by_others(path);
            let pem = String::from_utf8(read(path, "signing key")?)
                .map_err(|_| format!("signing key {}: not PEM text", path.display()))?;
            keys.push(
                SigningKey::from_pem(&pem)
                    .map_err(|e| format!("signing key {}: {e}", path.display()))?,
            );
        }
        if keys.is_empty() {
            eprintln!(
                "snp-vtpm-server: warning: no --signing-key: signing with a key generated now. It \
                 suits one instance only: tokens do not verify after a restart, nor against other \
                 instances' JWKS. Give every instance the same key files."
            );
            keys.push(SigningKey::generate(Algorithm::Es256).map_err(|e| e.to_string())?);
        }
        let site = match &config.web {
            Some(dir) => {
                let (site, skipped) = Site::load(dir)?;
                let (files, plain, sent) = site.size();
                eprintln!(
                    "snp-vtpm-server: the verification page at / from {}: {files} files, \
                     {plain} bytes ({sent} sent gzipped)",
                    dir.display()
                );
                for entry in &skipped.listed {
                    eprintln!("snp-vtpm-server: --web: not served: {entry}");
                }
                if skipped.more > 0 {
                    eprintln!(
                        "snp-vtpm-server: --web: and {} more not served",
                        skipped.more
                    );
                }
                Some(site)
            }
            None => None,
        };
        let nonces = match &config.nonce_store {
            NonceStoreConfig::Memory => NonceStore::memory(),
            NonceStoreConfig::Redis(url) => NonceStore::redis(url)?,
        };
        Ok(Self {
            snp,
            tdx,
            source,
            fetch_crl: config.fetch_crl,
            keys,
            nonces,
            nonce_ttl: config.nonce_ttl,
            token_ttl: config.token_ttl,
            verifications: Arc::new(tokio::sync::Semaphore::new(config.max_verifications)),
            metrics: Metrics::default(),
            site,
        })
    }

    /// The public keys, every one of them (the last one signs).
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self.keys.iter().map(SigningKey::public_jwk).collect(),
        }
    }
}

/// Warns when a signing key file can be read by other users than its owner (whoever reads it
/// can issue results in this service's name).
fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(metadata) = std::fs::metadata(path)
            && metadata.permissions().mode() & 0o077 != 0
        {
            eprintln!(
                "snp-vtpm-server: warning: signing key {} can be read by other users (mode {:o}): \
                 whoever reads it can issue attestation results; chmod 600 it",
                path.display(),
                metadata.permissions().mode() & 0o777
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Every route of the service's interface, as (method, path): docs/server-openapi.json
/// documents exactly these and [`PAGE_ROUTES`] (a test checks it).
pub const ROUTES: [(&str, &str); 6] = [
    ("post", "/challenge"),
    ("post", "/attest"),
    ("get", "/.well-known/jwks.json"),
    ("get", "/metrics"),
    ("get", "/healthz"),
    ("get", "/readyz"),
];

/// The verification page's routes, served with `--web DIR` only: `/` is its `index.html`,
/// `/{file}` any other file of the folder (`app.js`, `pkg/snp_vtpm_bg.wasm`).
pub const PAGE_ROUTES: [(&str, &str); 2] = [("get", "/"), ("get", "/{file}")];

/// The routes on `state` (see [`ROUTES`]).
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/challenge", post(challenge))
        .route("/attest", post(attest))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(page_or_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::map_response(no_sniffing))
        .with_state(state)
}

/// The longest a client may take to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection is kept alive: answers after it carry `Connection: close` (a slow
/// client cannot hold its slot much longer).
pub const CONNECTION_DEADLINE: Duration = Duration::from_secs(30);
/// After the deadline, how long a request in progress may take before the connection is shut
/// down, and then how long before it is dropped (its body is bounded by [`BODY_READ_TIMEOUT`]).
pub const CONNECTION_GRACE: Duration = Duration::from_secs(15);
/// Connections served at once; further ones are closed as they arrive.
pub const MAX_CONNECTIONS: usize = 1024;

/// Builds the state and serves until Ctrl-C or SIGTERM; prints the address it listens on.
/// Each connection must send its headers within [`HEADER_READ_TIMEOUT`], is closed after its
/// first answer past [`CONNECTION_DEADLINE`], shut down if still open [`CONNECTION_GRACE`]
/// later and dropped after one more grace; at most [`MAX_CONNECTIONS`] are open at once.
pub async fn serve(config: Config) -> Result<(), String> {
    let state = Arc::new(AppState::new(&config).await?);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let address: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;

    eprintln!(
        "snp-vtpm-server: listening on http://{address} (nonce store: {}, signing key {})",
        state.nonces.kind(),
        state.keys.last().map(SigningKey::kid).unwrap_or_default()
    );
    let app = router(state);
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let stop = shutdown();
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            () = &mut stop => return Ok(()),
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else { continue };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let opened = Instant::now();
        let app = app.clone();
        // Past the deadline, each answer says `Connection: close`: the client learns it with
        // the answer and opens a new connection, instead of finding this one closed under a
        // request it is sending.
        let service = hyper::service::service_fn(move |request: hyper::Request<_>| {
            let app = app.clone();
            async move {
                let mut response = app.oneshot(request.map(Body::new)).await?;
                if opened.elapsed() >= CONNECTION_DEADLINE {
                    response
                        .headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                }
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::pin!(connection);
            let done_in_time =
                tokio::time::timeout(CONNECTION_DEADLINE + CONNECTION_GRACE, connection.as_mut())
                    .await
                    .is_ok();
            if !done_in_time {
                // (An idle keep-alive connection is closed by the header timeout long before.)
                // A request still in progress: let it finish, then close.
                connection.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(CONNECTION_GRACE, connection).await;
            }
            drop(slot);
        });
    }
}

async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// A JSON answer.
fn answer(status: StatusCode, body: &Value) -> Response {
    (status, axum::Json(body.clone())).into_response()
}

/// A refusal: status, the failed check, what happened, its kind.
fn refusal(status: StatusCode, check: &str, error: &str, kind: &str) -> Response {
    let mut response = answer(
        status,
        &json!({ "verified": false, "failed_check": check, "error": error, "kind": kind }),
    );
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    }
    response
}

/// A failure of the service itself: the client gets `public` (no internals: addresses,
/// library messages), the log gets `detail`.
fn unavailable(check: &str, public: &str, detail: &dyn std::fmt::Display) -> Response {
    eprintln!("snp-vtpm-server: {check}: {detail}");
    refusal(
        StatusCode::SERVICE_UNAVAILABLE,
        check,
        public,
        "unavailable",
    )
}

/// What the nonce store's failure tells a client.
const NONCE_STORE_UNAVAILABLE: &str = "the nonce store is unavailable: retry later";

/// How long a client may take to send a request's body, once its headers are in.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The body, read within [`BODY_READ_TIMEOUT`] and at most [`MAX_BODY`] bytes; else the
/// refusal to answer (408, 413, 400), in the refusal shape.
async fn read_body(body: Body) -> Result<Bytes, Response> {
    let refused = |status: StatusCode, error: String| refusal(status, "input", &error, "input");
    match tokio::time::timeout(BODY_READ_TIMEOUT, axum::body::to_bytes(body, MAX_BODY)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => {
            let cause = e.into_inner();
            Err(if cause.is::<http_body_util::LengthLimitError>() {
                refused(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the body is larger than {MAX_BODY} bytes"),
                )
            } else {
                refused(
                    StatusCode::BAD_REQUEST,
                    format!("the body cannot be read: {cause}"),
                )
            })
        }
        Err(_) => Err(refused(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the body did not arrive within {} s",
                BODY_READ_TIMEOUT.as_secs()
            ),
        )),
    }
}

/// A file of the verification page, else a refusal in the refusal shape that lists the routes.
async fn page_or_not_found(
    State(state): State<Arc<AppState>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Some(site) = &state.site
        && site.has(uri.path())
    {
        let head = method == axum::http::Method::HEAD;
        if head || method == axum::http::Method::GET {
            if let Some(page) = site.answer(uri.path(), &headers, head) {
                return page;
            }
        } else {
            let mut refused = refusal(
                StatusCode::METHOD_NOT_ALLOWED,
                "input",
                "the verification page takes GET and HEAD",
                "input",
            );
            refused
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return refused;
        }
    }
    let routes: Vec<String> = ROUTES
        .iter()
        .map(|(method, path)| format!("{} {path}", method.to_uppercase()))
        .collect();
    let page = if state.site.is_some() {
        "; GET / is the verification page"
    } else {
        "; the verification page at / is served with --web DIR"
    };
    refusal(
        StatusCode::NOT_FOUND,
        "input",
        &format!("no such route; the routes are {}{page}", routes.join(", ")),
        "input",
    )
}

/// Every answer is read as the type it declares, never sniffed: a JSON or text answer cannot
/// be loaded as a script or a style by a page.
async fn no_sniffing(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A route asked with another method, in the refusal shape.
async fn method_not_allowed() -> Response {
    refusal(
        StatusCode::METHOD_NOT_ALLOWED,
        "input",
        "this route takes another method (see docs/server-openapi.json)",
        "input",
    )
}

async fn challenge(State(state): State<Arc<AppState>>, body: Body) -> Response {
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let body_ok = body.iter().all(u8::is_ascii_whitespace)
        || serde_json::from_slice::<Value>(&body)
            .is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty()));
    if !body_ok {
        return refusal(
            StatusCode::BAD_REQUEST,
            "input",
            "POST /challenge takes an empty body or {}",
            "input",
        );
    }
    let mut nonce = [0u8; NONCE_LEN];
    if let Err(e) = getrandom::fill(&mut nonce) {
        return unavailable("nonce", "no randomness: retry later", &e);
    }
    if let Err(e) = state.nonces.issue(&nonce, state.nonce_ttl).await {
        state.metrics.nonce_store_error();
        return unavailable("nonce", NONCE_STORE_UNAVAILABLE, &e);
    }
    state.metrics.challenge();
    answer(
        StatusCode::OK,
        &json!({
            "nonce": hex::encode(nonce),
            "expires_at": now() + state.nonce_ttl.as_secs(),
        }),
    )
}

/// Every verification slot is busy.
fn busy() -> Outcome {
    Outcome::Refused(
        StatusCode::SERVICE_UNAVAILABLE,
        "capacity".into(),
        "every verification slot is busy: retry later (the nonce stays valid until it expires, \
         unless the service became busy only after taking it)"
            .into(),
        "unavailable",
    )
}

/// What one `/attest` came to.
enum Outcome {
    /// The answer's body: `{"token", "verdict"}`.
    Verified(Vec<u8>),
    Refused(StatusCode, String, String, &'static str),
}

async fn attest(State(state): State<Arc<AppState>>, body: Body) -> Response {
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(refused) => {
            state
                .metrics
                .verification("malformed", "input", Duration::ZERO);
            return refused;
        }
    };
    let started = Instant::now();
    let outcome = attest_outcome(&state, body).await;
    let took = started.elapsed();
    match outcome {
        Outcome::Verified(body) => {
            state.metrics.verification("verified", "", took);
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response()
        }
        Outcome::Refused(status, check, error, kind) => {
            let outcome = match status {
                StatusCode::BAD_REQUEST => "malformed",
                StatusCode::SERVICE_UNAVAILABLE => "unavailable",
                _ => "refused",
            };
            state.metrics.verification(outcome, &check, took);
            refusal(status, &check, &error, kind)
        }
    }
}

fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Input => "input",
        ErrorKind::Verification => "verification",
        ErrorKind::Policy => "policy",
        ErrorKind::Unavailable => "unavailable",
        ErrorKind::Tpm => "tpm",
    }
}

/// The status of a failure of `kind`.
fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Input => StatusCode::BAD_REQUEST,
        ErrorKind::Verification | ErrorKind::Policy => StatusCode::FORBIDDEN,
        ErrorKind::Unavailable | ErrorKind::Tpm => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// What a client learns when the certificates or collateral its evidence needs cannot be had
/// (the cause, with its paths and addresses, goes to the log).
const CERTIFICATES_UNAVAILABLE: &str = "the certificates or collateral this evidence needs \
cannot be had now (AMD KDS, Intel PCS, the AK certificate's issuers or the cache): retry later \
with a new challenge, or send evidence that carries them";

fn failed(error: &snp_vtpm::Error) -> Outcome {
    let kind = error.kind();
    let check = error.check().to_string().replace(' ', "_");
    let message = if kind == ErrorKind::Unavailable || kind == ErrorKind::Tpm {
        eprintln!("snp-vtpm-server: {check}: {}", error.message());
        CERTIFICATES_UNAVAILABLE.to_string()
    } else {
        error.message()
    };
    Outcome::Refused(status_of(kind), check, message, kind_name(kind))
}

async fn attest_outcome(state: &Arc<AppState>, body: Bytes) -> Outcome {
    let evidence = match Evidence::from_json(&body, MAX_BODY) {
        Ok(evidence) => evidence,
        Err(e) => return failed(&e),
    };
    let nonce = match QuoteAttest::parse(&evidence.quote.message) {
        Ok(attest) => attest.extra_data().to_vec(),
        Err(e) => {
            return Outcome::Refused(
                StatusCode::BAD_REQUEST,
                "input".into(),
                format!("the vTPM quote does not parse: {e}"),
                "input",
            );
        }
    };
    // A report that does not even parse is refused before it can spend anything (the nonce,
    // a verification slot, a certificate fetch).
    if let Err(e) = snp_vtpm::hcl_parse::HclReport::parse(&evidence.hcl_report) {
        return Outcome::Refused(
            StatusCode::BAD_REQUEST,
            "input".into(),
            format!("the HCL report does not parse: {e}"),
            "input",
        );
    }
    // A busy service leaves the nonce for a retry. (The slot is taken after the nonce store
    // answers, so a slow store does not hold slots.)
    if state.verifications.available_permits() == 0 {
        return busy();
    }
    // Single use: consumed before the evidence is verified, whatever comes next.
    match state.nonces.consume(&nonce).await {
        Ok(true) => {}
        Ok(false) => {
            return Outcome::Refused(
                StatusCode::FORBIDDEN,
                "nonce".into(),
                format!(
                    "the quote's nonce {} was not issued by this service, has expired, or was used already",
                    hex::encode(&nonce)
                ),
                "verification",
            );
        }
        Err(e) => {
            state.metrics.nonce_store_error();
            eprintln!("snp-vtpm-server: nonce: {e}");
            return Outcome::Refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "nonce".into(),
                NONCE_STORE_UNAVAILABLE.into(),
                "unavailable",
            );
        }
    }
    let Ok(permit) = state.verifications.clone().try_acquire_owned() else {
        return busy();
    };
    let work = state.clone();
    let verified = tokio::task::spawn_blocking(move || {
        let outcome = verify(&work, &evidence, &nonce);
        drop(permit);
        outcome
    })
    .await;
    match verified {
        Ok(outcome) => outcome,
        Err(_) => Outcome::Refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "internal".into(),
            "the verification did not complete".into(),
            "unavailable",
        ),
    }
}

/// Certificates, verification and the signed result of one piece of evidence (blocking).
fn verify(state: &AppState, evidence: &Evidence, nonce: &[u8]) -> Outcome {
    // The report's type says the platform (a td_quote field alone does not).
    let tdx = snp_vtpm::hcl_parse::HclReport::parse(&evidence.hcl_report).is_ok_and(|hcl| {
        snp_vtpm::Platform::of(hcl.report_type()) == Some(snp_vtpm::Platform::Tdx)
    });
    let appraiser = if tdx { &state.tdx } else { &state.snp };
    let certificates = match snp_vtpm::fetch::certificates_for(
        evidence,
        &state.source,
        appraiser.verifier.intel_roots(),
        state.fetch_crl,
    ) {
        Ok(certificates) => {
            state.metrics.certificates("resolved");
            certificates
        }
        Err(e) => {
            state.metrics.certificates("failed");
            return failed(&e);
        }
    };
    let now = now();
    let options = VerifyOptions {
        require_fresh_report: true,
        ..VerifyOptions::at(UnixTime::from_secs(now))
    };
    let verified = match appraiser.verifier.verify(
        evidence,
        ExpectedNonce::Exactly(nonce),
        &certificates,
        &options,
    ) {
        Ok(verified) => verified,
        Err(e) => return failed(&e),
    };
    // The verdict is written once, and embedded as written in the claims and the answer.
    let trust = Trustworthiness::of(&verified, appraiser.boot_pinned);
    let written = serde_json::value::to_raw_value(&verified).and_then(|verdict| {
        let claims = ear_claims(
            &verdict,
            trust,
            nonce,
            now,
            now + state.token_ttl.as_secs(),
            &appraiser.policy_id,
        )?;
        Ok((verdict, claims))
    });
    let (verdict, claims) = match written {
        Ok(written) => written,
        Err(e) => {
            eprintln!("snp-vtpm-server: internal: the verdict does not serialise: {e}");
            return Outcome::Refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "internal".into(),
                "an internal error: retry later".into(),
                "unavailable",
            );
        }
    };
    let Some(key) = state.keys.last() else {
        return Outcome::Refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "internal".into(),
            "no signing key".into(),
            "unavailable",
        );
    };
    #[derive(serde::Serialize)]
    struct Issued<'a> {
        token: String,
        verdict: &'a serde_json::value::RawValue,
    }
    let issued = Issued {
        token: key.sign_json(&claims),
        verdict: &verdict,
    };
    match serde_json::to_vec(&issued) {
        Ok(body) => Outcome::Verified(body),
        Err(e) => {
            eprintln!("snp-vtpm-server: internal: the answer does not serialise: {e}");
            Outcome::Refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "internal".into(),
                "an internal error: retry later".into(),
                "unavailable",
            )
        }
    }
}

async fn jwks(State(state): State<Arc<AppState>>) -> Response {
    match serde_json::to_value(state.jwks()) {
        Ok(value) => answer(StatusCode::OK, &value),
        Err(e) => unavailable("internal", "an internal error: retry later", &e),
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

async fn healthz() -> Response {
    answer(StatusCode::OK, &json!({ "status": "ok" }))
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match state.nonces.ready().await {
        Ok(()) => answer(StatusCode::OK, &json!({ "status": "ready" })),
        Err(e) => {
            state.metrics.nonce_store_error();
            unavailable("nonce", NONCE_STORE_UNAVAILABLE, &e)
        }
    }
}
