//! `[hub] mode = "single" | "ha"` and the optional `[hub.ha]` table (issue #23, docs/hub-ha.md): the typed
//! result, its span-keeping reader and its rules.

use std::ops::Range;

use serde::Serialize;

use super::diag::Diag;
use super::duration;
use super::reader::Table;
use super::spec::{Cluster, Spanned};

/// The fewest hub nodes (and engine replicas) `ha` accepts: the engines replicate three times over distinct nodes.
pub const MIN_HA_NODES: u32 = 3;

/// How the hub stores what it receives.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum HubMode {
    /// One Prometheus, one Loki, one Tempo on Block Storage (the default).
    #[default]
    Single,
    /// Mimir, Loki and Tempo, each N ≥ 3 replicas on Linode Object Storage.
    Ha(Box<HubHa>),
}

impl HubMode {
    /// The `[hub.ha]` settings in `ha` mode.
    pub fn ha(&self) -> Option<&HubHa> {
        match self {
            HubMode::Single => None,
            HubMode::Ha(h) => Some(h),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            HubMode::Single => "single",
            HubMode::Ha(_) => "ha",
        }
    }
}

/// One of the three engines of an `ha` hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HaEngine {
    Mimir,
    Loki,
    Tempo,
}

impl HaEngine {
    pub const ALL: [HaEngine; 3] = [HaEngine::Mimir, HaEngine::Loki, HaEngine::Tempo];

    pub fn as_str(self) -> &'static str {
        match self {
            HaEngine::Mimir => "mimir",
            HaEngine::Loki => "loki",
            HaEngine::Tempo => "tempo",
        }
    }
}

/// `[hub.ha]`.
#[derive(Debug, Clone, Serialize)]
pub struct HubHa {
    /// `replicas` (≥ 3); `None`: sized from the number of edges (`stack::ha_sizing`).
    pub replicas: Option<Spanned<u32>>,
    /// `retention = { metrics, logs, traces }`, each defaulting to `[stack] retention`.
    pub retention: HaRetention,
    /// `[hub.ha.resources.<engine>]` overrides, in engine order.
    pub resources: Vec<EngineResources>,
    /// Span of the `[hub.ha]` table (the `mode` value when the table is absent).
    #[serde(skip)]
    pub span: Range<usize>,
    /// The retentions (`metrics`, `logs`, `traces`) copied from `[stack] retention`, whose errors are reported there.
    #[serde(skip)]
    pub retention_from_stack: Vec<&'static str>,
}

impl HubHa {
    /// The override for `engine`, when the file sets one.
    pub fn resources_for(&self, engine: HaEngine) -> Option<&EngineResources> {
        self.resources.iter().find(|r| r.engine == engine)
    }
}

/// Retention per signal; a value the file leaves out is `[stack] retention` (spanned there).
#[derive(Debug, Clone, Serialize)]
pub struct HaRetention {
    pub metrics: Spanned<String>,
    pub logs: Spanned<String>,
    pub traces: Spanned<String>,
}

/// `[hub.ha.resources.<engine>] cpu = "4", memory = "16Gi"`: per-replica requests (memory is also the limit).
#[derive(Debug, Clone, Serialize)]
pub struct EngineResources {
    pub engine: HaEngine,
    pub cpu: Option<Spanned<String>>,
    pub memory: Option<Spanned<String>>,
}

/// What [`read`] found in `[hub]`; the retention defaults are filled once `[stack]` is read ([`Raw::resolve`]).
pub struct Raw {
    mode: Option<Spanned<String>>,
    ha: Option<RawHa>,
}

struct RawHa {
    span: Range<usize>,
    replicas: Option<Spanned<u32>>,
    metrics: Option<Spanned<String>>,
    logs: Option<Spanned<String>>,
    traces: Option<Spanned<String>>,
    resources: Vec<EngineResources>,
}

const DURATION: &str = "a duration string like \"30d\"";
const QUANTITY: &str = "a string like \"4\" or \"16Gi\"";

/// Reads `mode` and `[hub.ha]` from the hub's table (before it is finished, so both count as known keys).
pub fn read(t: &mut Table<'_, '_>, diags: &mut Vec<Diag>) -> Raw {
    let mode = t.get::<String>("mode", "\"single\" or \"ha\"", diags);
    if let Some(m) = &mode
        && !matches!(m.get_ref().as_str(), "single" | "ha")
    {
        diags.push(
            Diag::new(m.span(), t.field("mode"), "must be \"single\" or \"ha\"")
                .value(format!("{:?}", m.get_ref()))
                .help("\"single\" (the default): one Prometheus, Loki and Tempo; \"ha\": Mimir, Loki and Tempo ×3 on Object Storage"),
        );
    }
    let ha = t.table("ha", diags).map(|mut h| {
        let span = h.span();
        let replicas = h.get::<u32>("replicas", "a whole number (3 or more)", diags);
        let (mut metrics, mut logs, mut traces) = (None, None, None);
        if let Some(mut r) = h.table("retention", diags) {
            metrics = r.get("metrics", DURATION, diags);
            logs = r.get("logs", DURATION, diags);
            traces = r.get("traces", DURATION, diags);
            r.finish(diags);
        }
        let mut resources = Vec::new();
        if let Some(mut r) = h.table("resources", diags) {
            for engine in HaEngine::ALL {
                if let Some(mut e) = r.table(engine.as_str(), diags) {
                    resources.push(EngineResources {
                        engine,
                        cpu: e.get("cpu", QUANTITY, diags),
                        memory: e.get("memory", QUANTITY, diags),
                    });
                    e.finish(diags);
                }
            }
            r.finish(diags);
        }
        h.finish(diags);
        RawHa {
            span,
            replicas,
            metrics,
            logs,
            traces,
            resources,
        }
    });
    Raw { mode, ha }
}

impl Raw {
    /// The typed mode; `stack_retention` fills the retention a file leaves out. A `[hub.ha]` table under
    /// mode "single" is reported here (the rest by [`check`]).
    pub fn resolve(self, stack_retention: &Spanned<String>, diags: &mut Vec<Diag>) -> HubMode {
        let is_ha = self.mode.as_ref().is_some_and(|m| m.get_ref() == "ha");
        match (is_ha, self.ha) {
            (false, Some(h)) => {
                let mode = self.mode.as_ref().map_or("single (the default)", |_| "\"single\"");
                diags.push(
                    Diag::new(
                        h.span,
                        "hub.ha",
                        format!("[hub.ha] applies only to mode = \"ha\"; the hub's mode is {mode}"),
                    )
                    .help("set `mode = \"ha\"` in [hub], or remove [hub.ha]"),
                );
                HubMode::Single
            }
            (false, None) => HubMode::Single,
            (true, h) => {
                let mode_span = self.mode.as_ref().map_or(0..0, |m| m.span());
                let mut retention_from_stack = Vec::new();
                let mut or_default = |name: &'static str, v: Option<Spanned<String>>| {
                    v.unwrap_or_else(|| {
                        retention_from_stack.push(name);
                        stack_retention.clone()
                    })
                };
                let h = h.unwrap_or(RawHa {
                    span: mode_span,
                    replicas: None,
                    metrics: None,
                    logs: None,
                    traces: None,
                    resources: Vec::new(),
                });
                HubMode::Ha(Box::new(HubHa {
                    replicas: h.replicas,
                    retention: HaRetention {
                        metrics: or_default("metrics", h.metrics),
                        logs: or_default("logs", h.logs),
                        traces: or_default("traces", h.traces),
                    },
                    resources: h.resources,
                    span: h.span,
                    retention_from_stack,
                }))
            }
        }
    }
}

/// The hub's nodes as the scheduler can count on them: each pool's `count`, or its autoscale `min`.
pub fn guaranteed_nodes(hub: &Cluster) -> u32 {
    hub.pools
        .iter()
        .map(|p| p.autoscale.as_ref().map_or(*p.count.get_ref(), |a| a.get_ref().min))
        .sum()
}

/// The rules of `ha` mode: enough hub nodes, replicas ≥ 3, retentions that parse, quantities that are quantities.
pub fn check(hub: &Cluster, mode: &HubMode, max_retention_days: u64, d: &mut Vec<Diag>) {
    let Some(ha) = mode.ha() else {
        return;
    };
    let nodes = guaranteed_nodes(hub);
    if nodes < MIN_HA_NODES {
        d.push(
            Diag::new(
                hub.pools_span.clone(),
                "hub.pools",
                format!(
                    "mode = \"ha\" needs at least {MIN_HA_NODES} hub nodes (the pools' count, or autoscale min), found {nodes}: \
                     Mimir, Loki and Tempo spread their {MIN_HA_NODES} replicas over distinct nodes"
                ),
            )
            .help("raise the hub pool's count (and autoscale min) to 3 or more"),
        );
    }
    if let Some(r) = &ha.replicas
        && *r.get_ref() < MIN_HA_NODES
    {
        d.push(
            Diag::new(r.span(), "hub.ha.replicas", format!("must be at least {MIN_HA_NODES} (replication factor 3 keeps a 2-of-3 quorum through one lost replica)"))
                .value(r.get_ref().to_string())
                .help("leave `replicas` out to size it from the number of edges"),
        );
    }
    for (name, v) in [
        ("metrics", &ha.retention.metrics),
        ("logs", &ha.retention.logs),
        ("traces", &ha.retention.traces),
    ] {
        let field = format!("hub.ha.retention.{name}");
        let problem = match duration::parse(v.get_ref()) {
            Err(e) => Some(format!("not a duration: {e}")),
            Ok(t) if t.as_secs() > max_retention_days * 86_400 => {
                Some(format!("must be at most {max_retention_days}d (ten years)"))
            }
            Ok(t) if t.as_secs() < 86_400 => Some("must be at least 1d (retention works in whole days)".into()),
            Ok(_) => None,
        };
        // A default copied from `[stack] retention` is reported there, not twice.
        let copied = ha.retention_from_stack.contains(&name);
        if let Some(p) = problem
            && !copied
        {
            d.push(Diag::new(v.span(), field, p).value(format!("{:?}", v.get_ref())));
        }
    }
    for r in &ha.resources {
        let base = format!("hub.ha.resources.{}", r.engine.as_str());
        if let Some(c) = &r.cpu
            && let Err(e) = cpu_millis(c.get_ref())
        {
            d.push(Diag::new(c.span(), format!("{base}.cpu"), e).value(format!("{:?}", c.get_ref())));
        }
        if let Some(m) = &r.memory
            && let Err(e) = memory_bytes(m.get_ref())
        {
            d.push(Diag::new(m.span(), format!("{base}.memory"), e).value(format!("{:?}", m.get_ref())));
        }
    }
}

/// A Kubernetes CPU quantity (`"4"`, `"1.5"`, `"500m"`) in millicores; zero is refused.
pub fn cpu_millis(s: &str) -> Result<u64, String> {
    let bad = || format!("{s:?} is not a CPU quantity: write cores like \"4\" or \"1.5\", or millicores like \"500m\"");
    let millis = if let Some(m) = s.strip_suffix('m') {
        digits(m).ok_or_else(bad)?
    } else {
        decimal_thousandths(s).ok_or_else(bad)?
    };
    if millis == 0 {
        return Err("must be more than zero".into());
    }
    Ok(millis)
}

/// A Kubernetes memory quantity with a binary or decimal suffix (`"16Gi"`, `"512Mi"`, `"2G"`) in bytes; zero is refused.
pub fn memory_bytes(s: &str) -> Result<u64, String> {
    let bad = || format!("{s:?} is not a memory quantity: write it like \"16Gi\" or \"512Mi\"");
    const UNITS: [(&str, u64); 8] = [
        ("Ki", 1 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("Ti", 1 << 40),
        ("k", 1_000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
        ("T", 1_000_000_000_000),
    ];
    let (num, mult) = UNITS
        .iter()
        .find_map(|(u, m)| s.strip_suffix(u).map(|n| (n, *m)))
        .ok_or_else(bad)?;
    let thousandths = decimal_thousandths(num).ok_or_else(bad)?;
    let bytes = thousandths.checked_mul(mult).ok_or_else(bad)? / 1000;
    if bytes == 0 {
        return Err("must be more than zero".into());
    }
    if bytes < (64 << 20) {
        return Err(format!("{s:?} is too small for an engine replica (64Mi at least)"));
    }
    Ok(bytes)
}

fn digits(s: &str) -> Option<u64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `"1.5"` → 1500; at most three decimals.
fn decimal_thousandths(s: &str) -> Option<u64> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 3 || (s.contains('.') && frac.is_empty()) {
        return None;
    }
    let w = digits(whole)?;
    let f = if frac.is_empty() {
        0
    } else {
        digits(frac)? * 10u64.pow(3 - frac.len() as u32)
    };
    w.checked_mul(1000)?.checked_add(f)
}
