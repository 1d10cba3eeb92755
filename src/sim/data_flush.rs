//! The engines writing what they hold to their buckets, as the real ones time it: Mimir ships a block
//! after its block range (2h), Loki flushes a chunk after `chunk_idle_period` (30m) or `max_chunk_age` (2h),
//! Tempo cuts a block after `max_block_duration` (30m), each read from the deployed config. Every running,
//! Ready replica writes with the credentials its env names; a failed write lands nothing and says why.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::data_blocks::{Object, loki_flush, mimir_block, newer, tempo_block};
use super::data_engine_storage::{S3Target, default_tenant, s3, timing};
use super::data_engines::{Deployed, Engine, deployed, pods, serving, statefulset, text};
use super::data_feeds::feed;
use super::data_path::{DataPath, Shared};
use super::data_sources::now_ns;
use super::data_store::Store;
use super::kube::KubeApi;
use super::world::lock;

/// How often the engines look whether a flush is due.
pub(crate) const TICK: Duration = Duration::from_secs(1);
/// How long an engine waits after a failed write before it tries again.
const RETRY: Duration = Duration::from_secs(30);

/// Why an engine's last write to its bucket failed.
#[derive(Debug, Clone, PartialEq)]
pub struct FlushError {
    /// The cluster's label.
    pub cluster: String,
    /// `mimir`, `loki` or `tempo`.
    pub engine: String,
    /// The bucket it names ("" when its config names none).
    pub bucket: String,
    pub reason: String,
}

/// What the engines hold and have written, per (cluster label, engine).
#[derive(Default)]
pub(crate) struct Flushes {
    /// A test's period instead of the engines' own.
    after: Option<Duration>,
    /// Since when each holds data not written yet, and when it may retry.
    heads: BTreeMap<(String, Engine), (Instant, Option<Instant>)>,
    /// Up to when (unix ns) each has written.
    marks: BTreeMap<(String, Engine), u128>,
    errors: BTreeMap<(String, Engine), FlushError>,
}

/// The tenant and data the engine on `api` holds (only its signal), if it takes the gateway's writes.
fn holds(
    shared: &Shared,
    api: &KubeApi,
    engine: Engine,
    config: &Deployed,
    all: &mut Option<Store>,
) -> Option<(String, Store)> {
    if engine == Engine::Mimir {
        let fallback = default_tenant(engine, &config.config);
        let tenant = super::data_mimir::written_tenant(api).or(fallback)?;
        let series = super::data_mimir::mimir_store(shared, api, &tenant).series;
        return Some((
            tenant,
            Store {
                series,
                ..Store::default()
            },
        ));
    }
    let fed = feed(api, engine)?;
    let tenant = default_tenant(engine, &config.config).or(fed.tenant)?;
    let all = all.get_or_insert_with(|| shared.store());
    let mut held = Store::default();
    match engine {
        Engine::Loki => held.streams = all.streams.clone(),
        _ => held.spans = all.spans.clone(),
    }
    Some((tenant, held))
}

fn empty(s: &Store) -> bool {
    s.series.is_empty() && s.streams.is_empty() && s.spans.is_empty()
}

/// Writes `data` from every serving replica of the engine; Err: why nothing (more) landed.
fn write(
    shared: &Shared,
    api: &KubeApi,
    engine: Engine,
    config: &Deployed,
    target: &S3Target,
    tenant: &str,
    data: &Store,
) -> Result<(), String> {
    if let Some(why) = &config.unstartable {
        return Err(why.clone());
    }
    let writers: Vec<_> = pods(api, engine).into_iter().filter(serving).collect();
    let first = writers
        .first()
        .ok_or(format!("no replica of {} runs", engine.as_str()))?;
    super::data_policies::reaches_outside(api, &super::data_policies::pod_peer(api, first), 443)
        .map_err(|why| format!("cannot reach Object Storage: {why}"))?;
    let now = now_ns();
    let prefix = super::data_engines::at(&config.config, "schema_config.configs")
        .and_then(|c| c.as_sequence()?.last().cloned())
        .and_then(|c| text(&c, "index.prefix"))
        .unwrap_or_else(|| "index_".into());
    for pod in &writers {
        let name = pod["metadata"]["name"].as_str().unwrap_or_default();
        let objects: Vec<Object> = match engine {
            Engine::Mimir => mimir_block(tenant, data, (now / 1_000_000) as u64),
            Engine::Loki => loki_flush(tenant, name, &prefix, data, now),
            Engine::Tempo => tempo_block(tenant, data),
        };
        for o in objects {
            super::data_s3::put(&shared.linode, target, &o.key, &o.body)?;
        }
    }
    Ok(())
}

/// One pass: every engine on object storage whose flush is due (every one holding data, with `force`)
/// writes what it holds.
pub(crate) fn tick(shared: &Shared, force: bool) {
    let apis: Vec<(String, Arc<KubeApi>)> = lock(&shared.apis).iter().map(|(l, a)| (l.clone(), a.clone())).collect();
    let mut flushes = lock(&shared.flushes);
    let mut all = None;
    for (label, api) in apis {
        for engine in Engine::ALL {
            let key = (label.clone(), engine);
            let config = match statefulset(&api, engine).map(|_| deployed(&api, engine)) {
                Some(Ok(c)) => c,
                _ => continue,
            };
            let Some(target) = s3(engine, &config.config) else {
                continue;
            };
            let held = holds(shared, &api, engine, &config, &mut all);
            let mark = flushes.marks.get(&key).copied().unwrap_or_default();
            let Some((tenant, fresh)) = held.map(|(t, d)| (t, newer(&d, mark))).filter(|(_, d)| !empty(d)) else {
                flushes.heads.remove(&key);
                continue;
            };
            let now = Instant::now();
            let after = flushes.after;
            let (opened, retry) = *flushes.heads.entry(key.clone()).or_insert((now, None));
            let t = timing(engine, &config.config);
            let newest = fresh.streams.iter().flat_map(|s| s.entries.iter().map(|e| e.ns)).max();
            let idle = t
                .idle
                .zip(newest)
                .is_some_and(|(idle, ns)| now_ns().saturating_sub(ns) >= idle.as_nanos());
            let due = force
                || (retry.is_none_or(|r| now >= r)
                    && (opened.elapsed() >= after.unwrap_or(t.period) || (after.is_none() && idle)));
            if !due {
                continue;
            }
            let written_to = now_ns();
            let result = match target {
                Ok(target) => {
                    write(shared, &api, engine, &config, &target, &tenant, &fresh).map_err(|e| (target.bucket, e))
                }
                // Unset env: the container does not start at all, which says more than the empty fields.
                Err(why) => Err((String::new(), config.unstartable.clone().unwrap_or(why))),
            };
            match result {
                Ok(()) => {
                    flushes.marks.insert(key.clone(), written_to);
                    flushes.heads.remove(&key);
                    flushes.errors.remove(&key);
                }
                Err((bucket, reason)) => {
                    flushes.heads.insert(key.clone(), (opened, Some(now + RETRY)));
                    let error = FlushError {
                        cluster: label.clone(),
                        engine: engine.as_str().to_string(),
                        bucket,
                        reason,
                    };
                    flushes.errors.insert(key, error);
                }
            }
        }
    }
}

/// Looks every [`TICK`] whether an engine's flush is due, until aborted.
pub(crate) async fn run(shared: Arc<Shared>) {
    loop {
        tokio::time::sleep(TICK).await;
        tick(&shared, false);
    }
}

impl DataPath {
    /// From now on the engines write what they hold `after` it came (Duration::ZERO: at their next look,
    /// within a second) instead of after their configured block range, chunk age or block duration.
    pub fn flush_after(&self, after: Duration) {
        lock(&self.shared.flushes).after = Some(after);
    }

    /// Every engine on object storage writes what it holds now (as if its flush were due).
    pub fn flush_now(&self) {
        tick(&self.shared, true);
    }

    /// Why engines' last writes to their buckets failed (cleared by a write that lands).
    pub fn flush_errors(&self) -> Vec<FlushError> {
        lock(&self.shared.flushes).errors.values().cloned().collect()
    }
}
