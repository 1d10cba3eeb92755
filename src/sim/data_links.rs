//! Which simulated clusters' telemetry reaches their hub, judged from the simulated platform itself:
//! a cluster sends while its agents run; an edge's data reaches the hub only while the hub's gateway
//! pods run, the hub's gateway LoadBalancer Service has a NodeBalancer, the firewalls the cloud
//! controller actually attached to that NodeBalancer let the edge's node addresses in (whatever
//! their labels), and the edge's client certificate (when the fleet uses mTLS) is signed by the hub's CA.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::Value;

use super::kube::KubeApi;
use super::linode::State;
use super::world::{Apis, lock};
use crate::objects;

/// One cluster of a fleet, as the data path sees it.
#[derive(Debug, Clone)]
pub(crate) struct Sender {
    /// Its fleet's name.
    pub fleet: String,
    /// Its name in the fleet (`cluster.id`): the label without `lkeobs-<fleet>-`.
    pub name: String,
    /// Its Linode cluster label.
    pub label: String,
    /// Whether it is its fleet's hub.
    pub hub: bool,
    /// Its Node names now.
    pub nodes: Vec<String>,
    /// Why its data does not reach the hub, if it does not.
    pub broken: Option<String>,
    /// Whether its agents' `k8s_attributes` watch reaches the API server (records carry pod metadata).
    pub metadata: bool,
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// `(fleet, name, is_hub)` of a cluster from its label and tags.
fn identity(cluster: &Value) -> Option<(String, String, bool)> {
    let tags: Vec<&str> = cluster["tags"].as_array()?.iter().map(s).collect();
    let fleet = tags.iter().find_map(|t| t.strip_prefix("lkeobs-fleet-"))?;
    let name = s(&cluster["label"]).strip_prefix(&format!("lkeobs-{fleet}-"))?;
    Some((fleet.to_string(), name.to_string(), tags.contains(&"lkeobs-role-hub")))
}

fn running(api: &KubeApi, namespace: &str, prefix: &str) -> bool {
    first_running(api, namespace, prefix).is_some()
}

/// A running pod of `namespace` whose name starts with `prefix`.
pub(crate) fn first_running(api: &KubeApi, namespace: &str, prefix: &str) -> Option<Value> {
    api.list("v1", "Pod").into_iter().find(|p| {
        p["metadata"]["namespace"] == namespace
            && s(&p["metadata"]["name"]).starts_with(prefix)
            && p["status"]["phase"] == "Running"
    })
}

/// The address the edges dial: the ingress IP the hub's gateway LoadBalancer Service was given. Err:
/// the edges have nothing to dial.
fn gateway_address(hub: &KubeApi) -> Result<String, String> {
    let lb = objects::GATEWAY_LB;
    let svc = hub
        .get("v1", "Service", Some(lb.namespace), lb.name)
        .ok_or(format!("the hub has no Service {lb} for the edges to dial"))?;
    let ip = s(&svc["status"]["loadBalancer"]["ingress"][0]["ip"]);
    if ip.is_empty() {
        return Err(format!("the hub's Service {lb} has no NodeBalancer address yet"));
    }
    Ok(ip.to_string())
}

/// The firewalls in front of the address `ip`: those attached (as devices) to the NodeBalancer with
/// that address, whatever their labels. Err: no NodeBalancer answers there.
fn attached_firewalls(st: &State, ip: &str) -> Result<Vec<Value>, String> {
    let nb = st
        .nodebalancers
        .values()
        .find(|n| n["ipv4"] == ip)
        .and_then(|n| n["id"].as_u64())
        .ok_or(format!(
            "no NodeBalancer answers at {ip}, the address of the hub's Service {}",
            objects::GATEWAY_LB
        ))?;
    Ok(st
        .devices
        .values()
        .filter(|d| d["entity"]["type"] == "nodebalancer" && d["entity"]["id"] == nb)
        .filter_map(|d| st.firewalls.get(&d["firewall_id"].as_u64()?).cloned())
        .filter(|f| f["status"] != "disabled")
        .collect())
}

/// Whether a port list (`"4317,4318"`, `"4000-5000"`; none: every port) holds `port`.
fn ports_hold(ports: &Value, port: u16) -> bool {
    let Some(list) = ports.as_str().filter(|p| !p.trim().is_empty()) else {
        return true;
    };
    list.split(',').map(str::trim).any(|p| match p.split_once('-') {
        Some((a, b)) => a.parse::<u16>().is_ok_and(|a| a <= port) && b.parse::<u16>().is_ok_and(|b| port <= b),
        None => p.parse::<u16>().is_ok_and(|p| p == port),
    })
}

/// Whether a firewall lets a TCP connection from `address` to `port` in: its first inbound rule that
/// matches decides, else its inbound policy.
pub(crate) fn firewall_accepts(fw: &Value, address: &str, port: u16) -> bool {
    let Ok(addr) = address.parse::<std::net::Ipv4Addr>() else {
        return false;
    };
    let covers = |cidr: &Value| {
        let c = s(cidr);
        let c = if c.contains('/') {
            c.to_string()
        } else {
            format!("{c}/32")
        };
        c.parse::<ipnet::Ipv4Net>().is_ok_and(|n| n.contains(&addr))
    };
    let rules = fw["rules"]["inbound"].as_array().cloned().unwrap_or_default();
    let decided = rules.iter().find(|r| {
        matches!(s(&r["protocol"]), "TCP" | "ALL" | "")
            && ports_hold(&r["ports"], port)
            && r["addresses"]["ipv4"].as_array().is_some_and(|a| a.iter().any(covers))
    });
    let action = decided.map_or(&fw["rules"]["inbound_policy"], |r| &r["action"]);
    action == "ACCEPT"
}

/// The public IPv4 of each Node of a cluster (its ExternalIP).
fn node_addresses(api: &KubeApi) -> Vec<String> {
    api.list("v1", "Node")
        .iter()
        .flat_map(|n| n["status"]["addresses"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["type"] == "ExternalIP")
        .map(|a| s(&a["address"]).to_string())
        .collect()
}

/// A certificate (`key`: `ca.crt`, `tls.crt`) of a Secret, decoded from base64 and PEM to DER.
fn certificate(api: &KubeApi, named: objects::Named, key: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let secret = api.get("v1", "Secret", Some(named.namespace), named.name)?;
    let pem = base64::engine::general_purpose::STANDARD
        .decode(s(&secret["data"][key]))
        .ok()?;
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).ok()?;
    Some(pem.contents)
}

/// Whether `leaf` (DER) carries a valid signature of the CA `ca` (DER).
pub(crate) fn signed_by(leaf: &[u8], ca: &[u8]) -> bool {
    use ring::signature;
    let (Ok((_, leaf)), Ok((_, ca))) = (
        x509_parser::parse_x509_certificate(leaf),
        x509_parser::parse_x509_certificate(ca),
    ) else {
        return false;
    };
    let oid = leaf.signature_algorithm.algorithm.to_id_string();
    let algorithm: &dyn signature::VerificationAlgorithm = match oid.as_str() {
        "1.2.840.10045.4.3.2" => &signature::ECDSA_P256_SHA256_ASN1,
        "1.2.840.10045.4.3.3" => &signature::ECDSA_P384_SHA384_ASN1,
        "1.3.101.112" => &signature::ED25519,
        _ => return false,
    };
    let key = signature::UnparsedPublicKey::new(algorithm, ca.public_key().subject_public_key.data.as_ref());
    key.verify(leaf.tbs_certificate.as_ref(), leaf.signature_value.data.as_ref())
        .is_ok()
}

/// `(fleet, name, label, is_hub)` of a fleet cluster.
type Cluster = (String, String, String, bool);

/// The port the edges' agents send to (OTLP/gRPC on the gateway's NodeBalancer).
const OTLP_GRPC: u16 = 4317;

/// Every fleet cluster that has a Kubernetes API, with whether (and why not) its data reaches its hub.
pub(crate) fn senders(linode: &Mutex<State>, apis: &Apis) -> Vec<Sender> {
    let apis = lock(apis).clone();
    let clusters: Vec<Cluster> = lock(linode)
        .clusters
        .values()
        .filter_map(|c| {
            let (fleet, name, hub) = identity(c)?;
            Some((fleet, name, s(&c["label"]).to_string(), hub))
        })
        .collect();
    let hubs: BTreeMap<&str, &KubeApi> = clusters
        .iter()
        .filter(|c| c.3)
        .filter_map(|(fleet, _, label, _)| Some((fleet.as_str(), apis.get(label)?.as_ref())))
        .collect();
    // Per fleet, the firewalls in front of its hub's gateway (Err: nothing to dial). The Services are
    // read before the Linode state is locked: no Kubernetes API is asked while it is held.
    let addresses: Vec<(&str, Result<String, String>)> =
        hubs.iter().map(|(fleet, hub)| (*fleet, gateway_address(hub))).collect();
    let intake: BTreeMap<&str, Result<Vec<Value>, String>> = {
        let st = lock(linode);
        addresses
            .into_iter()
            .map(|(fleet, ip)| (fleet, ip.and_then(|ip| attached_firewalls(&st, &ip))))
            .collect()
    };
    clusters
        .iter()
        .filter_map(|(fleet, name, label, is_hub)| {
            let api = apis.get(label)?;
            let hub = hubs.get(fleet.as_str());
            let broken = if !running(api, objects::AGENT.namespace, objects::AGENT.name) {
                Some("its agents do not run".to_string())
            } else if !hub.is_some_and(|h| running(h, objects::GATEWAY.namespace, objects::GATEWAY.name)) {
                Some("the hub's gateway pods do not run".to_string())
            } else if let Some(why) = hub.and_then(|h| super::gateway_start::refusal(h)) {
                Some(why)
            } else if let Some(why) = hub.and_then(|h| super::data_policies::gateway_link(h)) {
                Some(why)
            } else if let Some(why) = hub.and_then(|h| super::data_policies::agent_link(api, h, *is_hub)) {
                Some(why)
            } else if *is_hub {
                None
            } else {
                match intake.get(fleet.as_str()) {
                    Some(Ok(firewalls)) => edge_link(api, hub.copied(), firewalls),
                    Some(Err(why)) => Some(why.clone()),
                    None => Some("its fleet has no hub".to_string()),
                }
            };
            Some(Sender {
                fleet: fleet.clone(),
                name: name.clone(),
                label: label.clone(),
                hub: *is_hub,
                nodes: api
                    .list("v1", "Node")
                    .iter()
                    .map(|n| s(&n["metadata"]["name"]).to_string())
                    .collect(),
                broken,
                metadata: super::data_policies::agents_watch_the_api(api),
            })
        })
        .collect()
}

/// Why an edge's data cannot pass the firewalls in front of the gateway or the gateway's mTLS, if it cannot.
fn edge_link(edge: &KubeApi, hub: Option<&KubeApi>, firewalls: &[Value]) -> Option<String> {
    let dropped: Vec<String> = node_addresses(edge)
        .into_iter()
        .filter(|a| !firewalls.iter().all(|fw| firewall_accepts(fw, a, OTLP_GRPC)))
        .collect();
    if !dropped.is_empty() {
        let labels: Vec<&str> = firewalls.iter().map(|f| s(&f["label"])).collect();
        return Some(format!(
            "the firewall attached to the gateway's NodeBalancer ({}) drops {}",
            labels.join(", "),
            dropped.join(", ")
        ));
    }
    let ca = hub.and_then(|h| certificate(h, objects::CA_SECRET, crate::pki::CA_CERT_KEY));
    let leaf = certificate(edge, objects::CLIENT_TLS_SECRET, crate::pki::TLS_CERT_KEY);
    match (ca, leaf) {
        (Some(ca), Some(leaf)) if !signed_by(&leaf, &ca) => {
            Some("its client certificate is not signed by the hub's CA".to_string())
        }
        _ => None,
    }
}
