//! Security promises that need real hosts (docs/security.md): sudo passwords go only to a sudo
//! that asks for one, and a hostile host cannot reach the controller or the other hosts.

use crate::fleet::{Fleet, fleet};

/// The password of the fleet user `secpw`, who needs it for sudo.
const PASSWORD: &str = "pw-Only-For-Sudo";

/// Adds user `secpw` on `host`: the fleet key, sudo that asks for [`PASSWORD`].
fn password_sudo_user(fleet: &Fleet, host: &str) {
    let script = format!(
        "id secpw >/dev/null 2>&1 || useradd -m -s /bin/bash secpw; \
         echo 'secpw:{PASSWORD}' | chpasswd; \
         mkdir -p ~secpw/.ssh && cp ~deploy/.ssh/authorized_keys ~secpw/.ssh/ && \
         chown -R secpw: ~secpw/.ssh; \
         echo 'secpw ALL=(ALL:ALL) ALL' > /etc/sudoers.d/secpw; chmod 0440 /etc/sudoers.d/secpw; \
         sudo -k -u secpw true 2>/dev/null; rm -rf /run/sudo/ts/secpw"
    );
    let (code, out) = fleet.exec(host, &script);
    assert_eq!(code, 0, "cannot add secpw on {host}: {out}");
}

#[test]
fn the_sudo_password_is_sent_only_to_a_sudo_that_asks() {
    let Some(fleet) = fleet() else { return };
    password_sudo_user(fleet, "app2");
    let dir = "/tmp/sudo-stdin";
    let playbook = format!(
        r#"
- hosts: app1:app2
  gather_facts: false
  become: true
  tasks:
    - name: Whoami
      command: id -un
      register: who
    - name: A command reading its stdin
      shell: mkdir -p {dir} && cat > {dir}/stdin.txt
    - name: A copy
      copy: {{content: "kept\n", dest: "{dir}/copied.txt"}}
"#
    );
    let project = fleet.project(&playbook).file(
        "host_vars/app2.yml",
        &format!("ansible_user: secpw\nansible_become_password: {PASSWORD}\n"),
    );
    let project = project.file(
        "host_vars/app1.yml",
        &format!("ansible_become_password: {PASSWORD}\n"),
    );
    let out = project.site(&["--format", "json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for host in ["app1", "app2"] {
        assert_eq!(out.result(host, "Whoami")["stdout"], "root");
        assert_eq!(
            fleet.read(host, &format!("{dir}/stdin.txt")).as_deref(),
            Some(""),
            "on {host} (app1: NOPASSWD sudo, app2: sudo asks) the command's stdin is its own"
        );
        assert_eq!(
            fleet.read(host, &format!("{dir}/copied.txt")).as_deref(),
            Some("kept\n")
        );
        fleet.exec(host, &format!("rm -rf {dir}"));
    }
    assert!(!out.stdout.contains(PASSWORD) && !out.stderr.contains(PASSWORD));
}

#[test]
fn unlock_reports_a_lock_it_could_not_remove() {
    let Some(fleet) = fleet() else { return };
    let lock = "/tmp/sec-root-owned.lock";
    fleet.exec(
        "app3",
        &format!("mkdir -p {lock}/inner && touch {lock}/inner/file {lock}/owner"),
    );
    let inventory = std::fs::read_to_string(fleet.inventory()).unwrap().replace(
        "    fleet_systemd:",
        &format!("    deployer_lock_path: {lock}\n    fleet_systemd:"),
    );
    let project = fleet.project("").file("inv.yml", &inventory);
    let out = project.run(&["unlock", "-i", "inv.yml", "-l", "app3"]);
    fleet.exec("app3", &format!("rm -rf {lock}"));
    assert_ne!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(!all.contains("removed the lock"), "{all}");
    assert!(all.contains("could not remove the lock"), "{all}");
}
