//! `[hub] mode = "ha"` (issue #23): what the hub renders instead of Prometheus, Loki and Tempo on PVCs, checked
//! with `kubernetes-validate --strict`; the gateway and Grafana pointing at Mimir and Tempo; and single mode
//! unchanged by the mode key.

use crate::tooling;

use std::process::Command;

use serde_yaml_ng::Value;
use tooling::{EXAMPLE_FLEETS, fleet, kubernetes_validate, lkeobs, render_docs, render_to, run};

fn ha_text() -> String {
    std::fs::read_to_string(fleet("ha")).expect("fleet/ha.toml")
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|v| v["kind"] == kind && v["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn has(docs: &[Value], kind: &str, name: &str) -> bool {
    docs.iter().any(|v| v["kind"] == kind && v["metadata"]["name"] == name)
}

#[test]
fn ha_hub_renders_the_three_engines_instead_of_the_single_stores() {
    let docs = render_docs(&ha_text(), "hub");
    assert!(!has(&docs, "StatefulSet", "prometheus"), "no Prometheus in ha mode");
    for (engine, replicas) in [("mimir", 3), ("loki", 3), ("tempo", 3)] {
        let sts = find(&docs, "StatefulSet", engine);
        assert_eq!(sts["spec"]["replicas"], replicas, "{engine}");
        assert_eq!(sts["spec"]["podManagementPolicy"], "Parallel");
        assert_eq!(sts["spec"]["serviceName"], format!("{engine}-memberlist").as_str());
        let spread = &sts["spec"]["template"]["spec"]["topologySpreadConstraints"][0];
        assert_eq!(spread["topologyKey"], "kubernetes.io/hostname");
        let c = &sts["spec"]["template"]["spec"]["containers"][0];
        let args: Vec<&str> = c["args"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(args.contains(&"-config.expand-env=true"), "{engine}: {args:?}");
        let env: Vec<&str> = c["env"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter(|e| e["valueFrom"]["secretKeyRef"]["name"] == "lkeobs-object-storage")
            .filter_map(|e| e["name"].as_str())
            .collect();
        assert_eq!(env, ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"], "{engine}");
        assert_eq!(find(&docs, "PodDisruptionBudget", engine)["spec"]["maxUnavailable"], 1);
        let ml = find(&docs, "Service", &format!("{engine}-memberlist"));
        assert_eq!(ml["spec"]["clusterIP"], "None");
        assert_eq!(ml["spec"]["ports"][0]["port"], 7946);
        assert!(has(&docs, "NetworkPolicy", &format!("{engine}-ha")), "{engine}");
    }
    assert_eq!(find(&docs, "Service", "tempo-headless")["spec"]["clusterIP"], "None");
    // [hub.ha.resources.mimir] in fleet/ha.toml: requests, and memory as the limit.
    let mimir = &find(&docs, "StatefulSet", "mimir")["spec"]["template"]["spec"]["containers"][0]["resources"];
    assert_eq!(mimir["requests"]["cpu"], "2");
    assert_eq!(mimir["limits"]["memory"], "6Gi");
    let args = find(&docs, "StatefulSet", "mimir")["spec"]["template"]["spec"]["containers"][0]["args"].clone();
    assert_eq!(args[0], "-target=all");
    let args = find(&docs, "StatefulSet", "tempo")["spec"]["template"]["spec"]["containers"][0]["args"].clone();
    assert_eq!(args[0], "-target=scalable-single-binary");
}

#[test]
fn mimir_ruler_loads_the_single_hubs_alert_rules() {
    let docs = render_docs(&ha_text(), "hub");
    let rules = find(&docs, "ConfigMap", "mimir-rules")["data"]["alerts.yml"]
        .as_str()
        .unwrap()
        .to_string();
    let single = render_docs(&std::fs::read_to_string(fleet("example")).unwrap(), "hub");
    let prom = find(&single, "ConfigMap", "prometheus")["data"]["alerts.yml"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(rules, prom);
    assert!(rules.contains("LkeobsMetricsSilent"));
}

#[test]
fn gateway_and_grafana_point_at_mimir_and_tempo_in_ha_mode() {
    let docs = render_docs(&ha_text(), "hub");
    let gw = tooling::collector_config(&docs, "otel-gateway");
    let exp = &gw["exporters"];
    assert_eq!(
        exp["prometheus_remote_write"]["endpoint"],
        "http://mimir.monitoring.svc.cluster.local:8080/api/v1/push"
    );
    assert_eq!(
        exp["prometheus_remote_write"]["resource_to_telemetry_conversion"]["enabled"],
        true
    );
    assert_eq!(
        exp["otlp_grpc/tempo"]["endpoint"],
        "dns:///tempo-headless.monitoring.svc.cluster.local:4317"
    );
    assert_eq!(exp["otlp_grpc/tempo"]["balancer_name"], "round_robin");
    assert_eq!(
        exp["otlp_http/loki"]["endpoint"],
        "http://loki.monitoring.svc.cluster.local:3100/otlp"
    );
    // The labels that identify a cluster are still set on the way in.
    let text = serde_yaml_ng::to_string(&gw).unwrap();
    for label in ["cluster.id", "cluster.role", "hub.received_at"] {
        assert!(text.contains(label), "gateway config lacks {label}");
    }
    let grafana = find(&docs, "ConfigMap", "grafana-datasources");
    let ds: Value = serde_yaml_ng::from_str(
        grafana["data"]
            .as_mapping()
            .unwrap()
            .values()
            .next()
            .and_then(Value::as_str)
            .unwrap(),
    )
    .unwrap();
    let prom = ds["datasources"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|d| d["uid"] == "prometheus")
        .unwrap();
    assert_eq!(prom["url"], "http://mimir.monitoring.svc.cluster.local:8080/prometheus");
}

#[test]
fn offline_render_marks_the_object_store_pending() {
    let docs = render_docs(&ha_text(), "hub");
    let cfg = find(&docs, "ConfigMap", "mimir")["data"]["mimir.yaml"]
        .as_str()
        .unwrap()
        .to_string();
    let cfg: Value = serde_yaml_ng::from_str(&cfg).unwrap();
    assert_eq!(cfg["blocks_storage"]["s3"]["bucket_name"], "pending-up");
    assert_eq!(cfg["blocks_storage"]["s3"]["access_key_id"], "${AWS_ACCESS_KEY_ID}");
}

#[test]
fn single_mode_written_out_renders_exactly_as_the_default() {
    // `mode = "single"` is the default: writing it changes no byte of any cluster, in every example fleet.
    for name in EXAMPLE_FLEETS {
        let text = std::fs::read_to_string(fleet(name)).unwrap();
        let explicit = text
            .lines()
            .map(|l| {
                if l.starts_with("[hub]") {
                    format!("{l}\nmode = \"single\"")
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        assert_ne!(text, explicit, "{name}: no [hub] line");
        let a = render_all(&text);
        let b = render_all(&explicit);
        assert_eq!(a, b, "{name}");
        assert!(
            !a.contains("mimir") && !a.contains("pending-up") && !a.contains("tempo-headless"),
            "{name}"
        );
    }
}

fn render_all(fleet_text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.toml");
    std::fs::write(&path, fleet_text).unwrap();
    let out = lkeobs()
        .args(["render", "--fleet"])
        .arg(&path)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn kubernetes_validate_strict_accepts_the_ha_hub() {
    let Some(tool) = kubernetes_validate() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for cluster in render_to("ha", dir.path()) {
        for f in std::fs::read_dir(&cluster).unwrap().flatten() {
            files.push(f.path());
        }
    }
    files.sort();
    assert!(files.iter().any(|f| f.ends_with("hub/20-mimir.yaml")), "{files:?}");
    let (ok, out) = run(Command::new(&tool)
        .args(["--strict", "--quiet", "-k", "1.33.0"])
        .args(&files));
    assert!(ok, "kubernetes-validate --strict failed:\n{out}");
    assert!(!out.contains("ERROR") && !out.contains("error"), "{out}");
}

fn render_hub(inputs: &lkeobs::stack::Inputs) -> lkeobs::stack::RenderedCluster {
    let loaded = lkeobs::fleet::parse("ha.toml", &ha_text()).expect("fleet/ha.toml is valid");
    let renderer = lkeobs::stack::Renderer::new().expect("templates compile");
    renderer
        .render(&loaded.fleet, &loaded.fleet.hub, inputs)
        .expect("ha hub renders")
}

#[test]
fn up_supplies_the_buckets_host_and_region() {
    let inputs = lkeobs::stack::Inputs {
        object_store: Some(lkeobs::stack::ObjectStoreInputs {
            endpoint_host: "us-ord-1.linodeobjects.com".into(),
            region: "us-ord".into(),
            buckets: lkeobs::stack::Buckets {
                metrics: "lkeobs-ha-metrics".into(),
                logs: "lkeobs-ha-logs".into(),
                traces: "lkeobs-ha-traces".into(),
            },
        }),
        ..Default::default()
    };
    let stream = render_hub(&inputs).to_stream();
    assert!(!stream.contains("pending-up"), "placeholders left");
    let docs: Vec<Value> = serde_yaml_ng::Deserializer::from_str(&stream)
        .map(|d| <Value as serde::Deserialize>::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect();
    let cfg = |cm: &str, key: &str| -> Value {
        serde_yaml_ng::from_str(find(&docs, "ConfigMap", cm)["data"][key].as_str().unwrap()).unwrap()
    };
    let mimir = cfg("mimir", "mimir.yaml");
    assert_eq!(mimir["blocks_storage"]["s3"]["bucket_name"], "lkeobs-ha-metrics");
    assert_eq!(mimir["blocks_storage"]["s3"]["endpoint"], "us-ord-1.linodeobjects.com");
    let loki = cfg("loki", "config.yaml");
    assert_eq!(
        loki["storage_config"]["object_store"]["s3"]["bucket_name"],
        "lkeobs-ha-logs"
    );
    assert_eq!(loki["storage_config"]["object_store"]["s3"]["region"], "us-ord");
    let tempo = cfg("tempo", "tempo.yaml");
    assert_eq!(tempo["storage"]["trace"]["s3"]["bucket"], "lkeobs-ha-traces");
}

#[test]
fn footprint_counts_a_volume_per_engine_replica() {
    let fp = render_hub(&Default::default()).footprint().unwrap();
    for engine in ["mimir", "loki", "tempo"] {
        let claim = fp
            .claims
            .iter()
            .find(|c| c.name == format!("monitoring/{engine}/data"))
            .unwrap_or_else(|| panic!("no claim for {engine}: {:?}", fp.claims));
        assert_eq!((claim.replicas_min, claim.replicas_max), (3, 3), "{engine}");
    }
    assert!(!fp.claims.iter().any(|c| c.name.contains("prometheus")));
}

/// `plan` of an `ha` fleet lists the three buckets and the key to create (counted as changes) and each
/// engine's size with its basis.
#[test]
fn plan_shows_the_buckets_the_key_and_the_engines_sizes() {
    let out = tooling::lkeobs()
        .args(["plan", "--offline", "--output", "json", "--fleet"])
        .arg(tooling::fleet("ha"))
        .output()
        .unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let ha = &report["hub_ha"];
    let signals: Vec<&str> = ha["buckets"]
        .as_array()
        .unwrap_or_else(|| panic!("{report:#}"))
        .iter()
        .map(|b| b["signal"].as_str().unwrap())
        .collect();
    assert_eq!(signals, ["metrics", "logs", "traces"], "{ha:#}");
    assert!(ha["buckets"].as_array().unwrap().iter().all(|b| b["exists"] == false));
    assert_eq!(
        (ha["key_label"].as_str(), ha["creates"].as_u64()),
        (Some("lkeobs-ha"), Some(4))
    );
    let engines: Vec<&str> = ha["sizing"]["per_engine"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["engine"].as_str().unwrap())
        .collect();
    assert_eq!(engines, ["mimir", "loki", "tempo"], "{ha:#}");
    assert!(ha["estimate"]["gb"].as_u64().unwrap() > 0, "{ha:#}");
}
