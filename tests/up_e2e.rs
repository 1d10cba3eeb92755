//! `lkeobs up` end to end against the Linode fake and fake Kubernetes APIs with controllers: from empty, a
//! re-run that writes nothing, certificate rotation, a cluster that is not ours, and teardown after up.

use crate::e2e;
use crate::support;

use e2e::{Dir, FLEET, LABELS};
use lkeobs::linode::NodePoolSpec;
use support::world::{Latencies, World};

async fn world() -> World {
    let w = World::start(LABELS, Latencies::default()).await;
    w.linode.state().kubeconfig_retry_after_secs = 0;
    w
}

fn secret(world: &World, label: &str, ns: &str, name: &str) -> Option<serde_json::Value> {
    world.k8s(label)?.get("v1", "Secret", Some(ns), name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn up_from_empty_converges_and_a_rerun_writes_nothing() {
    let world = world().await;
    let dir = Dir::new(FLEET);
    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify", "--merge-kubeconfig"]).await;
    assert_eq!(code, 0, "up failed:\n{stderr}\n{report:#}");
    assert_eq!(report["ok"], true);
    let clusters = report["clusters"].as_array().expect("clusters");
    assert_eq!(clusters.len(), 3);
    for c in clusters {
        assert_eq!(c["stage"], "ready", "{c:#}");
        assert!(c["id"].as_u64().is_some());
        assert!(c["nodes"].as_u64().unwrap_or(0) >= 1, "{c:#}");
        assert!(c["context"].as_str().unwrap_or_default().starts_with("lkeobs-e2e."));
    }
    // Progress went to stderr as plain lines (no terminal here), one per step.
    assert!(stderr.contains("waiting for nodes Ready"), "{stderr}");

    // The account: one cluster per label, every one tagged (expiry included), one firewall.
    assert_eq!(
        e2e::cluster_labels(&world),
        ["lkeobs-e2e-eu", "lkeobs-e2e-hub", "lkeobs-e2e-us"]
    );
    {
        let st = world.linode.state();
        for c in st.clusters.values() {
            let tags: Vec<&str> = c["tags"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|t| t.as_str())
                .collect();
            assert!(tags.contains(&"lkeobs") && tags.contains(&"lkeobs-fleet-e2e") && tags.contains(&"team-obs"));
            assert!(tags.iter().any(|t| t.starts_with("lkeobs-expires-")), "{tags:?}");
        }
        assert_eq!(st.firewalls.len(), 1);
        // The GPU pool is labelled for the DCGM exporter (no taint of ours: see up_gpu.rs).
        let gpu = st
            .pools
            .values()
            .find(|p| p["type"] == "g2-gpu-rtx4000a1-s")
            .expect("gpu pool");
        assert_eq!(gpu["labels"]["lkeobs.io/gpu"], "true");
    }
    // The firewall allows exactly the edges' node addresses, and the controller attached it to the
    // gateway's NodeBalancer because the Service names it.
    assert_eq!(
        e2e::firewall_ips(&world),
        e2e::node_ips(&world, &["lkeobs-e2e-us", "lkeobs-e2e-eu"])
    );
    let gateway = report["gateway"]["address"]
        .as_str()
        .expect("gateway address")
        .to_string();
    {
        let st = world.linode.state();
        let nb = st
            .nodebalancers
            .values()
            .find(|n| n["ipv4"] == gateway.as_str())
            .expect("the gateway's NodeBalancer");
        let fw_id = st.firewalls.keys().next().copied().unwrap();
        assert!(
            st.devices
                .values()
                .any(|d| d["firewall_id"] == fw_id && d["entity"]["id"] == nb["id"]),
            "firewall not attached to the gateway NodeBalancer"
        );
    }
    // Certificates and generated Secrets are in the clusters.
    for (ns, name) in [
        ("observability-hub", "lkeobs-ca"),
        ("observability-hub", "otel-gateway-tls"),
        ("monitoring", "grafana-admin"),
    ] {
        assert!(
            secret(&world, "lkeobs-e2e-hub", ns, name).is_some(),
            "hub lacks {ns}/{name}"
        );
    }
    for edge in ["lkeobs-e2e-us", "lkeobs-e2e-eu"] {
        assert!(secret(&world, edge, "observability", "otel-client-tls").is_some());
    }
    // The report (and the progress on stderr) never carries the password; the kubeconfig was merged, 0600.
    let password = secret(&world, "lkeobs-e2e-hub", "monitoring", "grafana-admin")
        .and_then(|s| s["data"]["admin-password"].as_str().map(str::to_string))
        .map(|b64| {
            use base64::Engine;
            let raw = base64::engine::general_purpose::STANDARD.decode(b64).expect("base64");
            String::from_utf8(raw).expect("utf-8")
        })
        .expect("the Grafana password Secret");
    assert!(password.len() >= 16, "a generated password");
    assert!(!report.to_string().contains(&password), "the report leaks the password");
    assert!(!stderr.contains(&password), "stderr leaks the password");
    assert!(
        report["grafana"]["password_command"]
            .as_str()
            .unwrap()
            .contains("grafana-admin")
    );
    let kubeconfig = std::fs::read_to_string(dir.kubeconfig()).expect("kubeconfig merged");
    assert!(kubeconfig.contains("lkeobs-e2e.eu"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.kubeconfig()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let checked = e2e::assert_requests_match_the_spec(&world);
    if e2e::spec_available() {
        assert!(checked > 0, "up from empty sent no body the spec check saw");
    }
    let first_calls = e2e::total_calls(&report);
    eprintln!(
        "API calls, up from empty: {first_calls} for 3 clusters ({:.1} per cluster); {checked} bodies checked against the spec",
        first_calls as f64 / 3.0
    );

    // The re-run: converged, so no write at all, on Linode or in any cluster.
    e2e::clear_logs(&world);
    let (code, again, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "re-run failed:\n{stderr}\n{again:#}");
    assert_eq!(e2e::linode_writes(&world), Vec::<String>::new());
    assert_eq!(e2e::k8s_writes(&world), Vec::<String>::new());
    for c in again["clusters"].as_array().unwrap() {
        assert!(c.get("changes").is_none(), "re-run changed {c:#}");
    }
    let rerun_calls = e2e::total_calls(&again);
    eprintln!(
        "API calls, no-op re-run: {rerun_calls} for 3 clusters ({:.1} per cluster): {}",
        rerun_calls as f64 / 3.0,
        again["api_calls"]
    );
    assert!(rerun_calls <= 15 * 3, "{rerun_calls} calls for a no-op re-run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotate_certs_reissues_leaves_keeps_the_ca_and_restarts_their_pods() {
    let world = world().await;
    let dir = Dir::new(FLEET);
    let (code, _, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}");
    let ca = secret(&world, "lkeobs-e2e-hub", "observability-hub", "lkeobs-ca").unwrap()["data"].clone();
    let server = secret(&world, "lkeobs-e2e-hub", "observability-hub", "otel-gateway-tls").unwrap()["data"].clone();
    let client = secret(&world, "lkeobs-e2e-us", "observability", "otel-client-tls").unwrap()["data"].clone();

    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify", "--rotate-certs"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    let ca2 = secret(&world, "lkeobs-e2e-hub", "observability-hub", "lkeobs-ca").unwrap()["data"].clone();
    let server2 = secret(&world, "lkeobs-e2e-hub", "observability-hub", "otel-gateway-tls").unwrap()["data"].clone();
    let client2 = secret(&world, "lkeobs-e2e-us", "observability", "otel-client-tls").unwrap()["data"].clone();
    assert_eq!(ca, ca2, "the CA must be kept");
    assert_ne!(server, server2, "the gateway certificate must be reissued");
    assert_ne!(client, client2, "the client certificate must be reissued");
    let gw = world
        .k8s("lkeobs-e2e-hub")
        .unwrap()
        .get("apps/v1", "Deployment", Some("observability-hub"), "otel-gateway")
        .unwrap();
    assert!(
        gw["spec"]["template"]["metadata"]["annotations"]["lkeobs.io/restarted-at"].is_string(),
        "the gateway was not restarted: {gw:#}"
    );
    let hub = report["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "hub")
        .unwrap();
    assert!(hub["changes"].to_string().contains("reissued"), "{hub:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cluster_with_our_label_but_not_our_tags_is_refused_and_nothing_is_created() {
    let world = world().await;
    world
        .linode
        .seed_cluster(
            "lkeobs-e2e-us",
            "us-ord",
            vec![NodePoolSpec::new("g6-standard-1", 1)],
            &["someone-else".to_string()],
        )
        .await;
    e2e::clear_logs(&world);
    let dir = Dir::new(FLEET);
    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 1, "{stderr}\n{report:#}");
    assert!(
        report["error"].as_str().unwrap_or_default().contains("not ours"),
        "{report:#}"
    );
    assert_eq!(e2e::linode_writes(&world), Vec::<String>::new());
    assert_eq!(e2e::cluster_labels(&world), ["lkeobs-e2e-us"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_missing_destination_token_is_a_fleet_file_error_before_anything_is_created() {
    let world = world().await;
    let fleet = format!(
        "{FLEET}\n[[destinations]]\ntype = \"splunk_hec\"\nendpoint = \"https://splunk.example.com:8088\"\ntoken_env = \"E2E_SPLUNK_TOKEN\"\nsignals = [\"logs\"]\n"
    );
    let dir = Dir::new(&fleet);
    let (code, report, _) = dir.run(&world, &["up"]).await;
    assert_eq!(code, 2, "{report:#}");
    let err = &report["errors"][0];
    assert_eq!(err["field"], "destinations[0].token_env", "{report:#}");
    let line = fleet.lines().position(|l| l.starts_with("token_env")).unwrap() + 1;
    assert_eq!(err["line"], line, "{report:#}");
    assert_eq!(e2e::linode_writes(&world), Vec::<String>::new());
}

/// Against the simulator, `up` writes the contexts to the state cache only: a simulated cluster never takes
/// the name of a real one in the user's kubeconfig unless `--merge-kubeconfig` asks for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn against_the_simulator_up_leaves_the_users_kubeconfig_alone() {
    let world = world().await;
    let dir = Dir::new(FLEET);
    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    assert!(!dir.kubeconfig().exists(), "the user's kubeconfig was written");
    assert!(stderr.contains("--merge-kubeconfig"), "{stderr}");
    let cache = std::fs::read_to_string(dir.state().join("lkeobs").join("e2e").join("kubeconfig"))
        .expect("the state cache holds the contexts");
    assert!(cache.contains("lkeobs-e2e.hub"), "{cache}");
}

/// The gateway's exporters check their tokens at start (the datadog exporter takes a hex API key only): a token
/// the gateway would refuse is exit 2 naming the variable, before anything is created, and its value is
/// never shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_destination_token_the_gateway_would_refuse_is_exit_2_naming_the_variable() {
    let world = world().await;
    let fleet = format!(
        "{FLEET}\n[[destinations]]\ntype = \"datadog\"\ntoken_env = \"E2E_DD_API_KEY\"\nsite = \"datadoghq.eu\"\nsignals = [\"metrics\"]\n"
    );
    let dir = Dir::new(&fleet);
    let line = fleet.lines().position(|l| l.starts_with("token_env")).unwrap() + 1;
    for (value, why) in [("not-a-dd-key-S3CRET", "hexadecimal"), ("0123abcd\n", "newline")] {
        let (code, report, stderr) = dir.run_env(&world, &["up"], &[("E2E_DD_API_KEY", value)]).await;
        assert_eq!(code, 2, "{stderr}\n{report:#}");
        let err = &report["errors"][0];
        assert_eq!(err["field"], "destinations[0].token_env", "{report:#}");
        assert_eq!(err["line"], line, "{report:#}");
        let shown = format!("{report}{stderr}");
        assert!(shown.contains("E2E_DD_API_KEY") && shown.contains(why), "{shown}");
        assert!(
            !shown.contains("S3CRET") && !shown.contains("0123abcd"),
            "the value is never shown: {shown}"
        );
        assert_eq!(e2e::linode_writes(&world), Vec::<String>::new());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn teardown_after_up_leaves_nothing() {
    let world = world().await;
    let dir = Dir::new(FLEET);
    let (code, _, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}");
    let (code, report, stderr) = dir.run(&world, &["teardown", "--yes"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    let st = world.linode.state();
    assert!(st.clusters.is_empty(), "{:?}", st.clusters);
    assert!(st.firewalls.is_empty());
    assert!(st.nodebalancers.is_empty(), "{:?}", st.nodebalancers);
    assert!(st.volumes.is_empty(), "{:?}", st.volumes);
    assert!(st.instances.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn up_runs_the_probes_at_its_end_and_exits_3_when_no_data_arrives() {
    let world = world().await;
    let dir = Dir::new(FLEET);
    let (code, report, stderr) = dir.run(&world, &["up", "--verify-wait", "1s"]).await;
    // The fakes run no Prometheus, Loki or Tempo: the clusters are up, the data probes fail.
    assert_eq!(code, 3, "{stderr}\n{report:#}");
    assert_eq!(report["ok"], false);
    assert!(
        report["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["stage"] == "ready")
    );
    let v = &report["verification"];
    assert_eq!(v["run"], true, "{v:#}");
    assert!(v["failed"].as_u64().unwrap_or(0) > 0, "{v:#}");
    let probes = v["probes"].as_array().expect("probe outcomes");
    let passed = |name: &str, cluster: &str| {
        probes
            .iter()
            .any(|p| p["name"] == name && p["cluster"] == cluster && p["outcome"] == "pass")
    };
    for cluster in ["hub", "us", "eu"] {
        assert!(
            passed("pods", cluster),
            "pods of {cluster} should be Ready: {probes:#?}"
        );
    }
    assert!(
        probes
            .iter()
            .any(|p| p["outcome"] == "fail" && p["name"].as_str().unwrap_or("").starts_with("prometheus")),
        "{probes:#?}"
    );
    // The probes found a Ready pod behind each rendered Service and its (named) target port,
    // and reached it through port-forward, where the kubelet found nothing listening.
    let detail = |name: &str| {
        probes
            .iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["detail"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    let health = detail("gateway/health");
    assert!(
        health.contains("port-forward to observability-hub/otel-gateway:13133 (pod otel-gateway-")
            && health.contains("port 13133): error forwarding port 13133"),
        "{health}"
    );
    for label in LABELS {
        let k8s = world.k8s(label).expect("cluster API");
        let proxied: Vec<String> = k8s
            .requests()
            .into_iter()
            .map(|r| r.path)
            .filter(|p| p.contains("/proxy"))
            .collect();
        assert!(
            proxied.is_empty(),
            "{label} was asked through the service proxy: {proxied:?}"
        );
    }
    let hub = world.k8s("lkeobs-e2e-hub").expect("hub API");
    assert!(hub.requests().iter().any(|r| r.path.ends_with("/portforward")));
}
