//! Writes the vectors that come as separate parts (milan-v2's HCL report, quote and VCEK; the
//! TDX sample's HCL report, TD quote, vTPM quote and AK certificate) as evidence JSON files into
//! the directory given, for the tests of the npm package and the web page, which read evidence
//! files only. Nothing it writes is committed: it is generated from ../shared/vectors.

use std::path::PathBuf;
use std::process::ExitCode;

use snp_vtpm_testkit::evidence::{milan_v2_evidence, tdx_vm1_evidence};

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: vector-evidence DIR");
        return ExitCode::from(1);
    };
    let files = [
        ("milan-v2.json", milan_v2_evidence()),
        ("tdx-vm1.json", tdx_vm1_evidence()),
    ];
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("{}: {e}", dir.display());
        return ExitCode::from(1);
    }
    for (name, evidence) in files {
        let path = dir.join(name);
        if let Err(e) = std::fs::write(&path, evidence.to_json()) {
            eprintln!("{}: {e}", path.display());
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}
