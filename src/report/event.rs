//! The events a run emits, in order. Every output format is a consumer of this stream; nothing
//! else in the library prints.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::RunId;

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
    /// Where the task is written (`file:line:column`).
    pub location: String,
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

impl HostResult {
    /// The result's `msg` (or skip reason, or `no_log` notice) when it has one, else the whole
    /// (already redacted) result on one line: what an annotation or report shows.
    pub fn message(&self) -> String {
        ["msg", "skip_reason", "censored"]
            .iter()
            .find_map(|key| self.result.get(key).and_then(Value::as_str))
            .map_or_else(|| self.result.to_string(), str::to_string)
    }

    /// The location split into file, line and column (`None` when it is not `file:line:col`).
    pub fn file_line_column(&self) -> Option<(&str, u32, u32)> {
        let mut parts = self.location.rsplitn(3, ':');
        let column = parts.next()?.parse().ok()?;
        let line = parts.next()?.parse().ok()?;
        Some((parts.next()?, line, column))
    }
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
    /// The run was interrupted (Ctrl-C) and stopped early.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
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
    /// The run begins: what runs against what, and who this run is.
    RunStarted(RunInfo),
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
        /// The file of Ansible's module code it runs, when it runs a module deployer has not
        /// built in.
        #[serde(skip_serializing_if = "Option::is_none")]
        ansible_code: Option<String>,
    },
    /// A task ended on a host.
    HostResult(HostResult),
    /// Something the user should know that is not a failure.
    Warning {
        /// The message.
        message: String,
    },
    /// Every play is over (or the run stopped): the counts per host.
    Recap(Recap),
    /// The run is over; the last event.
    RunFinished {
        /// The process exit code this run maps to (docs/exit-codes.md).
        exit_code: i32,
        /// How long the run took.
        #[serde(serialize_with = "as_seconds")]
        duration: Duration,
    },
}

/// What a run is about, sent once at its start.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// This run's id (`YYYYMMDDTHHMMSSZ-xxxx`).
    pub run_id: RunId,
    /// The playbook file, as given.
    pub playbook: String,
    /// The inventory file or folder, as resolved.
    pub inventory: String,
    /// `--check`: nothing is changed.
    pub check: bool,
    /// `--diff`: changes are shown as diffs.
    pub diff: bool,
    /// Every host some play targets (after `--limit`), in first-seen order.
    pub hosts: Vec<String>,
    /// The deployer version.
    pub version: String,
    /// When the run started, RFC 3339 in UTC.
    pub started_at: String,
}

fn as_seconds<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64((duration.as_secs_f64() * 1000.0).round() / 1000.0)
}
