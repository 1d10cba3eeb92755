//! The rules a parsed fleet must satisfy beyond its shape: names that fit every derived label, sane pools (their
//! node labels and taints in `node_meta`), parsable durations, valid CIDRs and destinations.

use std::collections::BTreeSet;
use std::net::IpAddr;

use ipnet::IpNet;

use super::diag::Diag;
use super::duration;
use super::spec::{Cluster, Fleet, Spanned};
use crate::naming;

/// Checks every rule; returns one diagnostic per broken rule.
pub fn validate(f: &Fleet) -> Vec<Diag> {
    let mut d = Vec::new();
    fleet_name(f, &mut d);
    k8s_version(f, &mut d);
    tags(f, &mut d);
    ttl(f, &mut d);
    max_monthly_cost(f, &mut d);
    let mut seen = BTreeSet::new();
    for c in f.clusters() {
        cluster(f, c, &mut seen, &mut d);
    }
    cidrs("security.grafana_allow", &f.security.grafana_allow, &mut d);
    cidrs("security.control_plane_acl", &f.security.control_plane_acl, &mut d);
    stack(f, &mut d);
    super::hub_mode::check(&f.hub, &f.hub_mode, MAX_RETENTION_DAYS, &mut d);
    for (i, dest) in f.destinations.iter().enumerate() {
        super::validate_destination::destination(i, dest, &mut d);
    }
    super::validate_alerts::check(f, &mut d);
    super::untrusted::check(f, &mut d);
    d
}

pub(super) fn show(s: &Spanned<String>) -> String {
    format!("{:?}", s.get_ref())
}

fn fleet_name(f: &Fleet, d: &mut Vec<Diag>) {
    let name = &f.fleet.name;
    let n = name.get_ref();
    if n.is_empty() {
        return; // reported as missing
    }
    if !naming::is_dns_label(n) {
        d.push(
            Diag::new(
                name.span(),
                "fleet.name",
                "must use only a-z, 0-9 and '-', start and end with a letter or digit, and not contain '--'",
            )
            .value(show(name)),
        );
        return;
    }
    let max = naming::max_fleet_name_len();
    if n.len() > max {
        d.push(
            Diag::new(
                name.span(),
                "fleet.name",
                format!(
                    "too long ({} characters): the hub's LKE label `{}` would exceed {} characters",
                    n.len(),
                    naming::cluster_label(n, "hub"),
                    naming::CLUSTER_LABEL_MAX
                ),
            )
            .value(show(name))
            .help(format!("use at most {max} characters")),
        );
    }
}

fn k8s_version(f: &Fleet, d: &mut Vec<Diag>) {
    let v = &f.fleet.k8s_version;
    let s = v.get_ref();
    if s.is_empty() {
        return;
    }
    let ok = s.split_once('.').is_some_and(|(a, b)| is_number(a) && is_number(b));
    if !ok {
        d.push(
            Diag::new(
                v.span(),
                "fleet.k8s_version",
                "must be a Kubernetes minor version like \"1.33\" (LKE picks the patch)",
            )
            .value(show(v)),
        );
    }
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit())
}

fn tags(f: &Fleet, d: &mut Vec<Diag>) {
    for (i, t) in f.fleet.tags.iter().enumerate() {
        let s = t.get_ref();
        let field = format!("fleet.tags[{i}]");
        if !(naming::TAG_MIN..=naming::TAG_MAX).contains(&s.chars().count()) {
            d.push(
                Diag::new(
                    t.span(),
                    field,
                    format!("tags must be {}–{} characters", naming::TAG_MIN, naming::TAG_MAX),
                )
                .value(show(t)),
            );
        } else if s.contains(',') || s.trim() != s {
            d.push(Diag::new(t.span(), field, "tags must not contain commas or surrounding spaces").value(show(t)));
        } else if !super::untrusted::is_tag(s) {
            d.push(Diag::new(t.span(), field, "tags may use only letters, digits and . _ - : / = + @").value(show(t)));
        } else if s.eq_ignore_ascii_case(naming::TAG_OWNER) || s.to_ascii_lowercase().starts_with("lkeobs-") {
            // Linode compares tags without regard to case: `LKEOBS-fleet-x` is the same tag as ours.
            d.push(
                Diag::new(
                    t.span(),
                    field,
                    "tags named `lkeobs` or `lkeobs-*` are reserved for lkeobs's own bookkeeping",
                )
                .value(show(t)),
            );
        }
    }
}

fn ttl(f: &Fleet, d: &mut Vec<Diag>) {
    if let Some(t) = &f.fleet.ttl
        && let Err(e) = duration::parse(t.get_ref())
    {
        d.push(
            Diag::new(t.span(), "fleet.ttl", format!("not a duration: {e}"))
                .value(show(t))
                .help("write e.g. \"90m\", \"4h\" or \"2d\""),
        );
    }
}

fn cluster(f: &Fleet, c: &Cluster, seen: &mut BTreeSet<String>, d: &mut Vec<Diag>) {
    let name = c.name.get_ref();
    let prefix = match c.role {
        super::spec::Role::Hub => "hub".to_string(),
        super::spec::Role::Edge => format!("edges.{name}"),
    };
    if c.role == super::spec::Role::Edge {
        if !naming::is_dns_label(name) {
            d.push(
                Diag::new(c.name.span(), prefix.clone(), "edge names must use only a-z, 0-9 and '-', start and end with a letter or digit, and not contain '--'")
                    .value(format!("{name:?}")),
            );
        } else if !seen.insert(name.clone()) || name == "hub" {
            d.push(
                Diag::new(
                    c.name.span(),
                    prefix.clone(),
                    "cluster names must be unique; `hub` is the hub's name",
                )
                .value(format!("{name:?}")),
            );
        } else {
            let fleet = f.name();
            let label = naming::cluster_label(fleet, name);
            if naming::is_dns_label(fleet)
                && fleet.len() <= naming::max_fleet_name_len()
                && label.len() > naming::CLUSTER_LABEL_MAX
            {
                d.push(
                    Diag::new(
                        c.name.span(),
                        prefix.clone(),
                        format!(
                            "the LKE label `{label}` would be {} characters; LKE allows {}",
                            label.len(),
                            naming::CLUSTER_LABEL_MAX
                        ),
                    )
                    .value(format!("{name:?}"))
                    .help(format!(
                        "use an edge name of at most {} characters",
                        naming::CLUSTER_LABEL_MAX - naming::cluster_label(fleet, "").len()
                    )),
                );
            }
        }
    } else {
        seen.insert("hub".to_string());
    }
    let region = c.region.get_ref();
    if !region.is_empty() && !is_region_id(region) {
        d.push(
            Diag::new(
                c.region.span(),
                format!("{prefix}.region"),
                "not a Linode region id (like \"us-ord\" or \"in-bom-2\")",
            )
            .value(show(&c.region)),
        );
    }
    if c.pools.is_empty() && !d.iter().any(|x| x.field == format!("{prefix}.pools")) {
        d.push(
            Diag::new(
                c.pools_span.clone(),
                format!("{prefix}.pools"),
                "a cluster needs at least one node pool",
            )
            .help("add pools = [{ type = \"g6-standard-2\", count = 2 }]"),
        );
    }
    for (i, p) in c.pools.iter().enumerate() {
        let field = format!("{prefix}.pools[{i}]");
        let t = p.node_type.get_ref();
        if !t.is_empty() && !is_type_id(t) {
            d.push(
                Diag::new(
                    p.node_type.span(),
                    format!("{field}.type"),
                    "not a Linode type id (like \"g6-standard-2\")",
                )
                .value(show(&p.node_type)),
            );
        }
        let count = *p.count.get_ref();
        if !(1..=100).contains(&count) {
            d.push(
                Diag::new(
                    p.count.span(),
                    format!("{field}.count"),
                    "must be between 1 and 100 (LKE's pool limits)",
                )
                .value(count.to_string()),
            );
        }
        if let Some(a) = &p.autoscale {
            let v = a.get_ref();
            let ok = 1 <= v.min && v.min <= count && count <= v.max && v.max <= 100;
            if !ok {
                d.push(
                    Diag::new(
                        a.span(),
                        format!("{field}.autoscale"),
                        format!("needs 1 <= min <= count <= max <= 100 (count is {count})"),
                    )
                    .value(format!("{{ min = {}, max = {} }}", v.min, v.max)),
                );
            }
        }
        super::node_meta::check(&field, p, d);
    }
}

/// `us-east`, `ap-south`, `in-bom-2`, `us-den-edge-1`.
pub fn is_region_id(s: &str) -> bool {
    let mut parts = s.split('-');
    let country = parts.next().unwrap_or("");
    let rest: Vec<&str> = parts.collect();
    country.len() == 2
        && country.bytes().all(|b| b.is_ascii_lowercase())
        && !rest.is_empty()
        && rest
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

/// `g6-standard-2`, `g2-gpu-rtx4000a1-s`, `g7-premium-4`.
pub fn is_type_id(s: &str) -> bool {
    let mut parts = s.split('-');
    let generation = parts.next().unwrap_or("");
    let rest: Vec<&str> = parts.collect();
    generation.len() >= 2
        && generation.starts_with('g')
        && generation[1..].bytes().all(|b| b.is_ascii_digit())
        && !rest.is_empty()
        && rest
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

fn cidrs(field: &str, list: &[Spanned<String>], d: &mut Vec<Diag>) {
    for (i, c) in list.iter().enumerate() {
        let field = format!("{field}[{i}]");
        let s = c.get_ref();
        match s.parse::<IpNet>() {
            Ok(net) if net.addr() != net.network() => d.push(
                Diag::new(c.span(), field, "host bits are set: this is not a network address")
                    .value(show(c))
                    .help(format!("did you mean \"{}\"?", net.trunc())),
            ),
            Ok(_) => {}
            Err(_) if s.parse::<IpAddr>().is_ok() => {}
            Err(_) => d.push(
                Diag::new(c.span(), field, "not an IPv4 or IPv6 address or CIDR")
                    .value(show(c))
                    .help("write e.g. \"198.51.100.0/24\" or \"2001:db8::/32\""),
            ),
        }
    }
}

/// The largest limit accepted: a value past it is a typo, not a budget.
pub const MAX_MONTHLY_COST_LIMIT: f64 = 10_000_000.0;

/// A cost limit is a positive, finite number of dollars (TOML also allows `inf` and `nan`).
pub fn monthly_cost_limit(v: f64) -> Result<f64, String> {
    if v.is_finite() && v > 0.0 && v <= MAX_MONTHLY_COST_LIMIT {
        Ok(v)
    } else {
        Err(format!(
            "must be a number of US dollars above 0 and at most {MAX_MONTHLY_COST_LIMIT:.0}"
        ))
    }
}

fn max_monthly_cost(f: &Fleet, d: &mut Vec<Diag>) {
    if let Some(v) = &f.fleet.max_monthly_cost
        && let Err(e) = monthly_cost_limit(*v.get_ref())
    {
        d.push(Diag::new(v.span(), "fleet.max_monthly_cost", e).value(v.get_ref().to_string()));
    }
}

fn stack(f: &Fleet, d: &mut Vec<Diag>) {
    let r = &f.stack.retention;
    match duration::parse(r.get_ref()) {
        Err(e) => d.push(Diag::new(r.span(), "stack.retention", format!("not a duration: {e}")).value(show(r))),
        Ok(dur) if dur.as_secs() > MAX_RETENTION_DAYS * 86_400 => d.push(
            Diag::new(
                r.span(),
                "stack.retention",
                format!("must be at most {MAX_RETENTION_DAYS}d (ten years): a larger value is a typo, and the stores' settings overflow"),
            )
            .value(show(r)),
        ),
        Ok(dur) if dur.as_secs() < 86_400 => d.push(
            Diag::new(
                r.span(),
                "stack.retention",
                "must be at least 1d (Loki's retention works in whole days)",
            )
            .value(show(r)),
        ),
        Ok(_) => {}
    }
    let g = f.stack.gateway.get_ref();
    if !(1 <= g.min_replicas && g.min_replicas <= g.max_replicas && g.max_replicas <= 100) {
        d.push(
            Diag::new(
                f.stack.gateway.span(),
                "stack.gateway",
                "needs 1 <= min_replicas <= max_replicas <= 100",
            )
            .value(format!(
                "{{ min_replicas = {}, max_replicas = {} }}",
                g.min_replicas, g.max_replicas
            )),
        );
    }
    if let Some(q) = &f.stack.persistent_queue
        && let Err(e) = queue_size_gib(q.get_ref())
    {
        d.push(Diag::new(q.span(), "stack.persistent_queue", e).value(show(q)));
    }
}

/// Parses a PVC size like `10Gi` or `1Ti` into GiB; Linode volumes are 10 GiB at least.
pub fn queue_size_gib(s: &str) -> Result<u64, String> {
    let (num, mult) = if let Some(n) = s.strip_suffix("Gi") {
        (n, 1)
    } else if let Some(n) = s.strip_suffix("Ti") {
        (n, 1024)
    } else {
        return Err("must be a size in Gi or Ti, like \"10Gi\"".into());
    };
    let n: u64 = num
        .parse()
        .map_err(|_| "must be a whole number of Gi or Ti, like \"10Gi\"".to_string())?;
    let gib = n.saturating_mul(mult);
    if gib < 10 {
        return Err("Linode volumes are at least 10Gi".into());
    }
    if gib > MAX_VOLUME_GIB {
        return Err(format!("Linode volumes are at most {MAX_VOLUME_GIB}Gi (10Ti)"));
    }
    Ok(gib)
}

/// The largest Block Storage volume (the API's `size` maximum, in GiB).
pub const MAX_VOLUME_GIB: u64 = 10_240;

/// The longest retention accepted (in days).
pub const MAX_RETENTION_DAYS: u64 = 3_650;

/// `[A-Z_][A-Z0-9_]*`.
pub fn is_env_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_uppercase() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
}
