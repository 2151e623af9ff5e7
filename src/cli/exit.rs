//! The outcome of a command and its exit code: the one place that maps
//! results to 0/1/2/3 (DESIGN.md "Exit codes").

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Everything conforms (0).
    Conforms,
    /// Findings at or above the threshold (1). Used by `check` and `verdict`.
    Findings,
    /// The input was refused: usage, spec, observation file (2).
    Refused,
    /// The run could not finish (3). Used by `scan` and `check`.
    Incomplete,
}

impl Outcome {
    /// The exit code.
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Conforms => 0,
            Self::Findings => 1,
            Self::Refused => 2,
            Self::Incomplete => 3,
        }
    }
}

impl From<Outcome> for ExitCode {
    fn from(o: Outcome) -> Self {
        Self::from(o.code())
    }
}
