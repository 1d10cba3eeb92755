//! The evaluator on a small store: the probes' and load test's queries, and the errors Prometheus gives.

use super::*;
use crate::sim::data_query::promql::parse;
use crate::sim::data_store::labels;

const NOW: f64 = 10_000.0;

fn store() -> Store {
    let mut st = Store::default();
    for (cluster, node) in [("hub", "h1"), ("hub", "h2"), ("us-east", "u1")] {
        for metric in ["k8s_node_cpu_usage", "k8s_node_memory_working_set_bytes"] {
            let l = labels(&[
                ("__name__", metric),
                ("cluster_id", cluster),
                ("k8s_node_name", node),
                ("hub_received_at", "otel-gateway"),
            ]);
            st.sample(l.clone(), NOW - 65.0, 1.0);
            st.sample(l, NOW - 5.0, 2.0);
        }
    }
    // Old data only: outside the lookback.
    st.sample(
        labels(&[
            ("__name__", "k8s_node_cpu_usage"),
            ("cluster_id", "eu-west"),
            ("k8s_node_name", "e1"),
        ]),
        NOW - 900.0,
        1.0,
    );
    for (name, v0, v1) in [
        ("otelcol_receiver_accepted_spans_total", 100.0, 700.0),
        ("otelcol_exporter_sent_spans_total", 90.0, 30.0),
    ] {
        let l = labels(&[("__name__", name), ("job", "otel-gateway"), ("instance", "gw-0:8888")]);
        st.sample(l.clone(), NOW - 60.0, v0);
        st.sample(l, NOW, v1);
    }
    st
}

fn run(q: &str) -> Result<Vec<Sample>, String> {
    let e = parse(q).map_err(|e| e.1)?;
    match eval(&store(), &e, NOW)? {
        Value::Vector(mut v) => {
            v.sort_by(|a, b| a.labels.cmp(&b.labels));
            Ok(v)
        }
        Value::Scalar(s) => Ok(vec![Sample {
            labels: Labels::new(),
            value: s,
            t: NOW,
        }]),
    }
}

fn keyed(v: &[Sample], key: &str) -> Vec<(String, f64)> {
    v.iter()
        .map(|s| (s.labels.get(key).cloned().unwrap_or_default(), s.value))
        .collect()
}

#[test]
fn counts_series_per_cluster_within_the_lookback() {
    let v = run("count by (cluster_id, hub_received_at) ({cluster_id=~\"hub|us-east|eu-west\"})").expect("query");
    assert_eq!(
        keyed(&v, "cluster_id"),
        vec![("hub".into(), 4.0), ("us-east".into(), 2.0)]
    );
    assert!(
        v.iter()
            .all(|s| s.labels.len() == 2 && s.labels["hub_received_at"] == "otel-gateway")
    );
    let v = run("count by (cluster_id, k8s_node_name) ({__name__=~\"k8s_node_.+\", cluster_id=~\"us-east\"})")
        .expect("query");
    assert_eq!(keyed(&v, "k8s_node_name"), vec![("u1".into(), 2.0)]);
    // A label the stack does not write selects nothing.
    assert!(
        run("count by (cluster) ({cluster=~\"hub\"})")
            .expect("query")
            .is_empty()
    );
}

#[test]
fn timestamp_or_and_max_give_the_newest_sample_per_cluster() {
    let v = run("max by (cluster_id) (timestamp(k8s_node_cpu_usage{cluster_id=~\"hub|us-east\"}) or timestamp(k8s_node_memory_working_set_bytes{cluster_id=~\"hub|us-east\"}))")
        .expect("query");
    assert_eq!(
        keyed(&v, "cluster_id"),
        vec![("hub".into(), NOW - 5.0), ("us-east".into(), NOW - 5.0)]
    );
    // Two names whose series have the same labels once timestamp() drops the names.
    let err = run("timestamp({__name__=~\"k8s_node_.+\", cluster_id=\"us-east\"})").expect_err("duplicate labelset");
    assert!(err.contains("same labelset"), "{err}");
}

#[test]
fn sums_by_name_rates_and_arithmetic() {
    let v = run("sum by (__name__) ({job=\"otel-gateway\", __name__=~\"otelcol_(receiver_accepted|exporter_sent)_spans(_total)?\"})")
        .expect("query");
    assert_eq!(
        keyed(&v, "__name__"),
        vec![
            ("otelcol_exporter_sent_spans_total".into(), 30.0),
            ("otelcol_receiver_accepted_spans_total".into(), 700.0)
        ]
    );
    // 600 in 60s, extrapolated back to where the counter would have been 0 (10s before the first
    // sample): 700 over the 5 minutes.
    let v = run("rate(otelcol_receiver_accepted_spans_total[5m])").expect("query");
    assert_eq!(v.len(), 1);
    assert!((v[0].value - 700.0 / 300.0).abs() < 1e-9, "{v:?}");
    assert!(!v[0].labels.contains_key("__name__"));
    // A counter reset counts from zero: 90 → 30 is an increase of 30 in 60s, extrapolated to 2m.
    let v = run("increase(otelcol_exporter_sent_spans_total[2m])").expect("query");
    assert_eq!(v[0].value, 60.0);
    // The range is open at its start: one sample in the last minute is no rate.
    assert!(
        run("increase(otelcol_exporter_sent_spans_total[1m])")
            .expect("query")
            .is_empty()
    );
    let v = run("count({cluster_id=\"hub\"}) * 2 > 7").expect("query");
    assert_eq!(v[0].value, 8.0);
    assert!(run("count({cluster_id=\"hub\"}) > 9").expect("query").is_empty());
    let v = run("time() - max(timestamp(k8s_node_cpu_usage{cluster_id=\"hub\"}))").expect("query");
    assert_eq!(v[0].value, 5.0);
    let v = run("count({cluster_id=\"us-east\"}) > bool 9").expect("query");
    assert_eq!(v[0].value, 0.0);
    let v = run("group by (cluster_id) ({cluster_id!=\"\"}) unless group by (cluster_id) ({cluster_id=\"hub\"})")
        .expect("query");
    assert_eq!(keyed(&v, "cluster_id"), vec![("us-east".into(), 1.0)]);
}

#[test]
fn label_replace_fills_a_missing_label_and_keeps_the_name() {
    let v = run("label_replace(otelcol_exporter_sent_spans_total, \"cluster_id\", \"hub\", \"cluster_id\", \"\")")
        .expect("query");
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].labels["cluster_id"], "hub");
    assert_eq!(v[0].labels["__name__"], "otelcol_exporter_sent_spans_total");
    let v = run(
        "label_replace(k8s_node_cpu_usage{cluster_id=\"us-east\"}, \"region\", \"$1\", \"cluster_id\", \"(.*)-east\")",
    )
    .expect("query");
    assert_eq!(v[0].labels["region"], "us");
    assert!(run("label_replace(up, \"a\")").is_err());
}
