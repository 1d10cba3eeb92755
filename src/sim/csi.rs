//! The Linode Block Storage CSI driver's provisioning: a Linode volume and a PersistentVolume per
//! claim, released after the claim by its reclaim policy. (Attaching is [`super::volumes_attach`].)

use std::collections::BTreeSet;
use std::sync::Mutex;

use serde_json::{Value, json};

use super::controllers::{deleting, s, uid};
use super::kube::KubeApi;
use super::linode::State;
use super::world::{Latencies, Lke, Memory, Owned, comma_list, gib, lock, short_hash};

const VOLUME_TAGS: &str = "linodebs.csi.linode.com/volumeTags";

/// CSI driver: `volume` after an unbound claim appears, a Linode volume (`pvc-<hex>`, the claim's
/// size in GiB rounded up, at least 10, cluster region, unattached, tags from its StorageClass's
/// `volumeTags`), a PersistentVolume of that name (the class's reclaim policy, Delete by default)
/// and the claim Bound to it. `volume` after the claim is gone: with Delete, the volume and the
/// PersistentVolume are deleted, else the PersistentVolume is Released; unless the Linode cluster is
/// gone: then the volume is left, as on the platform.
pub(crate) fn volumes(
    label: &str,
    k8s: &KubeApi,
    lke: Option<&Lke>,
    linode: &Mutex<State>,
    mem: &mut Memory,
    latencies: &Latencies,
) {
    let mut live = BTreeSet::new();
    for pvc in k8s.list("v1", "PersistentVolumeClaim") {
        if deleting(&pvc) {
            continue;
        }
        let uid = uid(&pvc);
        live.insert(uid.clone());
        let Some(lke) = lke else { continue };
        let key = (label.to_string(), uid.clone());
        if let Some(owned) = mem.volumes.0.get(&key) {
            if owned.cluster != lke.id {
                mem.volumes.0.remove(&key);
            }
            continue;
        }
        if let Some(owned) = adopted_volume(k8s, linode, label, &pvc, lke.id) {
            mem.volumes.0.insert(key, owned);
            continue;
        }
        if pvc["status"]["phase"] == "Bound" || !mem.after(format!("pvc/{label}/{uid}"), latencies.volume) {
            continue;
        }
        let (ns, name) = (s(&pvc["metadata"]["namespace"]), s(&pvc["metadata"]["name"]));
        let class = pvc["spec"]["storageClassName"].as_str();
        let sc = class.and_then(|c| k8s.get("storage.k8s.io/v1", "StorageClass", None, c));
        let sc = sc.unwrap_or_default();
        let tags = comma_list(&sc["parameters"][VOLUME_TAGS]);
        let reclaim = sc["reclaimPolicy"].as_str().unwrap_or("Delete").to_string();
        let size = gib(s(&pvc["spec"]["resources"]["requests"]["storage"])).max(10);
        let pv = format!("pvc-{}", short_hash(label, &uid));
        let id = lock(linode).create_volume(&pv, size, &lke.region, &tags);
        let modes = pvc["spec"]["accessModes"].clone();
        let capacity = json!({"storage": format!("{size}Gi")});
        k8s.put(json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv,
            "annotations": {"pv.kubernetes.io/provisioned-by": "linodebs.csi.linode.com"}},
            "spec": {"capacity": capacity, "accessModes": modes, "persistentVolumeReclaimPolicy": reclaim,
                "storageClassName": class, "csi": {"driver": "linodebs.csi.linode.com", "volumeHandle": format!("{id}-{pv}")},
                "claimRef": {"kind": "PersistentVolumeClaim", "namespace": ns, "name": name, "uid": uid}},
            "status": {"phase": "Bound"}}));
        k8s.update("v1", "PersistentVolumeClaim", Some(ns), name, |o| {
            o["spec"]["volumeName"] = json!(pv);
            o["status"] = json!({"phase": "Bound", "accessModes": modes, "capacity": capacity});
            true
        });
        let owned = Owned {
            namespace: ns.into(),
            name: name.into(),
            cluster: lke.id,
            id,
            pv: Some((pv, reclaim == "Delete")),
        };
        mem.volumes.0.insert(key, owned);
    }
    let Memory { clocks, volumes, .. } = mem;
    for owned in volumes.released(clocks, label, &live, lke, latencies.volume) {
        match &owned.pv {
            Some((pv, true)) => {
                lock(linode).volumes.remove(&owned.id);
                k8s.delete("v1", "PersistentVolume", None, pv);
            }
            Some((pv, false)) => {
                k8s.update("v1", "PersistentVolume", None, pv, |o| {
                    o["status"] = json!({"phase": "Released"});
                    true
                });
            }
            None => {}
        }
    }
}

/// The volume the CSI driver made for a claim before a restart, found by name as the driver finds it.
fn adopted_volume(k8s: &KubeApi, linode: &Mutex<State>, label: &str, pvc: &Value, cluster: u64) -> Option<Owned> {
    let pv = format!("pvc-{}", short_hash(label, &uid(pvc)));
    let id = lock(linode)
        .volumes
        .values()
        .find(|v| v["label"] == pv.as_str())
        .and_then(|v| v["id"].as_u64())?;
    let reclaim = k8s
        .get("v1", "PersistentVolume", None, &pv)
        .map(|p| p["spec"]["persistentVolumeReclaimPolicy"] == "Delete")
        .unwrap_or(true);
    Some(Owned {
        namespace: s(&pvc["metadata"]["namespace"]).into(),
        name: s(&pvc["metadata"]["name"]).into(),
        cluster,
        id,
        pv: Some((pv, reclaim)),
    })
}
