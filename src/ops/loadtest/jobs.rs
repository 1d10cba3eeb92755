//! The generator Jobs in the edges: create one, read how it is doing, and remove it with its pods.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use tokio::time::Instant;

use crate::k8s::K8s;
use crate::objects::OBSERVABILITY;

/// Where a Job is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Created, no pod running yet (image pull, scheduling).
    Pending,
    Running,
    Completed,
    Failed(String),
    /// Not there any more (deleted behind our back, or its TTL ran out).
    Gone,
}

fn api(k8s: &K8s) -> Api<Job> {
    Api::namespaced(k8s.client().clone(), OBSERVABILITY)
}

/// Creates the Job from its JSON manifest.
pub async fn create(k8s: &K8s, manifest: &serde_json::Value) -> Result<(), String> {
    let job: Job =
        serde_json::from_value(manifest.clone()).map_err(|e| format!("the load generator Job is not a Job: {e}"))?;
    let name = job.metadata.name.clone().unwrap_or_default();
    api(k8s)
        .create(&PostParams::default(), &job)
        .await
        .map(|_| ())
        .map_err(|e| format!("creating Job {OBSERVABILITY}/{name}: {e}"))
}

/// The Job's state, read from its status.
pub async fn state(k8s: &K8s, name: &str) -> Result<State, String> {
    let job = api(k8s)
        .get_opt(name)
        .await
        .map_err(|e| format!("reading Job {OBSERVABILITY}/{name}: {e}"))?;
    let Some(status) = job.map(|j| j.status.unwrap_or_default()) else {
        return Ok(State::Gone);
    };
    for c in status.conditions.iter().flatten() {
        if c.status != "True" {
            continue;
        }
        match c.type_.as_str() {
            "Complete" => return Ok(State::Completed),
            "Failed" => {
                let why = c.message.clone().or(c.reason.clone()).unwrap_or_default();
                return Ok(State::Failed(why));
            }
            _ => {}
        }
    }
    if status.succeeded.unwrap_or(0) > 0 {
        return Ok(State::Completed);
    }
    // `ready` (GA since Kubernetes 1.29): a pod whose containers run. `active` alone also counts a pod
    // still pulling its image, which would start the latency clock too early.
    if status.ready.unwrap_or(0) > 0 {
        return Ok(State::Running);
    }
    Ok(State::Pending)
}

/// Deletes the Job and, through background propagation, its pods; waits until the Job is gone
/// (at most `wait`). Already gone counts as removed.
pub async fn remove(k8s: &K8s, name: &str, wait: Duration) -> Result<(), String> {
    let what = format!("Job {OBSERVABILITY}/{name}");
    match api(k8s).delete(name, &DeleteParams::background()).await {
        Ok(_) => {}
        Err(e) if crate::k8s::error::api_code(&e) == Some(404) => return Ok(()),
        Err(e) => return Err(format!("deleting {what}: {e}")),
    }
    // The pace of the check; the Job's absence decides.
    let polled = crate::poll::until(Duration::from_millis(200), Instant::now() + wait, || async {
        match api(k8s).get_opt(name).await {
            Ok(None) => Ok(crate::poll::Step::Done(())),
            Ok(Some(_)) => Ok(crate::poll::Step::Pending(())),
            Err(e) => Err(format!("reading {what} after its deletion: {e}")),
        }
    })
    .await?;
    polled.map_err(|_| format!("{what} is still there {}s after its deletion", wait.as_secs()))
}
