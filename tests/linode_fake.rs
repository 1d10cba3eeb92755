//! The client driven through a whole fleet cycle against the stateful Linode fake: create,
//! find by tag, wait for the kubeconfig, read pools, nodes and IPs, firewall the gateway, then
//! delete everything and check nothing is left; again with 30% of requests answered 429.

use crate::support;

use std::collections::BTreeMap;
use std::time::Duration;

use lkeobs::linode::{
    Autoscaler, Client, CreateFirewall, CreateFirewallDevice, CreateLkeCluster, CreateTag, DeviceType, Filter,
    FirewallAction, FirewallRule, FirewallRules, NodePoolSpec, Protocol, RuleAddresses, Taint, TaintEffect,
    UpdateNodePool, capability,
};
use support::linode_fake::LinodeFake;

const FLEET_TAG: &str = "lkeobs-fleet-demo";

/// What a cycle observed; two runs of the same cycle must observe the same.
#[derive(Debug, PartialEq)]
struct Summary {
    region: String,
    version: String,
    gpu_types: Vec<String>,
    tagged_clusters: Vec<String>,
    kubeconfig_server_line: bool,
    endpoints: usize,
    pools: Vec<(String, u32, usize)>,
    public_ips: Vec<String>,
    rules_version: Option<u64>,
    devices: usize,
    api_calls_keys: Vec<String>,
    left_after_teardown: BTreeMap<&'static str, usize>,
}

fn gateway_rules(sources: &[String], ports: &str) -> FirewallRules {
    FirewallRules {
        inbound_policy: FirewallAction::Drop,
        inbound: vec![FirewallRule {
            action: FirewallAction::Accept,
            protocol: Protocol::Tcp,
            ports: Some(ports.into()),
            addresses: RuleAddresses {
                ipv4: Some(sources.iter().map(|ip| format!("{ip}/32")).collect()),
                ipv6: None,
            },
            label: Some("otlp-from-edges".into()),
            description: None,
        }],
        outbound_policy: FirewallAction::Accept,
        outbound: vec![],
    }
}

fn cluster_request(label: &str, region: &str, version: &str, tag: &str) -> CreateLkeCluster {
    let mut workers = NodePoolSpec::new("g6-standard-2", 3);
    workers.labels.insert("lkeobs.io/role".into(), "hub".into());
    workers.taints.push(Taint {
        key: "lkeobs.io/dedicated".into(),
        value: "obs".into(),
        effect: TaintEffect::NoSchedule,
    });
    let mut scaled = NodePoolSpec::new("g6-standard-1", 1);
    scaled.autoscaler = Some(Autoscaler {
        enabled: true,
        min: 1,
        max: 3,
    });
    CreateLkeCluster {
        label: label.into(),
        region: region.into(),
        k8s_version: version.into(),
        node_pools: vec![workers, scaled],
        tags: vec!["lkeobs".into(), tag.into()],
        control_plane: None,
        tier: None,
    }
}

async fn cycle(fake: &LinodeFake, client: &Client) -> Summary {
    let region = client
        .list_regions()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.has_capability(capability::KUBERNETES))
        .unwrap()
        .id;
    let version = client.list_lke_versions().await.unwrap().last().unwrap().id.clone();
    let gpu_types: Vec<String> = client
        .list_linode_types(Some(&Filter::eq("class", "gpu")))
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();

    let hub = client
        .create_lke_cluster_idempotent(&cluster_request("lkeobs-hub", &region, &version, FLEET_TAG))
        .await
        .unwrap();
    client
        .create_lke_cluster_idempotent(&cluster_request("someone-else", &region, &version, "other"))
        .await
        .unwrap();
    let tagged_clusters: Vec<String> = client
        .list_lke_clusters(Some(&Filter::tag(FLEET_TAG)))
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.label)
        .collect();

    let kubeconfig = client.wait_kubeconfig(hub.id, Duration::from_secs(120)).await.unwrap();
    let endpoints = client.list_lke_api_endpoints(hub.id).await.unwrap().len();

    let pools = client.list_node_pools(hub.id).await.unwrap();
    let scaled = pools.iter().find(|p| p.autoscaler.is_some_and(|a| a.enabled)).unwrap();
    let update = UpdateNodePool {
        count: Some(2),
        ..UpdateNodePool::default()
    };
    let workers = pools.iter().find(|p| p.linode_type == "g6-standard-2").unwrap();
    client.update_node_pool(hub.id, workers.id, &update).await.unwrap();
    let extra = client
        .create_node_pool(hub.id, &NodePoolSpec::new("g6-dedicated-4", 1))
        .await
        .unwrap();
    client.delete_node_pool(hub.id, extra.id).await.unwrap();
    let pools = client.list_node_pools(hub.id).await.unwrap();
    let node = &pools[0].nodes[0];
    assert!(client.get_lke_node(hub.id, &node.id).await.unwrap().is_ready());
    assert_eq!(client.get_node_pool(hub.id, scaled.id).await.unwrap().count, 1);

    let mut public_ips = Vec::new();
    for node in pools.iter().flat_map(|p| &p.nodes) {
        let instance = node.instance_id.unwrap();
        public_ips.extend(client.instance_ips(instance).await.unwrap().public_ipv4());
    }

    let request = CreateFirewall {
        label: "lkeobs-hub-gw".into(),
        rules: gateway_rules(&public_ips, "4317"),
        tags: vec!["lkeobs".into(), FLEET_TAG.into()],
        devices: None,
    };
    let fw = client.create_firewall_idempotent(&request).await.unwrap();
    let rules = client
        .put_firewall_rules(fw.id, &gateway_rules(&public_ips, "4317,4318"))
        .await
        .unwrap();
    assert_eq!(client.get_firewall_rules(fw.id).await.unwrap(), rules);
    let nb = fake
        .state()
        .seed_nodebalancer("ccm-0a1b2c3d4e5f", Some(hub.id), &["lkeobs-hub"]);
    let volume = fake.state().seed_volume("pvc-1234", None, &[]);
    let device = client
        .create_firewall_device(
            fw.id,
            &CreateFirewallDevice {
                id: nb,
                kind: DeviceType::Nodebalancer,
            },
        )
        .await
        .unwrap();
    let devices = client.list_firewall_devices(fw.id).await.unwrap().len();
    let tag = CreateTag {
        label: FLEET_TAG.into(),
        volumes: vec![volume],
        ..CreateTag::default()
    };
    client.create_tag(&tag).await.unwrap();

    // Teardown, in dependency order.
    client.delete_firewall_device(fw.id, device.id).await.unwrap();
    for fw in client.list_firewalls(Some(&Filter::tag(FLEET_TAG))).await.unwrap() {
        client.delete_firewall(fw.id).await.unwrap();
    }
    for nb in client.list_nodebalancers(None).await.unwrap() {
        if nb.lke_cluster.as_ref().is_some_and(|c| c.id == hub.id) {
            client.delete_nodebalancer(nb.id).await.unwrap();
        }
    }
    for volume in client.list_volumes(Some(&Filter::tag(FLEET_TAG))).await.unwrap() {
        client.delete_volume(volume.id).await.unwrap();
    }
    for cluster in client.list_lke_clusters(None).await.unwrap() {
        client.delete_lke_cluster(cluster.id).await.unwrap();
    }
    client.delete_tag(FLEET_TAG).await.unwrap();
    assert!(client.get_lke_cluster(hub.id).await.unwrap_err().is_not_found());

    let mut left = BTreeMap::new();
    left.insert("clusters", client.list_lke_clusters(None).await.unwrap().len());
    left.insert("instances", client.list_instances(None).await.unwrap().len());
    left.insert("firewalls", client.list_firewalls(None).await.unwrap().len());
    left.insert("nodebalancers", client.list_nodebalancers(None).await.unwrap().len());
    left.insert("volumes", client.list_volumes(None).await.unwrap().len());
    left.insert("tags", client.list_tags().await.unwrap().len());

    Summary {
        region,
        version,
        gpu_types,
        tagged_clusters,
        kubeconfig_server_line: kubeconfig.contains("server: https://127.0.0.1:1\n")
            && kubeconfig.contains(&format!("name: lke{}-ctx", hub.id)),
        endpoints,
        pools: pools
            .iter()
            .map(|p| (p.linode_type.clone(), p.count, p.nodes.len()))
            .collect(),
        public_ips,
        rules_version: rules.version,
        devices,
        api_calls_keys: client.api_calls().into_keys().collect(),
        left_after_teardown: left,
    }
}

fn expected_left() -> BTreeMap<&'static str, usize> {
    ["clusters", "instances", "firewalls", "nodebalancers", "volumes", "tags"]
        .into_iter()
        .map(|k| (k, 0))
        .collect()
}

#[tokio::test]
async fn a_full_cycle_against_the_fake_leaves_nothing_behind() {
    let fake = LinodeFake::start().await;
    let client = fake.client();
    let summary = cycle(&fake, &client).await;
    assert_eq!(summary.tagged_clusters, ["lkeobs-hub"]);
    assert_eq!(summary.gpu_types, ["g2-gpu-rtx4000a1-s"]);
    assert!(summary.kubeconfig_server_line);
    assert_eq!(
        summary.pools,
        [("g6-standard-2".to_string(), 2, 2), ("g6-standard-1".to_string(), 1, 1)]
    );
    assert_eq!(summary.public_ips.len(), 3);
    assert_eq!(summary.rules_version, Some(2));
    assert_eq!(summary.devices, 1);
    assert_eq!(summary.left_after_teardown, expected_left());
    let state = fake.state();
    assert_eq!(state.processed("POST", "/lke/clusters"), 2);
    assert_eq!(
        state.processed("GET", "/lke/clusters/1001/kubeconfig"),
        3,
        "two 503s, then the kubeconfig"
    );
    assert!(
        state
            .log
            .iter()
            .any(|l| l.filter.as_deref() == Some(r#"{"tags":"lkeobs-fleet-demo"}"#))
    );
    assert!(
        summary
            .api_calls_keys
            .contains(&"GET /lke/clusters/{id}/pools".to_string())
    );
}

#[tokio::test]
async fn a_full_cycle_with_30_percent_429s_ends_the_same_without_duplicate_creates() {
    // Real time: each injected 429 asks for Retry-After: 0.050 and the client really waits.
    // (Paused time cannot be used here: it jumps ahead while the runtime idles on socket I/O
    // and fires the request timeouts.)
    let quiet = LinodeFake::start().await;
    let expected = cycle(&quiet, &quiet.client()).await;

    let fake = LinodeFake::start().await;
    fake.state().faults.rate_limit_percent = 30;
    fake.state().faults.retry_after = Duration::from_millis(50);
    let client = fake.client();
    let start = tokio::time::Instant::now();
    let summary = cycle(&fake, &client).await;
    assert_eq!(summary, expected);

    let state = fake.state();
    let total = state.log.len();
    let injected = state.injected();
    assert!(
        injected * 100 >= total * 29 && injected * 100 <= total * 31,
        "{injected} of {total}"
    );
    assert_eq!(
        state.processed("POST", "/lke/clusters"),
        2,
        "no duplicate cluster create"
    );
    assert_eq!(
        state.processed("POST", "/networking/firewalls"),
        1,
        "no duplicate firewall create"
    );
    assert!(
        start.elapsed() >= Duration::from_millis(50 * injected as u64),
        "every Retry-After was honoured"
    );
    assert_eq!(client.api_call_total(), total as u64);
}

#[tokio::test]
async fn injected_server_errors_are_retried_and_creates_happen_once() {
    let fake = LinodeFake::start().await;
    fake.state().faults.server_error_percent = 25;
    let client = fake.client();
    let cluster = client
        .create_lke_cluster_idempotent(&cluster_request("lkeobs-hub", "us-ord", "1.31", FLEET_TAG))
        .await
        .unwrap();
    assert_eq!(client.list_node_pools(cluster.id).await.unwrap().len(), 2);
    assert_eq!(client.list_regions().await.unwrap().len(), 3);
    let state = fake.state();
    assert!(state.injected() > 0);
    assert_eq!(state.processed("POST", "/lke/clusters"), 1);
}

#[tokio::test]
async fn a_create_whose_answer_the_fake_loses_is_found_by_label() {
    let fake = LinodeFake::start().await;
    fake.state().faults.lose_next_post_answers = 1;
    let mut config = fake.config();
    config.timeout = Some(Duration::from_millis(300));
    let client = Client::new(config).unwrap();
    let rules = gateway_rules(&["203.0.113.9".to_string()], "4317");
    let request = CreateFirewall {
        label: "lkeobs-hub-gw".into(),
        rules,
        tags: vec![],
        devices: None,
    };
    let fw = client.create_firewall_idempotent(&request).await.unwrap();
    assert_eq!(fw.label, "lkeobs-hub-gw");
    let state = fake.state();
    assert_eq!(state.processed("POST", "/networking/firewalls"), 1);
    let lookup = state.log.last().unwrap();
    assert_eq!(
        (lookup.method.as_str(), lookup.path.as_str()),
        ("GET", "/networking/firewalls")
    );
    assert_eq!(lookup.filter.as_deref(), Some(r#"{"label":"lkeobs-hub-gw"}"#));
}

#[tokio::test]
async fn regions_answer_like_the_real_api_and_the_account_holds_ha_and_the_acl() {
    let fake = LinodeFake::start().await;
    let client = fake.client();
    for r in client.list_regions().await.unwrap() {
        assert!(
            !r.has_capability("LKE HA Control Planes") && !r.has_capability("LKE Network Access Control List (IP ACL)"),
            "real regions never list account capabilities: {r:?}"
        );
    }
    let account = client.get_account().await.unwrap();
    assert!(account.has_capability("LKE HA Control Planes"));
    let sold = client.region_availability("de-fra-2").await.unwrap();
    assert!(sold.iter().any(|a| a.plan == "g2-gpu-rtx4000a1-s" && a.available));
}

#[tokio::test]
async fn an_ha_create_is_refused_when_the_account_lacks_the_capability() {
    let fake = LinodeFake::start().await;
    fake.state()
        .account_capabilities
        .retain(|c| c != "LKE HA Control Planes");
    let client = fake.client();
    let mut request = cluster_request("lkeobs-hub", "us-ord", "1.31", FLEET_TAG);
    request.control_plane = Some(lkeobs::linode::ControlPlaneSpec {
        high_availability: Some(true),
        ..Default::default()
    });
    let err = client.create_lke_cluster(&request).await.unwrap_err();
    assert!(err.to_string().contains("HA control planes are not available"), "{err}");
    assert!(fake.state().clusters.is_empty());
}

#[tokio::test]
async fn a_gpu_pool_is_refused_where_its_plan_is_not_sold() {
    let fake = LinodeFake::start().await;
    let client = fake.client();
    let mut request = cluster_request("lkeobs-gpu", "us-ord", "1.31", FLEET_TAG);
    request.node_pools = vec![NodePoolSpec::new("g2-gpu-rtx4000a1-s", 1)];
    let err = client.create_lke_cluster(&request).await.unwrap_err();
    assert!(err.to_string().contains("not available in this region"), "{err}");
    request.region = "de-fra-2".into();
    client.create_lke_cluster(&request).await.expect("sold in de-fra-2");
}

/// Sends `body` raw (the product's types cannot spell a bad effect) and returns status and body.
async fn raw(
    fake: &LinodeFake,
    method: reqwest::Method,
    path: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    // reqwest shares lkeobs' one TLS provider, installed before any client is built.
    lkeobs::tls::install_crypto_provider();
    let answer = reqwest::Client::new()
        .request(method, format!("{}{path}", fake.base_url()))
        .bearer_auth(support::FAKE_TOKEN)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or_default())
}

#[tokio::test]
async fn pool_labels_and_taints_are_kept_and_a_bad_effect_is_refused_like_the_api() {
    let fake = LinodeFake::start().await;
    let client = fake.client();
    let cluster = client
        .create_lke_cluster_idempotent(&cluster_request("lkeobs-hub", "us-ord", "1.31", FLEET_TAG))
        .await
        .unwrap();
    let path = format!("/lke/clusters/{}/pools", cluster.id);
    let taint = |effect: &str| serde_json::json!({"key": "nvidia.com/gpu", "value": "true", "effect": effect});

    let (status, body) = raw(
        &fake,
        reqwest::Method::POST,
        &path,
        serde_json::json!({"type": "g6-standard-2", "count": 1, "taints": [taint("NoWay")]}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["field"], "taints.effect");
    let (status, _) = raw(
        &fake,
        reqwest::Method::POST,
        &path,
        serde_json::json!({"type": "g6-standard-2", "count": 1, "labels": {"bad key": "x"}}),
    )
    .await;
    assert_eq!(status, 400);

    let (status, pool) = raw(
        &fake,
        reqwest::Method::POST,
        &path,
        serde_json::json!({"type": "g6-standard-2", "count": 1, "labels": {"team": "ml"},
            "taints": [taint("PreferNoSchedule")]}),
    )
    .await;
    assert_eq!(status, 200, "{pool}");
    assert_eq!(pool["labels"], serde_json::json!({"team": "ml"}));
    assert_eq!(pool["taints"], serde_json::json!([taint("PreferNoSchedule")]));

    let pool_path = format!("{path}/{}", pool["id"]);
    let (status, _) = raw(
        &fake,
        reqwest::Method::PUT,
        &pool_path,
        serde_json::json!({"taints": [taint("Sometimes")]}),
    )
    .await;
    assert_eq!(status, 400);
    let (status, updated) = raw(
        &fake,
        reqwest::Method::PUT,
        &pool_path,
        serde_json::json!({"taints": []}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(updated["taints"], serde_json::json!([]));
    assert_eq!(updated["labels"], serde_json::json!({"team": "ml"}));
}
