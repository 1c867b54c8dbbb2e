//! A small builder for integration tests: write a project into a temporary folder, run the real
//! binary in it, and look at what it printed and left behind.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

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

    /// A project running `playbook` (as `site.yml`) on `hosts` on the local connection
    /// (`inv.yml`, group `app`).
    pub fn local(hosts: &[&str], playbook: &str) -> Self {
        Project::new()
            .file("inv.yml", &local_inventory(hosts))
            .file("site.yml", playbook)
    }

    /// Writes a file (folders created as needed).
    pub fn file(self, path: &str, text: &str) -> Self {
        self.bytes(path, text.as_bytes())
    }

    /// Writes a file with these bytes (folders created as needed).
    pub fn bytes(self, path: &str, bytes: &[u8]) -> Self {
        let full = self.dir.path().join(path);
        std::fs::create_dir_all(full.parent().expect("a parent")).expect("folders");
        std::fs::write(full, bytes).expect("write");
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
        self.run_env(args, &[("NO_COLOR", "1")])
    }

    /// `deployer run site.yml -i inv.yml EXTRA` inside the project: the usual test run.
    pub fn site(&self, extra: &[&str]) -> Output {
        self.site_env(extra, &[("NO_COLOR", "1")])
    }

    /// `deployer run site.yml -i inv.yml EXTRA` with these environment variables.
    pub fn site_env(&self, extra: &[&str], env: &[(&str, &str)]) -> Output {
        let args = [&["run", "site.yml", "-i", "inv.yml"], extra].concat();
        self.run_env(&args, env)
    }

    /// `deployer ARGS` inside the project, with these environment variables and none of the
    /// caller's that change the output (`NO_COLOR`, GitHub Actions', `DEPLOYER_*`, `ANSIBLE_*`).
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_deployer"));
        command.args(args).current_dir(self.dir.path());
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("DEPLOYER_")
                || name.starts_with("ANSIBLE_")
                || name.starts_with("GITHUB_")
                || ["NO_COLOR", "RUST_LOG"].contains(&name.as_ref())
            {
                command.env_remove(name.as_ref());
            }
        }
        command.envs(env.iter().copied());
        command
    }

    /// Runs `deployer ARGS` inside the project with these environment variables.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(args, env)
            .output()
            .expect("the binary runs")
            .into()
    }
}

/// A tiny HTTP server on 127.0.0.1 that answers every request with `200` and records the bodies.
pub struct Recorder {
    /// Where to POST.
    pub url: String,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    /// Starts the server on a free port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&bodies);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                let (mut length, mut line) = (0, String::new());
                while reader.read_line(&mut line).unwrap_or(0) > 2 {
                    let header = line.to_ascii_lowercase();
                    if let Some(value) = header.strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                    line.clear();
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                kept.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).into_owned());
                let _ = reader.get_mut().write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        Recorder { url, bodies }
    }

    /// The bodies received so far.
    pub fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }
}

/// A loopback URL where nothing listens.
pub fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("an address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/hook")
}

/// Every file under `dir`, read as text, with its path.
pub fn files_under(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            found.push((path, text));
        }
    }
    found
}

/// Notes that the running test is skipped, in `group` (e.g. `fleet`), because of `reason`: loudly on
/// stderr, and as a line of the skip log (`DEPLOYER_TEST_SKIP_LOG`, else `skipped.tsv` in cargo's
/// test temp folder) that `scripts/test` sums up after the run, outside cargo's output capture.
pub fn skip(group: &str, reason: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("unnamed test")
        .to_string();
    eprintln!("\n!!! SKIPPING {test} ({group} tests): {reason} !!!\n");
    let log = std::env::var_os("DEPLOYER_TEST_SKIP_LOG")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("skipped.tsv"));
    let line = format!("{group}\t{reason}\t{test}\n");
    let written = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .and_then(|mut file| file.write_all(line.as_bytes()));
    if let Err(e) = written {
        eprintln!("cannot record the skip in {}: {e}", log.display());
    }
}
