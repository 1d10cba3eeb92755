//! The canary's OTLP/HTTP JSON payloads (a span, a log record, a gauge point) with a unique run id, in
//! the OTLP JSON encoding: lowerCamelCase keys, hex ids, integer enums, nanoseconds as decimal strings.

use serde_json::{Value, json};

/// The canary's `service.name` (Loki's `service_name` label, Prometheus' `job`).
pub const SERVICE: &str = "lkeobs-canary";
/// The attribute carrying the run id (`lkeobs_canary_id` in Loki and Prometheus).
pub const ID_ATTRIBUTE: &str = crate::objects::CANARY_ID_ATTRIBUTE;
/// The gauge's OTLP name; Prometheus calls it `lkeobs_canary` (no unit, so no suffix).
pub const METRIC: &str = "lkeobs.canary";

/// One canary: ids and the time it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canary {
    /// 16 hex characters, unique per run and edge.
    pub run_id: String,
    /// 32 lowercase hex characters (16 bytes), never all zero.
    pub trace_id: String,
    /// 16 lowercase hex characters (8 bytes), never all zero.
    pub span_id: String,
    /// Unix nanoseconds.
    pub time_ns: u128,
}

fn random_hex(bytes: usize) -> String {
    loop {
        let s: String = (0..bytes).map(|_| format!("{:02x}", fastrand::u8(..))).collect();
        if s.chars().any(|c| c != '0') {
            return s;
        }
    }
}

fn string_attr(key: &str, value: &str) -> Value {
    json!({"key": key, "value": {"stringValue": value}})
}

impl Canary {
    /// A canary with fresh random ids, stamped `time_ns`.
    pub fn new(time_ns: u128) -> Canary {
        Canary {
            run_id: random_hex(8),
            trace_id: random_hex(16),
            span_id: random_hex(8),
            time_ns,
        }
    }

    /// The canary's resource. Only the span's carries the run id too: on logs and metrics the id
    /// is a record/point attribute, and a resource attribute of the same name would become a second
    /// `lkeobs_canary_id` (Loki structured metadata; a Prometheus label, whose duplicate values the
    /// remote-write translation joins with `;`).
    fn resource(&self, with_id: bool) -> Value {
        let mut attributes = vec![string_attr("service.name", SERVICE)];
        if with_id {
            attributes.push(string_attr(ID_ATTRIBUTE, &self.run_id));
        }
        json!({ "attributes": attributes })
    }

    fn scope() -> Value {
        json!({"name": "lkeobs", "version": env!("CARGO_PKG_VERSION")})
    }

    /// `POST /v1/traces`: one server span of one second, ending now.
    pub fn traces(&self) -> Value {
        let start = self.time_ns.saturating_sub(1_000_000_000);
        json!({"resourceSpans": [{
            "resource": self.resource(true),
            "scopeSpans": [{
                "scope": Canary::scope(),
                "spans": [{
                    "traceId": self.trace_id,
                    "spanId": self.span_id,
                    "name": "lkeobs-canary",
                    "kind": 2,
                    "startTimeUnixNano": start.to_string(),
                    "endTimeUnixNano": self.time_ns.to_string(),
                    "attributes": [string_attr(ID_ATTRIBUTE, &self.run_id)],
                    "status": {"code": 1}
                }]
            }]
        }]})
    }

    /// `POST /v1/logs`: one INFO record correlated with the span.
    pub fn logs(&self) -> Value {
        let t = self.time_ns.to_string();
        json!({"resourceLogs": [{
            "resource": self.resource(false),
            "scopeLogs": [{
                "scope": Canary::scope(),
                "logRecords": [{
                    "timeUnixNano": t,
                    "observedTimeUnixNano": t,
                    "severityNumber": 9,
                    "severityText": "INFO",
                    "body": {"stringValue": format!("lkeobs canary {}", self.run_id)},
                    "attributes": [string_attr(ID_ATTRIBUTE, &self.run_id)],
                    "traceId": self.trace_id,
                    "spanId": self.span_id
                }]
            }]
        }]})
    }

    /// `POST /v1/metrics`: one gauge point (the remote-write exporter drops delta sums).
    pub fn metrics(&self) -> Value {
        json!({"resourceMetrics": [{
            "resource": self.resource(false),
            "scopeMetrics": [{
                "scope": Canary::scope(),
                "metrics": [{
                    "name": METRIC,
                    "description": "lkeobs verify --canary",
                    "unit": "",
                    "gauge": {"dataPoints": [{
                        "timeUnixNano": self.time_ns.to_string(),
                        "asDouble": 1.0,
                        "attributes": [string_attr(ID_ATTRIBUTE, &self.run_id)]
                    }]}
                }]
            }]
        }]})
    }
}

/// Items an OTLP/HTTP answer says it rejected (`partialSuccess.rejected*`, int64 as string or number).
pub fn rejected(answer: &[u8]) -> Option<(u64, String)> {
    let v: Value = serde_json::from_slice(answer).ok()?;
    let p = v.get("partialSuccess")?;
    let n = ["rejectedSpans", "rejectedLogRecords", "rejectedDataPoints"]
        .iter()
        .filter_map(|k| p.get(*k))
        .filter_map(|x| x.as_u64().or_else(|| x.as_str().and_then(|s| s.parse().ok())))
        .sum::<u64>();
    let message = p.get("errorMessage").and_then(Value::as_str).unwrap_or_default();
    (n > 0 || !message.is_empty()).then(|| (n, message.to_string()))
}

#[cfg(test)]
mod tests;
