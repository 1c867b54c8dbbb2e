//! `deployer run --retry-failed`: the hosts a logged run left failed or unreachable, like
//! Ansible's `.retry` files, read from the run log instead of a file of their own.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{RunLogError, find_run, read_lines};

/// The hosts to run again, from one logged run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryHosts {
    /// The run they come from.
    pub run_id: String,
    /// Its `events.jsonl`.
    pub events: PathBuf,
    /// The playbook it ran, as it was given.
    pub playbook: Option<String>,
    /// Hosts that failed or were unreachable in it, in the order the log names them.
    pub hosts: Vec<String>,
}

/// The hosts the latest run under `runs_dir` left failed or unreachable: those with failures or
/// unreachable counts in its recap, or, for a run that ended without one (killed), those with
/// a failed or unreachable result.
pub fn retry_hosts(runs_dir: &Path) -> Result<RetryHosts, RunLogError> {
    let events = find_run(runs_dir, None)?;
    let lines: Vec<Value> = read_lines(&events)?
        .iter()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let run_id = lines
        .iter()
        .find_map(|e| e.get("run_id").and_then(Value::as_str))
        .unwrap_or_default()
        .to_string();
    let playbook = (lines.iter())
        .find(|e| e["event"] == "run_started")
        .and_then(|e| e["playbook"].as_str())
        .map(str::to_string);
    let recap = lines.iter().rev().find(|e| e["event"] == "recap");
    let hosts = match recap.and_then(|r| r["hosts"].as_object()) {
        Some(hosts) => hosts
            .iter()
            .filter(|(_, stats)| count(stats, "failed") > 0 || count(stats, "unreachable") > 0)
            .map(|(host, _)| host.clone())
            .collect(),
        None => {
            let mut hosts: Vec<String> = Vec::new();
            let failed = lines.iter().filter(|e| {
                e["event"] == "host_result"
                    && matches!(e["status"].as_str(), Some("failed" | "unreachable"))
            });
            for host in failed.filter_map(|e| e["host"].as_str()) {
                if !hosts.iter().any(|h| h == host) {
                    hosts.push(host.to_string());
                }
            }
            hosts
        }
    };
    Ok(RetryHosts {
        run_id,
        events,
        playbook,
        hosts,
    })
}

fn count(stats: &Value, key: &str) -> u64 {
    stats.get(key).and_then(Value::as_u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logged(lines: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("r1")).unwrap();
        std::fs::write(dir.path().join("r1/events.jsonl"), lines.join("\n")).unwrap();
        std::fs::write(dir.path().join("latest"), "r1\n").unwrap();
        dir
    }

    #[test]
    fn the_recap_names_the_failed_and_unreachable_hosts() {
        let dir = logged(&[
            r#"{"event":"run_started","playbook":"site.yml","run_id":"r1"}"#,
            r#"{"event":"host_result","host":"c","status":"failed","run_id":"r1"}"#,
            r#"{"event":"recap","hosts":{"a":{"failed":1,"unreachable":0},"b":{"failed":0,"unreachable":0},"c":{"failed":0,"unreachable":1}},"run_id":"r1"}"#,
        ]);
        let retry = retry_hosts(dir.path()).unwrap();
        assert_eq!(retry.run_id, "r1");
        assert_eq!(retry.playbook.as_deref(), Some("site.yml"));
        assert_eq!(retry.hosts, ["a", "c"]);
    }

    #[test]
    fn a_run_without_a_recap_is_read_from_its_results() {
        let dir = logged(&[
            r#"{"event":"host_result","host":"b","status":"ok"}"#,
            r#"{"event":"host_result","host":"c","status":"unreachable"}"#,
            r#"{"event":"host_result","host":"a","status":"failed"}"#,
            r#"{"event":"host_result","host":"c","status":"failed"}"#,
        ]);
        assert_eq!(retry_hosts(dir.path()).unwrap().hosts, ["c", "a"]);
    }

    #[test]
    fn no_run_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            retry_hosts(dir.path()),
            Err(RunLogError::NoRuns(_))
        ));
    }
}
