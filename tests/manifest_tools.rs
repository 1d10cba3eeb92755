//! Real tools over the rendered stack: `kubernetes-validate --strict` for the fleet's Kubernetes version on every document,
//! `promtool check config` on the rendered Prometheus configuration, `promtool check rules` on its alert rules and
//! `promtool test rules` with the unit tests in `tests/alerts/` (series in, alerts out).

use crate::tooling;

use std::process::Command;

use tooling::{EXAMPLE_FLEETS, fleet, kubernetes_validate, promtool, render_to, run};

fn k8s_version(fleet_name: &str) -> String {
    let text = std::fs::read_to_string(fleet(fleet_name)).expect("fleet file");
    let loaded = lkeobs::fleet::parse(fleet_name, &text).expect("example fleet is valid");
    format!("{}.0", loaded.fleet.fleet.k8s_version.get_ref())
}

#[test]
fn kubernetes_validate_strict_accepts_every_rendered_document() {
    let Some(tool) = kubernetes_validate() else {
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
    let Some(tool) = kubernetes_validate() else {
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

/// The `key` of the rendered Prometheus ConfigMap (`prometheus.yml`, `alerts.yml`).
fn prometheus_configmap(hub_dir: &std::path::Path, key: &str) -> String {
    for f in std::fs::read_dir(hub_dir).unwrap().flatten() {
        let text = std::fs::read_to_string(f.path()).unwrap();
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let v = <serde_yaml_ng::Value as serde::Deserialize>::deserialize(doc).unwrap();
            if v["kind"] == "ConfigMap" && v["metadata"]["name"] == "prometheus" {
                return v["data"][key]
                    .as_str()
                    .unwrap_or_else(|| panic!("no {key} key in the prometheus ConfigMap"))
                    .to_string();
            }
        }
    }
    panic!("no prometheus ConfigMap in {}", hub_dir.display());
}

fn prometheus_config(hub_dir: &std::path::Path) -> String {
    prometheus_configmap(hub_dir, "prometheus.yml")
}

#[test]
fn promtool_accepts_the_rendered_prometheus_config() {
    let Some(promtool) = promtool() else {
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
    let Some(promtool) = promtool() else {
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

/// The unit tests of the alert rules: `tests/alerts/*.test.yml`, each naming `alerts.yml` beside it.
fn alert_unit_tests() -> Vec<std::path::PathBuf> {
    let dir = tooling::root().join("tests").join("alerts");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".test.yml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 2,
        "expected the silent-edge and gateway unit tests in {}",
        dir.display()
    );
    files
}

/// Runs `promtool test rules` on every unit test against `rules` (the text of alerts.yml); the
/// failures' output, empty when all pass.
fn run_alert_unit_tests(promtool: &std::path::Path, rules: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("alerts.yml"), rules).unwrap();
    let mut failures = Vec::new();
    for test in alert_unit_tests() {
        let copy = dir.path().join(test.file_name().unwrap());
        std::fs::copy(&test, &copy).unwrap();
        let (ok, out) = run(Command::new(promtool)
            .args(["test", "rules"])
            .arg(&copy)
            .current_dir(dir.path()));
        if !ok {
            failures.push(format!("{}:\n{out}", test.display()));
        }
    }
    failures
}

#[test]
fn promtool_accepts_the_rendered_alert_rules_and_prometheus_loads_them() {
    let Some(promtool) = promtool() else {
        return;
    };
    for name in EXAMPLE_FLEETS {
        let dir = tempfile::tempdir().unwrap();
        render_to(name, dir.path());
        let hub = dir.path().join("hub");
        let cfg = prometheus_config(&hub);
        assert!(
            cfg.contains("rule_files:\n  - /etc/prometheus/alerts.yml"),
            "{name}: Prometheus does not load the rules (the ConfigMap is mounted at /etc/prometheus):\n{cfg}"
        );
        let rules = prometheus_configmap(&hub, "alerts.yml");
        let file = dir.path().join("alerts.yml");
        std::fs::write(&file, &rules).unwrap();
        let (ok, out) = run(Command::new(&promtool).args(["check", "rules"]).arg(&file));
        assert!(
            ok,
            "{name}: promtool check rules failed:\n{out}\n--- rules ---\n{rules}"
        );
        for alert in [
            "LkeobsMetricsSilent",
            "LkeobsLogsSilent",
            "LkeobsTracesSilent",
            "LkeobsGatewayRefusing",
            "LkeobsSendingQueueNearFull",
            "LkeobsExporterFailing",
            "LkeobsCollectorCrashLooping",
            "LkeobsStorageNearFull",
            "LkeobsCertificateExpiring",
        ] {
            assert!(rules.contains(&format!("alert: {alert}\n")), "{name}: no {alert} rule");
        }
    }
}

#[test]
fn promtool_rejects_a_broken_rule() {
    let Some(promtool) = promtool() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("alerts.yml");
    std::fs::write(
        &file,
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum by (x (up)\n",
    )
    .unwrap();
    let (ok, _) = run(Command::new(&promtool).args(["check", "rules"]).arg(&file));
    assert!(!ok, "promtool accepted a rule that does not parse");
}

#[test]
fn alert_unit_tests_pass_on_the_rendered_rules() {
    let Some(promtool) = promtool() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    render_to("example", dir.path());
    let rules = prometheus_configmap(&dir.path().join("hub"), "alerts.yml");
    let failures = run_alert_unit_tests(&promtool, &rules);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn alert_unit_tests_catch_a_broken_silence_window_and_refusal_threshold() {
    // Proves the unit tests can fail: each rule, broken the way a careless edit would, fails them.
    let Some(promtool) = promtool() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    render_to("example", dir.path());
    let rules = prometheus_configmap(&dir.path().join("hub"), "alerts.yml");
    let silent_after = r#"present_over_time(k8s_node_cpu_usage{cluster_id!=""}[5m])"#;
    let refusal = "          > 0.01\n";
    for (what, from, to, test) in [
        (
            "metrics silent after 10m, not 5m",
            silent_after,
            silent_after.replace("[5m]", "[10m]"),
            "silent_edge",
        ),
        (
            "refusals over 5%, not 1%",
            refusal,
            refusal.replace("0.01", "0.05"),
            "gateway",
        ),
    ] {
        assert_eq!(
            rules.matches(from).count(),
            1,
            "{what}: {from:?} not found once in the rules"
        );
        let failures = run_alert_unit_tests(&promtool, &rules.replace(from, &to));
        assert!(
            failures.iter().any(|f| f.contains(test)),
            "{what}: the unit tests still pass: {failures:?}"
        );
    }
}

#[test]
fn kubernetes_validate_strict_accepts_the_loadtest_job() {
    let Some(tool) = kubernetes_validate() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("job.yaml");
    std::fs::write(&file, tooling::loadtest_job().to_string()).unwrap();
    let (ok, out) = run(Command::new(&tool)
        .args(["--strict", "--quiet", "-k", &k8s_version("example")])
        .arg(&file));
    assert!(ok, "kubernetes-validate --strict refused the loadtest Job:\n{out}");
}
