use k8s_openapi::api::apps::v1::{
    DaemonSetStatus, DeploymentCondition, DeploymentSpec, DeploymentStatus, StatefulSetSpec, StatefulSetStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::*;

fn deployment(generation: i64, replicas: Option<i32>, status: DeploymentStatus) -> Deployment {
    Deployment {
        metadata: ObjectMeta {
            generation: Some(generation),
            ..Default::default()
        },
        spec: Some(DeploymentSpec {
            replicas,
            ..Default::default()
        }),
        status: Some(status),
    }
}

fn dstatus(observed: i64, total: i32, updated: i32, ready: i32, available: i32) -> DeploymentStatus {
    DeploymentStatus {
        observed_generation: Some(observed),
        replicas: Some(total),
        updated_replicas: Some(updated),
        ready_replicas: Some(ready),
        available_replicas: Some(available),
        ..Default::default()
    }
}

#[test]
fn deployment_with_lagging_observed_generation_is_not_done_even_if_counts_match() {
    let r = deployment_rollout(&deployment(3, Some(2), dstatus(2, 2, 2, 2, 2)));
    assert!(!r.done);
    assert_eq!(
        r.summary,
        "2/2 replicas ready, generation 3 not yet observed by the controller"
    );
}

#[test]
fn deployment_is_done_when_observed_and_all_counts_match() {
    assert!(deployment_rollout(&deployment(3, Some(2), dstatus(3, 2, 2, 2, 2))).done);
    let r = deployment_rollout(&deployment(3, Some(2), dstatus(3, 3, 2, 1, 1)));
    assert!(!r.done);
    assert_eq!(r.summary, "1/2 replicas ready (1/2 available, 3/2 total)");
}

#[test]
fn deployment_without_spec_replicas_uses_status_replicas_then_one() {
    // The gateway leaves spec.replicas to its HPA.
    assert!(deployment_rollout(&deployment(1, None, dstatus(1, 3, 3, 3, 3))).done);
    let mut d = deployment(1, None, DeploymentStatus::default());
    d.status = None;
    let r = deployment_rollout(&d);
    assert!(!r.done);
    assert!(r.summary.starts_with("0/1 replicas ready"), "{}", r.summary);
}

#[test]
fn deployment_reports_an_exceeded_progress_deadline() {
    let mut s = dstatus(1, 1, 1, 0, 0);
    s.conditions = Some(vec![DeploymentCondition {
        type_: "Progressing".into(),
        status: "False".into(),
        reason: Some("ProgressDeadlineExceeded".into()),
        ..Default::default()
    }]);
    let r = deployment_rollout(&deployment(1, Some(1), s));
    assert!(r.summary.ends_with("progress deadline exceeded"), "{}", r.summary);
}

fn statefulset(generation: i64, replicas: i32, status: StatefulSetStatus) -> StatefulSet {
    StatefulSet {
        metadata: ObjectMeta {
            generation: Some(generation),
            ..Default::default()
        },
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            ..Default::default()
        }),
        status: Some(status),
    }
}

#[test]
fn statefulset_needs_matching_revisions() {
    let mut s = StatefulSetStatus {
        observed_generation: Some(2),
        replicas: 1,
        ready_replicas: Some(1),
        updated_replicas: Some(1),
        current_revision: Some("prometheus-1".into()),
        update_revision: Some("prometheus-2".into()),
        ..Default::default()
    };
    let r = statefulset_rollout(&statefulset(2, 1, s.clone()));
    assert!(!r.done);
    assert_eq!(
        r.summary,
        "1/1 replicas ready, revision prometheus-1 → prometheus-2 in progress"
    );
    s.current_revision = s.update_revision.clone();
    assert!(statefulset_rollout(&statefulset(2, 1, s.clone())).done);
    s.observed_generation = Some(1);
    assert!(!statefulset_rollout(&statefulset(2, 1, s)).done);
}

#[test]
fn daemonset_compares_with_desired_number_scheduled() {
    let mut ds = DaemonSet {
        metadata: ObjectMeta {
            generation: Some(4),
            ..Default::default()
        },
        spec: None,
        status: Some(DaemonSetStatus {
            observed_generation: Some(4),
            desired_number_scheduled: 3,
            number_ready: 3,
            updated_number_scheduled: Some(2),
            number_available: Some(3),
            ..Default::default()
        }),
    };
    let r = daemonset_rollout(&ds);
    assert!(!r.done);
    assert_eq!(r.summary, "3/3 pods ready (2/3 updated)");
    if let Some(s) = ds.status.as_mut() {
        s.updated_number_scheduled = Some(3);
    }
    assert!(daemonset_rollout(&ds).done);
}

#[test]
fn workloads_display_like_kubectl_names_them() {
    let w = Workload {
        kind: WorkloadKind::Deployment,
        namespace: "observability-hub".into(),
        name: "otel-gateway".into(),
    };
    assert_eq!(w.to_string(), "deployment observability-hub/otel-gateway");
}
