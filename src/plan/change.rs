//! The changes an existing cluster or pool needs, as data: `up` executes them by variant and `ui`
//! renders them; serialized as their text so the JSON plan reads the same as the text plan.

use serde::{Serialize, Serializer};

/// One change of an existing cluster's Linode settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterChange {
    /// The control plane moves up to the fleet's Kubernetes minor version.
    Version { from: String, to: String },
    /// The HA control plane turns on (it never turns off).
    HighAvailabilityOn,
    /// Tags the cluster lacks; tags are only ever added.
    TagsAdded(Vec<String>),
}

impl ClusterChange {
    /// The change in words, e.g. `k8s_version 1.32 → 1.33 (nodes take it when recycled)`.
    pub fn describe(&self) -> String {
        match self {
            ClusterChange::Version { from, to } => {
                format!("k8s_version {from} → {to} (nodes take it when recycled)")
            }
            ClusterChange::HighAvailabilityOn => {
                "high availability control plane: off → on (cannot be undone; recycles the nodes)".into()
            }
            ClusterChange::TagsAdded(tags) => format!("tags + {}", tags.join(", ")),
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
        };
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            "k8s_version 1.32 → 1.33 (nodes take it when recycled)"
        );
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
