//! The order of a fleet upgrade: one edge first (the canary), then the other edges a few at a time, the hub
//! last. Each cluster's task asks for its turn here once its stack has converged and says here how its
//! upgrade ended; a failure stops every cluster that had not started.

use std::collections::BTreeMap;

use tokio::sync::{Semaphore, SemaphorePermit, watch};

use crate::fleet::Role;

/// How a cluster's upgrade stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Turn {
    Waiting,
    Done,
    /// Failed, and why (`failed its probes: …`).
    Failed(String),
    /// Not started because an earlier cluster failed.
    Skipped,
    /// Not started, nothing touched: its disruption budgets never let a pod go (which, and what to
    /// change). Stops the rest only when it is the canary (nothing was proven); the hub still goes.
    Blocked(String),
}

/// The clusters of an upgrade and their turns.
#[derive(Debug)]
pub struct Gate {
    canary: Option<String>,
    edges: Vec<String>,
    state: watch::Sender<BTreeMap<String, Turn>>,
    permits: Semaphore,
}

/// Why a cluster's upgrade did not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped(pub String);

impl Gate {
    /// The clusters to upgrade, in fleet order (the first edge is the canary); `concurrency` edges after
    /// the canary upgrade at once.
    pub fn new(clusters: &[(String, Role)], concurrency: usize) -> Gate {
        let edges: Vec<String> = clusters
            .iter()
            .filter(|(_, r)| *r == Role::Edge)
            .map(|(n, _)| n.clone())
            .collect();
        let state = clusters.iter().map(|(n, _)| (n.clone(), Turn::Waiting)).collect();
        Gate {
            canary: edges.first().cloned(),
            edges,
            state: watch::Sender::new(state),
            permits: Semaphore::new(concurrency.max(1)),
        }
    }

    /// Whether `name` is upgraded in this run.
    pub fn contains(&self, name: &str) -> bool {
        self.state.borrow().contains_key(name)
    }

    /// Whether nothing is upgraded in this run.
    pub fn is_empty(&self) -> bool {
        self.state.borrow().is_empty()
    }

    /// The canary edge, if the upgrade has edges.
    pub fn canary(&self) -> Option<&str> {
        self.canary.as_deref()
    }

    /// Waits for `name`'s turn: the canary goes at once; another edge once the canary is done (holding one
    /// of the permits while it upgrades); the hub once every edge is done. `Err` when an earlier cluster
    /// failed, saying which.
    pub async fn turn(&self, name: &str, role: Role) -> Result<Option<SemaphorePermit<'_>>, Skipped> {
        if self.canary.as_deref() == Some(name) {
            return Ok(None);
        }
        let waits_for: Vec<String> = match role {
            Role::Edge => self.canary.iter().cloned().collect(),
            Role::Hub => self.edges.clone(),
        };
        let mut rx = self.state.subscribe();
        let settled = rx
            .wait_for(|s| waits_for.iter().all(|w| s.get(w).is_some_and(|t| *t != Turn::Waiting)))
            .await
            .map_err(|_| Skipped("the upgrade's order was lost".into()))?
            .clone();
        let failed: Vec<String> = waits_for
            .iter()
            .filter_map(|w| match settled.get(w) {
                Some(Turn::Failed(why)) => Some(format!("{w} {why}")),
                Some(Turn::Blocked(why)) if self.canary.as_deref() == Some(w.as_str()) => {
                    Some(format!("{w} could not be upgraded: {why}"))
                }
                _ => None,
            })
            .collect();
        let who = if role == Role::Edge { "the canary edge" } else { "edge" };
        if !failed.is_empty() {
            return Err(Skipped(format!("not upgraded: {who} {}", failed.join("; "))));
        }
        if waits_for.iter().any(|w| settled.get(w) == Some(&Turn::Skipped)) {
            return Err(Skipped(
                "not upgraded: the edges' upgrade stopped before its end".into(),
            ));
        }
        match role {
            Role::Edge => self
                .permits
                .acquire()
                .await
                .map(Some)
                .map_err(|_| Skipped("the upgrade's order was lost".into())),
            Role::Hub => Ok(None),
        }
    }

    /// Records how `name`'s upgrade ended (a cluster that never got there fails with its error); the
    /// first word counts.
    pub fn finish(&self, name: &str, outcome: Turn) {
        self.state.send_if_modified(|s| match s.get_mut(name) {
            Some(t) if *t == Turn::Waiting => {
                *t = outcome;
                true
            }
            _ => false,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn gate() -> Arc<Gate> {
        Arc::new(Gate::new(
            &[
                ("hub".into(), Role::Hub),
                ("us".into(), Role::Edge),
                ("eu".into(), Role::Edge),
                ("ap".into(), Role::Edge),
            ],
            1,
        ))
    }

    #[tokio::test]
    async fn the_canary_goes_first_the_hub_last() {
        let g = gate();
        assert_eq!(g.canary(), Some("us"));
        assert!(g.turn("us", Role::Edge).await.is_ok());
        let eu = tokio::spawn({
            let g = g.clone();
            async move { g.turn("eu", Role::Edge).await.map(|p| p.is_some()) }
        });
        tokio::task::yield_now().await;
        assert!(!eu.is_finished(), "eu must wait for the canary");
        g.finish("us", Turn::Done);
        assert_eq!(eu.await.unwrap(), Ok(true));
        let hub = tokio::spawn({
            let g = g.clone();
            async move { g.turn("hub", Role::Hub).await.is_ok() }
        });
        g.finish("eu", Turn::Done);
        tokio::task::yield_now().await;
        assert!(!hub.is_finished(), "the hub waits for every edge");
        g.finish("ap", Turn::Done);
        assert!(hub.await.unwrap());
    }

    #[tokio::test]
    async fn a_failed_canary_stops_the_rest() {
        let g = gate();
        g.finish("us", Turn::Failed("failed its probes".into()));
        let skipped = g.turn("eu", Role::Edge).await.unwrap_err();
        assert_eq!(skipped.0, "not upgraded: the canary edge us failed its probes");
        g.finish("eu", Turn::Skipped);
        g.finish("ap", Turn::Skipped);
        assert_eq!(
            g.turn("hub", Role::Hub).await.unwrap_err().0,
            "not upgraded: edge us failed its probes"
        );
        let g2 = Gate::new(&[("hub".into(), Role::Hub), ("us".into(), Role::Edge)], 1);
        g2.finish("us", Turn::Skipped);
        assert_eq!(
            g2.turn("hub", Role::Hub).await.unwrap_err().0,
            "not upgraded: the edges' upgrade stopped before its end"
        );
        // A blocked edge that is not the canary stops nobody; a blocked canary stops the rest.
        let g3 = gate();
        g3.finish("us", Turn::Done);
        g3.finish(
            "eu",
            Turn::Blocked("PodDisruptionBudget app/db can never let a pod go".into()),
        );
        g3.finish("ap", Turn::Done);
        assert!(g3.turn("hub", Role::Hub).await.is_ok());
        let g4 = gate();
        g4.finish(
            "us",
            Turn::Blocked("PodDisruptionBudget app/db can never let a pod go".into()),
        );
        assert_eq!(
            g4.turn("eu", Role::Edge).await.unwrap_err().0,
            "not upgraded: the canary edge us could not be upgraded: PodDisruptionBudget app/db can never let a pod go"
        );
        // A second word on a cluster changes nothing.
        g.finish("us", Turn::Done);
        assert_eq!(g.state.borrow()["us"], Turn::Failed("failed its probes".into()));
    }
}
