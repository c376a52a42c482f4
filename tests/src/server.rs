//! A server binary under test on a loopback port: started with its options, found by the
//! "listening on URL" line it prints on stderr, its log drained so it never blocks, killed on
//! drop. `snp-vtpm-server` is run this way by its tests, `cargo xtask attest` and
//! `cargo xtask load`.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running server process; killed on drop.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    url: String,
    said: Vec<String>,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    /// Runs `binary` with `options` (which must make it listen on a loopback port, for
    /// example `--listen 127.0.0.1:0`); returns once it says where it listens, or with what it
    /// said before it stopped.
    pub fn start<S: AsRef<OsStr>>(binary: &Path, options: &[S]) -> Result<Self, String> {
        Self::start_with_env(binary, options, &[])
    }

    /// [`ServerProcess::start`] with these environment variables set for the process.
    pub fn start_with_env<S: AsRef<OsStr>>(
        binary: &Path,
        options: &[S],
        env: &[(&str, &OsStr)],
    ) -> Result<Self, String> {
        let mut child = Command::new(binary)
            .args(options)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let mut said = Vec::new();
        let url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    // `NAME: listening on URL ...` (a line that merely contains the words, such
                    // as a logged file name, is not it).
                    let said_by = line
                        .split_once(": ")
                        .map_or(line.as_str(), |(_, rest)| rest);
                    if let Some(rest) = said_by.strip_prefix("listening on ") {
                        break rest
                            .split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_string();
                    }
                    said.push(line);
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "{} stopped before listening: {}",
                        binary.display(),
                        said.join(" / ")
                    ));
                }
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Ok(Self { child, url, said })
    }

    /// The base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What it printed before it said where it listens (warnings, what it serves).
    pub fn said(&self) -> &[String] {
        &self.said
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}
