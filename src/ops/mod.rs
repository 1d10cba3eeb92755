//! The shared layer under the commands (as in cargo's `ops`): one module per command (`ops::<name>::run`),
//! the run's context ([`Ctx`]) and the services several commands use: planning, discovery, comparison,
//! the fleet's cost, connecting to clusters, edge credentials, the gateway firewall, convergence, deleting
//! what a fleet owns, verification rounds.

pub mod add_edge;
pub mod alerts;
pub mod compare;
pub mod connect;
pub mod converge;
pub mod cost;
mod ctx;
pub mod discover;
pub mod edge_auth;
pub mod environment;
pub mod gateway_firewall;
pub mod gpu_runtime;
pub mod hub_plan;
pub mod hub_storage;
pub mod kubeconfig;
pub mod live_stack;
pub mod loadtest;
pub mod plan;
pub mod reap;
pub mod remove_edge;
pub mod render;
pub mod rounds;
pub mod status;
pub mod sweep;
pub mod teardown;
pub mod validate;
pub mod verify;

/// How many clusters a command reads or compares at once (`status`, `plan`'s comparison, probes, sweeps):
/// bounded, so a fleet of hundreds of edges neither runs them one by one nor opens hundreds of connections.
pub const FAN_OUT: usize = 8;

pub use ctx::{Ctx, LinodeAccess, Paths, Trust, linode_access_from_env};
