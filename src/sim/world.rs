//! The simulated world: the Linode API, one Kubernetes API per cluster label, and controllers (nodes,
//! HPA bounds, rollouts, scheduler, kubelets and pod GC, disruption budgets, Jobs, LoadBalancers,
//! volumes) that tick on a background thread, so it behaves like LKE.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::controllers;
use super::data_path::DataPath;
use super::kube::KubeApi;
use super::linode::{LinodeApi, State};
use super::on_demand::OnDemand;

pub use super::latencies::Latencies;

pub(crate) type Apis = Arc<Mutex<BTreeMap<String, Arc<KubeApi>>>>;

/// The data path, once started (the APIs started later serve it too).
pub(crate) type DataSlot = Arc<Mutex<Option<Arc<DataPath>>>>;

/// The controller thread panicked: the simulated world stopped behaving like LKE.
#[derive(Debug)]
pub struct ControllersPanicked;

/// The Linode API, the Kubernetes APIs by cluster label, and the controller thread (stopped and
/// joined when the World is dropped). The controllers run on their own OS thread, so they keep going
/// while the caller blocks, whatever the runtime flavour.
pub struct World {
    linode: Arc<LinodeApi>,
    apis: Apis,
    data: DataSlot,
    memory: Arc<Mutex<Memory>>,
    stop: Arc<AtomicBool>,
    controller: Option<JoinHandle<()>>,
}

impl World {
    /// [`World::start_with`] on [`State::seeded`].
    pub async fn start(labels: &[&str], latencies: Latencies) -> std::io::Result<World> {
        Self::start_with(State::seeded(), labels, latencies).await
    }

    /// Starts one Kubernetes API per cluster label (registered in `state.kube_servers`, so the
    /// kubeconfig of the Linode cluster with that label points at it), the Linode API on `state`,
    /// and the controllers.
    pub async fn start_with(mut state: State, labels: &[&str], latencies: Latencies) -> std::io::Result<World> {
        let mut apis = BTreeMap::new();
        for label in labels {
            let k8s = KubeApi::start().await?;
            state.kube_servers.insert(label.to_string(), k8s.uri());
            apis.insert(label.to_string(), Arc::new(k8s));
        }
        let linode = LinodeApi::start(state).await?;
        Self::launch(linode, apis, latencies, None, DataSlot::default())
    }

    /// The simulator as `lkeobs sim` runs it: the Linode API on `listener`, the clusters' Kubernetes
    /// APIs `restored` (label → the cluster id it serves and its objects), and a fresh Kubernetes API
    /// started for every cluster created from now on (its kubeconfig answers 503 until then).
    /// The data path is simulated from the start.
    pub(crate) async fn serve(
        listener: tokio::net::TcpListener,
        mut state: State,
        restored: Vec<(String, u64, super::kube::State)>,
        latencies: Latencies,
    ) -> std::io::Result<World> {
        state.apis_on_demand = true;
        let data = DataSlot::default();
        let mut on_demand = OnDemand::new(tokio::runtime::Handle::current(), data.clone());
        let mut apis = BTreeMap::new();
        for (label, cluster, objects) in restored {
            let api = on_demand.start(&label, cluster, objects)?;
            state.kube_servers.insert(label.clone(), api.uri());
            apis.insert(label, api);
        }
        let linode = LinodeApi::start_on(listener, Arc::new(Mutex::new(state)))?;
        let world = Self::launch(linode, apis, latencies, Some(on_demand), data)?;
        world.data_path().await?;
        Ok(world)
    }

    /// The simulated data path ([`DataPath`]), started on first use: served on every cluster's API.
    pub async fn data_path(&self) -> std::io::Result<Arc<DataPath>> {
        if let Some(data) = lock(&self.data).clone() {
            return Ok(data);
        }
        let data = Arc::new(DataPath::start(self.linode.shared_state(), self.apis.clone()).await?);
        for (label, api) in self.apis() {
            data.register(&label, &api).await?;
        }
        *lock(&self.data) = Some(data.clone());
        Ok(data)
    }

    fn launch(
        linode: LinodeApi,
        apis: BTreeMap<String, Arc<KubeApi>>,
        latencies: Latencies,
        on_demand: Option<OnDemand>,
        data: DataSlot,
    ) -> std::io::Result<World> {
        let linode = Arc::new(linode);
        let apis = Arc::new(Mutex::new(apis));
        let memory = Arc::new(Mutex::new(Memory::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let controller = {
            let (linode, apis, memory, stop) = (linode.shared_state(), apis.clone(), memory.clone(), stop.clone());
            std::thread::Builder::new()
                .name("sim-controllers".into())
                .spawn(move || run(&linode, &apis, &memory, &stop, latencies, on_demand))?
        };
        Ok(World {
            linode,
            apis,
            data,
            memory,
            stop,
            controller: Some(controller),
        })
    }

    /// Every cluster label's Kubernetes API.
    pub fn apis(&self) -> Vec<(String, Arc<KubeApi>)> {
        lock(&self.apis).iter().map(|(l, k)| (l.clone(), k.clone())).collect()
    }

    /// The Linode API.
    pub fn linode(&self) -> &Arc<LinodeApi> {
        &self.linode
    }

    /// Starts a Kubernetes API for another cluster label (an edge added later) and returns it; the
    /// existing one if the label has one already.
    pub async fn add_cluster_api(&self, label: &str) -> std::io::Result<Arc<KubeApi>> {
        if let Some(k8s) = self.k8s(label) {
            return Ok(k8s);
        }
        let k8s = Arc::new(KubeApi::start().await?);
        let data = lock(&self.data).clone();
        if let Some(data) = data {
            data.register(label, &k8s).await?;
        }
        self.linode.state().kube_servers.insert(label.into(), k8s.uri());
        lock(&self.apis).insert(label.into(), k8s.clone());
        Ok(k8s)
    }

    /// The Kubernetes API of a cluster label.
    pub fn k8s(&self, label: &str) -> Option<Arc<KubeApi>> {
        lock(&self.apis).get(label).cloned()
    }

    /// The NodeBalancer the cloud controller made for a LoadBalancer Service, while it tracks it.
    pub fn nodebalancer_of(&self, label: &str, namespace: &str, service: &str) -> Option<u64> {
        lock(&self.memory).nodebalancers.find(label, namespace, service)
    }

    /// The volume the CSI driver made for a claim, while it tracks it.
    pub fn volume_of(&self, label: &str, namespace: &str, claim: &str) -> Option<u64> {
        lock(&self.memory).volumes.find(label, namespace, claim)
    }

    /// Whether the controller thread still runs (it stops on [`World::stop`], or when a controller
    /// panics).
    pub fn running(&self) -> bool {
        self.controller.as_ref().is_some_and(|c| !c.is_finished())
    }

    /// Stops and joins the controller thread; an error when it had panicked.
    pub fn stop(&mut self) -> Result<(), ControllersPanicked> {
        self.stop.store(true, Ordering::Relaxed);
        match self.controller.take().map(JoinHandle::join) {
            Some(Err(_)) => Err(ControllersPanicked),
            _ => Ok(()),
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        // A panic was the controllers' own; whoever needs to know calls `stop` first.
        let _ = self.stop();
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A cloud resource a controller made for a Kubernetes object, by (cluster label, object uid).
#[derive(Debug, Clone)]
pub(crate) struct Owned {
    pub namespace: String,
    pub name: String,
    /// The Linode cluster it was made for: when that cluster is gone, the resource is left behind.
    pub cluster: u64,
    /// The NodeBalancer or volume id.
    pub id: u64,
    /// The PersistentVolume's name and whether its reclaim policy is Delete (volumes only).
    pub pv: Option<(String, bool)>,
}

#[derive(Debug, Default)]
pub(crate) struct Ledger(pub BTreeMap<(String, String), Owned>);

impl Ledger {
    fn find(&self, label: &str, namespace: &str, name: &str) -> Option<u64> {
        self.0
            .iter()
            .find(|((l, _), o)| l == label && o.namespace == namespace && o.name == name)
            .map(|(_, o)| o.id)
    }

    /// Forgets the entries of a cluster label whose object (uid) is no longer in `live` and returns
    /// those to clean up: gone for `latency`, made for the Linode cluster that still runs. Entries of
    /// a cluster that is gone are forgotten at once and not returned: the platform leaks them.
    pub fn released(
        &mut self,
        clocks: &mut Clocks,
        label: &str,
        live: &BTreeSet<String>,
        lke: Option<&Lke>,
        latency: Duration,
    ) -> Vec<Owned> {
        let gone: Vec<(String, String)> = self
            .0
            .keys()
            .filter(|(l, uid)| l == label && !live.contains(uid))
            .cloned()
            .collect();
        let mut due = Vec::new();
        for key in gone {
            let running = lke.is_some_and(|c| c.id == self.0[&key].cluster);
            if running && !clocks.after(format!("gone/{}/{}/{}", self.0[&key].id, key.0, key.1), latency) {
                continue;
            }
            let owned = self.0.remove(&key);
            due.extend(owned.filter(|_| running));
        }
        due
    }
}

/// What the controllers remember between passes.
#[derive(Debug, Default)]
pub(crate) struct Memory {
    pub clocks: Clocks,
    pub nodebalancers: Ledger,
    pub volumes: Ledger,
}

impl Memory {
    /// Whether `latency` has passed since `key` was first asked about.
    pub fn after(&mut self, key: String, latency: Duration) -> bool {
        self.clocks.after(key, latency)
    }
}

/// When each thing a controller waits on was first seen.
#[derive(Debug, Default)]
pub(crate) struct Clocks(HashMap<String, Instant>);

impl Clocks {
    /// Whether `latency` has passed since `key` was first asked about.
    pub fn after(&mut self, key: String, latency: Duration) -> bool {
        self.0.entry(key).or_insert_with(Instant::now).elapsed() >= latency
    }
}

/// What the controllers need of one Linode cluster, copied out of the Linode state.
pub(crate) struct Lke {
    pub id: u64,
    pub label: String,
    pub region: String,
    pub nodes: Vec<Instance>,
}

/// One node Linode of a cluster, with its pool's Kubernetes labels and taints.
pub(crate) struct Instance {
    pub id: u64,
    pub label: String,
    pub pool: u64,
    pub linode_type: String,
    pub ipv4: Vec<String>,
    pub labels: Map<String, Value>,
    pub taints: Vec<Value>,
    /// The Kubernetes version the node runs (`1.33`): its cluster's when the node was made.
    pub version: String,
}

fn lke(state: &State, label: &str) -> Option<Lke> {
    let cluster = state.clusters.values().find(|c| c["label"] == label)?;
    let id = cluster["id"].as_u64()?;
    let mut nodes = Vec::new();
    for pool in state.pools.values().filter(|p| p["cluster_id"] == id) {
        for node in pool["nodes"].as_array().into_iter().flatten() {
            let Some(i) = node["instance_id"].as_u64().and_then(|i| state.instances.get(&i)) else {
                continue;
            };
            nodes.push(Instance {
                id: i["id"].as_u64().unwrap_or_default(),
                label: i["label"].as_str().unwrap_or_default().into(),
                pool: pool["id"].as_u64().unwrap_or_default(),
                linode_type: i["type"].as_str().unwrap_or_default().into(),
                ipv4: i["ipv4"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str())
                    .map(Into::into)
                    .collect(),
                labels: pool["labels"].as_object().cloned().unwrap_or_default(),
                taints: pool["taints"].as_array().cloned().unwrap_or_default(),
                version: state
                    .node_versions
                    .get(&i["id"].as_u64().unwrap_or_default())
                    .cloned()
                    .unwrap_or_default(),
            });
        }
    }
    Some(Lke {
        id,
        label: label.into(),
        region: cluster["region"].as_str().unwrap_or_default().into(),
        nodes,
    })
}

fn run(
    linode: &Mutex<State>,
    apis: &Apis,
    memory: &Mutex<Memory>,
    stop: &AtomicBool,
    latencies: Latencies,
    mut on_demand: Option<OnDemand>,
) {
    while !stop.load(Ordering::Relaxed) {
        if let Some(on_demand) = on_demand.as_mut() {
            on_demand.ensure(linode, apis);
        }
        let clusters: Vec<(String, Arc<KubeApi>)> = lock(apis).iter().map(|(l, k)| (l.clone(), k.clone())).collect();
        for (label, k8s) in clusters {
            // A panic here ends the thread, and dropping the World fails the test with it.
            let lke = lke(&lock(linode), &label);
            let mem = &mut lock(memory);
            super::nodes::nodes(&k8s, lke.as_ref(), mem, &latencies);
            // The HPA first: a workload's pods follow the scale it keeps.
            super::hpa::autoscalers(&k8s);
            controllers::workloads(&label, &k8s, lke.is_some(), mem, &latencies);
            super::scheduler::schedule(&k8s, lke.is_some());
            super::kubelet::kubelets(&label, &k8s, lke.is_some(), linode, mem, &latencies);
            super::disruption::budgets(&k8s);
            super::ccm::load_balancers(&label, &k8s, lke.as_ref(), linode, mem, &latencies);
            super::csi::volumes(&label, &k8s, lke.as_ref(), linode, mem, &latencies);
            super::jobs::jobs(&label, &k8s, mem, &latencies);
        }
        // The controllers' pace (`Latencies::tick`), not a synchronisation: tests wait for the state
        // the controllers make.
        std::thread::sleep(latencies.tick.max(Duration::from_millis(1)));
    }
}

/// `"a, b,,c"` → `[a, b, c]` (annotation and StorageClass tag lists).
pub(crate) fn comma_list(v: &Value) -> Vec<String> {
    v.as_str()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(Into::into)
        .collect()
}

/// A short stable hex name part (FNV-1a), unique per cluster label and object uid.
pub(crate) fn short_hash(label: &str, uid: &str) -> String {
    let h = format!("{label}/{uid}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("{h:016x}")
}

/// `50Gi`, `1Ti`, `500Mi`, `10G`, `1073741824` → whole GiB, rounded up.
pub(crate) fn gib(quantity: &str) -> u64 {
    let split = quantity
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(quantity.len());
    let (number, unit) = quantity.split_at(split);
    let number: f64 = number.parse().unwrap_or(0.0);
    let bytes = number
        * match unit {
            "Ki" => 1024_f64,
            "Mi" => 1024_f64.powi(2),
            "Gi" => 1024_f64.powi(3),
            "Ti" => 1024_f64.powi(4),
            "k" => 1e3,
            "M" => 1e6,
            "G" => 1e9,
            "T" => 1e12,
            _ => 1.0,
        };
    (bytes / 1024_f64.powi(3)).ceil() as u64
}
