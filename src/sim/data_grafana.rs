//! Grafana on the simulated hub, for a person who follows `up`'s advice
//! (`kubectl port-forward svc/grafana 3000:3000`): its health API answers as Grafana's does, and any
//! other page says that this Grafana is simulated and has no dashboards to show.

use serde_json::json;

use super::http::{Handler, Reply, Request};

/// The stand-in behind every Grafana pod's port 3000.
pub(crate) struct Grafana;

impl Handler for Grafana {
    fn handle(&self, req: &Request) -> Reply {
        match req.url.path() {
            "/api/health" => Reply::new(200).set_body_json(json!({"database": "ok", "version": "simulated"})),
            _ => Reply::new(200).set_body_raw(
                "<!doctype html><title>Grafana (lkeobs sim)</title><p>This Grafana is simulated by <code>lkeobs sim</code>: \
                 the port-forward works, but no Grafana runs here, so there are no dashboards to show.</p>\n",
                "text/html; charset=utf-8",
            ),
        }
    }
}
