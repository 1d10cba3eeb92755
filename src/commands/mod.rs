//! One module per command: a thin entry point that reads its arguments, calls the shared layer (`ops`) and
//! returns a typed report (`ui::Report`) that `run` prints once.

pub mod add_edge;
pub mod alerts;
pub mod kubeconfig;
pub mod loadtest;
pub mod plan;
pub mod reap;
pub mod remove_edge;
pub mod render;
pub mod sim;
pub mod status;
pub mod teardown;
pub mod up;
pub mod validate;
pub mod verify;
