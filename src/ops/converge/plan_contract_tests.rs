//! Property test of the plan's promise: for generated fleets and account states, the Linode writes `up`
//! sends for each cluster (through the same executor its cluster tasks run) are exactly the plan's, in
//! the plan's order, and every pool write names a pool the plan paired by identity.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::cluster;
use crate::linode::{Client, ClientConfig, ControlPlaneAcl, Firewall, LkeCluster, NodePool, RateLimits, Token};
use crate::plan::{self, Action, LinodeWrite, Observed, ObservedCluster, Plan, SeenAcl};
use crate::stack::Renderer;

const TYPES: [&str; 3] = ["g6-standard-2", "g6-standard-4", "g6-dedicated-4"];
const REGIONS: [&str; 3] = ["us-ord", "us-east", "eu-west"];
const NETS: [&str; 3] = ["203.0.113.0/24", "198.51.100.0/24", "2001:db8::/32"];

#[derive(Debug, Clone)]
struct PoolGen {
    kind: usize,
    count: u32,
    autoscale: Option<(u32, u32)>,
}

#[derive(Debug, Clone)]
struct ClusterGen {
    pools: Vec<PoolGen>,
    ha: bool,
}

#[derive(Debug, Clone)]
struct FleetGen {
    clusters: Vec<ClusterGen>,
    /// None: `control_plane_acl` absent; Some(n): the first n networks (0: the ACL turned off).
    acl: Option<usize>,
    ttl: bool,
    firewall: bool,
}

/// What the account holds for one of the fleet's clusters.
#[derive(Debug, Clone)]
enum Have {
    Missing,
    /// A cluster with the fleet's label and someone else's tags.
    Foreign,
    Ours {
        behind: bool,
        ha: bool,
        tags_missing: bool,
        expires_tag: bool,
        pools: Vec<PoolGen>,
        /// 0: no ACL to manage; n: an ACL with the first n-1 networks.
        acl: usize,
    },
}

#[derive(Debug, Clone)]
struct StateGen {
    clusters: Vec<Have>,
    /// None: no firewall; Some(k): ours, with rules for the first k edge addresses seen.
    firewall: Option<usize>,
}

fn pool() -> impl Strategy<Value = PoolGen> {
    (0..TYPES.len(), 1u32..4, proptest::option::of((1u32..3, 0u32..3))).prop_map(|(kind, count, a)| PoolGen {
        kind,
        count,
        autoscale: a.map(|(min, extra)| (min, min + extra)),
    })
}

fn fleet_gen() -> impl Strategy<Value = FleetGen> {
    let cluster =
        (proptest::collection::vec(pool(), 1..3), any::<bool>()).prop_map(|(pools, ha)| ClusterGen { pools, ha });
    (
        proptest::collection::vec(cluster, 1..=3),
        proptest::option::of(0usize..=2),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(clusters, acl, ttl, firewall)| FleetGen {
            clusters,
            acl,
            ttl,
            firewall,
        })
}

fn have() -> impl Strategy<Value = Have> {
    prop_oneof![
        2 => Just(Have::Missing),
        1 => Just(Have::Foreign),
        5 => (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), proptest::collection::vec(pool(), 0..3), 0usize..4)
            .prop_map(|(behind, ha, tags_missing, expires_tag, pools, acl)| Have::Ours { behind, ha, tags_missing, expires_tag, pools, acl }),
    ]
}

fn case() -> impl Strategy<Value = (FleetGen, StateGen)> {
    fleet_gen().prop_flat_map(|f| {
        let n = f.clusters.len();
        let state = (proptest::collection::vec(have(), n), proptest::option::of(0usize..4))
            .prop_map(|(clusters, firewall)| StateGen { clusters, firewall });
        (Just(f), state)
    })
}

fn name(i: usize) -> &'static str {
    ["hub", "e1", "e2"][i]
}

fn pools_toml(pools: &[PoolGen]) -> String {
    let items: Vec<String> = pools
        .iter()
        .map(|p| match p.autoscale {
            Some((min, max)) => format!(
                "{{ type = \"{}\", count = {}, autoscale = {{ min = {min}, max = {max} }} }}",
                TYPES[p.kind],
                p.count.clamp(min, max)
            ),
            None => format!("{{ type = \"{}\", count = {} }}", TYPES[p.kind], p.count),
        })
        .collect();
    format!("[{}]", items.join(", "))
}

fn fleet_toml(f: &FleetGen) -> String {
    let mut out = String::from("[fleet]\nname = \"prop\"\nk8s_version = \"1.33\"\ntags = [\"team-obs\"]\n");
    if f.ttl {
        out.push_str("ttl = \"4h\"\n");
    }
    for (i, c) in f.clusters.iter().enumerate() {
        let table = if i == 0 {
            "[hub]".to_string()
        } else {
            format!("[edges.{}]", name(i))
        };
        out.push_str(&format!(
            "\n{table}\nregion = \"{}\"\nhigh_availability = {}\npools = {}\n",
            REGIONS[i],
            c.ha,
            pools_toml(&c.pools)
        ));
    }
    out.push_str(&format!(
        "\n[security]\ngateway_firewall = {}\nmtls = false\n",
        f.firewall
    ));
    if let Some(n) = f.acl {
        let nets: Vec<String> = NETS[..n].iter().map(|s| format!("\"{s}\"")).collect();
        out.push_str(&format!("control_plane_acl = [{}]\n", nets.join(", ")));
    }
    out
}

fn observed(f: &FleetGen, s: &StateGen) -> Observed {
    let mut out = Observed::default();
    let mut edge_ips = Vec::new();
    for (i, h) in s.clusters.iter().enumerate() {
        let label = crate::naming::cluster_label("prop", name(i));
        let role = if i == 0 { "hub" } else { "edge" };
        let id = 1000 + i as u64;
        let (tags, version, ha, pools, acl) = match h {
            Have::Missing => continue,
            Have::Foreign => (
                vec!["someone-else".to_string()],
                "1.33",
                false,
                Vec::new(),
                SeenAcl::Unread,
            ),
            Have::Ours {
                behind,
                ha,
                tags_missing,
                expires_tag,
                pools,
                acl,
            } => {
                let mut tags = crate::naming::cluster_tags("prop", role, &["team-obs".to_string()]);
                if *tags_missing {
                    tags.retain(|t| t != "team-obs");
                }
                if *expires_tag {
                    tags.push(crate::naming::expires_tag(1_900_000_000));
                }
                let pools: Vec<NodePool> = pools
                    .iter()
                    .enumerate()
                    .map(|(j, p)| {
                        let mut v =
                            json!({"id": id * 10 + j as u64, "type": TYPES[p.kind], "count": p.count, "nodes": []});
                        if let Some((min, max)) = p.autoscale {
                            v["autoscaler"] = json!({"enabled": true, "min": min, "max": max});
                        }
                        serde_json::from_value(v).unwrap()
                    })
                    .collect();
                let acl = match (f.acl, acl) {
                    (None, _) => SeenAcl::Unread,
                    (Some(_), 0) => SeenAcl::Unsupported,
                    (Some(_), n) => {
                        let n = *n;
                        let nets: Vec<&str> = NETS[..n - 1].iter().copied().filter(|n| !n.contains(':')).collect();
                        SeenAcl::Acl(
                            serde_json::from_value::<ControlPlaneAcl>(
                                json!({"enabled": n > 1, "addresses": {"ipv4": nets}}),
                            )
                            .unwrap(),
                        )
                    }
                };
                (tags, if *behind { "1.32" } else { "1.33" }, *ha, pools, acl)
            }
        };
        let node_ipv4 = if i > 0 {
            vec![std::net::Ipv4Addr::new(192, 0, 2, i as u8)]
        } else {
            Vec::new()
        };
        edge_ips.extend(node_ipv4.iter().copied());
        let cluster: LkeCluster = serde_json::from_value(json!({
            "id": id, "label": label, "region": REGIONS[i], "k8s_version": version, "tags": tags,
            "control_plane": {"high_availability": ha}
        }))
        .unwrap();
        out.clusters.push(ObservedCluster {
            cluster,
            pools,
            node_ipv4,
            acl,
        });
    }
    if let Some(k) = s.firewall {
        let rules = crate::firewall::gateway_rules(&edge_ips[..k.min(edge_ips.len())]).unwrap();
        let fw: Firewall = serde_json::from_value(json!({
            "id": 77, "label": crate::naming::firewall_label("prop"), "status": "enabled",
            "tags": crate::naming::fleet_tags("prop", &["team-obs".to_string()]),
            "rules": serde_json::to_value(&rules).unwrap()
        }))
        .unwrap();
        out.firewall = Some(fw);
    }
    out
}

/// Answers every request as the Linode API would, echoing the bodies it was sent.
struct Linode {
    next_id: Arc<Mutex<u64>>,
}

impl Respond for Linode {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let path = req.url.path().trim_start_matches("/v4").to_string();
        let mut id = self.next_id.lock().unwrap();
        *id += 1;
        let answer = match (req.method.as_str(), path.as_str()) {
            ("GET", _) => json!({"data": [], "page": 1, "pages": 1, "results": 0}),
            ("DELETE", _) => json!({}),
            ("POST", "/lke/clusters") => {
                json!({"id": 5000 + *id, "label": body["label"], "region": body["region"], "k8s_version": body["k8s_version"], "tags": body["tags"]})
            }
            ("POST", "/networking/firewalls") => {
                json!({"id": 6000 + *id, "label": body["label"], "status": "enabled", "tags": body["tags"], "rules": body["rules"]})
            }
            ("POST", p) if p.ends_with("/pools") => {
                json!({"id": 7000 + *id, "type": body["type"], "count": body["count"], "nodes": []})
            }
            ("PUT", p) if p.ends_with("/control_plane_acl") => body,
            ("PUT", p) if p.contains("/pools/") => json!({"id": 1, "type": "g6-standard-2", "count": 1, "nodes": []}),
            ("PUT", _) => json!({"id": 1, "label": "x", "region": "us-ord", "k8s_version": "1.33", "tags": []}),
            _ => return ResponseTemplate::new(404),
        };
        ResponseTemplate::new(200).set_body_json(answer)
    }
}

fn client(base: &str) -> Client {
    let mut config = ClientConfig::new(Token::new("prop-test-token"));
    config.base_url = base.to_string();
    config.timeout = Some(Duration::from_secs(5));
    config.rate_limits = RateLimits {
        per_minute: 600_000,
        burst: 100_000,
        list_per_minute: 600_000,
        list_burst: 100_000,
    };
    Client::new(config).unwrap()
}

/// The writes the server received since `from`: method, path, body.
async fn writes(server: &MockServer, from: &std::cell::Cell<usize>) -> Vec<(String, String, Value)> {
    let all = server.received_requests().await.unwrap_or_default();
    let new: Vec<(String, String, Value)> = all[from.get()..]
        .iter()
        .filter(|r| r.method.as_str() != "GET")
        .map(|r| {
            let path = r.url.path().trim_start_matches("/v4").to_string();
            (
                r.method.to_string(),
                path,
                serde_json::from_slice(&r.body).unwrap_or(Value::Null),
            )
        })
        .collect();
    from.set(all.len());
    new
}

/// The plan's own invariants: pool writes keyed by the ids of the cluster's observed pools, each at most once.
fn check_identity(plan: &Plan, observed: &Observed) -> Result<(), TestCaseError> {
    for cp in &plan.clusters {
        let have: Vec<u64> = observed
            .clusters
            .iter()
            .find(|o| Some(o.cluster.id) == cp.id)
            .map(|o| o.pools.iter().map(|p| p.id).collect())
            .unwrap_or_default();
        let mut touched = Vec::new();
        for w in &cp.writes {
            if let LinodeWrite::UpdatePool { pool, .. } | LinodeWrite::DeletePool { pool } = w {
                prop_assert!(
                    have.contains(pool),
                    "{} writes pool {pool}, not one of {have:?}",
                    cp.name
                );
                prop_assert!(!touched.contains(pool), "{} writes pool {pool} twice", cp.name);
                touched.push(*pool);
            }
        }
        // Each pool's write is its own: an update goes to the pool of the same type it was paired with, a
        // replaced or dropped pool is deleted, nothing else is.
        let observed_pools: Vec<&NodePool> = observed
            .clusters
            .iter()
            .filter(|o| Some(o.cluster.id) == cp.id)
            .flat_map(|o| o.pools.iter())
            .collect();
        for p in &cp.pools {
            if let Some(LinodeWrite::UpdatePool { pool, body }) = &p.write {
                prop_assert_eq!(Some(*pool), p.id);
                let paired = observed_pools
                    .iter()
                    .find(|o| o.id == *pool)
                    .map(|o| o.linode_type.as_str());
                prop_assert_eq!(
                    paired,
                    Some(p.node_type.as_str()),
                    "pool {} updated as {}",
                    pool,
                    &p.node_type
                );
                if p.autoscale.is_none() {
                    prop_assert_eq!(body.count, Some(p.count));
                }
            }
        }
        let mut to_delete: Vec<u64> = cp
            .pools
            .iter()
            .filter(|p| matches!(p.action, Action::Replace | Action::Delete))
            .filter_map(|p| p.id)
            .collect();
        let mut deleted: Vec<u64> = cp
            .writes
            .iter()
            .filter_map(|w| match w {
                LinodeWrite::DeletePool { pool } => Some(*pool),
                _ => None,
            })
            .collect();
        to_delete.sort();
        deleted.sort();
        prop_assert_eq!(to_delete, deleted, "{}: deletions", &cp.name);
        // Deletions come last: after the nodes of the new pools are Ready.
        let first_delete = cp
            .writes
            .iter()
            .position(LinodeWrite::after_nodes_ready)
            .unwrap_or(cp.writes.len());
        prop_assert!(cp.writes[first_delete..].iter().all(LinodeWrite::after_nodes_ready));
        let creates = cp
            .writes
            .iter()
            .filter(|w| matches!(w, LinodeWrite::CreatePool(_)))
            .count();
        let new_pools = cp
            .pools
            .iter()
            .filter(|p| matches!(p.action, Action::Create | Action::Replace))
            .count();
        if cp.action != Action::Create {
            prop_assert_eq!(creates, new_pools, "{}: pool creates", &cp.name);
        }
        // The version moves in the upgrade stage (its own requests, in the fleet's upgrade order).
        let changed = cp.action == Action::Create
            || cp.changes.iter().any(|c| c.upgrade_to().is_none())
            || cp.acl.is_some()
            || cp.pools.iter().any(|p| p.action.is_change());
        prop_assert_eq!(
            changed,
            !cp.writes.is_empty(),
            "{}: writes {:?} for plan {:?}",
            &cp.name,
            &cp.writes,
            cp
        );
    }
    Ok(())
}

#[test]
fn up_sends_exactly_the_plans_linode_writes_in_its_order() {
    let cases: u32 = std::env::var("LKEOBS_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(MockServer::start());
    rt.block_on(
        Mock::given(wiremock::matchers::any())
            .respond_with(Linode {
                next_id: Arc::new(Mutex::new(0)),
            })
            .mount(&server),
    );
    let client = client(&format!("{}/v4", server.uri()));
    let renderer = Renderer::new().unwrap();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let seen = std::cell::Cell::new(0usize);
    // How many cases reached the executor, and the writes they compared.
    let (executed, compared) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0usize));
    let result = runner.run(&case(), |(f, s)| {
        let loaded = crate::fleet::parse("prop.toml", &fleet_toml(&f))
            .map_err(|e| TestCaseError::fail(format!("generated fleet invalid: {e}\n{}", fleet_toml(&f))))?;
        let fleet = &loaded.fleet;
        let observed = observed(&f, &s);
        let expires = plan::expiry(fleet, &observed, Duration::from_secs(1_800_000_000)).unwrap();
        let plan = plan::online(fleet, &observed, &renderer, expires).unwrap();
        check_identity(&plan, &observed)?;
        let foreign = s.clusters.iter().any(|h| matches!(h, Have::Foreign));
        prop_assert!(
            !foreign || super::refusal(&plan).is_some(),
            "a foreign cluster must stop up"
        );
        if super::refusal(&plan).is_some() {
            // `up` stops before its first write.
            return Ok(());
        }
        executed.set(executed.get() + 1);
        rt.block_on(async {
            if f.firewall {
                let (_, created) =
                    crate::ops::gateway_firewall::ensure(&client, observed.firewall.as_ref(), plan.firewall.as_ref())
                        .await
                        .unwrap();
                let sent = writes(&server, &seen).await;
                let create = plan.firewall.as_ref().and_then(|p| p.create.as_ref());
                prop_assert_eq!(created, observed.firewall.is_none());
                let want: Vec<(String, String, Value)> = create
                    .filter(|_| created)
                    .map(|c| {
                        (
                            "POST".to_string(),
                            "/networking/firewalls".to_string(),
                            serde_json::to_value(c).unwrap(),
                        )
                    })
                    .into_iter()
                    .collect();
                prop_assert_eq!(sent, want);
            }
            for cp in &plan.clusters {
                let ensured = cluster::ensure(&client, cp).await.unwrap();
                if cluster::deletes_after_ready(cp) {
                    cluster::delete_after_ready(&client, ensured.id, cp).await.unwrap();
                }
                let sent = writes(&server, &seen).await;
                let want: Vec<(String, String, Value)> = cp
                    .writes
                    .iter()
                    .map(|w| {
                        let (m, p, b) = w.http(ensured.id);
                        (m.to_string(), p, b)
                    })
                    .collect();
                prop_assert_eq!(&sent, &want, "cluster {}", &cp.name);
                compared.set(compared.get() + sent.len());
                prop_assert_eq!(ensured.created, cp.action == Action::Create);
            }
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!(
        "{cases} cases: {} reached the executor, {} writes compared",
        executed.get(),
        compared.get()
    );
    // Most cases must get past the refusals, or the property says little.
    assert!(
        executed.get() * 2 >= cases,
        "only {} of {cases} cases were executed",
        executed.get()
    );
}

/// The case the property test found: a fleet with a `ttl` whose cluster lacks the expiry tag and is behind
/// the fleet's version. `up` sends the expiry tag; the plan must list it.
#[test]
fn a_missing_expiry_tag_is_listed_when_an_upgrade_also_pends() {
    let one = |count| PoolGen {
        kind: 0,
        count,
        autoscale: None,
    };
    let f = FleetGen {
        clusters: vec![ClusterGen {
            pools: vec![one(1)],
            ha: false,
        }],
        acl: None,
        ttl: true,
        firewall: false,
    };
    let s = StateGen {
        clusters: vec![Have::Ours {
            behind: true,
            ha: false,
            tags_missing: false,
            expires_tag: false,
            pools: vec![one(1)],
            acl: 0,
        }],
        firewall: None,
    };
    let loaded = crate::fleet::parse("prop.toml", &fleet_toml(&f)).unwrap();
    let observed = observed(&f, &s);
    let expires = plan::expiry(&loaded.fleet, &observed, Duration::from_secs(1_800_000_000)).unwrap();
    let plan = plan::online(&loaded.fleet, &observed, &Renderer::new().unwrap(), expires).unwrap();
    let hub = &plan.clusters[0];
    let tag = crate::naming::expires_tag(expires.unwrap());
    assert!(
        hub.changes
            .iter()
            .any(|c| matches!(c, crate::plan::ClusterChange::TagsAdded(t) if t.contains(&tag))),
        "{:?}",
        hub.changes
    );
    check_identity(&plan, &observed).unwrap();
}
