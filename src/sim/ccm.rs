//! The Linode cloud controller manager's part the stack sees: a NodeBalancer per LoadBalancer Service,
//! its tags and firewall kept in sync, deleted after the Service.

use std::collections::BTreeSet;
use std::sync::Mutex;

use serde_json::{Value, json};

use super::controllers::{deleting, s, uid};
use super::kube::KubeApi;
use super::linode::State;
use super::world::{Latencies, Lke, Memory, Owned, comma_list, lock, short_hash};

const TAGS: &str = "service.beta.kubernetes.io/linode-loadbalancer-tags";
const FIREWALL_ID: &str = "service.beta.kubernetes.io/linode-loadbalancer-firewall-id";
const FIREWALL_ACL: &str = "service.beta.kubernetes.io/linode-loadbalancer-firewall-acl";

/// Cloud controller: `load_balancer` after a LoadBalancer Service without address appears, a
/// NodeBalancer (cluster region, `lke_cluster`, tags from the tags annotation) and the Service's
/// ingress IP. Every pass it re-syncs the NodeBalancer's tags and firewall: the firewall-id
/// annotation's firewall attached (moved when the id changes), any other firewall detached (unless
/// the firewall-acl annotation is set, which is not modelled); with neither annotation a detached
/// firewall nothing else uses is deleted, as the real controller does. A NodeBalancer deleted behind its
/// back is re-created. `load_balancer` after the Service is gone (or stops being a LoadBalancer) its
/// NodeBalancer is deleted, unless the Linode cluster is gone: then it is left, as on the platform.
pub(crate) fn load_balancers(
    label: &str,
    k8s: &KubeApi,
    lke: Option<&Lke>,
    linode: &Mutex<State>,
    mem: &mut Memory,
    latencies: &Latencies,
) {
    let mut live = BTreeSet::new();
    for svc in k8s.list("v1", "Service") {
        if svc["spec"]["type"] != "LoadBalancer" || deleting(&svc) {
            continue;
        }
        let uid = uid(&svc);
        live.insert(uid.clone());
        let Some(lke) = lke else { continue };
        let key = (label.to_string(), uid.clone());
        let (ns, name) = (s(&svc["metadata"]["namespace"]), s(&svc["metadata"]["name"]));
        let annotations = &svc["metadata"]["annotations"];
        let tags = comma_list(&annotations[TAGS]);
        let nb = match mem.nodebalancers.0.get(&key) {
            Some(o) if o.cluster == lke.id => o.id,
            Some(_) => {
                mem.nodebalancers.0.remove(&key);
                continue;
            }
            None => {
                let nb_label = format!("ccm-{}", short_hash(label, &uid));
                // Like the real controller, which keeps no memory, it finds its NodeBalancer by name (a
                // simulator restarted from its state file adopts what it made before).
                let made = lock(linode)
                    .nodebalancers
                    .values()
                    .find(|n| n["label"] == nb_label.as_str() && n["lke_cluster"]["id"] == lke.id)
                    .and_then(|n| n["id"].as_u64());
                let has_address = svc["status"]["loadBalancer"]["ingress"]
                    .as_array()
                    .is_some_and(|i| !i.is_empty());
                if made.is_none() && (has_address || !mem.after(format!("lb/{label}/{uid}"), latencies.load_balancer)) {
                    continue;
                }
                let id = match made {
                    Some(id) => id,
                    None => lock(linode).create_nodebalancer(&nb_label, &lke.region, Some((lke.id, &lke.label)), &tags),
                };
                let owned = Owned {
                    namespace: ns.into(),
                    name: name.into(),
                    cluster: lke.id,
                    id,
                    pv: None,
                };
                mem.nodebalancers.0.insert(key.clone(), owned);
                id
            }
        };
        let mut st = lock(linode);
        let Some(address) = st.nodebalancers.get_mut(&nb).map(|n| {
            n["tags"] = json!(tags);
            n["ipv4"].clone()
        }) else {
            drop(st);
            mem.nodebalancers.0.remove(&key);
            k8s.update("v1", "Service", Some(ns), name, |o| {
                o["status"] = json!({"loadBalancer": {}});
                true
            });
            continue;
        };
        if annotations.get(FIREWALL_ACL).is_none() {
            let wanted = s(&annotations[FIREWALL_ID])
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|f| st.firewalls.contains_key(f));
            let attached = |d: &Value| d["entity"]["id"] == nb && d["entity"]["type"] == "nodebalancer";
            let detached: Vec<u64> = st
                .devices
                .values()
                .filter(|d| attached(d) && d["firewall_id"].as_u64() != wanted)
                .filter_map(|d| d["firewall_id"].as_u64())
                .collect();
            st.devices
                .retain(|_, d| !attached(d) || Some(d["firewall_id"].as_u64().unwrap_or(0)) == wanted);
            // With neither firewall annotation the real controller also deletes the firewall it
            // detached when nothing else uses it (services/firewalls.go).
            if annotations.get(FIREWALL_ID).is_none() {
                for fw in detached {
                    if !st.devices.values().any(|d| d["firewall_id"] == fw) {
                        st.firewalls.remove(&fw);
                    }
                }
            }
            if let Some(fw) = wanted
                && !st.devices.values().any(attached)
            {
                st.attach_device(fw, "nodebalancer", nb);
            }
        }
        drop(st);
        let status = json!({"loadBalancer": {"ingress": [{"ip": address}]}});
        if svc["status"] != status {
            k8s.update("v1", "Service", Some(ns), name, |o| {
                o["status"] = status;
                uid == self::uid(o)
            });
        }
    }
    let Memory {
        clocks, nodebalancers, ..
    } = mem;
    for owned in nodebalancers.released(clocks, label, &live, lke, latencies.load_balancer) {
        lock(linode).delete_nodebalancer(owned.id);
    }
}
