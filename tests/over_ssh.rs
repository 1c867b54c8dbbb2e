//! Runs over real SSH through the fleet's bastion: files land on every host, a second run
//! changes nothing, bad host keys are refused and unreachable hosts are reported as such.

use crate::fleet::fleet;
use crate::support::Project;

#[test]
fn app_hosts_are_reachable_only_through_the_bastion() {
    let Some(fleet) = fleet() else { return };
    let (code, report) = fleet.command(&["isolation"]);
    assert_eq!(code, 0, "isolation check failed:\n{report}");
    let (_, ports) = fleet.command(&["status"]);
    let bastion = format!("127.0.0.1:{}", fleet.bastion_port());
    assert!(ports.contains(&bastion), "{ports}");
    for app in ["app1", "app2", "app3"] {
        let out = std::process::Command::new("docker")
            .args(["port", &fleet.container(app)])
            .output()
            .expect("docker runs");
        assert!(out.status.success(), "no container for {app}");
        assert!(
            out.stdout.is_empty(),
            "{app} publishes ports: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn the_fleet_hands_out_an_inventory_and_host_access() {
    let Some(fleet) = fleet() else { return };
    let inventory =
        std::fs::read_to_string(fleet.inventory()).expect("the fleet writes an inventory");
    assert!(inventory.contains("app1"), "{inventory}");
    assert!(fleet.dir.join("known_hosts").is_file());
    let (code, pid1) = fleet.exec("app1", "cat /proc/1/comm");
    assert_eq!(code, 0);
    assert!(["systemd\n", "sshd\n"].contains(&pid1.as_str()), "{pid1}");
    assert_eq!(
        fleet
            .read("app2", "/etc/hostname")
            .map(|h| h.trim().to_string()),
        Some("app2".into())
    );
}

#[test]
fn a_wrong_host_key_is_refused_and_the_others_go_on() {
    let Some(fleet) = fleet() else { return };
    let known = std::fs::read_to_string(fleet.dir.join("known_hosts")).unwrap();
    // app2's keys replaced by the bastion's: a host that answers with a key we do not expect.
    let bastion_key = known
        .lines()
        .find(|l| l.starts_with(&format!("[127.0.0.1]:{} ssh-ed25519", fleet.bastion_port())))
        .unwrap()
        .split_once(' ')
        .unwrap()
        .1
        .to_string();
    let tampered: String = known
        .lines()
        .filter(|l| !l.starts_with("app2 "))
        .map(|l| format!("{l}\n"))
        .chain([format!("app2 {bastion_key}\n")])
        .collect();
    let p = fleet
        .project("- hosts: app\n  gather_facts: false\n  tasks:\n    - command: 'true'\n")
        .file("known_hosts", &tampered);
    let inventory = std::fs::read_to_string(p.join("inv.yml")).unwrap().replace(
        &fleet.dir.join("known_hosts").display().to_string(),
        &p.join("known_hosts").display().to_string(),
    );
    let p = p.file("inv.yml", &inventory);
    let out = p.run(&["run", "site.yml", "-i", "inv.yml"]);
    assert_eq!(out.code, 3, "{}", out.stdout);
    assert!(
        out.stdout.contains("fatal: [app2]: UNREACHABLE!"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.to_lowercase().contains("host key"),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.recap("app1"),
        "ok=1 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        out.recap("app2"),
        "ok=0 changed=0 unreachable=1 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn an_unreachable_host_is_reported_while_the_others_succeed() {
    let Some(fleet) = fleet() else { return };
    let inventory = std::fs::read_to_string(fleet.inventory())
        .unwrap()
        .replacen("app1: {}", "app1: {}\n        ghost: {}", 1);
    assert!(
        inventory.contains("ghost"),
        "the fleet inventory changed shape:\n{inventory}"
    );
    let p = Project::new().file("inv.yml", &inventory).file(
        "site.yml",
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - command: 'true'\n",
    );
    let out = p.run(&["run", "site.yml", "-i", "inv.yml"]);
    assert_eq!(out.code, 3, "{}", out.stdout);
    assert!(
        out.stdout.contains("fatal: [ghost]: UNREACHABLE!"),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.recap("app3"),
        "ok=1 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    let ping = p.run(&["ping", "-i", "inv.yml"]);
    assert_eq!(ping.code, 3);
    assert!(
        ping.stdout.contains("ghost  UNREACHABLE"),
        "{}",
        ping.stdout
    );
    assert!(
        ping.stdout.lines().filter(|l| l.contains(" ok ")).count() == 3,
        "{}",
        ping.stdout
    );
}
