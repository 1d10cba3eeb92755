//! How a command's result reaches the user: every command returns a typed [`Report`] (its JSON form through
//! `Serialize`, its text form through [`Report::text`]) and `run` prints it once, then maps its [`Outcome`]
//! to the exit code.

use serde::Serialize;

use crate::error::{Convention, Ending};

/// A command's final report.
pub trait Report: Serialize {
    /// The text form, for people (stdout in text mode).
    fn text(&self) -> String;

    /// How the command ended; anything but [`Outcome::Done`] is printed on stderr after the report.
    fn outcome(&self) -> Outcome {
        Outcome::Done
    }
}

/// How a command that produced a report ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// `plan --detailed-exitcode` found changes to make.
    Changes,
    /// The report was produced, and says what went wrong.
    Failed(Failure, String),
}

/// Why a command whose report was printed still failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The account holds something that stops the plan (a resource with our name that is not ours).
    Conflict,
    /// Teardown (or reap) finished but resources are still there.
    LeftBehind,
    /// At least one verification probe failed.
    VerifyFailed,
    /// Some clusters did not finish; a re-run resumes.
    Incomplete,
    /// The fleet as planned costs more than its monthly limit (invalid input, as a bad fleet file).
    OverBudget,
    /// `alerts test`: a receiver did not get the test alert.
    Undelivered,
}

impl Outcome {
    pub fn failed(failure: Failure, message: impl Into<String>) -> Self {
        Outcome::Failed(failure, message.into())
    }

    /// The process exit code (documented convention).
    pub fn exit_code(&self) -> i32 {
        self.ending().code(Convention::Standard)
    }

    /// How the command ended.
    pub fn ending(&self) -> Ending {
        match self {
            Outcome::Done => Ending::Done,
            Outcome::Changes => Ending::Changes,
            Outcome::Failed(Failure::LeftBehind, _) => Ending::LeftBehind,
            Outcome::Failed(Failure::VerifyFailed, _) => Ending::VerifyFailed,
            Outcome::Failed(Failure::OverBudget, _) => Ending::InvalidInput,
            Outcome::Failed(Failure::Conflict | Failure::Incomplete | Failure::Undelivered, _) => Ending::Failed,
        }
    }

    /// The message for stderr, when the command failed.
    pub fn message(&self) -> Option<&str> {
        match self {
            Outcome::Failed(_, m) => Some(m),
            Outcome::Done | Outcome::Changes => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_outcome_has_its_documented_exit_code() {
        assert_eq!(Outcome::Done.exit_code(), 0);
        assert_eq!(Outcome::Changes.exit_code(), 2);
        assert_eq!(Outcome::failed(Failure::Conflict, "x").exit_code(), 1);
        assert_eq!(Outcome::failed(Failure::Incomplete, "x").exit_code(), 1);
        assert_eq!(Outcome::failed(Failure::VerifyFailed, "x").exit_code(), 3);
        assert_eq!(Outcome::failed(Failure::LeftBehind, "x").exit_code(), 4);
        assert_eq!(Outcome::failed(Failure::OverBudget, "x").exit_code(), 2);
        assert_eq!(Outcome::failed(Failure::LeftBehind, "gone").message(), Some("gone"));
        assert_eq!(Outcome::Done.message(), None);
    }
}
