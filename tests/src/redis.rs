//! A private redis-server for one test: a free loopback port, no persistence, killed on drop;
//! it can be stopped and started again on the same port (to test a lost nonce store), and can
//! speak TLS only (`rediss://`).
//!
//! Tests skip with a message when redis-server is not installed, except under `CI=true`, where
//! its absence is a failure (`cargo xtask test` installs it).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether redis-server can run here; under `CI=true` its absence panics instead of skipping.
pub fn available() -> bool {
    crate::installed("redis-server")
}

/// A running (or stopped) redis-server on a fixed loopback port.
#[derive(Debug)]
pub struct Redis {
    child: Option<Child>,
    port: u16,
    /// TLS only: the certificate and key files it serves (`rediss://`).
    tls: Option<(PathBuf, PathBuf)>,
}

impl Redis {
    /// Starts redis-server on a free loopback port, without persistence.
    pub fn start() -> std::io::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut redis = Self {
            child: None,
            port,
            tls: None,
        };
        redis.restart()?;
        Ok(redis)
    }

    /// Starts redis-server speaking TLS only, with this certificate and key (PEM), clients
    /// not asked for certificates.
    pub fn start_tls(certificate: &Path, key: &Path) -> std::io::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut redis = Self {
            child: None,
            port,
            tls: Some((certificate.to_path_buf(), key.to_path_buf())),
        };
        redis.restart()?;
        Ok(redis)
    }

    /// `redis://127.0.0.1:PORT`, or `rediss://` when it speaks TLS.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Stops the server (the port stays reserved for [`Redis::restart`] in practice).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on its port, empty, and waits until it accepts connections.
    pub fn restart(&mut self) -> std::io::Result<()> {
        self.stop();
        let mut command = Command::new("redis-server");
        match &self.tls {
            None => command.args(["--port", &self.port.to_string()]),
            Some((certificate, key)) => command
                .args(["--port", "0", "--tls-port", &self.port.to_string()])
                .arg("--tls-cert-file")
                .arg(certificate)
                .arg("--tls-key-file")
                .arg(key)
                .args(["--tls-auth-clients", "no"]),
        };
        let child = command
            .args(["--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(std::io::Error::other(format!(
            "redis-server did not listen on port {} within 10 s",
            self.port
        )))
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}
