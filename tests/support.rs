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
        self.run_with_env(args, &[("NO_COLOR", "1")])
    }

    /// `deployer ARGS` inside the project, with these environment variables and none of the
    /// ones that change the output (`NO_COLOR`, GitHub Actions').
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_deployer"));
        command.args(args).current_dir(self.dir.path());
        for name in [
            "NO_COLOR",
            "GITHUB_ACTIONS",
            "GITHUB_STEP_SUMMARY",
            "GITHUB_WORKSPACE",
            "RUST_LOG",
        ] {
            command.env_remove(name);
        }
        command.envs(env.iter().copied());
        command
    }

    /// Runs `deployer ARGS` inside the project with these environment variables.
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let output = self.command(args, env).output().expect("the binary runs");
        Output {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}
