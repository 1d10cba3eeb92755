//! The Prometheus probes against a REAL Prometheus (Debian `prometheus`, `$PROMETHEUS` or on PATH)
//! started on 127.0.0.1 with its remote-write receiver, fed by remote write (protobuf + snappy,
//! encoded by hand below) for two of three fleet clusters.

use crate::tooling;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lkeobs::probes::prometheus::{self, Nodes};
use lkeobs::probes::{Backend, Verdict, canary, gateway, otlp};

// --- Remote write 1.0: WriteRequest protobuf, snappy block format -----------------------------

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited field (wire type 2).
fn bytes_field(field: u64, bytes: &[u8], out: &mut Vec<u8>) {
    varint((field << 3) | 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// `TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }` with one sample;
/// `Label { string name = 1; string value = 2; }`, `Sample { double value = 1; int64 timestamp = 2; }`.
fn time_series(labels: &BTreeMap<&str, &str>, value: f64, ts_ms: i64) -> Vec<u8> {
    let mut ts = Vec::new();
    // Labels sorted by name, as the spec requires (a BTreeMap iterates in byte order).
    for (name, val) in labels {
        let mut label = Vec::new();
        bytes_field(1, name.as_bytes(), &mut label);
        bytes_field(2, val.as_bytes(), &mut label);
        bytes_field(1, &label, &mut ts);
    }
    let mut sample = Vec::new();
    varint((1 << 3) | 1, &mut sample); // fixed64
    sample.extend_from_slice(&value.to_le_bytes());
    varint(2 << 3, &mut sample); // varint
    varint(ts_ms as u64, &mut sample);
    bytes_field(2, &sample, &mut ts);
    ts
}

/// `WriteRequest { repeated TimeSeries timeseries = 1; }`.
fn write_request(series: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in series {
        bytes_field(1, s, &mut out);
    }
    out
}

/// Snappy block format with literals only: the uncompressed length, then literal chunks.
fn snappy(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint(data.len() as u64, &mut out);
    for chunk in data.chunks(65_536) {
        let n = chunk.len() - 1;
        if n < 60 {
            out.push((n as u8) << 2);
        } else if n < 256 {
            out.push(60 << 2);
            out.push(n as u8);
        } else {
            out.push(61 << 2);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        out.extend_from_slice(chunk);
    }
    out
}

#[test]
fn snappy_literals_and_protobuf_fields_are_encoded_as_specified() {
    assert_eq!(snappy(b"abc"), vec![3, 2 << 2, b'a', b'b', b'c']);
    let long = vec![7u8; 300];
    let s = snappy(&long);
    assert_eq!(&s[..5], &[0xac, 0x02, 61 << 2, 0x2b, 0x01]);
    assert_eq!(s.len(), 5 + 300);
    let mut v = Vec::new();
    varint(300, &mut v);
    assert_eq!(v, vec![0xac, 0x02]);
}

// --- A real Prometheus ---------------------------------------------------------------------------

struct Prometheus {
    child: Child,
    base: String,
    dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("addr").port()
}

fn log_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
}

async fn start_prometheus(binary: &Path) -> Prometheus {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 1m\nscrape_configs: []\n").expect("config");
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
    let child = Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("prometheus starts");
    let mut p = Prometheus {
        child,
        base: format!("http://127.0.0.1:{port}"),
        dir,
    };
    // reqwest shares lkeobs' one TLS provider, installed before any client is built.
    lkeobs::tls::install_crypto_provider();
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(Some(status)) = p.child.try_wait() {
            panic!("prometheus exited ({status}):\n{}", log_of(p.dir.path()));
        }
        if let Ok(r) = http.get(format!("{}/-/ready", p.base)).send().await
            && r.status().is_success()
        {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("prometheus not ready after 30s:\n{}", log_of(p.dir.path()));
}

async fn remote_write(p: &Prometheus, series: &[(BTreeMap<&str, &str>, f64)]) {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    let encoded: Vec<Vec<u8>> = series.iter().map(|(l, v)| time_series(l, *v, now_ms)).collect();
    let body = snappy(&write_request(&encoded));
    // reqwest shares lkeobs' one TLS provider, installed before any client is built.
    lkeobs::tls::install_crypto_provider();
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/write", p.base))
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(body)
        .send()
        .await
        .expect("remote write");
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert!(
        status.is_success(),
        "remote write answered {status}: {text}\n{}",
        log_of(p.dir.path())
    );
}

fn labels<'a>(pairs: &[(&'a str, &'a str)]) -> BTreeMap<&'a str, &'a str> {
    pairs.iter().copied().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_probes_against_a_real_prometheus_fed_by_remote_write() {
    let Some(binary) = tooling::require_tool("PROMETHEUS", "prometheus", "apt-get install prometheus") else {
        return;
    };
    let p = start_prometheus(&binary).await;
    // What the agents really send: kubelet stats' node metrics carry no data-point attributes, so every
    // metric of one node has the same labels but its name; kube-state-metrics' node series likewise.
    let node_metric = |name, cluster, node| {
        labels(&[
            ("__name__", name),
            ("cluster_id", cluster),
            ("cluster_role", if cluster == "hub" { "hub" } else { "edge" }),
            ("hub_received_at", "otel-gateway"),
            ("k8s_node_name", node),
        ])
    };
    let node_shaped = |cluster: &'static str, node: &'static str, v: f64| {
        [
            "k8s_node_cpu_usage",
            "k8s_node_cpu_time_seconds_total",
            "k8s_node_memory_available_bytes",
            "k8s_node_memory_working_set_bytes",
            "k8s_node_filesystem_usage_bytes",
            "kube_node_info",
            "kube_node_created",
        ]
        .map(|m| (node_metric(m, cluster, node), v))
    };
    let gw = |name| {
        labels(&[
            ("__name__", name),
            ("job", "otel-gateway"),
            ("instance", "10.2.0.7:8888"),
        ])
    };
    remote_write(
        &p,
        &[
            node_shaped("hub", "hub-1", 0.5),
            node_shaped("hub", "hub-2", 0.25),
            node_shaped("us-east", "use-1", 0.1),
        ]
        .concat(),
    )
    .await;
    remote_write(
        &p,
        &[
            (
                labels(&[
                    ("__name__", "kube_pod_info"),
                    ("cluster_id", "us-east"),
                    ("hub_received_at", "otel-gateway"),
                ]),
                1.0,
            ),
            // Written around the gateway: no hub_received_at.
            (labels(&[("__name__", "up"), ("cluster_id", "direct")]), 1.0),
            (gw("otelcol_receiver_accepted_spans_total"), 1200.0),
            (gw("otelcol_receiver_refused_spans_total"), 3.0),
            (gw("otelcol_receiver_accepted_metric_points_total"), 90_000.0),
            (gw("otelcol_exporter_sent_metric_points_total"), 90_000.0),
            (gw("otelcol_exporter_send_failed_metric_points_total"), 0.0),
        ],
    )
    .await;
    let backend = Backend::http(&p.base).expect("backend");

    // Two of three clusters have series; the third is named.
    let clusters: Vec<String> = ["hub", "us-east", "eu-west"].map(String::from).to_vec();
    let outcomes = prometheus::series(&backend, &clusters).await;
    let verdicts: Vec<(&str, Verdict)> = outcomes.iter().map(|o| (o.cluster.as_str(), o.outcome)).collect();
    assert_eq!(
        verdicts,
        [
            ("hub", Verdict::Pass),
            ("us-east", Verdict::Pass),
            ("eu-west", Verdict::Fail)
        ],
        "{outcomes:#?}"
    );
    assert_eq!(
        outcomes[2].detail,
        "prometheus: no series with cluster_id=\"eu-west\" in the last 5m"
    );
    assert!(
        outcomes[0].detail.contains("hub_received_at=otel-gateway"),
        "{outcomes:#?}"
    );
    assert!(outcomes.iter().all(|o| o.name == "prometheus/series"));

    // Series that bypassed the gateway lack hub_received_at.
    let direct = prometheus::series(&backend, &["direct".to_string()]).await;
    assert_eq!(direct[0].outcome, Verdict::Fail);
    assert!(
        direct[0].detail.contains("lack the hub_received_at label"),
        "{direct:#?}"
    );

    // Node metrics for every node: us-east lacks one node, eu-west has none.
    let expected = vec![
        ("hub".to_string(), Nodes::Known(vec!["hub-1".into(), "hub-2".into()])),
        (
            "us-east".to_string(),
            Nodes::Known(vec!["use-1".into(), "use-2".into()]),
        ),
        ("eu-west".to_string(), Nodes::Known(vec!["euw-1".into()])),
    ];
    let nodes = prometheus::nodes(&backend, &expected).await;
    assert_eq!(nodes[0].outcome, Verdict::Pass, "{nodes:#?}");
    assert_eq!(nodes[0].detail, "node metrics for all 2 node(s)");
    assert_eq!(nodes[1].outcome, Verdict::Fail);
    assert!(
        nodes[1].detail.contains("cluster_id=\"us-east\"") && nodes[1].detail.contains("for node(s) use-2 (1 of 2"),
        "{nodes:#?}"
    );
    assert_eq!(nodes[2].outcome, Verdict::Fail);
    assert!(nodes[2].detail.contains("euw-1"), "{nodes:#?}");

    // The gateway's counters, scraped by Prometheus, with the `_total` suffix of collector 0.159.
    let counters = gateway::counters(&backend).await;
    assert_eq!(counters.outcome, Verdict::Pass, "{counters:#?}");
    assert!(
        counters
            .detail
            .contains("accepted 1200 spans, 90000 metric points, 0 log records"),
        "{counters:#?}"
    );

    // Freshness from the same query: seconds old.
    let fresh = prometheus::cluster_series(&backend, &clusters).await.expect("series");
    let newest = fresh["hub"].newest_ns.expect("newest");
    let age = lkeobs::probes::now_unix_nanos().saturating_sub(newest);
    assert!(age < 60_000_000_000, "newest hub sample is {age}ns old");
    assert!(!fresh.contains_key("eu-west"));

    // The canary's lookup is valid PromQL and finds nothing for an unknown run id.
    let c = otlp::Canary::new(lkeobs::probes::now_unix_nanos());
    assert!(
        prometheus::query(&backend, &canary::metric_query(&c))
            .await
            .expect("query")
            .is_empty()
    );

    // A query Prometheus rejects is reported with its error.
    let err = prometheus::query(&backend, "sum(").await.expect_err("bad query");
    assert!(err.contains("400") && err.contains("bad_data"), "{err}");
}
