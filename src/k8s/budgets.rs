//! PodDisruptionBudgets as a node drain meets them: which budget covers a pod and how many disruptions it
//! allows now, and the budgets that can never allow one (`maxUnavailable: 0`, `minAvailable` as high as
//! the pods it counts), found before an upgrade touches a node.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use serde::Serialize;

use super::client::K8s;
use super::error::{K8sError, Result};

/// Whether `selector` selects `labels` (policy/v1: an empty selector selects every pod).
pub fn selects(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let by_label = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let by_expression = selector.match_expressions.iter().flatten().all(|e| {
        let values = e.values.clone().unwrap_or_default();
        let have = labels.get(&e.key);
        match e.operator.as_str() {
            "In" => have.is_some_and(|h| values.contains(h)),
            "NotIn" => have.is_none_or(|h| !values.contains(h)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        }
    });
    by_label && by_expression
}

/// A budget as a blocked drain reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    /// `namespace/name`.
    pub name: String,
    /// Disruptions it allows now (`status.disruptionsAllowed`).
    pub allowed: i32,
    pub healthy: i32,
    pub desired: i32,
}

impl Budget {
    fn of(pdb: &PodDisruptionBudget) -> Budget {
        let status = pdb.status.clone().unwrap_or_default();
        Budget {
            name: format!("{}/{}", pdb.namespace().unwrap_or_default(), pdb.name_any()),
            allowed: status.disruptions_allowed,
            healthy: status.current_healthy,
            desired: status.desired_healthy,
        }
    }

    /// `PodDisruptionBudget ns/name lets 0 pod(s) go now (1 healthy, 1 needed)`.
    pub fn describe(&self) -> String {
        format!(
            "PodDisruptionBudget {} lets {} pod(s) go now ({} healthy, {} needed)",
            self.name, self.allowed, self.healthy, self.desired
        )
    }
}

/// A budget that can never allow a disruption, why, and what to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RigidBudget {
    /// `namespace/name`.
    pub name: String,
    /// E.g. `maxUnavailable is 0`.
    pub why: String,
    /// What to change so that a drain can move its pods.
    pub fix: String,
}

impl RigidBudget {
    /// `PodDisruptionBudget ns/name can never let a pod go (maxUnavailable is 0): set …`.
    pub fn describe(&self) -> String {
        format!(
            "PodDisruptionBudget {} can never let a pod go ({}): {}",
            self.name, self.why, self.fix
        )
    }
}

/// Whether a budget can never allow a disruption while all its pods are healthy: `maxUnavailable` 0
/// (or `0%`), `minAvailable` 100% or at least the pods it counts (`status.expectedPods`), or a status
/// that says so with every pod healthy. A budget over no pods blocks nothing.
pub fn rigid(pdb: &PodDisruptionBudget) -> Option<RigidBudget> {
    let spec = pdb.spec.clone().unwrap_or_default();
    let status = pdb.status.clone().unwrap_or_default();
    let name = format!("{}/{}", pdb.namespace().unwrap_or_default(), pdb.name_any());
    let expected = status.expected_pods;
    let zero =
        |v: &IntOrString| matches!(v, IntOrString::Int(0)) || matches!(v, IntOrString::String(s) if s.trim() == "0%");
    let rigid = |why: String, fix: &str| {
        Some(RigidBudget {
            name: name.clone(),
            why,
            fix: fix.to_string(),
        })
    };
    match (&spec.max_unavailable, &spec.min_available) {
        (Some(max), _) if zero(max) => {
            return rigid(
                "maxUnavailable is 0".into(),
                "set maxUnavailable to 1 or more (or delete the budget for the upgrade), then re-run `lkeobs up`",
            );
        }
        (None, Some(IntOrString::String(pct))) if pct.trim() == "100%" => {
            return rigid(
                "minAvailable is 100%".into(),
                "lower minAvailable below 100% (or delete the budget for the upgrade), then re-run `lkeobs up`",
            );
        }
        (None, Some(IntOrString::Int(min))) if expected > 0 && *min >= expected => {
            return rigid(
                format!("minAvailable is {min} and it counts {expected} pod(s)"),
                "lower minAvailable below the pod count or run more replicas, then re-run `lkeobs up`",
            );
        }
        _ => {}
    }
    let current = status.observed_generation.unwrap_or(0) >= pdb.metadata.generation.unwrap_or(0);
    if current && expected > 0 && status.current_healthy >= expected && status.disruptions_allowed == 0 {
        return rigid(
            format!(
                "it allows no disruption with all {expected} pod(s) healthy (needs {})",
                status.desired_healthy
            ),
            "allow at least one disruption (maxUnavailable ≥ 1 or a lower minAvailable), then re-run `lkeobs up`",
        );
    }
    None
}

impl K8s {
    async fn budgets(&self, namespace: Option<&str>) -> Result<Vec<PodDisruptionBudget>> {
        let api: Api<PodDisruptionBudget> = match namespace {
            Some(ns) => Api::namespaced(self.client().clone(), ns),
            None => Api::all(self.client().clone()),
        };
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(|e| K8sError::api("list PodDisruptionBudgets", e))?;
        Ok(list.items)
    }

    /// The budget that covers `pod`, if any.
    pub async fn budget_of(&self, pod: &Pod) -> Result<Option<Budget>> {
        let budgets = self.budgets(pod.namespace().as_deref()).await?;
        Ok(budgets
            .iter()
            .find(|b| {
                b.spec
                    .as_ref()
                    .and_then(|s| s.selector.as_ref())
                    .is_some_and(|s| selects(s, pod.labels()))
            })
            .map(Budget::of))
    }

    /// Every budget of the cluster that can never allow a disruption.
    pub async fn rigid_budgets(&self) -> Result<Vec<RigidBudget>> {
        Ok(self.budgets(None).await?.iter().filter_map(rigid).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pdb(spec: serde_json::Value, status: serde_json::Value) -> PodDisruptionBudget {
        serde_json::from_value(json!({"metadata": {"name": "db", "namespace": "app", "generation": 1},
            "spec": spec, "status": status}))
        .unwrap()
    }

    #[test]
    fn budgets_that_can_never_allow_a_disruption_are_found_and_others_not() {
        let healthy = json!({"observedGeneration": 1, "expectedPods": 2, "currentHealthy": 2, "desiredHealthy": 2,
            "disruptionsAllowed": 0});
        let max0 = rigid(&pdb(json!({"maxUnavailable": 0}), healthy.clone())).unwrap();
        assert_eq!(max0.name, "app/db");
        assert!(
            max0.describe()
                .contains("maxUnavailable is 0): set maxUnavailable to 1"),
            "{max0:?}"
        );
        assert!(rigid(&pdb(json!({"maxUnavailable": "0%"}), json!({}))).is_some());
        let min = rigid(&pdb(json!({"minAvailable": 2}), healthy.clone())).unwrap();
        assert_eq!(min.why, "minAvailable is 2 and it counts 2 pod(s)");
        assert!(rigid(&pdb(json!({"minAvailable": "100%"}), json!({}))).is_some());
        let ok = json!({"observedGeneration": 1, "expectedPods": 2, "currentHealthy": 2, "desiredHealthy": 1,
            "disruptionsAllowed": 1});
        assert_eq!(rigid(&pdb(json!({"minAvailable": 1}), ok)), None);
        // Blocked for now (a pod not Ready) is not blocked for ever.
        let degraded = json!({"observedGeneration": 1, "expectedPods": 2, "currentHealthy": 1, "desiredHealthy": 1,
            "disruptionsAllowed": 0});
        assert_eq!(rigid(&pdb(json!({"minAvailable": 1}), degraded)), None);
        assert_eq!(rigid(&pdb(json!({"maxUnavailable": 1}), json!({}))), None);
    }

    #[test]
    fn selectors_match_labels_and_expressions() {
        let labels = BTreeMap::from([("app".to_string(), "db".to_string())]);
        let sel: LabelSelector = serde_json::from_value(json!({"matchLabels": {"app": "db"},
            "matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}))
        .unwrap();
        assert!(selects(&sel, &labels));
        let other: LabelSelector = serde_json::from_value(json!({"matchExpressions": [
            {"key": "app", "operator": "In", "values": ["web"]}]}))
        .unwrap();
        assert!(!selects(&other, &labels));
    }
}
