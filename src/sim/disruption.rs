//! PodDisruptionBudgets as a cluster enforces them: the disruption controller keeps each budget's status
//! (`currentHealthy`, `desiredHealthy`, `expectedPods`, `disruptionsAllowed`, `observedGeneration`)
//! from the matching pods, and the API server's `pods/eviction` refuses with 429 while it allows no
//! disruption; an accepted eviction takes one from the budget and starts the pod's graceful delete.

use serde_json::{Map, Value, json};

use super::controllers::{deleting, is_ready, s};
use super::http::Reply;
use super::kube::{Key, KubeApi, State, status};
use super::kubelet::mark_terminating;

/// Whether a `LabelSelector` (matchLabels and matchExpressions) selects `labels`. An empty selector
/// selects everything; a missing one nothing (policy/v1).
pub(crate) fn selects(selector: &Value, labels: &Value) -> bool {
    if !selector.is_object() {
        return false;
    }
    let label = |k: &str| labels[k].as_str();
    let by_label = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| label(k) == v.as_str());
    let by_expression = selector["matchExpressions"].as_array().into_iter().flatten().all(|e| {
        let values: Vec<&str> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let have = label(s(&e["key"]));
        match s(&e["operator"]) {
            "In" => have.is_some_and(|h| values.contains(&h)),
            "NotIn" => have.is_none_or(|h| !values.contains(&h)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        }
    });
    by_label && by_expression
}

/// An int-or-percent of `total` (`"50%"`), rounded up.
fn scaled(v: &Value, total: i64) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(p) => {
            let pct: i64 = p.strip_suffix('%')?.trim().parse().ok()?;
            Some((pct * total + 99) / 100)
        }
        _ => None,
    }
}

/// The replicas the controllers of `pods` want (each controller once).
fn scale(k8s: &KubeApi, pods: &[&Value]) -> i64 {
    let mut seen = Vec::new();
    let mut total = 0;
    for p in pods {
        let Some(o) = p["metadata"]["ownerReferences"]
            .as_array()
            .and_then(|os| os.iter().find(|o| o["controller"] == true))
        else {
            total += 1;
            continue;
        };
        if seen.contains(&o["uid"]) {
            continue;
        }
        seen.push(o["uid"].clone());
        let ns = p["metadata"]["namespace"].as_str();
        let replicas = k8s
            .get(s(&o["apiVersion"]), s(&o["kind"]), ns, s(&o["name"]))
            .map_or(1, |w| w["spec"]["replicas"].as_i64().unwrap_or(1));
        total += replicas;
    }
    total
}

/// `(expectedPods, desiredHealthy)` of a budget over `pods`, as the disruption controller counts them.
fn expected_and_desired(k8s: &KubeApi, spec: &Value, pods: &[&Value]) -> (i64, i64) {
    let count = pods.len() as i64;
    if !spec["maxUnavailable"].is_null() {
        let expected = scale(k8s, pods);
        let unavailable = scaled(&spec["maxUnavailable"], expected).unwrap_or(0);
        (expected, (expected - unavailable).max(0))
    } else if let Some(min) = spec["minAvailable"].as_i64() {
        (count, min)
    } else if spec["minAvailable"].is_string() {
        let expected = scale(k8s, pods);
        (expected, scaled(&spec["minAvailable"], expected).unwrap_or(0))
    } else {
        (count, 0)
    }
}

/// Disruption controller: one pass over every budget.
pub(crate) fn budgets(k8s: &KubeApi) {
    let pods = k8s.list("v1", "Pod");
    for pdb in k8s.list("policy/v1", "PodDisruptionBudget") {
        let ns = pdb["metadata"]["namespace"].as_str();
        let matched: Vec<&Value> = pods
            .iter()
            .filter(|p| p["metadata"]["namespace"].as_str() == ns)
            .filter(|p| selects(&pdb["spec"]["selector"], &p["metadata"]["labels"]))
            .collect();
        let (expected, desired) = expected_and_desired(k8s, &pdb["spec"], &matched);
        let name = s(&pdb["metadata"]["name"]).to_string();
        k8s.update("policy/v1", "PodDisruptionBudget", ns, &name, |o| {
            // Evictions the API server accepted since: those pods count as disrupted until they go.
            let disrupted: Map<String, Value> = o["status"]["disruptedPods"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(pod, _)| {
                    matched
                        .iter()
                        .any(|p| p["metadata"]["name"] == pod.as_str() && !deleting(p))
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let healthy = matched
                .iter()
                .filter(|p| !deleting(p) && is_ready(p) && !disrupted.contains_key(s(&p["metadata"]["name"])))
                .count() as i64;
            let allowed = if expected <= 0 { 0 } else { (healthy - desired).max(0) };
            let condition = if allowed > 0 {
                json!({"type": "DisruptionAllowed", "status": "True", "reason": "SufficientPods", "message": "",
                    "observedGeneration": o["metadata"]["generation"], "lastTransitionTime": "2025-01-01T00:00:00Z"})
            } else {
                json!({"type": "DisruptionAllowed", "status": "False", "reason": "InsufficientPods", "message": "",
                    "observedGeneration": o["metadata"]["generation"], "lastTransitionTime": "2025-01-01T00:00:00Z"})
            };
            let mut status = json!({"observedGeneration": o["metadata"]["generation"], "disruptionsAllowed": allowed,
                "currentHealthy": healthy, "desiredHealthy": desired, "expectedPods": expected,
                "conditions": [condition]});
            if !disrupted.is_empty() {
                status["disruptedPods"] = Value::Object(disrupted);
            }
            let changed = o["status"] != status;
            o["status"] = status;
            changed
        });
    }
}

fn too_many_requests(cause: String) -> Reply {
    Reply::new(429).set_body_json(
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "Cannot evict pod as it would violate the pod's disruption budget.", "reason": "TooManyRequests",
        "details": {"causes": [{"reason": "DisruptionBudget", "message": cause}]}, "code": 429}),
    )
}

/// `POST …/pods/<name>/eviction` on the locked server state: 429 while the pod's budget allows no
/// disruption (or has not yet seen its latest spec), 500 with more than one budget; otherwise the
/// budget loses one disruption and the pod starts terminating (201). A terminating, Pending or finished
/// pod is evicted without a budget check. `dry_run` changes nothing.
pub(crate) fn evict(st: &mut State, key: &Key, what: String, dry_run: bool) -> Reply {
    let Some(mut pod) = st.objects.get(key).cloned() else {
        return status(404, "NotFound", format!("{what} not found"));
    };
    let done = Reply::new(201)
        .set_body_json(json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}));
    if deleting(&pod) {
        return done;
    }
    let checked = !matches!(s(&pod["status"]["phase"]), "Pending" | "Succeeded" | "Failed");
    let budgets: Vec<(Key, Value)> = st
        .objects
        .iter()
        .filter(|(k, b)| {
            k.0 == "policy"
                && k.1 == "poddisruptionbudgets"
                && k.2 == key.2
                && selects(&b["spec"]["selector"], &pod["metadata"]["labels"])
        })
        .map(|(k, b)| (k.clone(), b.clone()))
        .collect();
    if checked && budgets.len() > 1 {
        return status(
            500,
            "InternalError",
            "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.".into(),
        );
    }
    if let (true, Some((pdb_key, mut pdb))) = (checked, budgets.into_iter().next()) {
        let name = s(&pdb["metadata"]["name"]).to_string();
        let st_of = |f: &str| pdb["status"][f].as_i64().unwrap_or(0);
        let (healthy, desired) = (st_of("currentHealthy"), st_of("desiredHealthy"));
        // An unhealthy pod may go while the budget is met (unhealthyPodEvictionPolicy IfHealthyBudget).
        let unhealthy_ok = !is_ready(&pod) && healthy >= desired && desired > 0;
        if !unhealthy_ok {
            if pdb["status"]["observedGeneration"].as_i64().unwrap_or(0)
                < pdb["metadata"]["generation"].as_i64().unwrap_or(1)
            {
                return too_many_requests(format!(
                    "The disruption budget {name} is still being processed by the server."
                ));
            }
            let allowed = st_of("disruptionsAllowed");
            if allowed < 0 {
                return status(
                    403,
                    "Forbidden",
                    format!("poddisruptionbudgets.policy \"{name}\" is forbidden: pdb disruptions allowed is negative"),
                );
            }
            if allowed == 0 {
                return too_many_requests(format!(
                    "The disruption budget {name} needs {desired} healthy pods and has {healthy} currently"
                ));
            }
            if !dry_run {
                pdb["status"]["disruptionsAllowed"] = json!(allowed - 1);
                pdb["status"]["disruptedPods"][s(&pod["metadata"]["name"])] = json!("2025-01-01T00:00:00Z");
                if let Some(k) = st.kind_by_name("policy/v1", "PodDisruptionBudget") {
                    st.write(&k, pdb_key, pdb, false);
                }
            }
        }
    }
    if !dry_run && let Some(k) = st.kind_by_name("v1", "Pod") {
        mark_terminating(&mut pod);
        st.write(&k, key.clone(), pod, false);
    }
    done
}
