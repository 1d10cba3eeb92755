//! The simulator's Job controller (`lkeobs::sim::jobs`) for setups without a whole simulated world; the
//! gateway figures that follow the Jobs' load are the simulator's own (`lkeobs::sim::data_path`).

#[allow(unused_imports)]
pub use lkeobs::sim::jobs::{Runner as JobRunner, STARTED};
