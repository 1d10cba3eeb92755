//! What `up` did to one cluster, as typed records: serialized for the JSON report (`kind` plus its
//! fields), rendered once in words for the text report.

use std::fmt;

use serde::Serialize;

use crate::plan::{AclChange, Action, ClusterChange, ClusterPlan, PoolChange};

/// One thing `up` changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Done {
    /// The cluster was created.
    Created,
    /// A change of the existing cluster's Linode settings (in words in JSON, as the plan writes it).
    ClusterChanged {
        change: ClusterChange,
    },
    AclChanged {
        acl: AclChange,
    },
    PoolCreated {
        node_type: String,
        count: u32,
    },
    PoolResized {
        pool: u64,
        from: u32,
        to: u32,
    },
    /// An update of an existing pool besides its count alone (autoscaler, labels, taints).
    PoolUpdated {
        pool: u64,
        changes: Vec<String>,
    },
    /// A new pool of another type; the old one is deleted once the nodes are Ready.
    PoolReplaced {
        pool: u64,
        from: String,
        to: String,
    },
    PoolDeleted {
        pool: u64,
        node_type: String,
    },
    StackApplied {
        objects: usize,
    },
    Pruned {
        objects: usize,
    },
    /// `certificate` names it, e.g. `client certificate`.
    CertificateIssued {
        certificate: String,
    },
    CertificateReissued {
        certificate: String,
    },
    CaCreated {
        secret: String,
    },
    CaReplaced {
        why: String,
    },
    GrafanaPasswordGenerated,
    DestinationTokensStored,
    AlertSecretsStored,
    /// A Secret of values from the environment that nothing uses any more (the fleet dropped its
    /// destinations' tokens or its `[alerts]`), deleted.
    SecretRemoved {
        secret: String,
    },
    GatewayCredentialStored {
        secret: String,
    },
    /// The hub's edge credentials: what was added, revoked or rewritten.
    EdgeCredentials {
        summary: String,
    },
    /// A change to the `ha` hub's Object Storage (a bucket or the key created, a lost key revoked, …).
    ObjectStorage {
        change: crate::ops::hub_storage::Change,
    },
    /// The Object Storage key written into the hub's Secret for the engines (its secret is never shown).
    ObjectStorageKeyStored {
        secret: String,
    },
}

impl fmt::Display for Done {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Done::Created => write!(f, "created"),
            Done::ClusterChanged { change } => write!(f, "{}", change.describe()),
            Done::AclChanged { acl } => write!(f, "control-plane ACL {}", acl.describe()),
            Done::PoolCreated { node_type, count } => write!(f, "pool {count} × {node_type} created"),
            Done::PoolResized { pool, from, to } => write!(f, "pool {pool}: count {from} → {to}"),
            Done::PoolUpdated { pool, changes } => write!(f, "pool {pool}: {}", changes.join(", ")),
            Done::PoolReplaced { from, to, .. } => write!(
                f,
                "pool {}",
                PoolChange::Type {
                    from: from.clone(),
                    to: to.clone()
                }
                .describe()
            ),
            Done::PoolDeleted { pool, node_type } => write!(f, "pool {pool} ({node_type}) deleted"),
            Done::StackApplied { objects } => write!(f, "{objects} stack object(s) applied"),
            Done::Pruned { objects } => write!(f, "{objects} object(s) no longer rendered were pruned"),
            Done::CertificateIssued { certificate } => write!(f, "{certificate} issued"),
            Done::CertificateReissued { certificate } => write!(f, "{certificate} reissued"),
            Done::CaCreated { secret } => write!(f, "fleet CA created (Secret {secret})"),
            Done::CaReplaced { why } => write!(
                f,
                "fleet CA replaced ({why}); every certificate is reissued from the new one"
            ),
            Done::GrafanaPasswordGenerated => {
                write!(f, "Grafana admin password generated (Secret monitoring/grafana-admin)")
            }
            Done::DestinationTokensStored => write!(
                f,
                "destination tokens stored (Secret observability-hub/lkeobs-destinations)"
            ),
            Done::SecretRemoved { secret } => write!(f, "Secret {secret} removed (nothing uses it any more)"),
            Done::AlertSecretsStored => write!(
                f,
                "alert receivers' secrets stored (Secret monitoring/lkeobs-alertmanager)"
            ),
            Done::GatewayCredentialStored { secret } => write!(f, "gateway credential stored (Secret {secret})"),
            Done::EdgeCredentials { summary } => write!(f, "{summary}"),
            Done::ObjectStorage { change } => write!(f, "{}", change.describe()),
            Done::ObjectStorageKeyStored { secret } => {
                write!(f, "Object Storage key stored for the engines (Secret {secret})")
            }
        }
    }
}

/// What carrying out a cluster's plan on the Linode side changed, in the plan's order.
pub fn linode_records(plan: &ClusterPlan) -> Vec<Done> {
    if plan.action == Action::Create {
        return vec![Done::Created];
    }
    let mut out: Vec<Done> = plan
        .changes
        .iter()
        .map(|change| Done::ClusterChanged { change: change.clone() })
        .collect();
    out.extend(plan.acl.clone().map(|acl| Done::AclChanged { acl }));
    for p in &plan.pools {
        let pool = p.id.unwrap_or_default();
        out.extend(match p.action {
            Action::Create => Some(Done::PoolCreated {
                node_type: p.node_type.clone(),
                count: p.count,
            }),
            Action::Update => match p.change_lines().as_slice() {
                [_] if matches!(p.changes.as_slice(), [PoolChange::Count { .. }]) => match p.changes[0] {
                    PoolChange::Count { from, to } => Some(Done::PoolResized { pool, from, to }),
                    _ => None,
                },
                lines => Some(Done::PoolUpdated {
                    pool,
                    changes: lines.to_vec(),
                }),
            },
            Action::Replace => p.changes.iter().find_map(|c| match c {
                PoolChange::Type { from, to } => Some(Done::PoolReplaced {
                    pool,
                    from: from.clone(),
                    to: to.clone(),
                }),
                _ => None,
            }),
            Action::Delete => Some(Done::PoolDeleted {
                pool,
                node_type: p.node_type.clone(),
            }),
            Action::Adopt | Action::Unchanged => None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_serialize_by_kind_and_read_as_the_report_always_did() {
        let resized = Done::PoolResized {
            pool: 12,
            from: 2,
            to: 3,
        };
        assert_eq!(
            serde_json::to_value(&resized).unwrap(),
            serde_json::json!({"kind": "pool_resized", "pool": 12, "from": 2, "to": 3})
        );
        assert_eq!(resized.to_string(), "pool 12: count 2 → 3");
        assert_eq!(
            serde_json::to_value(Done::Created).unwrap(),
            serde_json::json!({"kind": "created"})
        );
        let replaced = Done::PoolReplaced {
            pool: 7,
            from: "g6-standard-2".into(),
            to: "g6-standard-4".into(),
        };
        assert_eq!(
            replaced.to_string(),
            "pool type g6-standard-2 → g6-standard-4 (new pool first, then the old one is deleted)"
        );
    }
}
