//! The answers of the simulated data path's stand-ins, as the real APIs shape them: Prometheus'
//! `/api/v1/query` and `/api/v1/alerts`, Loki's `/loki/api/v1/query_range`, Tempo's `/ready`,
//! `/api/search` and `/api/traces/{id}`, the gateway's health check, and an agent's OTLP/HTTP intake.
//! Queries are evaluated over the hub's stores; one outside the understood subset is answered as a bad
//! query (Prometheus 400 `bad_data`, Loki 400, Tempo 400), so a wrong query fails where it is sent.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::data_path::Shared;
use super::data_query::promql_eval::{self, Value as PromValue};
use super::data_query::{logql, parse_error, promql, traceql};
use super::data_sources::{gateway_pods, now_ns};
use super::data_store::{Labels, Span, Store};
use super::http::{Handler, Reply, Request};
use super::otlp_intake::{Stamp, ingest};
use super::world::lock;

pub(crate) fn not_found() -> Reply {
    Reply::new(404).set_body_string("404 page not found")
}

/// A Prometheus sample value as Go's `strconv.FormatFloat(v, 'f', -1, 64)` spells it.
fn number(v: f64) -> String {
    match v {
        v if v.is_nan() => "NaN".into(),
        v if v == f64::INFINITY => "+Inf".into(),
        v if v == f64::NEG_INFINITY => "-Inf".into(),
        v => v.to_string(),
    }
}

fn prom_error(status: u16, kind: &str, message: String) -> Reply {
    Reply::new(status).set_body_json(json!({"status": "error", "errorType": kind, "error": message}))
}

/// Prometheus: instant queries evaluated over the stored series, and the alerts a scenario set.
pub(crate) struct Prometheus(pub(crate) Arc<Shared>);

impl Handler for Prometheus {
    fn handle(&self, req: &Request) -> Reply {
        self.answer(req).set_delay(*lock(&self.0.answer_delay))
    }
}

impl Prometheus {
    fn answer(&self, req: &Request) -> Reply {
        prometheus_api(&self.0, req.url.path(), req, &|| self.0.store())
    }
}

/// Prometheus' HTTP API at `path` over the series `store` gives: Prometheus' own, and Mimir's under its
/// `/prometheus` prefix.
pub(crate) fn prometheus_api(shared: &Shared, path: &str, req: &Request, store: &dyn Fn() -> Store) -> Reply {
    match path {
        "/api/v1/alerts" => {
            let alerts = lock(&shared.alerts).clone();
            return Reply::new(200).set_body_json(json!({"status": "success", "data": {"alerts": alerts}}));
        }
        "/api/v1/query" => {}
        _ => return not_found(),
    }
    let q = req.query("query");
    // What is stored first, then the time: samples taken as the store was read are in the past.
    let store = store();
    let now = now_ns() as f64 / 1e9;
    let at = match req.query("time") {
        t if t.is_empty() => now,
        t => match t.parse::<f64>() {
            Ok(t) => t,
            Err(_) => {
                return prom_error(
                    400,
                    "bad_data",
                    format!("invalid parameter \"time\": cannot parse {t:?}"),
                );
            }
        },
    };
    let expr = match promql::parse(&q) {
        Ok(e) => e,
        Err(e) => {
            return prom_error(
                400,
                "bad_data",
                format!("invalid parameter \"query\": {}", parse_error(e)),
            );
        }
    };
    let data = match promql_eval::eval(&store, &expr, at) {
        Err(e) => return prom_error(422, "execution", e),
        Ok(PromValue::Scalar(v)) => json!({"resultType": "scalar", "result": [at, number(v)]}),
        Ok(PromValue::Vector(v)) => {
            let result: Vec<Value> = v
                .into_iter()
                .map(|s| json!({"metric": s.labels, "value": [at, number(s.value)]}))
                .collect();
            json!({"resultType": "vector", "result": result})
        }
    };
    Reply::new(200).set_body_json(json!({"status": "success", "data": data}))
}

/// A nanosecond parameter (`start`, `end`), or `default` when absent.
fn ns_param(req: &Request, key: &str, default: u128) -> Result<u128, String> {
    match req.query(key) {
        v if v.is_empty() => Ok(default),
        v => v
            .parse()
            .map_err(|_| format!("invalid {key}: cannot parse {v:?} as nanoseconds")),
    }
}

/// Loki: log queries evaluated over the stored streams.
pub(crate) struct Loki(pub(crate) Arc<Shared>);

impl Handler for Loki {
    fn handle(&self, req: &Request) -> Reply {
        self.answer(req).set_delay(*lock(&self.0.answer_delay))
    }
}

impl Loki {
    fn answer(&self, req: &Request) -> Reply {
        match req.url.path() {
            "/ready" => return Reply::new(200).set_body_string("ready"),
            "/loki/api/v1/query_range" => {}
            _ => return not_found(),
        }
        let bad = |m: String| Reply::new(400).set_body_string(m);
        let now = now_ns();
        let end = match ns_param(req, "end", now) {
            Ok(e) => e,
            Err(e) => return bad(e),
        };
        let start = match ns_param(req, "start", end.saturating_sub(3_600_000_000_000)) {
            Ok(s) => s,
            Err(e) => return bad(e),
        };
        let limit = match req.query("limit") {
            l if l.is_empty() => 100,
            l => match l.parse::<usize>() {
                Ok(l) => l,
                Err(_) => return bad(format!("invalid limit: {l:?}")),
            },
        };
        // Loki's own limits (max_entries_limit_per_query's default) and checks.
        if limit > 5000 {
            return bad(format!(
                "max entries limit per query exceeded, limit > max_entries_limit_per_query ({limit} > 5000)"
            ));
        }
        if end <= start {
            return bad("end timestamp must not be before or equal to start time".into());
        }
        let backward = req.query("direction") != "forward";
        let query = match logql::parse(&req.query("query")) {
            Ok(q) => q,
            Err((at, msg)) => return bad(format!("parse error at line 1, col {}: {msg}", at + 1)),
        };
        let result: Vec<Value> = query
            .eval(&self.0.store(), start, end, limit, backward)
            .into_iter()
            .map(|(labels, entries)| {
                let values: Vec<Value> = entries
                    .into_iter()
                    .map(|(ns, line)| json!([ns.to_string(), line]))
                    .collect();
                json!({"stream": labels, "values": values})
            })
            .collect();
        Reply::new(200).set_body_json(json!({"status": "success",
            "data": {"resultType": "streams", "result": result, "stats": {}}}))
    }
}

fn attributes(l: &Labels) -> Vec<Value> {
    l.iter()
        .map(|(k, v)| json!({"key": k, "value": {"stringValue": v}}))
        .collect()
}

/// The spans of each trace, by id.
fn traces(spans: Vec<Span>) -> BTreeMap<String, Vec<Span>> {
    let mut out: BTreeMap<String, Vec<Span>> = BTreeMap::new();
    for s in spans {
        out.entry(s.trace_id.clone()).or_default().push(s);
    }
    out
}

/// Tempo: ready, TraceQL searches and traces by id over the stored spans.
pub(crate) struct Tempo(pub(crate) Arc<Shared>);

impl Tempo {
    fn search(&self, req: &Request) -> Reply {
        let bad = |m: String| Reply::new(400).set_body_string(m);
        if !req.query("tags").is_empty() {
            return bad("the simulated Tempo searches with TraceQL (q=) only".into());
        }
        let q = req.query("q");
        let filter = match traceql::parse(if q.is_empty() { "{}" } else { &q }) {
            Ok(f) => f,
            Err((at, msg)) => {
                return bad(format!(
                    "invalid TraceQL query: parse error at line 1, col {}: {msg}",
                    at + 1
                ));
            }
        };
        let secs = |key: &str, default: u128| match req.query(key) {
            v if v.is_empty() => Ok(default),
            v => v.parse::<u128>().map_err(|_| format!("invalid {key}: {v:?}")),
        };
        let now_s = now_ns() / 1_000_000_000;
        let (start, end) = match (secs("start", 0), secs("end", now_s + 1)) {
            (Ok(s), Ok(e)) => (s * 1_000_000_000, e * 1_000_000_000),
            (Err(e), _) | (_, Err(e)) => return bad(e),
        };
        let limit = req.query("limit").parse::<usize>().unwrap_or(20);
        let mut found: Vec<Value> = traces(self.0.store().spans)
            .into_iter()
            .filter(|(_, spans)| spans.iter().any(|s| filter.matches(s)))
            .filter_map(|(id, spans)| {
                let root = spans.iter().min_by_key(|s| s.start_ns)?;
                (root.start_ns >= start && root.start_ns <= end).then(|| {
                    json!({"traceID": id, "rootServiceName": root.resource.get("service.name").cloned().unwrap_or_default(),
                        "rootTraceName": root.name, "startTimeUnixNano": root.start_ns.to_string()})
                })
            })
            .collect();
        found.sort_by(|a, b| b["startTimeUnixNano"].as_str().cmp(&a["startTimeUnixNano"].as_str()));
        found.truncate(limit);
        Reply::new(200).set_body_json(json!({"traces": found, "metrics": {"completedJobs": 1, "totalJobs": 1}}))
    }

    fn trace(&self, id: &str) -> Reply {
        if id.is_empty() || id.len() > 32 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Reply::new(400).set_body_string(format!("invalid trace id {id:?}"));
        }
        let id = format!("{:0>32}", id.to_lowercase());
        let Some(spans) = traces(self.0.store().spans).remove(&id) else {
            return Reply::new(404).set_body_string("trace not found");
        };
        let mut by_resource: BTreeMap<Labels, Vec<Value>> = BTreeMap::new();
        for s in spans {
            by_resource
                .entry(s.resource.clone())
                .or_default()
                .push(json!({"traceId": s.trace_id, "name": s.name,
                "startTimeUnixNano": s.start_ns.to_string(), "attributes": attributes(&s.attributes)}));
        }
        let batches: Vec<Value> = by_resource
            .into_iter()
            .map(|(r, spans)| json!({"resource": {"attributes": attributes(&r)}, "scopeSpans": [{"spans": spans}]}))
            .collect();
        Reply::new(200).set_body_json(json!({"batches": batches}))
    }
}

impl Handler for Tempo {
    fn handle(&self, req: &Request) -> Reply {
        let delay = *lock(&self.0.answer_delay);
        match req.url.path() {
            "/ready" => {
                let mut unready = lock(&self.0.tempo_unready);
                if *unready > 0 {
                    *unready -= 1;
                    Reply::new(503).set_body_string("Ingester not ready: waiting for 15s after being ready")
                } else {
                    Reply::new(200).set_body_string("ready")
                }
            }
            "/api/search" => self.search(req),
            path => match path.strip_prefix("/api/traces/") {
                Some(id) => self.trace(id),
                None => not_found(),
            },
        }
        .set_delay(delay)
    }
}

/// The gateway's health check extension.
pub(crate) struct Gateway(pub(crate) Arc<Shared>);

impl Handler for Gateway {
    fn handle(&self, _req: &Request) -> Reply {
        Reply::new(200)
            .set_body_json(json!({"status": "Server available", "upSince": "2025-01-01T00:00:00Z", "uptime": "1h"}))
            .set_delay(*lock(&self.0.answer_delay))
    }
}

/// An agent's OTLP/HTTP intake on one cluster: takes everything (as a real agent does, whatever
/// happens downstream); what it took reaches the hub's stores only while the cluster's data does.
pub(crate) struct Agent {
    pub(crate) shared: Arc<Shared>,
    pub(crate) label: String,
}

impl Handler for Agent {
    fn handle(&self, req: &Request) -> Reply {
        let Some(signal) = req.url.path().strip_prefix("/v1/") else {
            return not_found();
        };
        if req.method != http::Method::POST || !matches!(signal, "traces" | "logs" | "metrics") {
            return not_found();
        }
        // The OTLP/HTTP receiver takes JSON or protobuf and answers 415 to anything else; this
        // stand-in reads JSON only.
        let json = req
            .header("content-type")
            .is_some_and(|c| c.split(';').next().is_some_and(|m| m.trim() == "application/json"));
        if !json {
            return Reply::new(415).set_body_string("415 unsupported media type, supported: [application/json]");
        }
        let Ok(payload) = serde_json::from_slice::<Value>(&req.body) else {
            return Reply::new(400).set_body_json(json!({"code": 3, "message": "the body is not OTLP/JSON"}));
        };
        let all = self.shared.clusters();
        let sending = self.shared.sending_of(&all);
        if let Some(me) = sending.iter().find(|s| s.label == self.label) {
            let pods = self
                .shared
                .hub_api(&all, &me.fleet)
                .map(|h| gateway_pods(&h))
                .unwrap_or_default();
            let stamp = Stamp {
                cluster: &me.name,
                role: if me.hub { "hub" } else { "edge" },
                label: &me.label,
                pod: pods.first().map_or(crate::objects::GATEWAY.name, String::as_str),
            };
            let mut items = super::data_store::Store::default();
            ingest(signal, &payload, &stamp, &mut items);
            self.shared.take(items);
        }
        Reply::new(200).set_body_json(json!({}))
    }
}
