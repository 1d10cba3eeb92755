//! The last check before anything is applied: a cluster's rendered objects are exactly the set its
//! templates declare for the fleet's structure, whatever text the fleet's values hold.
//!
//! The expected set comes from rendering the same cluster of a benign copy of the fleet: every
//! free-text value replaced by a placeholder of the same shape (a GPU plan stays a GPU plan, a
//! persistent queue stays set, an IPv4 allow entry stays IPv4, as many destinations with the same
//! types and signals). Names that objects are named after (the fleet's and the clusters') must be
//! DNS labels and are kept. A value that breaks out of its scalar and adds, drops or renames an
//! object makes the two sets differ, and rendering stops there.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::fleet::spec::{Spanned, spanned};
use crate::fleet::{Cluster, DestinationKind, Fleet, Signal};
use crate::naming;
use crate::objects::ObjectRef;

/// Why the guard refused a render.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("the {what} {value:?} is not a DNS label: refusing to render objects named after it")]
    NotALabel { what: &'static str, value: String },
    #[error(
        "cluster {cluster}: the rendered objects differ from the set the templates declare for this fleet \
         (a fleet value broke out of its YAML scalar?): unexpected {unexpected:?}, missing {missing:?}; nothing is applied"
    )]
    Unexpected {
        cluster: String,
        unexpected: Vec<String>,
        missing: Vec<String>,
    },
}

/// A copy of `fleet` with every free-text value replaced by a placeholder of the same shape.
pub fn benign(fleet: &Fleet) -> Result<Fleet, GuardError> {
    let mut f = fleet.clone();
    label("fleet name", &f.fleet.name)?;
    f.fleet.k8s_version = text(&f.fleet.k8s_version, "1.33");
    for (i, t) in f.fleet.tags.iter_mut().enumerate() {
        *t = text(t, &format!("tag{i}"));
    }
    if let Some(ttl) = &mut f.fleet.ttl {
        *ttl = text(ttl, "1d");
    }
    f.hub = benign_cluster(&f.hub)?;
    f.edges = f.edges.iter().map(benign_cluster).collect::<Result<_, _>>()?;
    f.security.control_plane_acl.clear();
    f.security.grafana_allow = f
        .security
        .grafana_allow
        .iter()
        .filter_map(|a| {
            let net = a
                .get_ref()
                .parse::<IpNet>()
                .ok()
                .or_else(|| a.get_ref().parse::<IpAddr>().ok().map(IpNet::from));
            match net? {
                IpNet::V4(_) => Some(text(a, "192.0.2.0/24")),
                IpNet::V6(_) => Some(text(a, "2001:db8::/32")),
            }
        })
        .collect();
    f.stack.retention = text(&f.stack.retention, "7d");
    if let crate::fleet::HubMode::Ha(h) = &mut f.hub_mode {
        let r = &mut h.retention;
        (r.metrics, r.logs, r.traces) = (text(&r.metrics, "7d"), text(&r.logs, "7d"), text(&r.traces, "7d"));
        for e in &mut h.resources {
            if let Some(c) = &mut e.cpu {
                *c = text(c, "1");
            }
            if let Some(m) = &mut e.memory {
                *m = text(m, "1Gi");
            }
        }
    }
    if let Some(q) = &mut f.stack.persistent_queue {
        *q = text(q, "10Gi");
    }
    for (i, d) in f.destinations.iter_mut().enumerate() {
        let kind = d.kind().unwrap_or(DestinationKind::Otlp);
        d.kind = text(&d.kind, kind.as_str());
        if let Some(e) = &mut d.endpoint {
            *e = text(e, "https://destination.invalid");
        }
        if let Some(t) = &mut d.token_env {
            *t = text(t, &format!("LKEOBS_DESTINATION_{i}_TOKEN"));
        }
        if let Some(s) = &mut d.site {
            *s = text(s, "datadoghq.com");
        }
        let protocol = d.protocol().unwrap_or_default();
        if let Some(p) = &mut d.protocol {
            *p = text(p, protocol.as_str());
        }
        d.signals.retain(|s| Signal::parse(s.get_ref()).is_some());
    }
    Ok(f)
}

/// A copy of `cluster` with its free text replaced (its name, a DNS label, kept).
pub fn benign_cluster(cluster: &Cluster) -> Result<Cluster, GuardError> {
    let mut c = cluster.clone();
    label("cluster name", &c.name)?;
    c.region = text(&c.region, "us-ord");
    for p in &mut c.pools {
        let plan = if p.is_gpu() {
            "g2-gpu-rtx4000a1-s"
        } else {
            "g6-standard-2"
        };
        p.node_type = text(&p.node_type, plan);
        p.labels.clear();
        p.taints.clear();
    }
    Ok(c)
}

fn label(what: &'static str, s: &Spanned<String>) -> Result<(), GuardError> {
    if naming::is_dns_label(s.get_ref()) {
        Ok(())
    } else {
        Err(GuardError::NotALabel {
            what,
            value: s.get_ref().chars().take(80).collect(),
        })
    }
}

fn text(s: &Spanned<String>, v: &str) -> Spanned<String> {
    spanned(s.span(), v.to_string())
}

/// Refuses unless `actual` holds exactly the objects of `expected` (as many of each).
pub fn check(cluster: &str, actual: &[ObjectRef], expected: &[ObjectRef]) -> Result<(), GuardError> {
    let unexpected = minus(actual, expected);
    let missing = minus(expected, actual);
    if unexpected.is_empty() && missing.is_empty() {
        return Ok(());
    }
    Err(GuardError::Unexpected {
        cluster: cluster.to_string(),
        unexpected,
        missing,
    })
}

/// The objects of `a` left after taking out one of `b` for each.
fn minus(a: &[ObjectRef], b: &[ObjectRef]) -> Vec<String> {
    let mut rest = b.to_vec();
    a.iter()
        .filter(|o| match rest.iter().position(|r| r == *o) {
            Some(i) => {
                rest.swap_remove(i);
                false
            }
            None => true,
        })
        .map(ToString::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(kind: &str, name: &str) -> ObjectRef {
        ObjectRef {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: None,
            name: name.into(),
        }
    }

    #[test]
    fn an_added_or_renamed_object_is_refused_and_named() {
        let expected = [obj("Namespace", "monitoring"), obj("Namespace", "observability")];
        assert!(check("hub", &[expected[1].clone(), expected[0].clone()], &expected).is_ok());
        let added = [expected[0].clone(), expected[1].clone(), obj("Namespace", "pwned")];
        let e = check("hub", &added, &expected).unwrap_err().to_string();
        assert!(e.contains("Namespace/pwned") && e.contains("cluster hub"), "{e}");
        let renamed = [expected[0].clone(), obj("Namespace", "observability2")];
        let e = check("hub", &renamed, &expected).unwrap_err().to_string();
        assert!(
            e.contains("observability2") && e.contains("missing [\"Namespace/observability\"]"),
            "{e}"
        );
    }

    #[test]
    fn a_duplicated_object_is_refused() {
        let expected = [obj("Namespace", "monitoring")];
        let e = check("hub", &[expected[0].clone(), expected[0].clone()], &expected)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unexpected [\"Namespace/monitoring\"]"), "{e}");
    }
}
