//! `lkeobs sim --state FILE`: the simulated account saved to a file (the Linode objects and every
//! cluster's Kubernetes objects), so a pipeline's steps can run as separate processes and a restarted
//! simulator continues where the last one stopped. Written atomically (a new temporary file renamed over
//! it), readable by the owner only (0600): the file holds the clusters' Secrets.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::kube::{self, Key};
use super::kube_kinds::Kind;
use super::linode::State;
use super::object_storage::ObjectStorage;
use super::world::World;

/// The saved account.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct Saved {
    linode: SavedLinode,
    clusters: Vec<SavedCluster>,
}

/// The Linode objects (the catalogue and the options come from the command line each time).
#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
struct SavedLinode {
    clusters: BTreeMap<u64, Value>,
    pools: BTreeMap<u64, Value>,
    acls: BTreeMap<u64, Value>,
    kubeconfig_pending: BTreeMap<u64, u32>,
    instances: BTreeMap<u64, Value>,
    node_versions: BTreeMap<u64, String>,
    firewalls: BTreeMap<u64, Value>,
    devices: BTreeMap<u64, Value>,
    nodebalancers: BTreeMap<u64, Value>,
    volumes: BTreeMap<u64, Value>,
    tags: BTreeSet<String>,
    next_id: u64,
    /// Buckets with their objects, keys (with their secrets: the file is the owner's only), enrolment.
    #[serde(default)]
    object_storage: ObjectStorage,
}

/// One cluster's Kubernetes objects.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct SavedCluster {
    label: String,
    cluster: u64,
    rv: u64,
    kinds: Vec<Kind>,
    objects: Vec<(Key, Value)>,
}

/// What `world` holds now: the Linode objects, and the objects of each live cluster's API.
pub(crate) fn snapshot(world: &World) -> Saved {
    let st = world.linode().state();
    let linode = SavedLinode {
        clusters: st.clusters.clone(),
        pools: st.pools.clone(),
        acls: st.acls.clone(),
        kubeconfig_pending: st.kubeconfig_pending.clone(),
        instances: st.instances.clone(),
        node_versions: st.node_versions.clone(),
        firewalls: st.firewalls.clone(),
        devices: st.devices.clone(),
        nodebalancers: st.nodebalancers.clone(),
        volumes: st.volumes.clone(),
        tags: st.tags.clone(),
        next_id: st.next_id,
        object_storage: st.object_storage.saved(),
    };
    let live: BTreeMap<String, u64> = st
        .clusters
        .values()
        .filter_map(|c| Some((c["label"].as_str()?.to_string(), c["id"].as_u64()?)))
        .collect();
    drop(st);
    let clusters = world
        .apis()
        .into_iter()
        .filter_map(|(label, api)| {
            let cluster = *live.get(&label)?;
            let k = api.locked();
            Some(SavedCluster {
                label,
                cluster,
                rv: k.rv,
                kinds: k.kinds.clone(),
                objects: k.objects.iter().map(|(key, o)| (key.clone(), o.clone())).collect(),
            })
        })
        .collect();
    Saved { linode, clusters }
}

/// Puts the saved Linode objects into `state` and returns the clusters' APIs to start again.
pub(crate) fn restore(saved: Saved, state: &mut State) -> Vec<(String, u64, kube::State)> {
    let l = saved.linode;
    state.clusters = l.clusters;
    state.pools = l.pools;
    state.acls = l.acls;
    state.kubeconfig_pending = l.kubeconfig_pending;
    state.instances = l.instances;
    state.node_versions = l.node_versions;
    state.firewalls = l.firewalls;
    state.devices = l.devices;
    state.nodebalancers = l.nodebalancers;
    state.volumes = l.volumes;
    state.tags = l.tags;
    state.object_storage.restore(l.object_storage);
    state.next_id = state.next_id.max(l.next_id);
    saved
        .clusters
        .into_iter()
        .map(|c| {
            let mut k = kube::State::fresh();
            k.rv = c.rv;
            k.kinds = c.kinds;
            k.objects = c.objects.into_iter().collect();
            (c.label, c.cluster, k)
        })
        .collect()
}

/// Reads a state file; None when there is none yet.
pub(crate) fn load(path: &Path) -> std::io::Result<Option<Saved>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(std::io::Error::other),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes `saved` to `path` atomically, mode 0600, through the same private write as the kubeconfig (a new
/// temp file created with `O_EXCL`, never a fixed name a planted symlink or pre-made file could redirect).
pub(crate) fn save(path: &Path, saved: &Saved) -> std::io::Result<()> {
    let text = serde_json::to_vec(saved).map_err(std::io::Error::other)?;
    crate::kubeconfig::write_private(path, &text).map_err(std::io::Error::other)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn a_planted_world_writable_tmp_file_or_symlink_is_never_written_through() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sim-state.json");
        // What an attacker may plant: the old fixed temp name as a 0666 file, and as a symlink elsewhere.
        let planted = dir.path().join("sim-state.json.tmp");
        std::fs::write(&planted, b"planted").expect("plant");
        std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        let elsewhere = dir.path().join("elsewhere");
        std::fs::write(&elsewhere, b"theirs").expect("target");
        std::os::unix::fs::symlink(&elsewhere, dir.path().join("sim-state.json.lkeobs.tmp")).expect("symlink");

        save(&path, &Saved::default()).expect("saved");
        let mode = std::fs::metadata(&path).expect("state").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
        assert_eq!(std::fs::read(&planted).expect("planted"), b"planted");
        assert_eq!(std::fs::read(&elsewhere).expect("elsewhere"), b"theirs");
    }
}
