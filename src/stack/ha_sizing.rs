//! Sizes an `ha` hub from the number of edges: replicas and per-replica requests per engine, from the engines'
//! published capacity figures (research HUB-SCALE-OUT.md §6), each result carrying the figures it used.

use serde::Serialize;

use crate::fleet::HaEngine;
use crate::fleet::hub_mode::MIN_HA_NODES;

/// Active series one edge is assumed to send (measure with `sum(prometheus_tsdb_head_series)` on a single hub).
pub const SERIES_PER_EDGE: u64 = 20_000;
/// Compressed log volume one edge is assumed to send, in GB a day (an assumption: no published figure).
pub const LOG_GB_PER_EDGE_DAY: u64 = 2;
/// Span volume one edge is assumed to send, in kB/s (an assumption: no published figure).
pub const SPAN_KB_PER_EDGE_SECOND: u64 = 50;
/// The interval the edges' scrapers collect at (manifests/common/12-otel-scraper.yaml): samples/s = series / 30.
const SCRAPE_SECONDS: u64 = 30;
/// Largest memory request one Mimir replica is given before another replica is added (GiB).
const MIMIR_MAX_GIB: u64 = 24;

/// GB a day one edge is assumed to add to the buckets, per signal: metrics at about 2 bytes a sample (Mimir's
/// store-gateway note) of [`SERIES_PER_EDGE`] series every 30 s, logs as sent ([`LOG_GB_PER_EDGE_DAY`]), spans as
/// sent ([`SPAN_KB_PER_EDGE_SECOND`]).
pub fn bucket_gb_per_edge_day() -> [f64; 3] {
    let metrics = (SERIES_PER_EDGE * 86_400 / SCRAPE_SECONDS * 2) as f64 / 1e9;
    let logs = LOG_GB_PER_EDGE_DAY as f64;
    let traces = (SPAN_KB_PER_EDGE_SECOND * 86_400) as f64 / 1e6;
    [metrics, logs, traces]
}

/// One engine's size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineSize {
    pub engine: HaEngine,
    pub replicas: u32,
    /// Kubernetes CPU quantity per replica (request; no CPU limit).
    pub cpu: String,
    /// Kubernetes memory quantity per replica (request = limit).
    pub memory: String,
    /// Each replica's volume (WAL, ring tokens, caches), e.g. `20Gi`.
    pub disk: String,
    /// The figures and assumptions this size came from, for `plan`.
    pub basis: String,
}

/// What [`size`] answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HaSizing {
    pub edges: usize,
    pub active_series: u64,
    pub per_engine: Vec<EngineSize>,
}

impl EngineSize {
    /// This size spread over `replicas` set by hand: fewer replicas than sized each carry their share of the
    /// total (CPU, memory and disk scaled up); more keep the sized per-replica requests.
    pub fn for_replicas(&self, replicas: u32) -> EngineSize {
        if replicas >= self.replicas {
            return EngineSize {
                replicas,
                ..self.clone()
            };
        }
        let (sized, wanted) = (u64::from(self.replicas), u64::from(replicas.max(1)));
        let cpu = crate::fleet::hub_mode::cpu_millis(&self.cpu).unwrap_or(1000) * sized;
        let mem = crate::fleet::hub_mode::memory_bytes(&self.memory).unwrap_or(1 << 30) / (1 << 20) * sized;
        let disk = self.disk.trim_end_matches("Gi").parse::<u64>().unwrap_or(10) * sized;
        EngineSize {
            replicas,
            cpu: cpu_text(cpu.div_ceil(wanted)),
            memory: gib_text(mem.div_ceil(wanted)),
            disk: format!("{}Gi", disk.div_ceil(wanted)),
            basis: format!("{}; spread over {replicas} replicas set in [hub.ha]", self.basis),
            ..self.clone()
        }
    }
}

impl HaSizing {
    pub fn engine(&self, engine: HaEngine) -> Option<&EngineSize> {
        self.per_engine.iter().find(|e| e.engine == engine)
    }

    /// The most replicas any engine asks for (the hub pool needs at least as many nodes to keep them apart).
    pub fn max_replicas(&self) -> u32 {
        self.per_engine.iter().map(|e| e.replicas).max().unwrap_or(MIN_HA_NODES)
    }
}

fn cpu_text(millis: u64) -> String {
    // Whole half-cores, at least one.
    let halves = millis.div_ceil(500).max(2);
    if halves.is_multiple_of(2) {
        format!("{}", halves / 2)
    } else {
        format!("{}.5", halves / 2)
    }
}

fn gib_text(mib: u64) -> String {
    format!("{}Gi", mib.div_ceil(1024).max(1))
}

/// Sizes the three engines for `edges` edges keeping metrics `metrics_retention_days` days.
pub fn size(edges: usize, metrics_retention_days: u64) -> HaSizing {
    let n = edges.max(1) as u64;
    let series = n * SERIES_PER_EDGE;
    HaSizing {
        edges,
        active_series: series,
        per_engine: vec![mimir(series, metrics_retention_days), loki(n), tempo(n)],
    }
}

/// Mimir's planning-capacity figures, summed as a monolith: ingesters 1 core + 2.5 GB + 5 GB disk per 300k
/// in-memory series (active × RF 3); distributors 1 core + 1 GB per 25k samples/s; compactor 1 core + 4 GB;
/// query path (frontend, querier, store-gateway) 2 cores + 2 GB at a few queries a second; then 50% headroom.
fn mimir(series: u64, retention_days: u64) -> EngineSize {
    let in_memory = series * 3;
    let samples = series / SCRAPE_SECONDS;
    let cpu_m = in_memory * 1000 / 300_000 + samples * 1000 / 25_000 + 1000 + 2000;
    let mem_mib = in_memory * 2560 / 300_000 + samples * 1024 / 25_000 + 4096 + 2048;
    let (cpu_m, mem_mib) = (cpu_m * 3 / 2, mem_mib * 3 / 2);
    let replicas = (mem_mib.div_ceil(MIMIR_MAX_GIB * 1024) as u32).max(MIN_HA_NODES);
    let r = u64::from(replicas);
    let disk_gib = (in_memory * 5 / 300_000 * 3 / 2).div_ceil(r).max(10);
    EngineSize {
        engine: HaEngine::Mimir,
        replicas,
        cpu: cpu_text(cpu_m.div_ceil(r)),
        memory: gib_text(mem_mib.div_ceil(r)),
        disk: format!("{disk_gib}Gi"),
        basis: format!(
            "{series} active series ({SERIES_PER_EDGE} per edge, assumed), {samples} samples/s at a {SCRAPE_SECONDS}s interval; \
             Mimir planning-capacity: ingester 1 core + 2.5 GB + 5 GB disk per 300k in-memory series (RF 3), distributor \
             1 core + 1 GB per 25k samples/s, compactor 1 core + 4 GB, query path 2 cores + 2 GB; +50% headroom; \
             at most {MIMIR_MAX_GIB}GiB a replica; {retention_days}d retention lives in the bucket (~2 bytes/sample)"
        ),
    }
}

/// Loki HA monolithic, derived from its sizing table: 3 × (2–4 CPU, 6–8 Gi) to ~300 GB/day, 5–6 × (4 CPU, 12 Gi)
/// toward 1 TB/day (past that, microservices).
fn loki(edges: u64) -> EngineSize {
    let gb_day = edges * LOG_GB_PER_EDGE_DAY;
    let (replicas, cpu, mem) = match gb_day {
        0..=100 => (MIN_HA_NODES, "2", "6Gi"),
        101..=300 => (MIN_HA_NODES, "4", "8Gi"),
        _ => ((gb_day.div_ceil(170) as u32).max(4), "4", "12Gi"),
    };
    EngineSize {
        engine: HaEngine::Loki,
        replicas,
        cpu: cpu.into(),
        memory: mem.into(),
        disk: "20Gi".into(),
        basis: format!(
            "{gb_day} GB/day of logs ({LOG_GB_PER_EDGE_DAY} GB per edge, assumed); Loki sizing (derived for HA monolithic): \
             3 x (2-4 CPU, 6-8 Gi) up to ~300 GB/day, 5-6 x (4 CPU, 12 Gi) toward 1 TB/day; queries can need 10x"
        ),
    }
}

/// Tempo scalable-single-binary, derived from its size.md (ingester 1 per 3–5 MB/s at 2.5 cores, 4–20 GB;
/// distributor 1 per 10 MB/s): 3 × (4 cores, 12–16 Gi) for ~10 MB/s, one replica per 5 MB/s beyond.
fn tempo(edges: u64) -> EngineSize {
    let kb_s = edges * SPAN_KB_PER_EDGE_SECOND;
    let (cpu, mem) = match kb_s {
        0..=3_000 => ("2", "6Gi"),
        3_001..=10_000 => ("4", "12Gi"),
        _ => ("4", "16Gi"),
    };
    let replicas = (kb_s.div_ceil(5_000) as u32).max(MIN_HA_NODES);
    EngineSize {
        engine: HaEngine::Tempo,
        replicas,
        cpu: cpu.into(),
        memory: mem.into(),
        disk: "20Gi".into(),
        basis: format!(
            "{:.1} MB/s of spans ({SPAN_KB_PER_EDGE_SECOND} kB/s per edge, assumed); Tempo size.md: ingester 1 per 3-5 MB/s \
             (2.5 cores, 4-20 GB), distributor 1 per 10 MB/s; 3 x (4 cores, 12-16 Gi) for ~10 MB/s, one more per 5 MB/s",
            kb_s as f64 / 1000.0
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(edges: usize) -> (EngineSize, EngineSize, EngineSize) {
        let s = size(edges, 30);
        let get = |e| s.engine(e).cloned().unwrap();
        (get(HaEngine::Mimir), get(HaEngine::Loki), get(HaEngine::Tempo))
    }

    #[test]
    fn one_edge_gets_the_minimum_three_small_replicas() {
        let (m, l, t) = at(1);
        assert_eq!((m.replicas, l.replicas, t.replicas), (3, 3, 3));
        assert_eq!(
            (m.cpu.as_str(), m.memory.as_str(), m.disk.as_str()),
            ("2", "4Gi", "10Gi")
        );
        assert_eq!((l.cpu.as_str(), l.memory.as_str()), ("2", "6Gi"));
        assert_eq!((t.cpu.as_str(), t.memory.as_str()), ("2", "6Gi"));
        assert!(m.basis.contains("20000 active series"), "{}", m.basis);
    }

    #[test]
    fn fifty_edges_match_the_research_anchor_of_three_times_six_cores_sixteen_gib() {
        let (m, l, t) = at(50);
        assert_eq!(size(50, 30).active_series, 1_000_000);
        assert_eq!((m.replicas, m.cpu.as_str(), m.memory.as_str()), (3, "7.5", "17Gi"));
        assert_eq!((l.replicas, l.cpu.as_str(), l.memory.as_str()), (3, "2", "6Gi"));
        assert_eq!((t.replicas, t.cpu.as_str(), t.memory.as_str()), (3, "2", "6Gi"));
    }

    #[test]
    fn a_hundred_edges_add_mimir_replicas() {
        let (m, l, t) = at(100);
        assert_eq!((m.replicas, m.cpu.as_str(), m.memory.as_str()), (4, "10", "22Gi"));
        assert_eq!((l.replicas, l.cpu.as_str(), l.memory.as_str()), (3, "4", "8Gi"));
        assert_eq!((t.replicas, t.cpu.as_str()), (3, "4"));
    }

    #[test]
    fn fewer_replicas_set_by_hand_carry_the_whole_load() {
        let (m, _, _) = at(200);
        let three = m.for_replicas(3);
        assert_eq!((three.replicas, three.memory.as_str()), (3, "56Gi"));
        assert_eq!(
            m.for_replicas(9).memory,
            m.memory,
            "more replicas keep the sized requests"
        );
        assert_eq!(m.for_replicas(9).replicas, 9);
    }

    #[test]
    fn two_hundred_edges_scale_every_engine() {
        let s = size(200, 30);
        let (m, l, t) = at(200);
        assert_eq!(s.active_series, 4_000_000);
        assert_eq!((m.replicas, m.memory.as_str()), (7, "24Gi"));
        assert_eq!((l.replicas, l.cpu.as_str(), l.memory.as_str()), (4, "4", "12Gi"));
        assert_eq!((t.replicas, t.memory.as_str()), (3, "12Gi"));
        assert_eq!(s.max_replicas(), 7);
    }
}
