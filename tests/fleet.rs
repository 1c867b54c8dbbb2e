//! The Docker test fleet for integration tests: brought up once per test binary (or reused when
//! already running), shared by the tests, each of which works under its own paths.
//!
//! Without a Docker engine the fleet tests skip loudly, unless `DEPLOYER_REQUIRE_FLEET` is set
//! (CI sets it), in which case they fail.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::support::{Project, skip};

/// A running fleet: a bastion on 127.0.0.1 and app hosts behind it.
pub struct Fleet {
    /// The fleet's state folder (keys, inventory, known_hosts).
    pub dir: PathBuf,
}

/// The shared fleet, or `None` (after a loud message) where no Docker engine exists.
pub fn fleet() -> Option<&'static Fleet> {
    static FLEET: OnceLock<Option<Fleet>> = OnceLock::new();
    let fleet = FLEET.get_or_init(start).as_ref();
    if fleet.is_none() {
        skip("fleet", "no Docker engine (`docker info` failed)");
    }
    fleet
}

/// The fleet, if it runs and its app hosts boot systemd; otherwise `None`, saying loudly that
/// `what` is skipped (an sshd-only fleet, `FLEET_SYSTEMD=no`, has no services to manage).
pub fn systemd_fleet(what: &str) -> Option<&'static Fleet> {
    let fleet = fleet()?;
    if fleet.has_systemd() {
        return Some(fleet);
    }
    skip(
        "systemd fleet",
        &format!("the app hosts run without systemd ({what})"),
    );
    None
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vagrant/fleet")
}

fn start() -> Option<Fleet> {
    let docker = Command::new("docker").arg("info").output();
    if !docker.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("DEPLOYER_REQUIRE_FLEET").is_none(),
            "DEPLOYER_REQUIRE_FLEET is set but no Docker engine answers `docker info`"
        );
        return None;
    }
    let status = Command::new(script())
        .args(["up", "3"])
        .status()
        .expect("vagrant/fleet runs");
    assert!(status.success(), "vagrant/fleet up failed");
    Some(Fleet {
        dir: Path::new(env!("CARGO_MANIFEST_DIR")).join(".fleet"),
    })
}

impl Fleet {
    /// The Docker container of a fleet host (`FLEET_PREFIX` names the fleet, as in vagrant/fleet).
    pub fn container(&self, host: &str) -> String {
        let prefix = std::env::var("FLEET_PREFIX").unwrap_or_else(|_| "deployer-fleet".into());
        format!("{prefix}-{host}")
    }

    /// The loopback port of the bastion's sshd (`FLEET_BASTION_PORT`, as in vagrant/fleet).
    pub fn bastion_port(&self) -> String {
        std::env::var("FLEET_BASTION_PORT").unwrap_or_else(|_| "2222".into())
    }

    /// The fleet's inventory file.
    pub fn inventory(&self) -> PathBuf {
        self.dir.join("inventory.yml")
    }

    /// The app hosts' names.
    pub fn app_hosts(&self) -> Vec<String> {
        let inventory = std::fs::read_to_string(self.inventory()).expect("fleet inventory");
        inventory
            .lines()
            .filter_map(|l| l.trim().strip_suffix(": {}"))
            .filter(|name| name.starts_with("app"))
            .map(str::to_string)
            .collect()
    }

    /// Whether the app hosts run systemd (the inventory's `fleet_systemd`).
    pub fn has_systemd(&self) -> bool {
        std::fs::read_to_string(self.inventory())
            .expect("fleet inventory")
            .contains("fleet_systemd: true")
    }

    /// A project holding the fleet's inventory as `inv.yml` and `playbook` as `site.yml`.
    pub fn project(&self, playbook: &str) -> Project {
        let inventory = std::fs::read_to_string(self.inventory()).expect("fleet inventory");
        Project::new()
            .file("inv.yml", &inventory)
            .file("site.yml", playbook)
    }

    /// Runs a shell command on a fleet host with `docker exec` (not through deployer), as root.
    pub fn exec(&self, host: &str, command: &str) -> (i32, String) {
        let out = Command::new(script())
            .args(["exec", host, "sh", "-c", command])
            .output()
            .expect("vagrant/fleet exec runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    /// Every entry under `dir` on `host`, one per line and sorted: path, type, mode, owner, link
    /// count, then a link's target or a file's SHA-256. `dir` itself is written as `ROOT`.
    pub fn tree(&self, host: &str, dir: &str) -> String {
        let script = format!(
            "cd '{dir}' && find . -mindepth 1 | LC_ALL=C sort | while read -r p; do \
             stat -c '%n %F %a %U:%G %h' \"$p\"; if test -L \"$p\"; then readlink \"$p\"; \
             elif test -f \"$p\"; then sha256sum < \"$p\"; fi; done"
        );
        let (code, out) = self.exec(host, &script);
        assert_eq!(code, 0, "cannot list {dir} on {host}:\n{out}");
        out.replace(dir, "ROOT")
    }

    /// The text of a file on a fleet host, or `None` when it does not exist.
    pub fn read(&self, host: &str, path: &str) -> Option<String> {
        let (code, text) = self.exec(host, &format!("cat '{path}'"));
        (code == 0).then_some(text)
    }

    /// Runs `vagrant/fleet SUBCOMMAND` and returns its exit code and output.
    pub fn command(&self, args: &[&str]) -> (i32, String) {
        let out = Command::new(script())
            .args(args)
            .output()
            .expect("vagrant/fleet runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code().unwrap_or(-1), text)
    }

    /// Creates `user` on `host` (the fleet's key, passwordless sudo) with a `.bashrc` that counts
    /// logins, and empties the count.
    pub fn login_counting_user(&self, host: &str, user: &str) {
        let script = format!(
            "id {user} >/dev/null 2>&1 || /usr/sbin/useradd -m -s /bin/bash {user}; \
             install -d -m 700 -o {user} -g {user} /home/{user}/.ssh && \
             install -m 600 -o {user} -g {user} /home/deploy/.ssh/authorized_keys /home/{user}/.ssh/ && \
             echo '{user} ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/{user} && \
             echo 'echo login >> \"$HOME/logins\"' > /home/{user}/.bashrc && \
             install -m 644 -o {user} -g {user} /dev/null /home/{user}/logins"
        );
        let (code, out) = self.exec(host, &script);
        assert_eq!(code, 0, "cannot create {user} on {host}: {out}");
    }
}
