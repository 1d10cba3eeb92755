//! The HorizontalPodAutoscaler controller's bounds: a target below `minReplicas` is raised to it and
//! one above `maxReplicas` lowered, even while its metrics are unknown (no metrics API), as the real
//! controller does before it looks at metrics; a target scaled to 0 is left alone (autoscaling off).
//! The target's `spec.replicas` is the HPA's field: an apply that leaves it out keeps it.

use serde_json::{Value, json};

use super::controllers::s;
use super::kube::KubeApi;

/// The scale an HPA wants for a target at `current` replicas; None when it leaves it alone.
fn bounded(hpa: &Value, current: u64) -> Option<u64> {
    if current == 0 {
        return None;
    }
    let min = hpa["spec"]["minReplicas"].as_u64().unwrap_or(1);
    let max = hpa["spec"]["maxReplicas"].as_u64().unwrap_or(current.max(min));
    Some(current.clamp(min, max.max(min)))
}

/// One pass: every HPA's target kept within its bounds, and the HPA's status.
pub(crate) fn autoscalers(k8s: &KubeApi) {
    for hpa in k8s.list("autoscaling/v2", "HorizontalPodAutoscaler") {
        let target = &hpa["spec"]["scaleTargetRef"];
        let (kind, name) = (s(&target["kind"]), s(&target["name"]));
        let ns = hpa["metadata"]["namespace"].as_str();
        let api_version = target["apiVersion"].as_str().unwrap_or("apps/v1");
        let Some(workload) = k8s.get(api_version, kind, ns, name) else {
            continue;
        };
        // The API server defaults an unset `replicas` to 1.
        let current = workload["spec"]["replicas"].as_u64().unwrap_or(1);
        let Some(desired) = bounded(&hpa, current) else {
            continue;
        };
        if workload["spec"]["replicas"].as_u64() != Some(desired) {
            k8s.update(api_version, kind, ns, name, |o| {
                o["spec"]["replicas"] = json!(desired);
                // A new spec: the server moves the generation on.
                o["metadata"].as_object_mut().map(|m| m.remove("generation"));
                true
            });
        }
        let status = json!({"currentReplicas": current, "desiredReplicas": desired, "conditions": [
            {"type": "AbleToScale", "status": "True", "reason": "SucceededRescale"},
            {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
             "message": "the HPA was unable to compute the replica count: unable to get metrics for resource cpu"}]});
        if hpa["status"] != status {
            k8s.set_status(
                "autoscaling/v2",
                "HorizontalPodAutoscaler",
                ns,
                s(&hpa["metadata"]["name"]),
                status,
            );
        }
    }
}
