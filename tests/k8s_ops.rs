//! `k8s` teardown deletes and Secrets against the fake Kubernetes API: only our LoadBalancer
//! Services and volumes are deleted, and the calls return only once they are gone; `CreateOnly`
//! never overwrites a Secret.

use crate::support;

use std::collections::BTreeMap;
use std::time::Duration;

use lkeobs::k8s::{SecretMode, SecretOutcome};
use serde_json::{Value, json};
use support::eventually;
use support::k8s_fake::K8sFake;
use tokio::time::Instant;

const NS: &str = "observability-hub";

fn ours() -> Value {
    json!({"app.kubernetes.io/managed-by": "lkeobs", "lkeobs.io/fleet": "demo", "lkeobs.io/cluster": "hub"})
}

fn service(name: &str, type_: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS, "labels": labels},
           "spec": {"type": type_, "ports": [{"port": 4317}]}})
}

fn deletes(fake: &K8sFake) -> Vec<String> {
    fake.writes()
        .into_iter()
        .filter(|w| w.method == "DELETE")
        .map(|w| w.path)
        .collect()
}

#[tokio::test]
async fn delete_load_balancers_deletes_only_ours_and_returns_once_they_are_gone() {
    let fake = K8sFake::start().await;
    fake.put(service("otel-gateway-external", "LoadBalancer", ours()));
    fake.put(service("otel-gateway", "ClusterIP", ours()));
    fake.put(service("someone-elses-lb", "LoadBalancer", json!({"team": "x"})));
    // The cloud controller's finalizer holds the Service until its NodeBalancer is deleted.
    fake.delay_deletion(
        "v1",
        "Service",
        Some(NS),
        "otel-gateway-external",
        Duration::from_millis(400),
    );
    let deleted = fake
        .k8s()
        .delete_load_balancers("demo", Instant::now() + Duration::from_secs(10))
        .await
        .expect("deleted");
    // A Service held by the finalizer is still there (with its deletionTimestamp): gone means waited.
    assert!(
        fake.get("v1", "Service", Some(NS), "otel-gateway-external").is_none(),
        "returned before the Service was gone"
    );
    let names: Vec<String> = deleted.iter().map(ToString::to_string).collect();
    assert_eq!(names, ["Service/observability-hub/otel-gateway-external"]);
    assert_eq!(
        deletes(&fake),
        ["/api/v1/namespaces/observability-hub/services/otel-gateway-external"]
    );
    assert!(fake.get("v1", "Service", Some(NS), "otel-gateway").is_some());
    assert!(fake.get("v1", "Service", Some(NS), "someone-elses-lb").is_some());
}

#[tokio::test]
async fn delete_load_balancers_times_out_naming_the_finalizer_holding_the_service() {
    let fake = K8sFake::start().await;
    let mut svc = service("otel-gateway-external", "LoadBalancer", ours());
    svc["metadata"]["finalizers"] = json!(["service.kubernetes.io/load-balancer-cleanup"]);
    fake.put(svc);
    fake.delay_deletion(
        "v1",
        "Service",
        Some(NS),
        "otel-gateway-external",
        Duration::from_secs(60),
    );
    let err = fake
        .k8s()
        .delete_load_balancers("demo", Instant::now() + Duration::from_millis(400))
        .await
        .expect_err("still there");
    let text = err.to_string();
    assert!(
        text.starts_with(
            "deleting service observability-hub/otel-gateway-external: still present, held by finalizers service.kubernetes.io/load-balancer-cleanup after "
        ),
        "{text}"
    );
}

#[tokio::test]
async fn delete_volumes_removes_statefulsets_then_claims_and_waits_for_claims_and_volumes() {
    let fake = K8sFake::start().await;
    fake.put(json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "prometheus", "namespace": "monitoring", "labels": ours()}}));
    fake.put(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data-prometheus-0", "namespace": "monitoring", "labels": ours()},
        "spec": {"volumeName": "pvc-123"}}));
    fake.put(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "not-ours", "namespace": "monitoring"}, "spec": {"volumeName": "pvc-456"}}));
    fake.put(
        json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pvc-123"},
        "spec": {"persistentVolumeReclaimPolicy": "Delete"}}),
    );
    fake.delay_deletion(
        "v1",
        "PersistentVolumeClaim",
        Some("monitoring"),
        "data-prometheus-0",
        Duration::from_millis(200),
    );
    // Once the claim is gone, the CSI driver deletes the Linode volume, then the PersistentVolume
    // goes; it notes when.
    let csi = async {
        eventually("the claim gone", || {
            fake.get("v1", "PersistentVolumeClaim", Some("monitoring"), "data-prometheus-0")
                .is_none()
        })
        .await;
        let k8s = fake.k8s();
        let pv: kube::Api<k8s_openapi::api::core::v1::PersistentVolume> = kube::Api::all(k8s.client().clone());
        pv.delete("pvc-123", &Default::default()).await.expect("pv delete");
        Instant::now()
    };
    let k8s = fake.k8s();
    let deleting = async {
        let deleted = k8s
            .delete_volumes("demo", Instant::now() + Duration::from_secs(10))
            .await;
        (deleted, Instant::now())
    };
    let ((deleted, returned), volume_gone) = tokio::join!(deleting, csi);
    let names: Vec<String> = deleted
        .expect("volumes deleted")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        names,
        [
            "StatefulSet/monitoring/prometheus",
            "PersistentVolumeClaim/monitoring/data-prometheus-0"
        ]
    );
    assert!(returned >= volume_gone, "returned before the volume was gone");
    assert!(fake.get("v1", "PersistentVolume", None, "pvc-123").is_none());
    assert!(
        fake.get("v1", "PersistentVolumeClaim", Some("monitoring"), "not-ours")
            .is_some()
    );
}

fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect()
}

#[tokio::test]
async fn ensure_secret_create_only_never_overwrites_and_replace_does() {
    let fake = K8sFake::start().await;
    fake.put(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "monitoring"}}));
    let k8s = fake.k8s();
    let labels: BTreeMap<String, String> = [("app.kubernetes.io/managed-by".to_string(), "lkeobs".to_string())].into();
    assert_eq!(k8s.get_secret("monitoring", "grafana-admin").await.expect("get"), None);

    let first = data(&[("admin-user", "admin"), ("admin-password", "first-password")]);
    let created = k8s
        .ensure_secret("monitoring", "grafana-admin", &labels, &first, SecretMode::CreateOnly)
        .await
        .expect("create");
    assert_eq!(created, SecretOutcome::Created);

    let second = data(&[("admin-user", "admin"), ("admin-password", "second-password")]);
    let kept = k8s
        .ensure_secret("monitoring", "grafana-admin", &labels, &second, SecretMode::CreateOnly)
        .await
        .expect("ensure again");
    assert_eq!(kept, SecretOutcome::Kept);
    assert_eq!(
        k8s.get_secret("monitoring", "grafana-admin").await.expect("get"),
        Some(first)
    );
    assert!(
        fake.writes().iter().all(|w| w.method == "POST"),
        "CreateOnly wrote more than a create"
    );

    let replaced = k8s
        .ensure_secret("monitoring", "grafana-admin", &labels, &second, SecretMode::Replace)
        .await
        .expect("replace");
    assert_eq!(replaced, SecretOutcome::Replaced);
    assert_eq!(
        k8s.get_secret("monitoring", "grafana-admin").await.expect("get"),
        Some(second)
    );
}

#[tokio::test]
async fn secret_errors_name_the_secret_but_never_its_data() {
    let fake = K8sFake::start().await;
    let err = fake
        .k8s()
        .ensure_secret(
            "nowhere",
            "lkeobs-ca",
            &BTreeMap::new(),
            &data(&[("ca.key", "TOP-SECRET-KEY")]),
            SecretMode::Replace,
        )
        .await
        .expect_err("no namespace");
    let text = format!("{err} {err:?}");
    assert!(text.contains("create secret nowhere/lkeobs-ca"), "{text}");
    assert!(
        !text.contains("TOP-SECRET-KEY") && !text.contains("VE9QLVNFQ1JFVC1LRVk"),
        "{text}"
    );
}
