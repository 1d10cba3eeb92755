//! What the data path's stand-ins share: the platform to judge links by, silenced clusters, what the hub
//! stores and what the agents took, a scenario's seeds and faults, and what the `ha` engines have written.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::data_links::{Sender, senders};
use super::data_store::Store;
use super::gateway_load::GatewayLoad;
use super::linode::State;
use super::world::{Apis, lock};

/// What the stand-ins share: the platform to judge links by, silenced clusters, what the hub stores.
pub(crate) struct Shared {
    pub(crate) linode: Arc<Mutex<State>>,
    pub(crate) apis: Apis,
    pub(crate) silent: Mutex<BTreeSet<String>>,
    /// Whether a broken link (firewall, certificate, gateway pods) stops a cluster's data.
    pub(crate) links: AtomicBool,
    /// Whether the sending clusters' steady traffic (node metrics, a log stream, a trace) is stored.
    pub(crate) steady: AtomicBool,
    /// What the agents took over OTLP and the hub stored.
    pub(crate) ingested: Mutex<Store>,
    /// What the agents took that the backends do not show yet (taken when, what), and for how long
    /// they hold it back (Tempo's and Loki's ingesters flush, Prometheus' remote-write queue sends).
    pub(crate) pending: Mutex<(Duration, Vec<(Instant, Store)>)>,
    /// How long the hub's query APIs take to answer.
    pub(crate) answer_delay: Mutex<Duration>,
    /// How many more times Tempo's `/ready` answers 503 (an ingester still joining its ring).
    pub(crate) tempo_unready: Mutex<u32>,
    /// What a scenario put in the stores itself.
    pub(crate) seeded: Mutex<Store>,
    /// Alerts a scenario says fire (Prometheus' `/api/v1/alerts` items).
    pub(crate) alerts: Mutex<Vec<Value>>,
    /// The gateway's own figures.
    pub(crate) load: GatewayLoad,
    /// What the `ha` engines hold and have written to their buckets.
    pub(crate) flushes: Mutex<super::data_flush::Flushes>,
}

impl Shared {
    /// Nothing stored yet, every link judged, steady traffic on.
    pub(crate) fn new(linode: Arc<Mutex<State>>, apis: Apis) -> Shared {
        Shared {
            linode,
            apis,
            silent: Mutex::new(BTreeSet::new()),
            links: AtomicBool::new(true),
            steady: AtomicBool::new(true),
            ingested: Mutex::new(Store::default()),
            pending: Mutex::new((Duration::ZERO, Vec::new())),
            answer_delay: Mutex::new(Duration::ZERO),
            tempo_unready: Mutex::new(0),
            seeded: Mutex::new(Store::default()),
            alerts: Mutex::new(Vec::new()),
            load: GatewayLoad::new(),
            flushes: Mutex::new(super::data_flush::Flushes::default()),
        }
    }

    /// Every fleet cluster, with whether its data reaches its hub.
    pub(crate) fn clusters(&self) -> Vec<Sender> {
        senders(&self.linode, &self.apis)
    }

    /// Takes what an agent took: shown by the backends once the ingestion delay has passed.
    pub(crate) fn take(&self, items: Store) {
        lock(&self.pending).1.push((Instant::now(), items));
    }

    /// What the agents took that the backends show now.
    pub(crate) fn ingested(&self) -> Store {
        let mut ingested = lock(&self.ingested);
        let mut pending = lock(&self.pending);
        let delay = pending.0;
        let (due, wait): (Vec<_>, Vec<_>) = pending.1.drain(..).partition(|(at, _)| at.elapsed() >= delay);
        pending.1 = wait;
        for (_, items) in due {
            ingested.extend(&items);
        }
        ingested.clone()
    }

    /// Those of `all` whose data reaches their hub now.
    pub(crate) fn sending_of(&self, all: &[Sender]) -> Vec<Sender> {
        let silent = lock(&self.silent).clone();
        let judge = self.links.load(Ordering::Relaxed);
        all.iter()
            .filter(|s| (s.broken.is_none() || !judge) && !silent.contains(&s.name))
            .cloned()
            .collect()
    }
}
