//! Alerts reach people, with the real binaries: a REAL Prometheus (Debian `prometheus`) evaluates the hub's
//! rendered rule file and sends to a REAL Alertmanager (Debian `prometheus-alertmanager`) running the
//! config rendered from a fleet file's `[alerts]`; Alertmanager POSTs to a webhook receiver on 127.0.0.1.
//!
//! Two substitutions, both in the test: the webhook URL (the fleet file accepts only public https URLs, so
//! the receiver's rendered URL is pointed at the local listener) and the time scale (the rule file's ranges
//! and `for:` durations, one minute becoming one second, so a 5-minute silence takes 5 seconds). Everything
//! else — routes, grouping, inhibit rules, the rules' expressions, labels and summaries — is as rendered.

use crate::tooling;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tooling::hermetic::Sandbox;

const FLEET: &str = r#"
[fleet]
name = "am"
k8s_version = "1.33"

[hub]
region = "us-ord"
pools = [{ type = "g6-standard-2", count = 1 }]

[edges.us]
region = "us-east"
pools = [{ type = "g6-standard-2", count = 1 }]

[edges.fra]
region = "eu-central"
pools = [{ type = "g6-standard-2", count = 1 }]

[alerts]
default_receiver = "tickets"
group_by = ["alertname", "cluster_id"]
group_wait = "2s"
group_interval = "2s"
repeat_interval = "1h"

[[alerts.receivers]]
name = "tickets"
type = "webhook"
url = "https://hooks.example.com/alertmanager"
"#;

// --- Remote write 1.0 (protobuf + snappy literals), as tests/probes_prometheus.rs encodes it -----------

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn bytes_field(field: u64, bytes: &[u8], out: &mut Vec<u8>) {
    varint((field << 3) | 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

fn write_request(series: &[BTreeMap<&str, &str>], ts_ms: i64) -> Vec<u8> {
    let mut req = Vec::new();
    for labels in series {
        let mut ts = Vec::new();
        for (name, val) in labels {
            let mut label = Vec::new();
            bytes_field(1, name.as_bytes(), &mut label);
            bytes_field(2, val.as_bytes(), &mut label);
            bytes_field(1, &label, &mut ts);
        }
        let mut sample = Vec::new();
        varint((1 << 3) | 1, &mut sample);
        sample.extend_from_slice(&0.5f64.to_le_bytes());
        varint(2 << 3, &mut sample);
        varint(ts_ms as u64, &mut sample);
        bytes_field(2, &sample, &mut ts);
        bytes_field(1, &ts, &mut req);
    }
    let mut out = Vec::new();
    varint(req.len() as u64, &mut out);
    for chunk in req.chunks(60) {
        out.push(((chunk.len() - 1) as u8) << 2);
        out.extend_from_slice(chunk);
    }
    out
}

// --- The processes -----------------------------------------------------------------------------------

struct Proc {
    child: Child,
    log: std::path::PathBuf,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    fn start(binary: &Path, args: &[String], log: std::path::PathBuf) -> Proc {
        let file = std::fs::File::create(&log).expect("log file");
        let child = Sandbox::new()
            .command(binary)
            .args(args)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .expect("starts");
        Proc { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("addr")
        .port()
}

/// Waits for `cond` (polled every 100 ms) up to `limit`; panics with `what` and the logs after.
async fn wait_for<T, F, Fut>(what: &str, limit: Duration, procs: &mut [&mut Proc], mut cond: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = cond().await {
            return v;
        }
        for p in procs.iter_mut() {
            if let Ok(Some(status)) = p.child.try_wait() {
                panic!("a process exited ({status}) while waiting for {what}:\n{}", p.log());
            }
        }
        if start.elapsed() > limit {
            let logs: Vec<String> = procs.iter().map(|p| p.log()).collect();
            panic!("{what}: not after {limit:?}\n{}", logs.join("\n----\n"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The rendered file `name`'s ConfigMap `cm`, key `key`.
fn configmap(docs: &[serde_yaml_ng::Value], cm: &str, key: &str) -> String {
    docs.iter()
        .find(|d| d["kind"] == "ConfigMap" && d["metadata"]["name"] == cm)
        .and_then(|d| d["data"][key].as_str())
        .unwrap_or_else(|| panic!("no {cm}/{key}"))
        .to_string()
}

/// The rule file with one minute made one second: `[5m]` → `[5s]`, `[1h]` → `[60s]`, `for: 10m` → `for: 10s`.
fn minutes_to_seconds(rules: &str) -> String {
    let re_scale = |text: &str, open: &str, close: &str| -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find(open) {
            out.push_str(&rest[..i + open.len()]);
            rest = &rest[i + open.len()..];
            let end = rest.find(close).unwrap_or(0);
            let d = &rest[..end];
            let secs = match (d.strip_suffix('m'), d.strip_suffix('h')) {
                (Some(m), _) if m.parse::<u64>().is_ok() => m.parse::<u64>().ok(),
                (_, Some(h)) if h.parse::<u64>().is_ok() => h.parse::<u64>().ok().map(|h| h * 60),
                _ => None,
            };
            match secs {
                Some(s) => out.push_str(&format!("{s}s")),
                None => out.push_str(d),
            }
            rest = &rest[end..];
        }
        out.push_str(rest);
        out
    };
    let scaled = re_scale(rules, "[", "]");
    re_scale(&scaled, "for: ", "\n")
}

/// Every notification the webhook received, parsed.
async fn notifications(hook: &wiremock::MockServer) -> Vec<Value> {
    hook.received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .collect()
}

#[test]
fn the_time_scale_changes_only_durations() {
    assert_eq!(
        minutes_to_seconds("x[1h] unless y[5m] or z[15m] {a=\"[b]\"}\n  for: 10m\n"),
        "x[60s] unless y[5s] or z[15s] {a=\"[b]\"}\n  for: 10s\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_edge_reaches_the_webhook_and_a_silent_hub_inhibits_the_edges() {
    let Some(prometheus) = tooling::require_tool("PROMETHEUS", "prometheus", "apt-get install prometheus") else {
        return;
    };
    let Some(alertmanager) = tooling::alertmanager() else {
        return;
    };
    lkeobs::tls::install_crypto_provider();
    let docs = tooling::render_docs(FLEET, "hub");
    let dir = tempfile::tempdir().expect("tempdir");

    // The webhook receiver.
    let hook = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/hook"))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .mount(&hook)
        .await;

    // Alertmanager with the rendered config, the one URL pointed at the local receiver.
    let am_config = configmap(&docs, "alertmanager", "alertmanager.yml");
    let rendered_url = "\"https://hooks.example.com/alertmanager\"";
    assert!(am_config.contains(rendered_url), "{am_config}");
    let am_config = am_config.replace(rendered_url, &format!("\"{}/hook\"", hook.uri()));
    std::fs::write(dir.path().join("alertmanager.yml"), &am_config).expect("config");
    let am_port = free_port();
    let mut am = Proc::start(
        &alertmanager,
        &[
            format!("--config.file={}", dir.path().join("alertmanager.yml").display()),
            format!("--storage.path={}", dir.path().join("am-data").display()),
            format!("--web.listen-address=127.0.0.1:{am_port}"),
            "--cluster.listen-address=".to_string(),
        ],
        dir.path().join("alertmanager.log"),
    );

    // Prometheus with the rendered rule file (one minute made one second) and alerting block.
    let rules = minutes_to_seconds(&configmap(&docs, "prometheus", "alerts.yml"));
    std::fs::write(dir.path().join("alerts.yml"), &rules).expect("rules");
    let prom_config = configmap(&docs, "prometheus", "prometheus.yml");
    for needle in [
        "alertmanager.monitoring.svc.cluster.local:9093",
        "evaluation_interval: 30s",
        "/etc/prometheus/alerts.yml",
    ] {
        assert!(prom_config.contains(needle), "{needle} not in\n{prom_config}");
    }
    let prom_config = prom_config
        .replace(
            "alertmanager.monitoring.svc.cluster.local:9093",
            &format!("127.0.0.1:{am_port}"),
        )
        .replace("evaluation_interval: 30s", "evaluation_interval: 1s")
        .replace(
            "/etc/prometheus/alerts.yml",
            &dir.path().join("alerts.yml").display().to_string(),
        );
    std::fs::write(dir.path().join("prometheus.yml"), &prom_config).expect("config");
    let prom_port = free_port();
    let mut prom = Proc::start(
        &prometheus,
        &[
            format!("--config.file={}", dir.path().join("prometheus.yml").display()),
            format!("--storage.tsdb.path={}", dir.path().join("prom-data").display()),
            format!("--web.listen-address=127.0.0.1:{prom_port}"),
            "--web.enable-remote-write-receiver".to_string(),
        ],
        dir.path().join("prometheus.log"),
    );
    let http = reqwest::Client::new();
    let prom_base = format!("http://127.0.0.1:{prom_port}");
    let am_base = format!("http://127.0.0.1:{am_port}");
    for base in [&prom_base, &am_base] {
        let url = format!("{base}/-/ready");
        wait_for(
            &format!("{base} ready"),
            Duration::from_secs(60),
            &mut [&mut prom, &mut am],
            || {
                let r = http.get(&url).send();
                async move { r.await.ok().filter(|r| r.status().is_success()).map(|_| ()) }
            },
        )
        .await;
    }

    // Every cluster sends its node metric every 300 ms, until told to stop.
    let sending = std::sync::Arc::new(std::sync::Mutex::new(vec!["hub", "us", "fra"]));
    let writer = {
        let sending = sending.clone();
        let http = http.clone();
        let url = format!("{prom_base}/api/v1/write");
        tokio::spawn(async move {
            loop {
                let clusters = sending.lock().map(|s| s.clone()).unwrap_or_default();
                let series: Vec<BTreeMap<&str, &str>> = clusters
                    .iter()
                    .map(|c| {
                        BTreeMap::from([
                            ("__name__", "k8s_node_cpu_usage"),
                            ("cluster_id", *c),
                            ("k8s_node_name", "n1"),
                        ])
                    })
                    .collect();
                let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_millis() as i64;
                if !series.is_empty() {
                    let _ = http
                        .post(&url)
                        .header("Content-Encoding", "snappy")
                        .header("Content-Type", "application/x-protobuf")
                        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                        .body(write_request(&series, now))
                        .send()
                        .await;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
    };
    // Some history first (the rule wants data in the last "hour" = 60 s).
    tokio::time::sleep(Duration::from_secs(3)).await;

    let hook = &hook;
    let about = |n: &Value, cluster: &str| n["groupLabels"]["cluster_id"] == cluster && n["status"] == "firing";

    // 1. The edge `us` goes silent: its LkeobsMetricsSilent reaches the webhook, grouped by alertname and cluster.
    sending.lock().expect("lock").retain(|c| *c != "us");
    let silent_at = Instant::now();
    let n = wait_for(
        "the us notification",
        Duration::from_secs(60),
        &mut [&mut prom, &mut am],
        || async move { notifications(hook).await.into_iter().find(|n| about(n, "us")) },
    )
    .await;
    let waited = silent_at.elapsed();
    assert_eq!(n["receiver"], "tickets", "{n:#}");
    assert_eq!(
        n["groupLabels"],
        serde_json::json!({"alertname": "LkeobsMetricsSilent", "cluster_id": "us"}),
        "grouped by [alertname, cluster_id] as configured: {n:#}"
    );
    let alerts = n["alerts"].as_array().expect("alerts");
    assert_eq!(alerts.len(), 1, "{n:#}");
    assert_eq!(alerts[0]["labels"]["cluster_id"], "us");
    assert_eq!(alerts[0]["labels"]["severity"], "critical");
    let summary = alerts[0]["annotations"]["summary"].as_str().unwrap_or_default();
    assert!(
        summary.starts_with("Cluster us has sent no metrics to the hub"),
        "{summary}"
    );
    // The silence window (5 "minutes" = 5 s, no `for:`) plus group_wait (2 s), with room for the 1 s
    // evaluation interval and a loaded machine; a notification an hour-equivalent late would fail.
    assert!(waited < Duration::from_secs(40), "the us notification took {waited:?}");
    assert!(
        !notifications(hook)
            .await
            .iter()
            .any(|n| about(n, "hub") || about(n, "fra")),
        "only the silent edge alerts"
    );

    // 2. The hub and the edge fra go silent together: the hub pages, fra is inhibited by it.
    sending.lock().expect("lock").clear();
    wait_for(
        "the hub notification",
        Duration::from_secs(60),
        &mut [&mut prom, &mut am],
        || async move {
            notifications(hook)
                .await
                .into_iter()
                .find(|n| about(n, "hub"))
                .map(|_| ())
        },
    )
    .await;
    let suppressed = format!("{am_base}/api/v2/alerts?filter=cluster_id%3D%22fra%22");
    let fra = wait_for(
        "fra in Alertmanager, inhibited",
        Duration::from_secs(30),
        &mut [&mut prom, &mut am],
        || {
            let r = http.get(&suppressed).send();
            async move {
                let alerts: Value = r.await.ok()?.json().await.ok()?;
                alerts
                    .as_array()?
                    .iter()
                    .find(|a| {
                        a["status"]["state"] == "suppressed"
                            && a["status"]["inhibitedBy"].as_array().is_some_and(|v| !v.is_empty())
                    })
                    .cloned()
            }
        },
    )
    .await;
    assert_eq!(fra["labels"]["alertname"], "LkeobsMetricsSilent", "{fra:#}");
    // Absence cannot be waited on: give Alertmanager three group intervals (2 s each) to (wrongly) notify.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let all = notifications(hook).await;
    assert!(
        !all.iter().any(|n| about(n, "fra")),
        "the edge fra paged although the hub is silent: {all:#?}"
    );
    writer.abort();
}
