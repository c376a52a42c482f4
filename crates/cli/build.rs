//! Records the commit the binary is built from, for `snp-vtpm --version`: `SNP_VTPM_COMMIT`
//! when set (a packager's build), else `git rev-parse`, else "unknown" (a crates.io build).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

/// The commit of the checkout this crate is in, with "-dirty" when tracked files differ from
/// it; none when the crate sits in some other repository (a vendored copy).
fn own_commit() -> Option<String> {
    let top = git(&["rev-parse", "--show-toplevel"])?;
    let workspace = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").ok()?)
        .join("../..")
        .canonicalize()
        .ok()?;
    if std::path::Path::new(&top).canonicalize().ok()? != workspace {
        return None;
    }
    let commit = git(&["rev-parse", "HEAD"])?;
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .is_some_and(|o| !o.stdout.is_empty());
    Some(if dirty {
        format!("{commit}-dirty")
    } else {
        commit
    })
}

fn main() {
    println!("cargo:rerun-if-env-changed=SNP_VTPM_COMMIT");
    let commit = std::env::var("SNP_VTPM_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(own_commit)
        .unwrap_or_else(|| "unknown".into());
    // Rebuild when HEAD moves: HEAD itself, and the branch file it names.
    // (Only files that exist: cargo reruns a script whose watched file is missing every time.)
    let watch = |path: Option<String>| {
        if let Some(path) = path.filter(|p| std::path::Path::new(p).exists()) {
            println!("cargo:rerun-if-changed={path}");
        }
    };
    watch(git(&["rev-parse", "--git-path", "HEAD"]));
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch(git(&["rev-parse", "--git-path", &branch]));
    }
    watch(git(&["rev-parse", "--git-path", "packed-refs"]));
    // Staged or edited sources change what "-dirty" says.
    watch(git(&["rev-parse", "--git-path", "index"]));
    watch(Some("../../crates".into()));
    println!("cargo:rustc-env=SNP_VTPM_COMMIT={commit}");
}
