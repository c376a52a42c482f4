//! Test support shared by the workspace's tests: locating and decoding the real vectors in
//! `../shared/vectors` (never copied into the repository), and a deterministic test PKI shaped
//! like AMD's for everything the real vectors cannot show.
#![forbid(unsafe_code)]

pub mod azure;
pub mod eventlog;
pub mod evidence;
pub mod fuzzing;
pub mod pki;
pub mod redis;
pub mod schema;
pub mod server;
pub mod swtpm;
pub mod vectors;

/// Runs `program` with `args` and without the `SNP_VTPM_*` settings of the caller's
/// environment: (exit code, stdout, stderr); -1 when a signal ended it.
pub fn run_program(program: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let mut command = std::process::Command::new(program);
    command.args(args);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SNP_VTPM_") {
            command.env_remove(name);
        }
    }
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether `program` runs here (`program --version` succeeds). Tests that need it skip with a
/// message when it is missing, except under `CI=true`, where its absence panics: CI must test
/// with the real thing (`cargo xtask test` installs it).
pub fn installed(program: &str) -> bool {
    installed_with(program, "--version")
}

/// [`installed`] for a program whose version is asked otherwise (`openssl version`).
pub fn installed_with(program: &str, version_argument: &str) -> bool {
    let found = std::process::Command::new(program)
        .arg(version_argument)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "{program} is not installed, and CI=true makes that a failure: run `cargo xtask test`, which installs it"
            );
        }
        eprintln!("skipping: {program} is not installed (cargo xtask test installs it)");
    }
    found
}

/// Makes a FIFO at `path` (with `mkfifo`, which coreutils provides): tests check that readers
/// of operator-given paths neither hang on one nor serve it.
pub fn make_fifo(path: &std::path::Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .is_ok_and(|s| s.success());
    assert!(made, "mkfifo {} failed", path.display());
}
