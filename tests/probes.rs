//! The Loki and Tempo probes against wiremock answering as their HTTP APIs document
//! (`/loki/api/v1/query_range`, Tempo `/ready`, `/api/search`, `/api/traces/<id>`).

mod support;

use lkeobs::probes::{Backend, Verdict, loki, now_unix_nanos, tempo};
use serde_json::{Value, json};
use support::k8s_fake::K8sFake;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn param(req: &Request, key: &str) -> Option<String> {
    req.url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// A `query_range` answer of a log query (Loki HTTP API, "streams").
fn streams(result: Value) -> Value {
    json!({"status": "success", "data": {"resultType": "streams", "result": result,
        "stats": {"summary": {"bytesProcessedPerSecond": 1, "totalEntriesReturned": 1}}}})
}

#[tokio::test]
async fn loki_probe_finds_recent_streams_and_names_a_silent_cluster() {
    let server = MockServer::start().await;
    let newest = (now_unix_nanos() - 3_000_000_000).to_string();
    let older = (now_unix_nanos() - 90_000_000_000).to_string();
    let answer = streams(json!([
        {"stream": {"cluster_id": "hub", "cluster_role": "hub", "service_name": "grafana",
                    "k8s_namespace_name": "monitoring", "hub_received_at": "otel-gateway-5d8f-abcde"},
         "values": [[newest, "logger=server msg=\"request completed\""], [older, "started"]]},
        {"stream": {"cluster_id": "hub", "service_name": "loki"}, "values": [[older, "level=info"]]}
    ]));
    Mock::given(method("GET"))
        .and(path("/loki/api/v1/query_range"))
        .and(|r: &Request| {
            // Nanosecond bounds five minutes apart, newest first.
            let (start, end) = (param(r, "start"), param(r, "end"));
            let span = end.and_then(|e| e.parse::<u128>().ok()).unwrap_or(0)
                - start.and_then(|s| s.parse::<u128>().ok()).unwrap_or(0);
            span == 300_000_000_000
                && param(r, "direction").as_deref() == Some("backward")
                && param(r, "limit").is_some()
        })
        .respond_with(move |r: &Request| match param(r, "query").as_deref() {
            Some("{cluster_id=\"hub\"}") => ResponseTemplate::new(200).set_body_json(answer.clone()),
            _ => ResponseTemplate::new(200).set_body_json(streams(json!([]))),
        })
        .mount(&server)
        .await;
    let backend = Backend::http(&server.uri()).expect("backend");

    let hub = loki::streams(&backend, "hub").await;
    assert_eq!(hub.outcome, Verdict::Pass, "{hub:?}");
    assert!(
        hub.detail
            .starts_with("2 stream(s) with cluster_id=\"hub\", newest line 3s ago")
            || hub
                .detail
                .starts_with("2 stream(s) with cluster_id=\"hub\", newest line 4s ago"),
        "{hub:?}"
    );
    let silent = loki::streams(&backend, "eu-west").await;
    assert_eq!(silent.outcome, Verdict::Fail);
    assert_eq!(
        silent.detail,
        "loki: no log streams with cluster_id=\"eu-west\" in the last 5m"
    );
}

#[tokio::test]
async fn loki_errors_are_reported_with_the_status_and_body() {
    let server = MockServer::start().await;
    Mock::given(path("/loki/api/v1/query_range"))
        .respond_with(ResponseTemplate::new(400).set_body_string("parse error at line 1, col 2: syntax error"))
        .mount(&server)
        .await;
    let backend = Backend::http(&server.uri()).expect("backend");
    let o = loki::streams(&backend, "hub").await;
    assert_eq!(o.outcome, Verdict::Fail);
    assert!(o.detail.contains("answered 400: parse error at line 1, col 2"), "{o:?}");
}

/// A Tempo search answer (`/api/search`).
fn search(traces: Value) -> Value {
    json!({"traces": traces, "metrics": {"inspectedBytes": "4096", "completedJobs": 1, "totalJobs": 1}})
}

async fn tempo_server() -> MockServer {
    let server = MockServer::start().await;
    let started = (now_unix_nanos() - 20_000_000_000).to_string();
    Mock::given(method("GET"))
        .and(path("/api/search"))
        .and(|r: &Request| param(r, "start").is_some() && param(r, "end").is_some())
        .respond_with(move |r: &Request| match param(r, "q").as_deref() {
            Some("{ resource.cluster.id = \"hub\" }") => ResponseTemplate::new(200).set_body_json(search(json!([
                {"traceID": "2f3e0cee77ae5dc9c17ade3689eb2e54", "rootServiceName": "grafana",
                 "rootTraceName": "GET /api/health", "startTimeUnixNano": started, "durationMs": 3}
            ]))),
            _ => ResponseTemplate::new(200).set_body_json(search(json!([]))),
        })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/traces/0af7651916cd43dd8448eb211c80319c"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"batches": [{
            "resource": {"attributes": [
                {"key": "service.name", "value": {"stringValue": "lkeobs-canary"}},
                {"key": "cluster.id", "value": {"stringValue": "us-east"}},
                {"key": "hub.received_at", "value": {"stringValue": "otel-gateway-5d8f-abcde"}}]},
            "scopeSpans": [{"scope": {"name": "lkeobs"}, "spans": [{"traceId": "CvZlGRbNQ92ESOshwIAxnA==",
                "spanId": "uhYI1JxcUPQ=", "name": "lkeobs-canary", "kind": "SPAN_KIND_SERVER",
                "startTimeUnixNano": "1", "endTimeUnixNano": "2"}]}]}]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/api/traces/[0-9a-f]+$"))
        .respond_with(ResponseTemplate::new(404).set_body_string("trace not found"))
        .with_priority(10)
        .mount(&server)
        .await;
    server
}

fn pod(namespace: &str, name: &str, env: &[(&str, &str)]) -> Value {
    let env: Vec<Value> = env.iter().map(|(k, v)| json!({"name": k, "value": v})).collect();
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
        "spec": {"containers": [{"name": "app", "image": "app:1", "env": env}]}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tempo_search_passes_fails_or_skips_by_cluster() {
    let server = tempo_server().await;
    let backend = Backend::http(&server.uri()).expect("backend");

    let hub = tempo::search_cluster(&backend, "hub", None).await;
    assert_eq!(hub.outcome, Verdict::Pass, "{hub:?}");
    assert!(
        hub.detail
            .starts_with("1 trace(s) with cluster.id=\"hub\" in the last 60m, newest started 2"),
        "{hub:?}"
    );

    // A cluster whose pods send traces, but Tempo has none of them: a failure naming the pods.
    let traced = K8sFake::start().await;
    for ns in ["shop", "observability"] {
        traced.put(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
    }
    traced.put(pod(
        "shop",
        "checkout-7d9",
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel-agent.observability:4317")],
    ));
    traced.put(pod("shop", "static-1", &[("PORT", "80")]));
    // Our own pods never count.
    traced.put(pod(
        "observability",
        "otel-scraper-1",
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", "x")],
    ));
    let o = tempo::search_cluster(&backend, "us-east", Some(&traced.k8s())).await;
    assert_eq!(o.outcome, Verdict::Fail, "{o:?}");
    assert_eq!(
        o.detail,
        "tempo: no traces with cluster.id=\"us-east\" in the last 60m, though 1 pod(s) are set up to send traces (shop/checkout-7d9)"
    );

    // No traced workloads: skipped, saying why.
    let quiet = K8sFake::start().await;
    quiet.put(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}));
    quiet.put(pod("shop", "static-1", &[]));
    let o = tempo::search_cluster(&backend, "eu-west", Some(&quiet.k8s())).await;
    assert_eq!(o.outcome, Verdict::Skip, "{o:?}");
    assert!(
        o.detail
            .starts_with("no traced workloads: no traces with cluster.id=\"eu-west\""),
        "{o:?}"
    );

    // Without Kubernetes access it cannot tell: skipped.
    let o = tempo::search_cluster(&backend, "eu-west", None).await;
    assert_eq!(o.outcome, Verdict::Skip, "{o:?}");
}

#[tokio::test]
async fn tempo_trace_by_id_reads_the_resource_and_waits_out_a_404() {
    let server = tempo_server().await;
    let backend = Backend::http(&server.uri()).expect("backend");
    let found = tempo::trace_by_id(&backend, "0af7651916cd43dd8448eb211c80319c")
        .await
        .expect("answer")
        .expect("found");
    assert_eq!(found[0]["cluster.id"], "us-east");
    assert_eq!(found[0]["hub.received_at"], "otel-gateway-5d8f-abcde");
    let missing = tempo::trace_by_id(&backend, "00000000000000000000000000000001").await;
    assert_eq!(missing, Ok(None));
}

#[tokio::test]
async fn tempo_ready_reports_a_503_with_its_reason() {
    let server = MockServer::start().await;
    Mock::given(path("/ready"))
        .respond_with(
            ResponseTemplate::new(503).set_body_string("Ingester not ready: waiting for 15s after being ready"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/ready"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ready"))
        .mount(&server)
        .await;
    let backend = Backend::http(&server.uri()).expect("backend");
    let o = tempo::ready(&backend).await;
    assert_eq!(o.outcome, Verdict::Fail);
    assert_eq!(
        o.detail,
        "tempo: /ready answered 503: Ingester not ready: waiting for 15s after being ready"
    );
    // The 503 is answered once: the next ask passes.
    assert_eq!(tempo::ready(&backend).await.outcome, Verdict::Pass);
}
