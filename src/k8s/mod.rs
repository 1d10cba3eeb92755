//! Talking to one LKE cluster's Kubernetes API: a client from an in-memory kubeconfig, server-side
//! apply in dependency order, dry run and prune for `plan`, deadline-bounded waits, teardown
//! deletes, HTTP to a Service through port-forward and the Secrets `up` creates; objects whose
//! immutable fields change are replaced ([`replace`]).
//!
//! Named `k8s`, not `kube`: a local `kube` module would shadow the crate in `use` paths.
//!
//! `plan` calls [`K8s::dry_run`] for what would be created or changed and [`K8s::list_stale`] for
//! what `up` would prune; `up` calls [`K8s::apply`], [`K8s::prune`], then the waits.

pub mod api_server;
pub mod apply;
pub mod budgets;
pub mod client;
mod config_maps;
pub mod delete;
pub mod drain;
pub mod dry_run;
pub mod error;
pub mod forward;
pub mod manifest;
pub mod metrics_api;
pub mod nodes;
mod pods;
pub mod prune;
pub mod replace;
mod resolve;
pub mod restart;
pub mod secrets;
pub mod wait;

pub use apply::{Applied, ApplyOutcome, FIELD_MANAGER};
pub use client::K8s;
pub use dry_run::{Change, Planned};
pub use error::{K8sError, Result};
pub use forward::Forwarded;
pub use manifest::{Manifest, Manifests};
pub use prune::PRUNED_KINDS;
pub use replace::Replacement;
pub use secrets::{OPAQUE, SecretMode, SecretOutcome, TLS};
pub use wait::rollout::{Rollout, Workload, WorkloadKind};
