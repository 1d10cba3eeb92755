//! The canary payloads checked against the OTLP JSON encoding (opentelemetry-proto
//! `docs/specification.md` § JSON Protobuf Encoding): every key a lowerCamelCase proto field of its
//! message, ids as hex (not base64), enums as integers, 64-bit nanosecond timestamps as decimal strings.

use super::*;

#[derive(Clone, Copy)]
enum Field {
    Str,
    /// Hex of this many bytes.
    Hex(usize),
    /// fixed64 nanoseconds: a decimal string.
    Nanos,
    /// An enum: a JSON integer.
    Enum,
    UInt,
    Double,
    Msg(&'static str),
    Rep(&'static str),
    Any,
}

use Field::*;

/// The fields of each message the canary uses (opentelemetry-proto v1).
fn schema(message: &str) -> &'static [(&'static str, Field)] {
    match message {
        "ExportTraceServiceRequest" => &[("resourceSpans", Rep("ResourceSpans"))],
        "ExportLogsServiceRequest" => &[("resourceLogs", Rep("ResourceLogs"))],
        "ExportMetricsServiceRequest" => &[("resourceMetrics", Rep("ResourceMetrics"))],
        "Resource" => &[("attributes", Rep("KeyValue")), ("droppedAttributesCount", UInt)],
        "InstrumentationScope" => &[
            ("name", Str),
            ("version", Str),
            ("attributes", Rep("KeyValue")),
            ("droppedAttributesCount", UInt),
        ],
        "KeyValue" => &[("key", Str), ("value", Any)],
        "ResourceSpans" => &[
            ("resource", Msg("Resource")),
            ("scopeSpans", Rep("ScopeSpans")),
            ("schemaUrl", Str),
        ],
        "ScopeSpans" => &[
            ("scope", Msg("InstrumentationScope")),
            ("spans", Rep("Span")),
            ("schemaUrl", Str),
        ],
        "Span" => &[
            ("traceId", Hex(16)),
            ("spanId", Hex(8)),
            ("traceState", Str),
            ("parentSpanId", Hex(8)),
            ("flags", UInt),
            ("name", Str),
            ("kind", Enum),
            ("startTimeUnixNano", Nanos),
            ("endTimeUnixNano", Nanos),
            ("attributes", Rep("KeyValue")),
            ("droppedAttributesCount", UInt),
            ("status", Msg("Status")),
        ],
        "Status" => &[("message", Str), ("code", Enum)],
        "ResourceLogs" => &[
            ("resource", Msg("Resource")),
            ("scopeLogs", Rep("ScopeLogs")),
            ("schemaUrl", Str),
        ],
        "ScopeLogs" => &[
            ("scope", Msg("InstrumentationScope")),
            ("logRecords", Rep("LogRecord")),
            ("schemaUrl", Str),
        ],
        "LogRecord" => &[
            ("timeUnixNano", Nanos),
            ("observedTimeUnixNano", Nanos),
            ("severityNumber", Enum),
            ("severityText", Str),
            ("body", Any),
            ("attributes", Rep("KeyValue")),
            ("droppedAttributesCount", UInt),
            ("flags", UInt),
            ("traceId", Hex(16)),
            ("spanId", Hex(8)),
            ("eventName", Str),
        ],
        "ResourceMetrics" => &[
            ("resource", Msg("Resource")),
            ("scopeMetrics", Rep("ScopeMetrics")),
            ("schemaUrl", Str),
        ],
        "ScopeMetrics" => &[
            ("scope", Msg("InstrumentationScope")),
            ("metrics", Rep("Metric")),
            ("schemaUrl", Str),
        ],
        "Metric" => &[
            ("name", Str),
            ("description", Str),
            ("unit", Str),
            ("gauge", Msg("Gauge")),
        ],
        "Gauge" => &[("dataPoints", Rep("NumberDataPoint"))],
        "NumberDataPoint" => &[
            ("attributes", Rep("KeyValue")),
            ("startTimeUnixNano", Nanos),
            ("timeUnixNano", Nanos),
            ("asDouble", Double),
            ("flags", UInt),
        ],
        _ => &[],
    }
}

fn check_any(v: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(o) = v.as_object() else {
        errors.push(format!("{path}: AnyValue must be an object"));
        return;
    };
    if o.len() != 1 {
        errors.push(format!("{path}: AnyValue must set exactly one field"));
    }
    for (k, x) in o {
        let ok = match k.as_str() {
            "stringValue" => x.is_string(),
            "boolValue" => x.is_boolean(),
            "intValue" => x.as_str().is_some_and(|s| s.parse::<i64>().is_ok()),
            "doubleValue" => x.is_number(),
            _ => false,
        };
        if !ok {
            errors.push(format!("{path}.{k}: not a valid AnyValue field"));
        }
    }
}

fn check(message: &str, v: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(o) = v.as_object() else {
        errors.push(format!("{path}: {message} must be an object"));
        return;
    };
    let fields = schema(message);
    for (k, x) in o {
        let at = format!("{path}.{k}");
        let Some((_, field)) = fields.iter().find(|(name, _)| name == k) else {
            errors.push(format!("{at}: {message} has no field {k:?}"));
            continue;
        };
        match *field {
            Str if !x.is_string() => errors.push(format!("{at}: must be a string")),
            Hex(n) => {
                let s = x.as_str().unwrap_or_default();
                let hex = s.len() == 2 * n && s.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
                if !hex || s.chars().all(|c| c == '0') {
                    errors.push(format!(
                        "{at}: must be {} lowercase hex characters, not all zero: {x}",
                        2 * n
                    ));
                }
            }
            Nanos => {
                let s = x.as_str().unwrap_or_default();
                if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit()) || s.parse::<u64>().is_err() {
                    errors.push(format!("{at}: a fixed64 must be a decimal string: {x}"));
                } else if s.len() < 19 {
                    errors.push(format!("{at}: not a nanosecond timestamp of this era: {s}"));
                }
            }
            Enum | UInt if !x.is_u64() => errors.push(format!("{at}: must be an integer")),
            Double if !x.is_number() => errors.push(format!("{at}: must be a number")),
            Msg(m) => check(m, x, &at, errors),
            Rep(m) => match x.as_array() {
                Some(items) if !items.is_empty() => {
                    for (i, item) in items.iter().enumerate() {
                        check(m, item, &format!("{at}[{i}]"), errors);
                    }
                }
                _ => errors.push(format!("{at}: must be a non-empty array")),
            },
            Any => check_any(x, &at, errors),
            _ => {}
        }
    }
}

fn errors(message: &str, v: &Value) -> Vec<String> {
    let mut e = Vec::new();
    check(message, v, "$", &mut e);
    e
}

const NOW: u128 = 1_760_000_000_123_456_789;

#[test]
fn canary_payloads_follow_the_otlp_json_encoding() {
    let c = Canary::new(NOW);
    assert_eq!(errors("ExportTraceServiceRequest", &c.traces()), Vec::<String>::new());
    assert_eq!(errors("ExportLogsServiceRequest", &c.logs()), Vec::<String>::new());
    assert_eq!(
        errors("ExportMetricsServiceRequest", &c.metrics()),
        Vec::<String>::new()
    );
}

#[test]
fn the_validator_catches_what_the_rules_forbid() {
    let c = Canary::new(NOW);
    let mut t = c.traces();
    let span = &mut t["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    span["trace_id"] = json!(c.trace_id); // snake_case key
    span["spanId"] = json!("AAECAwQFBgc="); // base64
    span["startTimeUnixNano"] = json!(1_760_000_000_000_000_000u64); // a number, not a string
    span["kind"] = json!("SPAN_KIND_SERVER"); // enum by name
    let e = errors("ExportTraceServiceRequest", &t);
    assert_eq!(e.len(), 4, "{e:#?}");
}

#[test]
fn ids_are_unique_hex_and_shared_by_span_and_log() {
    let (a, b) = (Canary::new(NOW), Canary::new(NOW));
    assert_ne!(a.run_id, b.run_id);
    assert_ne!(a.trace_id, b.trace_id);
    assert_eq!(a.trace_id.len(), 32);
    assert_eq!(a.span_id.len(), 16);
    assert_eq!(a.run_id.len(), 16);
    let log = &a.logs()["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
    assert_eq!(log["traceId"], json!(a.trace_id));
    assert_eq!(log["spanId"], json!(a.span_id));
    let span = &a.traces()["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(span["endTimeUnixNano"], json!(NOW.to_string()));
    assert_eq!(span["startTimeUnixNano"], json!((NOW - 1_000_000_000).to_string()));
}

#[test]
fn every_signal_carries_the_run_id_and_the_canary_service() {
    let c = Canary::new(NOW);
    for (payload, point) in [
        (c.traces(), "/resourceSpans/0/scopeSpans/0/spans/0/attributes"),
        (c.logs(), "/resourceLogs/0/scopeLogs/0/logRecords/0/attributes"),
        (
            c.metrics(),
            "/resourceMetrics/0/scopeMetrics/0/metrics/0/gauge/dataPoints/0/attributes",
        ),
    ] {
        let attrs = payload.pointer(point).expect("attributes");
        assert_eq!(
            attrs[0],
            json!({"key": ID_ATTRIBUTE, "value": {"stringValue": c.run_id}})
        );
        let text = payload.to_string();
        assert!(
            text.contains(r#"{"key":"service.name","value":{"stringValue":"lkeobs-canary"}}"#),
            "{text}"
        );
    }
    let metric = c.metrics();
    assert_eq!(
        metric.pointer("/resourceMetrics/0/scopeMetrics/0/metrics/0/name"),
        Some(&json!(METRIC))
    );
    assert_eq!(
        metric.pointer("/resourceMetrics/0/scopeMetrics/0/metrics/0/unit"),
        Some(&json!(""))
    );
}

#[test]
fn partial_success_is_read_as_rejection() {
    assert_eq!(rejected(b"{}"), None);
    assert_eq!(rejected(br#"{"partialSuccess":{}}"#), None);
    assert_eq!(
        rejected(br#"{"partialSuccess":{"rejectedSpans":"2","errorMessage":"bad span"}}"#),
        Some((2, "bad span".to_string()))
    );
    assert_eq!(
        rejected(br#"{"partialSuccess":{"rejectedDataPoints":1}}"#),
        Some((1, String::new()))
    );
}
