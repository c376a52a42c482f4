//! `snp-vtpm-server`: see the library documentation and docs/server.md.

use std::process::ExitCode;

use clap::Parser;
use snp_vtpm_server::config::{Args, Config};

fn main() -> ExitCode {
    let config = match Config::load(Args::parse()) {
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
