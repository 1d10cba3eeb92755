//! A live cluster's stack as `up` applies it and `plan` compares it: rendered as offline, plus what only
//! the cluster can tell (where its API server really listens; whether a metrics API serves it, and
//! whose). Shared by `plan` and `up`.

use crate::fleet::{Cluster, Fleet};
use crate::k8s::K8s;
use crate::objects::MetricsApi;
use crate::stack::{Inputs, RenderedCluster, Renderer};

/// Renders `cluster`'s stack for the live cluster behind `k8s`. A stack that runs a
/// HorizontalPodAutoscaler gets lkeobs' metrics-server unless the cluster serves someone else's
/// metrics API (one GET of its APIService; none for a stack without an HPA). Returns the
/// rendering and the metrics API the cluster was found to have (`inputs`' when not asked). The egress
/// policies name the API server's real addresses (one GET of the `kubernetes` Endpoints).
pub async fn render(
    k8s: &K8s,
    renderer: &Renderer,
    fleet: &Fleet,
    cluster: &Cluster,
    inputs: &Inputs,
) -> Result<(RenderedCluster, MetricsApi), crate::Error> {
    let inputs = &Inputs {
        api_server: k8s.api_server_endpoints().await?,
        ..inputs.clone()
    };
    let rendered = renderer.render(fleet, cluster, inputs)?;
    if !rendered.runs_hpa {
        return Ok((rendered, inputs.metrics_api));
    }
    let found = k8s.metrics_api(fleet.name()).await?;
    if found == inputs.metrics_api {
        return Ok((rendered, found));
    }
    let inputs = Inputs {
        metrics_api: found,
        ..inputs.clone()
    };
    Ok((renderer.render(fleet, cluster, &inputs)?, found))
}
