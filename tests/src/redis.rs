//! A private redis-server for one test: a free loopback port, no persistence, killed on drop;
//! it can be stopped and started again on the same port (to test a lost nonce store).
//!
//! Tests skip with a message when redis-server is not installed, except under `CI=true`, where
//! its absence is a failure (`cargo xtask test` installs it).

use std::net::{TcpListener, TcpStream};
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
}

impl Redis {
    /// Starts redis-server on a free loopback port, without persistence.
    pub fn start() -> std::io::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut redis = Self { child: None, port };
        redis.restart()?;
        Ok(redis)
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
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
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
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
