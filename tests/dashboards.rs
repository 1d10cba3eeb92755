//! The Grafana dashboards `render` ships to the hub: valid JSON with unique panel ids, the GPU dashboard only on
//! fleets with a GPU pool, every Prometheus query parsed by promtool and naming only metrics the stack produces.

use crate::tooling;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use tooling::{EXAMPLE_FLEETS, fleet, promtool, render_to, run};

/// Every metric name a dashboard may query, with where the stack gets it.
const KNOWN_METRICS: &[&str] = &[
    // The gateway's internal telemetry, scraped by Prometheus (job `otel-gateway`, hub/20-prometheus.yaml) from its
    // `readers: pull` endpoint: core receiverhelper/exporterhelper documentation.md at v0.159.0, counters with
    // `_total` (core v0.119.0 #11611), gauges bare.
    "otelcol_receiver_accepted_metric_points_total",
    "otelcol_receiver_accepted_log_records_total",
    "otelcol_receiver_accepted_spans_total",
    "otelcol_receiver_refused_metric_points_total",
    "otelcol_receiver_refused_log_records_total",
    "otelcol_receiver_refused_spans_total",
    "otelcol_receiver_failed_metric_points_total",
    "otelcol_receiver_failed_log_records_total",
    "otelcol_receiver_failed_spans_total",
    "otelcol_exporter_sent_metric_points_total",
    "otelcol_exporter_sent_log_records_total",
    "otelcol_exporter_sent_spans_total",
    "otelcol_exporter_send_failed_metric_points_total",
    "otelcol_exporter_send_failed_log_records_total",
    "otelcol_exporter_send_failed_spans_total",
    "otelcol_exporter_enqueue_failed_metric_points_total",
    "otelcol_exporter_enqueue_failed_log_records_total",
    "otelcol_exporter_enqueue_failed_spans_total",
    "otelcol_exporter_queue_size",
    "otelcol_exporter_queue_capacity",
    // Prometheus' own per-target series (the gateway scrape), and the prometheus receiver's (the scraper's
    // kube-state-metrics job), which reaches Prometheus through the gateway.
    "up",
    // The agent's kubelet_stats receiver (contrib receiver/kubeletstatsreceiver metadata.yaml: k8s.node.cpu.usage
    // `{cpu}`, memory/filesystem gauges in By, network io/errors cumulative sums), named by the gateway's
    // prometheus_remote_write: By → `_bytes`, monotonic sums → `_total`, `{…}` units dropped. The heartbeat names
    // are the ones src/probes/prometheus.rs already relies on.
    "k8s_node_cpu_usage",
    "k8s_node_memory_working_set_bytes",
    "k8s_node_memory_available_bytes",
    "k8s_node_filesystem_usage_bytes",
    "k8s_node_filesystem_capacity_bytes",
    "k8s_node_network_io_bytes_total",
    "k8s_node_network_errors_total",
    "k8s_pod_cpu_usage",
    "k8s_pod_memory_working_set_bytes",
    "k8s_pod_network_io_bytes_total",
    // kube-state-metrics v2.17–v2.20 (docs/metrics/*), scraped by every cluster's otel-scraper with honor_labels,
    // for the resources 10-kube-state-metrics.yaml passes to --resources.
    "kube_node_info",
    "kube_node_status_condition",
    "kube_pod_status_phase",
    "kube_pod_container_status_restarts_total",
    "kube_pod_container_status_waiting_reason",
    "kube_deployment_spec_replicas",
    "kube_deployment_status_replicas_available",
    "kube_daemonset_status_number_ready",
    "kube_daemonset_status_desired_number_scheduled",
    "kube_statefulset_replicas",
    "kube_statefulset_status_replicas_ready",
    "kube_horizontalpodautoscaler_status_current_replicas",
    "kube_horizontalpodautoscaler_status_desired_replicas",
    "kube_horizontalpodautoscaler_spec_min_replicas",
    "kube_horizontalpodautoscaler_spec_max_replicas",
    "kube_horizontalpodautoscaler_status_condition",
    // Tempo's metrics-generator span metrics (hub/22-tempo.yaml; dimension cluster.id → label cluster_id).
    "traces_spanmetrics_calls_total",
    // DCGM exporter gauges: gpu/13-dcgm-exporter.yaml counters.csv (checked against the rendered file below).
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_MEM_COPY_UTIL",
    "DCGM_FI_DEV_FB_USED",
    "DCGM_FI_DEV_FB_FREE",
    "DCGM_FI_DEV_GPU_TEMP",
    "DCGM_FI_DEV_POWER_USAGE",
];

/// One dashboard as rendered: its ConfigMap, file key and JSON.
struct Dashboard {
    config_map: String,
    json: Value,
}

/// The rendered YAML documents of one cluster folder.
fn documents(dir: &Path) -> Vec<serde_yaml_ng::Value> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let v = <serde_yaml_ng::Value as serde::Deserialize>::deserialize(doc).unwrap();
            if !v.is_null() {
                out.push(v);
            }
        }
    }
    out
}

/// The dashboards of a rendered hub: every `*.json` key of a `grafana-dashboard-*` ConfigMap, parsed.
fn dashboards(hub: &Path) -> Vec<Dashboard> {
    let mut out = Vec::new();
    for v in documents(hub) {
        let name = v["metadata"]["name"].as_str().unwrap_or_default().to_string();
        if v["kind"] != "ConfigMap" || !name.starts_with("grafana-dashboard-") || name == "grafana-dashboard-provider" {
            continue;
        }
        let data = v["data"].as_mapping().expect("dashboard ConfigMap has data");
        for (key, text) in data {
            let key = key.as_str().unwrap();
            assert!(key.ends_with(".json"), "{name}: key {key} is not a .json file");
            let json: Value = serde_json::from_str(text.as_str().unwrap())
                .unwrap_or_else(|e| panic!("{name}/{key} is not valid JSON: {e}"));
            out.push(Dashboard {
                config_map: name.clone(),
                json,
            });
        }
    }
    out
}

/// Every panel, rows' nested panels included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in dashboard["panels"].as_array().expect("panels") {
        out.push(p);
        if let Some(nested) = p["panels"].as_array() {
            out.extend(nested);
        }
    }
    out
}

/// `(datasource uid, expression)` of every query: panel targets and query variables.
fn queries(dashboard: &Value) -> Vec<(String, String)> {
    let uid = |v: &Value| v["uid"].as_str().unwrap_or_default().to_string();
    let mut out = Vec::new();
    for p in panels(dashboard) {
        for t in p["targets"].as_array().into_iter().flatten() {
            let ds = if t["datasource"].is_object() {
                uid(&t["datasource"])
            } else {
                uid(&p["datasource"])
            };
            out.push((ds, t["expr"].as_str().expect("every target has an expr").to_string()));
        }
    }
    for v in dashboard["templating"]["list"].as_array().into_iter().flatten() {
        if v["type"] == "query" {
            let q = v["query"]["query"].as_str().expect("variable query");
            let inner = q
                .strip_prefix("label_values(")
                .and_then(|r| r.rsplit_once(','))
                .map(|(selector, _)| selector.to_string())
                .unwrap_or_else(|| {
                    panic!(
                        "variable {}: only label_values(<selector>, label) is used: {q}",
                        v["name"]
                    )
                });
            out.push((uid(&v["datasource"]), inner));
        }
    }
    out
}

/// The expression with Grafana's variables replaced by values Prometheus can parse.
fn substitute(expr: &str) -> String {
    expr.replace("${cluster_id}", "hub")
        .replace("$cluster_id", "hub")
        .replace("$__rate_interval", "2m")
        .replace("$__auto", "2m")
        .replace("$__interval", "30s")
        .replace("$__range", "1h")
}

/// Metric names in a PromQL expression: identifiers outside strings, label matchers and grouping lists that are not
/// functions, aggregations or keywords.
fn metric_names(expr: &str) -> BTreeSet<String> {
    const KEYWORDS: &[&str] = &[
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "and",
        "or",
        "unless",
        "offset",
        // Aggregations, which may be followed by `by (…)` before their parenthesis.
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let (mut i, mut braces, mut grouping) = (0, 0usize, false);
    let mut last_word = String::new();
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            continue;
        }
        if c == '[' {
            // A range or subquery: durations only.
            while i < chars.len() && chars[i] != ']' {
                i += 1;
            }
            i += 1;
            continue;
        }
        if c == '{' {
            braces += 1;
        } else if c == '}' {
            braces = braces.saturating_sub(1);
        } else if c == '(' {
            grouping = ["by", "without", "on", "ignoring", "group_left", "group_right"].contains(&last_word.as_str());
        } else if c == ')' {
            grouping = false;
        }
        if c.is_ascii_digit() {
            // A number or a duration (`1e3`, `5m`): no name.
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            last_word.clear();
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut j = i;
            while j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            let is_call = j < chars.len() && chars[j] == '(';
            if braces == 0 && !grouping && !is_call && !KEYWORDS.contains(&word.as_str()) {
                names.insert(word.clone());
            }
            last_word = word;
            continue;
        }
        if !c.is_whitespace() {
            last_word.clear();
        }
        i += 1;
    }
    names
}

/// Runs `promtool check rules` over the expressions (each as a recording rule); (ok, output).
fn promtool_check(promtool: &Path, exprs: &[String]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dashboard-queries.yaml");
    let mut rules = String::from("groups:\n  - name: dashboard-queries\n    rules:\n");
    for (i, e) in exprs.iter().enumerate() {
        rules.push_str(&format!(
            "      - record: lkeobs:dashboard_query:{i}\n        expr: {}\n",
            serde_json::to_string(e).unwrap()
        ));
    }
    std::fs::write(&file, rules).unwrap();
    run(Command::new(promtool).args(["check", "rules"]).arg(&file))
}

fn has_gpu(fleet_name: &str) -> bool {
    let text = std::fs::read_to_string(fleet(fleet_name)).unwrap();
    let loaded = lkeobs::fleet::parse(fleet_name, &text).unwrap();
    let f = &loaded.fleet;
    f.hub.has_gpu() || f.edges.iter().any(|c| c.has_gpu())
}

#[test]
fn every_example_fleet_ships_valid_dashboards_with_unique_panel_ids_and_gpu_only_with_gpu_pools() {
    for name in EXAMPLE_FLEETS {
        let dir = tempfile::tempdir().unwrap();
        render_to(name, dir.path());
        let boards = dashboards(&dir.path().join("hub"));
        let uids: Vec<&str> = boards.iter().map(|d| d.json["uid"].as_str().unwrap()).collect();
        let mut want = vec!["lkeobs-fleet", "lkeobs-cluster"];
        if has_gpu(name) {
            want.push("lkeobs-gpu");
        }
        assert_eq!(uids, want, "{name}: dashboards");
        for d in &boards {
            let ids: Vec<u64> = panels(&d.json)
                .iter()
                .map(|p| p["id"].as_u64().expect("panel id"))
                .collect();
            let unique: BTreeSet<_> = ids.iter().collect();
            assert_eq!(
                unique.len(),
                ids.len(),
                "{name}/{}: duplicate panel ids {ids:?}",
                d.config_map
            );
            assert!(d.json["tags"].as_array().unwrap().contains(&"lkeobs".into()));
        }
        // Grafana mounts exactly these ConfigMaps, and provisions them into the folder `lkeobs`.
        let docs = documents(&dir.path().join("hub"));
        let deployment = docs
            .iter()
            .find(|v| v["kind"] == "Deployment" && v["metadata"]["name"] == "grafana")
            .expect("grafana Deployment");
        let volumes = deployment["spec"]["template"]["spec"]["volumes"].as_sequence().unwrap();
        let projected: Vec<&str> = volumes
            .iter()
            .find(|v| v["name"] == "dashboards")
            .expect("dashboards volume")["projected"]["sources"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|s| s["configMap"]["name"].as_str().unwrap())
            .collect();
        let maps: Vec<&str> = boards.iter().map(|d| d.config_map.as_str()).collect();
        assert_eq!(projected, maps, "{name}: Grafana's dashboards volume");
        let provider = docs
            .iter()
            .find(|v| v["metadata"]["name"] == "grafana-dashboard-provider")
            .expect("dashboard provider ConfigMap");
        let text = provider["data"]["lkeobs.yaml"].as_str().unwrap();
        assert!(
            text.contains("folder: lkeobs") && text.contains("path: /etc/grafana/dashboards/lkeobs"),
            "{text}"
        );
    }
}

#[test]
fn every_dashboard_query_names_only_metrics_the_stack_produces() {
    let known: BTreeSet<&str> = KNOWN_METRICS.iter().copied().collect();
    let dir = tempfile::tempdir().unwrap();
    render_to("prod", dir.path());
    let mut used = BTreeSet::new();
    for d in dashboards(&dir.path().join("hub")) {
        for (ds, expr) in queries(&d.json) {
            match ds.as_str() {
                "prometheus" => {
                    for m in metric_names(&substitute(&expr)) {
                        assert!(
                            known.contains(m.as_str()),
                            "{}: {m} is not a metric the stack produces: {expr}",
                            d.config_map
                        );
                        used.insert(m);
                    }
                }
                // Loki: cluster_id is an index label (hub/21-loki.yaml otlp_config), so every query selects on it.
                "loki" => assert!(
                    expr.starts_with("{cluster_id") || expr.contains("({cluster_id"),
                    "{expr}"
                ),
                other => panic!("{}: query on an unknown datasource {other:?}: {expr}", d.config_map),
            }
        }
    }
    // The DCGM names are gauges of the rendered exporter's counters.csv.
    let gpu_edge = dir.path().join("gpu-sg");
    let csv = documents(&gpu_edge)
        .into_iter()
        .find(|v| v["kind"] == "ConfigMap" && v["metadata"]["name"] == "dcgm-exporter")
        .expect("dcgm-exporter ConfigMap on the GPU edge")["data"]["counters.csv"]
        .as_str()
        .unwrap()
        .to_string();
    for m in used.iter().filter(|m| m.starts_with("DCGM_")) {
        assert!(
            csv.contains(&format!("{m}, gauge,")),
            "{m} is not a gauge the DCGM exporter collects"
        );
    }
}

#[test]
fn every_dashboard_query_parses_with_promtool() {
    let Some(promtool) = promtool() else {
        return;
    };
    for name in EXAMPLE_FLEETS {
        let dir = tempfile::tempdir().unwrap();
        render_to(name, dir.path());
        let exprs: Vec<String> = dashboards(&dir.path().join("hub"))
            .iter()
            .flat_map(|d| queries(&d.json))
            .filter(|(ds, _)| ds == "prometheus")
            .map(|(_, e)| substitute(&e))
            .collect();
        assert!(exprs.len() > 40, "{name}: only {} queries", exprs.len());
        let (ok, out) = promtool_check(&promtool, &exprs);
        assert!(ok, "{name}: promtool refused a dashboard query:\n{out}");
    }
}

#[test]
fn promtool_and_the_metric_list_refuse_a_broken_query() {
    // A misspelt metric is caught by the list, a syntax error by promtool.
    let names = metric_names(&substitute(
        "sum by (cluster_id) (rate(otelcol_receiver_accepted_span_total{job=\"otel-gateway\", le=~\"a{b\"}[$__rate_interval]))",
    ));
    assert_eq!(
        names,
        BTreeSet::from(["otelcol_receiver_accepted_span_total".to_string()])
    );
    assert!(!KNOWN_METRICS.contains(&"otelcol_receiver_accepted_span_total"));
    let names = metric_names(
        "time() - max by (cluster_id) (timestamp(kube_node_info{cluster_id=\"a\"} offset 5m) or up) * on (x) group_left up / 1e3",
    );
    assert_eq!(names, BTreeSet::from(["kube_node_info".to_string(), "up".to_string()]));
    let Some(promtool) = promtool() else {
        return;
    };
    let (ok, _) = promtool_check(&promtool, &["sum by (cluster_id (rate(up[5m]))".to_string()]);
    assert!(!ok, "promtool accepted an unbalanced query");
}
