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
        match self {
            Error::Fleet(_) | Error::Usage(_) | Error::Missing(_) | Error::OverBudget(_) => exit::INVALID_INPUT,
            Error::Interrupted(_) => exit::INTERRUPTED,
            Error::Render(_)
            | Error::Io { .. }
            | Error::Linode(_)
            | Error::Kubeconfig(_)
            | Error::Pki(_)
            | Error::K8s(_)
            | Error::Conflict(_)
            | Error::Cluster(_)
            | Error::Runtime(_)
            | Error::Internal(_) => exit::FAILURE,
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
