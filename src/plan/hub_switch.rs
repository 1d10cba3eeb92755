//! A hub switching storage mode (`[hub] mode` "single" ⇄ "ha"), read from the plan of its running stack:
//! the old mode's stores are pruned and the new ones start empty, so `up` needs `--accept-new-hub-storage`.

use serde::Serialize;

use super::{Action, ClusterPlan};
use crate::fleet::{Fleet, Role};
use crate::objects::{MIMIR, Named, PROMETHEUS};

/// The hub's stores change engine: the data of the old ones is not migrated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HubModeSwitch {
    /// The mode the hub runs (`single` or `ha`).
    pub from: &'static str,
    /// The fleet file's mode.
    pub to: &'static str,
}

impl HubModeSwitch {
    /// What it means, for the plan and for `up`'s refusal.
    pub fn describe(&self) -> String {
        let kept = if self.to == "ha" {
            "the volumes of Prometheus, Loki and Tempo are kept (not deleted) until `lkeobs teardown`"
        } else {
            "the fleet's buckets are kept until `lkeobs teardown`"
        };
        format!(
            "the hub switches from mode {:?} to {:?}: its stores are replaced by new, empty ones and the data they \
             hold is not migrated ({kept})",
            self.from, self.to
        )
    }
}

fn is_statefulset(o: &crate::plan::ObjectPlan, named: Named) -> bool {
    o.object.kind == "StatefulSet"
        && o.object.namespace.as_deref() == Some(named.namespace)
        && o.object.name == named.name
}

/// The switch the hub's compared stack shows: the StatefulSet of the other mode's metrics store
/// (Prometheus in "single", Mimir in "ha") runs and is no longer rendered, so the plan prunes it.
pub fn detect(fleet: &Fleet, clusters: &[ClusterPlan]) -> Option<HubModeSwitch> {
    let hub = clusters
        .iter()
        .find(|c| c.role == Role::Hub.as_str() && c.objects_compared)?;
    let pruned = |named: Named| {
        hub.objects
            .iter()
            .any(|o| o.action == Action::Delete && is_statefulset(o, named))
    };
    match fleet.hub_mode.ha() {
        Some(_) if pruned(PROMETHEUS) => Some(HubModeSwitch {
            from: "single",
            to: "ha",
        }),
        None if pruned(MIMIR) => Some(HubModeSwitch {
            from: "ha",
            to: "single",
        }),
        _ => None,
    }
}
