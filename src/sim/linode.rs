//! A stateful, in-memory Linode API v4 on wiremock, for client, orchestration and teardown tests.
//!
//! One catch-all responder (priority 10, so a test can mount its own mocks in front of it)
//! routes every request to handlers sharing `Arc<Mutex<State>>`. It knows regions, types,
//! versions, LKE clusters with pools, nodes and instances, kubeconfigs that answer 503 for the
//! first polls, firewalls with rules and devices, NodeBalancers, volumes and tags; honours
//! pagination and X-Filter on label and tags; injects 429s and 5xx deterministically; and logs
//! every request. It only listens on 127.0.0.1.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use lkeobs::linode::{Client, ClientConfig};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::{FAKE_TOKEN, test_config};

/// Fault injection knobs. Percentages are applied deterministically (evenly spread).
#[derive(Debug, Clone)]
pub struct Faults {
    /// Share of requests answered 429 with `Retry-After`.
    pub rate_limit_percent: u32,
    /// `Retry-After` seconds on injected 429s.
    pub retry_after_secs: u64,
    /// Share of requests answered `server_error_status`.
    pub server_error_percent: u32,
    /// Status of injected server errors (503 by default: not an ambiguous answer).
    pub server_error_status: u16,
    /// The next N POSTs are carried out, but their answer is delayed by `lost_answer_delay`
    /// (past the client's timeout), as if it were lost.
    pub lose_next_post_answers: u32,
    /// How long a lost answer is delayed.
    pub lost_answer_delay: Duration,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            rate_limit_percent: 0,
            retry_after_secs: 1,
            server_error_percent: 0,
            server_error_status: 503,
            lose_next_post_answers: 0,
            lost_answer_delay: Duration::from_secs(10),
        }
    }
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    /// HTTP method.
    pub method: String,
    /// Path without the `/v4` prefix.
    pub path: String,
    /// The `X-Filter` header.
    pub filter: Option<String>,
    /// The JSON body, if any.
    pub body: Option<Value>,
    /// The status the fault injection answered with, if it did.
    pub injected: Option<u16>,
}

/// The fake's whole state; tests may read and change it through [`LinodeFake::state`].
#[derive(Debug)]
pub struct State {
    /// Accepted bearer token.
    pub token: String,
    /// Region objects, with the capabilities real regions list (never the account's HA/ACL ones).
    pub regions: Vec<Value>,
    /// `GET /regions/availability` entries `{region, plan, available}` (GPU plans).
    pub availability: Vec<Value>,
    /// `GET /account` capabilities (HA control planes and the ACL live here).
    pub account_capabilities: Vec<String>,
    /// Linode type objects, with `price` and `region_prices` (see [`priced_regions`]).
    pub types: Vec<Value>,
    /// `GET /lke/types`: control-plane tiers `lke-sa` (no charge) and `lke-ha`.
    pub lke_types: Vec<Value>,
    /// `GET /nodebalancers/types`.
    pub nodebalancer_types: Vec<Value>,
    /// `GET /volumes/types` (per GiB).
    pub volume_types: Vec<Value>,
    /// LKE version ids.
    pub versions: Vec<String>,
    /// Clusters by id.
    pub clusters: BTreeMap<u64, Value>,
    /// Pools by id, each with a `cluster_id` key (removed from answers).
    pub pools: BTreeMap<u64, Value>,
    /// Control-plane ACL per cluster (`{enabled, addresses: {ipv4, ipv6}}`), as set on create or by PUT.
    pub acls: BTreeMap<u64, Value>,
    /// Kubeconfig polls still to answer 503, per cluster.
    pub kubeconfig_pending: BTreeMap<u64, u32>,
    /// How many 503 polls a new cluster's kubeconfig gets.
    pub kubeconfig_not_ready_polls: u32,
    /// `Retry-After` seconds on those 503s.
    pub kubeconfig_retry_after_secs: u64,
    /// Linode instances by id.
    pub instances: BTreeMap<u64, Value>,
    /// The Kubernetes version (`1.33`) each node Linode runs: its cluster's when it was made (LKE nodes
    /// take a new version only when recycled).
    pub node_versions: BTreeMap<u64, String>,
    /// Firewalls by id (with `rules`).
    pub firewalls: BTreeMap<u64, Value>,
    /// Firewall devices by device id, each with a `firewall_id` key.
    pub devices: BTreeMap<u64, Value>,
    /// NodeBalancers by id.
    pub nodebalancers: BTreeMap<u64, Value>,
    /// Volumes by id.
    pub volumes: BTreeMap<u64, Value>,
    /// Account tags.
    pub tags: BTreeSet<String>,
    /// Whether deleting a cluster also deletes NodeBalancers whose `lke_cluster.id` is it
    /// (the API says so; the cloud controller sometimes leaks them: false by default).
    pub cluster_delete_removes_nodebalancers: bool,
    /// Kubernetes API server per cluster label, written into its kubeconfig (a fake's URL).
    /// Clusters not listed point at 127.0.0.1:1, where nothing listens: tests never resolve or
    /// dial another address.
    pub kube_servers: BTreeMap<String, String>,
    /// Fault injection.
    pub faults: Faults,
    /// Every request, in order.
    pub log: Vec<Logged>,
    pub(super) next_id: u64,
    pub(super) seq: u64,
}

/// Capabilities a real account lists (`GET /account`), HA control planes and the ACL among them.
pub const ACCOUNT_CAPABILITIES: &[&str] = &[
    "Linodes",
    "NodeBalancers",
    "Block Storage",
    "Object Storage",
    "Kubernetes",
    "Cloud Firewall",
    "Vlans",
    "VPCs",
    "Placement Group",
    "LKE HA Control Planes",
    "LKE Network Access Control List (IP ACL)",
];

/// What a real core region lists (as in linode/ansible_linode's sample answer): never `LKE HA Control
/// Planes` or `LKE Network Access Control List (IP ACL)`, which are account capabilities.
pub fn core_region_capabilities(gpu: bool) -> Vec<&'static str> {
    let mut caps = vec![
        "Linodes",
        "Backups",
        "NodeBalancers",
        "Block Storage",
        "Object Storage",
        "Kubernetes",
        "Cloud Firewall",
        "Vlans",
        "VPCs",
        "Metadata",
        "Premium Plans",
        "Placement Group",
    ];
    if gpu {
        caps.push("GPU Linodes");
    }
    caps
}

/// Regions the fake prices above the base price, 20% up. The real API lists `region_prices` for a few
/// regions (id-cgk and br-gru, 20% above base, in linode/ansible_linode's sample answers); the fake adds
/// us-ord and sg-sin-2 so the example fleets are priced by both rules (us-east and eu-west stay at base).
pub const PRICED_REGIONS: [&str; 4] = ["id-cgk", "br-gru", "us-ord", "sg-sin-2"];

/// `region_prices` for [`PRICED_REGIONS`]: 1.2 × the base monthly price (hourly: monthly / 730).
pub fn priced_regions(monthly: f64) -> Value {
    let up = (monthly * 1.2 * 10000.0).round() / 10000.0;
    Value::Array(
        PRICED_REGIONS
            .iter()
            .map(|r| json!({"id": r, "hourly": (up / 730.0 * 100000.0).round() / 100000.0, "monthly": up}))
            .collect(),
    )
}

/// An entry of `/lke/types`, `/nodebalancers/types` or `/volumes/types` with [`priced_regions`].
pub fn priced(id: &str, label: &str, monthly: f64) -> Value {
    json!({"id": id, "label": label, "transfer": 0,
           "price": {"hourly": (monthly / 730.0 * 100000.0).round() / 100000.0, "monthly": monthly},
           "region_prices": priced_regions(monthly)})
}

/// A Linode type object as `GET /linode/types` answers it, priced at `monthly` (plus [`priced_regions`]).
pub fn linode_type(id: &str, class: &str, vcpus: u32, memory: u64, gpus: u32, monthly: f64) -> Value {
    json!({"id": id, "label": id, "class": class, "vcpus": vcpus, "memory": memory,
           "gpus": gpus, "disk": memory * 20, "network_out": 4000, "transfer": 4000,
           "price": {"hourly": (monthly / 730.0 * 100000.0).round() / 100000.0, "monthly": monthly},
           "region_prices": priced_regions(monthly), "successor": null})
}

/// A region object as `GET /regions` answers it.
pub fn region(id: &str, country: &str, caps: &[&str]) -> Value {
    json!({"id": id, "label": id, "country": country, "capabilities": caps,
           "status": "ok", "site_type": "core"})
}

/// Core regions in country `us`, each `(id, sells GPU Linodes)`, with the capabilities real regions list.
pub fn us_regions(regions: &[(&str, bool)]) -> Vec<Value> {
    regions
        .iter()
        .map(|(r, gpu)| region(r, "us", &core_region_capabilities(*gpu)))
        .collect()
}

/// The regions the example fleets use (`fleet/*.toml`), with GPU Linodes sold in sg-sin-2.
pub const EXAMPLE_REGIONS: [(&str, bool); 4] = [
    ("us-ord", false),
    ("us-east", false),
    ("eu-west", false),
    ("sg-sin-2", true),
];

/// An availability entry as `GET /regions/{id}/availability` answers it.
pub fn sells(region: &str, plan: &str, available: bool) -> Value {
    json!({"region": region, "plan": plan, "available": available})
}

impl State {
    /// Regions (one without Kubernetes), types (one GPU), versions; nothing else.
    pub fn seeded() -> Self {
        let lke = core_region_capabilities(false);
        let gpu = core_region_capabilities(true);
        let region = |id: &str, country: &str, caps: &[&str]| region(id, country, caps);
        Self {
            token: FAKE_TOKEN.to_string(),
            regions: vec![
                region("us-ord", "us", &lke),
                region("de-fra-2", "de", &gpu),
                region("us-nolke", "us", &["Linodes"]),
            ],
            // Linode's list prices for these plans (USD a month).
            types: vec![
                linode_type("g6-standard-1", "standard", 1, 2048, 0, 12.0),
                linode_type("g6-standard-2", "standard", 2, 4096, 0, 24.0),
                linode_type("g6-standard-4", "standard", 4, 8192, 0, 48.0),
                linode_type("g6-dedicated-4", "dedicated", 4, 8192, 0, 72.0),
                linode_type("g2-gpu-rtx4000a1-s", "gpu", 4, 16384, 1, 350.0),
            ],
            lke_types: vec![
                priced("lke-sa", "LKE Standard Availability", 0.0),
                priced("lke-ha", "LKE High Availability", 60.0),
            ],
            nodebalancer_types: vec![priced("nodebalancer", "NodeBalancer", 10.0)],
            volume_types: vec![priced("volume", "Storage Volume", 0.1)],
            availability: vec![sells("de-fra-2", "g2-gpu-rtx4000a1-s", true)],
            account_capabilities: ACCOUNT_CAPABILITIES.iter().map(|c| c.to_string()).collect(),
            versions: vec!["1.31".into(), "1.32".into()],
            clusters: BTreeMap::new(),
            pools: BTreeMap::new(),
            acls: BTreeMap::new(),
            kubeconfig_pending: BTreeMap::new(),
            kubeconfig_not_ready_polls: 2,
            kubeconfig_retry_after_secs: 1,
            instances: BTreeMap::new(),
            node_versions: BTreeMap::new(),
            firewalls: BTreeMap::new(),
            devices: BTreeMap::new(),
            nodebalancers: BTreeMap::new(),
            volumes: BTreeMap::new(),
            tags: BTreeSet::new(),
            cluster_delete_removes_nodebalancers: false,
            kube_servers: BTreeMap::new(),
            faults: Faults::default(),
            log: Vec::new(),
            next_id: 1000,
            seq: 0,
        }
    }

    /// Whether `plan` can be bought in `region`: GPU plans only where the availability list says so.
    pub fn sells(&self, region: &str, plan: &str) -> bool {
        let gpu = self.types.iter().any(|t| t["id"] == plan && t["class"] == "gpu");
        !gpu || self
            .availability
            .iter()
            .any(|a| a["region"] == region && a["plan"] == plan && a["available"] == true)
    }

    pub(super) fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Adds a NodeBalancer (as the cloud controller would) and returns its id.
    pub fn seed_nodebalancer(&mut self, label: &str, cluster_id: Option<u64>, tags: &[&str]) -> u64 {
        let id = self.id();
        let lke = cluster_id.map(|c| {
            json!({"id": c, "label": format!("cluster-{c}"),
            "type": "lkecluster", "url": format!("/v4/lke/clusters/{c}")})
        });
        let octet = id % 250;
        self.nodebalancers.insert(
            id,
            json!({"id": id, "label": label, "region": "us-ord",
            "hostname": format!("nb-{id}.fake.invalid"), "ipv4": format!("198.51.100.{octet}"),
            "ipv6": null, "tags": tags, "lke_cluster": lke, "type": "common"}),
        );
        id
    }

    /// Adds a volume (as the CSI driver would) and returns its id.
    pub fn seed_volume(&mut self, label: &str, linode_id: Option<u64>, tags: &[&str]) -> u64 {
        let id = self.id();
        self.volumes.insert(
            id,
            json!({"id": id, "label": label, "status": "active",
            "size": 10, "region": "us-ord", "linode_id": linode_id, "tags": tags}),
        );
        id
    }

    /// Adds a NodeBalancer as the cloud controller creates one for a LoadBalancer Service: in
    /// `region`, owned by the LKE cluster `lke` (id, label) as the API reports it, with `tags`, an
    /// IPv4 from the documentation range 198.51.100.0/24 (nobody dials it). Returns its id.
    pub fn create_nodebalancer(&mut self, label: &str, region: &str, lke: Option<(u64, &str)>, tags: &[String]) -> u64 {
        let id = self.id();
        let lke = lke.map(
            |(c, label)| json!({"id": c, "label": label, "type": "lkecluster", "url": format!("/v4/lke/clusters/{c}")}),
        );
        self.nodebalancers.insert(
            id,
            json!({"id": id, "label": label, "region": region,
            "hostname": format!("nb-{id}.fake.invalid"), "ipv4": format!("198.51.100.{}", id % 250),
            "ipv6": null, "tags": tags, "lke_cluster": lke, "type": "common"}),
        );
        id
    }

    /// Deletes a NodeBalancer and its firewall devices, as `DELETE /nodebalancers/{id}` does;
    /// whether it existed.
    pub fn delete_nodebalancer(&mut self, id: u64) -> bool {
        let existed = self.nodebalancers.remove(&id).is_some();
        self.devices
            .retain(|_, d| !(d["entity"]["id"] == id && d["entity"]["type"] == "nodebalancer"));
        existed
    }

    /// Attaches entity `kind` (`linode` or `nodebalancer`) `entity` to a firewall, shaped as
    /// `POST /networking/firewalls/{id}/devices` stores it; the device id, or None when the
    /// firewall or the entity does not exist.
    pub fn attach_device(&mut self, firewall_id: u64, kind: &str, entity: u64) -> Option<u64> {
        let entity_label = match kind {
            "linode" => self.instances.get(&entity),
            "nodebalancer" => self.nodebalancers.get(&entity),
            _ => None,
        }?["label"]
            .clone();
        if !self.firewalls.contains_key(&firewall_id) {
            return None;
        }
        let did = self.id();
        let when = "2026-01-01T00:00:00";
        self.devices.insert(
            did,
            json!({"id": did, "firewall_id": firewall_id, "created": when, "updated": when,
            "entity": {"id": entity, "type": kind, "label": entity_label, "url": format!("/v4/{kind}s/{entity}")}}),
        );
        Some(did)
    }

    /// Adds an unattached volume as the CSI driver creates one for a claim; returns its id.
    pub fn create_volume(&mut self, label: &str, size_gib: u64, region: &str, tags: &[String]) -> u64 {
        let id = self.id();
        self.volumes.insert(
            id,
            json!({"id": id, "label": label, "status": "active", "size": size_gib, "region": region,
            "linode_id": null, "tags": tags, "filesystem_path": format!("/dev/disk/by-id/scsi-0Linode_Volume_{label}")}),
        );
        id
    }

    /// Requests that were carried out (not answered by fault injection) with this method and
    /// exact path.
    pub fn processed(&self, method: &str, path: &str) -> usize {
        self.log
            .iter()
            .filter(|l| l.injected.is_none() && l.method == method && l.path == path)
            .count()
    }

    /// Requests answered by fault injection.
    pub fn injected(&self) -> usize {
        self.log.iter().filter(|l| l.injected.is_some()).count()
    }
}

/// The running fake.
pub struct LinodeFake {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl LinodeFake {
    /// The example fleet's hub (us-ord) and edge `us-east`, tagged as fleet `example`'s, each with one
    /// pool of `nodes` `node_type` nodes.
    pub async fn seed_example(&self, node_type: &str, nodes: u32) {
        for (label, region, role) in [
            ("lkeobs-example-hub", "us-ord", "hub"),
            ("lkeobs-example-us-east", "us-east", "edge"),
        ] {
            let tags = [
                "lkeobs".to_string(),
                "lkeobs-fleet-example".into(),
                format!("lkeobs-role-{role}"),
            ];
            let pools = vec![lkeobs::linode::NodePoolSpec::new(node_type, nodes)];
            self.seed_cluster(label, region, pools, &tags).await;
        }
    }

    /// The writes (POST, PUT, DELETE) the fake carried out, as `METHOD /path`.
    pub fn writes(&self) -> Vec<String> {
        self.state()
            .log
            .iter()
            .filter(|l| l.injected.is_none() && l.method != "GET")
            .map(|l| format!("{} {}", l.method, l.path))
            .collect()
    }

    /// Starts a fake with [`State::seeded`].
    pub async fn start() -> Self {
        Self::start_with(State::seeded()).await
    }

    /// Starts a fake with the given state.
    pub async fn start_with(state: State) -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(state));
        Mock::given(any())
            .respond_with(Router {
                state: Arc::clone(&state),
            })
            .with_priority(10)
            .named("linode fake")
            .mount(&server)
            .await;
        Self { server, state }
    }

    /// Creates an LKE cluster through the API (as `up` or another tool would) and returns its id.
    pub async fn seed_cluster(
        &self,
        label: &str,
        region: &str,
        pools: Vec<lkeobs::linode::NodePoolSpec>,
        tags: &[String],
    ) -> u64 {
        let req = lkeobs::linode::CreateLkeCluster {
            label: label.into(),
            region: region.into(),
            k8s_version: "1.32".into(),
            node_pools: pools,
            tags: tags.to_vec(),
            control_plane: None,
            tier: None,
        };
        self.client().create_lke_cluster(&req).await.expect("seed cluster").id
    }

    /// `http://127.0.0.1:<port>/v4`.
    pub fn base_url(&self) -> String {
        format!("{}/v4", self.server.uri())
    }

    /// The wiremock server, to mount overriding mocks.
    pub fn server(&self) -> &MockServer {
        &self.server
    }

    /// The state, locked.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The shared state itself, for controllers that run beside the server (see `world`).
    pub fn shared_state(&self) -> Arc<Mutex<State>> {
        Arc::clone(&self.state)
    }

    /// A fast client config pointing at the fake.
    pub fn config(&self) -> ClientConfig {
        test_config(&self.base_url(), FAKE_TOKEN)
    }

    /// A fast client pointing at the fake.
    pub fn client(&self) -> Client {
        Client::new(self.config()).expect("client for the fake")
    }
}

struct Router {
    state: Arc<Mutex<State>>,
}

impl Respond for Router {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        super::linode_fake_routes::handle(&mut state, request)
    }
}

/// `{"errors":[{"reason":…,"field":…}]}` with a status.
pub fn api_error(status: u16, field: Option<&str>, reason: &str) -> ResponseTemplate {
    let mut item = json!({ "reason": reason });
    if let Some(field) = field {
        item["field"] = json!(field);
    }
    ResponseTemplate::new(status).set_body_json(json!({ "errors": [item] }))
}

/// Whether `object` matches an X-Filter value (equality, tags, `+and`, `+or`, `+contains`,
/// `+neq`, `+gt`, `+lt`; `+order_by` ignored).
pub fn filter_matches(object: &Value, filter: &Value) -> bool {
    let Some(map) = filter.as_object() else {
        return true;
    };
    map.iter().all(|(key, want)| match key.as_str() {
        "+and" => want
            .as_array()
            .is_some_and(|a| a.iter().all(|f| filter_matches(object, f))),
        "+or" => want
            .as_array()
            .is_some_and(|a| a.iter().any(|f| filter_matches(object, f))),
        "+order_by" | "+order" => true,
        field => {
            let got = field.split('.').fold(object, |v, k| &v[k]);
            match want {
                Value::Object(op) => op.iter().all(|(op, arg)| compare(got, op, arg)),
                _ => match got {
                    Value::Array(items) => items.contains(want),
                    _ => got == want,
                },
            }
        }
    })
}

fn compare(got: &Value, op: &str, arg: &Value) -> bool {
    let num = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    match op {
        "+contains" => got.as_str().zip(arg.as_str()).is_some_and(|(g, a)| g.contains(a)),
        "+neq" => got != arg,
        "+gt" => num(got) > num(arg),
        "+gte" => num(got) >= num(arg),
        "+lt" => num(got) < num(arg),
        "+lte" => num(got) <= num(arg),
        _ => false,
    }
}

/// One page of `items` as the API answers a list, after filtering.
pub fn paginate(request: &Request, items: Vec<Value>) -> ResponseTemplate {
    let filter = request
        .headers
        .get("x-filter")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| serde_json::from_str::<Value>(v).ok());
    let items: Vec<Value> = items
        .into_iter()
        .filter(|item| filter.as_ref().is_none_or(|f| filter_matches(item, f)))
        .collect();
    let query: BTreeMap<String, String> = request.url.query_pairs().into_owned().collect();
    let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let size: usize = query
        .get("page_size")
        .and_then(|p| p.parse().ok())
        .unwrap_or(100)
        .clamp(25, 500);
    let pages = items.len().div_ceil(size).max(1);
    let data: Vec<Value> = items.iter().skip((page - 1) * size).take(size).cloned().collect();
    ResponseTemplate::new(200).set_body_json(json!({
        "data": data, "page": page, "pages": pages, "results": items.len()
    }))
}
