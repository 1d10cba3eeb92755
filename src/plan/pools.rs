//! Node-pool reconciliation: pools matched by type, then position; resized in place; a type change replaces
//! (new pool first, old one after); with the autoscaler on, `count` is the autoscaler's and is not compared.
//! Node labels and taints are compared whole (an update replaces both lists): lkeobs' GPU label plus the
//! fleet file's own, and the fleet file's taints only (lkeobs taints nothing).

use std::collections::BTreeMap;

use super::{Action, PoolChange, PoolPlan};
use crate::fleet::Pool;
use crate::linode::{NodePool, Taint, TaintEffect};
use crate::objects::{GPU_LABEL_KEY, GPU_LABEL_VALUE};

/// The Kubernetes labels a pool's nodes get: `lkeobs.io/gpu` on GPU pools (the DCGM exporter's node
/// selector), then the fleet file's own.
pub fn node_labels(p: &Pool) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = p
        .labels
        .iter()
        .map(|l| (l.key.get_ref().clone(), l.value.get_ref().clone()))
        .collect();
    if p.is_gpu() {
        labels.insert(GPU_LABEL_KEY.to_string(), GPU_LABEL_VALUE.to_string());
    }
    labels
}

fn effect(name: &str) -> Option<TaintEffect> {
    match name {
        "NoSchedule" => Some(TaintEffect::NoSchedule),
        "PreferNoSchedule" => Some(TaintEffect::PreferNoSchedule),
        "NoExecute" => Some(TaintEffect::NoExecute),
        _ => None,
    }
}

/// The taints a pool's nodes get: the fleet file's, none of lkeobs' own (NVIDIA's device plugin tolerates
/// only `nvidia.com/gpu`; a taint of ours would keep it and every GPU workload off the node). Validation
/// allows only the three effects.
pub fn node_taints(p: &Pool) -> Vec<Taint> {
    p.taints
        .iter()
        .filter_map(|t| {
            Some(Taint {
                key: t.key.get_ref().clone(),
                value: t.value.get_ref().clone(),
                effect: effect(t.effect.get_ref())?,
            })
        })
        .collect()
}

fn desired(p: &Pool, action: Action, id: Option<u64>, changes: Vec<PoolChange>) -> PoolPlan {
    PoolPlan {
        action,
        id,
        node_type: p.node_type.get_ref().clone(),
        count: *p.count.get_ref(),
        autoscale: p.autoscale.as_ref().map(|a| *a.get_ref()),
        gpu: p.is_gpu(),
        labels: node_labels(p),
        taints: node_taints(p),
        labels_before: None,
        taints_before: None,
        write: matches!(action, Action::Create | Action::Replace)
            .then(|| super::LinodeWrite::CreatePool(super::requests::pool_spec(p))),
        changes,
    }
}

/// What updating `have` to `want` changes besides labels and taints (empty: nothing).
fn compare(want: &Pool, have: &NodePool) -> Vec<PoolChange> {
    let mut changes = Vec::new();
    let from = have.autoscaler.filter(|a| a.enabled).map(|h| (h.min, h.max));
    let to = want.autoscale.as_ref().map(|a| (a.get_ref().min, a.get_ref().max));
    if from != to {
        changes.push(PoolChange::Autoscale { from, to });
    }
    // With the autoscaler on, the node count is the autoscaler's business.
    let count = *want.count.get_ref();
    if want.autoscale.is_none() && have.count != count {
        changes.push(PoolChange::Count {
            from: have.count,
            to: count,
        });
    }
    changes
}

/// An existing pool brought to `want`: labels and taints (compared as sets of taints) kept as before/after data.
fn matched(want: &Pool, have: &NodePool) -> PoolPlan {
    let mut plan = desired(want, Action::Unchanged, Some(have.id), compare(want, have));
    if plan.labels != have.labels {
        plan.labels_before = Some(have.labels.clone());
    }
    let sorted = |t: &[Taint]| {
        let mut v: Vec<(String, String, String)> = t
            .iter()
            .map(|t| (t.key.clone(), t.value.clone(), format!("{:?}", t.effect)))
            .collect();
        v.sort();
        v
    };
    if sorted(&plan.taints) != sorted(&have.taints) {
        plan.taints_before = Some(have.taints.clone());
    }
    if !plan.changes.is_empty() || plan.labels_before.is_some() || plan.taints_before.is_some() {
        plan.action = Action::Update;
        plan.write = Some(super::LinodeWrite::UpdatePool {
            pool: have.id,
            body: super::requests::pool_update(want, &plan),
        });
    }
    plan
}

/// `key=value:Effect`, as kubectl writes a taint.
fn taint_text(t: &Taint) -> String {
    format!("{}={}:{:?}", t.key, t.value, t.effect)
}

fn labels_text(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return "none".into();
    }
    let items: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    items.join(", ")
}

fn taints_text(taints: &[Taint]) -> String {
    if taints.is_empty() {
        return "none".into();
    }
    taints.iter().map(taint_text).collect::<Vec<_>>().join(", ")
}

impl PoolPlan {
    /// Every change in words: `changes`, then labels and taints as `before → after`.
    pub fn change_lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self.changes.iter().map(PoolChange::describe).collect();
        if let Some(before) = &self.labels_before {
            out.push(format!(
                "labels {} → {}",
                labels_text(before),
                labels_text(&self.labels)
            ));
        }
        if let Some(before) = &self.taints_before {
            out.push(format!(
                "taints {} → {}",
                taints_text(before),
                taints_text(&self.taints)
            ));
        }
        out
    }

    /// The node labels and taints in words, e.g. `labels lkeobs.io/gpu=true; taints nvidia.com/gpu=:NoSchedule`.
    pub fn node_meta_text(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.labels.is_empty() {
            parts.push(format!("labels {}", labels_text(&self.labels)));
        }
        if !self.taints.is_empty() {
            parts.push(format!("taints {}", taints_text(&self.taints)));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
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
            Some(j) => out.push(matched(w, &have[j])),
            // 2. A pool whose type changed: replace it, new one first.
            None => match spare.next() {
                Some(j) => {
                    let change = PoolChange::Type {
                        from: have[j].linode_type.clone(),
                        to: w.node_type.get_ref().clone(),
                    };
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
            labels: BTreeMap::new(),
            taints: Vec::new(),
            labels_before: None,
            taints_before: None,
            changes: Vec::new(),
            write: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::spec::{Autoscale, spanned};
    use crate::linode::Autoscaler;

    fn want(t: &str, count: u32, scale: Option<(u32, u32)>) -> Pool {
        Pool {
            node_type: spanned(0..0, t.to_string()),
            count: spanned(0..0, count),
            autoscale: scale.map(|(min, max)| spanned(0..0, Autoscale { min, max })),
            labels: Vec::new(),
            taints: Vec::new(),
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
        assert_eq!(p[0].changes, vec![PoolChange::Count { from: 2, to: 3 }]);
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
        assert_eq!(
            p[0].changes,
            vec![PoolChange::Autoscale {
                from: Some((2, 4)),
                to: Some((2, 5))
            }]
        );
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
        assert!(matches!(p[0].changes[0], PoolChange::Type { .. }));
        assert!(p[0].changes[0].describe().contains("new pool first"));
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

    #[test]
    fn the_taint_lkeobs_once_put_on_gpu_pools_is_removed() {
        let mut h = have(1, "g2-gpu-rtx4000a1-s", 1, None);
        h.taints = vec![Taint {
            key: GPU_LABEL_KEY.into(),
            value: GPU_LABEL_VALUE.into(),
            effect: TaintEffect::NoSchedule,
        }];
        let p = diff(&[want("g2-gpu-rtx4000a1-s", 1, None)], &[h.clone()]);
        assert_eq!(p[0].action, Action::Update);
        assert_eq!(p[0].taints, Vec::<Taint>::new());
        assert_eq!(p[0].taints_before, Some(h.taints));
        assert_eq!(p[0].labels_before, None);
        assert_eq!(p[0].change_lines(), ["taints lkeobs.io/gpu=true:NoSchedule → none"]);
    }

    #[test]
    fn the_fleets_own_labels_and_taints_are_compared_whole() {
        use crate::fleet::spec::{NodeLabel, NodeTaint};
        let s = |v: &str| spanned(0..0, v.to_string());
        let mut w = want("g2-gpu-rtx4000a1-s", 1, None);
        w.labels = vec![NodeLabel {
            key: s("example.com/team"),
            value: s("ml"),
        }];
        w.taints = vec![NodeTaint {
            key: s("nvidia.com/gpu"),
            value: s("true"),
            effect: s("NoSchedule"),
            span: 0..0,
        }];
        let labels = BTreeMap::from([
            ("example.com/team".to_string(), "ml".to_string()),
            (GPU_LABEL_KEY.to_string(), GPU_LABEL_VALUE.to_string()),
        ]);
        assert_eq!(node_labels(&w), labels);
        let h = have(1, "g2-gpu-rtx4000a1-s", 1, None);
        let p = diff(std::slice::from_ref(&w), std::slice::from_ref(&h));
        assert_eq!(p[0].action, Action::Update);
        assert_eq!(p[0].labels, labels);
        assert_eq!(p[0].labels_before, Some(h.labels.clone()));
        assert_eq!(p[0].taints_before, Some(Vec::new()));
        assert_eq!(
            p[0].change_lines(),
            [
                "labels lkeobs.io/gpu=true → example.com/team=ml, lkeobs.io/gpu=true",
                "taints none → nvidia.com/gpu=true:NoSchedule"
            ]
        );
        // Once the pool has them, nothing to do.
        let mut h = h;
        h.labels = labels;
        h.taints = node_taints(&w);
        assert_eq!(diff(&[w], &[h])[0].action, Action::Unchanged);
    }
}
