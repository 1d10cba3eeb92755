//! Edits fleet-file text for `add-edge` and `remove-edge`: comments, blank lines and order are kept
//! byte-for-byte, and every result is validated with the fleet's own rules before it is returned.

mod doc;
mod write;

pub use write::write_fleet_file;

use std::path::PathBuf;

use super::diag::did_you_mean;
use super::validate::is_type_id;
use super::{FleetError, Located};

/// The node type of a new edge's pool when `--node-type` is not given.
pub const DEFAULT_NODE_TYPE: &str = "g6-standard-2";
/// The node count of a new edge's pool when `--count` is not given.
pub const DEFAULT_COUNT: u32 = 2;
/// The node count of a GPU pool when `--gpu TYPE` has no `:N`.
pub const DEFAULT_GPU_COUNT: u32 = 1;

/// Why a fleet file could not be edited.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// `--gpu TYPE[:N]` could not be read.
    #[error("--gpu {spec:?}: {reason}")]
    Gpu { spec: String, reason: String },
    /// The file was already invalid: nothing was edited (errors point into the original text).
    #[error("the fleet file must be valid before it is edited: {0}")]
    InvalidBefore(FleetError),
    /// The edit would make the file invalid (errors point into the edited text).
    #[error("the edit would make the fleet file invalid: {0}")]
    Invalid(FleetError),
    #[error("the fleet already has a cluster named `{name}`")]
    EdgeExists { name: String },
    #[error("the fleet has no edge named `{name}`{}", unknown_hint(.suggestion, .edges))]
    UnknownEdge {
        name: String,
        /// The closest existing edge name, if it looks like a typo of it.
        suggestion: Option<String>,
        /// Every edge in the file.
        edges: Vec<String>,
    },
    #[error("the hub cannot be removed: it stores the fleet's data (`lkeobs teardown` deletes the whole fleet)")]
    HubNotRemovable,
    /// The file is valid but written in a way this editor cannot change without reformatting it.
    #[error("cannot edit {file} automatically: {reason}; edit it by hand")]
    Unsupported { file: String, reason: String },
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn unknown_hint(suggestion: &Option<String>, edges: &[String]) -> String {
    match suggestion {
        Some(s) => format!("; did you mean `{s}`?"),
        None if edges.is_empty() => "; it has no edges".to_string(),
        None => format!("; its edges are: {}", edges.join(", ")),
    }
}

impl EditError {
    /// The located fleet-file errors (file:line:col, field), when the error is about the file's content.
    pub fn located(&self) -> &[Located] {
        match self {
            EditError::Invalid(FleetError::Invalid { errors, .. })
            | EditError::InvalidBefore(FleetError::Invalid { errors, .. }) => errors,
            _ => &[],
        }
    }

    /// Whether the error comes from the user's input (flags or file) rather than from the system.
    pub fn is_invalid_input(&self) -> bool {
        !matches!(self, EditError::Io { .. })
    }
}

/// A new `[edges.<name>]` member, as `add-edge` gets it from its flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEdge {
    name: String,
    region: String,
    node_type: String,
    count: u32,
    gpu: Option<(String, u32)>,
}

impl NewEdge {
    /// An edge in `region` with the defaults: named after the region, one pool of 2 × `g6-standard-2`, no GPU.
    pub fn new(region: impl Into<String>) -> Self {
        let region = region.into();
        NewEdge {
            name: region.clone(),
            region,
            node_type: DEFAULT_NODE_TYPE.to_string(),
            count: DEFAULT_COUNT,
            gpu: None,
        }
    }

    /// Builds an edge from `add-edge`'s optional flags, applying the defaults for those not given.
    pub fn from_flags(
        region: &str,
        name: Option<&str>,
        node_type: Option<&str>,
        count: Option<u32>,
        gpu: Option<&str>,
    ) -> Result<Self, EditError> {
        let mut edge = NewEdge::new(region);
        if let Some(name) = name {
            edge = edge.with_name(name);
        }
        if let Some(node_type) = node_type {
            edge = edge.with_node_type(node_type);
        }
        if let Some(count) = count {
            edge = edge.with_count(count);
        }
        if let Some(spec) = gpu {
            edge = edge.with_gpu_spec(spec)?;
        }
        Ok(edge)
    }

    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    pub fn with_node_type(mut self, node_type: impl Into<String>) -> Self {
        self.node_type = node_type.into();
        self
    }

    pub fn with_count(mut self, count: u32) -> Self {
        self.count = count;
        self
    }

    /// Adds a GPU pool of `count` nodes of `gpu_type`.
    pub fn with_gpu(mut self, gpu_type: impl Into<String>, count: u32) -> Self {
        self.gpu = Some((gpu_type.into(), count));
        self
    }

    /// Adds a GPU pool from `--gpu TYPE[:N]`.
    pub fn with_gpu_spec(self, spec: &str) -> Result<Self, EditError> {
        let (gpu_type, count) = parse_gpu(spec)?;
        Ok(self.with_gpu(gpu_type, count))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn node_type(&self) -> &str {
        &self.node_type
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    pub fn gpu(&self) -> Option<(&str, u32)> {
        self.gpu.as_ref().map(|(t, n)| (t.as_str(), *n))
    }
}

/// Reads `--gpu TYPE[:N]` (`g2-gpu-rtx4000a1-s:2`); `N` defaults to 1.
pub fn parse_gpu(spec: &str) -> Result<(String, u32), EditError> {
    let fail = |reason: String| EditError::Gpu {
        spec: spec.to_string(),
        reason,
    };
    let (gpu_type, count) = match spec.split_once(':') {
        Some((t, n)) => (t, Some(n)),
        None => (spec, None),
    };
    if gpu_type.is_empty() {
        return Err(fail(
            "missing the plan type; write e.g. g2-gpu-rtx4000a1-s:2".to_string(),
        ));
    }
    if !is_type_id(gpu_type) {
        return Err(fail(format!(
            "`{gpu_type}` is not a Linode type id (like g2-gpu-rtx4000a1-s)"
        )));
    }
    if !gpu_type.split('-').any(|part| part == "gpu") {
        return Err(fail(format!(
            "`{gpu_type}` is not a GPU plan (GPU plan ids contain `gpu`, like g2-gpu-rtx4000a1-s)"
        )));
    }
    let count = match count {
        None => DEFAULT_GPU_COUNT,
        Some("") => return Err(fail("missing the node count after `:`".to_string())),
        Some(n) => n
            .parse::<u32>()
            .map_err(|_| fail(format!("`{n}` is not a whole number of nodes")))?,
    };
    if count == 0 {
        return Err(fail("a GPU pool needs at least 1 node".to_string()));
    }
    Ok((gpu_type.to_string(), count))
}

/// Adds `[edges.<name>]` after the last edge (or after `[hub]`), leaving every other byte as it was.
///
/// `file` names the text in errors. The result is checked with [`crate::fleet::parse`]; if it would be invalid
/// (a name too long for the LKE label, a bad region id, ...) the fleet's own located errors are returned.
pub fn add_edge(text: &str, file: &str, edge: &NewEdge) -> Result<String, EditError> {
    let before = super::parse(file, text).map_err(EditError::InvalidBefore)?;
    if before.fleet.cluster(&edge.name).is_some() {
        return Err(EditError::EdgeExists {
            name: edge.name.clone(),
        });
    }
    let mut editor = doc::Editor::open(text, file)?;
    editor.add_edge(edge)?;
    let out = editor.finish();
    let after = super::parse(file, &out).map_err(EditError::Invalid)?;
    if after.fleet.edges.iter().all(|c| c.name.get_ref() != &edge.name) {
        return Err(editor.unsupported("the new edge did not come out under [edges]"));
    }
    Ok(out)
}

/// Removes `[edges.<name>]` with the comments directly above its header, leaving every other byte as it was.
///
/// Comments separated from the header by a blank line (a banner over a group of edges) are kept. The result is
/// checked with [`crate::fleet::parse`] like [`add_edge`]'s.
pub fn remove_edge(text: &str, file: &str, name: &str) -> Result<String, EditError> {
    if name == "hub" {
        return Err(EditError::HubNotRemovable);
    }
    let before = super::parse(file, text).map_err(EditError::InvalidBefore)?;
    let edges: Vec<&str> = before.fleet.edges.iter().map(|c| c.name.get_ref().as_str()).collect();
    if !edges.contains(&name) {
        return Err(EditError::UnknownEdge {
            name: name.to_string(),
            suggestion: did_you_mean(name, &edges).map(str::to_string),
            edges: edges.iter().map(|e| e.to_string()).collect(),
        });
    }
    let mut editor = doc::Editor::open(text, file)?;
    editor.remove_edge(name)?;
    let out = editor.finish();
    super::parse(file, &out).map_err(EditError::Invalid)?;
    Ok(out)
}

#[cfg(test)]
mod tests;
