//! The Prometheus, Loki and Tempo probes against the simulator's data path (`lkeobs::sim::data_path`),
//! which evaluates the queries it is sent over what its stores hold: a probe whose query names the
//! wrong label finds nothing, and a query the backend cannot parse is the error it answers.

use crate::support;

use lkeobs::probes::{Backend, Verdict, loki, now_unix_nanos, prometheus, tempo};
use lkeobs::sim::data_path::DataPath;
use lkeobs::sim::data_store::{Entry, Span, labels};
use serde_json::{Value, json};
use support::k8s_fake::K8sFake;
use support::linode_fake::LinodeFake;

/// A data path over an empty account (no cluster sends): only what a test seeds is stored.
async fn data_path() -> (LinodeFake, DataPath) {
    let linode = LinodeFake::start().await;
    let data = DataPath::start_over(&linode.0, &[])
        .await
        .expect("the data path starts");
    (linode, data)
}

async fn backend(data: &DataPath, workload: &str) -> Backend {
    Backend::http(&data.url(workload).await.expect("a stand-in")).expect("backend")
}

fn entry(ago_s: u128, line: &str) -> Entry {
    Entry {
        ns: now_unix_nanos() - ago_s * 1_000_000_000,
        line: line.into(),
        metadata: labels(&[("hub_received_at", "otel-gateway-5d8f-abcde")]),
    }
}

#[tokio::test]
async fn loki_probe_finds_recent_streams_and_names_a_silent_cluster() {
    let (_linode, data) = data_path().await;
    data.seed(|st| {
        let grafana = labels(&[
            ("cluster_id", "hub"),
            ("cluster_role", "hub"),
            ("service_name", "grafana"),
            ("k8s_namespace_name", "monitoring"),
        ]);
        st.log(grafana.clone(), entry(3, "logger=server msg=\"request completed\""));
        st.log(grafana, entry(90, "started"));
        st.log(
            labels(&[("cluster_id", "hub"), ("service_name", "loki")]),
            entry(90, "level=info"),
        );
        // Older than the probe's five minutes.
        st.log(
            labels(&[("cluster_id", "eu-west"), ("service_name", "app")]),
            entry(400, "old"),
        );
    });
    let backend = backend(&data, "loki").await;

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
async fn a_wrong_query_finds_nothing_or_is_the_error_the_backend_answers() {
    let (_linode, data) = data_path().await;
    let now = now_unix_nanos();
    data.seed(|st| {
        st.log(
            labels(&[("cluster_id", "hub"), ("service_name", "app")]),
            entry(3, "GET /"),
        );
        let node = labels(&[
            ("__name__", "k8s_node_cpu_usage"),
            ("cluster_id", "hub"),
            ("k8s_node_name", "hub-1"),
            ("hub_received_at", "otel-gateway"),
        ]);
        st.sample(node, now as f64 / 1e9 - 5.0, 0.5);
    });
    let (loki_b, prom) = (backend(&data, "loki").await, backend(&data, "prometheus").await);
    let window = (now - 300_000_000_000, now);

    // The probes' own queries find the cluster.
    let found = loki::query_range(&loki_b, &loki::cluster_selector("hub"), window.0, window.1, 20).await;
    assert_eq!(found.expect("answer").len(), 1);
    let series = prometheus::query(&prom, &prometheus::series_query(&["hub".into()])).await;
    assert_eq!(series.expect("answer").len(), 1);

    // The same queries on a label the stack does not write (`cluster`) find nothing.
    let wrong = loki::query_range(&loki_b, "{cluster=\"hub\"}", window.0, window.1, 20).await;
    assert_eq!(wrong.expect("answer"), vec![]);
    let wrong = prometheus::query(&prom, "count by (cluster, hub_received_at) ({cluster=~\"hub\"})").await;
    assert_eq!(wrong.expect("answer"), vec![]);

    // Queries the backends cannot parse are their errors, as the probes report them.
    let err = loki::query_range(&loki_b, "{cluster_id=~\".*\"}", window.0, window.1, 20)
        .await
        .expect_err("Loki refuses a selector matching everything");
    assert!(err.contains("answered 400: parse error"), "{err}");
    let o = prometheus::nodes(&prom, &[("hub".into(), prometheus::Nodes::Known(vec!["hub-1".into()]))]).await;
    assert_eq!(o[0].outcome, Verdict::Pass, "{o:?}");
    let err = prometheus::query(&prom, "count by (cluster_id) (cluster_id=~\"hub\")")
        .await
        .expect_err("not PromQL");
    assert!(err.contains("answered 400: bad_data"), "{err}");
    let err = prometheus::query(
        &prom,
        "timestamp({__name__=~\"k8s_node_.+|up\", cluster_id=\"hub\"}) or vector(1)",
    )
    .await
    .expect_err("a function outside the understood subset");
    assert!(err.contains("bad_data"), "{err}");
}

#[tokio::test]
async fn loki_errors_are_reported_with_the_status_and_body() {
    let (_linode, data) = data_path().await;
    let backend = backend(&data, "loki").await;
    // Loki's own limit on the lines of one query.
    let now = now_unix_nanos();
    let err = loki::query_range(&backend, "{cluster_id=\"hub\"}", now - 1_000, now, 10_000)
        .await
        .expect_err("over the limit");
    assert!(
        err.contains("answered 400: max entries limit per query exceeded"),
        "{err}"
    );
}

/// A data path holding a trace of the hub's Grafana started 20 s ago and the canary's trace of
/// `us-east` (long ago: outside any search window).
async fn tempo_data() -> (LinodeFake, DataPath) {
    let (linode, data) = data_path().await;
    data.seed(|st| {
        st.span(Span {
            trace_id: "2f3e0cee77ae5dc9c17ade3689eb2e54".into(),
            name: "GET /api/health".into(),
            start_ns: now_unix_nanos() - 20_000_000_000,
            resource: labels(&[("service.name", "grafana"), ("cluster.id", "hub")]),
            attributes: Default::default(),
        });
        st.span(Span {
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            name: "lkeobs-canary".into(),
            start_ns: 1,
            resource: labels(&[
                ("service.name", "lkeobs-canary"),
                ("cluster.id", "us-east"),
                ("hub.received_at", "otel-gateway-5d8f-abcde"),
            ]),
            attributes: Default::default(),
        });
    });
    (linode, data)
}

fn pod(namespace: &str, name: &str, env: &[(&str, &str)]) -> Value {
    let env: Vec<Value> = env.iter().map(|(k, v)| json!({"name": k, "value": v})).collect();
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
        "spec": {"containers": [{"name": "app", "image": "app:1", "env": env}]}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tempo_search_passes_fails_or_skips_by_cluster() {
    let (_linode, data) = tempo_data().await;
    let backend = backend(&data, "tempo").await;

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
    let (_linode, data) = tempo_data().await;
    let backend = backend(&data, "tempo").await;
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
    let (_linode, data) = data_path().await;
    data.tempo_unready(1);
    let backend = backend(&data, "tempo").await;
    let o = tempo::ready(&backend).await;
    assert_eq!(o.outcome, Verdict::Fail);
    assert_eq!(
        o.detail,
        "tempo: /ready answered 503: Ingester not ready: waiting for 15s after being ready"
    );
    // The 503 is answered once: the next ask passes.
    assert_eq!(tempo::ready(&backend).await.outcome, Verdict::Pass);
}
