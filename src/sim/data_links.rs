//! Which simulated clusters' telemetry reaches their hub, judged from the simulated platform itself:
//! a cluster sends while its agents run; an edge's data reaches the hub only while the hub's gateway
//! pods run, the gateway firewall (when the fleet has one) lets the edge's node addresses in, and the
//! edge's client certificate (when the fleet uses mTLS) is signed by the hub's CA.

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
    /// Its name in the fleet (`cluster.id`): the label without `lkeobs-<fleet>-`.
    pub name: String,
    /// Its Linode cluster label.
    pub label: String,
    /// Its Node names now.
    pub nodes: Vec<String>,
    /// Why its data does not reach the hub, if it does not.
    pub broken: Option<String>,
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
    api.list("v1", "Pod").iter().any(|p| {
        p["metadata"]["namespace"] == namespace
            && s(&p["metadata"]["name"]).starts_with(prefix)
            && p["status"]["phase"] == "Running"
    })
}

/// The node public addresses the gateway firewall `lkeobs-<fleet>-gw` lets in; None without one.
fn firewall_allows(st: &State, fleet: &str) -> Option<Vec<String>> {
    let label = crate::naming::firewall_label(fleet);
    let fw = st.firewalls.values().find(|f| f["label"] == label.as_str())?;
    Some(
        fw["rules"]["inbound"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["action"] == "ACCEPT")
            .flat_map(|r| r["addresses"]["ipv4"].as_array().cloned().unwrap_or_default())
            .map(|a| s(&a).trim_end_matches("/32").to_string())
            .collect(),
    )
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

/// Per fleet, the addresses its gateway firewall lets in (None: no gateway firewall).
type Allowed = BTreeMap<String, Option<Vec<String>>>;

/// Every fleet cluster that has a Kubernetes API, with whether (and why not) its data reaches its hub.
pub(crate) fn senders(linode: &Mutex<State>, apis: &Apis) -> Vec<Sender> {
    let (clusters, allowed): (Vec<Cluster>, Allowed) = {
        let st = lock(linode);
        let clusters: Vec<_> = st
            .clusters
            .values()
            .filter_map(|c| {
                let (fleet, name, hub) = identity(c)?;
                Some((fleet, name, s(&c["label"]).to_string(), hub))
            })
            .collect();
        let allowed = clusters
            .iter()
            .map(|(fleet, ..)| (fleet.clone(), firewall_allows(&st, fleet)))
            .collect();
        (clusters, allowed)
    };
    let apis = lock(apis).clone();
    let hubs: BTreeMap<&str, &KubeApi> = clusters
        .iter()
        .filter(|c| c.3)
        .filter_map(|(fleet, _, label, _)| Some((fleet.as_str(), apis.get(label)?.as_ref())))
        .collect();
    clusters
        .iter()
        .filter_map(|(fleet, name, label, is_hub)| {
            let api = apis.get(label)?;
            let hub = hubs.get(fleet.as_str());
            let broken = if !running(api, objects::AGENT.namespace, objects::AGENT.name) {
                Some("its agents do not run".to_string())
            } else if !hub.is_some_and(|h| running(h, objects::GATEWAY.namespace, objects::GATEWAY.name)) {
                Some("the hub's gateway pods do not run".to_string())
            } else if *is_hub {
                None
            } else {
                edge_link(api, hub.copied(), allowed.get(fleet).cloned().flatten())
            };
            Some(Sender {
                name: name.clone(),
                label: label.clone(),
                nodes: api
                    .list("v1", "Node")
                    .iter()
                    .map(|n| s(&n["metadata"]["name"]).to_string())
                    .collect(),
                broken,
            })
        })
        .collect()
}

/// Why an edge's data cannot pass the gateway firewall or the gateway's mTLS, if it cannot.
fn edge_link(edge: &KubeApi, hub: Option<&KubeApi>, allowed: Option<Vec<String>>) -> Option<String> {
    if let Some(allowed) = allowed {
        let missing: Vec<String> = node_addresses(edge)
            .into_iter()
            .filter(|a| !allowed.contains(a))
            .collect();
        if !missing.is_empty() {
            return Some(format!("the gateway firewall drops {}", missing.join(", ")));
        }
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
