//! The `ha` hub's Object Storage in `up`: the fleet's buckets and key made sure of through the API (the
//! key the hub's Secret holds is reused), then the Secret the engines read the key from, written after the
//! stack's namespaces exist; engines already running restart when the key changed.

use std::collections::BTreeMap;

use super::Shared;
use super::done::Done;
use super::tasks::Record;
use crate::Error;
use crate::k8s::{K8s, SecretMode, SecretOutcome};
use crate::objects::{self, LOKI, MIMIR, OBJECT_STORAGE_SECRET, TEMPO};
use crate::ops::hub_storage::{self, HubStorage, KnownKey, Preflight};
use crate::stack::{Buckets, ObjectStoreInputs};

/// The fleet's buckets and key, and what the hub's Secret held when `up` read it.
pub(super) struct Provisioned {
    pub storage: HubStorage,
    held: Option<BTreeMap<String, Vec<u8>>>,
}

impl Provisioned {
    /// What the engines are rendered with.
    pub fn inputs(&self) -> ObjectStoreInputs {
        let b = &self.storage.buckets;
        ObjectStoreInputs {
            endpoint_host: self.storage.s3_host.clone(),
            region: self.storage.region.clone(),
            buckets: Buckets {
                metrics: b.metrics.clone(),
                logs: b.logs.clone(),
                traces: b.traces.clone(),
            },
        }
    }
}

fn text(data: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, String> {
    data.iter()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
        .collect()
}

/// Makes sure of the buckets and the key (creating what is missing; a key whose secret the hub no longer
/// holds is revoked and made again), recording every change.
pub(super) async fn provision(
    sh: &Shared,
    k8s: &K8s,
    preflight: &Preflight,
    rec: &mut Record,
) -> Result<Provisioned, Error> {
    let (ns, name) = OBJECT_STORAGE_SECRET.pair();
    let held = k8s.get_secret(ns, name).await?;
    let known = held.as_ref().and_then(|d| KnownKey::from_secret_data(&text(d)));
    let storage = {
        let _slot = sh.permits.acquire().await;
        hub_storage::ensure(
            &sh.client,
            sh.fleet.name(),
            preflight,
            known.as_ref(),
            Some(sh.deadline),
        )
        .await?
    };
    for change in &storage.changes {
        rec.change(Done::ObjectStorage { change: change.clone() });
    }
    Ok(Provisioned { storage, held })
}

/// Writes the key into the hub's Secret when it does not hold it already. Returns whether engines that
/// ran before must restart (they read the key from their environment only at start).
pub(super) async fn store_key(sh: &Shared, k8s: &K8s, p: &Provisioned, rec: &mut Record) -> Result<bool, Error> {
    let data: BTreeMap<String, Vec<u8>> = hub_storage::secret_data(&p.storage)
        .into_iter()
        .map(|(k, v)| (k, v.into_bytes()))
        .collect();
    if p.held.as_ref() == Some(&data) {
        return Ok(false);
    }
    let (ns, name) = OBJECT_STORAGE_SECRET.pair();
    let labels = objects::labels(sh.fleet.name(), "hub");
    let outcome = k8s.ensure_secret(ns, name, &labels, &data, SecretMode::Replace).await?;
    rec.change(Done::ObjectStorageKeyStored {
        secret: OBJECT_STORAGE_SECRET.to_string(),
    });
    Ok(outcome != SecretOutcome::Created && p.held.is_some())
}

/// Restarts the engines that run (after their key changed).
pub(super) async fn restart_engines(k8s: &K8s, manifests: &crate::k8s::Manifests) -> Result<(), Error> {
    let engines = [MIMIR, LOKI, TEMPO];
    for w in manifests
        .workloads()
        .iter()
        .filter(|w| engines.iter().any(|e| w.namespace == e.namespace && w.name == e.name))
    {
        k8s.restart(w, "Object Storage key replaced").await?;
    }
    Ok(())
}
