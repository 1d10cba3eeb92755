//! End-to-end harness: a fleet file in a temp dir, the `lkeobs` binary run against a [`World`] (the Linode
//! fake plus one fake Kubernetes API per cluster, with controllers), and checks every end-to-end test shares.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::support::FAKE_TOKEN;
use super::support::openapi;
use super::support::world::World;
use super::tooling::hermetic;

/// The fleet every end-to-end test starts from: a hub and two edges (one with a GPU pool), mTLS and the
/// gateway firewall on, a TTL so every resource carries an expiry tag.
/// `add-edge` of a one-node edge `fra` in de-fra-2, without verification.
pub const ADD_FRA: [&str; 9] = [
    "add-edge",
    "de-fra-2",
    "--name",
    "fra",
    "--node-type",
    "g6-standard-1",
    "--count",
    "1",
    "--no-verify",
];

pub const FLEET: &str = r#"# the e2e fleet
[fleet]
name = "e2e"
k8s_version = "1.32"
tags = ["team-obs"]
ttl = "2h"

[hub]
region = "us-ord"
pools = [{ type = "g6-standard-2", count = 2 }]

# edges
[edges.us]
region = "us-ord"
pools = [{ type = "g6-standard-1", count = 1 }]

[edges.eu]
region = "de-fra-2"
pools = [
  { type = "g6-standard-1", count = 1 },
  { type = "g2-gpu-rtx4000a1-s", count = 1 },
]

[security]
gateway_firewall = true
mtls = true

[stack]
retention = "1d"
gateway = { min_replicas = 1, max_replicas = 2 }
"#;

/// Cluster labels of [`FLEET`], plus an edge `add-edge` may create.
pub const LABELS: &[&str] = &["lkeobs-e2e-hub", "lkeobs-e2e-us", "lkeobs-e2e-eu", "lkeobs-e2e-fra"];

/// A temp dir holding the fleet file, the state cache and the kubeconfig.
pub struct Dir {
    pub tmp: tempfile::TempDir,
}

impl Dir {
    pub fn new(fleet: &str) -> Dir {
        let tmp = tempfile::tempdir().expect("temp dir");
        std::fs::write(tmp.path().join("fleet.toml"), fleet).expect("fleet file");
        Dir { tmp }
    }

    pub fn fleet(&self) -> PathBuf {
        self.tmp.path().join("fleet.toml")
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.tmp.path().join("kube").join("config")
    }

    pub fn state(&self) -> PathBuf {
        self.tmp.path().join("state")
    }

    pub fn command(&self, world: &World, args: &[&str]) -> Command {
        let mut cmd = hermetic::Sandbox::at(self.tmp.path()).lkeobs();
        cmd.env("LINODE_URL", world.linode.base_url())
            .env("LINODE_TOKEN", FAKE_TOKEN)
            .arg("--fleet")
            .arg(self.fleet())
            .args(args);
        cmd
    }

    /// Runs `lkeobs ARGS --output json` to the end: (exit code, stdout JSON, stderr).
    pub async fn run(&self, world: &World, args: &[&str]) -> (i32, Value, String) {
        self.run_env(world, args, &[]).await
    }

    /// [`Dir::run`] with these variables added to the (otherwise empty) environment.
    pub async fn run_env(&self, world: &World, args: &[&str], env: &[(&str, &str)]) -> (i32, Value, String) {
        let mut cmd = self.command(world, args);
        cmd.args(["--output", "json"]);
        cmd.envs(env.iter().copied());
        let out = tokio::task::spawn_blocking(move || cmd.output().expect("lkeobs runs"))
            .await
            .expect("join");
        let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (
            out.status.code().unwrap_or(-1),
            json,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs `lkeobs ARGS` with text output to the end: its stdout (the report a person reads).
    pub async fn run_text(&self, world: &World, args: &[&str]) -> String {
        let mut cmd = self.command(world, args);
        let out = tokio::task::spawn_blocking(move || cmd.output().expect("lkeobs runs"))
            .await
            .expect("join");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `lkeobs ARGS` with text output to the end: (exit code, stdout, stderr).
    pub async fn run_text_full(&self, world: &World, args: &[&str]) -> (i32, String, String) {
        let mut cmd = self.command(world, args);
        let out = tokio::task::spawn_blocking(move || cmd.output().expect("lkeobs runs"))
            .await
            .expect("join");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Starts `lkeobs ARGS` and kills it (SIGKILL, as a lost CI runner would) as soon as a progress line
    /// on stderr contains `marker`; returns the stderr seen. Panics if it ends before.
    pub async fn run_until(&self, world: &World, args: &[&str], marker: &str) -> String {
        let mut cmd = self.command(world, args);
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        let marker = marker.to_string();
        tokio::task::spawn_blocking(move || {
            let mut child: Child = cmd.spawn().expect("lkeobs starts");
            let stderr = child.stderr.take().expect("stderr");
            let mut seen = String::new();
            for line in BufReader::new(stderr).lines() {
                let line = line.unwrap_or_default();
                seen.push_str(&line);
                seen.push('\n');
                if line.contains(&marker) {
                    let _ = child.kill();
                    let _ = child.wait();
                    return seen;
                }
            }
            let status = child.wait().expect("wait");
            panic!("lkeobs ended ({status}) before printing {marker:?}:\n{seen}");
        })
        .await
        .expect("join")
    }
}

/// `/lke/clusters/123/pools` → the spec's `/lke/clusters/{clusterId}/pools`.
fn spec_path(spec: &Value, concrete: &str) -> Option<String> {
    let want: Vec<&str> = concrete.split('/').collect();
    spec["paths"].as_object()?.keys().find_map(|key| {
        let k = key.strip_prefix("/{apiVersion}").unwrap_or(key);
        let segs: Vec<&str> = k.split('/').collect();
        (segs.len() == want.len()
            && segs
                .iter()
                .zip(&want)
                .all(|(s, w)| s == w || (s.starts_with('{') && s.ends_with('}'))))
        .then(|| k.to_string())
    })
}

/// Checks every POST/PUT body the fake received against the official OpenAPI spec (skips loudly when the
/// spec is absent and CI is unset). Returns how many bodies were checked.
/// Whether the OpenAPI spec is there to check against (absent: the check skipped loudly, or failed under CI).
pub fn spec_available() -> bool {
    openapi::load("LKEOBS_LINODE_OPENAPI", "openapi.json").is_some()
}

pub fn assert_requests_match_the_spec(world: &World) -> usize {
    let Some(spec) = openapi::load("LKEOBS_LINODE_OPENAPI", "openapi.json") else {
        return 0;
    };
    let log = world.linode.state().log.clone();
    let mut checked = 0;
    for r in log.iter().filter(|r| r.injected.is_none()) {
        if !matches!(r.method.as_str(), "POST" | "PUT") {
            continue;
        }
        let Some(body) = &r.body else { continue };
        let path = spec_path(&spec, &r.path).unwrap_or_else(|| panic!("{} is not in the spec", r.path));
        let schema = openapi::request_schema(&spec, &r.method, &path);
        let errors = openapi::violations(&schema, body);
        assert!(
            errors.is_empty(),
            "{} {} body {body} breaks the spec: {errors:?}",
            r.method,
            r.path
        );
        checked += 1;
    }
    checked
}

/// Linode write calls (not injected faults) since the log was last cleared.
pub fn linode_writes(world: &World) -> Vec<String> {
    world
        .linode
        .state()
        .log
        .iter()
        .filter(|r| r.injected.is_none() && !matches!(r.method.as_str(), "GET" | "HEAD"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// Kubernetes write calls (dry runs excluded) in every cluster since the logs were last cleared.
pub fn k8s_writes(world: &World) -> Vec<String> {
    let mut out = Vec::new();
    for label in LABELS {
        if let Some(k) = world.k8s(label) {
            for w in k.writes() {
                if w.query.get("dryRun").map(String::as_str) != Some("All") {
                    out.push(format!("{label}: {} {}", w.method, w.path));
                }
            }
        }
    }
    out
}

pub fn clear_logs(world: &World) {
    world.linode.state().log.clear();
    for label in LABELS {
        if let Some(k) = world.k8s(label) {
            k.clear_log();
        }
    }
}

/// Labels of the clusters in the fake, sorted (duplicates would show twice).
pub fn cluster_labels(world: &World) -> Vec<String> {
    let mut v: Vec<String> = world
        .linode
        .state()
        .clusters
        .values()
        .map(|c| c["label"].as_str().unwrap_or_default().to_string())
        .collect();
    v.sort();
    v
}

/// Addresses the gateway firewall allows, sorted.
pub fn firewall_ips(world: &World) -> Vec<String> {
    let st = world.linode.state();
    let mut ips: Vec<String> = st
        .firewalls
        .values()
        .flat_map(|f| f["rules"]["inbound"].as_array().cloned().unwrap_or_default())
        .flat_map(|r| r["addresses"]["ipv4"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(|s| s.trim_end_matches("/32").to_string()))
        .collect();
    ips.sort();
    ips
}

/// Public addresses of the node Linodes of the clusters with these labels, sorted.
pub fn node_ips(world: &World, labels: &[&str]) -> Vec<String> {
    let st = world.linode.state();
    let ids: Vec<u64> = st
        .clusters
        .iter()
        .filter(|(_, c)| labels.contains(&c["label"].as_str().unwrap_or_default()))
        .map(|(id, _)| *id)
        .collect();
    let mut ips: Vec<String> = st
        .instances
        .values()
        .filter(|i| ids.contains(&i["lke_cluster_id"].as_u64().unwrap_or(0)))
        .filter_map(|i| i["ipv4"][0].as_str().map(str::to_string))
        .collect();
    ips.sort();
    ips
}

/// The API calls a report counted, in total.
pub fn total_calls(report: &Value) -> u64 {
    report["api_calls"]
        .as_object()
        .map(|m| m.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0)
}

pub fn path_exists(p: &Path) -> bool {
    p.exists()
}
