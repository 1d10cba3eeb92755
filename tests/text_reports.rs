//! Snapshots of the text reports people read (`plan`, `up`, `status`, `verify`, `teardown`, `loadtest`), run as the
//! binary against the fakes, with only the volatile parts (times, ids, addresses, temp paths) redacted:
//! the guard that a restructure leaves every word of them as it was.

use crate::e2e;
use crate::loadtest_fixtures;
use crate::probes_fixtures;
use crate::support;
use crate::tooling;

use std::path::Path;

use e2e::{Dir, FLEET, LABELS};
use regex::Regex;
use support::FAKE_TOKEN;
use support::k8s_fake::K8sFake;
use support::linode_fake::LinodeFake;
use support::world::{Latencies, World};
use wiremock::MockServer;

/// What changes from run to run, each replaced by a placeholder that says what stood there. The ids
/// are the ones the fake handed out (by value, so a port such as 4317 is never mistaken for one).
struct Redactions {
    tmp: String,
    ids: Vec<u64>,
}

impl Redactions {
    fn apply(&self, text: &str) -> String {
        // Whether the cloud controller deleted the gateway's NodeBalancer before its cluster went, or
        // teardown's sweep did, is a race the report tells truthfully; the snapshot leaves that line out.
        let mut kept: Vec<&str> = text
            .split('\n')
            .filter(|l| !l.contains("left behind by the platform"))
            .collect();
        if kept.is_empty() {
            kept.push("");
        }
        let text = kept.join("\n");
        let mut out = text.replace(&self.tmp, "<tmp>");
        for id in &self.ids {
            out = Regex::new(&format!(r"\b{id}\b"))
                .expect("id regex")
                .replace_all(&out, "<id>")
                .into_owned();
        }
        for (pattern, with) in [
            // The expiry tag's Unix time (now + ttl).
            (r"lkeobs-expires-\d+", "lkeobs-expires-<unix time>"),
            // Addresses the fake hands out in the order of the (concurrent) creates: NodeBalancers,
            // node public and private IPv4.
            (r"\b(198\.51\.100|203\.0\.113|192\.168\.128)\.\d{1,3}\b", "<ip>"),
            // The simulator's port (the API line at the top of every online report).
            (r"http://127\.0\.0\.1:\d+", "http://127.0.0.1:<port>"),
            // Object uids of the fake Kubernetes API (its resourceVersion at create).
            (r"\buid-\d+\b", "uid-<n>"),
            // Wall-clock times of progress lines.
            (r"\b\d{2}:\d{2}:\d{2}\b", "<clock>"),
            // Durations: 9ms, 531ms, 1.2s, 30s, 0m00s, 1h2m3s.
            (r"\b(\d+h)?(\d+m)?\d+(\.\d+)?(ms|s)\b", "<dur>"),
        ] {
            out = Regex::new(pattern)
                .expect("redaction regex")
                .replace_all(&out, with)
                .into_owned();
        }
        out
    }
}

/// Collapses column padding to two spaces (indentation kept): for tables with a redacted column,
/// whose padding follows the width of the value that was there.
fn collapse_padding(text: &str) -> String {
    let runs = Regex::new(r"(\S)  +").expect("padding regex");
    text.lines()
        .map(|l| runs.replace_all(l.trim_end(), "$1  ").into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The command's exit code, then its stdout, then its stderr (when it wrote any).
fn report(code: i32, stdout: &str, stderr: &str) -> String {
    let mut s = format!("exit {code}\n--- stdout\n{stdout}");
    if !stderr.is_empty() {
        s.push_str(&format!("--- stderr\n{stderr}"));
    }
    s
}

/// The ids of everything in the fake's account.
fn ids(linode: &LinodeFake) -> Vec<u64> {
    let st = linode.state();
    let mut ids: Vec<u64> = st
        .clusters
        .keys()
        .chain(st.pools.keys())
        .chain(st.firewalls.keys())
        .chain(st.nodebalancers.keys())
        .chain(st.instances.keys())
        .chain(st.volumes.keys())
        .copied()
        .collect();
    // Longest first, so that no id is replaced inside a longer one.
    ids.sort_by_key(|id| std::cmp::Reverse(id.to_string().len()));
    ids
}

/// Stderr with its progress lines (`HH:MM:SS cluster step`) grouped by cluster, after the other lines:
/// the clusters run concurrently, so their lines interleave differently on every run, while each
/// cluster's own sequence is fixed. The sort is stable, so nothing else moves.
fn progress_by_cluster(stderr: &str) -> String {
    let clock = Regex::new(r"^\d{2}:\d{2}:\d{2} ").expect("clock regex");
    let mut lines: Vec<&str> = stderr.lines().collect();
    lines.sort_by_key(|l| {
        clock
            .is_match(l)
            .then(|| l.split_whitespace().nth(1).unwrap_or_default().to_string())
    });
    lines.join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn plan_up_plan_status_verify_teardown_read_as_before() {
    let world = World::start(LABELS, Latencies::default()).await;
    world.linode.state().kubeconfig_retry_after_secs = 0;
    let dir = Dir::new(FLEET);
    let mut r = Redactions {
        tmp: dir.tmp.path().display().to_string(),
        ids: Vec::new(),
    };

    let (code, out, err) = dir.run_text_full(&world, &["plan"]).await;
    insta::assert_snapshot!("plan_empty_account", r.apply(&report(code, &out, &err)));

    let (code, out, err) = dir.run_text_full(&world, &["up", "--no-verify"]).await;
    r.ids = ids(&world.linode);
    assert!(!r.ids.is_empty(), "up created nothing");
    insta::assert_snapshot!("up_fresh", collapse_padding(&r.apply(&report(code, &out, ""))));
    insta::assert_snapshot!("up_fresh_progress", r.apply(&progress_by_cluster(&err)));

    let (code, out, err) = dir.run_text_full(&world, &["plan"]).await;
    insta::assert_snapshot!("plan_after_up", r.apply(&report(code, &out, &err)));

    // The hub's backends answer 404 to everything: the pods pass, every data probe fails, the same
    // way each run. (Without a stand-in the port-forward fails, and which reason the report then
    // gives is a race: the kubelet's error, or "connection closed before message completed".)
    let _backends = answer_404(&world.k8s("lkeobs-e2e-hub").expect("hub API")).await;
    let (code, out, err) = dir.run_text_full(&world, &["status"]).await;
    insta::assert_snapshot!("status_after_up", r.apply(&report(code, &out, &err)));

    let (code, out, err) = dir.run_text_full(&world, &["verify"]).await;
    insta::assert_snapshot!("verify_failing", collapse_padding(&r.apply(&report(code, &out, &err))));

    let (code, out, err) = dir.run_text_full(&world, &["teardown", "--yes"]).await;
    insta::assert_snapshot!("teardown", r.apply(&report(code, &out, &err)));
}

/// Stands in for the hub's Prometheus, Loki, Tempo and gateway health with a server that answers 404
/// to everything (kept running while the returned server lives).
async fn answer_404(hub: &K8sFake) -> MockServer {
    let server = MockServer::start().await;
    let pod = |ns: &str, app: &str| {
        hub.list("v1", "Pod")
            .into_iter()
            .filter(|p| p["metadata"]["namespace"] == ns)
            .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
            .find(|n| n.starts_with(&format!("{app}-")))
            .unwrap_or_else(|| panic!("no {app} pod in {ns} on the hub"))
    };
    for (ns, app, port) in [
        ("monitoring", "prometheus", 9090),
        ("monitoring", "loki", 3100),
        ("monitoring", "tempo", 3200),
        ("observability-hub", "otel-gateway", 13133),
    ] {
        hub.stand_in(ns, &pod(ns, app), port, *server.address());
    }
    server
}

/// The probe fixtures' fleet without its third cluster: a hub and one edge, both there and healthy.
fn two_cluster_fleet() -> String {
    let cut = probes_fixtures::FLEET.find("[edges.eu-west]").expect("eu-west table");
    probes_fixtures::FLEET[..cut].to_string()
}

/// Runs the binary with text output against the Linode fake, on the fleet file at `fleet`.
fn run_text(linode: &LinodeFake, fleet: &Path, args: &[&str]) -> (i32, String, String) {
    let out = tooling::lkeobs()
        .env("LINODE_URL", linode.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .arg("--fleet")
        .arg(fleet)
        .args(args)
        .output()
        .expect("lkeobs runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verify_passing_and_status_with_fresh_data_read_as_before() {
    let (hub, edge) = (K8sFake::start().await, K8sFake::start().await);
    let fl = probes_fixtures::fleet();
    probes_fixtures::deploy(&hub, &fl, "hub", &["hub-1", "hub-2", "hub-3"], &[]);
    probes_fixtures::deploy(&edge, &fl, "us-east", &["use-1", "use-2"], &[]);
    let linode = probes_fixtures::seeded_linode(&hub, &edge).await;
    let _backends =
        probes_fixtures::mount_hub_backends(&linode, &[("lkeobs-probe-hub", &hub), ("lkeobs-probe-us-east", &edge)])
            .await;
    let tmp = tempfile::tempdir().expect("temp dir");
    let fleet = tmp.path().join("lkeobs.toml");
    std::fs::write(&fleet, two_cluster_fleet()).expect("fleet file");
    let r = Redactions {
        tmp: tmp.path().display().to_string(),
        ids: ids(&linode),
    };

    let (code, out, err) = run_text(&linode, &fleet, &["verify"]);
    insta::assert_snapshot!("verify_passing", collapse_padding(&r.apply(&report(code, &out, &err))));

    let (code, out, err) = run_text(&linode, &fleet, &["status"]);
    // The freshness columns are padded to the width of the ages, which are redacted.
    insta::assert_snapshot!(
        "status_fresh_data",
        collapse_padding(&r.apply(&report(code, &out, &err)))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn loadtest_reads_as_before() {
    let s = loadtest_fixtures::setup(0.0).await;
    let r = Redactions {
        tmp: s.dir.path().display().to_string(),
        ids: ids(&s.linode),
    };
    let (code, out, _) = run_text(&s.linode, &s.fleet_path(), &["loadtest", "--duration", "1s"]);
    // The run id, and the accepted rates, which follow the timing of the samples.
    let mut text = r.apply(&report(code, &out, ""));
    for (pattern, with) in [(r"\b[0-9a-f]{8}\b", "<run id>"), (r"\b\d+(\.\d+)?/s\b", "<rate>/s")] {
        text = Regex::new(pattern)
            .expect("regex")
            .replace_all(&text, with)
            .into_owned();
    }
    insta::assert_snapshot!("loadtest_healthy", collapse_padding(&text));
}
