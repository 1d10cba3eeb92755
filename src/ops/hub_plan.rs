//! What `plan` shows of a hub in mode "ha": the engines' sizes and the figures behind them, the fleet's
//! buckets and key (found in the account, or to be created), and the buckets' expected size.

use std::fmt::Write as _;

use serde::Serialize;

use crate::Error;
use crate::fleet::Fleet;
use crate::linode::{BucketSignal, Client, bucket_prefix};
use crate::ops::{cost, hub_storage};
use crate::plan::cost::object_storage::StorageEstimate;
use crate::stack::ha_sizing::{self, HaSizing};
use crate::stack::{Buckets, ObjectStoreInputs};

/// One of the fleet's buckets: as found, or to be created.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedBucket {
    pub signal: &'static str,
    /// The bucket's name when it exists; a new one is `lkeobs-<fleet>-<random>-<signal>`.
    pub name: String,
    pub exists: bool,
    /// Bytes the API reports for an existing bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// The `ha` section of a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HubHaPlan {
    /// Replicas per engine given in `[hub.ha] replicas`; None: sized from the edges (`sizing`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    pub sizing: HaSizing,
    pub buckets: Vec<PlannedBucket>,
    /// The fleet's limited key.
    pub key_label: String,
    /// Whether it exists (`up` reuses it only when the hub Secret holds its secret).
    pub key_exists: bool,
    pub estimate: StorageEstimate,
    /// Buckets and key to create.
    pub creates: usize,
    /// What the engines are configured with when the three buckets exist (on one S3 host): what `up`
    /// renders, so the plan compares the hub's stack with the names `up` will use.
    #[serde(skip)]
    pub object_store: Option<ObjectStoreInputs>,
}

/// The `ha` section for `fleet` (None in mode "single"); with `client`, the account's buckets and key.
pub async fn plan(fleet: &Fleet, client: Option<&Client>) -> Result<Option<HubHaPlan>, Error> {
    let (Some(ha), Some(retention)) = (fleet.hub_mode.ha(), cost::retention_days(fleet)?) else {
        return Ok(None);
    };
    let estimate = cost::estimate(fleet, retention);
    let observed = match client {
        Some(c) => Some(hub_storage::observe(c, fleet.name(), None).await?),
        None => None,
    };
    let mut buckets = Vec::new();
    for signal in [BucketSignal::Metrics, BucketSignal::Logs, BucketSignal::Traces] {
        let found = observed
            .iter()
            .flat_map(|o| o.buckets.iter())
            .find(|b| b.signal == signal);
        buckets.push(match found {
            Some(b) => PlannedBucket {
                signal: signal.as_str(),
                name: b.label.clone(),
                exists: true,
                size: Some(b.size),
            },
            None => PlannedBucket {
                signal: signal.as_str(),
                name: format!("{}<random>-{}", bucket_prefix(fleet.name()), signal.as_str()),
                exists: false,
                size: None,
            },
        });
    }
    let key_exists = observed
        .as_ref()
        .is_some_and(|o| o.keys.iter().any(|k| k.label == hub_storage::key_label(fleet.name())));
    let creates = buckets.iter().filter(|b| !b.exists).count() + usize::from(!key_exists);
    let object_store = observed.as_ref().and_then(object_store);
    Ok(Some(HubHaPlan {
        replicas: ha.replicas.as_ref().map(|r| *r.get_ref()),
        sizing: ha_sizing::size(fleet.edges.len(), retention.metrics),
        buckets,
        key_label: hub_storage::key_label(fleet.name()),
        key_exists,
        estimate,
        creates,
        object_store,
    }))
}

/// The engines' object store settings from the fleet's three buckets, when all exist on one S3 host.
fn object_store(observed: &hub_storage::Observed) -> Option<ObjectStoreInputs> {
    let find = |signal: BucketSignal| observed.buckets.iter().find(|b| b.signal == signal);
    let (metrics, logs, traces) = (
        find(BucketSignal::Metrics)?,
        find(BucketSignal::Logs)?,
        find(BucketSignal::Traces)?,
    );
    let same = |b: &hub_storage::ObservedBucket| b.s3_host == metrics.s3_host && b.region == metrics.region;
    (same(logs) && same(traces)).then(|| ObjectStoreInputs {
        endpoint_host: metrics.s3_host.clone(),
        region: metrics.region.clone(),
        buckets: Buckets {
            metrics: metrics.label.clone(),
            logs: logs.label.clone(),
            traces: traces.label.clone(),
        },
    })
}

/// The text section.
pub fn text(p: &HubHaPlan) -> String {
    let mut t = String::from("\nhub mode ha (Mimir, Loki and Tempo on Object Storage)\n");
    for b in &p.buckets {
        let _ = match (b.exists, b.size) {
            (true, Some(size)) => writeln!(t, "  = bucket {} ({} bytes)", b.name, size),
            (true, None) => writeln!(t, "  = bucket {}", b.name),
            (false, _) => writeln!(t, "  + bucket {}", b.name),
        };
    }
    let _ = writeln!(
        t,
        "  {} Object Storage key {} (read_write on these buckets only)",
        if p.key_exists { "=" } else { "+" },
        p.key_label
    );
    let _ = writeln!(t, "  expected size {} GB: {}", p.estimate.gb, p.estimate.basis);
    for e in &p.sizing.per_engine {
        let replicas = p.replicas.unwrap_or(e.replicas);
        let given = if p.replicas.is_some() {
            " (replicas from [hub.ha])"
        } else {
            ""
        };
        let _ = writeln!(
            t,
            "  {} × {} ({} CPU, {} memory, {} volume){given}: {}",
            replicas,
            e.engine.as_str(),
            e.cpu,
            e.memory,
            e.disk,
            e.basis
        );
    }
    t
}
