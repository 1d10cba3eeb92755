//! OTLP/HTTP JSON payloads taken by a simulated agent, stored at the hub as its backends would store
//! them once the gateway stamped them: the sender's `cluster.id`/`cluster.role`/`k8s.cluster.name` and
//! `hub.received_at`, then Prometheus' translation (dots to underscores, resource attributes as labels,
//! `service.name` as `job`), Loki's (index labels, the rest structured metadata) and Tempo's (spans).

use serde_json::Value;

use super::data_store::{Entry, Labels, Span, Store};

/// Who sent a payload and which gateway replica received it.
pub(crate) struct Stamp<'a> {
    pub cluster: &'a str,
    pub role: &'a str,
    pub label: &'a str,
    /// The gateway pod (on logs and traces).
    pub pod: &'a str,
}

/// Loki's index labels among resource attributes: its OTLP defaults used here plus the stack's own.
const INDEX: [&str; 5] = [
    "service.name",
    "k8s.namespace.name",
    "k8s.pod.name",
    "cluster.id",
    "cluster.role",
];

/// A name as Prometheus and Loki spell it: everything but letters, digits and `_` becomes `_`.
pub(crate) fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .collect()
}

fn value_text(v: &Value) -> Option<String> {
    let (kind, x) = v.as_object()?.iter().next()?;
    match kind.as_str() {
        "stringValue" => x.as_str().map(str::to_string),
        "intValue" => Some(x.as_str().map_or_else(|| x.to_string(), str::to_string)),
        "boolValue" | "doubleValue" => Some(x.to_string()),
        _ => None,
    }
}

/// The string forms of an OTLP attribute list.
fn attributes(v: &Value) -> Labels {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| Some((a["key"].as_str()?.to_string(), value_text(&a["value"])?)))
        .collect()
}

fn nanos(v: &Value) -> u128 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_u64().map(u128::from))
        .unwrap_or_default()
}

fn resource(v: &Value, stamp: &Stamp<'_>, metrics: bool) -> Labels {
    let mut r = attributes(&v["resource"]["attributes"]);
    for (k, x) in [
        ("cluster.id", stamp.cluster),
        ("cluster.role", stamp.role),
        ("k8s.cluster.name", stamp.label),
        ("hub.received_at", if metrics { "otel-gateway" } else { stamp.pod }),
    ] {
        r.insert(k.to_string(), x.to_string());
    }
    r
}

fn items<'a>(v: &'a Value, outer: &str, inner: &str) -> impl Iterator<Item = &'a Value> {
    v[outer]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(move |x| x[inner].as_array().into_iter().flatten())
}

/// Stores what a `POST /v1/<signal>` carried; the number of items stored.
pub(crate) fn ingest(signal: &str, payload: &Value, stamp: &Stamp<'_>, store: &mut Store) -> usize {
    let mut n = 0;
    match signal {
        "traces" => {
            for rs in payload["resourceSpans"].as_array().into_iter().flatten() {
                let res = resource(rs, stamp, false);
                for span in items(rs, "scopeSpans", "spans") {
                    store.span(Span {
                        trace_id: span["traceId"].as_str().unwrap_or_default().to_lowercase(),
                        name: span["name"].as_str().unwrap_or_default().to_string(),
                        start_ns: nanos(&span["startTimeUnixNano"]),
                        resource: res.clone(),
                        attributes: attributes(&span["attributes"]),
                    });
                    n += 1;
                }
            }
        }
        "logs" => {
            for rl in payload["resourceLogs"].as_array().into_iter().flatten() {
                let res = resource(rl, stamp, false);
                let (index, meta): (Labels, Labels) = res.into_iter().partition(|(k, _)| INDEX.contains(&k.as_str()));
                let index: Labels = index.into_iter().map(|(k, v)| (sanitize(&k), v)).collect();
                for rec in items(rl, "scopeLogs", "logRecords") {
                    let mut metadata: Labels = meta.iter().map(|(k, v)| (sanitize(k), v.clone())).collect();
                    metadata.extend(
                        attributes(&rec["attributes"])
                            .into_iter()
                            .map(|(k, v)| (sanitize(&k), v)),
                    );
                    for (field, key) in [("traceId", "trace_id"), ("spanId", "span_id")] {
                        if let Some(id) = rec[field].as_str().filter(|s| !s.is_empty()) {
                            metadata.insert(key.to_string(), id.to_string());
                        }
                    }
                    let ns = Some(nanos(&rec["timeUnixNano"]))
                        .filter(|t| *t > 0)
                        .unwrap_or_else(|| nanos(&rec["observedTimeUnixNano"]));
                    let line = value_text(&rec["body"]).unwrap_or_default();
                    store.log(index.clone(), Entry { ns, line, metadata });
                    n += 1;
                }
            }
        }
        _ => {
            for rm in payload["resourceMetrics"].as_array().into_iter().flatten() {
                let mut base = Labels::new();
                for (k, v) in resource(rm, stamp, true) {
                    let k = match k.as_str() {
                        "service.name" => "job".to_string(),
                        "service.instance.id" => "instance".to_string(),
                        _ => sanitize(&k),
                    };
                    base.insert(k, v);
                }
                for m in items(rm, "scopeMetrics", "metrics") {
                    let name = sanitize(m["name"].as_str().unwrap_or_default());
                    let points = ["gauge", "sum"]
                        .iter()
                        .flat_map(|kind| m[*kind]["dataPoints"].as_array().into_iter().flatten());
                    for p in points {
                        let mut labels = base.clone();
                        labels.extend(attributes(&p["attributes"]).into_iter().map(|(k, v)| (sanitize(&k), v)));
                        labels.insert("__name__".to_string(), name.clone());
                        let value = p["asDouble"]
                            .as_f64()
                            .or_else(|| p["asInt"].as_str().and_then(|s| s.parse().ok()))
                            .or_else(|| p["asInt"].as_f64())
                            .unwrap_or_default();
                        store.sample(labels, nanos(&p["timeUnixNano"]) as f64 / 1e9, value);
                        n += 1;
                    }
                }
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn translates_each_signal_as_the_hub_stores_it() {
        let stamp = Stamp {
            cluster: "us-east",
            role: "edge",
            label: "lkeobs-f-us-east",
            pod: "otel-gateway-0",
        };
        let attr = |k: &str, v: &str| json!({"key": k, "value": {"stringValue": v}});
        let resource = json!({"attributes": [attr("service.name", "svc")]});
        let mut st = Store::default();
        let logs = json!({"resourceLogs": [{"resource": resource, "scopeLogs": [{"logRecords": [
            {"timeUnixNano": "7", "body": {"stringValue": "hello"}, "attributes": [attr("run.id", "r1")], "traceId": "ab"}]}]}]});
        assert_eq!(ingest("logs", &logs, &stamp, &mut st), 1);
        let s = &st.streams[0];
        assert_eq!(s.labels["service_name"], "svc");
        assert_eq!(s.labels["cluster_id"], "us-east");
        assert!(
            !s.labels.contains_key("hub_received_at"),
            "structured metadata, not a label"
        );
        assert_eq!(s.entries[0].metadata["hub_received_at"], "otel-gateway-0");
        assert_eq!(s.entries[0].metadata["run_id"], "r1");
        assert_eq!((s.entries[0].ns, s.entries[0].line.as_str()), (7, "hello"));
        let metrics = json!({"resourceMetrics": [{"resource": resource, "scopeMetrics": [{"metrics": [
            {"name": "a.b", "gauge": {"dataPoints": [{"timeUnixNano": "2000000000", "asDouble": 1.5, "attributes": [attr("run.id", "r1")]}]}}]}]}]});
        assert_eq!(ingest("metrics", &metrics, &stamp, &mut st), 1);
        let m = &st.series[0];
        assert_eq!(m.labels["__name__"], "a_b");
        assert_eq!(m.labels["job"], "svc");
        assert_eq!(m.labels["run_id"], "r1");
        assert_eq!(m.labels["hub_received_at"], "otel-gateway");
        assert_eq!(m.samples, vec![(2.0, 1.5)]);
        let traces = json!({"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [
            {"traceId": "AB", "name": "s", "startTimeUnixNano": "3", "attributes": [attr("run.id", "r1")]}]}]}]});
        assert_eq!(ingest("traces", &traces, &stamp, &mut st), 1);
        assert_eq!(st.spans[0].trace_id, "ab");
        assert_eq!(st.spans[0].resource["cluster.id"], "us-east");
        assert_eq!(st.spans[0].attributes["run.id"], "r1");
    }
}
