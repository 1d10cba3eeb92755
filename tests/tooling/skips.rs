//! The one way a test skips (a tool or Linode's OpenAPI spec is missing): a loud message, a line in the
//! run's skip log that `scripts/test` prints at the end (libtest hides a passing test's stderr), and under
//! `CI=true` a failure instead.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;

/// The skip log of this target dir: one line per skip, `<test binary>: <what>: <why>`.
pub fn log_path() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lkeobs-skips.log")
}

/// Records that `what` was skipped because `why`, or panics when this run is CI.
pub fn skip(what: &str, why: &str) {
    if lkeobs::ci::is_ci() {
        panic!("{what}: required under CI, and {why}");
    }
    eprintln!("\n*** SKIPPED: {what}: {why}. CI=true makes this a failure. ***\n");
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|s| s.rsplit_once('-').map_or(s.clone(), |(name, _hash)| name.to_string()))
        .unwrap_or_default();
    // libtest names the test's thread after it; nextest runs one test per process on its main thread.
    let test = std::env::var("NEXTEST_TEST_NAME")
        .ok()
        .or_else(|| std::thread::current().name().map(str::to_string))
        .unwrap_or_default();
    let line = format!("{binary}::{test}: {what}: {why}\n");
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path())
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        panic!(
            "the skip of {what} could not be recorded in {}: {e}",
            log_path().display()
        );
    }
}
