//! The JSON reports (`--output json`) of every command with one, run as a pipeline runs them against
//! `lkeobs sim` (seeded, so ids repeat), pinned as snapshots with what varies from run to run redacted:
//! ports, times, durations, the temp folder, the simulator's token, ids and addresses (they follow the order
//! concurrent creates arrive in), random trace and run ids, pod name suffixes, the counts in probe details and
//! the API call counts.

use crate::tooling;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

use serde_json::Value;
use tooling::hermetic::Sandbox;

/// A running `lkeobs sim`, killed when dropped.
struct Sim {
    child: Child,
    report: Value,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sim {
    fn url(&self) -> &str {
        self.report["linode_url"].as_str().expect("linode_url")
    }
    fn token(&self) -> &str {
        self.report["linode_token"].as_str().expect("linode_token")
    }
}

/// Starts `lkeobs sim --output json --seed 7` and reads its JSON report (one pretty-printed object).
fn start_sim() -> Sim {
    let mut child = Sandbox::new()
        .lkeobs()
        .args(["sim", "--output", "json", "--speed", "600", "--seed", "7"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("lkeobs sim starts");
    let stdout = child.stdout.take().expect("its stdout");
    let mut text = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("a line of the report");
        text.push_str(&line);
        text.push('\n');
        if line == "}" {
            break;
        }
    }
    let report = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    Sim { child, report }
}

/// Runs `lkeobs ARGS --output json` against the simulator; (exit code, the JSON report).
fn run(sim: &Sim, dir: &Path, args: &[&str]) -> (i32, Value) {
    let out = Sandbox::at(&dir.join("sandbox"))
        .lkeobs()
        .current_dir(dir)
        .env("LINODE_URL", sim.url())
        .env("LINODE_TOKEN", sim.token())
        .arg("--fleet")
        .arg(dir.join("lkeobs.toml"))
        .args(["--yes", "--output", "json"])
        .args(args)
        .output()
        .expect("lkeobs runs");
    let code = out.status.code().unwrap_or(-1);
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: stdout is not one JSON document ({e}); exit {code}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, report)
}

/// Keys whose numbers are times or durations, or counts of polls that depend on timing.
fn varies(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "ms",
        "secs",
        "seconds",
        "duration",
        "elapsed",
        "latency",
        "took",
        "age",
        "time",
        "_at",
        "since",
        "api_calls",
    ]
    .iter()
    .any(|w| k.contains(w))
}

/// Replaces what varies from run to run in `v` (see the module doc).
fn redact(v: &mut Value, key: &str, fixed: &[(String, &str)]) {
    let port = regex::Regex::new(r"127\.0\.0\.1:\d+").expect("regex");
    let stamp = regex::Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})").expect("regex");
    let clock = regex::Regex::new(r"\b\d+(\.\d+)?(ns|µs|us|ms|s|m|h)\b").expect("regex");
    // Trace and canary run ids (random hex), and the random suffix of a pod's name.
    let hex = regex::Regex::new(r"\b[0-9a-f]{16,32}\b").expect("regex");
    let pod = regex::Regex::new(r"(-[0-9a-z]{8,10})-[0-9a-z]{5}\b").expect("regex");
    let number = regex::Regex::new(r"\b\d+(\.\d+)?").expect("regex");
    let ipv4 = regex::Regex::new(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b").expect("regex");
    match v {
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                if k == "api_calls" {
                    *x = Value::String("[API_CALLS]".into());
                } else if k == "swept_nodebalancers" || k == "swept_volumes" {
                    // Whether the cloud controller and the CSI driver deleted them before the cluster went,
                    // or the sweep did, depends on timing; what is left behind is snapshotted as it is.
                    *x = Value::String("[SWEPT]".into());
                } else {
                    redact(x, k, fixed);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| redact(x, key, fixed)),
        // Ids follow the order the concurrent creates reached the simulator.
        Value::Number(_) if key == "id" || key.ends_with("_id") => *v = Value::String("[ID]".into()),
        Value::Number(n) if varies(key) || n.is_f64() => *v = Value::String("[N]".into()),
        Value::String(s) => {
            let mut t = s.clone();
            for (from, to) in fixed {
                t = t.replace(from.as_str(), to);
            }
            let t = port.replace_all(&t, "127.0.0.1:[PORT]");
            // Node and NodeBalancer addresses follow the same order; loopback stays.
            let t = ipv4.replace_all(&t, |c: &regex::Captures| {
                if &c[0] == "127.0.0.1" {
                    c[0].to_string()
                } else {
                    "[IP]".to_string()
                }
            });
            let t = hex.replace_all(&t, "[HEX]");
            let t = pod.replace_all(&t, "$1-[POD]");
            let t = stamp.replace_all(&t, "[TIME]");
            let t = if varies(key) {
                clock.replace_all(&t, "[DURATION]")
            } else {
                t
            };
            // A probe's detail counts what the simulated stores hold at that moment (traces, series, ages).
            let t = if key == "detail" {
                number.replace_all(&t, "[N]")
            } else {
                t
            };
            *s = t.into_owned();
        }
        _ => {}
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).expect("JSON")
}

#[test]
fn every_commands_json_report_against_lkeobs_sim() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fleet/example.toml"),
        dir.path().join("lkeobs.toml"),
    )
    .expect("the example fleet");
    let sim = start_sim();
    let fixed = vec![
        (dir.path().display().to_string(), "[DIR]"),
        (sim.token().to_string(), "[TOKEN]"),
    ];
    let mut sim_report = sim.report.clone();
    redact(&mut sim_report, "", &fixed);
    insta::assert_snapshot!("json_sim", pretty(&sim_report));

    let kubeconfig = dir.path().join("kubeconfig.yaml");
    let kubeconfig_arg = kubeconfig.to_string_lossy().into_owned();
    let steps: [(&str, Vec<&str>, i32); 11] = [
        ("validate", vec!["validate"], 0),
        ("plan_empty_account", vec!["plan"], 0),
        ("up", vec!["up", "--verify-wait", "1m"], 0),
        ("plan_converged", vec!["plan"], 0),
        ("status", vec!["status"], 0),
        ("verify_canary", vec!["verify", "--canary"], 0),
        ("kubeconfig", vec!["kubeconfig", "--out", &kubeconfig_arg], 0),
        (
            "add_edge",
            vec![
                "add-edge",
                "de-fra-2",
                "--name",
                "fra",
                "--node-type",
                "g6-standard-1",
                "--count",
                "1",
                "--no-verify",
            ],
            0,
        ),
        ("remove_edge", vec!["remove-edge", "fra"], 0),
        ("reap_dry_run", vec!["reap", "--dry-run"], 0),
        ("teardown", vec!["teardown"], 0),
    ];
    for (name, args, want) in steps {
        let (code, mut report) = run(&sim, dir.path(), &args);
        assert_eq!(code, want, "{name}: {report:#}");
        redact(&mut report, "", &fixed);
        insta::assert_snapshot!(format!("json_{name}"), pretty(&report));
    }
}

#[test]
fn the_redaction_keeps_what_is_stable_and_hides_what_varies() {
    let mut v = serde_json::json!({
        "id": 12, "cluster_id": 7, "ip": "203.0.113.4/32", "took_ms": 31, "url": "http://127.0.0.1:4711/v4", "at": "2026-12-07T03:00:00Z",
        "duration": "1.5s", "name": "hub 2s", "ratio": 0.5, "api_calls": {"GET /x": 3}, "path": "/tmp/x/y",
        "detail": "trace 2e33c78444ae2f04343304a21a894455, run id b130ceb92d11883f, pod otel-gateway-7478869745-gw84t, 2 trace(s) 30s ago"
    });
    redact(&mut v, "", &[("/tmp/x".to_string(), "[DIR]")]);
    assert_eq!(
        v,
        serde_json::json!({
            "id": "[ID]", "cluster_id": "[ID]", "ip": "[IP]/32", "took_ms": "[N]", "url": "http://127.0.0.1:[PORT]/v4", "at": "[TIME]",
            "duration": "[DURATION]", "name": "hub 2s", "ratio": "[N]", "api_calls": "[API_CALLS]", "path": "[DIR]/y",
            "detail": "trace [HEX], run id [HEX], pod otel-gateway-[N]-[POD], [N] trace(s) [N]s ago"
        })
    );
}
