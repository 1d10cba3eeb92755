//! Whether the simulated clusters' NetworkPolicies let the telemetry through, read from what runs: the
//! agents dial the endpoints their own ConfigMap names, their `k8s_attributes` watch dials the API server,
//! the hub gateway dials its exporters' endpoints. Each connection is judged as the CNI judges it: a name
//! needs DNS first; egress is judged after a Service's DNAT (the backing pod and its target port); the
//! receiving pod's ingress policies judge it too.

use std::net::IpAddr;

use serde_json::Value;

use super::data_endpoints::host_port;
use super::kube::KubeApi;
use super::netpol::{Direction, Peer, allows};
use crate::objects;

/// The source address a NodeBalancer's connections to its backends come from (Linode's backend range).
const NODEBALANCER_SOURCE: [u8; 4] = [192, 168, 255, 10];
/// The public address an outside host name resolves to in the simulation (TEST-NET-2).
const OUTSIDE: [u8; 4] = [198, 51, 100, 10];

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn policies(api: &KubeApi) -> Vec<Value> {
    api.list("networking.k8s.io/v1", "NetworkPolicy")
}

fn namespace_labels(api: &KubeApi, namespace: &str) -> Value {
    api.get("v1", "Namespace", None, namespace)
        .map(|n| n["metadata"]["labels"].clone())
        .unwrap_or(Value::Null)
}

/// A running pod of `namespace` whose name starts with `prefix`, as a peer.
fn running_pod(api: &KubeApi, namespace: &str, prefix: &str) -> Option<Peer> {
    let pod = super::data_links::first_running(api, namespace, prefix)?;
    Some(Peer::pod(
        namespace,
        &namespace_labels(api, namespace),
        &pod["metadata"]["labels"],
    ))
}

/// The endpoints (`host:port`, or a URL) of a collector's exporters, from its ConfigMap.
fn exporter_endpoints(api: &KubeApi, named: objects::Named) -> Vec<(String, String)> {
    let Some(config) = api.get("v1", "ConfigMap", Some(named.namespace), named.name) else {
        return Vec::new();
    };
    let Ok(doc) = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(s(&config["data"]["config.yaml"])) else {
        return Vec::new();
    };
    let Some(exporters) = doc.get("exporters").and_then(|e| e.as_mapping()) else {
        return Vec::new();
    };
    exporters
        .iter()
        .filter_map(|(id, e)| {
            let endpoint = e.get("endpoint")?.as_str()?;
            Some((id.as_str()?.to_string(), endpoint.to_string()))
        })
        .collect()
}

/// Whether `from` (a pod of `api`) may resolve names: egress to the cluster DNS (LKE's CoreDNS pods,
/// `kube-system`, `k8s-app: kube-dns`) on UDP 53.
fn resolves(api: &KubeApi, pols: &[Value], from: &Peer) -> bool {
    let dns = Peer::pod(
        "kube-system",
        &namespace_labels(api, "kube-system"),
        &serde_json::json!({"k8s-app": "kube-dns"}),
    );
    allows(pols, Direction::Egress, from, &dns, 53, "UDP")
}

/// Why `from` (a pod of `api`) cannot open a connection to `endpoint`, if it cannot. An in-cluster Service
/// name is followed through the Service to a running pod it selects, on the target port.
fn connect(api: &KubeApi, from: &Peer, endpoint: &str) -> Result<(), String> {
    let (host, port) = host_port(endpoint).ok_or(format!("cannot read the endpoint {endpoint}"))?;
    let pols = policies(api);
    let deny = |what: String| Err(format!("a NetworkPolicy of {} denies {what}", from.namespace));
    if let Ok(ip) = host.parse::<IpAddr>() {
        if !allows(&pols, Direction::Egress, from, &Peer::address(ip), port, "TCP") {
            return deny(format!("egress to {ip}:{port}"));
        }
        return Ok(());
    }
    if !resolves(api, &pols, from) {
        return deny(format!("DNS (kube-dns, UDP 53), needed to resolve {host}"));
    }
    let Some(service) = host.strip_suffix(".svc.cluster.local").or(host.strip_suffix(".svc")) else {
        let outside = Peer::address(IpAddr::from(OUTSIDE));
        if !allows(&pols, Direction::Egress, from, &outside, port, "TCP") {
            return deny(format!("egress to {host}:{port} (a public address)"));
        }
        return Ok(());
    };
    let (name, namespace) = service.split_once('.').ok_or(format!("{host} names no namespace"))?;
    let svc = api
        .get("v1", "Service", Some(namespace), name)
        .ok_or(format!("no Service {namespace}/{name}"))?;
    let target = svc["spec"]["ports"]
        .as_array()
        .and_then(|ports| ports.iter().find(|p| p["port"] == port))
        .map(|p| p["targetPort"].clone())
        .or_else(|| headless(&svc).then_some(Value::Null))
        .ok_or(format!("the Service {namespace}/{name} has no port {port}"))?;
    let pod = backend(api, &svc).ok_or(format!("no running pod behind the Service {namespace}/{name}"))?;
    let target_port = match &target {
        // A headless Service's name resolves to the pods' own addresses: the port dialled is the pod's.
        _ if headless(&svc) => Some(port),
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(named) => container_port(&pod, named),
        _ => Some(port),
    }
    .ok_or(format!(
        "the Service {namespace}/{name}'s target port {target} is on no container"
    ))?;
    let to = Peer::pod(namespace, &namespace_labels(api, namespace), &pod["metadata"]["labels"]);
    if !allows(&pols, Direction::Egress, from, &to, target_port, "TCP") {
        return deny(format!("egress to {namespace}/{name} (pod port {target_port})"));
    }
    if !allows(&pols, Direction::Ingress, &to, from, target_port, "TCP") {
        return Err(format!(
            "a NetworkPolicy of {namespace} denies ingress to {name} (pod port {target_port}) from {}",
            from.namespace
        ));
    }
    Ok(())
}

/// Whether a Service is headless (`clusterIP: None`): DNS answers its pods' addresses.
fn headless(svc: &Value) -> bool {
    svc["spec"]["clusterIP"] == "None"
}

/// A pod a Service sends to: one its selector matches that is Running and Ready (Running is enough with
/// `publishNotReadyAddresses`), as its endpoints and DNS records list them.
fn backend(api: &KubeApi, svc: &Value) -> Option<Value> {
    let namespace = &svc["metadata"]["namespace"];
    let selector = svc["spec"]["selector"].as_object().cloned().unwrap_or_default();
    let not_ready_too = svc["spec"]["publishNotReadyAddresses"] == true;
    if selector.is_empty() {
        return None;
    }
    api.list("v1", "Pod").into_iter().find(|p| {
        p["metadata"]["namespace"] == *namespace
            && p["status"]["phase"] == "Running"
            && p["metadata"]["deletionTimestamp"].is_null()
            && (not_ready_too || super::controllers::is_ready(p))
            && selector.iter().all(|(k, v)| p["metadata"]["labels"][k.as_str()] == *v)
    })
}

/// A pod of `api`, as a peer.
pub(crate) fn pod_peer(api: &KubeApi, pod: &Value) -> Peer {
    let namespace = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    Peer::pod(namespace, &namespace_labels(api, namespace), &pod["metadata"]["labels"])
}

/// Why `from` (a pod of `api`) cannot reach a host on the internet on `port` (Object Storage), if it cannot.
pub(crate) fn reaches_outside(api: &KubeApi, from: &Peer, port: u16) -> Result<(), String> {
    let pols = policies(api);
    let deny = |what: String| Err(format!("a NetworkPolicy of {} denies {what}", from.namespace));
    if !resolves(api, &pols, from) {
        return deny("DNS (kube-dns, UDP 53)".into());
    }
    if !allows(
        &pols,
        Direction::Egress,
        from,
        &Peer::address(IpAddr::from(OUTSIDE)),
        port,
        "TCP",
    ) {
        return deny(format!("egress to public addresses on {port}"));
    }
    Ok(())
}

fn container_port(pod: &Value, name: &str) -> Option<u16> {
    pod["spec"]["containers"]
        .as_array()?
        .iter()
        .flat_map(|c| c["ports"].as_array().cloned().unwrap_or_default())
        .find(|p| p["name"] == name)
        .and_then(|p| p["containerPort"].as_u64())
        .and_then(|p| u16::try_from(p).ok())
}

/// Why the agents of `api` cannot deliver to the gateway their ConfigMap names, if they cannot. For an
/// edge the gateway is the hub's NodeBalancer: the hub gateway's ingress from the NodeBalancer is judged
/// on `hub` too.
pub(crate) fn agent_link(api: &KubeApi, hub: &KubeApi, is_hub: bool) -> Option<String> {
    let agent = running_pod(api, objects::AGENT.namespace, objects::AGENT.name)?;
    for (_, endpoint) in exporter_endpoints(api, objects::AGENT) {
        if let Err(why) = connect(api, &agent, &endpoint) {
            return Some(format!("its agents cannot reach {endpoint}: {why}"));
        }
        if !is_hub && let Some((_, port)) = host_port(&endpoint) {
            let gateway = running_pod(hub, objects::GATEWAY.namespace, objects::GATEWAY.name)?;
            let nodebalancer = Peer::address(IpAddr::from(NODEBALANCER_SOURCE));
            if !allows(&policies(hub), Direction::Ingress, &gateway, &nodebalancer, port, "TCP") {
                return Some(format!(
                    "a NetworkPolicy of the hub's {} denies the gateway's ingress from its NodeBalancer on {port}",
                    objects::GATEWAY.namespace
                ));
            }
        }
    }
    None
}

/// The API server's real address and port: the `kubernetes` Endpoints (where the Service IP's DNAT goes).
pub(crate) fn api_server(api: &KubeApi) -> Option<(IpAddr, u16)> {
    let ep = api.get("v1", "Endpoints", Some("default"), "kubernetes")?;
    let subset = &ep["subsets"][0];
    let ip = s(&subset["addresses"][0]["ip"]).parse().ok()?;
    let port = u16::try_from(subset["ports"][0]["port"].as_u64()?).ok()?;
    Some((ip, port))
}

/// Whether the agents of `api` reach the API server (their `k8s_attributes` watch; without it records
/// carry no pod metadata). They dial the Service IP from `KUBERNETES_SERVICE_HOST`: no DNS.
pub(crate) fn agents_watch_the_api(api: &KubeApi) -> bool {
    let Some(agent) = running_pod(api, objects::AGENT.namespace, objects::AGENT.name) else {
        return false;
    };
    let Some((ip, port)) = api_server(api) else {
        return false;
    };
    allows(
        &policies(api),
        Direction::Egress,
        &agent,
        &Peer::address(ip),
        port,
        "TCP",
    )
}

/// Why the hub gateway cannot deliver to the in-cluster stores its exporters name, if it cannot.
pub(crate) fn gateway_link(hub: &KubeApi) -> Option<String> {
    let gateway = running_pod(hub, objects::GATEWAY.namespace, objects::GATEWAY.name)?;
    exporter_endpoints(hub, objects::GATEWAY)
        .into_iter()
        .filter(|(_, e)| host_port(e).is_some_and(|(h, _)| h.ends_with(".svc.cluster.local")))
        .find_map(|(id, endpoint)| {
            connect(hub, &gateway, &endpoint)
                .err()
                .map(|why| format!("the hub gateway's exporter {id} cannot reach {endpoint}: {why}"))
        })
}
