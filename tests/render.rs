//! `render`: golden output, byte-for-byte determinism, the folder layout, and invariants every rendered object must hold.

use crate::tooling;

use std::collections::BTreeMap;

use serde_yaml_ng::Value;
use tooling::{EXAMPLE_FLEETS, fleet, lkeobs, render_to};

fn render_stdout(fleet_name: &str, extra: &[&str]) -> String {
    let out = lkeobs()
        .arg("render")
        .args(extra)
        .arg("--fleet")
        .arg(fleet(fleet_name))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).expect("utf-8")
}

/// Every document of a multi-document stream.
fn documents(stream: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(stream)
        .map(|d| <Value as serde::Deserialize>::deserialize(d).expect("rendered YAML parses"))
        .filter(|v| !v.is_null())
        .collect()
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind}/{name}"))
}

/// A ConfigMap's first data value (the embedded config).
fn config_of<'a>(docs: &'a [Value], name: &str) -> &'a str {
    let cm = find(docs, "ConfigMap", name);
    let data = cm["data"].as_mapping().expect("data");
    data.values().next().and_then(Value::as_str).expect("config text")
}

#[test]
fn golden_example() {
    insta::assert_snapshot!("render_example", render_stdout("example", &[]));
}

#[test]
fn golden_prod() {
    insta::assert_snapshot!("render_prod", render_stdout("prod", &[]));
}

#[test]
fn render_is_byte_for_byte_identical_across_runs() {
    for name in EXAMPLE_FLEETS {
        assert_eq!(render_stdout(name, &[]), render_stdout(name, &[]));
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let (da, db) = (render_to(name, a.path()), render_to(name, b.path()));
        assert_eq!(da.len(), db.len());
        for (x, y) in da.iter().zip(&db) {
            let mut fx: Vec<_> = std::fs::read_dir(x).unwrap().flatten().map(|e| e.file_name()).collect();
            fx.sort();
            for f in fx {
                assert_eq!(
                    std::fs::read(x.join(&f)).unwrap(),
                    std::fs::read(y.join(&f)).unwrap(),
                    "{f:?} differs"
                );
            }
        }
    }
}

#[test]
fn render_out_writes_one_folder_per_cluster_in_apply_order() {
    let dir = tempfile::tempdir().unwrap();
    let folders = render_to("prod", dir.path());
    let names: Vec<String> = folders
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["eu-west", "gpu-sg", "hub", "us-east"]);
    let files = |c: &str| {
        let mut v: Vec<String> = std::fs::read_dir(dir.path().join(c))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    for c in &names {
        for f in files(c) {
            let b = f.as_bytes();
            assert!(
                b[0].is_ascii_digit() && b[1].is_ascii_digit() && b[2] == b'-' && f.ends_with(".yaml"),
                "{c}/{f}"
            );
        }
        assert_eq!(files(c)[0], "00-namespaces.yaml", "namespaces come first in {c}");
    }
    assert!(files("hub").iter().any(|f| f.ends_with("-otel-gateway.yaml")));
    assert!(
        !files("us-east").iter().any(|f| f.ends_with("-otel-gateway.yaml")),
        "edges get no hub stack"
    );
    assert!(files("gpu-sg").iter().any(|f| f.ends_with("-dcgm-exporter.yaml")));
    assert!(
        !files("us-east").iter().any(|f| f.ends_with("-dcgm-exporter.yaml")),
        "DCGM only on GPU clusters"
    );
}

#[test]
fn render_out_removes_files_a_previous_render_left() {
    let dir = tempfile::tempdir().unwrap();
    let stale = dir.path().join("us-east").join("13-dcgm-exporter.yaml");
    let mine = dir.path().join("us-east").join("notes.txt");
    std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
    std::fs::write(&stale, "stale").unwrap();
    std::fs::write(&mine, "keep").unwrap();
    render_to("example", dir.path());
    assert!(!stale.exists(), "stale rendered file kept");
    assert!(mine.exists(), "a file that is not ours was removed");
}

#[test]
fn every_object_carries_the_fleet_labels() {
    for name in EXAMPLE_FLEETS {
        for doc in documents(&render_stdout(name, &[])) {
            let labels = &doc["metadata"]["labels"];
            let what = format!("{name}: {:?}/{:?}", doc["kind"], doc["metadata"]["name"]);
            assert_eq!(labels["app.kubernetes.io/managed-by"], "lkeobs", "{what}");
            assert_eq!(labels["lkeobs.io/fleet"], name, "{what}");
            if let Some(tmpl) = doc.get("spec").and_then(|s| s.get("template")) {
                assert_eq!(
                    tmpl["metadata"]["labels"]["lkeobs.io/fleet"], name,
                    "{what} pod template"
                );
            }
        }
    }
}

#[test]
fn every_image_is_pinned_in_versions_rs() {
    let pinned = [
        lkeobs::stack::versions::OTELCOL,
        lkeobs::stack::versions::PROMETHEUS,
        lkeobs::stack::versions::LOKI,
        lkeobs::stack::versions::TEMPO,
        lkeobs::stack::versions::GRAFANA,
        lkeobs::stack::versions::DCGM_EXPORTER,
    ];
    for name in EXAMPLE_FLEETS {
        let text = render_stdout(name, &[]);
        for line in text.lines().filter(|l| l.trim_start().starts_with("image:")) {
            let image = line.trim_start().trim_start_matches("image:").trim().trim_matches('"');
            assert!(
                pinned.contains(&image)
                    || image.starts_with("registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.")
                    || ["v0.8.1", "v0.9.0"]
                        .map(|t| format!("registry.k8s.io/metrics-server/metrics-server:{t}"))
                        .contains(&image.to_string()),
                "{name}: image {image} is not from versions.rs"
            );
        }
    }
    for (_, name, source) in lkeobs::stack::embedded::TEMPLATES {
        for line in source.lines().filter(|l| l.trim_start().starts_with("image:")) {
            assert!(line.contains("{{ images."), "{name}: hard-coded image: {line}");
        }
    }
}

#[test]
fn no_secret_values_are_rendered() {
    for name in EXAMPLE_FLEETS {
        for doc in documents(&render_stdout(name, &[])) {
            assert_ne!(
                doc["kind"], "Secret",
                "{name}: render must not write Secrets (up creates them)"
            );
        }
    }
    let text = render_stdout("prod", &[]);
    assert!(!text.contains("admin/admin") && !text.to_lowercase().contains("password: admin"));
}

#[test]
fn edges_dial_the_gateway_address_over_mtls() {
    let docs = documents(&render_stdout("prod", &["--cluster", "us-east"]));
    let agent = config_of(&docs, "otel-agent");
    assert!(agent.contains("lkeobs-gateway-address.invalid:4317"), "{agent}");
    assert!(agent.contains("cert_file"), "mTLS client cert missing:\n{agent}");
    let hub = documents(&render_stdout("prod", &["--cluster", "hub"]));
    let hub_agent = config_of(&hub, "otel-agent");
    assert!(
        hub_agent.contains("otel-gateway.observability-hub.svc.cluster.local:4317"),
        "{hub_agent}"
    );
}

#[test]
fn every_signal_carries_cluster_identity_and_hub_received_at() {
    let docs = documents(&render_stdout("prod", &["--cluster", "eu-west"]));
    for cm in ["otel-agent", "otel-scraper"] {
        let cfg = config_of(&docs, cm);
        assert!(
            cfg.contains("cluster.id") && cfg.contains("eu-west") && cfg.contains("cluster.role"),
            "{cm}:\n{cfg}"
        );
    }
    let hub = documents(&render_stdout("prod", &["--cluster", "hub"]));
    assert!(config_of(&hub, "otel-gateway").contains("hub.received_at"));
}

#[test]
fn pii_scrubbing_only_at_edges_and_only_when_on() {
    // Edge agents scrub every signal; the hub's agent never does (what leaves the hub is scrubbed by the gateway's
    // destination pipelines, tests/pii_scrubbing.rs); with the setting off nothing is scrubbed anywhere.
    let agent_pipelines = |fleet_name: &str, cluster: &str| -> Vec<String> {
        let docs = documents(&render_stdout(fleet_name, &["--cluster", cluster]));
        let cfg: Value = serde_yaml_ng::from_str(config_of(&docs, "otel-agent")).expect("agent config");
        ["traces", "metrics", "logs"]
            .iter()
            .map(|p| serde_yaml_ng::to_string(&cfg["service"]["pipelines"][*p]["processors"]).unwrap())
            .collect()
    };
    for procs in agent_pipelines("prod", "us-east") {
        assert!(procs.contains("transform/pii"), "{procs}");
    }
    for procs in agent_pipelines("prod", "hub")
        .into_iter()
        .chain(agent_pipelines("example", "us-east"))
    {
        assert!(!procs.contains("transform/pii"), "{procs}");
    }
    let example_gw = config_of(
        &documents(&render_stdout("example", &["--cluster", "hub"])),
        "otel-gateway",
    )
    .to_string();
    assert!(!example_gw.contains("transform/pii"));
}

#[test]
fn destinations_read_tokens_from_env_never_inline() {
    let docs = documents(&render_stdout("prod", &["--cluster", "hub"]));
    let cfg = config_of(&docs, "otel-gateway");
    for (id, env) in [
        ("splunk_hec/dest0", "SPLUNK_HEC_TOKEN"),
        ("datadog/dest1", "DD_API_KEY"),
        ("otlp_grpc/dest2", "PARTNER_OTLP_TOKEN"),
    ] {
        assert!(cfg.contains(id), "{id} missing");
        assert!(cfg.contains(&format!("${{env:{env}}}")), "{env} not read from env");
    }
    let text = render_stdout("prod", &["--cluster", "hub"]);
    assert!(
        text.contains("lkeobs-destinations"),
        "gateway env must come from the Secret"
    );
}

#[test]
fn grafana_is_cluster_ip_unless_allowed() {
    let svc = |f: &str| {
        let docs = documents(&render_stdout(f, &["--cluster", "hub"]));
        find(&docs, "Service", "grafana").clone()
    };
    assert_eq!(
        svc("example")["spec"]["type"].as_str().unwrap_or("ClusterIP"),
        "ClusterIP"
    );
    let prod = svc("prod");
    assert_eq!(prod["spec"]["type"], "LoadBalancer");
    let acl = prod["metadata"]["annotations"]["service.beta.kubernetes.io/linode-loadbalancer-firewall-acl"]
        .as_str()
        .expect("firewall-acl annotation");
    let acl: serde_json::Value = serde_json::from_str(acl).expect("annotation is JSON");
    assert_eq!(acl["allowList"]["ipv4"][0], "198.51.100.0/24");
    assert_eq!(acl["allowList"]["ipv6"][0], "2001:db8:1234::/48");
}

/// Grafana behind its LoadBalancer serves HTTPS and marks its session cookie `Secure`.
#[test]
fn a_public_grafana_marks_its_session_cookie_secure() {
    let secure = |f: &str| {
        let docs = documents(&render_stdout(f, &["--cluster", "hub"]));
        let deploy = find(&docs, "Deployment", "grafana").clone();
        let env = deploy["spec"]["template"]["spec"]["containers"][0]["env"].clone();
        env.as_sequence()
            .into_iter()
            .flatten()
            .find(|e| e["name"] == "GF_SECURITY_COOKIE_SECURE")
            .map(|e| e["value"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(secure("prod").as_deref(), Some("true"));
    assert_eq!(
        secure("example"),
        None,
        "port-forwarded over http://localhost: no TLS to require"
    );
}

#[test]
fn gateway_queue_on_pvcs_needs_a_statefulset() {
    let prod = documents(&render_stdout("prod", &["--cluster", "hub"]));
    let sts = find(&prod, "StatefulSet", "otel-gateway");
    assert_eq!(
        sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "10Gi"
    );
    let hpa = find(&prod, "HorizontalPodAutoscaler", "otel-gateway");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"], "StatefulSet");
    assert_eq!(hpa["spec"]["maxReplicas"], 10);
    let example = documents(&render_stdout("example", &["--cluster", "hub"]));
    find(&example, "Deployment", "otel-gateway");
    let sc = find(&prod, "StorageClass", "lkeobs-prod");
    assert_eq!(sc["reclaimPolicy"], "Delete");
    let tags = sc["parameters"]["linodebs.csi.linode.com/volumeTags"].as_str().unwrap();
    assert!(
        tags.contains("lkeobs-fleet-prod") && tags.contains("team-obs"),
        "{tags}"
    );
}

#[test]
fn gateway_load_balancer_tags_its_nodebalancer() {
    let docs = documents(&render_stdout("prod", &["--cluster", "hub"]));
    let lb = find(&docs, "Service", "otel-gateway-external");
    assert_eq!(lb["spec"]["type"], "LoadBalancer");
    let ports: Vec<i64> = lb["spec"]["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| p["port"].as_i64().unwrap())
        .collect();
    assert_eq!(ports, [4317, 4318]);
    let tags = lb["metadata"]["annotations"]["service.beta.kubernetes.io/linode-loadbalancer-tags"]
        .as_str()
        .unwrap();
    assert!(tags.contains("lkeobs-fleet-prod"), "{tags}");
}

#[test]
fn gpu_nodes_get_dcgm_by_label_tolerating_any_taint_and_offline_no_runtime_class() {
    let text = render_stdout("prod", &["--cluster", "gpu-sg"]);
    let docs = documents(&text);
    let ds = find(&docs, "DaemonSet", "dcgm-exporter");
    let pod = &ds["spec"]["template"]["spec"];
    assert_eq!(pod["nodeSelector"]["lkeobs.io/gpu"], "true");
    // One toleration without a key: every taint a fleet file may give a GPU pool.
    let tolerations = pod["tolerations"].as_sequence().unwrap();
    assert_eq!(tolerations.len(), 1, "{tolerations:?}");
    assert_eq!(tolerations[0]["operator"], "Exists");
    assert!(tolerations[0].get("key").is_none() && tolerations[0].get("effect").is_none());
    // Offline there is no cluster to look for a RuntimeClass in, and the manifest says so.
    assert!(pod.get("runtimeClassName").is_none());
    assert!(text.contains("# No runtimeClassName: rendered without a cluster to look at."));
    assert!(config_of(&docs, "otel-scraper").contains("dcgm"));
}

#[test]
fn objects_per_cluster_are_unique() {
    for name in EXAMPLE_FLEETS {
        let text = render_stdout(name, &[]);
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut cluster = String::new();
        for chunk in text.split("---\n# Source: ").skip(1) {
            let c = chunk.split('/').next().unwrap_or("").to_string();
            if c != cluster {
                seen.clear();
                cluster = c;
            }
            for d in documents(chunk.split_once('\n').map_or("", |x| x.1)) {
                let key = format!(
                    "{:?}/{:?}/{:?}",
                    d["kind"], d["metadata"]["namespace"], d["metadata"]["name"]
                );
                *seen.entry(key.clone()).or_default() += 1;
                assert_eq!(seen[&key], 1, "{name}/{cluster}: {key} rendered twice");
            }
        }
    }
}

#[test]
fn grafana_and_loki_configs_hold_no_dead_keys() {
    let docs = documents(&render_stdout("prod", &["--cluster", "hub"]));
    let datasources = find(&docs, "ConfigMap", "grafana-datasources");
    let text = serde_json::to_string(datasources).unwrap();
    // Removed from Grafana's Tempo datasource in 2024: a key that does nothing.
    assert!(!text.contains("lokiSearch"), "{text}");
    let loki: Value = serde_yaml_ng::from_str(config_of(&docs, "loki")).expect("loki config parses");
    assert_eq!(
        loki["query_range"]["cache_results"], true,
        "a results_cache without cache_results does nothing"
    );
    assert!(loki["query_range"]["results_cache"].is_mapping());
}

/// Component types otelcol-contrib renamed to snake_case (contrib issue #45339) and keeps only as deprecated
/// aliases that log a warning and will stop starting once removed: the rendered collectors use the new names.
const DEPRECATED_COMPONENT_ALIASES: [(&str, &str); 10] = [
    ("tlscheck", "tls_check"),
    ("httpcheck", "http_check"),
    ("tcpcheck", "tcp_check"),
    ("sshcheck", "ssh_check"),
    ("kubeletstats", "kubelet_stats"),
    ("k8sattributes", "k8s_attributes"),
    ("filelog", "file_log"),
    ("resourcedetection", "resource_detection"),
    ("prometheusremotewrite", "prometheus_remote_write"),
    ("filestorage", "file_storage"),
];

#[test]
fn collectors_use_no_deprecated_component_alias() {
    let mut checked = 0;
    for name in EXAMPLE_FLEETS {
        let docs = documents(&render_stdout(name, &[]));
        for cm in docs.iter().filter(|d| d["kind"] == "ConfigMap") {
            let Some(text) = cm["data"]["config.yaml"].as_str() else {
                continue;
            };
            let config: Value = serde_yaml_ng::from_str(text).expect("collector config parses");
            if config.get("service").is_none() {
                continue;
            }
            checked += 1;
            for section in ["receivers", "processors", "exporters", "extensions", "connectors"] {
                let Some(components) = config[section].as_mapping() else {
                    continue;
                };
                for key in components.keys().filter_map(Value::as_str) {
                    let kind = key.split('/').next().unwrap_or(key);
                    if let Some((_, new)) = DEPRECATED_COMPONENT_ALIASES.iter().find(|(old, _)| *old == kind) {
                        panic!(
                            "{name}: ConfigMap {} uses the deprecated {section} type `{kind}`: use `{new}`",
                            cm["metadata"]["name"].as_str().unwrap_or("?")
                        );
                    }
                }
            }
        }
    }
    assert!(checked >= 3, "collector configs found: {checked}");
}

#[test]
fn the_gateway_dials_its_destinations_ports_on_public_addresses_only() {
    let docs = documents(&render_stdout("prod", &["--cluster", "hub"]));
    let egress = find(&docs, "NetworkPolicy", "otel-gateway-egress");
    let rules = egress["spec"]["egress"].as_sequence().expect("egress rules");
    let outside = rules
        .iter()
        .find(|r| r["to"][0]["ipBlock"]["cidr"] == "0.0.0.0/0")
        .expect("a rule for outside destinations");
    let ports: Vec<u64> = outside["ports"]
        .as_sequence()
        .expect("ports")
        .iter()
        .filter_map(|p| p["port"].as_u64())
        .collect();
    // Splunk's 8088, Datadog's 443, the partner's 4317: each once.
    assert_eq!(ports, [8088, 443, 4317]);
    let except: Vec<&str> = outside["to"][0]["ipBlock"]["except"]
        .as_sequence()
        .expect("except")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for range in [
        "10.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "100.64.0.0/10",
    ] {
        assert!(except.contains(&range), "{range} is not excluded: {except:?}");
    }
    let v6: Vec<&str> = outside["to"][1]["ipBlock"]["except"]
        .as_sequence()
        .expect("v6 except")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(v6.contains(&"fe80::/10") && v6.contains(&"fc00::/7"), "{v6:?}");
    // No other rule of the gateway reaches outside the cluster.
    assert_eq!(rules.iter().filter(|r| r["to"][0].get("ipBlock").is_some()).count(), 1);
    // Every lkeobs namespace of the hub denies both directions by default.
    for ns in ["observability", "monitoring", "observability-hub"] {
        let deny = docs
            .iter()
            .find(|d| {
                d["kind"] == "NetworkPolicy"
                    && d["metadata"]["name"] == "default-deny"
                    && d["metadata"]["namespace"] == ns
            })
            .unwrap_or_else(|| panic!("no default-deny in {ns}"));
        assert_eq!(deny["spec"]["policyTypes"].as_sequence().map(Vec::len), Some(2));
    }
}
