//! A small builder for integration tests: write a project into a temporary folder, run the real
//! binary in it, and look at what it printed and left behind.

use std::path::PathBuf;
use std::process::Command;

/// A temporary project folder.
pub struct Project {
    dir: tempfile::TempDir,
}

/// What a run of the binary left.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Output {
    fn from(output: std::process::Output) -> Self {
        Output {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Output {
    /// The recap line of `host`, without its padding.
    pub fn recap(&self, host: &str) -> String {
        let line = self
            .stdout
            .lines()
            .skip_while(|l| !l.starts_with("PLAY RECAP"))
            .find(|l| l.split_whitespace().next() == Some(host))
            .unwrap_or_else(|| panic!("no recap line for {host} in:\n{}", self.stdout));
        line.split_whitespace()
            .skip(2)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The events of a `--format json` run, one per line of its output.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }

    /// The recap counts of every host of a `--format json` run (`ok`, `changed`, ...).
    pub fn recap_counts(&self) -> serde_json::Map<String, serde_json::Value> {
        self.events()
            .into_iter()
            .find(|e| e["event"] == "recap")
            .and_then(|e| e["hosts"].as_object().cloned())
            .unwrap_or_else(|| panic!("no recap event in:\n{}\n{}", self.stdout, self.stderr))
    }

    /// The registered result of the task titled `task` on `host` in a `--format json` run.
    pub fn result(&self, host: &str, task: &str) -> serde_json::Value {
        self.events()
            .into_iter()
            .find(|e| e["event"] == "host_result" && e["host"] == host && e["task"] == task)
            .map(|e| e["result"].clone())
            .unwrap_or_else(|| panic!("no result of {task:?} on {host} in:\n{}", self.stdout))
    }
}

/// A local inventory with these hosts, all on the local connection, in group `app`.
pub fn local_inventory(hosts: &[&str]) -> String {
    let mut text = String::from("all:\n  children:\n    app:\n      hosts:\n");
    for host in hosts {
        text.push_str(&format!(
            "        {host}:\n          ansible_connection: local\n"
        ));
    }
    text
}

impl Project {
    /// An empty project.
    pub fn new() -> Self {
        Project {
            dir: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    /// Writes a file (folders created as needed).
    pub fn file(self, path: &str, text: &str) -> Self {
        let full = self.dir.path().join(path);
        std::fs::create_dir_all(full.parent().expect("a parent")).expect("folders");
        std::fs::write(full, text).expect("write");
        self
    }

    /// The project's folder as text, for `-e` values.
    pub fn path_str(&self) -> String {
        self.dir.path().display().to_string()
    }

    /// A path inside the project.
    pub fn join(&self, path: &str) -> PathBuf {
        self.dir.path().join(path)
    }

    /// Runs `deployer ARGS` inside the project.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_deployer"))
            .args(args)
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .output()
            .expect("the binary runs")
            .into()
    }
}
