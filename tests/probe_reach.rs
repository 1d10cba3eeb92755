//! What the probes can reach on a real LKE hub, read from the rendered stack: every port a probe or
//! the canary uses (taken from the product's own list of backends) answers on the pod's loopback,
//! where port-forward dials it; and the NetworkPolicies stay default-deny with no hole for the
//! control plane (no ipBlock, no rule that admits everyone except the deliberate public entry
//! points, none of which is a probe's port).

use std::collections::BTreeSet;

use kube::Config;
use lkeobs::fleet::{Fleet, Role};
use lkeobs::k8s::{K8s, Manifests};
use lkeobs::probes::backend::{self, Backend, Backends};
use lkeobs::stack::{Inputs, Renderer};
use serde_json::Value;

fn fleet(name: &str) -> Fleet {
    let path = format!("{}/fleet/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("example fleet");
    lkeobs::fleet::parse(&path, &text).expect("fleet parses").fleet
}

/// Every object of every cluster of the fleet, with the cluster's role.
fn rendered(fleet: &Fleet) -> Vec<(Role, Vec<Value>)> {
    let renderer = Renderer::new().expect("renderer");
    fleet
        .clusters()
        .map(|c| {
            let r = renderer.render(fleet, c, &Inputs::default()).expect("render");
            let objects = Manifests::from_rendered(&r)
                .expect("manifests")
                .iter()
                .map(|m| serde_json::to_value(&m.object).expect("json"))
                .collect();
            (c.role, objects)
        })
        .collect()
}

/// `(role, namespace, service, port)` of every backend the probes reach.
fn probe_targets() -> Vec<(Role, &'static str, &'static str, u16)> {
    let k8s = K8s::from_config(Config::new("http://127.0.0.1:9".parse().expect("uri"))).expect("handle");
    let Backends {
        prometheus,
        loki,
        tempo,
        gateway_health,
    } = Backends::through_port_forward(&k8s);
    let hub = [prometheus, loki, tempo, gateway_health].map(|b| (Role::Hub, b));
    hub.into_iter()
        .chain([(Role::Edge, backend::agent(&k8s))])
        .map(|(role, b)| match b {
            Backend::Service {
                namespace,
                service,
                port,
                ..
            } => (role, namespace, service, port),
            other => panic!("not a Service backend: {other:?}"),
        })
        .collect()
}

fn find<'a>(objects: &'a [Value], kinds: &[&str], ns: &str, pick: impl Fn(&Value) -> bool) -> Option<&'a Value> {
    objects
        .iter()
        .find(|o| kinds.iter().any(|k| o["kind"] == *k) && o["metadata"]["namespace"] == ns && pick(o))
}

/// The container port behind a Service port, and the workload that serves it.
fn container_port<'a>(objects: &'a [Value], ns: &str, service: &str, port: u16) -> (u64, &'a Value) {
    let svc = find(objects, &["Service"], ns, |o| o["metadata"]["name"] == service)
        .unwrap_or_else(|| panic!("no Service {ns}/{service}"));
    let selector = svc["spec"]["selector"].as_object().expect("selector");
    let workload = find(objects, &["Deployment", "StatefulSet", "DaemonSet"], ns, |o| {
        selector
            .iter()
            .all(|(k, v)| o["spec"]["template"]["metadata"]["labels"][k] == *v)
    })
    .unwrap_or_else(|| panic!("no workload behind {ns}/{service}"));
    let sp = svc["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["port"] == port)
        .unwrap_or_else(|| panic!("{ns}/{service} has no port {port}"));
    let number = match &sp["targetPort"] {
        Value::String(name) => workload["spec"]["template"]["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| c["ports"].as_array().into_iter().flatten())
            .find(|p| p["name"] == *name)
            .and_then(|p| p["containerPort"].as_u64())
            .unwrap_or_else(|| panic!("no container port {name} in {ns}/{service}'s pods")),
        Value::Number(n) => n.as_u64().expect("port"),
        _ => u64::from(port),
    };
    (number, workload)
}

#[tokio::test]
async fn every_port_a_probe_reaches_listens_on_the_pods_loopback() {
    for name in ["example", "prod"] {
        for (role, objects) in rendered(&fleet(name)) {
            for (_, ns, service, port) in probe_targets().into_iter().filter(|t| t.0 == role) {
                let (number, workload) = container_port(&objects, ns, service, port);
                // The workload's own config (ConfigMaps of its namespace) and arguments.
                let mut text =
                    serde_json::to_string(&workload["spec"]["template"]["spec"]["containers"]).expect("json");
                for cm in objects
                    .iter()
                    .filter(|o| o["kind"] == "ConfigMap" && o["metadata"]["namespace"] == ns)
                {
                    for v in cm["data"].as_object().into_iter().flatten().map(|(_, v)| v) {
                        text.push_str(v.as_str().unwrap_or_default());
                        text.push('\n');
                    }
                }
                let what = format!("{name}: {ns}/{service}:{port} (container port {number})");
                assert!(
                    !text.contains(&format!("${{env:MY_POD_IP}}:{number}")),
                    "{what} listens on the pod IP only: port-forward cannot reach it"
                );
                let listens: Vec<&str> = text
                    .lines()
                    .map(str::trim)
                    .filter_map(|l| l.strip_prefix("endpoint: "))
                    .filter(|e| e.ends_with(&format!(":{number}")) && !e.contains("//") && !e.contains(".svc"))
                    .collect();
                for endpoint in &listens {
                    assert_eq!(*endpoint, format!("0.0.0.0:{number}"), "{what}");
                }
                for flag in ["listen-address", "listen_address"] {
                    assert!(!text.contains(flag), "{what}: a listen address is set ({flag})");
                }
            }
        }
    }
}

fn rules(policy: &Value) -> impl Iterator<Item = &Value> {
    policy["spec"]["ingress"].as_array().into_iter().flatten()
}

#[tokio::test]
async fn network_policies_admit_nothing_from_outside_our_namespaces() {
    // Deliberately public (NodeBalancer traffic arrives from node IPs; gated by the Cloud
    // Firewall and mTLS, and by Grafana's login and LoadBalancer ACL).
    let public: BTreeSet<(&str, u64)> = [("otel-gateway", 4317), ("otel-gateway", 4318), ("grafana", 3000)].into();
    let targets = probe_targets();
    for name in ["example", "prod"] {
        for (role, objects) in rendered(&fleet(name)) {
            let policies: Vec<&Value> = objects.iter().filter(|o| o["kind"] == "NetworkPolicy").collect();
            assert!(!policies.is_empty(), "{name}: no NetworkPolicy");
            if role == Role::Hub {
                assert!(
                    policies.iter().any(|p| p["metadata"]["namespace"] == "monitoring"
                        && p["spec"]["podSelector"] == serde_json::json!({})
                        && p["spec"]["ingress"].is_null()),
                    "{name}: monitoring is not default-deny"
                );
            }
            // No probe's port is among the public ones: the probes reach them by port-forward only.
            for (_, ns, service, port) in targets.iter().filter(|t| t.0 == role) {
                let (number, _) = container_port(&objects, ns, service, *port);
                assert!(
                    !public.contains(&(*service, number)),
                    "{name}: {ns}/{service}:{port} is public"
                );
            }
            for p in policies {
                let policy = p["metadata"]["name"].as_str().unwrap_or_default();
                let ns = p["metadata"]["namespace"].as_str().unwrap_or_default();
                for rule in rules(p) {
                    let ports: Vec<u64> = rule["ports"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p["port"].as_u64())
                        .collect();
                    let from = rule["from"].as_array().cloned().unwrap_or_default();
                    if from.is_empty() {
                        assert!(!ports.is_empty(), "{name}: {ns}/{policy} admits everyone on every port");
                        for port in &ports {
                            assert!(
                                public.contains(&(policy, *port)),
                                "{name}: {ns}/{policy} admits everyone on {port}"
                            );
                        }
                    }
                    for peer in &from {
                        assert!(
                            peer.get("ipBlock").is_none(),
                            "{name}: {ns}/{policy} has an ipBlock: {peer}"
                        );
                        assert!(
                            peer.get("namespaceSelector").is_some() || peer.get("podSelector").is_some(),
                            "{name}: {ns}/{policy}: {peer}"
                        );
                        // `namespaceSelector: {}` (every namespace of the cluster, never an
                        // outside address) only for applications sending to their node's agent.
                        if peer["namespaceSelector"] == serde_json::json!({}) {
                            assert_eq!((ns, policy), ("observability", "otel-agent"), "{name}: {peer}");
                        }
                    }
                }
            }
        }
    }
}
