//! The binary's behaviour as a user sees it: commands, exit codes, stdout/stderr split, JSON output.

use crate::tooling;

use predicates::prelude::*;
use tooling::{fleet, lkeobs};

#[test]
fn validate_example_fleets_prints_one_line_summary() {
    lkeobs()
        .args(["validate", "--fleet"])
        .arg(fleet("prod"))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "fleet \"prod\" is valid (offline checks only): 4 cluster(s) (hub + 3 edge(s)), 5 pool(s), 10 node(s), 1 GPU pool(s)",
        ));
    for name in ["example", "ci"] {
        lkeobs()
            .args(["validate", "--fleet"])
            .arg(fleet(name))
            .assert()
            .success();
    }
}

#[test]
fn validate_json_is_one_document() {
    let out = lkeobs()
        .args(["validate", "--output", "json", "--fleet"])
        .arg(fleet("prod"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("stdout is JSON");
    assert_eq!(v["ok"], true);
    assert_eq!(v["clusters"], 4);
    assert_eq!(v["nodes"], 10);
    assert_eq!(v["gpu_pools"], 1);
}

#[test]
fn fleet_comes_from_env_var() {
    lkeobs()
        .env("LKEOBS_FLEET", fleet("example"))
        .arg("validate")
        .assert()
        .success()
        .stdout(predicate::str::contains("\"example\" is valid"));
}

#[test]
fn five_mistakes_all_reported_with_lines_exit_2() {
    let assert = lkeobs()
        .args(["validate", "--fleet", "tests/fixtures/five-mistakes.toml"])
        .assert()
        .code(2)
        .stdout("");
    let err = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    for line in [
        "five-mistakes.toml:3:15: fleet.k8s_version = 1.33",
        "five-mistakes.toml:5:7: fleet.ttl = \"4 hours\"",
        "five-mistakes.toml:8:1: hub.regoin = \"us-ord\": unknown key",
        "five-mistakes.toml:13:44: edges.us-east.pools[0].count = 0",
        "five-mistakes.toml:16:8: destinations[0].type = \"splunk\"",
        "5 errors in the fleet file",
    ] {
        assert!(err.contains(line), "stderr lacks {line:?}:\n{err}");
    }
}

#[test]
fn five_mistakes_as_json() {
    let out = lkeobs()
        .args([
            "validate",
            "--output",
            "json",
            "--fleet",
            "tests/fixtures/five-mistakes.toml",
        ])
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("stdout is JSON");
    assert_eq!(v["ok"], false);
    let lines: Vec<u64> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![3, 5, 8, 13, 16]);
    assert_eq!(v["errors"][2]["help"], "did you mean `region`? (`region` is required)");
}

#[test]
fn missing_fleet_file_is_invalid_input() {
    lkeobs()
        .args(["validate", "--fleet", "does/not/exist.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read fleet file does/not/exist.toml"));
}

#[test]
fn plan_detailed_exitcode_two_when_changes() {
    lkeobs()
        .args(["plan", "--detailed-exitcode", "--fleet"])
        .arg(fleet("example"))
        .assert()
        .code(2)
        .stdout(predicate::str::contains("offline: planned against an empty account"));
}

#[test]
fn plan_without_detailed_exitcode_exits_zero() {
    lkeobs()
        .args(["plan", "--fleet"])
        .arg(fleet("example"))
        .assert()
        .success();
}

#[test]
fn plan_detailed_exitcode_bad_file_is_1_not_2() {
    lkeobs()
        .args([
            "plan",
            "--detailed-exitcode",
            "--fleet",
            "tests/fixtures/five-mistakes.toml",
        ])
        .assert()
        .code(1);
    lkeobs()
        .args(["plan", "--fleet", "tests/fixtures/five-mistakes.toml"])
        .assert()
        .code(2);
}

#[test]
fn plan_lists_clusters_pools_firewall_and_objects() {
    let out = lkeobs()
        .args(["plan", "--fleet"])
        .arg(fleet("prod"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    for want in [
        "+ cluster hub (hub) lkeobs-prod-hub  region us-ord  k8s 1.33, HA control plane",
        "+ cluster gpu-sg (edge) lkeobs-prod-gpu-sg",
        "+ pool g2-gpu-rtx4000a1-s × 1, GPU (DCGM exporter)\n      labels lkeobs.io/gpu=true\n",
        "+ pool g6-standard-4 × 3, autoscale 3–5",
        "+ firewall lkeobs-prod-gw: inbound DROP",
        "+ Namespace/monitoring",
        "+ Secret/monitoring/grafana-admin  (Grafana admin password, generated)",
        "+ Secret/observability/otel-client-tls",
        "+ DaemonSet/observability/dcgm-exporter",
    ] {
        assert!(text.contains(want), "plan lacks {want:?}:\n{text}");
    }
}

#[test]
fn plan_json_counts_changes() {
    let out = lkeobs()
        .args(["plan", "--output", "json", "--fleet"])
        .arg(fleet("example"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("stdout is JSON");
    assert_eq!(v["mode"], "offline");
    assert_eq!(v["clusters"][0]["action"], "create");
    assert_eq!(v["clusters"][1]["label"], "lkeobs-example-us-east");
    assert_eq!(v["firewall"]["label"], "lkeobs-example-gw");
    let objects: usize = v["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["objects"].as_array().unwrap().len())
        .sum();
    let pools: usize = v["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["pools"].as_array().unwrap().len())
        .sum();
    assert_eq!(v["changes"].as_u64().unwrap() as usize, objects + pools + 2 + 1);
}

#[test]
fn help_lists_only_built_commands() {
    let out = lkeobs().arg("--help").assert().success().get_output().stdout.clone();
    let text = String::from_utf8_lossy(&out);
    // The first word of each entry of the Commands section (continuation lines are indented deeper).
    let listed: std::collections::BTreeSet<&str> = text
        .split("Commands:")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("a Commands section")
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let built: std::collections::BTreeSet<&str> = [
        "validate",
        "render",
        "plan",
        "up",
        "add-edge",
        "alerts",
        "verify",
        "kubeconfig",
        "status",
        "loadtest",
        "remove-edge",
        "teardown",
        "reap",
        "sim",
        "demo",
        "completions",
        "help",
    ]
    .into_iter()
    .collect();
    assert_eq!(listed, built, "--help lists exactly the built commands");
}

#[test]
fn completions_for_bash() {
    lkeobs()
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("_lkeobs()"));
}

#[test]
fn render_unknown_cluster_is_invalid_input_with_suggestion() {
    lkeobs()
        .args(["render", "--cluster", "us-eats", "--fleet"])
        .arg(fleet("example"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean `us-east`?"));
}

#[test]
fn render_names_the_gateway_placeholder_on_stderr() {
    lkeobs()
        .args(["render", "--cluster", "us-east", "--fleet"])
        .arg(fleet("example"))
        .assert()
        .success()
        .stdout(predicate::str::contains("lkeobs-gateway-address.invalid"))
        .stderr(predicate::str::contains("lkeobs-gateway-address.invalid"));
}

#[test]
fn render_hub_has_no_placeholder_note() {
    lkeobs()
        .args(["render", "--cluster", "hub", "--fleet"])
        .arg(fleet("example"))
        .assert()
        .success()
        .stderr(predicate::str::contains("lkeobs-gateway-address.invalid").not());
}

#[test]
fn bad_timeout_flag_is_invalid_input() {
    lkeobs().args(["validate", "--timeout", "soon"]).assert().code(2);
}
