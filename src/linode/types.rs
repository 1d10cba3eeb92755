//! Linode (node) types: plans with their CPUs, memory and GPUs.

use serde::{Deserialize, Serialize};

use super::client::Client;
use super::error::Result;
use super::filter::Filter;
use super::request::ApiPath;

/// A Linode type (plan).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinodeType {
    /// Type id, e.g. `g6-standard-2`.
    pub id: String,
    /// Display label.
    #[serde(default)]
    pub label: String,
    /// `nanode`, `standard`, `dedicated`, `premium`, `gpu`, `highmem`, …
    #[serde(default)]
    pub class: String,
    /// GPUs.
    #[serde(default)]
    pub gpus: u32,
    /// Virtual CPUs.
    #[serde(default)]
    pub vcpus: u32,
    /// Memory in MB.
    #[serde(default)]
    pub memory: u64,
    /// Disk in MB.
    #[serde(default)]
    pub disk: u64,
    /// Outbound bandwidth in Mbits.
    #[serde(default)]
    pub network_out: u64,
    /// Monthly transfer in GB.
    #[serde(default)]
    pub transfer: u64,
    /// Base price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Price>,
    /// Prices of the regions priced differently from `price`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub region_prices: Vec<RegionPrice>,
    /// The type that replaces this one, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successor: Option<String>,
}

/// Hourly and monthly price in US dollars.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Price {
    /// Per hour.
    #[serde(default)]
    pub hourly: f64,
    /// Per month.
    #[serde(default)]
    pub monthly: f64,
}

/// The price of one region that differs from the base price (`region_prices[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionPrice {
    /// Region id, e.g. `id-cgk`.
    pub id: String,
    /// Per hour.
    #[serde(default)]
    pub hourly: f64,
    /// Per month.
    #[serde(default)]
    pub monthly: f64,
}

impl Client {
    /// Every Linode type, optionally filtered (e.g. `Filter::eq("class", "gpu")`).
    pub async fn list_linode_types(&self, filter: Option<&Filter>) -> Result<Vec<LinodeType>> {
        self.list(&ApiPath::new("/linode/types", &[]), filter).await
    }

    /// One Linode type.
    pub async fn get_linode_type(&self, id: &str) -> Result<LinodeType> {
        self.get(&ApiPath::new("/linode/types/{id}", &[&id])).await
    }
}
