//! NodeBalancers: list, get, delete (cleaning up what the cloud controller leaves behind).

use serde::{Deserialize, Serialize};

use super::client::Client;
use super::error::Result;
use super::filter::Filter;
use super::request::ApiPath;

/// A NodeBalancer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeBalancer {
    /// NodeBalancer id.
    pub id: u64,
    /// Label (the cloud controller's default: `ccm-<hex>`).
    #[serde(default)]
    pub label: String,
    /// Region id.
    #[serde(default)]
    pub region: String,
    /// Hostname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Public IPv4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<String>,
    /// Public IPv6.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<String>,
    /// Tags (the cloud controller rewrites them at every sync).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The LKE cluster that owns it (newer API; not filterable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lke_cluster: Option<EntityRef>,
}

/// A reference to another object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityRef {
    /// Its id.
    pub id: u64,
    /// Its label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Its type, e.g. `lkecluster`, `linode`, `nodebalancer`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Its API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Client {
    /// Every NodeBalancer, optionally filtered (`label`, `region`, `ipv4`, `tags`).
    pub async fn list_nodebalancers(&self, filter: Option<&Filter>) -> Result<Vec<NodeBalancer>> {
        self.list(&ApiPath::new("/nodebalancers", &[]), filter).await
    }

    /// One NodeBalancer.
    pub async fn get_nodebalancer(&self, id: u64) -> Result<NodeBalancer> {
        self.get(&ApiPath::new("/nodebalancers/{id}", &[&id])).await
    }

    /// Deletes a NodeBalancer with its configs (already gone counts as done).
    pub async fn delete_nodebalancer(&self, id: u64) -> Result<()> {
        self.delete(&ApiPath::new("/nodebalancers/{id}", &[&id])).await
    }
}
