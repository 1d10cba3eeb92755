//! The simulator's `ha` engines (`lkeobs::sim::data_path`) on a hub that runs the rendered `ha` manifests:
//! Mimir's Prometheus API only under `/prometheus` and without the gateway's own metrics unless the hub's
//! scraper scrapes them; the rings following the engines' pods (3/3, 2/3 while one is replaced, 3/3 again);
//! the engines' blocks and chunks landing in their buckets with a valid key, and refused (with the reason)
//! for a placeholder bucket, a key not allowed on the bucket, or a missing Secret.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use lkeobs::k8s::{K8s, Manifests};
use lkeobs::linode::NodePoolSpec;
use lkeobs::sim::data_path::DataPath;
use serde_json::{Value, json};
use support::k8s_fake::K8sFake;
use support::s3::{Api, S3};
use support::world::{Latencies, World};
use tokio::time::Instant;

const HUB: &str = "lkeobs-ha-hub";
const REGION: &str = "us-ord";
const SIGNALS: [&str; 3] = ["metrics", "logs", "traces"];

/// An `ha` hub running its rendered manifests, with its buckets and key.
struct Ha {
    world: World,
    fake: Arc<K8sFake>,
    api: Api,
    /// The metrics, logs and traces buckets.
    buckets: Vec<Value>,
    /// An S3 client of the buckets' endpoint with the hub's key.
    s3: S3,
    data: Arc<DataPath>,
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(20)
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The hub's manifests for `fleet/ha.toml` (without mTLS and the gateway firewall: no certificates to
/// make) with the buckets and endpoint given.
fn render(endpoint: &str, buckets: &[Value]) -> String {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fleet/ha.toml"))
        .expect("fleet/ha.toml")
        .replace("mtls = true", "mtls = false")
        .replace("gateway_firewall = true", "gateway_firewall = false");
    let loaded = lkeobs::fleet::parse("ha.toml", &text).expect("the fleet parses");
    let label = |i: usize| buckets[i]["label"].as_str().unwrap_or_default().to_string();
    let inputs = lkeobs::stack::Inputs {
        object_store: Some(lkeobs::stack::ObjectStoreInputs {
            endpoint_host: endpoint.to_string(),
            region: REGION.into(),
            buckets: lkeobs::stack::Buckets {
                metrics: label(0),
                logs: label(1),
                traces: label(2),
            },
        }),
        ..Default::default()
    };
    let renderer = lkeobs::stack::Renderer::new().expect("templates compile");
    renderer
        .render(&loaded.fleet, &loaded.fleet.hub, &inputs)
        .expect("the hub renders")
        .to_stream()
}

fn running(fake: &K8sFake, ns: &str, prefix: &str) -> usize {
    fake.list("v1", "Pod")
        .iter()
        .filter(|p| p["metadata"]["namespace"] == ns && p["status"]["phase"] == "Running")
        .filter(|p| p["metadata"]["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .count()
}

/// An `ha` hub whose key may write to the buckets `writable` names (indexes into metrics, logs, traces).
async fn ha_hub(writable: &[usize]) -> Ha {
    let latencies = Latencies {
        pod_termination: Duration::from_millis(1500),
        ..Latencies::default()
    };
    let world = World::start(&[HUB], latencies).await;
    world.linode.state().object_storage.key_propagation = Duration::ZERO;
    let tags = lkeobs::naming::cluster_tags("ha", "hub", &[]);
    world
        .linode
        .seed_cluster(HUB, REGION, vec![NodePoolSpec::new("g6-standard-4", 3)], &tags)
        .await;
    let k8s: K8s = world.kube(HUB);
    k8s.wait_nodes_ready(3, soon()).await.expect("nodes Ready");
    let api = Api::new(&world.linode.base_url(), support::FAKE_TOKEN);
    let mut buckets = Vec::new();
    for signal in SIGNALS {
        buckets.push(support::s3::bucket(&api, &format!("lkeobs-ha-sim-{signal}"), REGION, json!({})).await);
    }
    let grants: Vec<Value> = writable
        .iter()
        .map(|&i| json!({"region": REGION, "bucket_name": buckets[i]["label"], "permissions": "read_write"}))
        .collect();
    let (key, s3) = support::s3::key(&api, &buckets[0], Some(json!(grants))).await;
    let endpoint = buckets[0]["s3_endpoint"].as_str().expect("s3_endpoint").to_string();
    let stream = render(&endpoint, &buckets);
    let manifests = Manifests::parse([("hub.yaml", stream.as_str())]).expect("manifests parse");
    k8s.apply(&manifests, soon()).await.expect("apply the hub");
    let fake = world.k8s(HUB).expect("the hub's API");
    let s = |k: &str| key[k].as_str().unwrap_or_default().to_string();
    fake.put(json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "lkeobs-object-storage", "namespace": "monitoring"},
        "data": {"AWS_ACCESS_KEY_ID": b64(&s("access_key")), "AWS_SECRET_ACCESS_KEY": b64(&s("secret_key"))}}));
    support::eventually("the engines, the gateway and the agents running", || {
        ["mimir-", "loki-", "tempo-"]
            .iter()
            .all(|e| running(&fake, "monitoring", e) == 3)
            && running(&fake, "observability-hub", "otel-gateway-") > 0
            && running(&fake, "observability", "otel-agent-") > 0
    })
    .await;
    let data = world.data_path().await;
    Ha {
        world,
        fake,
        api,
        buckets,
        s3,
        data,
    }
}

async fn get(url: &str, accept: &str) -> (u16, String) {
    let r = reqwest::Client::new()
        .get(url)
        .header("accept", accept)
        .send()
        .await
        .expect("request");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

/// The result of an instant query on Mimir.
async fn mimir_query(base: &str, query: &str) -> Vec<Value> {
    let url = format!("{base}/prometheus/api/v1/query?query={}", urlencode(query));
    let (code, body) = get(&url, "application/json").await;
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("JSON");
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// `(id, state)` of each shard of a ring page's JSON.
async fn ring(base: &str, path: &str) -> Vec<(String, String)> {
    let (code, body) = get(&format!("{base}{path}"), "application/json").await;
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("ring JSON");
    assert!(v["now"].is_string(), "{v:#}");
    v["shards"]
        .as_array()
        .expect("shards")
        .iter()
        .map(|s| {
            for field in [
                "address",
                "timestamp",
                "registered_timestamp",
                "read_only_updated_timestamp",
                "zone",
            ] {
                assert!(s[field].is_string(), "{field} in {s:#}");
            }
            assert!(s["tokens"].as_array().is_some_and(|t| !t.is_empty()), "{s:#}");
            assert_eq!(s["read_only"], false);
            (
                s["id"].as_str().unwrap_or_default().into(),
                s["state"].as_str().unwrap_or_default().into(),
            )
        })
        .collect()
}

fn active(shards: &[(String, String)]) -> usize {
    shards.iter().filter(|(_, s)| s == "ACTIVE").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mimir_answers_under_its_prefix_and_the_rings_follow_the_engines_pods() {
    let ha = ha_hub(&[0, 1, 2]).await;
    assert_eq!(
        ha.data.broken_links(),
        Vec::<(String, String)>::new(),
        "the hub's data reaches its engines"
    );
    let mimir = ha.data.url_on(HUB, "mimir").await.expect("Mimir");

    let (code, body) = get(&format!("{mimir}/ready"), "*/*").await;
    assert_eq!((code, body.as_str()), (200, "ready"));
    let (code, _) = get(&format!("{mimir}/api/v1/query?query=up"), "*/*").await;
    assert_eq!(code, 404, "Mimir serves the Prometheus API only under /prometheus");
    let (code, body) = get(&format!("{mimir}/prometheus/api/v1/alerts"), "*/*").await;
    assert_eq!(code, 200, "{body}");
    let nodes = mimir_query(&mimir, "k8s_node_cpu_usage{cluster_id=\"hub\"}").await;
    assert_eq!(
        nodes.len(),
        3,
        "the hub's node metrics, remote-written by the gateway: {nodes:?}"
    );
    // The hub's scraper scrapes the gateway (its `otel-gateway` job and the policies that let it reach
    // :8888 are rendered in mode "ha"): Mimir scrapes nothing itself.
    let own = "otelcol_receiver_accepted_spans_total{job=\"otel-gateway\"}";
    let scraped = mimir_query(&mimir, own).await;
    assert!(
        !scraped.is_empty(),
        "scraped by the hub's scraper and sent through the gateway"
    );
    assert_eq!(scraped[0]["metric"]["cluster_id"], "hub", "{scraped:?}");
    // Without the policy that lets the gateway be scraped, nothing.
    let policies = ha.fake.list("networking.k8s.io/v1", "NetworkPolicy");
    let gateway_in = policies
        .iter()
        .find(|p| p["metadata"]["namespace"] == "observability-hub" && p.to_string().contains("otel-scraper"))
        .cloned()
        .expect("the gateway's ingress policy naming the scraper");
    let mut closed = gateway_in.clone();
    let rules: Vec<serde_json::Value> = closed["spec"]["ingress"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| !r.to_string().contains("otel-scraper"))
        .collect();
    closed["spec"]["ingress"] = json!(rules);
    ha.fake.put(closed);
    assert!(
        mimir_query(&mimir, own).await.is_empty(),
        "the scraper reaches no gateway pod on 8888 without the gateway's ingress rule"
    );
    ha.fake.put(gateway_in);
    // Without the scraper's job, nothing either.
    let cm = ha
        .fake
        .get("v1", "ConfigMap", Some("observability"), "otel-scraper")
        .expect("scraper config");
    let mut scraper = cm.clone();
    let config = cm["data"]["config.yaml"].as_str().expect("config.yaml").replace(
        "        - job_name: otel-gateway\n",
        "        - job_name: otel-gateway-renamed\n",
    );
    assert_ne!(config, cm["data"]["config.yaml"].as_str().unwrap_or_default());
    scraper["data"]["config.yaml"] = json!(config);
    ha.fake.put(scraper);
    assert!(
        mimir_query(&mimir, own).await.is_empty(),
        "the gateway's own series without the scraper's otel-gateway job"
    );
    ha.fake.put(cm);
    let scraped = mimir_query(&mimir, own).await;
    assert_eq!(scraped[0]["metric"]["cluster_id"], "hub", "{scraped:?}");

    let loki = ha.data.url_on(HUB, "loki").await.expect("Loki");
    let tempo = ha.data.url_on(HUB, "tempo").await.expect("Tempo");
    for (base, path, engine) in [
        (&mimir, "/ingester/ring", "mimir"),
        (&loki, "/ring", "loki"),
        (&tempo, "/ingester/ring", "tempo"),
    ] {
        let shards = ring(base, path).await;
        let ids: Vec<&str> = shards.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, [0, 1, 2].map(|i| format!("{engine}-{i}")), "{engine}");
        assert_eq!(active(&shards), 3, "{engine}: {shards:?}");
    }
    let (code, html) = get(&format!("{mimir}/ingester/ring"), "text/html").await;
    assert!(
        code == 200 && html.contains("<table>") && html.contains("mimir-2"),
        "{html}"
    );

    // mimir-1 is evicted (a node drain): it leaves the ring as it shuts down, and its replacement joins
    // once it runs.
    let url = format!("{}/api/v1/namespaces/monitoring/pods/mimir-1/eviction", ha.fake.uri());
    let eviction = json!({"apiVersion": "policy/v1", "kind": "Eviction",
        "metadata": {"name": "mimir-1", "namespace": "monitoring"}});
    let r = ha
        .fake
        .http()
        .post(url)
        .bearer_auth(ha.fake.token())
        .json(&eviction)
        .send()
        .await
        .expect("evict");
    assert!(r.status().is_success(), "{}", r.text().await.unwrap_or_default());
    let evicted = ha
        .fake
        .get("v1", "Pod", Some("monitoring"), "mimir-1")
        .expect("mimir-1 shutting down");
    assert!(!evicted["metadata"]["deletionTimestamp"].is_null(), "{evicted:#}");
    let shards = ring(&mimir, "/ingester/ring").await;
    assert_eq!(active(&shards), 2, "{shards:?}");
    assert!(!shards.iter().any(|(id, _)| id == "mimir-1"), "{shards:?}");
    let deadline = Instant::now() + support::EVENTUALLY;
    while active(&ring(&mimir, "/ingester/ring").await) < 3 {
        assert!(Instant::now() < deadline, "mimir-1's replacement never became ACTIVE");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(ring(&mimir, "/ingester/ring").await.len(), 3);
    drop(ha.world);
}

/// A sample of now in the hub's stores (Mimir holds it): something new to flush.
fn fresh_sample(data: &DataPath) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    data.seed(|st| {
        st.sample(
            lkeobs::sim::data_store::labels(&[("__name__", "lkeobs_test")]),
            now,
            1.0,
        )
    });
}

/// The keys of the objects in a bucket (ListObjectsV2).
async fn keys(s3: &S3, bucket: &Value) -> Vec<String> {
    let label = bucket["label"].as_str().unwrap_or_default();
    let answer = s3.send("GET", &format!("/{label}?list-type=2"), &[], b"").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    support::s3::tags(&answer.body, "Key")
}

async fn objects(api: &Api, bucket: &Value) -> (u64, u64) {
    let path = format!(
        "/object-storage/buckets/{REGION}/{}",
        bucket["label"].as_str().unwrap_or_default()
    );
    let (status, b) = api.call("GET", &path, None).await;
    assert_eq!(status, 200, "{b}");
    (
        b["objects"].as_u64().unwrap_or_default(),
        b["size"].as_u64().unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_engines_write_their_blocks_and_chunks_to_their_buckets_when_due() {
    let ha = ha_hub(&[0, 1, 2]).await;
    // Not before their time: Mimir's block range is 2h, Loki's chunks age 2h, Tempo's blocks 5m.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for b in &ha.buckets {
        assert_eq!(
            objects(&ha.api, b).await,
            (0, 0),
            "{} before any flush is due",
            b["label"]
        );
    }
    ha.data.flush_after(Duration::ZERO);
    let deadline = Instant::now() + support::EVENTUALLY;
    loop {
        let mut counts = Vec::new();
        for b in &ha.buckets {
            counts.push(objects(&ha.api, b).await.0);
        }
        if counts.iter().all(|&c| c > 0) {
            break;
        }
        let errors = ha.data.flush_errors();
        assert!(Instant::now() < deadline, "no flush landed: {counts:?} {errors:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ha.data.flush_errors(), Vec::new());
    let metrics = keys(&ha.s3, &ha.buckets[0]).await;
    let blocks: Vec<&String> = metrics.iter().filter(|k| k.ends_with("/meta.json")).collect();
    assert!(
        !blocks.is_empty() && blocks.len().is_multiple_of(3),
        "a block per ingester (replication factor 3): {metrics:?}"
    );
    for meta in blocks {
        let ulid = meta
            .strip_prefix("anonymous/")
            .and_then(|r| r.strip_suffix("/meta.json"));
        assert!(ulid.is_some_and(|u| u.len() == 26), "{meta}");
        let block = meta.trim_end_matches("meta.json");
        assert!(metrics.contains(&format!("{block}chunks/000001")), "{metrics:?}");
        assert!(metrics.contains(&format!("{block}index")), "{metrics:?}");
    }
    let logs = keys(&ha.s3, &ha.buckets[1]).await;
    assert!(
        logs.iter()
            .any(|k| k.starts_with("fake/") && k.matches(':').count() == 2),
        "{logs:?}"
    );
    assert!(
        logs.iter()
            .any(|k| k.starts_with("index/index_") && k.ends_with(".tsdb.gz")),
        "{logs:?}"
    );
    let traces = keys(&ha.s3, &ha.buckets[2]).await;
    assert!(
        traces
            .iter()
            .any(|k| k.starts_with("single-tenant/") && k.ends_with("/data.parquet")),
        "{traces:?}"
    );
    assert!(traces.iter().any(|k| k.ends_with("/meta.json")), "{traces:?}");
    let (count, size) = objects(&ha.api, &ha.buckets[0]).await;
    assert_eq!(count as usize, metrics.len());
    assert!(size > 0);
    drop(ha.world);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_fail_with_a_key_not_allowed_on_the_bucket_a_placeholder_bucket_or_no_secret() {
    // The key may write to the metrics bucket only.
    let ha = ha_hub(&[0]).await;
    ha.data.flush_now();
    let errors = ha.data.flush_errors();
    let engines: Vec<&str> = errors.iter().map(|e| e.engine.as_str()).collect();
    assert_eq!(engines, ["loki", "tempo"], "{errors:?}");
    assert!(
        errors.iter().all(|e| e.reason.contains("403 AccessDenied")),
        "{errors:?}"
    );
    assert_eq!(errors[0].bucket, ha.buckets[1]["label"].as_str().unwrap_or_default());
    assert_eq!(objects(&ha.api, &ha.buckets[1]).await, (0, 0));
    assert_eq!(objects(&ha.api, &ha.buckets[2]).await, (0, 0));
    let landed = objects(&ha.api, &ha.buckets[0]).await;
    assert!(landed.0 > 0, "the metrics bucket is writable");

    // Mimir's config names the placeholder bucket offline rendering writes.
    let cm = ha
        .fake
        .get("v1", "ConfigMap", Some("monitoring"), "mimir")
        .expect("mimir config");
    let mut placeholder = cm.clone();
    let label = ha.buckets[0]["label"].as_str().unwrap_or_default();
    placeholder["data"]["mimir.yaml"] = json!(
        cm["data"]["mimir.yaml"]
            .as_str()
            .unwrap_or_default()
            .replace(label, "pending-up")
    );
    ha.fake.put(placeholder);
    fresh_sample(&ha.data);
    ha.data.flush_now();
    let mimir = mimir_errors(&ha.data);
    assert_eq!(mimir.len(), 1, "{mimir:?}");
    assert_eq!(mimir[0].bucket, "pending-up");
    assert!(mimir[0].reason.contains("NoSuchBucket"), "{mimir:?}");
    assert_eq!(objects(&ha.api, &ha.buckets[0]).await, landed, "nothing more landed");

    // Back to the real bucket, but the Secret is gone: the engines cannot even start their containers.
    ha.fake.put(cm);
    ha.fake
        .delete("v1", "Secret", Some("monitoring"), "lkeobs-object-storage");
    fresh_sample(&ha.data);
    ha.data.flush_now();
    let mimir = mimir_errors(&ha.data);
    assert!(
        mimir.len() == 1
            && mimir[0].reason.contains("lkeobs-object-storage")
            && mimir[0].reason.contains("CreateContainerConfigError"),
        "{mimir:?}"
    );
    assert_eq!(objects(&ha.api, &ha.buckets[0]).await, landed, "nothing more landed");
    drop(ha.world);
}

/// Why Mimir's last writes failed.
fn mimir_errors(data: &lkeobs::sim::data_path::DataPath) -> Vec<lkeobs::sim::data_path::FlushError> {
    data.flush_errors()
        .into_iter()
        .filter(|e| e.engine == "mimir")
        .collect()
}
