//! How commands and bytes reach a host: the [`Transport`] trait and its kinds.
//!
//! Every remote action is one POSIX shell script run through [`Transport::exec`], optionally fed a
//! stream on stdin (that is how files are sent). Transports know nothing of tasks or modules.

mod connect;
mod local;
mod resident;
pub mod rsh;
mod shell;
pub mod ssh;

pub use connect::{CONNECTION_VARS, ConnectOptions, Connector, KEEPALIVE_MAX, connection_kind};
pub use local::LocalTransport;
pub use resident::{HostShells, ResidentTransport};
pub use shell::{is_env_name, quote, quote_command, quote_glob, remote_command};
pub use ssh::SshTransport;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

/// What to feed a command on its standard input.
#[derive(Debug, Clone, Default)]
pub enum Stdin {
    /// Nothing: stdin is closed at once.
    #[default]
    Null,
    /// These bytes.
    Bytes(Arc<Vec<u8>>),
    /// A local file's bytes, streamed without holding the file in memory.
    File(PathBuf),
}

/// Privilege escalation for one command (Ansible's `become`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Become {
    /// The user to become (`root` unless `become_user` says otherwise).
    pub user: String,
    /// The sudo password, when sudo asks for one.
    pub password: Option<String>,
}

/// One command to run on a host.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    /// A POSIX shell script; the transport runs it with `sh -c`.
    pub script: String,
    /// What the command reads on stdin.
    pub stdin: Stdin,
    /// Run it as another user through sudo.
    pub become_user: Option<Become>,
    /// Environment variables set for the command.
    pub env: Vec<(String, String)>,
    /// Kill the command and fail when it runs longer than this.
    pub timeout: Option<Duration>,
}

impl ExecRequest {
    /// A request that runs `script` with nothing else set.
    pub fn new(script: impl Into<String>) -> Self {
        ExecRequest {
            script: script.into(),
            ..ExecRequest::default()
        }
    }
}

/// What a finished command left behind.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecOutput {
    /// The exit status; a command killed by a signal reports 128 + the signal number.
    pub exit_code: i32,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr.
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    /// Stdout as text, invalid UTF-8 replaced.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Stderr as text, invalid UTF-8 replaced.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Why a command could not be run (as opposed to running and failing).
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The host could not be reached or the connection broke: the host is UNREACHABLE.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The host answered, but its identity could not be verified.
    #[error("host key verification failed: {0}")]
    HostKey(String),
    /// The host refused our credentials.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The command ran longer than its timeout.
    #[error("command timed out after {0:?}")]
    Timeout(Duration),
    /// Reading a local file to send, or talking to a local process, failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The connection settings are wrong (bad port, unreadable key, ...).
    #[error("bad connection settings: {0}")]
    Config(String),
}

impl TransportError {
    /// Whether the host should be reported UNREACHABLE rather than FAILED.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            TransportError::Unreachable(_) | TransportError::HostKey(_) | TransportError::Auth(_)
        )
    }
}

/// The pipes of a command that keeps running: what it reads and what it prints (its stderr is
/// not kept). Dropping them ends the command's session.
pub struct Pipes {
    /// The command's standard input.
    pub input: Box<dyn tokio::io::AsyncWrite + Send + Unpin>,
    /// The command's standard output.
    pub output: Box<dyn tokio::io::AsyncRead + Send + Unpin>,
    /// What must live as long as the command (its channel slot, its child process).
    pub keep: Box<dyn Send>,
}

/// A way to run commands on one host.
#[async_trait]
pub trait Transport: Send + Sync {
    /// Runs one command to completion and returns what it printed and its exit code.
    async fn exec(&self, request: ExecRequest) -> Result<ExecOutput, TransportError>;

    /// Starts `line` (a command line for the host's login shell) and hands back its pipes, for a
    /// command that outlives one request (`None`: this transport cannot).
    async fn spawn(&self, line: String) -> Result<Option<Pipes>, TransportError> {
        let _ = line;
        Ok(None)
    }

    /// A short description for messages, e.g. `local` or `deploy@app1 via 127.0.0.1:2222`.
    fn describe(&self) -> String;

    /// A transport to the outermost bastion this host is reached through, riding on the same
    /// connection (`None`: the host is reached directly).
    fn bastion(&self) -> Option<std::sync::Arc<dyn Transport>> {
        None
    }

    /// Closes the host's own connection and shells (not the bastions'): the next command logs
    /// in again (`meta: reset_connection`, and after a reboot).
    async fn reset(&self) {}
}
