//! Faults on the Docker fleet: a host frozen mid-rollout, the network cut during a transfer, a
//! full disk, a changed host key, the bastion connection dropped, Ctrl-C. Each test checks that
//! the run ends within a bound, says what happened, and what every host is left with.
//!
//! The tests that disturb hosts other tests share (pausing a host, cutting its network, killing
//! the bastion's sessions) are `#[ignore]`d from the parallel suite and take [`exclusive`];
//! scripts/test runs them alone: `cargo test --test integration faults:: -- --ignored
//! --test-threads=1`.

use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::deploys::Sample;
use crate::fleet::{Fleet, fleet, systemd_fleet};
use crate::support::{Output, Project};

/// Serialises the tests that disturb shared hosts.
fn exclusive() -> MutexGuard<'static, ()> {
    static ALONE: Mutex<()> = Mutex::new(());
    ALONE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts `deployer ARGS` in the project, its output captured.
/// A run of `site.yml` that notices a dead link within seconds: keepalives every 2 s, a 5 s
/// connect timeout.
const WATCHFUL_RUN: [&str; 8] = [
    "run",
    "site.yml",
    "-i",
    "inv.yml",
    "--keepalive",
    "2",
    "--timeout",
    "5",
];

fn spawn<S: AsRef<str>>(project: &Project, args: &[S]) -> Child {
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    project
        .command(&args, &[("NO_COLOR", "1")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs")
}

/// Waits at most `limit` for a run to end, and how long it took; a run that hangs is killed
/// and fails the test.
fn finish(child: Child, limit: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let pid = child.id().to_string();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(child.wait_with_output()));
    match receiver.recv_timeout(limit) {
        Ok(output) => (output.expect("the run's output").into(), started.elapsed()),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            panic!("the run hung: still running after {limit:?}");
        }
    }
}

/// Polls a shell test on a fleet host until it holds, for at most `limit`.
fn wait_on(fleet: &Fleet, host: &str, test: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    while fleet.exec(host, test).0 != 0 {
        assert!(Instant::now() < deadline, "`{test}` never held on {host}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `docker ARGS`, asserting it succeeds.
fn docker(args: &[&str]) {
    let out = Command::new("docker").args(args).output().expect("docker");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A `docker` command run when dropped: undoes a disturbance even when the test fails.
struct Undo(Vec<String>);

impl Undo {
    fn new(args: &[&str]) -> Undo {
        Undo(args.iter().map(|s| s.to_string()).collect())
    }
}

impl Drop for Undo {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(&self.0).output();
    }
}

/// Waits until `deployer ping` reaches `host` again (after a disturbance).
fn wait_reachable(project: &Project, host: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = project.run(&["ping", "-i", "inv.yml", "-l", host, "--timeout", "5"]);
        if out.code == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{host} is not reachable again: {}",
            out.stdout
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
#[ignore = "disturbs hosts other tests share: run alone with `faults:: -- --ignored --test-threads=1`"]
fn a_host_frozen_mid_rollout_is_unreachable_and_every_host_keeps_a_working_release() {
    let Some(fleet) = systemd_fleet("the frozen host fault test") else {
        return;
    };
    let _alone = exclusive();
    let app = Sample::new(fleet, "ft-pause", 8311);
    let good = app.deploy("1.0.0", &[]);
    assert_eq!(good.code, 0, "{}{}", good.stdout, good.stderr);

    let args = app.deploy_args(
        "2.0.0",
        &[
            "-e",
            "deploy_serial=1",
            "--keepalive",
            "1",
            "--timeout",
            "5",
        ],
    );
    let run = spawn(&app.project, &args);
    // The rollout is under way (app1, the first batch, is unpacking its new release) and app2,
    // whose connection and deploy lock were made at the start, freezes before its turn. Freezing
    // it at a point inside its own tasks would race them: frozen between the switch and the
    // restart, a host serves the old release from the new `current` until someone restarts it.
    wait_on(
        fleet,
        "app1",
        "test -d /srv/ft-pause/releases/2.0.0",
        Duration::from_secs(120),
    );
    let container = fleet.container("app2");
    let unpause = Undo::new(&["unpause", &container]);
    docker(&["pause", &container]);
    let (out, took) = finish(run, Duration::from_secs(90));
    drop(unpause);

    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(
        out.stdout.contains("fatal: [app2]: UNREACHABLE! =>"),
        "{}",
        out.stdout
    );
    assert!(
        out.recap("app2").contains(" unreachable=1 "),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("stopping the rollout"),
        "max_fail_percentage 0 stops the rollout: {}",
        out.stdout
    );
    app.assert_on(&["app1"], "2.0.0", &out);
    app.assert_on(&["app2", "app3"], "1.0.0", &out);
}

#[test]
#[ignore = "disturbs hosts other tests share: run alone with `faults:: -- --ignored --test-threads=1`"]
fn a_network_cut_during_a_transfer_fails_the_host_and_leaves_the_old_file() {
    let Some(fleet) = fleet() else { return };
    let _alone = exclusive();
    let dir = "/tmp/ft-net";
    fleet.exec(
        "app3",
        &format!(
            "rm -rf {dir} && mkdir {dir} && echo old > {dir}/big.bin && chown -R deploy: {dir}"
        ),
    );
    let p = fleet.project(
        "- hosts: app3\n  gather_facts: false\n  tasks:\n    - name: Upload the big file\n      copy: {src: big.bin, dest: /tmp/ft-net/big.bin}\n      timeout: 60\n",
    );
    let big = std::fs::File::create(p.join("big.bin")).unwrap();
    big.set_len(768 << 20).unwrap();
    let run = spawn(&p, &WATCHFUL_RUN);
    wait_on(
        fleet,
        "app3",
        "test -n \"$(find /tmp/ft-net -name '.deployer-tmp.*' -size +1M)\"",
        Duration::from_secs(60),
    );
    let (container, network) = (fleet.container("app3"), fleet.container("private"));
    let reconnect = Undo::new(&[
        "network", "connect", "--alias", "app3", &network, &container,
    ]);
    docker(&["network", "disconnect", &network, &container]);
    let (out, took) = finish(run, Duration::from_secs(90));
    drop(reconnect);

    assert!(matches!(out.code, 2 | 3), "{}{}", out.stdout, out.stderr);
    assert!(took < Duration::from_secs(45), "took {took:?}");
    assert!(
        out.stdout.contains("fatal: [app3]: UNREACHABLE!")
            || out.stdout.contains("fatal: [app3]: FAILED!"),
        "{}",
        out.stdout
    );
    let (_, head) = fleet.exec("app3", &format!("head -c 100 {dir}/big.bin"));
    assert_eq!(head, "old\n", "the old file is intact");
    let (_, listing) = fleet.exec("app3", &format!("ls {dir}"));
    assert_eq!(listing, "big.bin\n", "nothing else is visible");
    wait_reachable(&p, "app3");
    fleet.exec("app3", &format!("rm -rf {dir}"));
}

#[test]
fn a_full_disk_fails_the_copy_with_a_clear_message_and_keeps_the_old_file() {
    let Some(fleet) = fleet() else { return };
    // /dev/shm is a 64 MB tmpfs in every container: fill it (as root) around a deploy-owned
    // folder holding the old file.
    let (dir, filler) = ("/dev/shm/ft-full", "/dev/shm/ft-full.filler");
    let clean = format!("rm -rf {dir} {filler}");
    fleet.exec("app1", &clean);
    let (code, _) = fleet.exec(
        "app1",
        &format!(
            "mkdir {dir} && echo old > {dir}/app.conf && chown -R deploy: {dir} && \
             {{ dd if=/dev/zero of={filler} bs=1M 2>/dev/null; true; }} && test \"$(df --output=avail {dir} | tail -1)\" -lt 1024"
        ),
    );
    assert_eq!(code, 0, "cannot fill /dev/shm on app1");
    let p = fleet
        .project(
            "- hosts: app1\n  gather_facts: false\n  tasks:\n    - name: Write the config\n      copy: {src: app.conf, dest: /dev/shm/ft-full/app.conf}\n",
        )
        .file("app.conf", &"new setting\n".repeat(200_000));
    let out = p.site(&[]);
    let (_, old) = fleet.exec("app1", &format!("cat {dir}/app.conf"));
    let (_, listing) = fleet.exec("app1", &format!("ls -A {dir}"));
    fleet.exec("app1", &clean);

    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    let failure = out
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("TASK [Write the config]"))
        .find(|l| l.starts_with("fatal: "))
        .unwrap_or_else(|| panic!("no failure under the task:\n{}", out.stdout));
    assert!(failure.starts_with("fatal: [app1]: FAILED!"), "{failure}");
    assert!(
        failure.contains("cannot write /dev/shm/ft-full/app.conf")
            && failure.contains("No space left on device"),
        "{failure}"
    );
    assert_eq!(old, "old\n", "the old file is intact");
    assert_eq!(listing, "app.conf\n", "no temp file is left");
}

#[test]
fn a_changed_host_key_is_refused_and_nothing_reaches_that_host() {
    let Some(fleet) = fleet() else { return };
    let marker = "/tmp/ft-hostkey.marker";
    let p = fleet.project(&format!(
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - name: Leave a marker\n      command: touch {marker}\n"
    ));
    // app2 is known by app1's key: to the client, app2's key has changed.
    let known = std::fs::read_to_string(fleet.dir.join("known_hosts")).unwrap();
    let mut edited: Vec<String> = known
        .lines()
        .filter(|l| !l.starts_with("app2 "))
        .map(str::to_string)
        .collect();
    edited.extend(
        known
            .lines()
            .filter_map(|l| l.strip_prefix("app1 "))
            .map(|key| format!("app2 {key}")),
    );
    let known_hosts = p.join("known_hosts");
    std::fs::write(&known_hosts, edited.join("\n") + "\n").unwrap();
    let inventory = std::fs::read_to_string(p.join("inv.yml")).unwrap();
    let original = fleet.dir.join("known_hosts").display().to_string();
    assert!(inventory.contains(&original), "{inventory}");
    let p = p.file(
        "inv.yml",
        &inventory.replace(&original, &known_hosts.display().to_string()),
    );

    for accept_new in [false, true] {
        for host in crate::deploys::HOSTS {
            fleet.exec(host, &format!("rm -f {marker}"));
        }
        let mut args = vec!["run", "site.yml", "-i", "inv.yml"];
        if accept_new {
            args.push("--accept-new-host-keys");
        }
        let out = p.run(&args);
        assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
        let refused = out
            .stdout
            .lines()
            .find(|l| l.starts_with("fatal: [app2]: UNREACHABLE!"))
            .unwrap_or_else(|| panic!("app2 not refused:\n{}", out.stdout));
        assert!(
            refused.contains("the host key of app2 has CHANGED"),
            "{refused}"
        );
        assert_eq!(fleet.exec("app2", &format!("test -e {marker}")).0, 1);
        for host in ["app1", "app3"] {
            assert_eq!(
                fleet.exec(host, &format!("test -e {marker}")).0,
                0,
                "{host}"
            );
        }
    }
    assert_eq!(
        std::fs::read_to_string(&known_hosts).unwrap(),
        edited.join("\n") + "\n",
        "accept-new records no changed key"
    );
}

#[test]
#[ignore = "disturbs hosts other tests share: run alone with `faults:: -- --ignored --test-threads=1`"]
fn a_dropped_bastion_connection_fails_the_hosts_cleanly_and_the_next_run_reconnects() {
    let Some(fleet) = fleet() else { return };
    let _alone = exclusive();
    let marker = "/tmp/ft-bastion.marker";
    for host in crate::deploys::HOSTS {
        fleet.exec(host, &format!("rm -f {marker}"));
    }
    let sleeps: String = (1..=4)
        .map(|i| format!("    - name: Sleep {i}\n      command: sleep 1\n"))
        .collect();
    let p = fleet.project(&format!(
        "- hosts: app\n  gather_facts: false\n  tasks:\n{sleeps}    - name: Leave a marker\n      command: touch {marker}\n"
    ));
    let run = spawn(&p, &WATCHFUL_RUN);
    wait_on(
        fleet,
        "app1",
        "pgrep -u deploy -x sleep",
        Duration::from_secs(30),
    );
    fleet.exec("bastion", "pkill -u deploy sshd");
    let (out, took) = finish(run, Duration::from_secs(60));

    assert!(matches!(out.code, 0 | 3), "{}{}", out.stdout, out.stderr);
    assert!(took < Duration::from_secs(30), "took {took:?}");
    for host in crate::deploys::HOSTS {
        let recap = out.recap(host);
        let marked = fleet.exec(host, &format!("test -e {marker}")).0 == 0;
        if recap.contains(" unreachable=0 ") {
            assert!(
                marked,
                "{host} finished without its marker:\n{}",
                out.stdout
            );
        } else {
            assert!(
                !marked,
                "{host} was unreachable yet went on:\n{}",
                out.stdout
            );
            assert!(
                out.stdout
                    .contains(&format!("fatal: [{host}]: UNREACHABLE!")),
                "{}",
                out.stdout
            );
        }
    }
    assert_eq!(
        out.code, 3,
        "the in-flight commands were cut:\n{}",
        out.stdout
    );

    let again = p.site(&[]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    for host in crate::deploys::HOSTS {
        assert_eq!(
            fleet.exec(host, &format!("test -e {marker}")).0,
            0,
            "{host}"
        );
    }
}

#[test]
fn ctrl_c_during_a_fleet_deploy_exits_130_releases_every_lock_and_logs_it() {
    let Some(fleet) = fleet() else { return };
    let (lock, marker) = ("/tmp/ft-int.lock", "/tmp/ft-int.marker");
    for host in crate::deploys::HOSTS {
        fleet.exec(host, &format!("rm -rf {lock} {marker}"));
    }
    let p = fleet.project(&format!(
        "- hosts: app\n  gather_facts: false\n  vars:\n    deployer_lock: true\n    deployer_lock_path: {lock}\n  tasks:\n    - name: Long step\n      command: sleep 3\n    - name: Leave a marker\n      command: touch {marker}\n"
    ));
    let run = spawn(&p, &["run", "site.yml", "-i", "inv.yml"]);
    for host in crate::deploys::HOSTS {
        wait_on(
            fleet,
            host,
            &format!("test -d {lock}"),
            Duration::from_secs(30),
        );
    }
    wait_on(
        fleet,
        "app1",
        "pgrep -u deploy -x sleep",
        Duration::from_secs(10),
    );
    let status = Command::new("kill")
        .args(["-INT", &run.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (out, took) = finish(run, Duration::from_secs(30));

    assert_eq!(out.code, 130, "{}{}", out.stdout, out.stderr);
    assert!(took < Duration::from_secs(15), "took {took:?}");
    for host in crate::deploys::HOSTS {
        assert_ne!(
            fleet.exec(host, &format!("test -e {lock}")).0,
            0,
            "{host}: lock left"
        );
        assert_ne!(
            fleet.exec(host, &format!("test -e {marker}")).0,
            0,
            "{host} went on"
        );
        // The step in flight finished.
        assert!(
            out.stdout.contains(&format!("changed: [{host}]")),
            "{}",
            out.stdout
        );
    }
    let runs = p.join(".deployer/runs");
    let id = std::fs::read_to_string(runs.join("latest")).unwrap();
    let log = std::fs::read_to_string(runs.join(id.trim()).join("events.jsonl")).unwrap();
    let events: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let recap = events
        .iter()
        .find(|e| e["event"] == "recap")
        .expect("a recap");
    assert_eq!(recap["interrupted"], true, "{log}");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "warning"
                && e["message"].as_str().unwrap().contains("interrupted")),
        "{log}"
    );
    assert_eq!(events.last().unwrap()["exit_code"], 130, "{log}");

    let second = p.site(&[]);
    assert_eq!(
        second.code, 0,
        "the lock can be taken again: {}{}",
        second.stdout, second.stderr
    );
    for host in crate::deploys::HOSTS {
        assert_eq!(
            fleet.exec(host, &format!("test -e {marker}")).0,
            0,
            "{host}"
        );
        fleet.exec(host, &format!("rm -rf {lock} {marker}"));
    }
}
