//! Tests of server-side apply's field ownership ([`super`]): conflicts, forced takeovers, shared
//! ownership, fields dropped from an apply, and the fieldsV1 encoding.

use super::*;

fn sts(replicas: Option<i64>, image: &str) -> Value {
    let mut v = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "gw", "namespace": "hub",
        "labels": {"app": "gw"}}, "spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}}});
    if let Some(r) = replicas {
        v["spec"]["replicas"] = json!(r);
    }
    v
}

fn owners(obj: &Value, path: &[&str]) -> Vec<String> {
    let path: Path = path.iter().map(|s| s.to_string()).collect();
    entries(obj)
        .into_iter()
        .filter(|e| e.fields.contains(&path))
        .map(|e| format!("{}/{}", e.manager, e.operation))
        .collect()
}

#[test]
fn a_field_another_manager_owns_survives_an_apply_that_omits_it() {
    let created = apply(None, &sts(None, "v1"), "lkeobs", true, "apps/v1").expect("create");
    assert_eq!(
        owners(&created, &["spec", "template", "spec", "containers"]),
        ["lkeobs/Apply"]
    );
    let mut scaled = created.clone();
    scaled["spec"]["replicas"] = json!(3);
    let scaled = update(
        Some(&created),
        scaled,
        "kube-controller-manager",
        Some("scale"),
        "apps/v1",
    );
    assert_eq!(
        owners(&scaled, &["spec", "replicas"]),
        ["kube-controller-manager/Update"]
    );
    let again = apply(Some(&scaled), &sts(None, "v2"), "lkeobs", true, "apps/v1").expect("apply");
    assert_eq!(again["spec"]["replicas"], 3, "{again:#}");
    assert_eq!(again["spec"]["template"]["spec"]["containers"][0]["image"], "v2");
}

#[test]
fn taking_another_managers_field_conflicts_unless_forced() {
    let created = apply(None, &sts(None, "v1"), "lkeobs", false, "apps/v1").expect("create");
    let mut scaled = created.clone();
    scaled["spec"]["replicas"] = json!(3);
    let scaled = update(
        Some(&created),
        scaled,
        "kube-controller-manager",
        Some("scale"),
        "apps/v1",
    );
    let refused = apply(Some(&scaled), &sts(Some(1), "v1"), "lkeobs", false, "apps/v1").expect_err("a conflict");
    assert_eq!(refused.status(), 409);
    let body: Value = serde_json::from_slice(refused.body()).expect("json");
    assert_eq!(body["reason"], "Conflict");
    assert_eq!(body["details"]["causes"][0]["field"], ".spec.replicas");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("kube-controller-manager"),
        "{body}"
    );
    // The same value is shared ownership, no conflict.
    let shared = apply(Some(&scaled), &sts(Some(3), "v1"), "lkeobs", false, "apps/v1").expect("same value");
    assert_eq!(owners(&shared, &["spec", "replicas"]).len(), 2);
    let forced = apply(Some(&scaled), &sts(Some(1), "v1"), "lkeobs", true, "apps/v1").expect("forced");
    assert_eq!(forced["spec"]["replicas"], 1);
    assert_eq!(owners(&forced, &["spec", "replicas"]), ["lkeobs/Apply"]);
}

#[test]
fn a_field_dropped_from_the_apply_goes_unless_another_manager_owns_it() {
    let mut first = sts(None, "v1");
    first["metadata"]["labels"]["tier"] = json!("x");
    first["metadata"]["annotations"] = json!({"note": "a"});
    let created = apply(None, &first, "lkeobs", true, "apps/v1").expect("create");
    let mut edited = created.clone();
    edited["metadata"]["annotations"]["note"] = json!("b");
    let edited = update(Some(&created), edited, "kubectl-edit", None, "apps/v1");
    let again = apply(Some(&edited), &sts(None, "v1"), "lkeobs", true, "apps/v1").expect("apply");
    assert!(again["metadata"]["labels"].get("tier").is_none(), "{again:#}");
    assert_eq!(
        again["metadata"]["annotations"]["note"], "b",
        "kubectl-edit owns it now"
    );
    assert!(same_owners(&again, &again.clone()));
    let unchanged = apply(Some(&again), &sts(None, "v1"), "lkeobs", true, "apps/v1").expect("apply");
    assert!(same_owners(&again, &unchanged));
}

#[test]
fn fields_v1_round_trips() {
    let fields = leaves(&sts(Some(2), "v1"));
    assert!(fields.contains(&vec!["spec".to_string(), "replicas".to_string()]));
    assert!(
        !fields
            .iter()
            .any(|p| p[0] == "kind" || p == &["metadata".to_string(), "name".to_string()])
    );
    assert_eq!(from_fields_v1(&to_fields_v1(&fields)), fields);
    assert_eq!(manager_of(None, Some("kubectl/v1.32.4 (linux/amd64)")), "kubectl");
}
