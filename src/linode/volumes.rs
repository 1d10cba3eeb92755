//! Block Storage volumes: list and delete (PVC leftovers).

use serde::{Deserialize, Serialize};

use super::client::Client;
use super::error::Result;
use super::filter::Filter;
use super::request::ApiPath;

/// A volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    /// Volume id.
    pub id: u64,
    /// Label (CSI volumes: the PV name, `pvc-…`).
    #[serde(default)]
    pub label: String,
    /// `creating`, `active`, `resizing`, `key_rotating`.
    #[serde(default)]
    pub status: String,
    /// Size in GB.
    #[serde(default)]
    pub size: u64,
    /// Region id.
    #[serde(default)]
    pub region: String,
    /// The Linode it is attached to.
    #[serde(default)]
    pub linode_id: Option<u64>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl Client {
    /// Every volume, optionally filtered (`label`, `tags`).
    pub async fn list_volumes(&self, filter: Option<&Filter>) -> Result<Vec<Volume>> {
        self.list(&ApiPath::new("/volumes", &[]), filter).await
    }

    /// Deletes a volume (already gone counts as done).
    pub async fn delete_volume(&self, id: u64) -> Result<()> {
        self.delete(&ApiPath::new("/volumes/{id}", &[&id])).await
    }
}
