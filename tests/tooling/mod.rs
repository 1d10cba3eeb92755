//! Shared helpers for integration tests: the binary, example fleets, and external tools that skip loudly locally but fail under CI.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `fleet/<name>.toml`.
pub fn fleet(name: &str) -> PathBuf {
    root().join("fleet").join(format!("{name}.toml"))
}

/// The example fleets every render check covers.
pub const EXAMPLE_FLEETS: [&str; 3] = ["example", "prod", "ci"];

pub mod hermetic;
pub mod skips;

/// The lkeobs binary in a sandbox of its own ([`hermetic::Sandbox`]): an empty environment (no colour, no
/// inherited fleet, token, API URL or `CI`), HOME, KUBECONFIG and XDG folders in a fresh folder, run from the
/// crate root. `CI=true` without a terminal implies `--yes`: tests opt in explicitly.
pub fn lkeobs() -> assert_cmd::Command {
    let mut cmd = hermetic::Sandbox::new().lkeobs();
    cmd.current_dir(root());
    assert_cmd::Command::from_std(cmd)
}

/// Whether this run is CI (`CI=true`), where a missing tool is a failure, not a skip.
pub fn in_ci() -> bool {
    lkeobs::ci::is_ci()
}

/// Finds an external tool: `$ENV_VAR` if set, else `name` on PATH. None means: skip (locally) or fail (CI).
pub fn tool(env_var: &str, name: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env_var) {
        let p = PathBuf::from(p);
        return p.exists().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// Returns the tool or, when it is missing, records the skip ([`skips::skip`]) and returns None — or panics under CI.
pub fn require_tool(env_var: &str, name: &str, install_hint: &str) -> Option<PathBuf> {
    match tool(env_var, name) {
        Some(p) => Some(p),
        None => {
            skips::skip(
                name,
                &format!("not found (set {env_var} or put it on PATH; {install_hint})"),
            );
            None
        }
    }
}

/// Runs `lkeobs render --out DIR` for a fleet and returns DIR/<cluster> folders.
pub fn render_to(fleet_name: &str, dir: &Path) -> Vec<PathBuf> {
    lkeobs()
        .args(["render", "--fleet"])
        .arg(fleet(fleet_name))
        .arg("--out")
        .arg(dir)
        .assert()
        .success();
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("render dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

/// Runs a command and returns (success, combined output).
pub fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("tool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Prometheus' `promtool` (Debian `prometheus`), or `None` after a loud skip message (an error under CI).
pub fn promtool() -> Option<PathBuf> {
    require_tool("PROMTOOL", "promtool", "apt-get install prometheus")
}

/// Alertmanager's `amtool` (Debian `prometheus-alertmanager`, 0.25), or `None` after a loud skip (an error under CI).
pub fn amtool() -> Option<PathBuf> {
    require_tool("AMTOOL", "amtool", "apt-get install prometheus-alertmanager")
}

/// Alertmanager itself (Debian `prometheus-alertmanager` installs it as `prometheus-alertmanager`).
pub fn alertmanager() -> Option<PathBuf> {
    require_tool(
        "ALERTMANAGER",
        "prometheus-alertmanager",
        "apt-get install prometheus-alertmanager",
    )
}

/// The `kubernetes-validate` tool (PyPI), or `None` after a loud skip message (an error under CI).
pub fn kubernetes_validate() -> Option<PathBuf> {
    require_tool(
        "KUBERNETES_VALIDATE",
        "kubernetes-validate",
        "pip install kubernetes-validate",
    )
}

/// moto's S3-compatible server (`moto_server`, PyPI `moto[server]`), or `None` after a loud skip (an error under
/// CI).
pub fn moto_server() -> Option<PathBuf> {
    require_tool("MOTO_SERVER", "moto_server", "pip install 'moto[server]'")
}

/// Every rendered document of `cluster` when `fleet_text` is rendered by the binary (empty documents dropped).
pub fn render_docs(fleet_text: &str, cluster: &str) -> Vec<serde_yaml_ng::Value> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("fleet.toml");
    std::fs::write(&path, fleet_text).expect("fleet file");
    let out = lkeobs()
        .args(["render", "--cluster", cluster, "--fleet"])
        .arg(&path)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).expect("utf-8");
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| <serde_yaml_ng::Value as serde::Deserialize>::deserialize(d).expect("a YAML document"))
        .filter(|v| !v.is_null())
        .collect()
}

/// The collector config in ConfigMap `name` among `docs`.
pub fn collector_config(docs: &[serde_yaml_ng::Value], name: &str) -> serde_yaml_ng::Value {
    let cm = docs
        .iter()
        .find(|v| v["kind"] == "ConfigMap" && v["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no ConfigMap {name}"));
    serde_yaml_ng::from_str(cm["data"]["config.yaml"].as_str().expect("config.yaml")).expect("collector config parses")
}

/// The load generator Job `lkeobs loadtest` puts in an edge, at the default rates for 5 minutes.
pub fn loadtest_job() -> serde_json::Value {
    let spec = lkeobs::ops::loadtest::job::Spec {
        fleet: "example",
        edge: "us-east",
        run_id: "0123abcd",
        rates: lkeobs::ops::loadtest::Rates {
            traces: 1000.0,
            metrics: 5000.0,
            logs: 2000.0,
        },
        duration: std::time::Duration::from_secs(300),
    };
    lkeobs::ops::loadtest::job::manifest(&spec)
}
