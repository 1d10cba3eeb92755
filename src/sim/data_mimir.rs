//! Mimir's stand-in on the pods of an `ha` hub's `monitoring/mimir` (HTTP 8080): Prometheus' query API under
//! `/prometheus` (the Prometheus stand-in's own handler), `/ready`, the ingester ring. Mimir scrapes nothing:
//! it holds what the gateway remote-writes to it, and the gateway's own metrics only when the hub's
//! otel-scraper scrapes them and sends them through the gateway.

use std::sync::Arc;

use super::data_answers::{not_found, prometheus_api};
use super::data_engine_storage::default_tenant;
use super::data_engines::{Engine, deployed};
use super::data_feeds::{feed, gateway_scrape_labels};
use super::data_path::Shared;
use super::data_store::Store;
use super::http::{Handler, Reply, Request};
use super::kube::KubeApi;
use super::world::lock;
use crate::objects;

/// The tenant Mimir stores what the gateway writes under, if it takes the gateway's writes at all:
/// `no_auth_tenant` without multitenancy, else the `X-Scope-OrgID` the exporter sends (none: 401).
pub(crate) fn written_tenant(hub: &KubeApi) -> Option<String> {
    let config = deployed(hub, Engine::Mimir).ok()?.config;
    let fed = feed(hub, Engine::Mimir)?;
    default_tenant(Engine::Mimir, &config).or(fed.tenant)
}

/// What Mimir on `hub` holds for `tenant`: what the gateway sends it when it sends to Mimir (the gateway's
/// own series only when the hub's scraper scrapes them, labelled as that scraper labels them); a
/// scenario's seeded data either way.
pub(crate) fn mimir_store(shared: &Shared, hub: &KubeApi, tenant: &str) -> Store {
    let seeded = || lock(&shared.seeded).clone();
    let fallback = deployed(hub, Engine::Mimir)
        .ok()
        .and_then(|d| default_tenant(Engine::Mimir, &d.config));
    match written_tenant(hub) {
        Some(t) if t == tenant => {}
        None if fallback.as_deref() == Some(tenant) => return seeded(),
        _ => return Store::default(),
    }
    let scrape = gateway_scrape_labels(hub);
    let mut store = shared.store_with(scrape.is_some());
    for series in &mut store.series {
        let own = series.labels.get("job").is_some_and(|j| j == objects::GATEWAY.name)
            && series.labels.get("__name__").is_some_and(|n| n.starts_with("otelcol_"));
        if own {
            for (k, v) in scrape.iter().flatten() {
                series.labels.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    store
}

/// Mimir on one cluster's pods.
pub(crate) struct Mimir {
    pub shared: Arc<Shared>,
    pub label: String,
}

impl Mimir {
    /// The tenant a query reads: `no_auth_tenant` without multitenancy, else its `X-Scope-OrgID`.
    fn tenant(hub: &KubeApi, req: &Request) -> Result<String, Reply> {
        let config = deployed(hub, Engine::Mimir).map(|d| d.config).unwrap_or_default();
        match default_tenant(Engine::Mimir, &config) {
            Some(t) => Ok(t),
            None => req
                .header("x-scope-orgid")
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .ok_or_else(|| Reply::new(401).set_body_string("no org id")),
        }
    }

    fn answer(&self, req: &Request) -> Reply {
        let hub = lock(&self.shared.apis).get(&self.label).cloned();
        let path = req.url.path();
        if path == "/ready" {
            return Reply::new(200).set_body_string("ready");
        }
        let Some(hub) = hub else {
            return not_found();
        };
        if path == Engine::Mimir.ring_path() {
            return super::data_rings::ring_page(&hub, Engine::Mimir, req);
        }
        let Some(rest) = path
            .strip_prefix(objects::MIMIR_PROMETHEUS_PREFIX)
            .filter(|r| r.starts_with('/'))
        else {
            return not_found();
        };
        match Self::tenant(&hub, req) {
            Err(reply) => reply,
            Ok(tenant) => prometheus_api(&self.shared, rest, req, &|| mimir_store(&self.shared, &hub, &tenant)),
        }
    }
}

impl Handler for Mimir {
    fn handle(&self, req: &Request) -> Reply {
        self.answer(req).set_delay(*lock(&self.shared.answer_delay))
    }
}
