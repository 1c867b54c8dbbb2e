//! The sample deploy (playbooks/deploy.yml + roles/app) on the Docker fleet: releases switched
//! behind a systemd service and a health check, automatic rollback of a host whose new release
//! is unhealthy, rolling batches that stop after a bad one, `deployer rollback`, deploy locks, and
//! a rolling deploy that never takes more than one host out of service.
//!
//! Every test deploys its own copy of the app (own `deploy_to`, systemd unit and port), so the
//! tests run in parallel with each other and with the other fleet tests.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::fleet::{Fleet, systemd_fleet};
use crate::support::{Output, Project};

pub(crate) const HOSTS: [&str; 3] = ["app1", "app2", "app3"];

/// One test's copy of the sample app on the fleet.
pub(crate) struct Sample {
    fleet: &'static Fleet,
    pub(crate) project: Project,
    /// The app's name: its systemd unit and its folder under /srv.
    name: String,
    port: u16,
}

impl Sample {
    /// A clean slate for app `name` on every host, and a project whose inventory is the fleet's
    /// plus this app's settings.
    pub(crate) fn new(fleet: &'static Fleet, name: &str, port: u16) -> Self {
        let sample = Sample {
            fleet,
            project: Project::new(),
            name: name.to_string(),
            port,
        };
        sample.remove();
        sample.inventory(&[]);
        sample
    }

    pub(crate) fn deploy_to(&self) -> String {
        format!("/srv/{}", self.name)
    }

    /// Writes the inventory, with `host_vars` (host, YAML flow mapping) for some hosts.
    pub(crate) fn inventory(&self, host_vars: &[(&str, &str)]) {
        let mut text = std::fs::read_to_string(self.fleet.inventory()).expect("fleet inventory");
        let settings = format!(
            "  vars:\n    app_name: {name}\n    app_port: {port}\n    deploy_to: {to}\n    \
             deployer_lock_path: \"/tmp/{{{{ app_name }}}}.lock\"\n    \
             deployer_reload_command: sudo systemctl restart {name}\n",
            name = self.name,
            port = self.port,
            to = self.deploy_to(),
        );
        text = text.replacen("  vars:\n", &settings, 1);
        for (host, vars) in host_vars {
            let plain = format!("{host}: {{}}");
            assert!(text.contains(&plain), "no {plain} in the fleet inventory");
            text = text.replace(&plain, &format!("{host}: {vars}"));
        }
        std::fs::write(self.project.join("inv.yml"), text).expect("write the inventory");
    }

    /// The arguments of a deploy of `version` (`extra` appended).
    pub(crate) fn deploy_args(&self, version: &str, extra: &[&str]) -> Vec<String> {
        let playbook = Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/deploy.yml");
        let mut args: Vec<String> = [
            "run",
            &playbook.display().to_string(),
            "-i",
            "inv.yml",
            "-e",
            &format!("app_version={version}"),
            "-e",
            &format!("build_dir={}", self.project.join("build").display()),
            "-e",
            "health_retries=4",
            "--runs-dir",
            &self.project.join("runs").display().to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    /// Runs the sample deploy of `version`.
    pub(crate) fn deploy(&self, version: &str, extra: &[&str]) -> Output {
        let args = self.deploy_args(version, extra);
        self.project
            .run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// The release `current` points at on `host`.
    pub(crate) fn current(&self, host: &str) -> String {
        let (_, link) = self
            .fleet
            .exec(host, &format!("readlink {}/current", self.deploy_to()));
        link.trim().trim_start_matches("releases/").to_string()
    }

    /// What `host` serves as its version, asked from the bastion (inside the private network).
    pub(crate) fn serving(&self, host: &str) -> String {
        let (_, body) = self.fleet.exec(
            "bastion",
            &format!(
                "for i in $(seq 30); do curl -sf --max-time 2 http://{host}:{}/version.txt && exit; sleep 0.1; done",
                self.port
            ),
        );
        body.trim().to_string()
    }

    /// Asserts that every host in `hosts` runs `version` and serves it.
    pub(crate) fn assert_on(&self, hosts: &[&str], version: &str, context: &Output) {
        for host in hosts {
            assert_eq!(
                (self.current(host), self.serving(host)),
                (version.to_string(), version.to_string()),
                "{host} (current release, served version):\n{}",
                context.stdout
            );
        }
    }

    /// Stops and removes the app from every host.
    pub(crate) fn remove(&self) {
        for host in HOSTS {
            self.fleet.exec(
                host,
                &format!(
                    "systemctl disable --now {name} 2>/dev/null; rm -f /etc/systemd/system/{name}.service; \
                     systemctl daemon-reload; rm -rf /srv/{name} /tmp/{name}.lock",
                    name = self.name
                ),
            );
        }
    }
}

impl Drop for Sample {
    fn drop(&mut self) {
        self.remove();
    }
}

#[test]
fn a_good_deploy_switches_every_host() {
    let Some(fleet) = systemd_fleet("the sample deploy on the fleet") else {
        return;
    };
    let app = Sample::new(fleet, "dt-good", 8301);
    let first = app.deploy("1.0.0", &[]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    app.assert_on(&HOSTS, "1.0.0", &first);
    let (_, unit) = fleet.exec("app2", "systemctl is-active dt-good");
    assert_eq!(unit.trim(), "active", "the app runs under systemd");

    let second = app.deploy("1.1.0", &[]);
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    app.assert_on(&HOSTS, "1.1.0", &second);
    for host in HOSTS {
        assert!(
            second.recap(host).contains(" failed=0 "),
            "{}",
            second.stdout
        );
    }
    let listed = app.project.run(&["releases", "-i", "inv.yml"]);
    assert_eq!(listed.code, 0, "{}{}", listed.stdout, listed.stderr);
    for host in HOSTS {
        assert!(
            listed.stdout.contains(&format!(
                "{host}  ok      current=1.1.0 releases=1.1.0,1.0.0"
            )),
            "{}",
            listed.stdout
        );
    }

    // The example workflow's smoke test: passes on the served version, fails on another.
    let smoke = Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/smoke.yml");
    let smoke = smoke.display().to_string();
    let runs = app.project.join("runs").display().to_string();
    let smoke_with = |version: &str| {
        let expected = format!("expected_version={version}");
        let args = ["run", &smoke, "-i", "inv.yml", "-e", &expected];
        app.project
            .run(&[&args[..], &["--runs-dir", &runs]].concat())
    };
    let passed = smoke_with("1.1.0");
    assert_eq!(passed.code, 0, "{}{}", passed.stdout, passed.stderr);
    assert!(passed.recap("app1").contains("ok=1 "), "{}", passed.stdout);
    let failed = smoke_with("9.9.9");
    assert_eq!(failed.code, 2, "{}", failed.stdout);
    assert!(
        failed.recap("app1").contains("failed=1 "),
        "{}",
        failed.stdout
    );
}

#[test]
fn an_unhealthy_release_on_one_host_is_rolled_back_there() {
    let Some(fleet) = systemd_fleet("the sample deploy on the fleet") else {
        return;
    };
    let app = Sample::new(fleet, "dt-heal", 8302);
    let good = app.deploy("1.0.0", &[]);
    assert_eq!(good.code, 0, "{}{}", good.stdout, good.stderr);
    // On app2 the new release listens where the health check (and everyone else) cannot reach it.
    app.inventory(&[("app2", "{app_bind: 127.0.0.2}")]);
    let bad = app.deploy("2.0.0", &[]);
    assert_eq!(bad.code, 2, "{}{}", bad.stdout, bad.stderr);
    app.assert_on(&["app1", "app3"], "2.0.0", &bad);
    app.assert_on(&["app2"], "1.0.0", &bad);
    assert!(
        bad.stdout.contains("Roll back to release 1.0.0] ***"),
        "{}",
        bad.stdout
    );
    let recap = bad.recap("app2");
    assert!(
        recap.contains(" failed=1 ") && recap.ends_with(" rolled_back=1"),
        "{recap}"
    );
    for host in ["app1", "app3"] {
        assert!(bad.recap(host).contains(" failed=0 "), "{}", bad.stdout);
    }
}

#[test]
fn a_bad_first_batch_stops_the_rollout() {
    let Some(fleet) = systemd_fleet("the sample deploy on the fleet") else {
        return;
    };
    let app = Sample::new(fleet, "dt-serial", 8303);
    let good = app.deploy("1.0.0", &[]);
    assert_eq!(good.code, 0, "{}{}", good.stdout, good.stderr);
    app.inventory(&[("app1", "{app_bind: 127.0.0.2}")]);
    let bad = app.deploy("2.0.0", &["-e", "deploy_serial=1"]);
    assert_eq!(bad.code, 2, "{}{}", bad.stdout, bad.stderr);
    assert!(
        bad.stdout.contains("stopping the rollout"),
        "{}",
        bad.stdout
    );
    app.assert_on(&HOSTS, "1.0.0", &bad);
    for host in ["app2", "app3"] {
        let (code, _) = fleet.exec(host, "test -e /srv/dt-serial/releases/2.0.0");
        assert_ne!(code, 0, "{host} was not reached, yet has release 2.0.0");
    }
    assert!(
        bad.recap("app1").ends_with(" rolled_back=1"),
        "{}",
        bad.stdout
    );
}

#[test]
fn deployer_rollback_restores_the_previous_release_everywhere() {
    let Some(fleet) = systemd_fleet("the sample deploy on the fleet") else {
        return;
    };
    let app = Sample::new(fleet, "dt-back", 8304);
    for version in ["1.0.0", "2.0.0"] {
        let out = app.deploy(version, &[]);
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    }
    let back = app.project.run(&["rollback", "-i", "inv.yml"]);
    assert_eq!(back.code, 0, "{}{}", back.stdout, back.stderr);
    for host in HOSTS {
        assert!(
            back.stdout.contains(&format!(
                "{host}  ok      rolled back to 1.0.0, ran `sudo systemctl restart dt-back`"
            )),
            "{}",
            back.stdout
        );
    }
    app.assert_on(&HOSTS, "1.0.0", &back);
}

#[test]
fn a_second_concurrent_deploy_is_refused_by_the_lock() {
    let Some(fleet) = systemd_fleet("the sample deploy on the fleet") else {
        return;
    };
    let app = Sample::new(fleet, "dt-lock", 8305);
    // The first deploy's test suite (run on the controller) waits for a gate file that the test
    // creates only after the second deploy has been refused: the first holds the locks meanwhile.
    let slow_app = app.project.join("slow-app");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("app"),
        &slow_app,
    );
    let test_sh = slow_app.join("test.sh");
    let gate = app.project.join("gate");
    let suite = std::fs::read_to_string(&test_sh).unwrap();
    let wait = format!(
        "set -eu\nfor _ in $(seq 600); do test -e '{}' && break; sleep 0.1; done\n",
        gate.display()
    );
    std::fs::write(&test_sh, suite.replacen("set -eu\n", &wait, 1)).unwrap();
    let args = app.deploy_args("1.0.0", &["-e", &format!("app_src={}", slow_app.display())]);
    let mut first = Command::new(env!("CARGO_BIN_EXE_deployer"))
        .args(&args)
        .current_dir(app.project.join(""))
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let deadline = Instant::now() + Duration::from_secs(20);
    while HOSTS
        .iter()
        .any(|h| fleet.exec(h, "test -d /tmp/dt-lock.lock").0 != 0)
    {
        assert!(Instant::now() < deadline, "the first deploy took no lock");
        std::thread::sleep(Duration::from_millis(100));
    }

    let second = app.deploy("1.0.0", &[]);
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first deploy was still running"
    );
    std::fs::write(&gate, "").unwrap();
    assert_eq!(second.code, 5, "{}{}", second.stdout, second.stderr);
    for host in HOSTS {
        assert!(
            second.stdout.contains(&format!(
                "fatal: [{host}]: FAILED! => {{\"failed\":true,\"msg\":\"the deploy lock /tmp/dt-lock.lock is held by "
            )),
            "{}",
            second.stdout
        );
    }
    assert!(
        !second.stdout.contains("TASK [app :"),
        "nothing ran: {}",
        second.stdout
    );

    let first = first.wait_with_output().unwrap();
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stdout)
    );
    let (code, _) = fleet.exec("app1", "test -e /tmp/dt-lock.lock");
    assert_ne!(code, 0, "the first deploy released its lock");
}

#[test]
fn a_lock_on_the_bastion_refuses_every_host_behind_it_until_removed() {
    let Some(fleet) = systemd_fleet("the sample deploy on the fleet") else {
        return;
    };
    let app = Sample::new(fleet, "dt-blck", 8307);
    let lock = "/tmp/dt-blck-bastion.lock";
    let inventory = app.project.join("inv.yml");
    let text = std::fs::read_to_string(&inventory).unwrap().replacen(
        "  vars:\n",
        &format!(
            "  vars:\n    deployer_lock_bastion: true\n    deployer_lock_bastion_path: {lock}\n"
        ),
        1,
    );
    std::fs::write(&inventory, text).unwrap();
    // Another controller's run holds the bastion: `expires` says until when.
    let hold = |expires: &str| {
        let (code, out) = fleet.exec(
            "bastion",
            &format!(
                "rm -rf {lock} && mkdir {lock} && printf 'owner=alice@laptop\\nrun=other\\n\
                 started=2026-11-23T10:00:00Z\\nexpires={expires}\\n' > {lock}/owner && \
                 chown -R deploy {lock}"
            ),
        );
        assert_eq!(code, 0, "{out}");
    };
    let bastion = format!("deploy@127.0.0.1:{}", fleet.bastion_port());
    let holder = "alice@laptop (run other, since 2026-11-23T10:00:00Z)";

    hold("99999999999");
    let refused = app.deploy("1.0.0", &[]);
    assert_eq!(refused.code, 5, "{}{}", refused.stdout, refused.stderr);
    for host in HOSTS {
        assert!(
            refused.stdout.contains(&format!(
                "fatal: [{host}]: FAILED! => {{\"failed\":true,\"msg\":\"the deploy lock {lock} on the bastion {bastion} is held by {holder}\"}}"
            )),
            "{}",
            refused.stdout
        );
        assert_eq!(app.current(host), "", "{host} was left untouched");
    }

    let unlock = app.project.run(&["unlock", "-i", "inv.yml"]);
    assert_eq!(unlock.code, 0, "{}{}", unlock.stdout, unlock.stderr);
    assert!(
        unlock
            .stdout
            .contains(&format!("bastion {bastion}: removed the lock of {holder}")),
        "{}",
        unlock.stdout
    );
    assert_ne!(fleet.exec("bastion", &format!("test -e {lock}")).0, 0);

    // A lock past its expiry was left by a crashed run: taken over, then released at the end.
    hold("1");
    let deployed = app.deploy("1.0.0", &[]);
    assert_eq!(deployed.code, 0, "{}{}", deployed.stdout, deployed.stderr);
    assert!(
        deployed.stdout.contains(&format!(
            "[WARNING]: bastion {bastion}: took over the stale deploy lock of {holder}"
        )),
        "{}",
        deployed.stdout
    );
    app.assert_on(&HOSTS, "1.0.0", &deployed);
    assert_ne!(
        fleet.exec("bastion", &format!("test -e {lock}")).0,
        0,
        "the run released the bastion lock"
    );
}

#[test]
fn a_rolling_deploy_keeps_all_but_one_host_serving() {
    let Some(fleet) = systemd_fleet("the sample deploy on the fleet") else {
        return;
    };
    let app = Sample::new(fleet, "dt-roll", 8306);
    let good = app.deploy("1.0.0", &[]);
    assert_eq!(good.code, 0, "{}{}", good.stdout, good.stderr);

    // The watcher, on the bastion: one line per sample, each host's answer (or `-`).
    let stop = "/tmp/dt-roll.stop";
    fleet.exec("bastion", &format!("rm -f {stop}"));
    let watch = format!(
        "while [ ! -e {stop} ]; do line=''; for h in app1 app2 app3; do \
         v=$(curl -sf --max-time 1 http://$h:8306/version.txt) || v=-; line=\"$line $v\"; done; \
         echo $line; done"
    );
    let watcher = std::thread::spawn(move || fleet.exec("bastion", &watch).1);
    std::thread::sleep(Duration::from_millis(500));
    let rolled = app.deploy("2.0.0", &["-e", "deploy_serial=1"]);
    std::thread::sleep(Duration::from_millis(500));
    fleet.exec("bastion", &format!("touch {stop}"));
    let samples = watcher.join().unwrap();
    fleet.exec("bastion", &format!("rm -f {stop}"));
    assert_eq!(rolled.code, 0, "{}{}", rolled.stdout, rolled.stderr);
    app.assert_on(&HOSTS, "2.0.0", &rolled);

    let lines: Vec<Vec<&str>> = samples
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(lines.len() > 10, "too few samples:\n{samples}");
    assert_eq!(lines.first().unwrap(), &["1.0.0"; 3], "{samples}");
    assert_eq!(lines.last().unwrap(), &["2.0.0"; 3], "{samples}");
    for line in &lines {
        let serving = line.iter().filter(|v| **v != "-").count();
        assert!(serving >= 2, "fewer than 2 of 3 hosts served:\n{samples}");
    }
    // Hosts only ever move forward: the number on the new release never goes down.
    let order: Vec<usize> = lines
        .iter()
        .map(|l| l.iter().filter(|v| **v == "2.0.0").count())
        .collect();
    assert!(
        order.windows(2).all(|w| w[1] >= w[0]),
        "versions went back and forth:\n{samples}"
    );
}

/// Copies a folder tree (files and folders only).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
