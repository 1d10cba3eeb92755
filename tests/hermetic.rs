//! No test runs a program with the developer's environment: the one helper that starts programs
//! (`tooling::hermetic::Sandbox`) clears it and points HOME, KUBECONFIG and the XDG folders into a folder of
//! the test's own. `.ci/run` also proves a developer's KUBECONFIG file byte-identical after the whole suite.

use crate::tooling;

use tooling::hermetic::Sandbox;

const ALLOWED: [&str; 9] = [
    "PATH",
    "HOME",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "KUBECONFIG",
    "NO_COLOR",
    // Set by the shell `env` runs under on some systems; not inherited from the test.
    "PWD",
];

#[test]
fn a_sandboxed_program_sees_none_of_the_parent_environment() {
    let sandbox = Sandbox::new();
    let out = sandbox.command("env").output().expect("env runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let vars: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once('=')).collect();
    for (name, _) in &vars {
        assert!(ALLOWED.contains(name), "{name} leaked into a test's program:\n{text}");
    }
    let root = sandbox.root().to_string_lossy().into_owned();
    for name in ["HOME", "KUBECONFIG", "XDG_STATE_HOME", "XDG_CONFIG_HOME"] {
        let value = vars.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        assert!(
            value.is_some_and(|v| v.starts_with(&root)),
            "{name} must point into the sandbox {root}: {value:?}"
        );
    }
}

#[test]
fn lkeobs_runs_in_a_fresh_sandbox_each_time() {
    let a = Sandbox::new();
    let b = Sandbox::new();
    assert_ne!(a.kubeconfig(), b.kubeconfig());
    let dev = std::env::var_os("KUBECONFIG");
    if let Some(dev) = dev {
        assert_ne!(std::path::PathBuf::from(dev), a.kubeconfig());
    }
}

/// No test starts the lkeobs binary (or a project script) but through the sandbox: no test file names the
/// binary's path itself, and the project's scripts are started only by `Sandbox::command`.
#[test]
fn only_the_sandbox_starts_the_binary() {
    let tests = tooling::root().join("tests");
    let mut offenders = Vec::new();
    let mut stack = vec![tests.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("tests folder").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            // The sandbox itself, and this check, name the binary.
            if path.extension().is_none_or(|e| e != "rs")
                || path.ends_with("tooling/hermetic.rs")
                || path.ends_with("tests/hermetic.rs")
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for needle in ["cargo_bin(", "CARGO_BIN_EXE", "target/debug/lkeobs"] {
                if text.contains(needle) {
                    offenders.push(format!("{}: {needle}", path.display()));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "start lkeobs through tooling::hermetic::Sandbox: {offenders:#?}"
    );
}
