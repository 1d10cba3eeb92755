//! Cloud Firewalls: create (idempotently by label), get, list, update, delete; rules get/put;
//! devices list/create/delete.

use serde::{Deserialize, Serialize};

use super::client::Client;
use super::error::Result;
use super::filter::Filter;
use super::request::{ApiPath, Labelled};

/// `ACCEPT` or `DROP`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum FirewallAction {
    /// Let traffic through.
    Accept,
    /// Drop traffic.
    Drop,
}

/// A rule's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP.
    Icmp,
    /// IP-in-IP.
    Ipencap,
}

/// One inbound or outbound rule (first match wins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallRule {
    /// What to do with matching traffic.
    pub action: FirewallAction,
    /// Protocol.
    pub protocol: Protocol,
    /// e.g. `"4317,4318"`; TCP/UDP only; `None` means all ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<String>,
    /// Addresses in IP/mask form; at most 255 per rule.
    pub addresses: RuleAddresses,
    /// 3–32 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// 1–100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Addresses of a rule; a list that is sent must not be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleAddresses {
    /// IPv4 CIDRs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<Vec<String>>,
    /// IPv6 CIDRs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Vec<String>>,
}

/// The rule sets of a firewall, as sent (a PUT replaces both with exactly this).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallRules {
    /// Policy for inbound traffic no rule matches.
    pub inbound_policy: FirewallAction,
    /// Inbound rules (at most 25 rules in all).
    #[serde(default)]
    pub inbound: Vec<FirewallRule>,
    /// Policy for outbound traffic no rule matches.
    pub outbound_policy: FirewallAction,
    /// Outbound rules.
    #[serde(default)]
    pub outbound: Vec<FirewallRule>,
}

/// Rules as the API returns them, with their version and fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallRulesState {
    /// The rules.
    #[serde(flatten)]
    pub rules: FirewallRules,
    /// Increases at every change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// 8-hex hash of the rules: compare it to detect drift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// A Cloud Firewall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Firewall {
    /// Firewall id.
    pub id: u64,
    /// Unique label.
    pub label: String,
    /// `enabled`, `disabled` or `deleted`.
    #[serde(default)]
    pub status: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Current rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<FirewallRulesState>,
}

impl Labelled for Firewall {
    fn label(&self) -> &str {
        &self.label
    }
}

/// `POST /networking/firewalls` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateFirewall {
    /// Unique label: 3–32 of `[A-Za-z0-9-_.]`, starting with a letter, no `--`, `__`, `..`.
    pub label: String,
    /// Rules.
    pub rules: FirewallRules,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Devices to attach at creation. Newer API (not in spec 4.189); `None` by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub devices: Option<FirewallDevicesSpec>,
}

/// Devices to attach at creation (newer API).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FirewallDevicesSpec {
    /// Linode ids.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub linodes: Vec<u64>,
    /// NodeBalancer ids (one at most).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodebalancers: Vec<u64>,
}

/// `enabled` or `disabled`, for updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FirewallStatus {
    /// Enforce the rules.
    Enabled,
    /// Stop enforcing them.
    Disabled,
}

/// `PUT /networking/firewalls/{id}` body (rules and devices have their own calls).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UpdateFirewall {
    /// New label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Enable or disable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<FirewallStatus>,
    /// Replaces the tag list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// What a device is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceType {
    /// A Linode.
    Linode,
    /// A NodeBalancer.
    Nodebalancer,
}

/// `POST …/devices` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CreateFirewallDevice {
    /// The Linode or NodeBalancer id.
    pub id: u64,
    /// Which kind of entity `id` is.
    #[serde(rename = "type")]
    pub kind: DeviceType,
}

/// A device attached to a firewall. Its `id` is the device id, not the entity's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallDevice {
    /// Device id (for delete).
    pub id: u64,
    /// The attached entity.
    pub entity: DeviceEntity,
}

/// The entity behind a firewall device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceEntity {
    /// Linode or NodeBalancer id.
    pub id: u64,
    /// `linode`, `nodebalancer`, `linode_interface`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// Its label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl DeviceEntity {
    fn is(&self, id: u64, kind: DeviceType) -> bool {
        let kind = match kind {
            DeviceType::Linode => "linode",
            DeviceType::Nodebalancer => "nodebalancer",
        };
        self.id == id && self.kind == kind
    }
}

impl Client {
    /// Every firewall, optionally filtered (`label`, `tags`, `id`).
    pub async fn list_firewalls(&self, filter: Option<&Filter>) -> Result<Vec<Firewall>> {
        self.list(&ApiPath::new("/networking/firewalls", &[]), filter).await
    }

    /// One firewall.
    pub async fn get_firewall(&self, id: u64) -> Result<Firewall> {
        self.get(&ApiPath::new("/networking/firewalls/{id}", &[&id])).await
    }

    /// Creates a firewall (not repeated when the answer is lost: prefer
    /// [`Client::create_firewall_idempotent`]).
    pub async fn create_firewall(&self, request: &CreateFirewall) -> Result<Firewall> {
        self.create(&ApiPath::new("/networking/firewalls", &[]), request).await
    }

    /// Creates a firewall; if the answer was lost, looks it up by its unique label and
    /// returns it when found, else the original error.
    pub async fn create_firewall_idempotent(&self, request: &CreateFirewall) -> Result<Firewall> {
        let path = ApiPath::new("/networking/firewalls", &[]);
        self.create_or_lookup(&path, request, &request.label, || async {
            self.find_by_label(&path, &request.label).await
        })
        .await
    }

    /// Updates label, status or tags.
    pub async fn update_firewall(&self, id: u64, request: &UpdateFirewall) -> Result<Firewall> {
        self.put(&ApiPath::new("/networking/firewalls/{id}", &[&id]), request)
            .await
    }

    /// Detaches a firewall from everything and deletes it (already gone counts as done).
    pub async fn delete_firewall(&self, id: u64) -> Result<()> {
        self.delete(&ApiPath::new("/networking/firewalls/{id}", &[&id])).await
    }

    /// The current rules with version and fingerprint.
    pub async fn get_firewall_rules(&self, id: u64) -> Result<FirewallRulesState> {
        self.get(&ApiPath::new("/networking/firewalls/{id}/rules", &[&id]))
            .await
    }

    /// Replaces both rule sets with exactly `rules`.
    pub async fn put_firewall_rules(&self, id: u64, rules: &FirewallRules) -> Result<FirewallRulesState> {
        self.put(&ApiPath::new("/networking/firewalls/{id}/rules", &[&id]), rules)
            .await
    }

    /// The devices attached to a firewall.
    pub async fn list_firewall_devices(&self, id: u64) -> Result<Vec<FirewallDevice>> {
        self.list(&ApiPath::new("/networking/firewalls/{id}/devices", &[&id]), None)
            .await
    }

    /// Attaches a Linode or NodeBalancer; if the answer was lost, returns the device when the
    /// firewall lists it.
    pub async fn create_firewall_device(
        &self,
        firewall_id: u64,
        request: &CreateFirewallDevice,
    ) -> Result<FirewallDevice> {
        let path = ApiPath::new("/networking/firewalls/{id}/devices", &[&firewall_id]);
        let what = format!("device {} {:?}", request.id, request.kind);
        self.create_or_lookup(&path, request, &what, || async {
            let devices = self.list_firewall_devices(firewall_id).await?;
            Ok(devices.into_iter().find(|d| d.entity.is(request.id, request.kind)))
        })
        .await
    }

    /// Detaches a device, by device id (already gone counts as done).
    pub async fn delete_firewall_device(&self, firewall_id: u64, device_id: u64) -> Result<()> {
        let path = ApiPath::new("/networking/firewalls/{id}/devices/{id}", &[&firewall_id, &device_id]);
        self.delete(&path).await
    }
}
