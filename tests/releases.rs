//! Releases on the local connection: switching, automatic rollback after a failed health check,
//! and users' own rescue blocks taking precedence.

use crate::support::{Project, Recorder, local_inventory};

const DEPLOY: &str = "- hosts: app
  gather_facts: false
  tasks:
    - name: Ship
      release:
        deploy_to: \"{{ root }}/srv\"
        release: \"{{ version }}\"
        state: current
      notify: restart
    - meta: flush_handlers
    - name: Healthy?
      health_check:
        command: \"test $(readlink {{ root }}/srv/current) != releases/bad\"
        retries: 1
        delay: 0
  handlers:
    - name: restart
      shell: readlink {{ root }}/srv/current >> {{ root }}/restarts
";

fn current(p: &Project) -> String {
    std::fs::read_link(p.join("srv/current"))
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn a_failed_health_check_rolls_the_host_back() {
    let p = Project::local(&["localhost"], DEPLOY);
    let root = format!("root={}", p.path_str());
    let good = p.site(&["-e", &root, "-e", "version=v1"]);
    assert_eq!(good.code, 0, "{}", good.stdout);
    assert_eq!(current(&p), "releases/v1");

    let hook = Recorder::start();
    let bad = p.site_env(
        &["-e", &root, "-e", "version=bad"],
        &[("DEPLOYER_NOTIFY_WEBHOOK", &hook.url)],
    );
    assert_eq!(bad.code, 2, "{}", bad.stdout);
    assert_eq!(current(&p), "releases/v1", "rolled back: {}", bad.stdout);
    let told = hook.bodies().concat();
    assert!(told.contains("rolled back localhost"), "{told}");
    assert!(told.contains("FAILED (failed: localhost)"), "{told}");
    assert!(
        bad.stdout.contains("TASK [Roll back to release v1]"),
        "{}",
        bad.stdout
    );
    assert_eq!(
        bad.recap("localhost"),
        "ok=5 changed=4 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0 rolled_back=1",
        "{}",
        bad.stdout
    );
    let restarts = std::fs::read_to_string(p.join("restarts")).unwrap();
    assert_eq!(
        restarts, "releases/v1\nreleases/bad\nreleases/v1\n",
        "the handler ran again after the rollback"
    );
}

#[test]
fn a_rescue_block_keeps_the_user_in_charge() {
    let playbook = DEPLOY.replace(
        "    - name: Healthy?\n      health_check:\n        command: \"test $(readlink {{ root }}/srv/current) != releases/bad\"\n        retries: 1\n        delay: 0\n",
        "    - block:\n        - health_check: {command: \"test {{ version }} != bad\", retries: 0, delay: 0}\n      rescue:\n        - debug: {msg: handled by the user}\n",
    );
    let p = Project::local(&["localhost"], &playbook);
    let root = format!("root={}", p.path_str());
    p.site(&["-e", &root, "-e", "version=v1"]);
    let out = p.site(&["-e", &root, "-e", "version=bad"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(current(&p), "releases/bad");
    assert!(out.stdout.contains("handled by the user"));
}

#[test]
fn releases_and_rollback_commands_work_on_every_host() {
    let p = Project::local(&["localhost"], DEPLOY);
    let root = format!("root={}", p.path_str());
    for version in ["v1", "v2"] {
        let out = p.site(&["-e", &root, "-e", &format!("version={version}")]);
        assert_eq!(out.code, 0, "{}", out.stdout);
    }
    let srv = p.join("srv").display().to_string();
    let listed = p.run(&["releases", "-i", "inv.yml", "--deploy-to", &srv]);
    assert_eq!(listed.code, 0, "{}{}", listed.stdout, listed.stderr);
    assert_eq!(
        listed.stdout,
        "localhost  ok      current=v2 releases=v2,v1\n"
    );
    let back = p.run(&["rollback", "-i", "inv.yml", "--deploy-to", &srv]);
    assert_eq!(
        back.stdout, "localhost  ok      rolled back to v1\n",
        "{}",
        back.stderr
    );
    assert_eq!(current(&p), "releases/v1");
    let to = p.run(&[
        "rollback",
        "-i",
        "inv.yml",
        "--deploy-to",
        &srv,
        "--to",
        "v2",
    ]);
    assert_eq!(to.code, 0);
    assert_eq!(current(&p), "releases/v2");
    let missing = p.run(&[
        "rollback",
        "-i",
        "inv.yml",
        "--deploy-to",
        &srv,
        "--to",
        "v9",
    ]);
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stdout
            .contains("release v9 does not exist on this host"),
        "{}",
        missing.stdout
    );
}

#[test]
fn a_held_deploy_lock_refuses_a_second_run_until_unlocked() {
    let p = Project::new().file("inv.yml", &local_inventory(&["localhost"]));
    let lock = p.join("deploy.lock");
    let playbook = format!(
        "- hosts: app\n  gather_facts: false\n  vars:\n    deployer_lock: true\n    deployer_lock_path: {}\n  tasks:\n    - command: 'true'\n",
        lock.display()
    );
    let p = p.file("site.yml", &playbook);
    let ok = p.site(&[]);
    assert_eq!(ok.code, 0, "{}", ok.stdout);
    assert!(!lock.exists(), "the lock is released when the run ends");

    std::fs::create_dir(&lock).unwrap();
    std::fs::write(
        lock.join("owner"),
        "owner=alice@laptop\nrun=other\nstarted=2026-11-23T10:00:00Z\nexpires=99999999999\n",
    )
    .unwrap();
    let refused = p.site(&[]);
    assert_eq!(refused.code, 5, "{}", refused.stdout);
    assert!(
        refused.stdout.contains(&format!(
            "the deploy lock {} is held by alice@laptop (run other, since 2026-11-23T10:00:00Z)",
            lock.display()
        )),
        "{}",
        refused.stdout
    );
    assert!(
        !refused.stdout.contains("TASK [command]"),
        "nothing ran: {}",
        refused.stdout
    );

    let inventory = format!(
        "{}          deployer_lock_path: {}\n",
        local_inventory(&["localhost"]),
        lock.display()
    );
    let p = p.file("inv.yml", &inventory);
    let unlocked = p.run(&["unlock", "-i", "inv.yml"]);
    assert_eq!(
        unlocked.stdout,
        "localhost  ok      removed the lock of alice@laptop (run other, since 2026-11-23T10:00:00Z)\n"
    );
    assert_eq!(p.site(&[]).code, 0);
}

#[test]
fn a_rollback_is_reported_between_the_failed_step_and_the_next() {
    let playbook = format!(
        "{}    - name: After\n      command: 'true'\n",
        DEPLOY
            .replace("{{ root }}/srv", "{{ root }}/{{ inventory_hostname }}")
            .replace(
                "test $(readlink {{ root }}/{{ inventory_hostname }}/current) != releases/bad",
                "test {{ inventory_hostname }} = h1 -o $(readlink {{ root }}/{{ inventory_hostname }}/current) != releases/bad",
            )
            .replace("  handlers:", "")
            .replace("    - name: restart\n      shell: readlink {{ root }}/{{ inventory_hostname }}/current >> {{ root }}/restarts\n", "")
            .replace("      notify: restart\n", "")
    );
    let p = Project::local(&["h1", "h2"], &playbook);
    let root = format!("root={}", p.path_str());
    assert_eq!(p.site(&["-e", &root, "-e", "version=v1"]).code, 0);
    let out = p.site(&["-e", &root, "-e", "version=bad"]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    // h1's result for the health check may be printed before or after h2's failure; what
    // matters is that the rollback comes after the failure and before the next task.
    let failed_at = out
        .stdout
        .find("fatal: [h2]: FAILED!")
        .unwrap_or_else(|| panic!("{}", out.stdout));
    let rollback_at = out
        .stdout
        .find("TASK [Roll back")
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(failed_at < rollback_at, "{}", out.stdout);
    let tail = &out.stdout[rollback_at..];
    let headers_and_results: Vec<&str> = tail
        .lines()
        .filter(|l| l.starts_with("TASK") || l.starts_with("ok:") || l.starts_with("changed:"))
        .map(|l| l.trim_end_matches([' ', '*']))
        .collect();
    assert_eq!(
        headers_and_results,
        [
            "TASK [Roll back to release v1]",
            "changed: [h2]",
            "TASK [Healthy?]",
            "ok: [h2]",
            "TASK [After]",
            "changed: [h1]",
        ],
        "{}",
        out.stdout
    );
}

#[test]
fn a_health_check_run_from_the_controller_rolls_back_the_host_it_checks() {
    let playbook = DEPLOY
        .replace("{{ root }}/srv", "{{ root }}/{{ inventory_hostname }}")
        .replace(
            "test $(readlink {{ root }}/{{ inventory_hostname }}/current) != releases/bad",
            "test {{ inventory_hostname }} = h1 -o $(readlink {{ root }}/{{ inventory_hostname }}/current) != releases/bad",
        )
        .replace("        delay: 0\n", "        delay: 0\n      delegate_to: localhost\n");
    let p = Project::local(&["h1", "h2"], &playbook);
    let root = format!("root={}", p.path_str());
    assert_eq!(p.site(&["-e", &root, "-e", "version=v1"]).code, 0);
    let out = p.site(&["-e", &root, "-e", "version=bad"]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stdout.contains("fatal: [h2 -> localhost]: FAILED!"),
        "{}",
        out.stdout
    );
    let current = |host: &str| {
        std::fs::read_link(p.join(&format!("{host}/current")))
            .unwrap()
            .display()
            .to_string()
    };
    assert_eq!(
        (current("h1"), current("h2")),
        ("releases/bad".into(), "releases/v1".into()),
        "{}",
        out.stdout
    );
    assert!(out.recap("h2").ends_with("rolled_back=1"), "{}", out.stdout);
}
