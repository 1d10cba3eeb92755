//! Linode instances and their IP addresses (node → public IPv4).

use serde::{Deserialize, Serialize};

use super::client::Client;
use super::error::Result;
use super::filter::Filter;
use super::request::ApiPath;

/// A Linode instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    /// Linode id.
    pub id: u64,
    /// Label (LKE nodes: `lke<cluster>-<pool>-<hex>`).
    #[serde(default)]
    pub label: String,
    /// Region id.
    #[serde(default)]
    pub region: String,
    /// Linode type id.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub linode_type: Option<String>,
    /// `running`, `provisioning`, `deleting`, …
    #[serde(default)]
    pub status: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Public and private IPv4 mixed; prefer [`Client::instance_ips`].
    #[serde(default)]
    pub ipv4: Vec<String>,
    /// The LKE cluster this node belongs to (newer API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lke_cluster_id: Option<u64>,
}

/// `GET /linode/instances/{id}/ips`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceIps {
    /// IPv4 addresses by kind.
    #[serde(default)]
    pub ipv4: Ipv4Addresses,
}

/// IPv4 addresses of an instance, split by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ipv4Addresses {
    /// Public addresses.
    #[serde(default)]
    pub public: Vec<IpAddress>,
    /// Private (192.168.x.x) addresses.
    #[serde(default)]
    pub private: Vec<IpAddress>,
}

/// One address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpAddress {
    /// The address.
    pub address: String,
    /// Prefix length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<u8>,
    /// Whether it is public.
    #[serde(default)]
    pub public: bool,
}

impl InstanceIps {
    /// The public IPv4 addresses.
    pub fn public_ipv4(&self) -> Vec<String> {
        self.ipv4.public.iter().map(|ip| ip.address.clone()).collect()
    }
}

impl Client {
    /// Every Linode, optionally filtered (`label`, `region`, `tags`, `ipv4`, `id`).
    pub async fn list_instances(&self, filter: Option<&Filter>) -> Result<Vec<Instance>> {
        self.list(&ApiPath::new("/linode/instances", &[]), filter).await
    }

    /// One Linode.
    pub async fn get_instance(&self, id: u64) -> Result<Instance> {
        self.get(&ApiPath::new("/linode/instances/{id}", &[&id])).await
    }

    /// A Linode's addresses; [`InstanceIps::public_ipv4`] gives the public IPv4 ones.
    pub async fn instance_ips(&self, id: u64) -> Result<InstanceIps> {
        self.get(&ApiPath::new("/linode/instances/{id}/ips", &[&id])).await
    }
}
