//! The simulated Linode account's catalogue: regions and their capabilities, Linode types with their
//! prices (base and per region), the account's capabilities, and GPU availability.

use serde_json::{Value, json};

/// Capabilities a real account lists (`GET /account`), HA control planes and the ACL among them.
pub const ACCOUNT_CAPABILITIES: &[&str] = &[
    "Linodes",
    "NodeBalancers",
    "Block Storage",
    "Object Storage",
    "Kubernetes",
    "Cloud Firewall",
    "Vlans",
    "VPCs",
    "Placement Group",
    "LKE HA Control Planes",
    "LKE Network Access Control List (IP ACL)",
];

/// What a real core region lists (as in linode/ansible_linode's sample answer): never `LKE HA Control
/// Planes` or `LKE Network Access Control List (IP ACL)`, which are account capabilities.
pub fn core_region_capabilities(gpu: bool) -> Vec<&'static str> {
    let mut caps = vec![
        "Linodes",
        "Backups",
        "NodeBalancers",
        "Block Storage",
        "Object Storage",
        "Kubernetes",
        "Cloud Firewall",
        "Vlans",
        "VPCs",
        "Metadata",
        "Premium Plans",
        "Placement Group",
    ];
    if gpu {
        caps.push("GPU Linodes");
    }
    caps
}

/// Regions the fake prices above the base price, 20% up. The real API lists `region_prices` for a few
/// regions (id-cgk and br-gru, 20% above base, in linode/ansible_linode's sample answers); the fake adds
/// us-ord and sg-sin-2 so the example fleets are priced by both rules (us-east and eu-west stay at base).
pub const PRICED_REGIONS: [&str; 4] = ["id-cgk", "br-gru", "us-ord", "sg-sin-2"];

/// `region_prices` for [`PRICED_REGIONS`]: 1.2 × the base monthly price (hourly: monthly / 730).
pub fn priced_regions(monthly: f64) -> Value {
    let up = (monthly * 1.2 * 10000.0).round() / 10000.0;
    Value::Array(
        PRICED_REGIONS
            .iter()
            .map(|r| json!({"id": r, "hourly": (up / 730.0 * 100000.0).round() / 100000.0, "monthly": up}))
            .collect(),
    )
}

/// An entry of `/lke/types`, `/nodebalancers/types` or `/volumes/types` with [`priced_regions`].
pub fn priced(id: &str, label: &str, monthly: f64) -> Value {
    json!({"id": id, "label": label, "transfer": 0,
           "price": {"hourly": (monthly / 730.0 * 100000.0).round() / 100000.0, "monthly": monthly},
           "region_prices": priced_regions(monthly)})
}

/// A Linode type object as `GET /linode/types` answers it, priced at `monthly` (plus [`priced_regions`]).
pub fn linode_type(id: &str, class: &str, vcpus: u32, memory: u64, gpus: u32, monthly: f64) -> Value {
    json!({"id": id, "label": id, "class": class, "vcpus": vcpus, "memory": memory,
           "gpus": gpus, "disk": memory * 20, "network_out": 4000, "transfer": 4000,
           "price": {"hourly": (monthly / 730.0 * 100000.0).round() / 100000.0, "monthly": monthly},
           "region_prices": priced_regions(monthly), "successor": null})
}

/// A region object as `GET /regions` answers it.
pub fn region(id: &str, country: &str, caps: &[&str]) -> Value {
    json!({"id": id, "label": id, "country": country, "capabilities": caps,
           "status": "ok", "site_type": "core"})
}

/// Core regions in country `us`, each `(id, sells GPU Linodes)`, with the capabilities real regions list.
pub fn us_regions(regions: &[(&str, bool)]) -> Vec<Value> {
    regions
        .iter()
        .map(|(r, gpu)| region(r, "us", &core_region_capabilities(*gpu)))
        .collect()
}

/// The regions the example fleets use (`fleet/*.toml`), with GPU Linodes sold in sg-sin-2.
pub const EXAMPLE_REGIONS: [(&str, bool); 4] = [
    ("us-ord", false),
    ("us-east", false),
    ("eu-west", false),
    ("sg-sin-2", true),
];

/// An availability entry as `GET /regions/{id}/availability` answers it.
pub fn sells(region: &str, plan: &str, available: bool) -> Value {
    json!({"region": region, "plan": plan, "available": available})
}

impl super::linode::State {
    /// The account `lkeobs sim` serves: accepting `token`, the example fleets' regions (GPU Linodes in
    /// sg-sin-2 and de-fra-2), the seeded plans, Kubernetes 1.32 to 1.34, ids starting at a number
    /// derived from `seed` (so two seeds never hand out the same ids, and one seed always the same).
    pub fn simulated(token: &str, seed: u64) -> Self {
        let mut state = Self::seeded();
        state.token = token.to_string();
        state.regions = EXAMPLE_REGIONS
            .iter()
            .chain(&[("de-fra-2", true)])
            .map(|(id, gpu)| {
                let country = match *id {
                    "eu-west" => "gb",
                    "sg-sin-2" => "sg",
                    "de-fra-2" => "de",
                    _ => "us",
                };
                region(id, country, &core_region_capabilities(*gpu))
            })
            .collect();
        state.availability = vec![
            sells("sg-sin-2", "g2-gpu-rtx4000a1-s", true),
            sells("de-fra-2", "g2-gpu-rtx4000a1-s", true),
        ];
        state.versions = vec!["1.32".into(), "1.33".into(), "1.34".into()];
        state.object_storage = super::object_storage::ObjectStorage::seeded(&state.regions, seed);
        state.next_id = 1000 + (seed % 1000) * 1000;
        state.seq = seed % 100;
        state
    }
}
