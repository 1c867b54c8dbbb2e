//! Run logs: every run writes each event as one JSON line to `<runs>/<run_id>/events.jsonl` (the
//! runs folder is `.deployer/runs` beside the playbook unless overridden), points
//! `<runs>/latest` at it, and can ship the lines to a central sink ([`Sink`]) in the background.
//! Layout and line format are documented in docs/runlog.md.

mod retry;
mod ship;
mod summary;

pub use retry::{RetryHosts, retry_hosts};
pub use ship::{Sink, SinkError};
pub use summary::summarize;

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::outbound::Warn;
use crate::report::{Event, Reporter, RunId, SCHEMA_VERSION};
use ship::Shipper;

/// The runs folder, relative to the playbook's folder.
pub const RUNS_DIR: &str = ".deployer/runs";
/// The file of a run's events, one JSON object per line.
pub const EVENTS_FILE: &str = "events.jsonl";
/// The file in the runs folder naming the latest run.
pub const LATEST_FILE: &str = "latest";
/// Lines a sink did not take, kept in the run's folder to send at the start of a later run.
pub const UNSENT_FILE: &str = "unsent.jsonl";
/// How long the end of a run waits for the sink to take the last lines.
pub const SHIP_WAIT: Duration = Duration::from_secs(2);

/// Why a run log could not be found or read.
#[derive(Debug, thiserror::Error)]
pub enum RunLogError {
    /// No run has been logged in this folder.
    #[error("no run log in {0} (runs are logged beside the playbook; see --runs-dir)")]
    NoRuns(PathBuf),
    /// The run asked for does not exist.
    #[error("no run `{id}` in {dir}")]
    UnknownRun {
        /// The run id asked for.
        id: String,
        /// The runs folder searched.
        dir: PathBuf,
    },
    /// Reading or writing the log failed.
    #[error("run log {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> RunLogError {
    let path = path.to_path_buf();
    move |source| RunLogError::Io { path, source }
}

/// The default runs folder of a playbook: `.deployer/runs` beside it.
pub fn default_runs_dir(playbook: &Path) -> PathBuf {
    playbook.parent().unwrap_or(Path::new("")).join(RUNS_DIR)
}

/// How deep below the current folder `deployer log` looks for playbooks' runs folders.
const SEARCH_DEPTH: usize = 3;

/// The runs folder `deployer log` reads when given neither a playbook nor a folder: of the runs
/// folders beside the playbooks under `root`, the one holding run `id`, or else the one whose
/// latest run is the newest (run ids begin with their UTC start time); `root`'s own when there is
/// none.
pub fn runs_dir_under(root: &Path, id: Option<&str>) -> PathBuf {
    let mut found = Vec::new();
    collect_runs_dirs(root, SEARCH_DEPTH, &mut found);
    let latest = |dir: &PathBuf| std::fs::read_to_string(dir.join(LATEST_FILE)).ok();
    let chosen = match id {
        Some(id) => found.into_iter().find(|dir| dir.join(id).is_dir()),
        None => found
            .into_iter()
            .filter(|d| latest(d).is_some())
            .max_by_key(latest),
    };
    chosen.unwrap_or_else(|| root.join(RUNS_DIR))
}

fn collect_runs_dirs(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    let runs = dir.join(RUNS_DIR);
    if runs.is_dir() {
        found.push(runs);
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let hidden = name.to_string_lossy().starts_with('.');
        if depth > 0 && !hidden && name != "target" && entry.file_type().is_ok_and(|t| t.is_dir()) {
            collect_runs_dirs(&entry.path(), depth - 1, found);
        }
    }
}

/// The `events.jsonl` of run `id`, or of the latest run when `id` is `None`.
pub fn find_run(runs_dir: &Path, id: Option<&str>) -> Result<PathBuf, RunLogError> {
    let id = match id {
        Some(id) => id.to_string(),
        None => std::fs::read_to_string(runs_dir.join(LATEST_FILE))
            .map_err(|_| RunLogError::NoRuns(runs_dir.to_path_buf()))?
            .trim()
            .to_string(),
    };
    let events = runs_dir.join(&id).join(EVENTS_FILE);
    if id.is_empty() || id.contains(['/', '\\']) || !events.is_file() {
        return Err(RunLogError::UnknownRun {
            id,
            dir: runs_dir.to_path_buf(),
        });
    }
    Ok(events)
}

/// The lines of a run's `events.jsonl`.
pub fn read_lines(events: &Path) -> Result<Vec<String>, RunLogError> {
    let file = File::open(events).map_err(io_error(events))?;
    BufReader::new(file)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(io_error(events))
}

/// A reporter writing the run log (and handing lines to the sink shipper, when there is one).
pub struct RunLog {
    run_id: String,
    dir: PathBuf,
    out: File,
    shipper: Option<Shipper>,
    warn: Warn,
}

impl RunLog {
    /// Starts the log of run `run_id` under `runs_dir` and points `latest` at it; with a sink,
    /// starts shipping (first the lines earlier runs could not send). `warn` hears of sink
    /// trouble.
    pub fn create(
        runs_dir: &Path,
        run_id: &RunId,
        sink: Option<Sink>,
        warn: Warn,
    ) -> Result<RunLog, RunLogError> {
        let run_id = run_id.to_string();
        let dir = runs_dir.join(&run_id);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(io_error(&dir))?;
        let events = dir.join(EVENTS_FILE);
        let out = private_file(&events).map_err(io_error(&events))?;
        let latest = runs_dir.join(LATEST_FILE);
        let staged = runs_dir.join(format!(".{LATEST_FILE}.{run_id}"));
        std::fs::write(&staged, format!("{run_id}\n"))
            .and_then(|()| std::fs::rename(&staged, &latest))
            .map_err(io_error(&latest))?;
        let shipper =
            sink.map(|sink| Shipper::start(sink, runs_dir.to_path_buf(), Warn::clone(&warn)));
        Ok(RunLog {
            run_id,
            dir,
            out,
            shipper,
            warn,
        })
    }

    /// This run's id (the name of its folder).
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// This run's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Keeps the lines the sink has not taken in `unsent.jsonl`, for a later run to send.
    fn spool(&self, sent: usize) -> Result<usize, RunLogError> {
        let events = self.dir.join(EVENTS_FILE);
        let unsent: Vec<String> = read_lines(&events)?.into_iter().skip(sent).collect();
        if !unsent.is_empty() {
            let path = self.dir.join(UNSENT_FILE);
            private_file(&path)
                .and_then(|mut f| f.write_all((unsent.join("\n") + "\n").as_bytes()))
                .map_err(io_error(&path))?;
        }
        Ok(unsent.len())
    }
}

impl Reporter for RunLog {
    fn event(&mut self, event: &Event) {
        let mut value = serde_json::to_value(event).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.insert("run_id".into(), self.run_id.clone().into());
            map.insert("time".into(), timestamp().into());
            map.insert("v".into(), SCHEMA_VERSION.into());
        }
        let line = value.to_string();
        if let Err(e) = writeln!(self.out, "{line}") {
            (self.warn)(&format!(
                "cannot write the run log in {}: {e}",
                self.dir.display()
            ));
        }
        if let Some(shipper) = &mut self.shipper {
            shipper.offer(line);
        }
    }
}

impl Drop for RunLog {
    fn drop(&mut self) {
        let Some(shipper) = self.shipper.take() else {
            return;
        };
        let sent = shipper.finish(SHIP_WAIT);
        match self.spool(sent) {
            Ok(0) => {}
            Ok(kept) => (self.warn)(&format!(
                "the log sink did not take {kept} line(s); kept in {} to send on the next run",
                self.dir.join(UNSENT_FILE).display()
            )),
            Err(e) => (self.warn)(&format!("cannot keep the unsent log lines: {e}")),
        }
    }
}

/// Now, as RFC 3339 with milliseconds.
fn timestamp() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// Creates (or empties) a run log file readable by its owner only: run logs hold task output.
fn private_file(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn quiet() -> Warn {
        Arc::new(|_: &str| {})
    }

    #[test]
    fn a_run_writes_its_events_and_becomes_the_latest() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = RunLog::create(dir.path(), &RunId::generate(), None, quiet()).unwrap();
        let id = log.run_id().to_string();
        assert_eq!(id.len(), "20250102T030405Z-9f2c".len(), "{id}");
        assert_eq!((&id[8..9], &id[15..17]), ("T", "Z-"), "{id}");
        log.event(&Event::Warning {
            message: "careful".into(),
        });
        drop(log);
        let events = find_run(dir.path(), None).unwrap();
        assert_eq!(events, dir.path().join(&id).join(EVENTS_FILE));
        assert_eq!(find_run(dir.path(), Some(&id)).unwrap(), events);
        let lines = read_lines(&events).unwrap();
        let line: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(line["event"], "warning");
        assert_eq!(line["message"], "careful");
        assert_eq!(line["run_id"], id.as_str());
        assert!(line["time"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn unknown_runs_and_empty_folders_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            find_run(dir.path(), None),
            Err(RunLogError::NoRuns(_))
        ));
        assert!(matches!(
            find_run(dir.path(), Some("../x")),
            Err(RunLogError::UnknownRun { .. })
        ));
    }

    #[test]
    fn log_without_a_folder_finds_the_newest_run_beside_the_playbooks_below() {
        let root = tempfile::tempdir().unwrap();
        let older = root.path().join("site").join(RUNS_DIR);
        let newer = root.path().join("playbooks").join(RUNS_DIR);
        for (dir, id) in [
            (&older, "20260101T000000Z-aaaa"),
            (&newer, "20261205T000000Z-bbbb"),
        ] {
            std::fs::create_dir_all(dir.join(id)).unwrap();
            std::fs::write(dir.join(LATEST_FILE), format!("{id}\n")).unwrap();
        }
        assert_eq!(runs_dir_under(root.path(), None), newer);
        assert_eq!(
            runs_dir_under(root.path(), Some("20260101T000000Z-aaaa")),
            older
        );
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            runs_dir_under(empty.path(), None),
            empty.path().join(RUNS_DIR)
        );
    }
}
