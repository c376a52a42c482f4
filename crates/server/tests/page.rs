//! The verification page (`--web DIR`) as a browser and a prober meet it, over loopback: the
//! files with their types, content-security policy, gzip and entity tags; nothing outside the
//! folder's served files, whatever the path; the interface's routes unchanged.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::{Read as _, Write as _};

use std::process::Command;

use snp_vtpm_server::site::CONTENT_SECURITY_POLICY;
use support::{Server, TempDir};

/// A page folder: what `cargo xtask web` builds (index.html, app.js, style.css, pkg/ with the
/// module and its typings), plus files that must not be served.
fn page_folder(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    let write = |path: &str, bytes: &[u8]| {
        let path = dir.0.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    };
    write(
        "index.html",
        b"<!doctype html><title>verify</title><script type=module src=app.js></script>",
    );
    write(
        "app.js",
        b"import init from './pkg/snp_vtpm.js'; await init();",
    );
    write("style.css", b"body { margin: 0 }");
    write(
        "pkg/snp_vtpm.js",
        b"export default async function init() {}",
    );
    write(
        "pkg/snp_vtpm.d.ts",
        b"export default function init(): Promise<void>;",
    );
    write("pkg/snp_vtpm_bg.wasm", &module());
    write(".env", b"SECRET=1");
    write("notes.md", b"# not part of the page");
    write("a b.js", b"// a name that needs URL encoding");
    dir
}

/// A module-like body that compresses well (a header and repeated sections).
fn module() -> Vec<u8> {
    let mut bytes = b"\0asm\x01\0\0\0".to_vec();
    for i in 0..20_000u32 {
        bytes.extend_from_slice(&(i % 97).to_le_bytes());
    }
    bytes
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request exactly as written (no client normalises the path), read to the end.
fn raw(server: &Server, method: &str, target: &str, headers: &[(&str, &str)]) -> Answer {
    let address = server.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut request =
        format!("{method} {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Content-Length: 0\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an answer with headers");
    let head = String::from_utf8(answer[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.trim().to_string(), value.trim().to_string())
        })
        .collect();
    Answer {
        status,
        headers,
        body: answer[split + 4..].to_vec(),
    }
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut plain)
        .unwrap();
    plain
}

#[test]
fn the_page_is_served_at_the_root_with_its_types_and_policy() {
    let folder = page_folder("page-served");
    let server = Server::start("page-served-server", &["--web", folder.0.to_str().unwrap()]);
    let said = server.said().join("\n");
    assert!(said.contains("the verification page at / from"), "{said}");
    for skipped in ["pkg/snp_vtpm.d.ts", "notes.md", "a b.js"] {
        assert!(said.contains(&format!("not served: {skipped}")), "{said}");
    }
    assert!(
        !said.contains(".env"),
        "hidden files are not even listed: {said}"
    );

    let index = raw(&server, "GET", "/", &[]);
    assert_eq!(index.status, 200);
    assert_eq!(
        index.body,
        std::fs::read(folder.0.join("index.html")).unwrap()
    );
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        index.header("content-security-policy"),
        Some(CONTENT_SECURITY_POLICY)
    );
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cache-control", "no-cache"),
    ] {
        assert_eq!(index.header(name), Some(value), "{name}");
    }
    assert_eq!(raw(&server, "GET", "/index.html", &[]).body, index.body);

    for (path, content_type) in [
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/style.css", "text/css; charset=utf-8"),
        ("/pkg/snp_vtpm.js", "text/javascript; charset=utf-8"),
        ("/pkg/snp_vtpm_bg.wasm", "application/wasm"),
    ] {
        let answer = raw(&server, "GET", path, &[]);
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(answer.header("content-type"), Some(content_type), "{path}");
        assert_eq!(
            answer.body,
            std::fs::read(folder.0.join(&path[1..])).unwrap(),
            "{path}"
        );
        assert_eq!(answer.header("content-encoding"), None, "{path}");
    }
    // A query string does not change the file.
    assert_eq!(raw(&server, "GET", "/app.js?v=2", &[]).status, 200);
}

#[test]
fn gzip_goes_where_it_is_accepted_and_tags_revalidate() {
    let folder = page_folder("page-gzip");
    let server = Server::start("page-gzip-server", &["--web", folder.0.to_str().unwrap()]);
    let plain = raw(&server, "GET", "/pkg/snp_vtpm_bg.wasm", &[]);
    let gzipped = raw(
        &server,
        "GET",
        "/pkg/snp_vtpm_bg.wasm",
        &[("Accept-Encoding", "gzip, deflate, br")],
    );
    assert_eq!(gzipped.status, 200);
    assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
    assert_eq!(gzipped.header("content-type"), Some("application/wasm"));
    assert_eq!(gzipped.header("vary"), Some("Accept-Encoding"));
    assert!(
        gzipped.body.len() * 4 < plain.body.len(),
        "{} gzipped bytes for {}",
        gzipped.body.len(),
        plain.body.len()
    );
    assert_eq!(gunzip(&gzipped.body), module());
    assert_eq!(
        gzipped.header("content-length"),
        Some(gzipped.body.len().to_string().as_str())
    );
    let refused = raw(
        &server,
        "GET",
        "/pkg/snp_vtpm_bg.wasm",
        &[("Accept-Encoding", "gzip;q=0, br")],
    );
    assert_eq!(refused.header("content-encoding"), None);
    assert_eq!(refused.body, module());
    for not_a_yes in ["gzip;Q=0", "gzip;q=nan", "gzip;q=2"] {
        let plain = raw(
            &server,
            "GET",
            "/pkg/snp_vtpm_bg.wasm",
            &[("Accept-Encoding", not_a_yes)],
        );
        assert_eq!(plain.header("content-encoding"), None, "{not_a_yes}");
    }

    // Each representation has its own tag; naming it answers 304 with no body.
    let plain_tag = plain.header("etag").unwrap().to_string();
    let gzip_tag = gzipped.header("etag").unwrap().to_string();
    assert_ne!(plain_tag, gzip_tag);
    // A 304 has no body, and no length or the 200's (RFC 9110 8.6), never 0.
    let length = module().len().to_string();
    for (method, condition) in [("GET", plain_tag.as_str()), ("HEAD", "*")] {
        let revalidated = raw(
            &server,
            method,
            "/pkg/snp_vtpm_bg.wasm",
            &[("If-None-Match", condition)],
        );
        assert_eq!(revalidated.status, 304, "{method}");
        assert!(revalidated.body.is_empty(), "{method}");
        assert_eq!(revalidated.header("etag"), Some(plain_tag.as_str()));
        let sent_length = revalidated.header("content-length");
        assert!(
            [None, Some(length.as_str())].contains(&sent_length),
            "{method}: {sent_length:?}"
        );
    }
    let other_representation = raw(
        &server,
        "GET",
        "/pkg/snp_vtpm_bg.wasm",
        &[("If-None-Match", &gzip_tag)],
    );
    assert_eq!(other_representation.status, 200);
    assert_eq!(other_representation.body, module());

    // HEAD: the headers of GET, no body.
    let head = raw(&server, "HEAD", "/", &[]);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("content-length"),
        Some(
            std::fs::metadata(folder.0.join("index.html"))
                .unwrap()
                .len()
                .to_string()
                .as_str()
        )
    );
}

#[test]
fn nothing_but_the_served_files_answers_whatever_the_path() {
    let folder = page_folder("page-probe");
    // A file next to the folder: a path that climbs out must not reach it.
    let outside = folder.0.parent().unwrap().join("outside.html");
    std::fs::write(&outside, b"secret").unwrap();
    let server = Server::start("page-probe-server", &["--web", folder.0.to_str().unwrap()]);
    for target in [
        "/.env",
        "/notes.md",
        "/a%20b.js",
        "/pkg/snp_vtpm.d.ts",
        "/pkg",
        "/pkg/",
        "/index.html/",
        "//index.html",
        "/../outside.html",
        "/pkg/../../outside.html",
        "/%2e%2e/outside.html",
        "/pkg%2fsnp_vtpm.js",
        "/APP.JS",
        "/app.js%00",
        "/index.htm",
    ] {
        let answer = raw(&server, "GET", target, &[]);
        assert_eq!(answer.status, 404, "{target}");
        let body: serde_json::Value = serde_json::from_slice(&answer.body)
            .unwrap_or_else(|e| panic!("{target}: {e}: {:?}", answer.body));
        assert_eq!(body["failed_check"], "input", "{target}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("GET / is the verification page"),
            "{target}: {body}"
        );
        assert_eq!(
            answer.header("x-content-type-options"),
            Some("nosniff"),
            "{target}"
        );
    }
    // The page takes GET and HEAD only.
    for method in ["POST", "PUT", "DELETE", "OPTIONS", "TRACE"] {
        let refused = raw(&server, method, "/app.js", &[]);
        assert_eq!(refused.status, 405, "{method}");
        assert_eq!(refused.header("allow"), Some("GET, HEAD"), "{method}");
        let body: serde_json::Value = serde_json::from_slice(&refused.body).unwrap();
        assert_eq!(body["failed_check"], "input", "{method}");
    }
    // The interface's routes win over the page and keep their answers.
    let (status, body) = server.get("/healthz");
    assert_eq!((status, body.as_str()), (200, "{\"status\":\"ok\"}"));
    assert_eq!(server.challenge().len(), 32);
    assert_eq!(raw(&server, "GET", "/attest", &[]).status, 405);
    std::fs::remove_file(outside).unwrap();
}

#[test]
fn without_web_the_root_is_not_found_and_says_how_to_serve_the_page() {
    let server = Server::start("page-none", &[]);
    let answer = raw(&server, "GET", "/", &[]);
    assert_eq!(answer.status, 404);
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("served with --web DIR"),
        "{body}"
    );
    assert_eq!(answer.header("content-security-policy"), None);
    assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
}

#[test]
fn a_folder_that_is_not_the_page_stops_the_start() {
    let empty = TempDir::new("page-empty");
    std::fs::write(empty.0.join("app.js"), b"").unwrap();
    let missing = empty.0.join("missing");
    for (dir, expected) in [
        (empty.0.as_path(), "no index.html"),
        (missing.as_path(), "No such file"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_snp-vtpm-server"))
            .args(["--listen", "127.0.0.1:0", "--web"])
            .arg(dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", dir.display());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("--web {}", dir.display())) && stderr.contains(expected),
            "{stderr}"
        );
    }
}

/// What an operator's folder may hold besides the page: links (out of it, to /proc, to a
/// hidden file, to a folder, in loops that would multiply folders), a FIFO, a name with a line
/// break. None is served, none stops or slows the start, and the log shows each escaped.
#[cfg(unix)]
#[test]
fn links_fifos_and_odd_names_are_left_out() {
    use std::os::unix::fs::symlink;
    let folder = page_folder("page-odd");
    let outside = TempDir::new("page-odd-outside");
    std::fs::write(outside.0.join("secret.txt"), b"secret").unwrap();
    std::fs::write(folder.0.join(".env"), b"SECRET=1").unwrap();
    for (link, target) in [
        ("secret.txt", outside.0.join("secret.txt")),
        ("environ.txt", "/proc/self/environ".into()),
        ("elsewhere", outside.0.clone()),
        ("dangling.js", folder.0.join("nowhere.js")),
        ("env.txt", folder.0.join(".env")),
        ("notes.txt", folder.0.join("notes.md")),
        ("alias.js", folder.0.join("app.js")),
        ("pkg-again", folder.0.join("pkg")),
    ] {
        symlink(target, folder.0.join(link)).unwrap();
    }
    // Folders that link to the next one three times over: followed, they would make 3^6
    // paths (the outside review's eight links over eight levels took 42 s to start).
    for level in 0..6 {
        let dir = folder.0.join(format!("n{level}"));
        std::fs::create_dir_all(&dir).unwrap();
        for link in 0..3 {
            symlink(
                folder.0.join(format!("n{}", level + 1)),
                dir.join(format!("l{link}")),
            )
            .unwrap();
        }
    }
    std::fs::create_dir_all(folder.0.join("n6")).unwrap();
    std::fs::write(folder.0.join("n6/deep.js"), b"// deep").unwrap();
    std::fs::hard_link(outside.0.join("secret.txt"), folder.0.join("hard.txt")).unwrap();
    let fifo = folder.0.join("fifo.js");
    snp_vtpm_testkit::make_fifo(&fifo);
    std::fs::write(
        folder.0.join("x\nsnp-vtpm-server: listening on fake.js"),
        b"",
    )
    .unwrap();
    // More left out than the log lists (after everything above in name order).
    std::fs::create_dir_all(folder.0.join("zz-notes")).unwrap();
    for i in 0..40 {
        std::fs::write(folder.0.join(format!("zz-notes/{i}.md")), b"").unwrap();
    }

    let started = std::time::Instant::now();
    let server = Server::start("page-odd-server", &["--web", folder.0.to_str().unwrap()]);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let said = server.said().join("\n");
    let link = "a link (links are not served: copy the file)";
    for expected in [
        format!("secret.txt: {link}"),
        format!("environ.txt: {link}"),
        format!("elsewhere: {link}"),
        format!("dangling.js: {link}"),
        format!("env.txt: {link}"),
        format!("notes.txt: {link}"),
        format!("alias.js: {link}"),
        format!("pkg-again: {link}"),
        format!("n0/l0: {link}"),
        "fifo.js: not a regular file".into(),
        "hard.txt: a hard link (links are not served: copy the file)".into(),
        "x\\nsnp-vtpm-server: listening on fake.js: a name that needs URL encoding".into(),
        "and 40 more not served".into(),
    ] {
        assert!(said.contains(&expected), "{expected}: {said}");
    }
    assert!(
        !said
            .lines()
            .any(|line| line.starts_with("snp-vtpm-server: listening")),
        "{said}"
    );
    for target in [
        "/secret.txt",
        "/environ.txt",
        "/elsewhere/secret.txt",
        "/dangling.js",
        "/env.txt",
        "/notes.txt",
        "/alias.js",
        "/fifo.js",
        "/hard.txt",
        "/pkg-again/snp_vtpm.js",
        "/n0/l0/l0/l0/l0/l0/deep.js",
    ] {
        assert_eq!(raw(&server, "GET", target, &[]).status, 404, "{target}");
    }
    assert_eq!(raw(&server, "GET", "/n6/deep.js", &[]).body, b"// deep");
}

/// Over a limit, or with an index.html that is a link, the start stops at once, saying why.
#[test]
fn a_folder_over_the_limits_stops_the_start() {
    let fails = |dir: &std::path::Path, expected: &str| {
        let started = std::time::Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_snp-vtpm-server"))
            .args(["--listen", "127.0.0.1:0", "--web"])
            .arg(dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{expected}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{expected}: {stderr}");
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    };
    let files = page_folder("page-files");
    for i in 0..snp_vtpm_server::site::MAX_FILES {
        std::fs::write(files.0.join(format!("f{i}.txt")), b"").unwrap();
    }
    fails(&files.0, "more than 256 files");

    let entries = page_folder("page-entries");
    std::fs::create_dir_all(entries.0.join("notes")).unwrap();
    for i in 0..snp_vtpm_server::site::MAX_ENTRIES {
        std::fs::write(entries.0.join(format!("notes/{i}.md")), b"").unwrap();
    }
    fails(&entries.0, "notes/: more than 4096 entries");

    let bytes = page_folder("page-bytes");
    let large = std::fs::File::create(bytes.0.join("large.js")).unwrap();
    large.set_len(snp_vtpm_server::site::MAX_BYTES + 1).unwrap();
    drop(large);
    fails(
        &bytes.0,
        "large.js: the page's files are over 67108864 bytes",
    );

    #[cfg(unix)]
    {
        let linked = page_folder("page-linked-index");
        let outside = TempDir::new("page-linked-index-outside");
        std::fs::write(outside.0.join("index.html"), b"<!doctype html>").unwrap();
        std::fs::remove_file(linked.0.join("index.html")).unwrap();
        std::os::unix::fs::symlink(outside.0.join("index.html"), linked.0.join("index.html"))
            .unwrap();
        fails(&linked.0, "index.html is a link, and links are not served");
    }
}
