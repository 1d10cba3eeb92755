//! `lkeobs up` of a hub in mode "ha" against the simulator: the buckets, the key and the engines' Secret
//! from empty, a re-run that writes nothing, a run killed after the bucket creates, and the refused switch
//! of a running hub between modes.

use crate::e2e;
use crate::support;

use base64::Engine as _;
use e2e::{Dir, LABELS};
use serde_json::Value;
use support::world::{Latencies, World};

/// [`e2e::FLEET`] with its hub in mode "ha" on three nodes.
pub const HA_FLEET: &str = r#"# the e2e fleet, ha hub
[fleet]
name = "e2e"
k8s_version = "1.32"
tags = ["team-obs"]

[hub]
region = "us-ord"
pools = [{ type = "g6-standard-8", count = 3 }]
mode = "ha"

[hub.ha]
retention = { metrics = "30d", logs = "14d", traces = "7d" }

[edges.us]
region = "us-ord"
pools = [{ type = "g6-standard-1", count = 1 }]

[security]
gateway_firewall = true
mtls = true

[stack]
retention = "1d"
"#;

async fn world() -> World {
    let w = World::start(LABELS, Latencies::default()).await;
    w.linode.state().kubeconfig_retry_after_secs = 0;
    w.linode.state().object_storage.key_propagation = std::time::Duration::ZERO;
    w
}

fn hub_object(world: &World, kind: &str, ns: &str, name: &str) -> Option<Value> {
    let api = if kind == "StatefulSet" { "apps/v1" } else { "v1" };
    world.k8s("lkeobs-e2e-hub")?.get(api, kind, Some(ns), name)
}

fn bucket_names(world: &World) -> Vec<String> {
    let st = world.linode.state();
    let mut names: Vec<String> = st.object_storage.buckets.keys().cloned().collect();
    names.sort();
    names
}

fn key_labels(world: &World) -> Vec<String> {
    let st = world.linode.state();
    st.object_storage.keys.values().map(|k| k.label.clone()).collect()
}

fn secret_value(secret: &Value, key: &str) -> String {
    let b64 = secret["data"][key].as_str().unwrap_or_default();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap_or_default();
    String::from_utf8(raw).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn up_of_an_ha_hub_makes_its_buckets_key_and_secret_and_a_rerun_writes_nothing() {
    let world = world().await;
    let dir = Dir::new(HA_FLEET);
    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "up failed:\n{stderr}\n{report:#}");

    // Three buckets of the fleet under one suffix, one limited key on exactly them.
    let buckets = bucket_names(&world);
    assert_eq!(buckets.len(), 3, "{buckets:?}");
    assert!(
        buckets.iter().all(|b| b.starts_with("us-ord/lkeobs-e2e-")),
        "{buckets:?}"
    );
    assert_eq!(key_labels(&world), ["lkeobs-e2e"]);
    let (access_key, key_buckets) = {
        let st = world.linode.state();
        let key = st.object_storage.keys.values().next().expect("the key").clone();
        (key.access_key.clone(), key.bucket_access.len())
    };
    assert_eq!(key_buckets, 3);

    // The engines' Secret holds that key; the engines' configs name the buckets and the host from the API.
    let secret = hub_object(&world, "Secret", "monitoring", "lkeobs-object-storage").expect("the engines' Secret");
    assert_eq!(secret_value(&secret, "AWS_ACCESS_KEY_ID"), access_key);
    let secret_key = secret_value(&secret, "AWS_SECRET_ACCESS_KEY");
    assert!(secret_key.len() >= 16, "a real secret key");
    for (engine, signal) in [("mimir", "metrics"), ("loki", "logs"), ("tempo", "traces")] {
        let cm = hub_object(&world, "ConfigMap", "monitoring", engine).unwrap_or_else(|| panic!("{engine} config"));
        let config = cm["data"].as_object().map(|d| format!("{d:?}")).unwrap_or_default();
        let bucket = buckets
            .iter()
            .find(|b| b.ends_with(&format!("-{signal}")))
            .and_then(|b| b.strip_prefix("us-ord/"))
            .expect("bucket");
        assert!(config.contains(bucket), "{engine} does not name {bucket}");
        assert!(!config.contains("pending-up"), "{engine} still has placeholders");
        assert!(
            !config.contains(&secret_key),
            "{engine}'s ConfigMap holds the secret key"
        );
    }
    assert!(
        hub_object(&world, "StatefulSet", "monitoring", "prometheus").is_none()
            && hub_object(&world, "StatefulSet", "monitoring", "mimir").is_some(),
        "an ha hub runs Mimir, not Prometheus"
    );

    // The report lists what was made, never the secret key.
    let hub = report["clusters"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "hub"))
        .cloned()
        .unwrap_or_default();
    let kinds: Vec<&str> = hub["changes"]
        .as_array()
        .map(|c| c.iter().filter_map(|d| d["kind"].as_str()).collect())
        .unwrap_or_default();
    assert!(kinds.contains(&"object_storage_key_stored"), "{hub:#}");
    let created: Vec<&Value> = hub["changes"]
        .as_array()
        .map(|c| c.iter().filter(|d| d["kind"] == "object_storage").collect())
        .unwrap_or_default();
    assert!(
        created
            .iter()
            .filter(|d| d["change"]["change"] == "bucket_created")
            .count()
            == 3,
        "{hub:#}"
    );
    assert!(!report.to_string().contains(&secret_key), "the report leaks the key");
    assert!(!stderr.contains(&secret_key), "stderr leaks the key");

    // The re-run: nothing written on Linode, over S3 or in any cluster.
    e2e::clear_logs(&world);
    let (code, again, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "re-run failed:\n{stderr}\n{again:#}");
    assert_eq!(e2e::linode_writes(&world), Vec::<String>::new());
    assert_eq!(e2e::k8s_writes(&world), Vec::<String>::new());
    assert_eq!(bucket_names(&world), buckets);
    assert_eq!(key_labels(&world), ["lkeobs-e2e"]);
}

/// A run stopped after the bucket creates (as `ensure_buckets` leaves the account), then one whose key's
/// create answer was lost before the Secret was written: the re-runs finish with three buckets and one key.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_stopped_after_the_buckets_or_the_key_resumes_without_a_second_bucket_or_key() {
    use lkeobs::ops::hub_storage;
    let world = world().await;
    let client = world.linode.client();
    let pre = hub_storage::preflight(&client, "us-ord").await.expect("preflight");
    hub_storage::ensure_buckets(&client, "e2e", &pre)
        .await
        .expect("buckets");
    let before = bucket_names(&world);
    assert_eq!(before.len(), 3);
    // The key made too, its secret lost (no hub yet to hold it).
    hub_storage::ensure(&client, "e2e", &pre, None, None)
        .await
        .expect("key");
    assert_eq!(key_labels(&world), ["lkeobs-e2e"]);

    let dir = Dir::new(HA_FLEET);
    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "up failed:\n{stderr}\n{report:#}");
    assert_eq!(bucket_names(&world), before, "no second bucket");
    assert_eq!(key_labels(&world), ["lkeobs-e2e"], "one key: the lost one revoked");
    let secret = hub_object(&world, "Secret", "monitoring", "lkeobs-object-storage").expect("the engines' Secret");
    let st = world.linode.state();
    let key = st.object_storage.keys.values().next().expect("key");
    assert_eq!(secret_value(&secret, "AWS_ACCESS_KEY_ID"), key.access_key);
}

/// `up` killed (SIGKILL, as a lost CI runner) after its bucket creates, while the key's create answer is on
/// its way (the key exists; its secret, given only in that answer, never reached the run), then run again:
/// the same three buckets, and one key (the lost one revoked, a new one in the engines' Secret).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn up_killed_after_the_bucket_creates_then_rerun_makes_no_second_bucket_or_key() {
    let world = world().await;
    {
        let mut st = world.linode.state();
        st.faults.lose_answers_to = Some("/object-storage/keys".into());
        st.faults.lost_answer_delay = std::time::Duration::from_secs(60);
    }
    let dir = Dir::new(HA_FLEET);
    let mut cmd = dir.command(&world, &["up", "--no-verify"]);
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("lkeobs starts");
    support::eventually_for("up to create the key", std::time::Duration::from_secs(120), || {
        world.linode.state().object_storage.keys.len() == 1
    })
    .await;
    child.kill().expect("kill");
    let _ = child.wait();
    let buckets = bucket_names(&world);
    assert_eq!(buckets.len(), 3, "{buckets:?}");
    let lost = world.linode.state().object_storage.keys.values().next().map(|k| k.id);
    assert!(
        hub_object(&world, "Secret", "monitoring", "lkeobs-object-storage").is_none(),
        "the run died before it knew the key"
    );

    world.linode.state().faults.lose_answers_to = None;
    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "re-run failed:\n{stderr}\n{report:#}");
    assert_eq!(bucket_names(&world), buckets, "no second bucket");
    assert_eq!(key_labels(&world), ["lkeobs-e2e"], "one key");
    let st = world.linode.state();
    let key = st.object_storage.keys.values().next().expect("key");
    assert_ne!(Some(key.id), lost, "the key whose secret was lost is revoked");
    let secret = hub_object(&world, "Secret", "monitoring", "lkeobs-object-storage").expect("the engines' Secret");
    assert_eq!(secret_value(&secret, "AWS_ACCESS_KEY_ID"), key.access_key);
}

/// A hub running mode "single" is not switched to "ha" without `--accept-new-hub-storage`: exit 2 naming
/// the fleet file, nothing written; with it, the switch is made and Prometheus' volume claim is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn switching_a_running_hub_to_ha_needs_the_flag_and_keeps_the_old_volumes() {
    let world = world().await;
    let single = HA_FLEET.replace("mode = \"ha\"\n", "").replace(
        "[hub.ha]\nretention = { metrics = \"30d\", logs = \"14d\", traces = \"7d\" }\n",
        "",
    );
    let dir = Dir::new(&single);
    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "up single failed:\n{stderr}\n{report:#}");
    let claims = |world: &World| -> Vec<String> {
        let mut v: Vec<String> = world
            .k8s("lkeobs-e2e-hub")
            .map(|k| k.list("v1", "PersistentVolumeClaim"))
            .unwrap_or_default()
            .iter()
            .filter_map(|c| c["metadata"]["name"].as_str().map(str::to_string))
            .collect();
        v.sort();
        v
    };
    let prometheus_claims: Vec<String> = claims(&world)
        .into_iter()
        .filter(|c| c.contains("prometheus"))
        .collect();
    assert!(!prometheus_claims.is_empty(), "Prometheus has a volume claim");

    std::fs::write(dir.fleet(), HA_FLEET).expect("fleet file");
    e2e::clear_logs(&world);
    let (code, out, err) = dir.run_text_full(&world, &["plan"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("switches from mode \"single\" to \"ha\"") && out.contains("--accept-new-hub-storage"),
        "{out}\n{err}"
    );
    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 2, "{stderr}\n{report:#}");
    let said = format!("{stderr}{report}");
    assert!(
        said.contains("fleet.toml") && said.contains("--accept-new-hub-storage"),
        "{said}"
    );
    assert_eq!(e2e::linode_writes(&world), Vec::<String>::new());
    assert_eq!(e2e::k8s_writes(&world), Vec::<String>::new());

    let (code, report, stderr) = dir
        .run(&world, &["up", "--no-verify", "--accept-new-hub-storage"])
        .await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    assert_eq!(bucket_names(&world).len(), 3);
    assert!(hub_object(&world, "StatefulSet", "monitoring", "prometheus").is_none());
    let kept = claims(&world);
    for c in &prometheus_claims {
        assert!(kept.contains(c), "{c} was deleted: {kept:?}");
    }
}

fn probes(report: &Value) -> Vec<Value> {
    report["verification"]["probes"]
        .as_array()
        .or_else(|| report["outcomes"].as_array())
        .cloned()
        .unwrap_or_default()
}

fn outcome<'a>(probes: &'a [Value], name: &str) -> Option<&'a Value> {
    probes.iter().find(|p| p["name"] == name)
}

/// The whole life of an `ha` hub on the simulator's engines: `up` verified (rings 3/3), `verify --canary`
/// before the engines flushed (the bucket probes say why they wait) and after (objects in all three
/// buckets), one engine pod evicted with `verify` still passing, then `teardown` leaving nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_ha_hub_is_verified_with_its_rings_its_buckets_and_a_canary_and_torn_down_to_nothing() {
    let world = world().await;
    let data = world.data_path().await;
    let dir = Dir::new(HA_FLEET);
    let (code, report, stderr) = dir.run(&world, &["up", "--verify-wait", "2m"]).await;
    assert_eq!(code, 0, "up failed:\n{stderr}\n{report:#}");
    let verified = probes(&report);
    for ring in ["ring/mimir", "ring/loki", "ring/tempo"] {
        let o = outcome(&verified, ring).unwrap_or_else(|| panic!("{ring} in {verified:#?}"));
        assert_eq!(o["outcome"], "pass", "{o:#}");
        assert!(
            o["detail"].as_str().unwrap_or_default().starts_with("3/3 ACTIVE"),
            "{o:#}"
        );
    }
    // Mimir holds the clusters' series: the Prometheus probes read it under /prometheus.
    let series = outcome(&verified, "prometheus/series").expect("prometheus/series");
    assert_eq!(series["outcome"], "pass", "{series:#}");
    // Nothing flushed yet (Mimir's 2h block range): said, not failed.
    let bucket = outcome(&verified, "bucket/mimir").expect("bucket/mimir");
    assert_eq!(bucket["outcome"], "skip", "{bucket:#}");
    assert!(
        bucket["detail"].as_str().unwrap_or_default().contains("2h block range"),
        "{bucket:#}"
    );
    let gateway = outcome(&verified, "gateway/counters").expect("gateway/counters");
    assert_eq!(
        gateway["outcome"], "pass",
        "the hub's scraper feeds Mimir the gateway's own counters: {gateway:#}"
    );

    // The engines flush: every bucket holds what its engine wrote.
    data.flush_now();
    assert_eq!(data.flush_errors(), Vec::new(), "the engines' writes land");
    let (code, report, stderr) = dir.run(&world, &["verify", "--canary"]).await;
    assert_eq!(code, 0, "verify failed:\n{stderr}\n{report:#}");
    let found = probes(&report);
    for name in [
        "bucket/mimir",
        "bucket/loki",
        "bucket/tempo",
        "canary/trace",
        "canary/log",
        "canary/metric",
    ] {
        let o = outcome(&found, name).unwrap_or_else(|| panic!("{name} in {found:#?}"));
        assert_eq!(o["outcome"], "pass", "{o:#}");
    }

    // One Mimir replica evicted: the other two hold the quorum, and verify passes (its rounds see the
    // replacement join the ring).
    let hub = world.kube("lkeobs-e2e-hub");
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(hub.client().clone(), "monitoring");
    pods.evict("mimir-1", &Default::default()).await.expect("evict mimir-1");
    let (code, report, stderr) = dir.run(&world, &["verify", "--canary", "--wait", "1m"]).await;
    assert_eq!(code, 0, "verify with a Mimir replica evicted:\n{stderr}\n{report:#}");
    let after = probes(&report);
    for name in ["prometheus/series", "canary/metric", "ring/mimir"] {
        let o = outcome(&after, name).unwrap_or_else(|| panic!("{name} in {after:#?}"));
        assert_eq!(o["outcome"], "pass", "{o:#}");
    }
    eprintln!("verify after the eviction: {} round(s)", report["rounds"]);

    let (code, report, stderr) = dir.run(&world, &["teardown", "--yes"]).await;
    assert_eq!(code, 0, "teardown failed:\n{stderr}\n{report:#}");
    assert_eq!(report["left"], serde_json::json!([]), "{report:#}");
    let st = world.linode.state();
    assert!(st.object_storage.buckets.is_empty(), "buckets left");
    assert!(st.object_storage.keys.is_empty(), "keys left");
    assert!(st.clusters.is_empty() && st.nodebalancers.is_empty() && st.volumes.is_empty());
}
