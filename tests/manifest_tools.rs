//! Real tools over the rendered stack: `kubernetes-validate --strict` for the fleet's Kubernetes version on every document,
//! and `promtool check config` on the rendered Prometheus configuration.

mod tooling;

use std::process::Command;

use tooling::{EXAMPLE_FLEETS, fleet, render_to, require_tool, run};

fn k8s_version(fleet_name: &str) -> String {
    let text = std::fs::read_to_string(fleet(fleet_name)).expect("fleet file");
    let loaded = lkeobs::fleet::parse(fleet_name, &text).expect("example fleet is valid");
    format!("{}.0", loaded.fleet.fleet.k8s_version.get_ref())
}

#[test]
fn kubernetes_validate_strict_accepts_every_rendered_document() {
    let Some(tool) = require_tool(
        "KUBERNETES_VALIDATE",
        "kubernetes-validate",
        "pip install kubernetes-validate",
    ) else {
        return;
    };
    for name in EXAMPLE_FLEETS {
        let dir = tempfile::tempdir().unwrap();
        let version = k8s_version(name);
        let mut files = Vec::new();
        for cluster in render_to(name, dir.path()) {
            for f in std::fs::read_dir(&cluster).unwrap().flatten() {
                files.push(f.path());
            }
        }
        files.sort();
        assert!(files.len() > 10, "{name}: too few files rendered");
        let (ok, out) = run(Command::new(&tool)
            .args(["--strict", "--quiet", "-k", &version])
            .args(&files));
        assert!(ok, "{name}: kubernetes-validate --strict -k {version} failed:\n{out}");
        assert!(!out.contains("ERROR") && !out.contains("error"), "{name}: {out}");
    }
}

#[test]
fn kubernetes_validate_rejects_a_broken_document() {
    // Proves the check above can fail: a Deployment with a misspelt field is refused.
    let Some(tool) = require_tool(
        "KUBERNETES_VALIDATE",
        "kubernetes-validate",
        "pip install kubernetes-validate",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: 1\n  selectr: {}\n  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}\n",
    )
    .unwrap();
    let (ok, _) = run(Command::new(&tool)
        .args(["--strict", "--quiet", "-k", "1.33.0"])
        .arg(&bad));
    assert!(!ok, "kubernetes-validate accepted an invalid document");
}

/// The `prometheus.yml` key of the rendered Prometheus ConfigMap.
fn prometheus_config(hub_dir: &std::path::Path) -> String {
    for f in std::fs::read_dir(hub_dir).unwrap().flatten() {
        let text = std::fs::read_to_string(f.path()).unwrap();
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let v = <serde_yaml_ng::Value as serde::Deserialize>::deserialize(doc).unwrap();
            if v["kind"] == "ConfigMap" && v["metadata"]["name"] == "prometheus" {
                return v["data"]["prometheus.yml"]
                    .as_str()
                    .expect("prometheus.yml key")
                    .to_string();
            }
        }
    }
    panic!("no prometheus ConfigMap in {}", hub_dir.display());
}

#[test]
fn promtool_accepts_the_rendered_prometheus_config() {
    let Some(promtool) = require_tool("PROMTOOL", "promtool", "apt-get install prometheus") else {
        return;
    };
    for name in EXAMPLE_FLEETS {
        let dir = tempfile::tempdir().unwrap();
        render_to(name, dir.path());
        let cfg = prometheus_config(&dir.path().join("hub"));
        assert!(
            cfg.contains("out_of_order_time_window"),
            "{name}: edges push late; OOO window missing"
        );
        let file = dir.path().join("prometheus.yml");
        std::fs::write(&file, &cfg).unwrap();
        let (ok, out) = run(Command::new(&promtool)
            .args(["check", "config", "--syntax-only"])
            .arg(&file));
        assert!(
            ok,
            "{name}: promtool check config failed:\n{out}\n--- config ---\n{cfg}"
        );
    }
}

#[test]
fn promtool_rejects_a_broken_config() {
    let Some(promtool) = require_tool("PROMTOOL", "promtool", "apt-get install prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prometheus.yml");
    std::fs::write(&file, "global:\n  scrape_intervall: 30s\n").unwrap();
    let (ok, _) = run(Command::new(&promtool)
        .args(["check", "config", "--syntax-only"])
        .arg(&file));
    assert!(!ok, "promtool accepted an invalid config");
}
