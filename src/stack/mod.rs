//! The embedded observability stack: templates under manifests/, pinned images, and per-cluster rendering (no I/O).

pub mod alertmanager;
pub mod context;
pub mod embedded;
pub mod footprint;
pub mod guard;
pub mod ha_context;
pub mod ha_sizing;
pub mod quote;
pub mod render;
pub mod secrets;
pub mod versions;

pub use context::{GpuRuntime, Inputs};
pub use footprint::{Claim, Footprint};
pub use ha_context::{Buckets, OBJECT_STORE_PLACEHOLDER, ObjectStoreInputs};
pub use render::{RenderedCluster, RenderedFile, Renderer};
