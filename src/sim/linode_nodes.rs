//! The Linode fake's Kubernetes upgrades and node replacement, as LKE is documented to behave (spec 4.189 and
//! linodego): `PUT /lke/clusters/{id}` moves `k8s_version` up one minor at a
//! time and never down, and only the control plane takes it; a node carries the version its cluster had
//! when the node was made, so existing nodes keep the old one until recycled (`POST …/recycle` on the
//! cluster, a pool or one node replaces nodes with new Linodes) or replaced (`DELETE …/nodes/{id}`
//! removes one node and shrinks its pool by one).

use serde_json::{Value, json};

use super::http::Reply;
use super::linode::State;
use super::linode_pools::{remove_instance, resize_pool};
use super::linode_routes::{err, not_found, ok};

/// `"1.33"` → (1, 33).
fn minor(v: &str) -> Option<(u32, u32)> {
    let mut parts = v.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Why LKE refuses moving a cluster from `have` to `want`, if it does.
pub(crate) fn refused_upgrade(state: &State, have: &str, want: &str) -> Option<&'static str> {
    if !state.versions.iter().any(|v| v == want) {
        return Some("Invalid Kubernetes version");
    }
    let (Some(h), Some(w)) = (minor(have), minor(want)) else {
        return Some("Invalid Kubernetes version");
    };
    if w < h {
        return Some("Kubernetes version downgrades are not supported");
    }
    if w.0 != h.0 || w.1 > h.1 + 1 {
        return Some("Kubernetes versions can only be upgraded one minor version at a time");
    }
    None
}

/// The pool (id) holding node `node` of cluster `cluster`, and the node.
fn node_of(state: &State, cluster: u64, node: &str) -> Option<(u64, Value)> {
    state.pools.iter().find_map(|(pid, p)| {
        (p["cluster_id"] == cluster)
            .then(|| p["nodes"].as_array()?.iter().find(|n| n["id"] == node).cloned())
            .flatten()
            .map(|n| (*pid, n))
    })
}

/// Replaces the given nodes of a pool with new ones (new Linodes, new node ids) at the cluster's version.
fn replace_nodes(state: &mut State, pool_id: u64, which: impl Fn(&Value) -> bool) {
    let Some(mut pool) = state.pools.get(&pool_id).cloned() else {
        return;
    };
    let count = pool["count"].as_u64().unwrap_or(0);
    let nodes = pool["nodes"].as_array().cloned().unwrap_or_default();
    let (old, keep): (Vec<Value>, Vec<Value>) = nodes.into_iter().partition(|n| which(n));
    for n in &old {
        remove_instance(state, n["instance_id"].as_u64().unwrap_or(0));
    }
    pool["nodes"] = json!(keep);
    resize_pool(state, &mut pool, count);
    state.pools.insert(pool_id, pool);
}

/// `POST /lke/clusters/{id}/recycle`, `…/pools/{poolId}/recycle`, `…/nodes/{nodeId}/recycle`: `{}`.
pub(crate) fn recycle(state: &mut State, cluster: u64, pool: Option<u64>, node: Option<&str>) -> Reply {
    match (pool, node) {
        (_, Some(node)) => match node_of(state, cluster, node) {
            Some((pid, _)) => replace_nodes(state, pid, |n| n["id"] == node),
            None => return not_found(),
        },
        (Some(pid), None) => {
            if state.pools.get(&pid).is_none_or(|p| p["cluster_id"] != cluster) {
                return not_found();
            }
            replace_nodes(state, pid, |_| true);
        }
        (None, None) => {
            let pools: Vec<u64> = state
                .pools
                .iter()
                .filter(|(_, p)| p["cluster_id"] == cluster)
                .map(|(id, _)| *id)
                .collect();
            for pid in pools {
                replace_nodes(state, pid, |_| true);
            }
        }
    }
    ok(json!({}))
}

/// `DELETE /lke/clusters/{id}/nodes/{nodeId}`: the node's Linode goes and its pool shrinks by one.
pub(crate) fn delete_node(state: &mut State, cluster: u64, node: &str) -> Reply {
    let Some((pid, n)) = node_of(state, cluster, node) else {
        return not_found();
    };
    let Some(pool) = state.pools.get_mut(&pid) else {
        return not_found();
    };
    if pool["count"].as_u64().unwrap_or(0) <= 1 {
        return err(400, None, "A node pool must have at least one node");
    }
    if let Some(nodes) = pool["nodes"].as_array_mut() {
        nodes.retain(|x| x["id"] != node);
    }
    pool["count"] = json!(pool["count"].as_u64().unwrap_or(1) - 1);
    remove_instance(state, n["instance_id"].as_u64().unwrap_or(0));
    ok(json!({}))
}
