//! `snp-vtpm-server`: see the library documentation and docs/server.md.

use std::process::ExitCode;

use clap::Parser;
use snp_vtpm_server::config::{Args, Config};

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(path) = &args.generate_key {
        return match generate_key(path, &args.key_algorithm) {
            Ok(kid) => {
                println!("{kid}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("snp-vtpm-server: {e}");
                ExitCode::from(1)
            }
        };
    }
    let config = match Config::load(args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("snp-vtpm-server: {e}");
            return ExitCode::from(1);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("snp-vtpm-server: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(snp_vtpm_server::serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("snp-vtpm-server: {e}");
            ExitCode::from(1)
        }
    }
}

/// Writes a new key to `path` (never over an existing file; mode 0600 on Unix); returns its kid.
fn generate_key(path: &std::path::Path, algorithm: &str) -> Result<String, String> {
    use std::io::Write as _;
    let algorithm = ear_token::Algorithm::from_name(algorithm)
        .ok_or_else(|| format!("--key-algorithm \"{algorithm}\": expected ES256 or ES384"))?;
    let key = ear_token::SigningKey::generate(algorithm).map_err(|e| e.to_string())?;
    let pem = key.to_pem().map_err(|e| e.to_string())?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| format!("--generate-key {}: {e}", path.display()))?;
    file.write_all(pem.as_bytes())
        .map_err(|e| format!("--generate-key {}: {e}", path.display()))?;
    Ok(key.kid().to_string())
}
