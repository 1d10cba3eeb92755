//! The simulated Linode API v4: a stateful, in-memory account served on 127.0.0.1 only.
//!
//! One handler ([`super::linode_routes`]) routes every request over a shared `Arc<Mutex<State>>`. It
//! knows regions, types, versions, LKE clusters with pools, nodes and instances, kubeconfigs that
//! answer 503 for the first polls, firewalls with rules and devices, NodeBalancers, volumes and tags,
//! Object Storage (buckets, keys and one S3 data plane per endpoint: [`super::object_storage`]);
//! honours pagination and X-Filter on label and tags; injects 429s and 5xx deterministically; and
//! logs every request.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::http::{Handler, Reply, Request};
pub use super::linode_catalog::*;

/// The token a [`State::seeded`] account accepts (`lkeobs sim` makes a random one instead).
pub const SEEDED_TOKEN: &str = "sim-token-7f3a9c1e5b";

/// Fault injection knobs. Percentages are applied deterministically (evenly spread).
#[derive(Debug, Clone)]
pub struct Faults {
    /// Share of requests answered 429 with `Retry-After`.
    pub rate_limit_percent: u32,
    /// `Retry-After` on injected 429s (sent in whole seconds, or decimal below one: tests and a fast
    /// `lkeobs sim` clock ask for milliseconds, which the client honours).
    pub retry_after: Duration,
    /// Share of requests answered `server_error_status`.
    pub server_error_percent: u32,
    /// Status of injected server errors (503 by default: not an ambiguous answer).
    pub server_error_status: u16,
    /// The next N POSTs are carried out, but their answer is delayed by `lost_answer_delay`
    /// (past the client's timeout), as if it were lost.
    pub lose_next_post_answers: u32,
    /// How long a lost answer is delayed.
    pub lost_answer_delay: Duration,
    /// Every POST to a path starting with this (e.g. `/object-storage/keys`) is carried out but its answer
    /// delayed by `lost_answer_delay`: a run killed meanwhile never learns what it made.
    pub lose_answers_to: Option<String>,
    /// Volume deletes are acknowledged but the volumes stay (a delete the platform never carries out).
    pub volumes_stuck: bool,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            rate_limit_percent: 0,
            retry_after: Duration::from_secs(1),
            server_error_percent: 0,
            server_error_status: 503,
            lose_next_post_answers: 0,
            lost_answer_delay: Duration::from_secs(10),
            lose_answers_to: None,
            volumes_stuck: false,
        }
    }
}

/// One request as the simulator saw it.
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
    /// The status the simulator answered with.
    pub status: u16,
    /// The JSON answer, if any.
    pub answer: Option<Value>,
}

/// The simulated account's whole state; read and changed through [`LinodeApi::state`].
#[derive(Debug)]
pub struct State {
    /// Accepted bearer token.
    pub token: String,
    /// The token's OAuth scopes (`lke:read_write`, …; see [`super::linode_scopes`]); None: every scope, as a
    /// token made with "Select All".
    pub token_scopes: Option<Vec<String>>,
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
    /// Whether each new cluster gets a Kubernetes API started for it (`lkeobs sim`): its kubeconfig
    /// answers 503 until then, where a test's unlisted cluster points at 127.0.0.1:1.
    pub apis_on_demand: bool,
    /// Fault injection.
    pub faults: Faults,
    /// The account's rate-limit window (1600 requests a minute, 200 list calls).
    pub limits: super::linode_limits::Window,
    /// Every request, in order.
    pub log: Vec<Logged>,
    /// Object Storage: endpoints, buckets with their objects, keys, enrolment.
    pub object_storage: super::object_storage::ObjectStorage,
    pub(crate) next_id: u64,
    pub(crate) seq: u64,
}

impl State {
    /// Regions (one without Kubernetes), types (one GPU), versions; nothing else.
    pub fn seeded() -> Self {
        let lke = core_region_capabilities(false);
        let gpu = core_region_capabilities(true);
        let region = |id: &str, country: &str, caps: &[&str]| region(id, country, caps);
        let mut state = Self {
            token: SEEDED_TOKEN.to_string(),
            token_scopes: None,
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
                linode_type("g6-standard-8", "standard", 8, 32768, 0, 192.0),
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
            apis_on_demand: false,
            faults: Faults::default(),
            limits: Default::default(),
            log: Vec::new(),
            object_storage: Default::default(),
            next_id: 1000,
            seq: 0,
        };
        state.object_storage = super::object_storage::ObjectStorage::seeded(&state.regions, 0);
        state
    }

    /// Whether `plan` can be bought in `region`: GPU plans only where the availability list says so.
    pub fn sells(&self, region: &str, plan: &str) -> bool {
        let gpu = self.types.iter().any(|t| t["id"] == plan && t["class"] == "gpu");
        !gpu || self
            .availability
            .iter()
            .any(|a| a["region"] == region && a["plan"] == plan && a["available"] == true)
    }

    pub(crate) fn id(&mut self) -> u64 {
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
            "hostname": format!("nb-{id}.sim.invalid"), "ipv4": format!("198.51.100.{octet}"),
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
            "hostname": format!("nb-{id}.sim.invalid"), "ipv4": format!("198.51.100.{}", id % 250),
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

/// The simulated Linode API, serving until dropped.
pub struct LinodeApi {
    addr: SocketAddr,
    server: JoinHandle<()>,
    /// One S3 data plane per Object Storage endpoint.
    s3: Vec<JoinHandle<()>>,
    state: Arc<Mutex<State>>,
}

impl Drop for LinodeApi {
    fn drop(&mut self) {
        self.server.abort();
        for s3 in &self.s3 {
            s3.abort();
        }
    }
}

struct LinodeHandler(Arc<Mutex<State>>);

impl Handler for LinodeHandler {
    fn handle(&self, request: &Request) -> Reply {
        let mut state = self.0.lock().unwrap_or_else(|e| e.into_inner());
        super::linode_routes::handle(&mut state, request)
    }
}

impl LinodeApi {
    /// Serves `state` on a free port of 127.0.0.1.
    pub async fn start(state: State) -> std::io::Result<LinodeApi> {
        Self::start_on(super::http::bind_loopback(0).await?, Arc::new(Mutex::new(state)))
    }

    /// Serves the shared `state` on `listener`.
    pub fn start_on(listener: tokio::net::TcpListener, state: Arc<Mutex<State>>) -> std::io::Result<LinodeApi> {
        let addr = listener.local_addr()?;
        // The handler checks the account's token itself (answering as the Linode API does).
        let guard = super::http::Guard {
            token: None,
            port: Some(addr.port()),
            bodies: super::http::Bodies::Json,
        };
        let server = super::http::serve(listener, Arc::new(LinodeHandler(state.clone())), guard);
        let s3 = super::object_storage::start_listeners(&state)?;
        Ok(LinodeApi {
            addr,
            server,
            s3,
            state,
        })
    }

    /// `http://127.0.0.1:<port>/v4`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v4", self.addr)
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.addr
    }

    /// The state, locked.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The shared state itself, for the controllers that run beside the server.
    pub fn shared_state(&self) -> Arc<Mutex<State>> {
        Arc::clone(&self.state)
    }

    /// The writes (POST, PUT, DELETE) carried out, as `METHOD /path`.
    pub fn writes(&self) -> Vec<String> {
        self.state()
            .log
            .iter()
            .filter(|l| l.injected.is_none() && l.method != "GET")
            .map(|l| format!("{} {}", l.method, l.path))
            .collect()
    }
}
