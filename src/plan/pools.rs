//! Node-pool reconciliation: pools matched by type, then position; resized in place; a type change replaces
//! (new pool first, old one after); with the autoscaler on, `count` is the autoscaler's and is not compared.

use super::{Action, PoolPlan};
use crate::fleet::Pool;
use crate::linode::NodePool;
use crate::stack::context::{GPU_LABEL_KEY, GPU_LABEL_VALUE};

fn desired(p: &Pool, action: Action, id: Option<u64>, changes: Vec<String>) -> PoolPlan {
    PoolPlan {
        action,
        id,
        node_type: p.node_type.get_ref().clone(),
        count: *p.count.get_ref(),
        autoscale: p.autoscale.as_ref().map(|a| *a.get_ref()),
        gpu: p.is_gpu(),
        changes,
    }
}

/// What updating `have` to `want` changes (empty: nothing).
fn compare(want: &Pool, have: &NodePool) -> Vec<String> {
    let mut changes = Vec::new();
    let scaler = have.autoscaler.filter(|a| a.enabled);
    match (want.autoscale.as_ref().map(|a| *a.get_ref()), scaler) {
        (Some(w), Some(h)) if (w.min, w.max) == (h.min, h.max) => {}
        (Some(w), Some(h)) => changes.push(format!("autoscale {}–{} → {}–{}", h.min, h.max, w.min, w.max)),
        (Some(w), None) => changes.push(format!("autoscale off → {}–{}", w.min, w.max)),
        (None, Some(h)) => changes.push(format!("autoscale {}–{} → off", h.min, h.max)),
        (None, None) => {}
    }
    // With the autoscaler on, the node count is the autoscaler's business.
    let count = *want.count.get_ref();
    if want.autoscale.is_none() && have.count != count {
        changes.push(format!("count {} → {count}", have.count));
    }
    if want.is_gpu() && have.labels.get(GPU_LABEL_KEY).map(String::as_str) != Some(GPU_LABEL_VALUE) {
        changes.push(format!("label and taint {GPU_LABEL_KEY} for the DCGM exporter"));
    }
    changes
}

/// The plan for one cluster's pools.
pub fn diff(want: &[Pool], have: &[NodePool]) -> Vec<PoolPlan> {
    let mut used = vec![false; have.len()];
    let mut pairs: Vec<Option<usize>> = vec![None; want.len()];
    // 1. Same type, in order.
    for (i, w) in want.iter().enumerate() {
        if let Some(j) = (0..have.len()).find(|&j| !used[j] && have[j].linode_type == *w.node_type.get_ref()) {
            used[j] = true;
            pairs[i] = Some(j);
        }
    }
    let mut out = Vec::new();
    let mut spare = (0..have.len()).filter(|&j| !used[j]).collect::<Vec<_>>().into_iter();
    for (i, w) in want.iter().enumerate() {
        match pairs[i] {
            Some(j) => {
                let changes = compare(w, &have[j]);
                let action = if changes.is_empty() {
                    Action::Unchanged
                } else {
                    Action::Update
                };
                out.push(desired(w, action, Some(have[j].id), changes));
            }
            // 2. A pool whose type changed: replace it, new one first.
            None => match spare.next() {
                Some(j) => {
                    let change = format!(
                        "type {} → {} (new pool first, then the old one is deleted)",
                        have[j].linode_type,
                        w.node_type.get_ref()
                    );
                    out.push(desired(w, Action::Replace, Some(have[j].id), vec![change]));
                }
                None => out.push(desired(w, Action::Create, None, Vec::new())),
            },
        }
    }
    // 3. Pools the fleet no longer has.
    for j in spare {
        out.push(PoolPlan {
            action: Action::Delete,
            id: Some(have[j].id),
            node_type: have[j].linode_type.clone(),
            count: have[j].count,
            autoscale: None,
            gpu: false,
            changes: Vec::new(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::fleet::spec::{Autoscale, spanned};
    use crate::linode::Autoscaler;

    fn want(t: &str, count: u32, scale: Option<(u32, u32)>) -> Pool {
        Pool {
            node_type: spanned(0..0, t.to_string()),
            count: spanned(0..0, count),
            autoscale: scale.map(|(min, max)| spanned(0..0, Autoscale { min, max })),
            span: 0..0,
        }
    }

    fn have(id: u64, t: &str, count: u32, scale: Option<(u32, u32)>) -> NodePool {
        let v = serde_json::json!({"id": id, "type": t, "count": count, "nodes": []});
        let mut p: NodePool = serde_json::from_value(v).unwrap();
        p.autoscaler = scale.map(|(min, max)| Autoscaler {
            enabled: true,
            min,
            max,
        });
        if t.contains("gpu") {
            p.labels = BTreeMap::from([(GPU_LABEL_KEY.to_string(), GPU_LABEL_VALUE.to_string())]);
        }
        p
    }

    fn actions(p: &[PoolPlan]) -> Vec<(Action, String)> {
        p.iter().map(|x| (x.action, x.node_type.clone())).collect()
    }

    #[test]
    fn identical_pools_are_unchanged() {
        let p = diff(&[want("g6-standard-2", 2, None)], &[have(1, "g6-standard-2", 2, None)]);
        assert_eq!(actions(&p), vec![(Action::Unchanged, "g6-standard-2".into())]);
        assert_eq!(p[0].id, Some(1));
    }

    #[test]
    fn count_is_resized_in_place() {
        let p = diff(&[want("g6-standard-2", 3, None)], &[have(1, "g6-standard-2", 2, None)]);
        assert_eq!(p[0].action, Action::Update);
        assert_eq!(p[0].changes, vec!["count 2 → 3"]);
    }

    #[test]
    fn with_the_autoscaler_on_count_is_not_compared() {
        let p = diff(
            &[want("g6-standard-2", 2, Some((2, 4)))],
            &[have(1, "g6-standard-2", 4, Some((2, 4)))],
        );
        assert_eq!(p[0].action, Action::Unchanged);
        let p = diff(
            &[want("g6-standard-2", 2, Some((2, 5)))],
            &[have(1, "g6-standard-2", 4, Some((2, 4)))],
        );
        assert_eq!(p[0].changes, vec!["autoscale 2–4 → 2–5"]);
    }

    #[test]
    fn order_does_not_matter_types_do() {
        let p = diff(
            &[want("g6-standard-4", 1, None), want("g6-standard-2", 2, None)],
            &[have(1, "g6-standard-2", 2, None), have(2, "g6-standard-4", 1, None)],
        );
        assert!(p.iter().all(|x| x.action == Action::Unchanged), "{p:?}");
    }

    #[test]
    fn a_type_change_replaces_new_first() {
        let p = diff(&[want("g6-standard-4", 2, None)], &[have(7, "g6-standard-2", 2, None)]);
        assert_eq!(actions(&p), vec![(Action::Replace, "g6-standard-4".into())]);
        assert_eq!(p[0].id, Some(7));
        assert!(p[0].changes[0].contains("new pool first"));
    }

    #[test]
    fn extra_pools_are_created_and_removed_ones_deleted() {
        let p = diff(
            &[want("g6-standard-2", 2, None), want("g2-gpu-rtx4000a1-s", 1, None)],
            &[have(1, "g6-standard-2", 2, None)],
        );
        assert_eq!(actions(&p)[1], (Action::Create, "g2-gpu-rtx4000a1-s".into()));
        let p = diff(
            &[want("g6-standard-2", 2, None)],
            &[have(1, "g6-standard-2", 2, None), have(2, "g6-standard-1", 1, None)],
        );
        assert_eq!(actions(&p)[1], (Action::Delete, "g6-standard-1".into()));
    }

    #[test]
    fn a_gpu_pool_without_our_label_is_updated() {
        let mut h = have(1, "g2-gpu-rtx4000a1-s", 1, None);
        h.labels.clear();
        let p = diff(&[want("g2-gpu-rtx4000a1-s", 1, None)], &[h]);
        assert_eq!(p[0].action, Action::Update);
    }
}
