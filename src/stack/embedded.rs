//! The manifest templates compiled into the binary, and which clusters get which folder.

include!(concat!(env!("OUT_DIR"), "/templates.rs"));

/// Which clusters a template folder is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every cluster.
    Common,
    /// The hub only.
    Hub,
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
            Scope::Gpu => "gpu",
            Scope::MetricsServer => "metrics-server",
        };
        format!("{folder}/{}", self.name)
    }
}

/// Every embedded template, in apply order.
pub fn templates() -> impl Iterator<Item = Template> {
    TEMPLATES.iter().filter_map(|(folder, name, source)| {
        let scope = match *folder {
            "common" => Scope::Common,
            "hub" => Scope::Hub,
            "gpu" => Scope::Gpu,
            "metrics-server" => Scope::MetricsServer,
            _ => return None,
        };
        Some(Template { scope, name, source })
    })
}
