//! `lkeobs status`: per cluster its Linode state, nodes and stack pods ready, data freshness per signal
//! (the probes' queries), and for the fleet the alerts firing at the hub, the gateway address and
//! firewall drift both ways.

use std::collections::BTreeSet;

use futures::{StreamExt as _, TryStreamExt as _};
use serde::Serialize;

use crate::fleet::Role;
use crate::k8s::K8s;
use crate::ops::{Ctx, connect, discover};
use crate::plan::is_ours;
use crate::probes::Backends;
use crate::probes::alerts::{self, HubAlerts};
use crate::probes::freshness::{self, Freshness};
use crate::{Error, firewall, naming};

#[derive(Debug, Serialize)]
pub struct Report {
    pub fleet: String,
    pub clusters: Vec<ClusterStatus>,
    /// The alerts firing at the hub's Prometheus; `None` when there is no hub to ask.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alerts: Option<HubAlerts>,
    /// With `[alerts]`: the hub's Alertmanager (active silences, notification failures per receiver).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alertmanager: Option<crate::probes::alertmanager::AlertmanagerStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firewall: Option<FirewallStatus>,
    /// A hub in mode "ha": the fleet's buckets (objects, bytes) and keys, as the Linode API reports them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_storage: Option<crate::ops::hub_storage::Observed>,
    /// A hub in mode "ha": each engine's ring (members ACTIVE of all).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rings: Vec<RingStatus>,
    pub api_calls: crate::linode::ApiCalls,
}

/// One engine's ring on an `ha` hub.
#[derive(Debug, Clone, Serialize)]
pub struct RingStatus {
    pub engine: &'static str,
    /// The replicas the fleet runs.
    pub replicas: u32,
    /// Members ACTIVE, when the ring page could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<usize>,
    /// Members in the ring (any state).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Whether the account holds a cluster by the fleet's label for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ClusterState {
    #[serde(rename = "missing")]
    Missing,
    /// A cluster has the label but not the fleet's tags.
    #[serde(rename = "not ours")]
    NotOurs,
    #[serde(rename = "exists")]
    Exists,
}

impl ClusterState {
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterState::Missing => "missing",
            ClusterState::NotOurs => "not ours",
            ClusterState::Exists => "exists",
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ClusterStatus {
    pub name: String,
    pub label: String,
    pub state: ClusterState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// The control plane's Kubernetes version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k8s_version: Option<String>,
    /// An upgrade that has not finished (the cluster carries its tag): the version it goes to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrading_to: Option<String>,
    pub nodes: usize,
    /// Nodes Linode reports `ready`.
    pub nodes_ready: usize,
    /// Our pods Ready / all our pods; `None` when the Kubernetes API could not be asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pods: Option<(usize, usize)>,
    /// Age of the newest metric, log line and trace with this cluster's id at the hub; `None` when
    /// the hub cannot be reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freshness: Option<Freshness>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct FirewallStatus {
    pub label: String,
    pub exists: bool,
    /// Edge node addresses the rules lack.
    pub missing: Vec<String>,
    /// Addresses in the rules that belong to no edge node any more (IPv6 included).
    pub stale: Vec<String>,
    /// Rules and policies the gateway rules never contain (a hand-added rule, a changed action).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unexpected: Vec<String>,
}

use super::FAN_OUT;

/// One cluster as `status` found it.
struct Found {
    status: ClusterStatus,
    /// An edge's node addresses (for the firewall drift).
    edge_ips: Vec<String>,
    /// The hub's API and its gateway address.
    hub: Option<(K8s, Option<String>)>,
}

/// Reads one cluster: its Linode state from discovery, then its stack pods (and, for the hub, the gateway
/// address) through its Kubernetes API.
async fn cluster_status(
    client: &crate::linode::Client,
    name: &str,
    c: &crate::fleet::Cluster,
    observed: &crate::plan::Observed,
) -> Result<Found, Error> {
    let label = naming::cluster_label(name, c.name.get_ref());
    let mut found = Found {
        status: ClusterStatus {
            name: c.name.get_ref().clone(),
            label: label.clone(),
            state: ClusterState::Missing,
            id: None,
            k8s_version: None,
            upgrading_to: None,
            nodes: 0,
            nodes_ready: 0,
            pods: None,
            freshness: None,
            note: None,
        },
        edge_ips: Vec::new(),
        hub: None,
    };
    let st = &mut found.status;
    let Some(o) = observed.clusters.iter().find(|o| o.cluster.label == label) else {
        return Ok(found);
    };
    st.id = Some(o.cluster.id);
    if !is_ours(&o.cluster.tags, name) {
        st.state = ClusterState::NotOurs;
        return Ok(found);
    }
    st.state = ClusterState::Exists;
    st.k8s_version = Some(o.cluster.k8s_version.clone());
    st.upgrading_to = o
        .cluster
        .tags
        .iter()
        .find_map(|t| crate::naming::parse_upgrade_tag(t))
        .map(str::to_string);
    let nodes: Vec<_> = o.pools.iter().flat_map(|p| p.nodes.iter()).collect();
    st.nodes = nodes.len();
    st.nodes_ready = nodes.iter().filter(|n| n.is_ready()).count();
    if c.role == Role::Edge {
        found.edge_ips = o.node_ipv4.iter().map(|ip| ip.to_string()).collect();
    }
    match connect::connect(client, o.cluster.id).await? {
        Err(why) => st.note = Some(why),
        Ok(k8s) => {
            match k8s.fleet_pods_ready(name).await {
                Ok(p) => st.pods = Some(p),
                Err(e) => st.note = Some(e.to_string()),
            }
            if c.role == Role::Hub {
                let gateway = connect::gateway_address(&k8s).await.unwrap_or(None);
                found.hub = Some((k8s, gateway));
            }
        }
    }
    Ok(found)
}

/// Runs `status`.
pub async fn run(ctx: &Ctx) -> Result<Report, Error> {
    let loaded = ctx.load_fleet()?;
    let fleet = &loaded.fleet;
    let name = fleet.name();
    let client = ctx.require_linode("status")?;
    let observed = discover::observe(&client, fleet).await?;
    let mut report = Report {
        fleet: name.to_string(),
        clusters: Vec::new(),
        alerts: None,
        alertmanager: None,
        gateway: None,
        firewall: None,
        object_storage: None,
        rings: Vec::new(),
        api_calls: Default::default(),
    };
    // Every cluster at once, at most FAN_OUT connecting at a time; the report keeps the fleet's order.
    let mut found: Vec<(usize, Found)> = futures::stream::iter(fleet.clusters().enumerate())
        .map(|(i, c)| {
            let (client, observed) = (&client, &observed);
            async move { cluster_status(client, name, c, observed).await.map(|f| (i, f)) }
        })
        .buffer_unordered(FAN_OUT)
        .try_collect()
        .await?;
    found.sort_by_key(|(i, _)| *i);
    let mut edge_ips = BTreeSet::new();
    let mut hub = None;
    for (_, f) in found {
        edge_ips.extend(f.edge_ips);
        if let Some((k8s, gateway)) = f.hub {
            report.gateway = gateway;
            hub = Some(k8s);
        }
        report.clusters.push(f.status);
    }
    if let Some(hub) = &hub {
        let names: Vec<String> = report.clusters.iter().map(|c| c.name.clone()).collect();
        let backends = Backends::of_hub(hub, fleet);
        let (mut fresh, firing) = tokio::join!(
            freshness::freshness(&backends, &names),
            alerts::firing(&backends.prometheus)
        );
        for c in &mut report.clusters {
            c.freshness = fresh.remove(&c.name);
        }
        report.alerts = Some(firing);
        for ring in crate::probes::rings::of_hub(hub, fleet) {
            let health = crate::probes::rings::health(&ring).await;
            report.rings.push(RingStatus {
                engine: ring.engine.as_str(),
                replicas: ring.replicas,
                active: health.as_ref().ok().map(|h| h.0),
                members: health.as_ref().ok().map(|h| h.1),
                error: health.err(),
            });
        }
        if fleet.alerts.is_some() {
            use crate::probes::alertmanager;
            let am = crate::probes::Backend::service(hub, crate::objects::ALERTMANAGER, alertmanager::PORT);
            report.alertmanager = Some(alertmanager::status(&am).await);
        }
    }
    if fleet.security.gateway_firewall {
        let label = naming::firewall_label(name);
        let rules = observed.firewall.as_ref().and_then(|f| f.rules.as_ref());
        let have: BTreeSet<String> = rules.map(|r| firewall::allowed_ips(&r.rules)).unwrap_or_default();
        let unexpected = rules.map(|r| firewall::foreign_rules(&r.rules)).unwrap_or_default();
        report.firewall = Some(FirewallStatus {
            label,
            exists: observed.firewall.is_some(),
            missing: edge_ips.difference(&have).cloned().collect(),
            stale: have.difference(&edge_ips).cloned().collect(),
            unexpected,
        });
    }
    if fleet.hub_mode.ha().is_some() {
        report.object_storage = Some(crate::ops::hub_storage::observe(&client, name, None).await?);
    }
    report.api_calls = ctx.api_calls();
    Ok(report)
}

impl crate::ui::Report for Report {
    fn text(&self) -> String {
        text(self)
    }
}

/// One line of the clusters table: name, label, state, nodes ready, pods ready, note.
fn row(cols: [&str; 6]) -> String {
    let [name, label, state, nodes, pods, note] = cols;
    format!("{name:<16} {label:<30} {state:<9} {nodes:>11} {pods:>10}  {note}\n")
}

fn text(r: &Report) -> String {
    let mut t = format!("Fleet {:?}\n\n", r.fleet);
    t.push_str(&row(["cluster", "label", "state", "nodes ready", "pods ready", "note"]));
    for c in &r.clusters {
        let nodes = if c.state == ClusterState::Exists {
            format!("{}/{}", c.nodes_ready, c.nodes)
        } else {
            "-".into()
        };
        let pods = c.pods.map_or_else(|| "-".to_string(), |(a, b)| format!("{a}/{b}"));
        let mut note = c.note.clone().unwrap_or_default();
        if let Some(to) = &c.upgrading_to {
            let sep = if note.is_empty() { "" } else { "; " };
            note = format!("upgrade to {to} unfinished: `lkeobs up` finishes it{sep}{note}");
        }
        t.push_str(&row([&c.name, &c.label, c.state.as_str(), &nodes, &pods, &note]));
    }
    t.push_str(&freshness_text(r));
    if let Some(a) = &r.alerts {
        t.push_str(&alerts_text(a));
    }
    if let Some(a) = &r.alertmanager {
        t.push_str(&crate::probes::alertmanager::status_text(a));
    }
    t.push_str(&format!(
        "\ngateway: {}\n",
        r.gateway.as_deref().unwrap_or("no LoadBalancer address yet")
    ));
    if let Some(f) = &r.firewall {
        if !f.exists {
            t.push_str(&format!("firewall {}: missing (`up` creates it)\n", f.label));
        } else if f.missing.is_empty() && f.stale.is_empty() && f.unexpected.is_empty() {
            t.push_str(&format!("firewall {}: in sync with the edge nodes\n", f.label));
        } else {
            t.push_str(&format!("firewall {}: drift (`up` re-syncs it)\n", f.label));
            for ip in &f.missing {
                t.push_str(&format!("  + {ip} (edge node, not allowed)\n"));
            }
            for ip in &f.stale {
                t.push_str(&format!("  - {ip} (allowed, no longer an edge node)\n"));
            }
            for rule in &f.unexpected {
                t.push_str(&format!("  ! {rule} (not a gateway rule)\n"));
            }
        }
    }
    if let Some(os) = &r.object_storage {
        if os.is_empty() {
            t.push_str("object storage: no bucket or key yet\n");
        } else {
            t.push_str(&format!("object storage: {} bytes in all\n", os.total_size()));
            for b in &os.buckets {
                t.push_str(&format!(
                    "  bucket {} in {}: {} object(s), {} bytes\n",
                    b.label, b.region, b.objects, b.size
                ));
            }
            for k in &os.keys {
                t.push_str(&format!("  key {} (id {})\n", k.label, k.id));
            }
        }
    }
    if !r.rings.is_empty() {
        t.push_str("rings:\n");
        for ring in &r.rings {
            match (&ring.error, ring.active, ring.members) {
                (Some(e), _, _) => t.push_str(&format!("  {}: unknown ({e})\n", ring.engine)),
                (None, Some(a), Some(m)) => t.push_str(&format!(
                    "  {}: {a}/{} ACTIVE ({m} member(s))\n",
                    ring.engine, ring.replicas
                )),
                _ => {}
            }
        }
    }
    t
}

/// The data-freshness table: the age of the newest metric, log line and trace of each cluster.
fn freshness_text(r: &Report) -> String {
    if r.clusters.iter().all(|c| c.freshness.is_none()) {
        return "\ndata freshness: unknown (the hub cannot be reached)\n".into();
    }
    let mut t = format!(
        "\ndata freshness (age of the newest item at the hub)\n{:<16} {:<14} {:<14} {}\n",
        "cluster", "metrics", "logs", "traces"
    );
    let mut reasons = BTreeSet::new();
    for c in &r.clusters {
        let Some(f) = &c.freshness else { continue };
        t.push_str(&format!(
            "{:<16} {:<14} {:<14} {}\n",
            c.name,
            f.metrics.short(),
            f.logs.short(),
            f.traces.short()
        ));
        for s in [&f.metrics, &f.logs, &f.traces] {
            if let freshness::Fresh::Unknown { reason } = s {
                reasons.insert(reason.clone());
            }
        }
    }
    for reason in reasons {
        t.push_str(&format!("  ? {reason}\n"));
    }
    t
}

/// The alerts firing at the hub, most severe first: severity, name, cluster, summary.
fn alerts_text(a: &HubAlerts) -> String {
    match a {
        HubAlerts::Unknown { reason } => format!("\nalerts at the hub: unknown ({reason})\n"),
        HubAlerts::Read { firing } if firing.is_empty() => "\nalerts firing at the hub: none\n".into(),
        HubAlerts::Read { firing } => {
            let mut t = format!("\nalerts firing at the hub ({})\n", firing.len());
            for f in firing {
                let cluster = f.cluster.as_deref().unwrap_or("-");
                t.push_str(&format!(
                    "  {:<8} {} [{cluster}]\n    {}\n",
                    f.severity, f.name, f.summary
                ));
            }
            t
        }
    }
}
