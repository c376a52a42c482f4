//! The verification page (`--web DIR`: the folder `cargo xtask web` builds into `target/web`),
//! served at `/`. The folder is read once at start into memory, so a request can only name a
//! file that was there then: no path from a request ever reaches the file system.
//!
//! Every answer carries a content-security policy that lets the page run its own scripts and
//! WebAssembly and nothing else (no inline script, no other origin, no framing), and
//! `nosniff`. Text and the WebAssembly module are compressed once at start and sent gzipped to
//! browsers that accept it.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use sha2::Digest as _;

/// The page's content-security policy: its own scripts, styles and module (compiling
/// WebAssembly needs `'wasm-unsafe-eval'`), fetches to this origin only, no plugins, no
/// `<base>`, no form posts, and no framing by another page.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self' \
    'wasm-unsafe-eval'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// The most files a page folder may hold.
pub const MAX_FILES: usize = 256;
/// The most bytes a page folder may hold (the module is about 2 MB).
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;
/// How deep folders are read.
const MAX_DEPTH: usize = 8;

/// One file of the page, as it is sent.
#[derive(Debug)]
struct PageFile {
    content_type: &'static str,
    plain: Bytes,
    /// The gzip encoding, when it is smaller.
    gzipped: Option<Bytes>,
    /// The plain file's entity tag, its SHA-256 (the gzipped one adds `-gzip`).
    tag: String,
}

/// The page's files by request path (`index.html` also at `/`).
#[derive(Debug)]
pub struct Site {
    files: BTreeMap<String, PageFile>,
}

/// What loading the folder left out, for the start's log.
#[derive(Debug, Default)]
pub struct Skipped {
    /// The first [`MAX_LISTED`] entries left out, each with why (names escaped).
    pub listed: Vec<String>,
    /// How many more were left out.
    pub more: usize,
}

/// How many left-out entries the start lists by name.
pub const MAX_LISTED: usize = 32;
/// The most folder entries read, served or not (links can make a small folder look huge).
pub const MAX_ENTRIES: usize = 4096;

/// One walk over the page's folder.
struct Walk {
    root: PathBuf,
    files: BTreeMap<String, PageFile>,
    skipped: Skipped,
    entries: usize,
    bytes: u64,
}

impl Site {
    /// Reads `dir`: every regular file inside it whose type is known and whose name needs no
    /// URL encoding; with what it left out. Links are not followed.
    /// Refuses a folder without `index.html`, over [`MAX_FILES`], [`MAX_BYTES`] or
    /// [`MAX_ENTRIES`].
    pub fn load(dir: &Path) -> Result<(Self, Skipped), String> {
        let failed = |e: String| format!("--web {}: {e}", dir.display());
        let root = std::fs::canonicalize(dir).map_err(|e| failed(e.to_string()))?;
        // Checked first, as the walk will check it, so that a wrong folder fails at once.
        match std::fs::symlink_metadata(root.join("index.html")) {
            #[cfg(unix)]
            Ok(metadata) if std::os::unix::fs::MetadataExt::nlink(&metadata) > 1 => {
                return Err(failed(
                    "index.html is a hard link, and links are not served: copy the file".into(),
                ));
            }
            Ok(metadata) if metadata.is_file() => {}
            Ok(metadata) if metadata.is_symlink() => {
                return Err(failed(
                    "index.html is a link, and links are not served: copy the file".into(),
                ));
            }
            Ok(_) => return Err(failed("index.html is not a regular file".into())),
            Err(_) => {
                return Err(failed(
                    "no index.html (give the folder `cargo xtask web` builds, target/web)".into(),
                ));
            }
        }
        let mut walk = Walk {
            root: root.clone(),
            files: BTreeMap::new(),
            skipped: Skipped::default(),
            entries: 0,
            bytes: 0,
        };
        walk.folder(&root, "", 0).map_err(failed)?;
        if !walk.files.contains_key("/index.html") {
            return Err(failed(
                "index.html changed while the folder was read".into(),
            ));
        }
        Ok((Self { files: walk.files }, walk.skipped))
    }

    /// Whether `path` (a request path) names a file of the page.
    pub fn has(&self, path: &str) -> bool {
        self.file(path).is_some()
    }

    fn file(&self, path: &str) -> Option<&PageFile> {
        let path = if path == "/" { "/index.html" } else { path };
        self.files.get(path)
    }

    /// Files served and their bytes, plain and as sent gzipped.
    pub fn size(&self) -> (usize, usize, usize) {
        let plain = self.files.values().map(|f| f.plain.len()).sum();
        let sent = self
            .files
            .values()
            .map(|f| f.gzipped.as_ref().unwrap_or(&f.plain).len())
            .sum();
        (self.files.len(), plain, sent)
    }

    /// The answer to `GET path` (`head`: to `HEAD path`), or `None` when the page has no such
    /// file.
    pub fn answer(&self, path: &str, headers: &HeaderMap, head: bool) -> Option<Response> {
        let file = self.file(path)?;
        let (body, tag, encoded) = match &file.gzipped {
            Some(gzipped) if accepts_gzip(headers) => {
                (gzipped.clone(), format!("\"{}-gzip\"", file.tag), true)
            }
            _ => (file.plain.clone(), format!("\"{}\"", file.tag), false),
        };
        let mut response = Response::new(Body::empty());
        let out = response.headers_mut();
        add_page_headers(out);
        if let Ok(tag) = HeaderValue::from_str(&tag) {
            out.insert(header::ETAG, tag);
        }
        if file.gzipped.is_some() {
            out.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        }
        // A 304 may give the length the 200 would have (RFC 9110 8.6); hyper keeps it for HEAD
        // and drops it for GET, both allowed.
        out.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        if matches_tag(headers, &tag) {
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            return Some(response);
        }
        out.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(file.content_type),
        );
        if encoded {
            out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        if !head {
            *response.body_mut() = Body::from(body);
        }
        Some(response)
    }
}

impl Walk {
    fn folder(&mut self, dir: &Path, prefix: &str, depth: usize) -> Result<(), String> {
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", shown(prefix)))? {
            self.entries += 1;
            if self.entries > MAX_ENTRIES {
                return Err(format!(
                    "{}: more than {MAX_ENTRIES} entries: is this the page's folder?",
                    shown(prefix)
                ));
            }
            entries.push(entry.map_err(|e| format!("{}: {e}", shown(prefix)))?);
        }
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            let name = entry.file_name();
            let lossy = name.to_string_lossy();
            let here = format!("{prefix}{lossy}");
            let Some(name) = name.to_str().filter(|name| plain_name(name)) else {
                if !lossy.starts_with('.') {
                    self.skip(&here, "a name that needs URL encoding");
                }
                continue;
            };
            // Links are not followed, and files with other hard links are not served: what is
            // served is the folder's own tree, so no link can bring in a file from elsewhere
            // (/proc, a device, a secret), a hidden file or another type, nor loop.
            let file_type = entry
                .file_type()
                .map_err(|e| format!("{}: {e}", shown(&here)))?;
            if file_type.is_symlink() {
                self.skip(&here, "a link (links are not served: copy the file)");
                continue;
            }
            if file_type.is_dir() {
                if depth >= MAX_DEPTH {
                    return Err(format!(
                        "{}: folders nest deeper than {MAX_DEPTH}",
                        shown(&here)
                    ));
                }
                self.folder(&entry.path(), &format!("{here}/"), depth + 1)?;
                continue;
            }
            if !file_type.is_file() {
                self.skip(&here, "not a regular file");
                continue;
            }
            let Some(content_type) = content_type(name) else {
                self.skip(&here, "not a type the page serves");
                continue;
            };
            if self.files.len() >= MAX_FILES {
                return Err(format!(
                    "more than {MAX_FILES} files: is this the page's folder?"
                ));
            }
            let plain = match self.read(&here) {
                Ok(Some(plain)) => plain,
                Ok(None) => {
                    self.skip(&here, "a hard link (links are not served: copy the file)");
                    continue;
                }
                Err(e) => return Err(format!("{}: {e}", shown(&here))),
            };
            let gzipped = compressible(content_type)
                .then(|| gzip(&plain))
                .transpose()
                .map_err(|e| format!("{}: compressing: {e}", shown(&here)))?
                .filter(|gzipped| gzipped.len() < plain.len());
            let tag = hex::encode(sha2::Sha256::digest(&plain));
            self.files.insert(
                format!("/{here}"),
                PageFile {
                    content_type,
                    plain: Bytes::from(plain),
                    gzipped: gzipped.map(Bytes::from),
                    tag,
                },
            );
        }
        Ok(())
    }

    /// The bytes of the regular file at `here` in the folder, as many as its size says (a
    /// file that is not regular once open, or whose size changes while it is read, is
    /// refused), within [`MAX_BYTES`] in all; `None` for a file with other hard links (it may
    /// be a file from elsewhere). It is opened without following a link or waiting on a FIFO,
    /// and on Linux the open file must be exactly `here`: a file or folder swapped for a link
    /// while the folder is read is refused.
    fn read(&mut self, here: &str) -> Result<Option<Vec<u8>>, String> {
        let path = self.root.join(here);
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(
            &mut options,
            libc::O_NOFOLLOW | libc::O_NONBLOCK,
        );
        let file = options.open(&path).map_err(|e| {
            #[cfg(unix)]
            if e.raw_os_error() == Some(libc::ELOOP) {
                return "became a link while the folder was read (links are not served)".into();
            }
            e.to_string()
        })?;
        let metadata = file.metadata().map_err(|e| e.to_string())?;
        if !metadata.is_file() {
            return Err("not a regular file once open (changed while read?)".into());
        }
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd as _;
            let opened = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
                .map_err(|e| {
                    format!("cannot confirm where the open file is (is /proc mounted?): {e}")
                })?;
            // Exactly the path walked (made of plain names only): a folder on the way swapped
            // for a link, even to a hidden folder inside, gives another path.
            if opened != path {
                return Err(format!(
                    "the open file is {}, not this file (changed while read?)",
                    shown(&opened.to_string_lossy())
                ));
            }
        }
        #[cfg(unix)]
        if std::os::unix::fs::MetadataExt::nlink(&metadata) > 1 {
            return Ok(None);
        }
        self.bytes = self.bytes.saturating_add(metadata.len());
        if self.bytes > MAX_BYTES {
            return Err(format!(
                "the page's files are over {MAX_BYTES} bytes: is this the page's folder?"
            ));
        }
        let mut bytes = Vec::new();
        file.take(metadata.len().saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| e.to_string())?;
        if bytes.len() as u64 != metadata.len() {
            return Err(format!(
                "its size said {} bytes, {} were read (changed while read?)",
                metadata.len(),
                bytes.len()
            ));
        }
        Ok(Some(bytes))
    }

    fn skip(&mut self, path: &str, why: &str) {
        if self.skipped.listed.len() < MAX_LISTED {
            self.skipped.listed.push(format!("{}: {why}", shown(path)));
        } else {
            self.skipped.more += 1;
        }
    }
}

/// A path in the folder as the log shows it: control characters and quotes escaped, so a
/// file name cannot write lines of its own.
fn shown(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    path.escape_debug().to_string()
}

/// The headers every page answer carries.
fn add_page_headers(headers: &mut HeaderMap) {
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            header::HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
        // Revalidated every time (the entity tag makes that a 304): a new server version's
        // page is never mixed with an old cached module.
        (header::CACHE_CONTROL, "no-cache"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// A name a request path carries as it is: letters, digits, `.`, `_`, `-`, `~`, not hidden.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-~".contains(&b))
}

/// The content type of the file types the page is made of.
fn content_type(name: &str) -> Option<&'static str> {
    let extension = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match extension.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        _ => return None,
    })
}

fn compressible(content_type: &str) -> bool {
    !content_type.starts_with("image/png") && !content_type.starts_with("image/x-icon")
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// Whether `Accept-Encoding` accepts gzip: `gzip` (or `x-gzip`, or `*` when gzip is not
/// named) with a quality above zero. A quality that is not an RFC 9110 qvalue counts as zero.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut star = false;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or_default().trim();
            let acceptable = parts
                .filter_map(|parameter| {
                    let (name, value) = parameter.split_once('=')?;
                    name.trim()
                        .eq_ignore_ascii_case("q")
                        .then(|| qvalue(value.trim()))
                })
                .next()
                .unwrap_or(Some(1000))
                .is_some_and(|thousandths| thousandths > 0);
            if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                return acceptable;
            }
            if coding == "*" {
                star = acceptable;
            }
        }
    }
    star
}

/// An RFC 9110 qvalue (`0`, `0.5`, `0.125`, `1`, `1.000`) in thousandths.
fn qvalue(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match whole {
        "0" => format!("{fraction:0<3}").parse().ok(),
        "1" if fraction.bytes().all(|b| b == b'0') => Some(1000),
        _ => None,
    }
}

/// Whether `If-None-Match` names `tag` (weak comparison, as RFC 9110 asks for it) or is `*`.
fn matches_tag(headers: &HeaderMap, tag: &str) -> bool {
    headers.get_all(header::IF_NONE_MATCH).iter().any(|value| {
        value.to_str().is_ok_and(|value| {
            value.split(',').map(str::trim).any(|candidate| {
                candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == tag
            })
        })
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn gzip_is_sent_only_where_it_is_accepted() {
        for (value, accepted) in [
            ("gzip", true),
            ("gzip, deflate, br, zstd", true),
            ("br;q=1.0, GZIP;q=0.5", true),
            ("x-gzip", true),
            ("gzip;q=0", false),
            ("gzip; q=0.000", false),
            ("*", true),
            ("*;q=0", false),
            ("gzip;q=0, *", false),
            ("gzip;Q=0", false),
            ("gzip; q = 0.001", true),
            ("gzip;q=1.000", true),
            ("gzip;q=nan", false),
            ("gzip;q=inf", false),
            ("gzip;q=1e-9", false),
            ("gzip;q=0.0001", false),
            ("gzip;q=1.5", false),
            ("gzip;level=9", true),
            ("identity", false),
            ("br", false),
            ("", false),
        ] {
            assert_eq!(
                accepts_gzip(&with(header::ACCEPT_ENCODING, value)),
                accepted,
                "{value}"
            );
        }
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn entity_tags_match_strongly_weakly_or_as_star() {
        let tag = "\"abc\"";
        for (value, matched) in [
            ("\"abc\"", true),
            ("W/\"abc\"", true),
            ("\"x\", \"abc\"", true),
            ("*", true),
            ("\"abc-gzip\"", false),
            ("abc", false),
        ] {
            assert_eq!(
                matches_tag(&with(header::IF_NONE_MATCH, value), tag),
                matched,
                "{value}"
            );
        }
    }

    #[test]
    fn only_plain_names_of_known_types_are_served() {
        for (name, plain) in [
            ("index.html", true),
            ("snp_vtpm_bg.wasm", true),
            ("a-b~c.js", true),
            (".env", false),
            ("a b.js", false),
            ("a%2e.js", false),
            ("é.js", false),
            ("", false),
        ] {
            assert_eq!(plain_name(name), plain, "{name}");
        }
        assert_eq!(content_type("x.WASM"), Some("application/wasm"));
        assert_eq!(content_type("snp_vtpm.d.ts"), None);
        assert_eq!(content_type("README"), None);
    }
}
