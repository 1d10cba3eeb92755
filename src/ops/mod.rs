//! One module per command: each takes the run's [`Ctx`] and its arguments and returns a report (cargo's `ops`).

pub mod plan;
pub mod render;
pub mod validate;

use std::path::PathBuf;
use std::time::Duration;

use crate::ui::Printer;

/// Everything a command needs from the command line and environment, read once at startup.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub printer: Printer,
    pub fleet_path: PathBuf,
    pub timeout: Option<Duration>,
    pub yes: bool,
}

impl Ctx {
    /// Loads and checks the fleet file named by `--fleet`.
    pub fn load_fleet(&self) -> Result<crate::fleet::Loaded, crate::Error> {
        Ok(crate::fleet::load(&self.fleet_path)?)
    }
}
