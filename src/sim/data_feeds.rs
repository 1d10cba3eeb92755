//! What reaches each storage engine, read from the hub's deployed collectors: which gateway exporter
//! delivers to the engine (its endpoint's Service selects the engine's pods, on a path the engine takes),
//! with which tenant header; whether the hub's otel-scraper scrapes the gateway's own metrics.

use serde_yaml_ng::Value as Yaml;

use super::data_engines::{Engine, statefulset};
use super::data_policies::pod_peer;
use super::kube::KubeApi;
use crate::objects;

/// The gateway's own metrics port (its `telemetry.metrics` Prometheus reader).
const GATEWAY_METRICS_PORT: u16 = 8888;

/// A collector's deployed config (its ConfigMap's `config.yaml`).
pub(crate) fn collector_config(api: &KubeApi, named: objects::Named) -> Option<Yaml> {
    let cm = api.get("v1", "ConfigMap", Some(named.namespace), named.name)?;
    serde_yaml_ng::from_str(cm["data"]["config.yaml"].as_str()?).ok()
}

/// The gateway exporter that delivers to an engine.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Feed {
    /// The exporter's id (`prometheus_remote_write`).
    pub exporter: String,
    /// The `X-Scope-OrgID` header it sends, if any.
    pub tenant: Option<String>,
}

/// Whether the in-cluster Service `host` names selects the pods of the engine's StatefulSet.
fn selects(hub: &KubeApi, host: &str, engine: Engine) -> bool {
    let Some(service) = host.strip_suffix(".svc.cluster.local").or(host.strip_suffix(".svc")) else {
        return false;
    };
    let Some((name, namespace)) = service.split_once('.') else {
        return false;
    };
    let (Some(svc), Some(sts)) = (
        hub.get("v1", "Service", Some(namespace), name),
        statefulset(hub, engine),
    ) else {
        return false;
    };
    let labels = &sts["spec"]["template"]["metadata"]["labels"];
    let selector = svc["spec"]["selector"].as_object().cloned().unwrap_or_default();
    namespace == engine.named().namespace && !selector.is_empty() && selector.iter().all(|(k, v)| labels[k] == *v)
}

/// Whether the engine takes this signal's writes at the endpoint's path.
fn takes(engine: Engine, endpoint: &str) -> bool {
    let path = endpoint
        .split_once("://")
        .map_or("", |(_, rest)| rest.find('/').map_or("", |i| &rest[i..]));
    let path = path.trim_end_matches('/');
    match engine {
        Engine::Mimir => matches!(path, "/api/v1/push" | "/otlp"),
        Engine::Loki => matches!(path, "/otlp" | "/loki/api/v1/push"),
        Engine::Tempo => true,
    }
}

/// The gateway exporter that delivers to `engine` on `hub`, if one does.
pub(crate) fn feed(hub: &KubeApi, engine: Engine) -> Option<Feed> {
    let config = collector_config(hub, objects::GATEWAY)?;
    let exporters = config.get("exporters")?.as_mapping()?;
    exporters.iter().find_map(|(id, e)| {
        let endpoint = e.get("endpoint")?.as_str()?;
        let (host, _) = super::data_endpoints::host_port(endpoint)?;
        if !selects(hub, &host, engine) || !takes(engine, endpoint) {
            return None;
        }
        let tenant = e.get("headers").and_then(|h| h.as_mapping()).and_then(|h| {
            h.iter()
                .find(|(k, _)| k.as_str().is_some_and(|k| k.eq_ignore_ascii_case("x-scope-orgid")))
                .and_then(|(_, v)| v.as_str().map(str::to_string))
        });
        Some(Feed {
            exporter: id.as_str()?.to_string(),
            tenant,
        })
    })
}

/// Whether the NetworkPolicies let pod `from` open a TCP connection to pod `to` on `port`.
fn pod_to_pod(hub: &KubeApi, from: &serde_json::Value, to: &serde_json::Value, port: u16) -> bool {
    use super::netpol::{Direction, allows};
    let pols = hub.list("networking.k8s.io/v1", "NetworkPolicy");
    let (a, b) = (pod_peer(hub, from), pod_peer(hub, to));
    allows(&pols, Direction::Egress, &a, &b, port, "TCP") && allows(&pols, Direction::Ingress, &b, &a, port, "TCP")
}

/// The labels the hub's otel-scraper puts on what it scrapes from the gateway pods (`job="otel-gateway"`,
/// the upserts of its `resource` processors as labels), when it runs with such a scrape job and the
/// NetworkPolicies let it reach a gateway pod's metrics port (8888).
pub(crate) fn gateway_scrape_labels(hub: &KubeApi) -> Option<Vec<(String, String)>> {
    let scraper = objects::Named {
        namespace: objects::OBSERVABILITY,
        name: "otel-scraper",
    };
    let scraper_pod = super::data_links::first_running(hub, scraper.namespace, scraper.name)?;
    let gateway = super::data_links::first_running(hub, objects::GATEWAY.namespace, objects::GATEWAY.name)?;
    if !pod_to_pod(hub, &scraper_pod, &gateway, GATEWAY_METRICS_PORT) {
        return None;
    }
    let config = collector_config(hub, scraper)?;
    let jobs = config
        .get("receivers")?
        .get("prometheus")?
        .get("config")?
        .get("scrape_configs")?
        .as_sequence()?;
    jobs.iter()
        .find(|j| j.get("job_name").and_then(Yaml::as_str) == Some("otel-gateway"))?;
    let mut labels = Vec::new();
    for (id, p) in config
        .get("processors")
        .and_then(Yaml::as_mapping)
        .into_iter()
        .flatten()
    {
        if id.as_str().is_none_or(|id| id.split('/').next() != Some("resource")) {
            continue;
        }
        for a in p.get("attributes").and_then(Yaml::as_sequence).into_iter().flatten() {
            let action = a.get("action").and_then(Yaml::as_str).unwrap_or_default();
            let (Some(key), Some(value)) = (a.get("key").and_then(Yaml::as_str), a.get("value")) else {
                continue;
            };
            let value = match value {
                Yaml::String(s) => s.clone(),
                other => serde_yaml_ng::to_string(other).unwrap_or_default().trim().to_string(),
            };
            if matches!(action, "upsert" | "insert") {
                labels.push((super::otlp_intake::sanitize(key), value));
            }
        }
    }
    Some(labels)
}
