//! lkeobs: stand up, grow, check and tear down a federated observability fleet on Linode Kubernetes Engine.
//!
//! Layers point down, and no arrow points sideways or up:
//! - `main`, `run` (the process: printer, context, errors, exit codes), `demo`, `dispatch` (one command,
//!   its report printed once), `signal` (Ctrl-C / SIGTERM), `cli` (clap only), `error`;
//! - `commands`: one thin entry point per command, returning a typed `ui::Report`;
//! - `ops`: the shared layer under the commands (context, discovery, comparison, convergence, sweeping,
//!   certificates, edge credentials, the gateway firewall, verification rounds);
//! - `plan` (the plan as data), `probes` (verification), `ui` (printer, progress, plan text, reports);
//! - `stack` (templates, rendering, no I/O), `k8s` (one cluster's Kubernetes API), `linode` (the Linode
//!   API), `objstore` (S3 on Linode Object Storage: owner marker, emptying buckets), `pki` (certificates,
//!   pure), `kubeconfig` (files);
//! - at the bottom: `fleet` (the fleet file), `objects` (well-known Kubernetes objects and labels),
//!   `naming` (Linode labels and tags), `firewall` (gateway firewall rules), `net`, `tls`, `ci`, `text`
//!   (terminal-safe text), `poll` (one deadline-bounded poll), `clock` (RFC 3339 times).
#![forbid(unsafe_code)]

pub mod ci;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod demo;
pub mod dispatch;
pub mod error;
pub mod firewall;
pub mod fleet;
pub mod k8s;
pub mod kubeconfig;
pub mod linode;
pub mod naming;
pub mod net;
pub mod objects;
pub mod objstore;
pub mod ops;
pub mod pki;
pub mod plan;
pub mod poll;
pub mod probes;
pub mod run;
pub mod signal;
pub mod sim;
pub mod stack;
pub mod text;
pub mod tls;
pub mod ui;

pub use error::{Error, Result};
