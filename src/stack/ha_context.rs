//! The template variables of the hub's storage mode (`hub.mode`, and in `ha` the engines' replicas, resources,
//! retention and Object Storage settings), and the run-time Object Storage inputs `up` supplies.

use serde::Serialize;

use super::ha_sizing;
use crate::fleet::{Fleet, HaEngine, HubMode, duration};
use crate::objects;

/// What offline rendering writes where `up` puts the bucket names, the S3 host and the region.
pub const OBJECT_STORE_PLACEHOLDER: &str = "pending-up";

/// The Object Storage `up` created for an `ha` hub (None offline: placeholders).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectStoreInputs {
    /// The S3 host, e.g. `us-ord-1.linodeobjects.com` (no scheme).
    pub endpoint_host: String,
    /// The S3 region, e.g. `us-ord`.
    pub region: String,
    pub buckets: Buckets,
}

/// One bucket per signal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Buckets {
    pub metrics: String,
    pub logs: String,
    pub traces: String,
}

/// `hub` in the template context.
#[derive(Debug, Serialize)]
pub struct HubVars {
    /// `single` or `ha`.
    pub mode: &'static str,
    /// Set in `ha` mode only.
    pub ha: Option<HaVars>,
}

#[derive(Debug, Serialize)]
pub struct HaVars {
    pub mimir: EngineVars,
    pub loki: EngineVars,
    pub tempo: EngineVars,
    pub object_store: ObjectStoreVars,
    /// Mimir's per-tenant limits, raised for the fleet's size.
    pub mimir_limits: MimirLimits,
    /// The Secret with `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (`up` creates it).
    pub secret: &'static str,
}

#[derive(Debug, Serialize)]
pub struct EngineVars {
    pub replicas: u32,
    pub cpu: String,
    pub memory: String,
    pub disk: String,
    /// Retention in whole hours (rounded up to days).
    pub retention_hours: u64,
}

/// Mimir's defaults (10k samples/s, burst 200k, 150k series) would throttle a fleet: 4× the assumed rate, 3× the
/// assumed series, never below 100k samples/s and 1.5M series.
#[derive(Debug, Serialize)]
pub struct MimirLimits {
    pub ingestion_rate: u64,
    pub ingestion_burst_size: u64,
    pub max_global_series: u64,
}

impl MimirLimits {
    pub fn for_series(series: u64) -> Self {
        let rate = (series / 30 * 4).max(100_000);
        MimirLimits {
            ingestion_rate: rate,
            ingestion_burst_size: rate * 10,
            max_global_series: (series * 3).max(1_500_000),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ObjectStoreVars {
    pub endpoint_host: String,
    pub region: String,
    pub buckets: Buckets,
    /// The values are placeholders (rendered offline).
    pub pending: bool,
}

fn hours(retention: &str) -> u64 {
    super::context::retention_hours(retention)
}

/// The `hub` variables for `fleet`.
pub fn vars(fleet: &Fleet, object_store: Option<&ObjectStoreInputs>) -> HubVars {
    let HubMode::Ha(ha) = &fleet.hub_mode else {
        return HubVars {
            mode: "single",
            ha: None,
        };
    };
    let metrics_days = duration::parse(ha.retention.metrics.get_ref()).map_or(7, |d| d.as_secs().div_ceil(86_400));
    let sizing = ha_sizing::size(fleet.edges.len(), metrics_days);
    let engine = |e: HaEngine, retention: &str| {
        let explicit = ha.replicas.as_ref().map(|r| *r.get_ref());
        let sized = sizing
            .engine(e)
            .map(|s| explicit.map_or_else(|| s.clone(), |n| s.for_replicas(n)));
        let over = ha.resources_for(e);
        let pick = |o: Option<&crate::fleet::spec::Spanned<String>>, d: Option<String>| {
            o.map(|v| v.get_ref().clone()).or(d).unwrap_or_else(|| "1".into())
        };
        EngineVars {
            replicas: ha
                .replicas
                .as_ref()
                .map(|r| *r.get_ref())
                .or(sized.as_ref().map(|s| s.replicas))
                .unwrap_or(3),
            cpu: pick(over.and_then(|o| o.cpu.as_ref()), sized.as_ref().map(|s| s.cpu.clone())),
            memory: pick(
                over.and_then(|o| o.memory.as_ref()),
                sized.as_ref().map(|s| s.memory.clone()),
            ),
            disk: sized.map_or_else(|| "10Gi".into(), |s| s.disk),
            retention_hours: hours(retention),
        }
    };
    let pending = || OBJECT_STORE_PLACEHOLDER.to_string();
    HubVars {
        mode: "ha",
        ha: Some(HaVars {
            mimir: engine(HaEngine::Mimir, ha.retention.metrics.get_ref()),
            loki: engine(HaEngine::Loki, ha.retention.logs.get_ref()),
            tempo: engine(HaEngine::Tempo, ha.retention.traces.get_ref()),
            object_store: match object_store {
                Some(o) => ObjectStoreVars {
                    endpoint_host: o.endpoint_host.clone(),
                    region: o.region.clone(),
                    buckets: o.buckets.clone(),
                    pending: false,
                },
                None => ObjectStoreVars {
                    endpoint_host: pending(),
                    region: pending(),
                    buckets: Buckets {
                        metrics: pending(),
                        logs: pending(),
                        traces: pending(),
                    },
                    pending: true,
                },
            },
            mimir_limits: MimirLimits::for_series(sizing.active_series),
            secret: objects::OBJECT_STORAGE_SECRET.name,
        }),
    }
}
