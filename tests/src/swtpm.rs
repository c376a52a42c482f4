//! A private swtpm for one test: free loopback ports, a fresh state directory, killed on drop.
//!
//! Tests skip with a message when swtpm is not installed, except under `CI=true`, where a
//! missing simulator is a failure (CI must test the guest side for real).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running swtpm.
#[derive(Debug)]
pub struct Swtpm {
    child: Child,
    port: u16,
    state: PathBuf,
}

/// Whether swtpm can run here; under `CI=true` its absence panics instead of skipping.
pub fn available() -> bool {
    crate::installed("swtpm")
}

impl Swtpm {
    /// Starts swtpm on two free consecutive loopback ports with an empty state.
    pub fn start() -> std::io::Result<Self> {
        let mut last_error = None;
        for _ in 0..20 {
            let port = free_port_pair()?;
            let state =
                std::env::temp_dir().join(format!("snp-vtpm-swtpm-{}-{port}", std::process::id()));
            std::fs::create_dir_all(&state)?;
            let child = Command::new("swtpm")
                .args(["socket", "--tpm2", "--tpmstate"])
                .arg(format!("dir={}", state.display()))
                .args([
                    "--server",
                    &format!("type=tcp,port={port},bindaddr=127.0.0.1"),
                ])
                .args([
                    "--ctrl",
                    &format!("type=tcp,port={},bindaddr=127.0.0.1", port + 1),
                ])
                .args(["--flags", "not-need-init,startup-clear"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()?;
            let mut swtpm = Self { child, port, state };
            match swtpm.wait_ready(Duration::from_secs(5)) {
                Ok(()) => return Ok(swtpm),
                Err(e) => last_error = Some(e), // the port was taken meanwhile: try another
            }
        }
        Err(last_error.unwrap_or_else(|| std::io::Error::other("swtpm did not start")))
    }

    fn wait_ready(&mut self, limit: Duration) -> std::io::Result<()> {
        let started = Instant::now();
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait()? {
                return Err(std::io::Error::other(format!("swtpm exited: {status}")));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(50)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Err(std::io::Error::other("swtpm did not listen in time"))
    }

    /// The TCTI string for tss-esapi.
    pub fn tcti(&self) -> String {
        format!("swtpm:host=127.0.0.1,port={}", self.port)
    }

    /// The command port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id (to check it is gone after drop).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.state);
    }
}

/// Two free consecutive ports (swtpm's control port is the command port + 1), below the
/// kernel's ephemeral range (32768 and up): there, the odd port after a port the kernel hands
/// out for `bind(0)` is often a client connection's (in TIME-WAIT after a busy test), so a
/// pair is rarely free when many connections were made.
fn free_port_pair() -> std::io::Result<u16> {
    use std::hash::{BuildHasher, Hasher};
    for attempt in 0..400u64 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(attempt);
        let port = 10_000 + u16::try_from(hasher.finish() % 20_000).unwrap_or(0);
        let Ok(first) = TcpListener::bind(("127.0.0.1", port)) else {
            continue;
        };
        if TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            drop(first);
            return Ok(port);
        }
    }
    Err(std::io::Error::other(
        "no two free consecutive loopback ports between 10000 and 30000",
    ))
}
