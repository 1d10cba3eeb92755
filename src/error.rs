//! The top-level error and the one place that maps errors to exit codes.

use crate::fleet::FleetError;
use crate::stack::render::RenderError;

/// Exit codes, as documented in the README.
pub mod exit {
    pub const OK: i32 = 0;
    pub const FAILURE: i32 = 1;
    pub const INVALID_INPUT: i32 = 2;
    pub const VERIFY_FAILED: i32 = 3;
    pub const LEFT_BEHIND: i32 = 4;
    pub const INTERRUPTED: i32 = 130;
    /// `plan --detailed-exitcode`: there are changes.
    pub const PLAN_CHANGES: i32 = 2;
}

/// How a command ended, for its exit code: every error ([`Error::ending`]) and every report's outcome
/// (`ui::Outcome::ending`) is one of these, and [`Ending::code`] is the one mapping to exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Done,
    /// `plan --detailed-exitcode` found changes to make.
    Changes,
    Failed,
    /// A bad fleet file, flag or environment, or a fleet over its monthly limit.
    InvalidInput,
    VerifyFailed,
    /// Teardown (or reap) finished but resources are still there.
    LeftBehind,
    Interrupted,
}

/// How exit codes read: as documented, or Terraform's `--detailed-exitcode` (2: changes; any failure 1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Convention {
    #[default]
    Standard,
    DetailedExitcode,
}

impl Ending {
    /// The process exit code.
    pub fn code(self, convention: Convention) -> i32 {
        match (self, convention) {
            (Ending::Done, _) => exit::OK,
            (Ending::Changes, _) => exit::PLAN_CHANGES,
            (_, Convention::DetailedExitcode) => exit::FAILURE,
            (Ending::Failed, _) => exit::FAILURE,
            (Ending::InvalidInput, _) => exit::INVALID_INPUT,
            (Ending::VerifyFailed, _) => exit::VERIFY_FAILED,
            (Ending::LeftBehind, _) => exit::LEFT_BEHIND,
            (Ending::Interrupted, _) => exit::INTERRUPTED,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Fleet(#[from] FleetError),
    #[error("internal error rendering the stack (please report it): {0}")]
    Render(#[from] RenderError),
    /// Bad flags or arguments that clap cannot check (e.g. an unknown cluster name).
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Linode(#[from] crate::linode::Error),
    #[error(transparent)]
    Kubeconfig(#[from] crate::kubeconfig::KubeconfigError),
    #[error("certificates: {0}")]
    Pki(#[from] crate::pki::Error),
    #[error(transparent)]
    K8s(#[from] crate::k8s::K8sError),
    /// The command needs something the environment lacks (e.g. a Linode token).
    #[error("{0}")]
    Missing(String),
    /// The account holds something that stops the command (e.g. a cluster with our label but not our tags).
    /// A command that got as far as its report says so in the report's outcome instead (`ui::Outcome`).
    #[error("{0}")]
    Conflict(String),
    /// The fleet as planned costs more than the monthly limit (or cannot be priced to check it): nothing was
    /// created or changed.
    #[error("{0}; nothing was created or changed")]
    OverBudget(String),
    /// Ctrl-C (or SIGTERM) stopped the command; re-running resumes.
    #[error("interrupted: {0}")]
    Interrupted(String),
    /// Any other failure while carrying a command out.
    #[error("{0}")]
    Runtime(String),
    /// A cluster's Kubernetes API could not be used.
    #[error("{0}")]
    Cluster(String),
    /// A bug: a task panicked or was cancelled.
    #[error("internal error (please report it): {0}")]
    Internal(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source,
        }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        self.ending().code(Convention::Standard)
    }

    /// How a command that fails with this error ends.
    pub fn ending(&self) -> Ending {
        match self {
            Error::Fleet(_) | Error::Usage(_) | Error::Missing(_) | Error::OverBudget(_) => Ending::InvalidInput,
            Error::Interrupted(_) => Ending::Interrupted,
            Error::Render(_)
            | Error::Io { .. }
            | Error::Linode(_)
            | Error::Kubeconfig(_)
            | Error::Pki(_)
            | Error::K8s(_)
            | Error::Conflict(_)
            | Error::Cluster(_)
            | Error::Runtime(_)
            | Error::Internal(_) => Ending::Failed,
        }
    }
}

/// A fleet-file edit (`add-edge`, `remove-edge`): bad input is a usage error, anything else a runtime one.
impl From<crate::fleet::edit::EditError> for Error {
    fn from(e: crate::fleet::edit::EditError) -> Self {
        if e.is_invalid_input() {
            Error::Usage(e.to_string())
        } else {
            Error::Runtime(format!("fleet file: {e}"))
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_mapping_to_exit_codes_and_the_detailed_exitcode_convention() {
        let all = [
            Ending::Done,
            Ending::Changes,
            Ending::Failed,
            Ending::InvalidInput,
            Ending::VerifyFailed,
            Ending::LeftBehind,
            Ending::Interrupted,
        ];
        let standard: Vec<i32> = all.iter().map(|e| e.code(Convention::Standard)).collect();
        assert_eq!(standard, [0, 2, 1, 2, 3, 4, 130]);
        let detailed: Vec<i32> = all.iter().map(|e| e.code(Convention::DetailedExitcode)).collect();
        assert_eq!(detailed, [0, 2, 1, 1, 1, 1, 1]);
        assert_eq!(Error::Usage("x".into()).exit_code(), 2);
        assert_eq!(Error::Runtime("x".into()).ending(), Ending::Failed);
    }
}
