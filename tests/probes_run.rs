//! `probes::run` end to end against fake Kubernetes APIs: workloads and agents read from the API,
//! Prometheus, Loki, Tempo and the gateway answered through port-forwards to the hub's pods, and
//! the canary posted through a port-forward to an edge's agent and found again at the hub; never
//! through the API server's service proxy.

mod probes_fixtures;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use lkeobs::fleet::Role;
use lkeobs::probes::{self, Options, Outcome, Target, Verdict};
use probes_fixtures::{HubBackends, deploy, fleet, mount_hub_backends, proxied, serve};
use serde_json::{Value, json};
use support::k8s_fake::K8sFake;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn verdict<'a>(outcomes: &'a [Outcome], name: &str, cluster: &str) -> &'a Outcome {
    outcomes
        .iter()
        .find(|o| o.name == name && o.cluster == cluster)
        .unwrap_or_else(|| panic!("no {name} on {cluster} in {outcomes:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn run_probes_a_fleet_through_port_forwards_with_a_canary() {
    let fleet = fleet();
    let (hub, edge) = (K8sFake::start().await, K8sFake::start().await);
    deploy(&hub, &fleet, "hub", &["hub-1", "hub-2", "hub-3"], &[]);
    deploy(&edge, &fleet, "us-east", &["use-1", "use-2"], &["use-2"]);
    let lookups = Arc::new(AtomicUsize::new(0));
    let backends = mount_hub_backends(&hub, lookups.clone()).await;
    let agent_port = MockServer::start().await;
    for signal in ["traces", "logs", "metrics"] {
        Mock::given(method("POST"))
            .and(path(format!("/v1/{signal}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"partialSuccess": {}})))
            .mount(&agent_port)
            .await;
    }
    serve(
        &edge,
        "us-east",
        "observability",
        "otel-agent",
        4318,
        *agent_port.address(),
    );
    let targets = vec![
        Target {
            name: "hub".into(),
            role: Role::Hub,
            k8s: hub.k8s(),
        },
        Target {
            name: "us-east".into(),
            role: Role::Edge,
            k8s: edge.k8s(),
        },
    ];
    let options = Options {
        canary: true,
        deadline: tokio::time::Instant::now() + Duration::from_secs(60),
    };
    let outcomes = probes::run(&fleet, &targets, &options).await;

    let pass = |name: &str, cluster: &str| {
        let o = verdict(&outcomes, name, cluster);
        assert_eq!(o.outcome, Verdict::Pass, "{o:#?}");
        o.clone()
    };
    let pods = pass("pods", "hub");
    assert!(
        pods.detail.contains("prometheus") && pods.detail.contains("otel-gateway"),
        "{pods:?}"
    );
    pass("pods", "us-east");
    pass("agent", "hub");
    pass("gateway/health", "hub");
    pass("gateway/counters", "hub");
    pass("tempo/ready", "hub");
    for c in ["hub", "us-east"] {
        pass("prometheus/series", c);
        pass("prometheus/nodes", c);
        pass("loki/streams", c);
        pass("tempo/search", c);
    }
    // The agent is down on one edge node: named.
    let agent = verdict(&outcomes, "agent", "us-east");
    assert_eq!(agent.outcome, Verdict::Fail);
    assert_eq!(
        agent.detail,
        "daemonset observability/otel-agent not Ready on 1 of 2 node(s): use-2 (pod otel-agent-1 not Ready)"
    );
    // eu-west sends nothing and cannot be reached.
    let series = verdict(&outcomes, "prometheus/series", "eu-west");
    assert_eq!(
        series.detail,
        "prometheus: no series with cluster_id=\"eu-west\" in the last 5m"
    );
    assert_eq!(verdict(&outcomes, "loki/streams", "eu-west").outcome, Verdict::Fail);
    assert_eq!(verdict(&outcomes, "tempo/search", "eu-west").outcome, Verdict::Skip);
    assert_eq!(verdict(&outcomes, "canary", "eu-west").outcome, Verdict::Skip);
    assert_eq!(probes::failed(&outcomes), 4, "{}", probes::table(&outcomes));

    // The canary, end to end, with latencies.
    for name in ["canary/trace", "canary/log", "canary/metric"] {
        let o = pass(name, "us-east");
        assert!(o.latency_ms.is_some(), "{o:?}");
        assert!(o.detail.contains("cluster.id=us-east, hub.received_at="), "{o:?}");
    }
    assert!(
        verdict(&outcomes, "canary/trace", "us-east").latency_ms >= Some(2000),
        "it polled once"
    );
    assert!(lookups.load(Ordering::SeqCst) >= 2);
    let posted = agent_port.received_requests().await.unwrap_or_default();
    let traces: Vec<&wiremock::Request> = posted.iter().filter(|r| r.url.path().ends_with("/v1/traces")).collect();
    assert_eq!(traces.len(), 1);
    let body: Value = serde_json::from_slice(&traces[0].body).expect("json");
    let trace_id = body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"]
        .as_str()
        .expect("id");
    let asked = backends.tempo.received_requests().await.unwrap_or_default();
    assert!(
        asked
            .iter()
            .any(|r| r.url.path().ends_with(&format!("/api/traces/{trace_id}")))
    );
    assert_eq!(
        traces[0]
            .headers
            .get("content-type")
            .map(|v| v.to_str().unwrap_or_default()),
        Some("application/json")
    );

    // Grouped by cluster in fleet order; the table and JUnit carry every outcome.
    let clusters: Vec<&str> = outcomes.iter().map(|o| o.cluster.as_str()).collect();
    let mut sorted = clusters.clone();
    sorted.sort_by_key(|c| ["hub", "us-east", "eu-west"].iter().position(|x| x == c));
    assert_eq!(clusters, sorted);
    let table = probes::table(&outcomes);
    assert!(table.contains("canary/trace") && table.contains(" e2e "), "{table}");
    let junit = probes::junit(&outcomes);
    assert_eq!(junit.matches("<testcase ").count(), outcomes.len());
    assert_eq!(junit.matches("<failure ").count(), 4);
    assert_eq!(proxied(&hub), Vec::<String>::new());
    assert_eq!(proxied(&edge), Vec::<String>::new());
}

#[tokio::test]
async fn without_the_hub_the_data_probes_fail_once_and_the_rest_still_run() {
    let fleet = fleet();
    let edge = K8sFake::start().await;
    deploy(&edge, &fleet, "us-east", &["use-1"], &[]);
    let targets = vec![Target {
        name: "us-east".into(),
        role: Role::Edge,
        k8s: edge.k8s(),
    }];
    let options = Options {
        canary: false,
        deadline: tokio::time::Instant::now() + Duration::from_secs(20),
    };
    let outcomes = probes::run(&fleet, &targets, &options).await;
    let names: Vec<(&str, &str, Verdict)> = outcomes
        .iter()
        .map(|o| (o.name.as_str(), o.cluster.as_str(), o.outcome))
        .collect();
    assert_eq!(
        names,
        [
            ("backends", "hub", Verdict::Fail),
            ("pods", "us-east", Verdict::Pass),
            ("agent", "us-east", Verdict::Pass)
        ],
        "{outcomes:#?}"
    );
}

#[tokio::test]
async fn probes_still_running_at_the_deadline_fail_saying_so() {
    let fleet = fleet();
    let hub = K8sFake::start().await;
    deploy(&hub, &fleet, "hub", &["hub-1"], &[]);
    let backends = HubBackends::serve(&hub).await;
    for server in [&backends.prometheus, &backends.loki, &backends.tempo, &backends.gateway] {
        Mock::given(path_regex("/"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
            .mount(server)
            .await;
    }
    let targets = vec![Target {
        name: "hub".into(),
        role: Role::Hub,
        k8s: hub.k8s(),
    }];
    let options = Options {
        canary: false,
        deadline: tokio::time::Instant::now() + Duration::from_millis(800),
    };
    let outcomes = probes::run(&fleet, &targets, &options).await;
    let late = verdict(&outcomes, "loki/streams", "us-east");
    assert_eq!(late.outcome, Verdict::Fail);
    assert_eq!(late.detail, "no answer before the deadline (--timeout)");
    assert_eq!(verdict(&outcomes, "pods", "hub").outcome, Verdict::Pass);
}
