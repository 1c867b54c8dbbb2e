//! One long-lived shell per host and become user, over SSH on the fleet: a login is paid once per
//! run, not once per command. Each test logs in as a user of its own whose `.bashrc` (read by
//! bash for every SSH command, as on Debian) counts the logins in `~/logins`.

use crate::fleet::{Fleet, fleet};
use crate::support::Project;

/// A project running `playbook` on `host`, logged in as `user`.
fn project_as(fleet: &Fleet, host: &str, user: &str, playbook: &str) -> Project {
    let inventory = std::fs::read_to_string(fleet.inventory()).expect("fleet inventory");
    let inventory = inventory.replace(
        &format!("{host}: {{}}"),
        &format!("{host}: {{ansible_user: {user}}}"),
    );
    fleet.project(playbook).file("inv.yml", &inventory)
}

fn logins(fleet: &Fleet, host: &str, user: &str) -> usize {
    let text = fleet
        .read(host, &format!("/home/{user}/logins"))
        .expect("the login count exists");
    text.lines().count()
}

fn tasks(name: &str, count: usize, task: &str) -> String {
    (0..count)
        .map(|i| format!("    - name: {name}{i}\n      {task}\n"))
        .collect()
}

#[test]
fn a_login_is_paid_once_per_host_and_become_user() {
    let Some(fleet) = fleet() else { return };
    fleet.login_counting_user("app2", "shellonce");
    fleet.exec("app2", "rm -f /tmp/shellonce-copy");
    let playbook = format!(
        "- hosts: app2\n  gather_facts: false\n  tasks:\n{}{}{}",
        tasks("plain", 10, "command: \"true\""),
        tasks(
            "become",
            5,
            "command: id -un\n      become: true\n      register: who"
        ),
        tasks(
            "copy",
            5,
            "copy: {content: \"x\\n\", dest: /tmp/shellonce-copy}"
        ),
    );
    let project = project_as(fleet, "app2", "shellonce", &playbook);
    let out = project.site(&["--format", "json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let recap = &out.recap_counts()["app2"];
    assert_eq!(
        (&recap["ok"], &recap["changed"]),
        (&20.into(), &16.into()),
        "{recap}"
    );
    assert_eq!(out.result("app2", "become4")["stdout"], "root");
    // One login for the user's shell, one for the shell that runs sudo.
    assert_eq!(logins(fleet, "app2", "shellonce"), 2);

    fleet.login_counting_user("app2", "shellonce");
    let out = project.site(&["--session-per-command"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(logins(fleet, "app2", "shellonce") >= 20);
}

#[test]
fn a_shell_killed_between_tasks_is_replaced_with_a_warning() {
    let Some(fleet) = fleet() else { return };
    fleet.login_counting_user("app3", "shellkill");
    let playbook = r#"- hosts: app3
  gather_facts: false
  tasks:
    - name: before
      command: "true"
    - name: kill the shell
      shell: "(sleep 1; pkill -9 -u shellkill -f 'deployer-shell-read[y]') >/dev/null 2>&1 &"
    - name: wait
      pause: {seconds: 2}
    - name: after
      command: echo after
      register: after
"#;
    let out = project_as(fleet, "app3", "shellkill", playbook).site(&["--format", "json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.result("app3", "after")["stdout"], "after");
    assert!(
        out.stderr.contains("starting a new one"),
        "no warning:\n{}",
        out.stderr
    );
    assert_eq!(logins(fleet, "app3", "shellkill"), 2);
}

#[test]
fn a_task_timeout_kills_only_its_command_and_the_shell_runs_the_next_task() {
    let Some(fleet) = fleet() else { return };
    fleet.login_counting_user("app1", "shelltimeout");
    let playbook = r#"- hosts: app1
  gather_facts: false
  tasks:
    - name: before
      command: "true"
    - name: slow
      shell: "sleep 30; echo late"
      timeout: 2
      ignore_errors: true
    - name: after
      shell: "echo after; pgrep -u shelltimeout -x sleep || true"
"#;
    let out = project_as(fleet, "app1", "shelltimeout", playbook).site(&["--format", "json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let slow = out.result("app1", "slow");
    assert_eq!(slow["failed"], true, "{slow}");
    assert_eq!(
        slow["msg"],
        "the task did not finish within its timeout (2 s) and was stopped"
    );
    // The next task ran in the same shell, once the host had killed the command (no `sleep` left).
    assert_eq!(out.result("app1", "after")["stdout"], "after");
    assert_eq!(logins(fleet, "app1", "shelltimeout"), 1);
}

#[test]
fn reboot_waits_for_a_new_boot_id_over_a_new_connection_and_the_next_task_runs() {
    let Some(fleet) = fleet() else { return };
    fleet.login_counting_user("app3", "rebooter");
    // The "reboot" kills every process of the user, the SSH session's among them, as a reboot
    // drops the connection; the boot id it reads is a file it rewrites first.
    let playbook = r#"- hosts: app3
  gather_facts: false
  tasks:
    - copy: {content: "first\n", dest: /home/rebooter/boot_id}
    - name: reboot
      reboot:
        boot_time_command: cat /home/rebooter/boot_id
        reboot_command: sh -c 'echo second > /home/rebooter/boot_id; (sleep 0.5; pkill -KILL -u rebooter) >/dev/null 2>&1 &'
        connect_timeout: 5
        reboot_timeout: 60
    - name: after
      command: cat /home/rebooter/boot_id
      register: after
"#;
    let out = project_as(fleet, "app3", "rebooter", playbook).site(&["--format", "json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let rebooted = out.result("app3", "reboot");
    assert_eq!(
        (&rebooted["rebooted"], &rebooted["changed"]),
        (&true.into(), &true.into()),
        "{rebooted}"
    );
    assert_eq!(out.result("app3", "after")["stdout"], "second");
    // The first login, and the one after the connection dropped.
    assert!(logins(fleet, "app3", "rebooter") >= 2);
}

#[test]
fn ansibles_module_code_is_kept_on_the_host_and_never_run_from_another_users_folder() {
    let Some(fleet) = fleet() else { return };
    let Some(ansible) = crate::differential::ansible_playbook() else {
        return;
    };
    fleet.login_counting_user("app1", "keeper");
    fleet.exec("app1", "rm -rf /home/keeper/.cache");
    let playbook = r#"- hosts: app1
  gather_facts: false
  tasks:
    - name: first
      ansible.builtin.dpkg_selections: {name: openssh-server, selection: install}
    - name: second
      ansible.builtin.dpkg_selections: {name: openssh-server, selection: install}
      register: second
"#;
    let project = project_as(fleet, "app1", "keeper", playbook);
    let path = crate::differential::path_with(ansible.parent().expect("a folder"));
    let path = path.to_str().expect("a UTF-8 PATH");
    let out = project.site_env(&["--format", "json"], &[("PATH", path)]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.result("app1", "second")["after"], "install");
    // The events say which code a task runs (the terminal says it at `-v`).
    assert!(
        out.stdout
            .lines()
            .any(|line| line.contains(r#""event":"task_started""#)
                && line.contains(r#""ansible_code":""#)
                && line.contains(r#"/ansible/modules/dpkg_selections.py""#)),
        "{}",
        out.stdout
    );
    // One folder, the user's own and private to it.
    let kept = "/home/keeper/.cache/deployer/ansible";
    let (_, listing) = fleet.exec("app1", &format!("stat -c '%U %a' {kept}/*"));
    assert_eq!(listing, "keeper 700\n");

    // A folder the user does not own (here: made someone else's and readable, holding other code)
    // is not run:
    // the module's own code is sent again, and runs from the zip.
    fleet.exec(
        "app1",
        &format!(
            "for d in {kept}/*; do printf 'print(\"{{\\\\\"changed\\\\\": true, \\\\\"msg\\\\\": \\\\\"not ours\\\\\"}}\")\\n' > $d/__main__.py; chown -R deploy $d; chmod -R a+rX $d; done"
        ),
    );
    let out = project.site_env(&["--format", "json"], &[("PATH", path)]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let second = out.result("app1", "second");
    assert_eq!(
        (&second["changed"], &second["after"]),
        (&false.into(), &"install".into()),
        "{second}"
    );
}
