//! The events a run emits, in order. Every output format is a consumer of this stream; nothing
//! else in the library prints.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

/// How a task ended on one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Ran and changed nothing.
    Ok,
    /// Ran and changed the host.
    Changed,
    /// Did not run (`when` was false, or nothing to do in check mode).
    Skipped,
    /// Failed.
    Failed,
    /// Failed, and `ignore_errors` let the host go on.
    Ignored,
    /// The host could not be reached.
    Unreachable,
}

/// One task's result on one host (or one loop item of it).
#[derive(Debug, Clone, Serialize)]
pub struct HostResult {
    /// The host's inventory name.
    pub host: String,
    /// The host the task ran on, when delegated.
    pub delegated_to: Option<String>,
    /// The task's title.
    pub task: String,
    /// The module the task ran.
    pub module: String,
    /// How it ended.
    pub status: Status,
    /// The loop item's label, for per-item results.
    pub item: Option<String>,
    /// The registered result (already redacted when `no_log`).
    pub result: Value,
    /// Unified diffs to show with `--diff`.
    pub diffs: Vec<String>,
    /// How long it took.
    #[serde(serialize_with = "as_seconds")]
    pub duration: Duration,
}

/// Counts for one host over a run, like Ansible's PLAY RECAP line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HostStats {
    /// Tasks that ran without failing (changed ones included).
    pub ok: u32,
    /// Tasks that changed the host.
    pub changed: u32,
    /// Times the host could not be reached.
    pub unreachable: u32,
    /// Tasks that failed.
    pub failed: u32,
    /// Tasks skipped.
    pub skipped: u32,
    /// Blocks whose failure a rescue section recovered.
    pub rescued: u32,
    /// Failures let through by `ignore_errors`.
    pub ignored: u32,
    /// Times a failed host was switched back to its previous release.
    pub rolled_back: u32,
}

/// The counts of every host, sorted by host name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Recap {
    /// Per-host counts.
    pub hosts: BTreeMap<String, HostStats>,
    /// Hosts whose deploy lock was held by another run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locked_out: Vec<String>,
}

impl Recap {
    /// Whether any host failed.
    pub fn any_failed(&self) -> bool {
        self.hosts.values().any(|s| s.failed > 0)
    }

    /// Whether any host was unreachable.
    pub fn any_unreachable(&self) -> bool {
        self.hosts.values().any(|s| s.unreachable > 0)
    }
}

/// Something that happened during a run.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A play begins.
    PlayStarted {
        /// The play's name.
        name: String,
        /// The hosts it targets.
        hosts: Vec<String>,
    },
    /// A task (or handler) begins on the current hosts.
    TaskStarted {
        /// The task's title.
        task: String,
        /// Where it is written (`file:line:column`).
        location: String,
        /// Whether it is a handler.
        handler: bool,
    },
    /// A task ended on a host.
    HostResult(HostResult),
    /// Something the user should know that is not a failure.
    Warning {
        /// The message.
        message: String,
    },
    /// The run is over.
    Recap(Recap),
}

fn as_seconds<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64((duration.as_secs_f64() * 1000.0).round() / 1000.0)
}
