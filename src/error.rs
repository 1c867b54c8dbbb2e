//! The library's errors and the exit codes they map to. The exit codes are part of the
//! interface and documented in docs/exit-codes.md.

use crate::diagnostic::Diagnostics;
use crate::report::Recap;

/// Every host did what was asked.
pub const EXIT_OK: i32 = 0;
/// deployer itself failed (an internal or I/O error).
pub const EXIT_ERROR: i32 = 1;
/// At least one host failed a task.
pub const EXIT_HOST_FAILED: i32 = 2;
/// No host failed, but at least one was unreachable.
pub const EXIT_UNREACHABLE: i32 = 3;
/// The playbook, inventory, variables or arguments are invalid; nothing ran.
pub const EXIT_BAD_INPUT: i32 = 4;
/// Another run holds the deploy lock of at least one host.
pub const EXIT_LOCK_HELD: i32 = 5;
/// The run was interrupted (Ctrl-C) and stopped early (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: i32 = 130;

/// Why a command could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad playbook, inventory or variables, with located diagnostics.
    #[error("{0}")]
    Input(Diagnostics),
    /// A bad argument or setting not tied to a file position.
    #[error("error: {0}")]
    Usage(String),
    /// Reading or writing local files failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) | Error::Usage(_) => EXIT_BAD_INPUT,
            Error::Io(_) => EXIT_ERROR,
        }
    }
}

impl From<Diagnostics> for Error {
    fn from(d: Diagnostics) -> Self {
        Error::Input(d)
    }
}

/// The exit code of a finished run: an interruption beats a held lock, which beats failed hosts,
/// which beat unreachable ones.
pub fn exit_code(recap: &Recap) -> i32 {
    if recap.interrupted {
        EXIT_INTERRUPTED
    } else if !recap.locked_out.is_empty() {
        EXIT_LOCK_HELD
    } else if recap.any_failed() {
        EXIT_HOST_FAILED
    } else if recap.any_unreachable() {
        EXIT_UNREACHABLE
    } else {
        EXIT_OK
    }
}

/// A few words on what an exit code means, for summaries.
pub fn exit_meaning(code: i32) -> &'static str {
    match code {
        EXIT_OK => "ok",
        EXIT_HOST_FAILED => "some hosts failed",
        EXIT_UNREACHABLE => "some hosts were unreachable",
        EXIT_BAD_INPUT => "bad input",
        EXIT_LOCK_HELD => "a deploy lock is held by another run",
        EXIT_INTERRUPTED => "interrupted",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::HostStats;

    #[test]
    fn an_interruption_beats_a_held_lock_which_beats_failed_then_unreachable_hosts() {
        let mut recap = Recap::default();
        assert_eq!(exit_code(&recap), EXIT_OK);
        recap.hosts.insert(
            "a".into(),
            HostStats {
                unreachable: 1,
                ..HostStats::default()
            },
        );
        assert_eq!(exit_code(&recap), EXIT_UNREACHABLE);
        recap.hosts.insert(
            "b".into(),
            HostStats {
                failed: 1,
                ..HostStats::default()
            },
        );
        assert_eq!(exit_code(&recap), EXIT_HOST_FAILED);
        recap.locked_out.push("b".into());
        assert_eq!(exit_code(&recap), EXIT_LOCK_HELD);
        recap.interrupted = true;
        assert_eq!(exit_code(&recap), EXIT_INTERRUPTED);
        assert_eq!(exit_meaning(EXIT_INTERRUPTED), "interrupted");
    }
}
