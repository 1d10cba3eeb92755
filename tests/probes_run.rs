//! `probes::run` end to end against simulated Kubernetes APIs: workloads and agents read from the API,
//! Prometheus, Loki, Tempo and the gateway (the simulator's data path) answered through port-forwards
//! to the hub's pods, and the canary posted through a port-forward to an edge's agent and found again
//! at the hub; never through the API server's service proxy.

use crate::probes_fixtures;
use crate::support;

use std::time::Duration;

use lkeobs::fleet::Role;
use lkeobs::probes::{self, Options, Outcome, Target, Verdict};
use probes_fixtures::{deploy, fleet, mount_hub_backends, proxied, seeded_linode};
use support::k8s_fake::K8sFake;

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
    let linode = seeded_linode(&hub, &edge).await;
    let backends = mount_hub_backends(&linode, &[("lkeobs-probe-hub", &hub), ("lkeobs-probe-us-east", &edge)]).await;
    // What the agents take shows at the hub a little later, as after the ingesters flush.
    backends.0.ingestion_delay(Duration::from_millis(2500));
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
    for name in ["canary/trace", "canary/log", "canary/metric"] {
        assert!(
            verdict(&outcomes, name, "us-east").latency_ms >= Some(2000),
            "{name}: it polled until the hub showed it"
        );
    }
    // The agent took the canary as OTLP/JSON (it answers 415 to any other content type), with the
    // run id the probe then looked for.
    let stored = backends.0.store();
    let span = stored
        .spans
        .iter()
        .find(|s| s.resource.get("service.name").map(String::as_str) == Some("lkeobs-canary"))
        .expect("the canary's span at the hub");
    assert_eq!(span.resource["cluster.id"], "us-east");
    assert!(
        span.attributes.contains_key(lkeobs::objects::CANARY_ID_ATTRIBUTE),
        "{span:?}"
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
    let (hub, edge) = (K8sFake::start().await, K8sFake::start().await);
    deploy(&hub, &fleet, "hub", &["hub-1"], &[]);
    let linode = seeded_linode(&hub, &edge).await;
    let backends = mount_hub_backends(&linode, &[("lkeobs-probe-hub", &hub)]).await;
    backends.0.answer_after(Duration::from_secs(30));
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
