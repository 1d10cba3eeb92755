//! Regions and their capabilities.

use serde::{Deserialize, Serialize};

use super::client::Client;
use super::error::Result;
use super::request::ApiPath;

/// Capability strings (case- and space-sensitive).
pub mod capability {
    /// LKE is offered.
    pub const KUBERNETES: &str = "Kubernetes";
    /// LKE Enterprise is offered.
    pub const KUBERNETES_ENTERPRISE: &str = "Kubernetes Enterprise";
    /// GPU plans are offered.
    pub const GPU_LINODES: &str = "GPU Linodes";
    /// Cloud Firewalls are offered.
    pub const CLOUD_FIREWALL: &str = "Cloud Firewall";
    /// NodeBalancers are offered.
    pub const NODEBALANCERS: &str = "NodeBalancers";
    /// Block Storage volumes are offered.
    pub const BLOCK_STORAGE: &str = "Block Storage";
}

/// A region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    /// Region id, e.g. `us-ord`.
    pub id: String,
    /// Display label.
    #[serde(default)]
    pub label: String,
    /// Country code.
    #[serde(default)]
    pub country: String,
    /// Capability strings, see [`capability`].
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// `ok` or `outage`.
    #[serde(default)]
    pub status: String,
    /// `core` or `distributed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_type: Option<String>,
}

impl Region {
    /// Whether the region lists this capability.
    pub fn has_capability(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}

impl Client {
    /// Every region.
    pub async fn list_regions(&self) -> Result<Vec<Region>> {
        self.list(&ApiPath::new("/regions", &[]), None).await
    }

    /// One region.
    pub async fn get_region(&self, id: &str) -> Result<Region> {
        self.get(&ApiPath::new("/regions/{id}", &[&id])).await
    }
}

/// Whether a premium or GPU plan is sold in a region (`GET /regions/{id}/availability`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanAvailability {
    /// Region id.
    pub region: String,
    /// Linode type id.
    pub plan: String,
    /// Whether it can be bought there now.
    pub available: bool,
}

impl Client {
    /// Availability of the premium and GPU plans in one region (one unpaginated call: the answer is a
    /// plain array, not a page).
    pub async fn region_availability(&self, id: &str) -> Result<Vec<PlanAvailability>> {
        self.get(&ApiPath::new("/regions/{id}/availability", &[&id])).await
    }
}
