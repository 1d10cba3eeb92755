//! `plan` and `validate` with a token, against the stateful Linode fake (through LINODE_URL): the preflight,
//! the difference between fleet/prod.toml and what exists, "not ours", and a 30% 429 storm that changes nothing.

use crate::support;
use crate::tooling;

use serde_json::{Value, json};
use support::FAKE_TOKEN;
use support::k8s_fake::K8sFake;
use support::linode_fake::{EXAMPLE_REGIONS, LinodeFake, State, sells, us_regions};
use tooling::{fleet, lkeobs};

use lkeobs::linode::{
    AclAddresses, Autoscaler, ControlPlaneAcl, ControlPlaneSpec, CreateFirewall, CreateLkeCluster, FirewallRules,
    NodePoolSpec,
};

/// The fake's catalog widened to what fleet/prod.toml needs, answering like the real API: regions list
/// only region capabilities, the account holds HA control planes and the ACL, and the RTX 4000 Ada plan
/// is sold in sg-sin-2 but not in ap-south (whose region lists `GPU Linodes` for older plans).
fn prod_catalog() -> State {
    let mut s = State::seeded();
    s.regions = us_regions(&[EXAMPLE_REGIONS.as_slice(), &[("ap-south", true)]].concat());
    s.availability = vec![
        sells("sg-sin-2", "g2-gpu-rtx4000a1-s", true),
        sells("ap-south", "g1-gpu-rtx6000-1", true),
        sells("ap-south", "g2-gpu-rtx4000a1-s", false),
    ];
    s.versions = vec!["1.32".into(), "1.33".into()];
    s
}

/// An enforced control-plane ACL of these IPv4 networks.
fn prod_acl(nets: &[&str]) -> ControlPlaneAcl {
    ControlPlaneAcl {
        enabled: Some(true),
        addresses: Some(AclAddresses {
            ipv4: Some(nets.iter().map(|s| s.to_string()).collect()),
            ipv6: None,
        }),
        revision_id: None,
    }
}

const OURS: [&str; 4] = ["lkeobs", "lkeobs-fleet-prod", "team-obs", "env-prod"];

fn tags(role: &str) -> Vec<String> {
    let mut t: Vec<String> = OURS.iter().map(|s| s.to_string()).collect();
    t.insert(2, format!("lkeobs-role-{role}"));
    t
}

fn pool(ty: &str, count: u32, scale: Option<(u32, u32)>) -> NodePoolSpec {
    let mut p = NodePoolSpec::new(ty, count);
    p.autoscaler = scale.map(|(min, max)| Autoscaler {
        enabled: true,
        min,
        max,
    });
    p
}

async fn create(fake: &LinodeFake, label: &str, region: &str, role: &str, pools: Vec<NodePoolSpec>, ha: bool) -> u64 {
    let client = fake.client();
    let req = CreateLkeCluster {
        label: label.into(),
        region: region.into(),
        k8s_version: "1.33".into(),
        node_pools: pools,
        tags: if role.is_empty() { Vec::new() } else { tags(role) },
        // Ours are created as `up` creates them: with the fleet's control-plane ACL.
        control_plane: Some(ControlPlaneSpec {
            high_availability: Some(ha),
            acl: (!role.is_empty()).then(|| prod_acl(&["203.0.113.0/24"])),
        }),
        tier: None,
    };
    client.create_lke_cluster(&req).await.expect("seed cluster").id
}

/// Hub and us-east as the fleet wants them; gpu-sg without its GPU pool; eu-west missing;
/// the firewall allows one stale address.
async fn partly_built(fake: &LinodeFake) {
    create(
        fake,
        "lkeobs-prod-hub",
        "us-ord",
        "hub",
        vec![pool("g6-standard-4", 3, Some((3, 5)))],
        true,
    )
    .await;
    create(
        fake,
        "lkeobs-prod-us-east",
        "us-east",
        "edge",
        vec![pool("g6-standard-2", 2, Some((2, 4)))],
        false,
    )
    .await;
    create(
        fake,
        "lkeobs-prod-gpu-sg",
        "sg-sin-2",
        "edge",
        vec![pool("g6-standard-2", 2, None)],
        false,
    )
    .await;
    let mut rules = lkeobs::firewall::gateway_rules(&["198.51.100.99".parse().unwrap()]).unwrap();
    rules.outbound = Vec::new();
    let fw = CreateFirewall {
        label: "lkeobs-prod-gw".into(),
        rules,
        tags: vec!["lkeobs".into(), "lkeobs-fleet-prod".into()],
        devices: None,
    };
    fake.client().create_firewall(&fw).await.expect("seed firewall");
}

/// A cluster with the label the fleet's eu-west edge would get, but none of our tags.
async fn not_ours_eu_west(fake: &LinodeFake) {
    create(
        fake,
        "lkeobs-prod-eu-west",
        "eu-west",
        "",
        vec![pool("g6-standard-2", 1, None)],
        false,
    )
    .await;
}

fn plan(fake: &LinodeFake, extra: &[&str]) -> (i32, Value, String) {
    let out = lkeobs()
        .env("LINODE_URL", fake.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .args(["plan", "--output", "json", "--fleet"])
        .arg(fleet("prod"))
        .args(extra)
        .output()
        .expect("runs");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn cluster<'a>(plan: &'a Value, name: &str) -> &'a Value {
    plan["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()
}

/// The plan without the call counts (which depend on retries).
fn essence(mut plan: Value) -> Value {
    plan.as_object_mut().unwrap().remove("api_calls");
    plan
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_against_the_fake_shows_the_difference() {
    let fake = LinodeFake::start_with(prod_catalog()).await;
    partly_built(&fake).await;
    let (code, p, err) = plan(&fake, &["--detailed-exitcode"]);
    assert_eq!(code, 2, "changes pending → 2; stderr: {err}");
    assert_eq!(p["mode"], "online");
    assert_eq!(cluster(&p, "hub")["action"], "adopt");
    assert_eq!(cluster(&p, "us-east")["action"], "adopt");
    assert_eq!(cluster(&p, "eu-west")["action"], "create");
    let gpu = cluster(&p, "gpu-sg");
    assert_eq!(gpu["action"], "adopt");
    let pool_actions: Vec<&str> = gpu["pools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["action"].as_str().unwrap())
        .collect();
    assert_eq!(pool_actions, ["unchanged", "create"]);
    let fw = &p["firewall"];
    assert_eq!(fw["action"], "update");
    assert_eq!(fw["remove"], json!(["198.51.100.99"]));
    assert_eq!(
        fw["add"].as_array().unwrap().len(),
        4,
        "2 us-east + 2 gpu-sg nodes: {fw}"
    );
    assert_eq!(fw["pending_edges"], json!(["eu-west"]));
    assert!(p["api_calls"]["GET /lke/clusters"].as_u64().unwrap() >= 1);
    assert_eq!(p["api_calls"]["GET /lke/clusters/{id}/pools"], 3);
    // Nothing was written.
    let st = fake.state();
    assert!(
        st.log
            .iter()
            .filter(|l| l.injected.is_none())
            .skip(4)
            .all(|l| l.method == "GET"),
        "plan wrote something"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_survives_a_429_storm_with_the_same_result() {
    let fake = LinodeFake::start_with(prod_catalog()).await;
    partly_built(&fake).await;
    let (_, calm, _) = plan(&fake, &[]);
    fake.state().faults.rate_limit_percent = 30;
    let (code, stormy, err) = plan(&fake, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(fake.state().injected() > 0, "no 429 was injected");
    assert_eq!(essence(calm), essence(stormy));
}

/// Applies what `up` would to one cluster's fake Kubernetes API: the rendered stack and the runtime Secrets.
async fn apply_stack(k8s: &lkeobs::k8s::K8s, name: &str, inputs: &lkeobs::stack::Inputs) {
    let text = std::fs::read_to_string(fleet("prod")).unwrap();
    let loaded = lkeobs::fleet::parse("prod.toml", &text).unwrap();
    let cluster = loaded.fleet.cluster(name).unwrap();
    let rendered = lkeobs::stack::Renderer::new()
        .unwrap()
        .render(&loaded.fleet, cluster, inputs)
        .unwrap();
    let manifests = lkeobs::k8s::Manifests::parse(rendered.documents()).unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    k8s.apply(&manifests, deadline).await.unwrap();
    for (object, _) in lkeobs::stack::secrets::runtime_secrets(&loaded.fleet, cluster) {
        let data = std::collections::BTreeMap::from([("k".to_string(), b"v".to_vec())]);
        let ns = object.namespace.unwrap();
        k8s.ensure_secret(
            &ns,
            &object.name,
            &Default::default(),
            &data,
            lkeobs::k8s::SecretMode::CreateOnly,
        )
        .await
        .unwrap();
    }
}

/// Every cluster and its stack as `up` leaves them, each cluster with its own fake Kubernetes API.
async fn converged() -> (LinodeFake, Vec<(String, K8sFake)>) {
    let mut st = prod_catalog();
    st.kubeconfig_not_ready_polls = 0;
    let mut kubes = Vec::new();
    for name in ["hub", "us-east", "eu-west", "gpu-sg"] {
        let k = K8sFake::start().await;
        st.kube_servers.insert(format!("lkeobs-prod-{name}"), k.uri());
        kubes.push((name.to_string(), k));
    }
    let fake = LinodeFake::start_with(st).await;
    partly_built(&fake).await;
    let client = fake.client();
    create(
        &fake,
        "lkeobs-prod-eu-west",
        "eu-west",
        "edge",
        vec![pool("g6-standard-2", 2, Some((2, 4)))],
        false,
    )
    .await;
    let gpu = client
        .list_lke_clusters(None)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.label.ends_with("gpu-sg"))
        .unwrap();
    let mut gpu_pool = NodePoolSpec::new("g2-gpu-rtx4000a1-s", 1);
    gpu_pool.labels.insert("lkeobs.io/gpu".into(), "true".into());
    client.create_node_pool(gpu.id, &gpu_pool).await.unwrap();
    // The firewall rules the plan asks for.
    let (_, p, err) = plan(&fake, &[]);
    let mut ips: Vec<std::net::Ipv4Addr> = p["firewall"]["add"]
        .as_array()
        .unwrap_or_else(|| panic!("{p:#} {err}"))
        .iter()
        .map(|v| v.as_str().unwrap().parse().unwrap())
        .collect();
    ips.sort();
    let fw = client.list_firewalls(None).await.unwrap().remove(0);
    let rules: FirewallRules = lkeobs::firewall::gateway_rules(&ips).unwrap();
    client.put_firewall_rules(fw.id, &rules).await.unwrap();
    // The stacks, hub first; the cloud controller gives the gateway its address.
    let mut inputs = lkeobs::stack::Inputs {
        gateway_address: None,
        firewall_id: Some(fw.id),
        // As `up` finds the GPU cluster: no RuntimeClass with handler nvidia.
        gpu_runtime: Some(lkeobs::stack::GpuRuntime::Default),
        ..Default::default()
    };
    for (name, k) in &kubes {
        // As `up` renders: the egress policies name the API server's real address.
        inputs.api_server = k.k8s().api_server_endpoints().await.unwrap();
        apply_stack(&k.k8s(), name, &inputs).await;
        if name == "hub" {
            k.set_status(
                "v1",
                "Service",
                Some("observability-hub"),
                "otel-gateway-external",
                json!({"loadBalancer": {"ingress": [{"ip": "198.51.100.50"}]}}),
            );
            inputs.gateway_address = Some("198.51.100.50".into());
        }
    }
    (fake, kubes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converged_account_plans_no_changes() {
    let (fake, _kubes) = converged().await;
    let (code, p, err) = plan(&fake, &["--detailed-exitcode"]);
    assert_eq!(code, 0, "converged → 0; plan: {p:#}\n{err}");
    assert_eq!(p["changes"], 0);
    assert!(
        p["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["objects_compared"] == true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_drift_and_stale_objects_show_in_the_plan() {
    let (fake, kubes) = converged().await;
    let hub = &kubes[0].1;
    // Someone edited the gateway's config; an object lkeobs no longer renders is still there.
    let mut cm = hub
        .get("v1", "ConfigMap", Some("observability-hub"), "otel-gateway")
        .unwrap();
    cm["data"] = json!({"config.yaml": "edited by hand"});
    hub.put(cm);
    hub.put(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "old-dashboard", "namespace": "monitoring",
        "labels": {"app.kubernetes.io/managed-by": "lkeobs", "lkeobs.io/fleet": "prod"}}}),
    );
    hub.put(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "not-ours", "namespace": "monitoring"}}),
    );
    let (code, p, err) = plan(&fake, &["--detailed-exitcode"]);
    assert_eq!(code, 2, "{err}");
    let objects = cluster(&p, "hub")["objects"].as_array().unwrap();
    let changed: Vec<(String, String)> = objects
        .iter()
        .filter(|o| o["action"] != "unchanged")
        .map(|o| {
            (
                o["action"].as_str().unwrap().to_string(),
                o["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        changed,
        [
            ("update".to_string(), "otel-gateway".to_string()),
            ("delete".to_string(), "old-dashboard".to_string())
        ]
    );
    assert_eq!(p["changes"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_with_our_label_but_not_our_tags_is_an_error() {
    let fake = LinodeFake::start_with(prod_catalog()).await;
    not_ours_eu_west(&fake).await;
    let (code, p, err) = plan(&fake, &["--detailed-exitcode"]);
    assert_eq!(code, 1, "not ours → error, never 'changes': {err}");
    assert!(p["problems"][0].as_str().unwrap().contains("not ours"), "{p:#}");
    assert!(err.contains("lkeobs-prod-eu-west"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_names_the_fleet_line() {
    let mut st = prod_catalog();
    st.regions.retain(|r| r["id"] != "eu-west");
    st.versions = vec!["1.34".into()];
    let fake = LinodeFake::start_with(st).await;
    let out = lkeobs()
        .env("LINODE_URL", fake.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .args(["validate", "--fleet"])
        .arg(fleet("prod"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("prod.toml:8:15: fleet.k8s_version = \"1.33\": this Kubernetes version is not offered"),
        "{err}"
    );
    assert!(
        err.contains("prod.toml:21:10: edges.eu-west.region = \"eu-west\": no such region"),
        "{err}"
    );
    // --offline skips the live checks.
    lkeobs()
        .env("LINODE_URL", fake.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .args(["validate", "--offline", "--fleet"])
        .arg(fleet("prod"))
        .assert()
        .success();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_online_reports_api_calls_and_never_the_token() {
    let fake = LinodeFake::start_with(prod_catalog()).await;
    let out = lkeobs()
        .env("LINODE_URL", fake.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .args(["-vv", "validate", "--output", "json", "--fleet"])
        .arg(fleet("prod"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["preflight"], "passed");
    assert_eq!(v["api_calls"]["GET /regions"], 1);
    assert_eq!(
        v["api_calls"]["GET /account"], 1,
        "HA and the ACL are account capabilities"
    );
    assert_eq!(v["api_calls"]["GET /regions/{id}/availability"], 1, "one GPU region");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(FAKE_TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_text_reads_like_a_diff() {
    let fake = LinodeFake::start_with(prod_catalog()).await;
    partly_built(&fake).await;
    let out = lkeobs()
        .env("LINODE_URL", fake.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .args(["plan", "--fleet"])
        .arg(fleet("prod"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    for want in [
        "(against the Linode account)",
        "= cluster hub (hub) lkeobs-prod-hub (id ",
        "+ cluster eu-west (edge) lkeobs-prod-eu-west",
        "+ pool g2-gpu-rtx4000a1-s × 1, GPU (DCGM exporter)\n      labels lkeobs.io/gpu=true\n",
        "~ firewall lkeobs-prod-gw (id ",
        "    - 198.51.100.99",
        "    + the nodes of eu-west once they exist",
        "stack objects: applied by `up` (not compared here)",
    ] {
        assert!(text.contains(want), "plan lacks {want:?}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_reports_carry_api_calls_too() {
    let mut st = prod_catalog();
    st.versions = vec!["1.34".into()];
    let fake = LinodeFake::start_with(st).await;
    let out = lkeobs()
        .env("LINODE_URL", fake.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .args(["validate", "--output", "json", "--fleet"])
        .arg(fleet("prod"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(v["ok"], false);
    assert_eq!(v["errors"][0]["field"], "fleet.k8s_version");
    assert_eq!(v["api_calls"]["GET /lke/versions"], 1);
}

fn validate_prod(st: State, edit: impl Fn(String) -> String) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prod.toml");
    std::fs::write(&file, edit(std::fs::read_to_string(fleet("prod")).unwrap())).unwrap();
    let rt = tokio::runtime::Handle::current();
    let fake = tokio::task::block_in_place(|| rt.block_on(LinodeFake::start_with(st)));
    let out = lkeobs()
        .env("LINODE_URL", fake.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .args(["validate", "--fleet"])
        .arg(&file)
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_without_ha_control_planes_fails_at_the_high_availability_line() {
    let mut st = prod_catalog();
    st.account_capabilities.retain(|c| c != "LKE HA Control Planes");
    let (code, err) = validate_prod(st, |s| s);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "prod.toml:13:21: hub.high_availability = true: this account lacks the `LKE HA Control Planes` capability"
        ),
        "{err}"
    );
    assert!(!err.contains(".region"), "regions are not blamed: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_without_the_acl_fails_at_the_control_plane_acl_line() {
    let mut st = prod_catalog();
    st.account_capabilities
        .retain(|c| c != "LKE Network Access Control List (IP ACL)");
    let (code, err) = validate_prod(st, |s| s);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("prod.toml:40:"), "{err}");
    assert!(err.contains("security.control_plane_acl"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gpu_pool_in_a_region_that_does_not_sell_its_plan_fails_at_the_type() {
    let (code, err) = validate_prod(prod_catalog(), |s| s.replace("\"sg-sin-2\"", "\"ap-south\""));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("edges.gpu-sg.pools[1].type = \"g2-gpu-rtx4000a1-s\": this plan is not available in ap-south"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_cluster_is_noted_and_the_plan_goes_on_reporting_everything() {
    let mut st = prod_catalog();
    // Kubeconfigs are ready at once and point at 127.0.0.1:1, where nothing listens.
    st.kubeconfig_not_ready_polls = 0;
    let fake = LinodeFake::start_with(st).await;
    partly_built(&fake).await;
    not_ours_eu_west(&fake).await;
    let (code, p, err) = plan(&fake, &[]);
    assert_eq!(code, 1, "{err}");
    let problems: Vec<&str> = p["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(problems.iter().any(|m| m.contains("not ours")), "{problems:#?}");
    for label in ["lkeobs-prod-hub", "lkeobs-prod-us-east", "lkeobs-prod-gpu-sg"] {
        assert!(
            problems
                .iter()
                .any(|m| m.starts_with(&format!("cannot compare the stack of {label}"))),
            "{label} missing from {problems:#?}"
        );
    }
    // Stderr is a pipe here: no terminal escape codes, no library log lines without -v.
    assert!(!err.contains('\u{1b}'), "escape codes on a pipe: {err:?}");
    assert!(!err.contains("kube_client") && !err.contains("hyper"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_control_plane_acl_is_planned_per_cluster() {
    let fake = LinodeFake::start_with(prod_catalog()).await;
    partly_built(&fake).await;
    let hub = *fake
        .state()
        .clusters
        .iter()
        .find(|(_, c)| c["label"] == "lkeobs-prod-hub")
        .unwrap()
        .0;
    fake.client()
        .update_control_plane_acl(hub, &prod_acl(&["198.51.100.0/24"]))
        .await
        .unwrap();
    let (_, p, err) = plan(&fake, &[]);
    let c = cluster(&p, "hub");
    assert_eq!(c["action"], "update", "{err}\n{p:#}");
    assert_eq!(c["acl"]["from"], serde_json::json!(["198.51.100.0/24"]));
    assert_eq!(c["acl"]["to"], serde_json::json!(["203.0.113.0/24"]));
    assert!(cluster(&p, "us-east")["acl"].is_null(), "in sync: {p:#}");
    assert_eq!(p["api_calls"]["GET /lke/clusters/{id}/control_plane_acl"], 3, "{p:#}");
}
