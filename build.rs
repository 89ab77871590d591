//! Builds the admin console (frontend/, React + Vite) so `cargo build` is the only step: the
//! binary embeds frontend/dist. Set EXALATE_SKIP_FRONTEND_BUILD=1 to skip (pages then say the
//! console is not built).

use std::path::Path;
use std::process::Command;

fn run(dir: &Path, args: &[&str]) {
    let status = Command::new("npm")
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "could not run npm ({e}): install Node.js 20+ or set EXALATE_SKIP_FRONTEND_BUILD=1"
            )
        });
    if !status.success() {
        panic!(
            "`npm {}` failed in frontend/ (see its output above)",
            args.join(" ")
        );
    }
}

fn main() {
    println!("cargo:rerun-if-env-changed=EXALATE_SKIP_FRONTEND_BUILD");
    let fe = Path::new("frontend");
    for p in [
        "package.json",
        "package-lock.json",
        "index.html",
        "vite.config.mts",
        "tsconfig.json",
        "src",
    ] {
        println!("cargo:rerun-if-changed=frontend/{p}");
    }
    // Any value but "0" or "false" skips the build.
    let skip = std::env::var("EXALATE_SKIP_FRONTEND_BUILD")
        .map(|v| v != "0" && !v.eq_ignore_ascii_case("false"))
        .unwrap_or(false);
    if skip || !fe.join("package.json").exists() {
        return;
    }
    let lock_newer = || -> bool {
        let m = |p: &Path| p.metadata().and_then(|m| m.modified()).ok();
        match (
            m(&fe.join("package-lock.json")),
            m(&fe.join("node_modules/.package-lock.json")),
        ) {
            (Some(lock), Some(installed)) => lock > installed,
            _ => true,
        }
    };
    if !fe.join("node_modules").exists() || lock_newer() {
        run(fe, &["ci", "--no-audit", "--no-fund"]);
    }
    run(fe, &["run", "build"]);
}
