//! The manifest templates compiled into the binary, and which clusters get which folder.

include!(concat!(env!("OUT_DIR"), "/templates.rs"));

/// Which clusters a template folder is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every cluster.
    Common,
    /// The hub only.
    Hub,
    /// An `ha` hub only: replaces the hub files of the same number ([`HA_REPLACES`]).
    HubHa,
    /// Clusters with a GPU pool.
    Gpu,
    /// Clusters that run a HorizontalPodAutoscaler and have no metrics API but ours.
    MetricsServer,
}

/// One embedded template.
#[derive(Debug, Clone, Copy)]
pub struct Template {
    pub scope: Scope,
    /// `NN-<component>.yaml`.
    pub name: &'static str,
    pub source: &'static str,
}

impl Template {
    /// The template's path relative to `manifests/`.
    pub fn path(&self) -> String {
        let folder = match self.scope {
            Scope::Common => "common",
            Scope::Hub => "hub",
            Scope::HubHa => "hub-ha",
            Scope::Gpu => "gpu",
            Scope::MetricsServer => "metrics-server",
        };
        format!("{folder}/{}", self.name)
    }
}

/// The hub files an `ha` hub renders manifests/hub-ha/ instead of (Prometheus, Loki, Tempo on PVCs).
pub const HA_REPLACES: [&str; 3] = ["20-prometheus.yaml", "21-loki.yaml", "22-tempo.yaml"];

/// Every embedded template, in apply order.
pub fn templates() -> impl Iterator<Item = Template> {
    TEMPLATES.iter().filter_map(|(folder, name, source)| {
        let scope = match *folder {
            "common" => Scope::Common,
            "hub" => Scope::Hub,
            "hub-ha" => Scope::HubHa,
            "gpu" => Scope::Gpu,
            "metrics-server" => Scope::MetricsServer,
            _ => return None,
        };
        Some(Template { scope, name, source })
    })
}
