//! What the user sees: the printer that keeps stdout for the final report and stderr for everything else.

pub mod printer;
pub mod progress;

pub use printer::{Format, Printer};
pub mod cost_text;
pub mod plan_text;
pub mod prompt;
pub mod report;

pub use report::{Failure, Outcome, Report};
