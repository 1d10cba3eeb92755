//! `lkeobs remove-edge` against the fakes: the edge's cluster and leftovers go, the hub stays, the firewall
//! follows the remaining edges, the kubeconfig entry and the fleet-file table are removed (comments kept).

mod support;
mod tooling;

use lkeobs::linode::{CreateFirewall, NodePoolSpec};
use serde_json::{Value, json};
use support::FAKE_TOKEN;
use support::k8s_fake::K8sFake;
use support::linode_fake::{LinodeFake, State};
use tooling::{fleet, lkeobs};

fn tags(role: &str) -> Vec<String> {
    vec![
        "lkeobs".into(),
        "lkeobs-fleet-example".into(),
        format!("lkeobs-role-{role}"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_edge_deletes_it_and_resyncs_everything() {
    let edge_k8s = K8sFake::start().await;
    let mut st = State::seeded();
    st.kubeconfig_not_ready_polls = 0;
    st.regions
        .push(json!({"id": "us-east", "label": "us-east", "capabilities": ["Kubernetes"], "status": "ok"}));
    st.kube_servers.insert("lkeobs-example-us-east".into(), edge_k8s.uri());
    let fake = LinodeFake::start_with(st).await;
    let hub = fake
        .seed_cluster(
            "lkeobs-example-hub",
            "us-ord",
            vec![NodePoolSpec::new("g6-standard-1", 1)],
            &tags("hub"),
        )
        .await;
    let edge = fake
        .seed_cluster(
            "lkeobs-example-us-east",
            "us-east",
            vec![NodePoolSpec::new("g6-standard-1", 2)],
            &tags("edge"),
        )
        .await;
    // The firewall allows the edge's two nodes.
    let edge_ips: Vec<std::net::Ipv4Addr> = {
        let s = fake.state();
        s.instances
            .values()
            .filter(|i| i["lke_cluster_id"] == edge)
            .map(|i| i["ipv4"][0].as_str().unwrap().parse().unwrap())
            .collect()
    };
    let rules = lkeobs::firewall::gateway_rules(&edge_ips).unwrap();
    let fw = CreateFirewall {
        label: "lkeobs-example-gw".into(),
        rules,
        tags: tags("hub")[..2].to_vec(),
        devices: None,
    };
    fake.client().create_firewall(&fw).await.unwrap();
    fake.state().seed_nodebalancer("edge-lb", Some(edge), &[]);
    let hub_volume = fake
        .state()
        .seed_volume("hub-pvc", None, &["lkeobs", "lkeobs-fleet-example"]);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("example.toml");
    let original = std::fs::read_to_string(fleet("example")).unwrap();
    std::fs::write(&file, &original).unwrap();
    let out = lkeobs()
        .env("LINODE_URL", fake.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .args(["remove-edge", "us-east", "--yes", "--output", "json", "--fleet"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["cluster"], edge);
    assert_eq!(r["firewall_removed"].as_array().unwrap().len(), 2);
    assert_eq!(r["swept_nodebalancers"].as_array().unwrap().len(), 1);
    {
        let s = fake.state();
        assert!(s.clusters.contains_key(&hub) && !s.clusters.contains_key(&edge));
        assert!(s.volumes.contains_key(&hub_volume), "the hub's volume was swept");
        let fw = s.firewalls.values().next().unwrap();
        assert_eq!(fw["rules"]["inbound"], json!([]), "{fw:#}");
    }
    let edited = std::fs::read_to_string(&file).unwrap();
    assert!(!edited.contains("[edges.us-east]"));
    assert_eq!(
        edited,
        lkeobs::fleet::edit::remove_edge(&original, "x", "us-east").unwrap()
    );
    // A second run: the edge is no longer in the file.
    let again = lkeobs()
        .env("LINODE_URL", fake.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .args(["remove-edge", "us-east", "--yes", "--fleet"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
}
