//! What can reach what on a real LKE hub, read from the rendered stack: every port a probe or the
//! canary uses (taken from the product's own list of backends) answers on the pod's loopback, where
//! port-forward dials it; the NetworkPolicies stay default-deny with no hole for the control plane (no
//! rule admits everyone; the only ipBlock is the NodeBalancers' backend range, on the public entry
//! points, none of which is a probe's port); every LoadBalancer keeps the client's address
//! (`externalTrafficPolicy: Local`) so the NodePorts it opens on the nodes' public IPs admit the
//! NodeBalancers only; and Grafana never serves clear text on a public address.

use std::collections::BTreeSet;

use kube::Config;
use lkeobs::fleet::{Fleet, Role};
use lkeobs::k8s::{K8s, Manifests};
use lkeobs::probes::backend::{self, Backend, Backends};
use lkeobs::stack::{Inputs, Renderer};
use serde_json::Value;

/// NodeBalancers reach their backends from this range (cited in 30-network-policies.yaml).
const NODEBALANCER_RANGE: &str = "192.168.255.0/24";

/// `fleet/<name>.toml`; `example-grafana` is `example` with a public Grafana and mTLS off (the CA then
/// exists for Grafana alone).
fn fleet(name: &str) -> Fleet {
    let file = name.strip_suffix("-grafana").unwrap_or(name);
    let path = format!("{}/fleet/{file}.toml", env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(&path).expect("example fleet");
    if file != name {
        text = text.replace("mtls = true ", "mtls = false\ngrafana_allow = [\"203.0.113.0/24\"]\n#");
        assert!(text.contains("grafana_allow"), "{name}: fleet not modified");
    }
    lkeobs::fleet::parse(&path, &text).expect("fleet parses").fleet
}

/// Every fleet the rendered-object tests read: without Grafana's LoadBalancer, with one (and mTLS), and
/// with one and mTLS off.
const FLEETS: [&str; 3] = ["example", "prod", "example-grafana"];

/// Every object of every cluster of the fleet, with the cluster's role.
fn rendered(fleet: &Fleet) -> Vec<(Role, Vec<Value>)> {
    let renderer = Renderer::new().expect("renderer");
    fleet
        .clusters()
        .map(|c| {
            let r = renderer.render(fleet, c, &Inputs::default()).expect("render");
            let objects = Manifests::parse(r.documents())
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
    for name in FLEETS {
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
    for name in FLEETS {
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
                    // A rule without `from` admits every source, the internet included.
                    assert!(!from.is_empty(), "{name}: {ns}/{policy} admits everyone on {ports:?}");
                    for peer in &from {
                        if let Some(block) = peer.get("ipBlock") {
                            assert_eq!(
                                block,
                                &serde_json::json!({ "cidr": NODEBALANCER_RANGE }),
                                "{name}: {ns}/{policy}: an ipBlock other than the NodeBalancers' range"
                            );
                            assert!(
                                !ports.is_empty() && ports.iter().all(|p| public.contains(&(policy, *p))),
                                "{name}: {ns}/{policy} admits the NodeBalancers on {ports:?}, not a public entry point"
                            );
                            continue;
                        }
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

/// Whether a policy's `podSelector` selects pods labelled `labels`.
fn selects(policy: &Value, labels: &Value) -> bool {
    policy["spec"]["podSelector"]["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| labels[k] == *v)
}

/// Whether an ingress rule admits container port `number` (named `name` in the pod).
fn admits_port(rule: &Value, number: u64, name: Option<&str>) -> bool {
    match rule["ports"].as_array() {
        None => true,
        Some(ports) if ports.is_empty() => true,
        Some(ports) => ports
            .iter()
            .any(|p| p["port"].as_u64() == Some(number) || (name.is_some() && p["port"].as_str() == name)),
    }
}

#[tokio::test]
async fn load_balancer_node_ports_admit_only_the_nodebalancers_backend_range() {
    for name in FLEETS {
        for (role, objects) in rendered(&fleet(name)) {
            let lbs: Vec<&Value> = objects
                .iter()
                .filter(|o| o["kind"] == "Service" && o["spec"]["type"] == "LoadBalancer")
                .collect();
            if role == Role::Hub {
                assert!(!lbs.is_empty(), "{name}: the hub has no LoadBalancer");
            }
            for svc in lbs {
                let ns = svc["metadata"]["namespace"].as_str().unwrap_or_default();
                let service = svc["metadata"]["name"].as_str().unwrap_or_default();
                // Without Local, kube-proxy SNATs NodePort traffic: every source looks like a node and
                // no policy can tell the NodeBalancer from the internet.
                assert_eq!(
                    svc["spec"]["externalTrafficPolicy"], "Local",
                    "{name}: {ns}/{service} does not keep the source address"
                );
                for sp in svc["spec"]["ports"].as_array().into_iter().flatten() {
                    let port = sp["port"].as_u64().and_then(|p| u16::try_from(p).ok()).expect("port");
                    let (number, workload) = container_port(&objects, ns, service, port);
                    let labels = &workload["spec"]["template"]["metadata"]["labels"];
                    let policies: Vec<&Value> = objects
                        .iter()
                        .filter(|o| o["kind"] == "NetworkPolicy" && o["metadata"]["namespace"] == ns)
                        .filter(|p| selects(p, labels))
                        .collect();
                    assert!(!policies.is_empty(), "{name}: no policy selects {ns}/{service}'s pods");
                    let admitting: Vec<&Value> = policies
                        .iter()
                        .flat_map(|p| rules(p))
                        .filter(|r| admits_port(r, number, sp["targetPort"].as_str()))
                        .collect();
                    assert!(
                        !admitting.is_empty(),
                        "{name}: {ns}/{service}:{port} admits nothing: the NodeBalancer cannot reach it"
                    );
                    for rule in admitting {
                        assert_eq!(
                            rule["from"],
                            serde_json::json!([{ "ipBlock": { "cidr": NODEBALANCER_RANGE } }]),
                            "{name}: {ns}/{service}:{port} (container port {number}) admits more than the NodeBalancers"
                        );
                    }
                }
            }
        }
    }
}

fn env<'a>(container: &'a Value, key: &str) -> Option<&'a str> {
    container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == key)
        .and_then(|e| e["value"].as_str())
}

#[tokio::test]
async fn grafana_is_never_served_in_clear_text_on_a_public_address() {
    let mut public_seen = 0;
    for name in FLEETS {
        let fleet = fleet(name);
        let wants_public = !fleet.security.grafana_allow.is_empty();
        for (role, objects) in rendered(&fleet) {
            if role != Role::Hub {
                continue;
            }
            let svc = find(&objects, &["Service"], "monitoring", |o| {
                o["metadata"]["name"] == "grafana"
            })
            .expect("grafana Service");
            let deploy = find(&objects, &["Deployment"], "monitoring", |o| {
                o["metadata"]["name"] == "grafana"
            })
            .expect("grafana Deployment");
            let pod = &deploy["spec"]["template"]["spec"];
            let container = &pod["containers"][0];
            let policy = find(&objects, &["NetworkPolicy"], "monitoring", |o| {
                o["metadata"]["name"] == "grafana"
            })
            .expect("grafana policy");
            let public = svc["spec"]["type"] == "LoadBalancer";
            assert_eq!(
                public, wants_public,
                "{name}: Grafana's Service is {}",
                svc["spec"]["type"]
            );
            if !public {
                assert_eq!(svc["spec"]["type"], "ClusterIP", "{name}");
                // Port-forward is the way in, and it crosses no policy: nothing is admitted.
                assert_eq!(rules(policy).count(), 0, "{name}: {policy}");
                continue;
            }
            public_seen += 1;
            assert_eq!(env(container, "GF_SERVER_PROTOCOL"), Some("https"), "{name}");
            // The certificate and key are files of the Secret `up` issues for the LoadBalancer address.
            let tls_volume = pod["volumes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|v| v["secret"]["secretName"] == "grafana-tls")
                .unwrap_or_else(|| panic!("{name}: no grafana-tls volume"));
            let mount = container["volumeMounts"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|m| m["name"] == tls_volume["name"])
                .and_then(|m| m["mountPath"].as_str())
                .unwrap_or_else(|| panic!("{name}: grafana-tls not mounted"));
            for (key, file) in [("GF_SERVER_CERT_FILE", "tls.crt"), ("GF_SERVER_CERT_KEY", "tls.key")] {
                assert_eq!(
                    env(container, key),
                    Some(format!("{mount}/{file}").as_str()),
                    "{name}: {key}"
                );
            }
            for probe in ["readinessProbe", "livenessProbe"] {
                assert_eq!(container[probe]["httpGet"]["scheme"], "HTTPS", "{name}: {probe}");
            }
            // TCP NodeBalancer: TLS passes through to Grafana, never terminated (or dropped) on the way.
            let protocol =
                &svc["metadata"]["annotations"]["service.beta.kubernetes.io/linode-loadbalancer-default-protocol"];
            assert!(protocol.is_null() || *protocol == "tcp", "{name}: {protocol}");
            for sp in svc["spec"]["ports"].as_array().into_iter().flatten() {
                assert_ne!(sp["name"], "http", "{name}: a public port named http");
            }
        }
    }
    assert_eq!(public_seen, 2, "prod and example-grafana have a public Grafana");
}
