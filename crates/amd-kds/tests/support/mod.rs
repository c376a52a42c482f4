//! Test support: a real HTTP/1.1 server on 127.0.0.1 that records what it receives, the shared
//! real vectors (read at test time, never copied), temporary cache folders and client
//! builders on simulated time.
#![allow(dead_code, unreachable_pub)]
// Each test binary uses a different part, through a private `mod support`.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use amd_kds::{
    Cache, CertificateSource, HttpConfig, ImdsClient, ImdsConfig, KdsClient, KdsConfig,
    ProxyConfig, RetryPolicy, SimulatedClock,
};
use base64::Engine as _;

// ---------------------------------------------------------------------------------------------
// The server.

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    /// The request target exactly as sent (`/path?query`, or `host:port` for CONNECT).
    pub target: String,
    pub headers: Vec<(String, String)>,
    /// The body (`Content-Length` bytes; empty for GET).
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the server does with a request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A complete response.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Declares `declared` bytes of body, sends `body`, and closes the connection.
    Truncated { declared: usize, body: Vec<u8> },
    /// Reads the request and never answers (until the server stops, at most 20 s).
    Hang,
}

impl Reply {
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Self::Respond {
            status: 200,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn status(status: u16) -> Self {
        Self::Respond {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn with_header(self, name: &str, value: &str) -> Self {
        match self {
            Self::Respond {
                status,
                mut headers,
                body,
            } => {
                headers.push((name.to_string(), value.to_string()));
                Self::Respond {
                    status,
                    headers,
                    body,
                }
            }
            other => other,
        }
    }
}

type Handler = dyn Fn(usize, &Received) -> Reply + Send + Sync;

struct Shared {
    handler: Box<Handler>,
    received: Mutex<Vec<Received>>,
    count: AtomicUsize,
    stop: AtomicBool,
}

/// A real HTTP/1.1 server on an ephemeral loopback port. `Connection: close` on every answer.
pub struct TestServer {
    addr: std::net::SocketAddr,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server; `handler(n, request)` answers the `n`-th request (0-based).
    pub fn start(handler: impl Fn(usize, &Received) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            handler: Box::new(handler),
            received: Mutex::default(),
            count: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let accept_shared = shared.clone();
        let accept_thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let shared = accept_shared.clone();
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        Self {
            addr,
            shared,
            accept_thread: Some(accept_thread),
        }
    }

    /// Serves the same reply to every request.
    pub fn always(reply: Reply) -> Self {
        Self::start(move |_, _| reply.clone())
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests received so far (complete request heads).
    pub fn requests(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// How many requests were received.
    pub fn count(&self) -> usize {
        self.shared.count.load(Ordering::SeqCst)
    }

    /// The targets of every request.
    pub fn targets(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.target).collect()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut stream = stream;
    let request = loop {
        let Some(request) = read_head(&mut reader) else {
            return;
        };
        if request.method != "CONNECT" {
            break request;
        }
        // Act as an HTTP CONNECT proxy: record, open the tunnel, serve what comes through it.
        shared.count.fetch_add(1, Ordering::SeqCst);
        shared.received.lock().unwrap().push(request);
        if stream
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .is_err()
        {
            return;
        }
    };
    let index = shared.count.fetch_add(1, Ordering::SeqCst);
    shared.received.lock().unwrap().push(request.clone());
    let reply = (shared.handler)(index, &request);
    match reply {
        Reply::Respond {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
                reason(status),
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
        Reply::Truncated { declared, body } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n"
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
        Reply::Hang => {
            let started = Instant::now();
            while !shared.stop.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(20)
            {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

fn read_head(reader: &mut BufReader<TcpStream>) -> Option<Received> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    // GET requests carry no body; a POST's is read by its Content-Length (at most 64 KiB).
    let length = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.parse::<usize>().ok())
        .unwrap_or(0)
        .min(64 * 1024);
    let mut body = vec![0; length];
    std::io::Read::read_exact(reader, &mut body).ok()?;
    Some(Received {
        method,
        target,
        headers,
        body,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Other",
    }
}

// ---------------------------------------------------------------------------------------------
// The real vectors.

/// `$SNP_VTPM_VECTORS`, else `<crate>/../../../shared/vectors`.
pub fn vectors_dir() -> PathBuf {
    match std::env::var_os("SNP_VTPM_VECTORS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"),
    }
}

/// A file of the vectors folder; panics with a clear message when it is absent.
pub fn vector(relative: &str) -> Vec<u8> {
    let path = vectors_dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "this test needs the shared real vectors, but {} cannot be read ({e}). Put the \
             `shared` folder beside the checkout (../shared/vectors) or set SNP_VTPM_VECTORS to \
             the vectors folder.",
            path.display()
        )
    })
}

/// The DER of every PEM block of a vectors file (independent of the crate's PEM decoder).
pub fn pem_ders(relative: &str) -> Vec<Vec<u8>> {
    let text = String::from_utf8(vector(relative)).expect("PEM is text");
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line.starts_with("-----BEGIN") {
            current = Some(String::new());
        } else if line.starts_with("-----END") {
            let b64 = current.take().expect("END after BEGIN");
            out.push(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .expect("base64"),
            );
        } else if let Some(b64) = current.as_mut() {
            b64.push_str(line);
        }
    }
    out
}

/// The DER of a single-certificate PEM file.
pub fn pem_der(relative: &str) -> Vec<u8> {
    let mut ders = pem_ders(relative);
    assert_eq!(ders.len(), 1, "{relative} holds one certificate");
    ders.remove(0)
}

/// The raw 1184-byte Milan report of `snp/milan/report_milan.hex`.
pub fn milan_report() -> Vec<u8> {
    let text: String = String::from_utf8(vector("snp/milan/report_milan.hex"))
        .expect("hex text")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let bytes = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect::<Vec<_>>();
    assert_eq!(bytes.len(), 1184, "report_milan.hex is one SNP report");
    bytes
}

/// The HCL report (NV contents) of the Genoa evidence (`report` is a JSON byte array).
pub fn genoa_hcl_report() -> Vec<u8> {
    let json: serde_json::Value =
        serde_json::from_slice(&vector("azure/genoa-v3/evidence-genoa.json")).expect("JSON");
    json["report"]
        .as_array()
        .expect("report array")
        .iter()
        .map(|b| u8::try_from(b.as_u64().expect("byte")).expect("byte"))
        .collect()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// PEM text of a DER certificate (64 columns).
pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The value of the VCEK extension `1.3.6.1.4.1.3704.1.<suffix>`, raw.
pub fn vcek_extension(der: &[u8], suffix: &str) -> Option<Vec<u8>> {
    use der::Decode;
    let cert = x509_cert::Certificate::from_der(der).expect("VCEK parses");
    let oid = format!("1.3.6.1.4.1.3704.1.{suffix}");
    cert.tbs_certificate()
        .extensions()?
        .iter()
        .find(|ext| ext.extn_id.to_string() == oid)
        .map(|ext| ext.extn_value.as_bytes().to_vec())
}

/// An SPL extension (a DER INTEGER of one or two bytes).
pub fn vcek_spl(der: &[u8], suffix: &str) -> u8 {
    match vcek_extension(der, suffix)
        .expect("SPL extension")
        .as_slice()
    {
        [0x02, 0x01, v] => *v,
        [0x02, 0x02, 0x00, v] => *v,
        other => panic!("SPL {suffix} is not a small INTEGER: {other:02x?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Temporary folders and clients.

/// A fresh folder under Cargo's per-target temporary folder, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "amd-kds-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A retry policy without jitter, so waits are exact.
pub fn exact_policy(max_attempts: u32, deadline_secs: u64) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial_backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(30),
        jitter: 0.0,
        deadline: Duration::from_secs(deadline_secs),
    }
}

/// Loopback HTTP settings: no proxy, short timeouts.
pub fn loopback_http() -> HttpConfig {
    HttpConfig {
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
        proxy: ProxyConfig::Disabled,
        ..HttpConfig::default()
    }
}

/// A KDS config against `server`.
pub fn kds_config(server: &TestServer, retry: RetryPolicy) -> KdsConfig {
    KdsConfig {
        base_url: server.base_url(),
        http: loopback_http(),
        retry,
    }
}

/// A KDS client against `server` on `clock`.
pub fn kds_client(
    server: &TestServer,
    retry: RetryPolicy,
    clock: &Arc<SimulatedClock>,
) -> KdsClient {
    KdsClient::new(kds_config(server, retry))
        .expect("config is valid")
        .with_clock(clock.clone())
}

/// The cache in `dir`, or none.
pub fn cache_in(dir: Option<&TempDir>) -> Cache {
    match dir {
        Some(dir) => Cache::new(dir.path()),
        None => Cache::disabled(),
    }
}

/// A certificate source on KDS at `server` alone, caching in `cache` (or not), on `clock`.
pub fn kds_source(
    server: &TestServer,
    cache: Option<&TempDir>,
    retry: RetryPolicy,
    clock: &Arc<SimulatedClock>,
) -> CertificateSource {
    CertificateSource::new(kds_client(server, retry, clock), cache_in(cache))
}

/// An IMDS client against `server` on `clock`.
pub fn imds_client(server: &TestServer, clock: &Arc<SimulatedClock>) -> ImdsClient {
    ImdsClient::new(ImdsConfig {
        base_url: server.base_url(),
        http: loopback_http(),
        retry: exact_policy(2, 10),
    })
    .expect("config is valid")
    .with_clock(clock.clone())
}

/// A simulated clock at 2024-06-01T00:00:00Z.
pub fn sim_clock() -> Arc<SimulatedClock> {
    Arc::new(SimulatedClock::at_unix(1_717_200_000))
}

/// `chain` files of the AMD folder as KDS serves them: intermediate PEM then ARK PEM.
pub fn kds_chain_pem(product: &str, intermediate: &str) -> Vec<u8> {
    let mut text = String::from_utf8(vector(&format!("amd/{product}/{intermediate}.pem"))).unwrap();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&String::from_utf8(vector(&format!("amd/{product}/ark.pem"))).unwrap());
    text.into_bytes()
}

// ---------------------------------------------------------------------------------------------
// A certificate service (KDS paths and the IMDS THIM path) with swappable bodies, for the
// tests of what a client does with what a source sends.

/// What the loopback KDS/IMDS serves; tests swap bodies between calls. An empty body is a 404.
#[derive(Clone, Default)]
pub struct Bodies {
    pub vcek: Vec<u8>,
    pub chain: Vec<u8>,
    pub crl: Vec<u8>,
    pub thim: Vec<u8>,
}

/// The raw Milan report's VCEK (AMD's, of the chip `snp/milan/report_milan.hex` came from).
pub fn genuine_vcek() -> Vec<u8> {
    vector("snp/milan/vcek_milan.der")
}

/// Another Milan chip's VCEK, issued by AMD (the milan-v2 Azure host; the file holds VCEK,
/// ASK, ARK).
pub fn other_chip_vcek() -> Vec<u8> {
    pem_ders("azure/milan-v2/vcek.pem").remove(0)
}

/// The genuine Milan VCEK and chain; no CRL, no THIM answer.
pub fn genuine_bodies() -> Bodies {
    Bodies {
        vcek: genuine_vcek(),
        chain: kds_chain_pem("milan", "ask"),
        ..Bodies::default()
    }
}

/// A server answering every KDS path and the THIM path from `bodies`.
pub fn certificate_service(bodies: &Arc<Mutex<Bodies>>) -> TestServer {
    let bodies = bodies.clone();
    TestServer::start(move |_, request| {
        let bodies = bodies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let body = if request.target.ends_with("/cert_chain") {
            bodies.chain
        } else if request.target.ends_with("/crl") {
            bodies.crl
        } else if request.target.starts_with("/metadata/THIM/") {
            bodies.thim
        } else {
            bodies.vcek
        };
        if body.is_empty() {
            Reply::status(404)
        } else {
            Reply::ok(body)
        }
    })
}

// ---------------------------------------------------------------------------------------------
// A PCS v4 service.

/// Percent-encodes every byte but unreserved ones (RFC 3986), as PCS encodes issuer chains.
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// PEM of a chain of DER certificates.
pub fn pem_chain(ders: &[Vec<u8>]) -> String {
    ders.iter().map(|der| pem("CERTIFICATE", der)).collect()
}

/// The path of the root CA CRL on a test PCS server (Intel serves it from another host).
pub const ROOT_CA_CRL_PATH: &str = "/IntelSGXRootCA.der";

/// What a PCS v4 service answers at `target` for `collateral`: the signed documents embedded
/// byte for byte, issuer chains URL-encoded in their headers; 404 elsewhere.
pub fn pcs_reply(collateral: &tdx_verify::Collateral, fmspc: &str, target: &str) -> Reply {
    let chain_header = |reply: Reply, name: &str, ders: &[Vec<u8>]| {
        reply.with_header(name, &url_encode(&pem_chain(ders)))
    };
    let tcb_path = format!("/tdx/certification/v4/tcb?fmspc={fmspc}");
    match target {
        t if t == tcb_path => chain_header(
            Reply::ok(format!(
                "{{\"tcbInfo\":{},\"signature\":\"{}\"}}",
                collateral.tcb_info,
                hex(&collateral.tcb_info_signature)
            )),
            "TCB-Info-Issuer-Chain",
            &collateral.tcb_info_issuer_chain,
        ),
        "/tdx/certification/v4/qe/identity" => chain_header(
            Reply::ok(format!(
                "{{\"enclaveIdentity\":{},\"signature\":\"{}\"}}",
                collateral.qe_identity,
                hex(&collateral.qe_identity_signature)
            )),
            "SGX-Enclave-Identity-Issuer-Chain",
            &collateral.qe_identity_issuer_chain,
        ),
        "/sgx/certification/v4/pckcrl?ca=platform&encoding=der" => chain_header(
            Reply::ok(collateral.pck_crl.clone()),
            "SGX-PCK-CRL-Issuer-Chain",
            &collateral.pck_crl_issuer_chain,
        ),
        ROOT_CA_CRL_PATH => Reply::ok(collateral.root_ca_crl.clone()),
        _ => Reply::status(404),
    }
}

/// A PCS client against `server` (its root CA CRL there too) on `clock`.
pub fn pcs_client(server: &TestServer, clock: &Arc<SimulatedClock>) -> amd_kds::PcsClient {
    amd_kds::PcsClient::new(amd_kds::PcsConfig {
        base_url: server.base_url(),
        root_ca_crl_url: format!("{}{ROOT_CA_CRL_PATH}", server.base_url()),
        http: loopback_http(),
        retry: exact_policy(2, 10),
    })
    .expect("config is valid")
    .with_clock(clock.clone())
}
