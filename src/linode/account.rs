//! The account: which capabilities it has (HA control planes and the control-plane ACL are account
//! capabilities, not region ones).

use serde::{Deserialize, Serialize};

use super::client::Client;
use super::error::Result;
use super::request::ApiPath;

/// Account capability strings (case- and space-sensitive).
pub mod account_capability {
    /// LKE clusters may have a highly available control plane.
    pub const LKE_HA_CONTROL_PLANES: &str = "LKE HA Control Planes";
    /// LKE clusters may have a control-plane IP ACL.
    pub const LKE_CONTROL_PLANE_ACL: &str = "LKE Network Access Control List (IP ACL)";
}

/// The parts of `GET /account` lkeobs reads (never the contact or billing fields).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Capability strings, see [`account_capability`].
    #[serde(default)]
    pub capabilities: Vec<String>,
}

impl Account {
    /// Whether the account lists this capability.
    pub fn has_capability(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}

impl Client {
    /// The account's capabilities.
    pub async fn get_account(&self) -> Result<Account> {
        self.get(&ApiPath::new("/account", &[])).await
    }
}
