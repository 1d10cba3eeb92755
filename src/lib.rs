//! lkeobs: stand up, grow, check and tear down a federated observability fleet on Linode Kubernetes Engine.
//!
//! Layers point down: `cli` → `ops` → {`linode`, `stack`, `plan`} → `fleet`, `naming`.
#![forbid(unsafe_code)]

pub mod ci;
pub mod cli;
pub mod commands;
pub mod error;
pub mod firewall;
pub mod fleet;
pub mod k8s;
pub mod kubeconfig;
pub mod linode;
pub mod naming;
pub mod net;
pub mod objects;
pub mod ops;
pub mod pki;
pub mod plan;
pub mod probes;
pub mod run;
pub mod stack;
pub mod tls;
pub mod ui;

pub use error::{Error, Result};
