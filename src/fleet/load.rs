//! Parses fleet-file text into a [`Fleet`], collecting every structural error (syntax, types, unknown or missing keys) with its span.

use toml::de::DeTable;

use super::diag::{Diag, Kind};
use super::hub_mode::{self, HubMode};
use super::reader::Table;
use super::spec::{
    Autoscale, Cluster, Destination, Fleet, FleetMeta, GatewayScale, NodeLabel, NodeTaint, Pool, Role, Security,
    Spanned, Stack, spanned,
};

const STRING: &str = "a string";
const BOOL: &str = "true or false";
const COUNT: &str = "a whole number (0 or more)";

/// Parses `src`. Returns the fleet built from what could be read (missing values are placeholders) and the structural errors.
pub fn parse(src: &str) -> (Option<Fleet>, Vec<Diag>) {
    let (root, errors) = DeTable::parse_recoverable(src);
    if !errors.is_empty() {
        let diags = errors
            .iter()
            .map(|e| {
                let span = e.span().unwrap_or(0..0);
                Diag::new(span, "", format!("invalid TOML: {}", e.message().trim()))
            })
            .collect();
        return (None, diags);
    }
    let mut diags = Vec::new();
    let mut top = Table::new(src, String::new(), root.span(), root.get_ref());
    let fleet = read_fleet(&mut top, &mut diags);
    top.finish(&mut diags);
    diags.extend(super::untrusted::scan_strings(root.get_ref()));
    (Some(fleet), diags)
}

fn missing<T>(span: std::ops::Range<usize>, value: T) -> Spanned<T> {
    spanned(span, value)
}

fn read_fleet(top: &mut Table<'_, '_>, diags: &mut Vec<Diag>) -> Fleet {
    let top_span = top.span().start..top.span().start;
    let meta = match top.table("fleet", diags) {
        Some(mut t) => {
            let span = t.span();
            let m = FleetMeta {
                name: t
                    .require("name", STRING, diags)
                    .unwrap_or_else(|| missing(span.clone(), String::new())),
                k8s_version: t
                    .require("k8s_version", "a string like \"1.33\"", diags)
                    .unwrap_or_else(|| missing(span.clone(), String::new())),
                tags: t.strings("tags", diags),
                ttl: t.get("ttl", "a duration string like \"4h\"", diags),
                max_monthly_cost: t.get("max_monthly_cost", "a number of US dollars like 500", diags),
            };
            t.finish(diags);
            m
        }
        None => {
            if !diags.iter().any(|d| d.field == "fleet") {
                diags.push(
                    Diag::new(top_span.clone(), "fleet", "missing the [fleet] table")
                        .kind(Kind::MissingKey)
                        .help("start the file with [fleet] name = \"...\" and k8s_version = \"1.33\""),
                );
            }
            FleetMeta {
                name: missing(top_span.clone(), String::new()),
                k8s_version: missing(top_span.clone(), String::new()),
                tags: Vec::new(),
                ttl: None,
                max_monthly_cost: None,
            }
        }
    };

    let hub_name = spanned(top_span.clone(), "hub".to_string());
    let mut hub_raw = None;
    let hub = match top.table("hub", diags) {
        Some(t) => read_cluster(t, hub_name, Role::Hub, Some(&mut hub_raw), diags),
        None => {
            if !diags.iter().any(|d| d.field == "hub") {
                diags.push(
                    Diag::new(
                        top_span.clone(),
                        "hub",
                        "missing the [hub] table: every fleet has one hub",
                    )
                    .kind(Kind::MissingKey)
                    .help("add [hub] with region = \"...\" and pools = [...]"),
                );
            }
            placeholder_cluster(hub_name, top_span.clone())
        }
    };

    let edges = top
        .entries("edges", diags)
        .into_iter()
        .map(|(name, t)| read_cluster(t, name, Role::Edge, None, diags))
        .collect();

    let security = match top.table("security", diags) {
        Some(mut t) => {
            let s = Security {
                gateway_firewall: t.get("gateway_firewall", BOOL, diags).is_none_or(|v| v.into_inner()),
                mtls: t.get("mtls", BOOL, diags).is_none_or(|v| v.into_inner()),
                grafana_allow: t.strings("grafana_allow", diags),
                control_plane_acl_span: t.value_span("control_plane_acl").unwrap_or_else(|| t.span()),
                control_plane_acl_set: t.value_span("control_plane_acl").is_some(),
                mtls_span: t.value_span("mtls"),
                gateway_firewall_span: t.value_span("gateway_firewall"),
                control_plane_acl: t.strings("control_plane_acl", diags),
            };
            t.finish(diags);
            s
        }
        None => Security {
            gateway_firewall: true,
            mtls: true,
            grafana_allow: Vec::new(),
            control_plane_acl: Vec::new(),
            control_plane_acl_span: 0..0,
            control_plane_acl_set: false,
            mtls_span: None,
            gateway_firewall_span: None,
        },
    };

    let stack = match top.table("stack", diags) {
        Some(mut t) => {
            let span = t.span();
            let gateway = match t.table("gateway", diags) {
                Some(mut g) => {
                    let d = GatewayScale::default();
                    let min = g
                        .get::<u32>("min_replicas", COUNT, diags)
                        .map_or(d.min_replicas, |v| v.into_inner());
                    let max = g
                        .get::<u32>("max_replicas", COUNT, diags)
                        .map_or(d.max_replicas, |v| v.into_inner());
                    let gspan = g.span();
                    g.finish(diags);
                    spanned(
                        gspan,
                        GatewayScale {
                            min_replicas: min,
                            max_replicas: max,
                        },
                    )
                }
                None => spanned(span.clone(), GatewayScale::default()),
            };
            let s = Stack {
                retention: t
                    .get("retention", "a duration string like \"7d\"", diags)
                    .unwrap_or_else(|| spanned(span.clone(), "7d".to_string())),
                gateway,
                persistent_queue: t.get("persistent_queue", "a size like \"10Gi\"", diags),
                pii_scrubbing: t.get("pii_scrubbing", BOOL, diags).is_some_and(|v| v.into_inner()),
                gpu_profiling: t
                    .get("gpu_profiling", BOOL, diags)
                    .unwrap_or_else(|| spanned(span.clone(), false)),
            };
            t.finish(diags);
            s
        }
        None => Stack {
            retention: spanned(top_span.clone(), "7d".to_string()),
            gateway: spanned(top_span.clone(), GatewayScale::default()),
            persistent_queue: None,
            pii_scrubbing: false,
            gpu_profiling: spanned(top_span.clone(), false),
        },
    };

    let mut destinations = Vec::new();
    if let Some(items) = top.array("destinations", diags) {
        for (i, item) in items.into_iter().enumerate() {
            let path = format!("destinations[{i}]");
            if let Some(t) = Table::as_table(src_of(top), path, item, diags) {
                destinations.push(read_destination(t, diags));
            }
        }
    }

    let alerts = super::load_alerts::read(top, diags);
    let hub_mode = hub_raw.map_or(HubMode::Single, |raw: hub_mode::Raw| {
        raw.resolve(&stack.retention, diags)
    });

    Fleet {
        fleet: meta,
        hub,
        edges,
        security,
        stack,
        destinations,
        alerts,
        hub_mode,
    }
}

fn src_of<'s>(t: &Table<'s, '_>) -> &'s str {
    t.src()
}

fn placeholder_cluster(name: Spanned<String>, span: std::ops::Range<usize>) -> Cluster {
    Cluster {
        name,
        role: Role::Hub,
        region: spanned(span.clone(), String::new()),
        high_availability: spanned(span.clone(), false),
        pools: Vec::new(),
        pools_span: span.clone(),
        span,
    }
}

/// `mode`: where the hub's `mode` and `[hub.ha]` go (None for an edge, where they are unknown keys).
fn read_cluster(
    mut t: Table<'_, '_>,
    name: Spanned<String>,
    role: Role,
    mode: Option<&mut Option<hub_mode::Raw>>,
    diags: &mut Vec<Diag>,
) -> Cluster {
    let span = t.span();
    if let Some(mode) = mode {
        *mode = Some(hub_mode::read(&mut t, diags));
    }
    let region = t
        .require("region", "a region id like \"us-ord\"", diags)
        .unwrap_or_else(|| spanned(span.clone(), String::new()));
    let high_availability = t
        .get("high_availability", BOOL, diags)
        .unwrap_or_else(|| spanned(span.clone(), false));
    let pools_span = t.value_span("pools").unwrap_or_else(|| name.span());
    let mut pools = Vec::new();
    let has_pools = t.src_has_key("pools");
    match t.array("pools", diags) {
        Some(items) => {
            let src = t.src();
            for (i, item) in items.into_iter().enumerate() {
                let path = format!("{}[{i}]", t.field("pools"));
                if let Some(p) = Table::as_table(src, path, item, diags) {
                    pools.push(read_pool(p, diags));
                }
            }
        }
        None if !has_pools => diags.push(
            Diag::new(name.span(), t.field("pools"), "missing required key `pools`")
                .kind(Kind::MissingKey)
                .help("add pools = [{ type = \"g6-standard-2\", count = 2 }]"),
        ),
        None => {}
    }
    t.finish(diags);
    Cluster {
        name,
        role,
        region,
        high_availability,
        pools,
        pools_span,
        span,
    }
}

fn read_pool(mut t: Table<'_, '_>, diags: &mut Vec<Diag>) -> Pool {
    let span = t.span();
    let node_type = t
        .require("type", "a Linode type id like \"g6-standard-2\"", diags)
        .unwrap_or_else(|| spanned(span.clone(), String::new()));
    let count = t
        .require::<u32>("count", COUNT, diags)
        .unwrap_or_else(|| spanned(span.clone(), 1));
    let autoscale = t.table("autoscale", diags).and_then(|mut a| {
        let aspan = a.span();
        let min = a.require::<u32>("min", COUNT, diags);
        let max = a.require::<u32>("max", COUNT, diags);
        a.finish(diags);
        Some(spanned(
            aspan,
            Autoscale {
                min: min?.into_inner(),
                max: max?.into_inner(),
            },
        ))
    });
    let labels = t
        .string_map("labels", diags)
        .into_iter()
        .map(|(key, value)| NodeLabel { key, value })
        .collect();
    let mut taints = Vec::new();
    if let Some(items) = t.array("taints", diags) {
        let src = t.src();
        for (i, item) in items.into_iter().enumerate() {
            let path = format!("{}[{i}]", t.field("taints"));
            if let Some(x) = Table::as_table(src, path, item, diags) {
                taints.extend(read_taint(x, diags));
            }
        }
    }
    t.finish(diags);
    Pool {
        node_type,
        count,
        autoscale,
        labels,
        taints,
        span,
    }
}

/// `{ key = "...", value = "...", effect = "NoSchedule" }`; `value` may be left out (an empty value).
fn read_taint(mut t: Table<'_, '_>, diags: &mut Vec<Diag>) -> Option<NodeTaint> {
    let span = t.span();
    let key = t.require("key", "a taint key like \"nvidia.com/gpu\"", diags);
    let value = t.get("value", STRING, diags);
    let effect = t.require(
        "effect",
        "one of \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
        diags,
    );
    t.finish(diags);
    let key = key?;
    Some(NodeTaint {
        value: value.unwrap_or_else(|| spanned(key.span(), String::new())),
        effect: effect?,
        key,
        span,
    })
}

fn read_destination(mut t: Table<'_, '_>, diags: &mut Vec<Diag>) -> Destination {
    let span = t.span();
    let d = Destination {
        kind: t
            .require("type", "one of \"splunk_hec\", \"datadog\", \"otlp\"", diags)
            .unwrap_or_else(|| spanned(span.clone(), String::new())),
        endpoint: t.get("endpoint", "a URL", diags),
        token_env: t.get("token_env", "an environment variable name", diags),
        site: t.get("site", "a Datadog site like \"datadoghq.eu\"", diags),
        protocol: t.get("protocol", "\"grpc\" or \"http\"", diags),
        signals: t.strings("signals", diags),
        span,
    };
    t.finish(diags);
    d
}
