//! The world's controllers against the library: Nodes that turn Ready after a latency and follow the
//! pools, rollouts that `wait_rollouts` accepts, NodeBalancers (tags, firewall kept attached) for
//! LoadBalancer Services, volumes for claims, and what a deleted cluster leaves behind.

use crate::support;

use std::collections::BTreeMap;
use std::time::Duration;

use lkeobs::k8s::{K8s, Manifests};
use lkeobs::linode::{NodePoolSpec, Taint, TaintEffect, UpdateNodePool};
use serde_json::{Value, json};
use support::eventually;
use support::k8s_fake::K8sFake;
use support::linode_fake::State;
use support::world::{Latencies, World};
use tokio::time::Instant;

const HUB: &str = "lkeobs-t-hub";
const LABELS: &str = r#"{app.kubernetes.io/managed-by: lkeobs, lkeobs.io/fleet: t}"#;

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

async fn hub_cluster(world: &World, pools: Vec<NodePoolSpec>) -> u64 {
    world
        .linode
        .seed_cluster(HUB, "us-ord", pools, &["lkeobs".into()])
        .await
}

async fn apply(k8s: &K8s, yaml: &str) -> Manifests {
    let manifests = Manifests::parse([("test.yaml", yaml)]).expect("manifests parse");
    k8s.apply(&manifests, soon()).await.expect("apply");
    manifests
}

fn ready(node: &Value) -> &str {
    node["status"]["conditions"][0]["status"].as_str().unwrap_or_default()
}

fn names(fake: &K8sFake, api_version: &str, kind: &str) -> Vec<String> {
    let list = fake.list(api_version, kind);
    list.iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn nodes_register_not_ready_turn_ready_after_the_latency_and_follow_the_pools() {
    let latency = Duration::from_millis(400);
    let world = World::start(
        &[HUB],
        Latencies {
            node_ready: latency,
            ..Default::default()
        },
    )
    .await;
    let mut gpu = NodePoolSpec::new("g6-standard-2", 1);
    gpu.labels = BTreeMap::from([("lkeobs.io/pool".into(), "gpu".into())]);
    gpu.taints = vec![Taint {
        key: "nvidia.com/gpu".into(),
        value: "true".into(),
        effect: TaintEffect::NoSchedule,
    }];
    let created = Instant::now();
    let id = hub_cluster(&world, vec![NodePoolSpec::new("g6-standard-1", 2), gpu]).await;
    let fake = world.k8s(HUB).expect("hub API");
    eventually("three Nodes", || fake.list("v1", "Node").len() == 3).await;
    let nodes = fake.list("v1", "Node");
    assert!(
        nodes.iter().all(|n| ready(n) == "False"),
        "Ready before the latency: {nodes:#?}"
    );

    let small_pool = {
        let st = world.linode.state();
        let tainted = nodes
            .iter()
            .find(|n| n["metadata"]["labels"]["lkeobs.io/pool"] == "gpu")
            .expect("gpu node");
        let name = tainted["metadata"]["name"].as_str().unwrap();
        let instance = st.instances.values().find(|i| i["label"] == name).expect("its Linode");
        let pool = st
            .pools
            .values()
            .find(|p| p["labels"]["lkeobs.io/pool"] == "gpu")
            .unwrap();
        assert!(name.starts_with(&format!("lke{id}-{}-", pool["id"])), "{name}");
        assert_eq!(tainted["spec"]["providerID"], format!("linode://{}", instance["id"]));
        assert_eq!(
            tainted["metadata"]["labels"]["lke.linode.com/pool-id"],
            pool["id"].to_string()
        );
        assert_eq!(
            tainted["spec"]["taints"],
            json!([{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}])
        );
        let addresses = &tainted["status"]["addresses"];
        assert!(
            addresses
                .as_array()
                .unwrap()
                .contains(&json!({"type": "ExternalIP", "address": instance["ipv4"][0]}))
        );
        assert!(
            addresses
                .as_array()
                .unwrap()
                .contains(&json!({"type": "InternalIP", "address": instance["ipv4"][1]}))
        );
        st.pools.values().find(|p| p["count"] == 2).unwrap()["id"]
            .as_u64()
            .unwrap()
    };

    assert_eq!(
        world.kube(HUB).wait_nodes_ready(3, soon()).await.expect("nodes Ready"),
        3
    );
    assert!(created.elapsed() >= latency, "Ready after {:?}", created.elapsed());

    let client = world.linode.client();
    let shrink = UpdateNodePool {
        count: Some(1),
        ..Default::default()
    };
    client.update_node_pool(id, small_pool, &shrink).await.unwrap();
    eventually("the removed Linode's Node gone", || fake.list("v1", "Node").len() == 2).await;
    client.delete_lke_cluster(id).await.unwrap();
    eventually("every Node gone with the cluster", || {
        fake.list("v1", "Node").is_empty()
    })
    .await;
}

const WORKLOADS: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: obs, labels: LABELS}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: lkeobs-block, labels: LABELS}
provisioner: linodebs.csi.linode.com
reclaimPolicy: Delete
parameters: {linodebs.csi.linode.com/volumeTags: "lkeobs,lkeobs-fleet-t"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: gateway, namespace: obs, labels: LABELS}
spec:
  replicas: REPLICAS
  selector: {matchLabels: {app: gateway}}
  template:
    metadata: {labels: {app: gateway, lkeobs.io/fleet: t}}
    spec: {containers: [{name: otelcol, image: otel/opentelemetry-collector-contrib:0.120.0}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: loki, namespace: obs, labels: LABELS}
spec:
  replicas: 1
  serviceName: loki
  selector: {matchLabels: {app: loki}}
  template:
    metadata: {labels: {app: loki}}
    spec: {containers: [{name: loki, image: grafana/loki:3.4.2}]}
  volumeClaimTemplates:
    - metadata: {name: data, labels: LABELS}
      spec:
        accessModes: [ReadWriteOnce]
        storageClassName: lkeobs-block
        resources: {requests: {storage: 50Gi}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: obs, labels: LABELS}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: otelcol, image: otel/opentelemetry-collector-contrib:0.120.0}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: gpu-exporter, namespace: obs, labels: LABELS}
spec:
  selector: {matchLabels: {app: gpu-exporter}}
  template:
    metadata: {labels: {app: gpu-exporter}}
    spec:
      nodeSelector: {lkeobs.io/pool: gpu}
      containers: [{name: dcgm, image: nvcr.io/nvidia/k8s/dcgm-exporter:4.1.1}]
"#;

fn stack(replicas: u32) -> String {
    WORKLOADS
        .replace("LABELS", LABELS)
        .replace("REPLICAS", &replicas.to_string())
}

fn generation(fake: &K8sFake) -> Value {
    fake.get("apps/v1", "Deployment", Some("obs"), "gateway").unwrap()["metadata"]["generation"].clone()
}

#[tokio::test]
async fn applied_workloads_roll_out_so_wait_rollouts_succeeds_and_follow_scaling() {
    let world = World::start(&[HUB], Latencies::default()).await;
    let id = hub_cluster(&world, vec![NodePoolSpec::new("g6-standard-1", 3)]).await;
    let (k8s, fake) = (world.kube(HUB), world.k8s(HUB).unwrap());
    k8s.wait_nodes_ready(3, soon()).await.expect("nodes Ready");
    let manifests = apply(&k8s, &stack(2)).await;
    let workloads = manifests.workloads();
    assert_eq!(workloads.len(), 4);
    k8s.wait_rollouts(&workloads, soon()).await.expect("rollouts finish");

    let agent = fake.get("apps/v1", "DaemonSet", Some("obs"), "agent").unwrap();
    assert_eq!(agent["status"]["desiredNumberScheduled"], 3, "one agent per Ready node");
    let exporter = fake.get("apps/v1", "DaemonSet", Some("obs"), "gpu-exporter").unwrap();
    assert_eq!(
        exporter["status"]["desiredNumberScheduled"], 0,
        "no node has the selected label"
    );
    let pods = fake.list("v1", "Pod");
    let mut pod_names: Vec<&str> = pods.iter().map(|p| p["metadata"]["name"].as_str().unwrap()).collect();
    pod_names.sort();
    // As the controllers name them: `<ds>-<5>`, `<deploy>-<template hash>-<5>`, `<sts>-<ordinal>`.
    let shapes: Vec<(&str, usize)> = pod_names
        .iter()
        .map(|n| (n.split('-').next().unwrap(), n.split('-').count()))
        .collect();
    assert_eq!(
        shapes,
        [
            ("agent", 2),
            ("agent", 2),
            ("agent", 2),
            ("gateway", 3),
            ("gateway", 3),
            ("loki", 2)
        ],
        "{pod_names:?}"
    );
    assert!(pod_names.contains(&"loki-0"), "{pod_names:?}");
    let gateway = pods
        .iter()
        .find(|p| p["metadata"]["name"].as_str().unwrap().starts_with("gateway-"))
        .unwrap();
    assert_eq!(
        gateway["metadata"]["labels"],
        json!({"app": "gateway", "lkeobs.io/fleet": "t"})
    );
    assert_eq!(gateway["status"]["phase"], "Running");
    assert!(
        gateway["status"]["conditions"]
            .as_array()
            .unwrap()
            .contains(&json!({"type": "Ready", "status": "True"}))
    );
    assert!(names(&fake, "v1", "Node").contains(&gateway["spec"]["nodeName"].as_str().unwrap().to_string()));

    // The StatefulSet's claim came from its template and is Bound to a tagged volume.
    let claim = fake
        .get("v1", "PersistentVolumeClaim", Some("obs"), "data-loki-0")
        .expect("claim");
    assert_eq!(claim["status"]["phase"], "Bound");
    assert_eq!(claim["metadata"]["labels"]["lkeobs.io/fleet"], "t");
    let volume_id = world.volume_of(HUB, "obs", "data-loki-0").expect("its volume");
    let volume = world.linode.state().volumes[&volume_id].clone();
    assert_eq!(volume["label"], claim["spec"]["volumeName"]);
    assert_eq!(
        (volume["size"].clone(), volume["region"].clone()),
        (json!(50), json!("us-ord"))
    );
    assert_eq!(volume["tags"], json!(["lkeobs", "lkeobs-fleet-t"]));

    // The same apply changes nothing; a new replica count is a new generation, rolled out again.
    assert_eq!(generation(&fake), 1);
    apply(&k8s, &stack(2)).await;
    assert_eq!(
        generation(&fake),
        1,
        "an apply that changes nothing keeps the generation"
    );
    apply(&k8s, &stack(3)).await;
    assert_eq!(generation(&fake), 2);
    k8s.wait_rollouts(&workloads, soon())
        .await
        .expect("the new generation rolls out");
    let gateway = fake.get("apps/v1", "Deployment", Some("obs"), "gateway").unwrap();
    assert_eq!(
        (
            gateway["status"]["observedGeneration"].clone(),
            gateway["status"]["readyReplicas"].clone()
        ),
        (json!(2), json!(3))
    );
    assert_eq!(generation(&fake), 2, "status writes keep the generation");
    eventually("a third gateway pod", || {
        names(&fake, "v1", "Pod")
            .iter()
            .filter(|n| n.starts_with("gateway-"))
            .count()
            == 3
    })
    .await;

    // A rolling restart (a merge patch of the pod template) is a new generation too.
    let gateway = workloads.iter().find(|w| w.name == "gateway").unwrap();
    assert!(k8s.restart(gateway, "test").await.expect("restart"));
    assert_eq!(generation(&fake), 3);
    k8s.wait_rollouts(&workloads, soon())
        .await
        .expect("the restart rolls out");
    // A new pod template: new pods (a new template hash in their names) replace the old ones.
    eventually("three restarted gateway pods", || {
        let gateway: Vec<Value> = fake
            .list("v1", "Pod")
            .into_iter()
            .filter(|p| p["metadata"]["name"].as_str().unwrap().starts_with("gateway-"))
            .collect();
        gateway.len() == 3
            && gateway
                .iter()
                .all(|p| p["metadata"]["annotations"]["lkeobs.io/restart-reason"] == "test")
    })
    .await;

    // A new node gets an agent; a deleted workload loses its pods.
    let pool = world.linode.client().list_node_pools(id).await.unwrap()[0].id;
    let grow = UpdateNodePool {
        count: Some(4),
        ..Default::default()
    };
    world.linode.client().update_node_pool(id, pool, &grow).await.unwrap();
    eventually("a fourth agent", || {
        names(&fake, "v1", "Pod")
            .iter()
            .filter(|n| n.starts_with("agent-"))
            .count()
            == 4
    })
    .await;
    k8s.wait_rollouts(&workloads, soon())
        .await
        .expect("the agent covers the new node");
    fake.delete("apps/v1", "Deployment", Some("obs"), "gateway");
    eventually("the gateway pods gone", || {
        !names(&fake, "v1", "Pod").iter().any(|p| p.starts_with("gateway-"))
    })
    .await;
}

#[tokio::test]
async fn generation_is_the_servers_whatever_a_client_sends() {
    let fake = K8sFake::start().await;
    let k8s = fake.k8s();
    let yaml = |replicas: u32, generation: u32| {
        format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: obs}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: gateway, namespace: obs, generation: {generation}}}\nspec: {{replicas: {replicas}}}\n"
        )
    };
    apply(&k8s, &yaml(1, 7)).await;
    assert_eq!(generation(&fake), 1);
    apply(&k8s, &yaml(1, 9)).await;
    assert_eq!(generation(&fake), 1);
    apply(&k8s, &yaml(2, 1)).await;
    assert_eq!(generation(&fake), 2);
}

fn firewall(label: &str) -> lkeobs::linode::CreateFirewall {
    lkeobs::linode::CreateFirewall {
        label: label.into(),
        rules: lkeobs::firewall::gateway_rules(&[]).unwrap(),
        tags: vec!["lkeobs".into()],
        devices: None,
    }
}

fn gateway_service(firewall_id: u64) -> String {
    format!(
        r#"
apiVersion: v1
kind: Namespace
metadata: {{name: obs}}
---
apiVersion: v1
kind: Service
metadata:
  name: gateway-external
  namespace: obs
  labels: {LABELS}
  annotations:
    service.beta.kubernetes.io/linode-loadbalancer-tags: "lkeobs, lkeobs-fleet-t"
    service.beta.kubernetes.io/linode-loadbalancer-firewall-id: "{firewall_id}"
spec:
  type: LoadBalancer
  selector: {{app: gateway}}
  ports: [{{name: otlp-grpc, port: 4317}}]
"#
    )
}

/// The firewall ids the NodeBalancer is a device of.
async fn firewalls_of(client: &lkeobs::linode::Client, nb: u64, firewalls: &[u64]) -> Vec<u64> {
    let mut found = Vec::new();
    for &fw in firewalls {
        let devices = client.list_firewall_devices(fw).await.unwrap();
        if devices
            .iter()
            .any(|d| d.entity.id == nb && d.entity.kind == "nodebalancer")
        {
            found.push(fw);
        }
    }
    found
}

#[tokio::test]
async fn a_load_balancer_service_gets_a_tagged_nodebalancer_kept_behind_its_firewall() {
    let world = World::start(&[HUB], Latencies::default()).await;
    let id = hub_cluster(&world, vec![NodePoolSpec::new("g6-standard-1", 1)]).await;
    let client = world.linode.client();
    let (fw1, fw2) = (
        client.create_firewall(&firewall("lkeobs-t-gw")).await.unwrap().id,
        client.create_firewall(&firewall("lkeobs-t-gw2")).await.unwrap().id,
    );
    let k8s = world.kube(HUB);
    apply(&k8s, &gateway_service(fw1)).await;
    let address = k8s
        .wait_load_balancer("obs", "gateway-external", soon())
        .await
        .expect("an address");

    let nbs = client.list_nodebalancers(None).await.unwrap();
    assert_eq!(nbs.len(), 1);
    let nb = &nbs[0];
    assert_eq!(world.nodebalancer_of(HUB, "obs", "gateway-external"), Some(nb.id));
    assert_eq!(nb.ipv4.as_deref(), Some(address.as_str()));
    assert_eq!(nb.tags, ["lkeobs", "lkeobs-fleet-t"]);
    assert_eq!(nb.region, "us-ord");
    assert_eq!(nb.lke_cluster.as_ref().map(|c| c.id), Some(id));
    assert_eq!(firewalls_of(&client, nb.id, &[fw1, fw2]).await, [fw1]);

    // Detached through the API alone: the controller attaches it again at its next sync.
    let device = client.list_firewall_devices(fw1).await.unwrap()[0].id;
    client.delete_firewall_device(fw1, device).await.unwrap();
    let st = world.linode.shared_state();
    let attached = |fw: u64| {
        let st = st.lock().unwrap();
        st.devices
            .values()
            .any(|d| d["firewall_id"] == fw && d["entity"]["id"] == nb.id)
    };
    eventually("the firewall attached again", || attached(fw1)).await;

    // Another firewall id in the annotation: the NodeBalancer moves.
    apply(&k8s, &gateway_service(fw2)).await;
    eventually("the NodeBalancer behind the second firewall", || {
        attached(fw2) && !attached(fw1)
    })
    .await;

    // The Service deleted while the cluster runs: its NodeBalancer goes, and its device with it.
    world
        .k8s(HUB)
        .unwrap()
        .delete("v1", "Service", Some("obs"), "gateway-external");
    eventually("the NodeBalancer deleted", || {
        st.lock().unwrap().nodebalancers.is_empty()
    })
    .await;
    assert!(!attached(fw2));
    assert_eq!(world.nodebalancer_of(HUB, "obs", "gateway-external"), None);
}

const CLAIM: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: obs}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: lkeobs-block}
provisioner: linodebs.csi.linode.com
parameters: {linodebs.csi.linode.com/volumeTags: "lkeobs,lkeobs-fleet-t"}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: tempo-data, namespace: obs, labels: LABELS}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: lkeobs-block
  resources: {requests: {storage: 20Gi}}
"#;

#[tokio::test]
async fn a_claim_gets_a_volume_that_teardown_deletes_with_it() {
    let world = World::start(&[HUB], Latencies::default()).await;
    hub_cluster(&world, vec![NodePoolSpec::new("g6-standard-1", 1)]).await;
    let (k8s, fake) = (world.kube(HUB), world.k8s(HUB).unwrap());
    apply(&k8s, &CLAIM.replace("LABELS", LABELS)).await;
    let bound = || {
        fake.get("v1", "PersistentVolumeClaim", Some("obs"), "tempo-data")
            .unwrap()["status"]["phase"]
            == "Bound"
    };
    eventually("the claim Bound", bound).await;
    let id = world.volume_of(HUB, "obs", "tempo-data").expect("a volume");
    let volume = world
        .linode
        .client()
        .list_volumes(None)
        .await
        .unwrap()
        .into_iter()
        .find(|v| v.id == id)
        .unwrap();
    assert_eq!(
        (volume.size, volume.region.as_str(), volume.linode_id),
        (20, "us-ord", None)
    );
    assert_eq!(volume.tags, ["lkeobs", "lkeobs-fleet-t"]);
    let pv = fake
        .get("v1", "PersistentVolume", None, &volume.label)
        .expect("its PersistentVolume");
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Delete");

    // The library's teardown step deletes the claim and waits for the PersistentVolume to go.
    let deleted = k8s.delete_volumes("t", soon()).await.expect("claims deleted");
    assert_eq!(deleted.len(), 1);
    assert!(fake.get("v1", "PersistentVolume", None, &volume.label).is_none());
    assert!(
        world.linode.client().list_volumes(None).await.unwrap().is_empty(),
        "the volume went with its claim"
    );
}

#[tokio::test]
async fn a_deleted_cluster_leaves_its_nodebalancer_and_volume_behind() {
    let world = World::start(&[HUB], Latencies::zero()).await;
    let id = hub_cluster(&world, vec![NodePoolSpec::new("g6-standard-1", 1)]).await;
    let client = world.linode.client();
    let fw = client.create_firewall(&firewall("lkeobs-t-gw")).await.unwrap().id;
    let k8s = world.kube(HUB);
    apply(&k8s, &gateway_service(fw)).await;
    apply(&k8s, &CLAIM.replace("LABELS", LABELS)).await;
    k8s.wait_load_balancer("obs", "gateway-external", soon()).await.unwrap();
    eventually("a volume", || world.volume_of(HUB, "obs", "tempo-data").is_some()).await;

    client.delete_lke_cluster(id).await.unwrap();
    let fake = world.k8s(HUB).unwrap();
    eventually("the Nodes gone", || fake.list("v1", "Node").is_empty()).await;
    // Nobody is left to clean up: deleting the objects now changes nothing at Linode.
    fake.delete("v1", "Service", Some("obs"), "gateway-external");
    fake.delete("v1", "PersistentVolumeClaim", Some("obs"), "tempo-data");
    // The controllers forget what they made for objects that are gone; once they have, they have
    // seen the deletions (with their cluster gone), and whatever they would clean up is cleaned up.
    eventually("the controllers to see the deletions", || {
        world.nodebalancer_of(HUB, "obs", "gateway-external").is_none()
            && world.volume_of(HUB, "obs", "tempo-data").is_none()
    })
    .await;
    assert_eq!(
        client.list_nodebalancers(None).await.unwrap().len(),
        1,
        "the NodeBalancer is left"
    );
    assert_eq!(client.list_volumes(None).await.unwrap().len(), 1, "the volume is left");
    assert!(world.running());
}

#[tokio::test]
async fn a_cluster_api_added_later_is_what_its_kubeconfig_points_at() {
    let mut state = State::seeded();
    state.kubeconfig_not_ready_polls = 0;
    let world = World::start_with(state, &[HUB], Latencies::zero()).await;
    let edge = world.add_cluster_api("lkeobs-t-edge").await;
    let pools = vec![NodePoolSpec::new("g6-standard-1", 2)];
    let id = world.linode.seed_cluster("lkeobs-t-edge", "de-fra-2", pools, &[]).await;
    let kubeconfig = world.linode.client().get_kubeconfig(id).await.unwrap();
    assert!(kubeconfig.contains(&edge.uri()), "{kubeconfig}");
    let k8s = K8s::from_kubeconfig(&kubeconfig)
        .await
        .expect("a client from the kubeconfig");
    assert_eq!(k8s.wait_nodes_ready(2, soon()).await.expect("edge nodes Ready"), 2);
    let node = &edge.list("v1", "Node")[0];
    assert_eq!(node["metadata"]["labels"]["topology.kubernetes.io/region"], "de-fra-2");
    assert!(
        world.k8s(HUB).unwrap().list("v1", "Node").is_empty(),
        "the hub has no cluster yet"
    );
}
