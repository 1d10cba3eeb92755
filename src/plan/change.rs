//! The changes an existing cluster or pool needs, as data: `up` executes them by variant and `ui`
//! renders them; serialized as their text so the JSON plan reads the same as the text plan.

use serde::{Serialize, Serializer};

/// One change of an existing cluster's Linode settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterChange {
    /// The control plane moves up to the fleet's Kubernetes minor version, then the nodes of these pools
    /// (described) are replaced by nodes of the new version.
    Version {
        from: String,
        to: String,
        recycled: Vec<String>,
    },
    /// An upgrade to `to` that stopped before its end (the cluster carries its tag): nodes still on an
    /// older version are replaced, then the cluster is verified.
    FinishUpgrade { to: String, recycled: Vec<String> },
    /// The HA control plane turns on (it never turns off).
    HighAvailabilityOn,
    /// Tags the cluster lacks; tags are only ever added.
    TagsAdded(Vec<String>),
}

fn pools(recycled: &[String]) -> String {
    if recycled.is_empty() {
        "its nodes".into()
    } else {
        recycled.join(", ")
    }
}

impl ClusterChange {
    /// The change in words, e.g. `control plane 1.32 → 1.33, then nodes replaced (new ones Ready before
    /// old ones go): pool 12 (g6-standard-2 × 2)`.
    pub fn describe(&self) -> String {
        match self {
            ClusterChange::Version { from, to, recycled } => format!(
                "control plane {from} → {to}, then nodes replaced (new ones Ready before old ones go): {}",
                pools(recycled)
            ),
            ClusterChange::FinishUpgrade { to, recycled } => format!(
                "upgrade to {to} unfinished: nodes still on an older version are replaced ({}), then verified",
                pools(recycled)
            ),
            ClusterChange::HighAvailabilityOn => {
                "high availability control plane: off → on (cannot be undone; recycles the nodes)".into()
            }
            ClusterChange::TagsAdded(tags) => format!("tags + {}", tags.join(", ")),
        }
    }

    /// Whether this change is a Kubernetes upgrade (started or to finish), and to which version.
    pub fn upgrade_to(&self) -> Option<&str> {
        match self {
            ClusterChange::Version { to, .. } | ClusterChange::FinishUpgrade { to, .. } => Some(to),
            _ => None,
        }
    }
}

/// One change of an existing pool besides its labels and taints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolChange {
    /// The autoscaler's bounds (`None`: off).
    Autoscale {
        from: Option<(u32, u32)>,
        to: Option<(u32, u32)>,
    },
    /// The node count (only without the autoscaler).
    Count { from: u32, to: u32 },
    /// A new type: the new pool is created first, the old one deleted once its nodes are Ready.
    Type { from: String, to: String },
}

impl PoolChange {
    /// The change in words, e.g. `count 2 → 3`.
    pub fn describe(&self) -> String {
        let bounds = |b: &Option<(u32, u32)>| match b {
            Some((min, max)) => format!("{min}–{max}"),
            None => "off".into(),
        };
        match self {
            PoolChange::Autoscale { from, to } => format!("autoscale {} → {}", bounds(from), bounds(to)),
            PoolChange::Count { from, to } => format!("count {from} → {to}"),
            PoolChange::Type { from, to } => {
                format!("type {from} → {to} (new pool first, then the old one is deleted)")
            }
        }
    }
}

impl Serialize for ClusterChange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.describe())
    }
}

impl Serialize for PoolChange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_as_before_and_serialize_as_their_text() {
        let c = ClusterChange::Version {
            from: "1.32".into(),
            to: "1.33".into(),
            recycled: vec!["pool 12 (g6-standard-2 × 2)".into()],
        };
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            "control plane 1.32 → 1.33, then nodes replaced (new ones Ready before old ones go): pool 12 (g6-standard-2 × 2)"
        );
        assert_eq!(c.upgrade_to(), Some("1.33"));
        assert_eq!(ClusterChange::HighAvailabilityOn.upgrade_to(), None);
        let p = PoolChange::Autoscale {
            from: Some((2, 4)),
            to: None,
        };
        assert_eq!(p.describe(), "autoscale 2–4 → off");
        assert_eq!(
            ClusterChange::TagsAdded(vec!["a".into(), "b".into()]).describe(),
            "tags + a, b"
        );
    }
}
