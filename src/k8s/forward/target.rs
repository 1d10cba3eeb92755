//! Which pod and which container port `kubectl port-forward svc/NAME PORT` reaches: a Ready pod the
//! Service selects, and the Service port's `targetPort` looked up in that pod (by number or name).
//!
//! kubectl (`polymorphichelpers.attachablePodForObject` → `GetFirstPod`) lists the pods of the
//! Service's selector and takes the first in reversed `podutils.ActivePods` order: scheduled,
//! Running, Ready, Ready the longest, fewest restarts, oldest. It would take a pod that is not
//! Ready when there is no other; a probe wants an answer, so here only Ready pods qualify.
//! The port follows `util.LookupContainerPortNumberByServicePort`.

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The Service's selector as a label selector (`a=b,c=d`); `None` when it selects nothing itself
/// (a Service without selector has no pods to forward to).
pub fn selector(service: &Service) -> Option<String> {
    let selector = service.spec.as_ref()?.selector.as_ref()?;
    if selector.is_empty() {
        return None;
    }
    Some(
        selector
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
    )
}

fn ready_since(pod: &Pod) -> Option<Option<&Time>> {
    let status = pod.status.as_ref()?;
    if status.phase.as_deref() != Some("Running") {
        return None;
    }
    status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready" && c.status == "True")
        .map(|c| c.last_transition_time.as_ref())
}

/// Running, Ready, scheduled and not being deleted.
pub fn is_ready(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_some_and(|n| !n.is_empty())
        && ready_since(pod).is_some()
}

fn restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .map(|c| c.restart_count)
        .max()
        .unwrap_or(0)
}

/// The pod kubectl would pick among `pods`, if one is Ready.
pub fn pick(pods: &[Pod]) -> Option<&Pod> {
    pods.iter().filter(|p| is_ready(p)).min_by_key(|p| {
        // Ready the longest first (a missing time counts as just now), then fewest restarts,
        // oldest, and the name so the choice is stable.
        let since = ready_since(p).flatten().map(|t| t.0);
        (
            since.is_none(),
            since,
            restarts(p),
            p.metadata.creation_timestamp.as_ref().map(|t| t.0),
            p.metadata.name.clone(),
        )
    })
}

/// The pod's port behind port `port` of the Service.
pub fn container_port(service: &Service, pod: &Pod, port: u16) -> Result<u16, String> {
    let name = service.metadata.name.as_deref().unwrap_or_default();
    let service_port = service
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_ref())
        .into_iter()
        .flatten()
        .find(|p| p.port == i32::from(port))
        .ok_or_else(|| format!("service {name} has no port {port}"))?;
    let number =
        |n: i32| u16::try_from(n).map_err(|_| format!("service {name} port {port}: target port {n} is out of range"));
    match &service_port.target_port {
        None | Some(IntOrString::Int(0)) => Ok(port),
        Some(IntOrString::Int(n)) => number(*n),
        Some(IntOrString::String(target)) => {
            let pod_name = pod.metadata.name.as_deref().unwrap_or_default();
            let found = pod
                .spec
                .as_ref()
                .map(|s| s.containers.iter())
                .into_iter()
                .flatten()
                .flat_map(|c| c.ports.iter().flatten())
                .find(|p| p.name.as_deref() == Some(target.as_str()))
                .ok_or_else(|| {
                    format!("pod {pod_name} has no port named {target:?} (target of service port {port})")
                })?;
            number(found.container_port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, ready: bool, since: &str, restarts: i32) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "creationTimestamp": "2025-01-01T00:00:00Z"},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": [
                {"name": "health", "containerPort": 13133}, {"name": "http", "containerPort": 8080}]}]},
            "status": {"phase": "Running",
                "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" },
                    "lastTransitionTime": since}],
                "containerStatuses": [{"name": "c", "image": "x", "imageID": "", "ready": ready,
                    "restartCount": restarts}]}
        }))
        .expect("pod")
    }

    fn service(ports: serde_json::Value, selector: serde_json::Value) -> Service {
        serde_json::from_value(json!({"metadata": {"name": "gw"}, "spec": {"selector": selector, "ports": ports}}))
            .expect("service")
    }

    #[test]
    fn picks_the_pod_ready_the_longest_then_with_fewest_restarts() {
        let pods = [
            pod("a", false, "2025-01-01T00:00:00Z", 0),
            pod("b", true, "2025-01-03T00:00:00Z", 0),
            pod("c", true, "2025-01-02T00:00:00Z", 5),
            pod("d", true, "2025-01-02T00:00:00Z", 1),
        ];
        assert_eq!(pick(&pods).and_then(|p| p.metadata.name.as_deref()), Some("d"));
        assert!(pick(&pods[..1]).is_none(), "a pod that is not Ready is never picked");
    }

    #[test]
    fn unscheduled_deleting_or_pending_pods_are_not_ready() {
        let mut unscheduled = pod("a", true, "2025-01-01T00:00:00Z", 0);
        unscheduled.spec.as_mut().expect("spec").node_name = None;
        let mut deleting = pod("b", true, "2025-01-01T00:00:00Z", 0);
        deleting.metadata.deletion_timestamp = Some(Time(deleting_time()));
        let mut pending = pod("c", true, "2025-01-01T00:00:00Z", 0);
        pending.status.as_mut().expect("status").phase = Some("Pending".into());
        assert!(pick(&[unscheduled, deleting, pending]).is_none());
    }

    fn deleting_time() -> k8s_openapi::jiff::Timestamp {
        k8s_openapi::jiff::Timestamp::UNIX_EPOCH
    }

    #[test]
    fn maps_service_ports_by_number_name_or_default() {
        let p = pod("a", true, "2025-01-01T00:00:00Z", 0);
        let svc = service(
            json!([{"port": 13133, "targetPort": "health"}, {"port": 9090}, {"port": 80, "targetPort": 8080},
                {"port": 81, "targetPort": "nope"}]),
            json!({"app": "gw", "tier": "hub"}),
        );
        assert_eq!(container_port(&svc, &p, 13133), Ok(13133));
        assert_eq!(container_port(&svc, &p, 9090), Ok(9090));
        assert_eq!(container_port(&svc, &p, 80), Ok(8080));
        assert_eq!(
            container_port(&svc, &p, 81),
            Err("pod a has no port named \"nope\" (target of service port 81)".into())
        );
        assert_eq!(container_port(&svc, &p, 1), Err("service gw has no port 1".into()));
        assert_eq!(selector(&svc).as_deref(), Some("app=gw,tier=hub"));
        assert_eq!(selector(&service(json!([]), json!({}))), None);
    }
}
