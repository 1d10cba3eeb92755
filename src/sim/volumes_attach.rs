//! The CSI attach/detach of Linode Block Storage volumes (ReadWriteOnce): a volume is attached to one
//! node Linode at a time; a pod elsewhere starts only once no pod on the old node uses it any more and
//! the detach has had `volume_detach` to finish.

use std::sync::Mutex;

use serde_json::{Value, json};

use super::controllers::{s, uid};
use super::kube::KubeApi;
use super::linode::State;
use super::world::{Latencies, Memory, lock};

/// The Linode behind a Node (`spec.providerID: linode://<id>`).
fn linode_of(node: &Value) -> Option<u64> {
    s(&node["spec"]["providerID"]).strip_prefix("linode://")?.parse().ok()
}

/// The claims a pod mounts.
fn claims(pod: &Value) -> Vec<String> {
    pod["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["persistentVolumeClaim"]["claimName"].as_str())
        .map(str::to_string)
        .collect()
}

/// The Linode volume id and PersistentVolume name behind a claim (`volumeHandle: <id>-<pv>`); None
/// for a claim that is not a Linode volume. Err while the claim is missing or unbound.
fn volume_of(k8s: &KubeApi, ns: Option<&str>, claim: &str) -> Result<Option<(u64, String)>, String> {
    let pvc = k8s
        .get("v1", "PersistentVolumeClaim", ns, claim)
        .ok_or_else(|| format!("persistentvolumeclaim \"{claim}\" not found"))?;
    let pv_name = pvc["spec"]["volumeName"]
        .as_str()
        .ok_or_else(|| format!("persistentvolumeclaim \"{claim}\" is not bound"))?;
    let Some(pv) = k8s.get("v1", "PersistentVolume", None, pv_name) else {
        return Err(format!("persistentvolume \"{pv_name}\" not found"));
    };
    Ok(s(&pv["spec"]["csi"]["volumeHandle"])
        .split_once('-')
        .and_then(|(id, _)| id.parse().ok())
        .map(|id| (id, pv_name.to_string())))
}

/// Whether every volume `pod` mounts is attached to `node`'s Linode, attaching what is free and
/// detaching what no pod on its old node uses any more (after `volume_detach`); Err says what waits.
pub(crate) fn attached(
    label: &str,
    k8s: &KubeApi,
    pod: &Value,
    node: &Value,
    linode: &Mutex<State>,
    mem: &mut Memory,
    latencies: &Latencies,
) -> Result<(), String> {
    let ns = pod["metadata"]["namespace"].as_str();
    let Some(here) = linode_of(node) else { return Ok(()) };
    for claim in claims(pod) {
        let Some((volume, pv)) = volume_of(k8s, ns, &claim)? else {
            continue;
        };
        let attached_to = {
            let st = lock(linode);
            let Some(v) = st.volumes.get(&volume) else { continue };
            // Deleting a Linode detaches its volumes.
            v["linode_id"].as_u64().filter(|l| st.instances.contains_key(l))
        };
        match attached_to {
            Some(l) if l == here => continue,
            Some(old) => {
                let nodes = k8s.list("v1", "Node");
                let users: Vec<String> = k8s
                    .list("v1", "Pod")
                    .iter()
                    .filter(|p| p["metadata"]["namespace"].as_str() == ns && uid(p) != uid(pod))
                    .filter(|p| claims(p).contains(&claim))
                    .filter(|p| {
                        nodes
                            .iter()
                            .any(|n| n["metadata"]["name"] == p["spec"]["nodeName"] && linode_of(n) == Some(old))
                    })
                    .map(|p| s(&p["metadata"]["name"]).to_string())
                    .collect();
                if !users.is_empty() {
                    return Err(format!(
                        "Multi-Attach error for volume \"{pv}\": Volume is already used by pod(s) {}",
                        users.join(", ")
                    ));
                }
                if !mem.after(format!("detach/{label}/{volume}/{old}"), latencies.volume_detach) {
                    return Err(format!(
                        "Multi-Attach error for volume \"{pv}\": Volume is already exclusively attached to one node and can't be attached to another"
                    ));
                }
            }
            None => {}
        }
        if let Some(v) = lock(linode).volumes.get_mut(&volume) {
            v["linode_id"] = json!(here);
        }
    }
    Ok(())
}
