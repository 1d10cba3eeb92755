//! NetworkPolicy as the simulated clusters' CNI (Calico, on LKE) enforces it: a pod selected by any policy of
//! a direction admits only what one of their rules allows; egress is judged after a Service's DNAT, so the
//! peer is the endpoint (a pod, or the control plane's real address and port), never the Service's IP.

use std::net::IpAddr;

use serde_json::{Map, Value};

/// Which side of a pod a policy guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Ingress,
    Egress,
}

/// One end of a connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct Peer {
    /// The pod's namespace and its labels; empty for an address outside the pod network.
    pub namespace: String,
    pub namespace_labels: Map<String, Value>,
    /// The pod's labels; None for an address outside the pod network.
    pub pod_labels: Option<Map<String, Value>>,
    /// The address (an outside peer's; pods are matched by their labels).
    pub ip: Option<IpAddr>,
}

impl Peer {
    /// A pod of `namespace` with `labels` (the namespace's own `kubernetes.io/metadata.name` label added,
    /// as kube-apiserver adds it to every namespace).
    pub(crate) fn pod(namespace: &str, namespace_labels: &Value, labels: &Value) -> Peer {
        let mut ns = namespace_labels.as_object().cloned().unwrap_or_default();
        ns.insert("kubernetes.io/metadata.name".into(), Value::from(namespace));
        Peer {
            namespace: namespace.to_string(),
            namespace_labels: ns,
            pod_labels: Some(labels.as_object().cloned().unwrap_or_default()),
            ip: None,
        }
    }

    /// An address outside the pod network (a NodeBalancer, the control plane, a host on the internet).
    pub(crate) fn address(ip: IpAddr) -> Peer {
        Peer {
            ip: Some(ip),
            ..Peer::default()
        }
    }
}

/// Whether `policies` (every NetworkPolicy of the cluster) let `local` (a pod) connect to, or be reached
/// from, `remote` on `port`/`protocol` (`TCP`, `UDP`).
pub(crate) fn allows(
    policies: &[Value],
    direction: Direction,
    local: &Peer,
    remote: &Peer,
    port: u16,
    protocol: &str,
) -> bool {
    let Some(local_labels) = &local.pod_labels else {
        return true;
    };
    let (types_key, rules_key, peers_key) = match direction {
        Direction::Ingress => ("Ingress", "ingress", "from"),
        Direction::Egress => ("Egress", "egress", "to"),
    };
    let selecting: Vec<&Value> = policies
        .iter()
        .filter(|p| p["metadata"]["namespace"] == local.namespace.as_str())
        .filter(|p| selects(&p["spec"]["podSelector"], local_labels))
        .filter(|p| match p["spec"]["policyTypes"].as_array() {
            Some(types) => types.iter().any(|t| t == types_key),
            // Without policyTypes: Ingress always, Egress when the policy has egress rules.
            None => direction == Direction::Ingress || p["spec"].get("egress").is_some(),
        })
        .collect();
    if selecting.is_empty() {
        return true;
    }
    selecting.iter().any(|p| {
        p["spec"][rules_key].as_array().is_some_and(|rules| {
            rules.iter().any(|rule| {
                ports_match(&rule["ports"], port, protocol)
                    && match rule[peers_key].as_array() {
                        None => true,
                        Some(peers) if peers.is_empty() => true,
                        Some(peers) => peers.iter().any(|peer| peer_matches(peer, local, remote)),
                    }
            })
        })
    })
}

fn ports_match(ports: &Value, port: u16, protocol: &str) -> bool {
    let Some(list) = ports.as_array().filter(|l| !l.is_empty()) else {
        return true;
    };
    list.iter().any(|p| {
        let proto = p["protocol"].as_str().unwrap_or("TCP");
        if !proto.eq_ignore_ascii_case(protocol) {
            return false;
        }
        match &p["port"] {
            Value::Null => true,
            Value::Number(n) => {
                let lo = n.as_u64().unwrap_or(0);
                let hi = p["endPort"].as_u64().unwrap_or(lo);
                (lo..=hi).contains(&u64::from(port))
            }
            // A named port matches the container port of that name; the simulated pods name none.
            _ => false,
        }
    })
}

fn peer_matches(peer: &Value, local: &Peer, remote: &Peer) -> bool {
    if let Some(block) = peer.get("ipBlock") {
        let Some(ip) = remote.ip else {
            return false;
        };
        let within = |cidr: &Value| {
            cidr.as_str()
                .and_then(|c| c.parse::<ipnet::IpNet>().ok())
                .is_some_and(|n| n.contains(&ip))
        };
        let excluded = block["except"].as_array().is_some_and(|e| e.iter().any(within));
        return within(&block["cidr"]) && !excluded;
    }
    let Some(pod_labels) = &remote.pod_labels else {
        return false;
    };
    let namespace_ok = match peer.get("namespaceSelector") {
        Some(sel) => selects(sel, &remote.namespace_labels),
        None => remote.namespace == local.namespace,
    };
    let pod_ok = match peer.get("podSelector") {
        Some(sel) => selects(sel, pod_labels),
        None => true,
    };
    namespace_ok && pod_ok
}

/// Whether a label selector (`matchLabels`, `matchExpressions`; empty: everything) selects `labels`.
pub(crate) fn selects(selector: &Value, labels: &Map<String, Value>) -> bool {
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    let by_labels = selector["matchLabels"]
        .as_object()
        .is_none_or(|m| m.iter().all(|(k, v)| label(k) == v.as_str()));
    let by_expressions = selector["matchExpressions"].as_array().is_none_or(|exprs| {
        exprs.iter().all(|e| {
            let key = e["key"].as_str().unwrap_or_default();
            let values: Vec<&str> = e["values"]
                .as_array()
                .map(|v| v.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            match e["operator"].as_str().unwrap_or_default() {
                "In" => label(key).is_some_and(|v| values.contains(&v)),
                "NotIn" => label(key).is_none_or(|v| !values.contains(&v)),
                "Exists" => label(key).is_some(),
                "DoesNotExist" => label(key).is_none(),
                _ => false,
            }
        })
    });
    by_labels && by_expressions
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn agent() -> Peer {
        Peer::pod(
            "observability",
            &json!({}),
            &json!({"app.kubernetes.io/name": "otel-agent"}),
        )
    }

    fn policies() -> Vec<Value> {
        vec![
            json!({"metadata": {"namespace": "observability", "name": "default-deny-egress"},
                   "spec": {"podSelector": {}, "policyTypes": ["Egress"]}}),
            json!({"metadata": {"namespace": "observability", "name": "otel-agent-egress"},
            "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "otel-agent"}},
                     "policyTypes": ["Egress"],
                     "egress": [
                         {"to": [{"ipBlock": {"cidr": "203.0.113.7/32"}}], "ports": [{"port": 4317}]},
                         {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                                  "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                          "ports": [{"port": 53, "protocol": "UDP"}]},
                         {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}],
                          "ports": [{"port": 8000, "endPort": 8100}]}
                     ]}}),
        ]
    }

    #[test]
    fn egress_is_denied_unless_a_rule_allows_it() {
        let p = policies();
        let ip = |s: &str| Peer::address(s.parse().expect("ip"));
        let e = Direction::Egress;
        assert!(allows(&p, e, &agent(), &ip("203.0.113.7"), 4317, "TCP"));
        assert!(!allows(&p, e, &agent(), &ip("203.0.113.8"), 4317, "TCP"));
        assert!(!allows(&p, e, &agent(), &ip("203.0.113.7"), 4318, "TCP"));
        assert!(!allows(&p, e, &agent(), &ip("203.0.113.7"), 4317, "UDP"));
        assert!(allows(&p, e, &agent(), &ip("198.51.100.1"), 8050, "TCP"));
        assert!(!allows(&p, e, &agent(), &ip("10.1.2.3"), 8050, "TCP"), "except");
        let dns = Peer::pod("kube-system", &json!({}), &json!({"k8s-app": "kube-dns"}));
        assert!(allows(&p, e, &agent(), &dns, 53, "UDP"));
        assert!(!allows(&p, e, &agent(), &dns, 53, "TCP"));
        let other_dns = Peer::pod("default", &json!({}), &json!({"k8s-app": "kube-dns"}));
        assert!(!allows(&p, e, &agent(), &other_dns, 53, "UDP"));
        // Another pod of the namespace: only the default-deny selects it.
        let scraper = Peer::pod(
            "observability",
            &json!({}),
            &json!({"app.kubernetes.io/name": "otel-scraper"}),
        );
        assert!(!allows(&p, e, &scraper, &ip("203.0.113.7"), 4317, "TCP"));
        // Another namespace: no policy selects it, everything goes.
        let app = Peer::pod("default", &json!({}), &json!({}));
        assert!(allows(&p, e, &app, &ip("203.0.113.9"), 1, "TCP"));
        // Ingress is not restricted by egress-only policies.
        assert!(allows(&p, Direction::Ingress, &agent(), &ip("203.0.113.9"), 1, "TCP"));
    }

    #[test]
    fn selectors_follow_match_expressions() {
        let labels = json!({"a": "1", "b": "2"}).as_object().cloned().expect("map");
        let sel = |v: Value| selects(&v, &labels);
        assert!(sel(json!({})));
        assert!(sel(
            json!({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "3"]}]})
        ));
        assert!(!sel(
            json!({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]})
        ));
        assert!(sel(
            json!({"matchExpressions": [{"key": "c", "operator": "DoesNotExist"}]})
        ));
        assert!(!sel(json!({"matchLabels": {"a": "1", "c": "3"}})));
    }
}
