//! The fleet file: typed spec, span-keeping loader, validation rules and diagnostics (docs/fleet-file.md).

pub mod alert_secrets;
pub mod alerts;
pub mod destination;
pub mod diag;
pub mod duration;
pub mod edit;
pub mod hub_mode;
mod load;
mod load_alerts;
pub mod node_meta;
pub mod policy;
pub mod preflight;
mod reader;
pub mod spec;
pub mod trust;
pub mod untrusted;
pub mod validate;
pub mod validate_alerts;
mod validate_destination;
pub mod warnings;

use std::path::{Path, PathBuf};

pub use destination::{DestinationKind, OtlpProtocol, Signal};
pub use diag::{Diag, Located};
pub use hub_mode::{EngineResources, HaEngine, HaRetention, HubHa, HubMode};
pub use spec::{Cluster, Destination, Fleet, NodeLabel, NodeTaint, Pool, Role};

/// Why a fleet file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("cannot read fleet file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {} error{} in the fleet file", .errors.len(), if .errors.len() == 1 { "" } else { "s" })]
    Invalid { file: String, errors: Vec<Located> },
}

/// A fleet file that passed every offline check, with its source kept for later diagnostics.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub file: String,
    pub source: String,
    pub fleet: Fleet,
}

impl Loaded {
    /// The fleet-file error for these diagnostics (each resolved to its line).
    pub fn invalid(&self, diags: &[Diag]) -> FleetError {
        FleetError::Invalid {
            file: self.file.clone(),
            errors: diags.iter().map(|d| self.locate(d)).collect(),
        }
    }

    /// Resolves a span-carrying diagnostic (e.g. from the online preflight) against this file.
    pub fn locate(&self, diag: &Diag) -> Located {
        Located::resolve(&self.file, &self.source, diag)
    }
}

/// Reads and checks a fleet file.
pub fn load(path: &Path) -> Result<Loaded, FleetError> {
    let source = std::fs::read_to_string(path).map_err(|source| FleetError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&path.display().to_string(), &source)
}

/// Parses and checks fleet-file text; `file` names it in errors.
pub fn parse(file: &str, source: &str) -> Result<Loaded, FleetError> {
    let (fleet, mut diags) = load::parse(source);
    if let Some(f) = &fleet {
        let structural: Vec<String> = diags.iter().map(|d| d.field.clone()).collect();
        // A key (or table) already reported as malformed or missing is not reported again by a rule.
        diags.extend(validate::validate(f).into_iter().filter(|d| {
            !structural
                .iter()
                .any(|s| d.field == *s || d.field.starts_with(&format!("{s}.")))
        }));
    }
    diags.sort_by_key(|d| (d.span.start, d.span.end));
    match fleet {
        Some(fleet) if diags.is_empty() => Ok(Loaded {
            file: file.to_string(),
            source: source.to_string(),
            fleet,
        }),
        _ => Err(FleetError::Invalid {
            file: file.to_string(),
            errors: diags.iter().map(|d| Located::resolve(file, source, d)).collect(),
        }),
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_alerts;
#[cfg(test)]
mod tests_destinations;
#[cfg(test)]
mod tests_hub_mode;
#[cfg(test)]
mod tests_node_meta;
