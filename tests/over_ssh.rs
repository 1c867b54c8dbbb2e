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
    let out = p.site(&[]);
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
    let out = p.site(&[]);
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

/// Copies, commands and shells through the bastion; the fleet folder for this test is `dir`.
const FILES_PLAYBOOK: &str = "- hosts: app
  gather_facts: false
  tasks:
    - name: Make the folder
      command: mkdir -p {{ dir }}
      args: {creates: \"{{ dir }}\"}
    - name: Record the host
      shell: hostname > {{ dir }}/host.txt && chmod 600 {{ dir }}/host.txt
      args: {creates: \"{{ dir }}/host.txt\"}
    - name: Ship the blob
      copy: {src: files/blob.bin, dest: \"{{ dir }}/blob.bin\", mode: \"0640\"}
    - name: Ship the script
      copy: {src: files/run.sh, dest: \"{{ dir }}/run.sh\", mode: \"0755\"}
    - name: Write the motd
      copy: {content: \"hello {{ inventory_hostname }}\\n\", dest: \"{{ dir }}/motd\", mode: \"0644\"}
";

/// About 1 MB of bytes that do not compress, the same on every run.
fn blob() -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..1_048_583)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// The bytes of stdin the SSH transport reports having sent (`DEPLOYER_LOG` debug lines).
fn stdin_bytes_sent(stderr: &str) -> u64 {
    stderr
        .lines()
        .filter(|l| l.contains("sent stdin"))
        .map(|l| {
            let value = l.split("bytes=").nth(1).expect("a bytes= field");
            value
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum()
}

#[test]
fn files_land_on_every_host_and_a_second_run_sends_nothing() {
    let Some(fleet) = fleet() else { return };
    let dir = "/home/deploy/over-ssh-files";
    let blob = blob();
    let blob_sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&blob));
    let script = "#!/bin/sh\necho ran\n";
    let p = fleet
        .project(FILES_PLAYBOOK)
        .bytes("files/blob.bin", &blob)
        .file("files/run.sh", script);
    for host in ["app1", "app2", "app3"] {
        fleet.exec(host, &format!("rm -rf {dir}"));
    }
    let args = [
        "run",
        "site.yml",
        "-i",
        "inv.yml",
        "-e",
        &format!("dir={dir}"),
    ];
    let log = [("DEPLOYER_LOG", "deployer::transport=debug")];

    let first = p.run_env(&args, &log);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let sent = stdin_bytes_sent(&first.stderr);
    assert!(
        sent >= 3 * blob.len() as u64,
        "the blob went to three hosts, yet only {sent} bytes were sent"
    );
    // Mode, content and identity (inode, mtime) of every file on every host.
    let listing = format!(
        "cd {dir} && for f in host.txt blob.bin run.sh motd; do stat -c '%n %a %U %i %y' $f; done && sha256sum blob.bin && cat host.txt run.sh motd"
    );
    let mut before = Vec::new();
    for host in ["app1", "app2", "app3"] {
        assert_eq!(
            first.recap(host),
            "ok=5 changed=5 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
        );
        let (code, state) = fleet.exec(host, &listing);
        assert_eq!(code, 0, "{host}: {state}");
        let modes: Vec<String> = state
            .lines()
            .take(4)
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(
            modes,
            [
                "host.txt 600 deploy",
                "blob.bin 640 deploy",
                "run.sh 755 deploy",
                "motd 644 deploy"
            ],
            "{host}"
        );
        let content: Vec<&str> = state.lines().skip(4).collect();
        assert_eq!(
            content,
            [
                format!("{blob_sha}  blob.bin").as_str(),
                host,
                "#!/bin/sh",
                "echo ran",
                &format!("hello {host}"),
            ],
            "{host}"
        );
        before.push(state);
    }

    let second = p.run_env(&args, &log);
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    for (host, before) in ["app1", "app2", "app3"].into_iter().zip(before) {
        assert_eq!(
            second.recap(host),
            "ok=5 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
        );
        let (_, after) = fleet.exec(host, &listing);
        assert_eq!(after, before, "{host}: a file was rewritten");
    }
    assert_eq!(
        stdin_bytes_sent(&second.stderr),
        0,
        "nothing is sent again:\n{}",
        second.stderr
    );
    for host in ["app1", "app2", "app3"] {
        fleet.exec(host, &format!("rm -rf {dir}"));
    }
}

#[test]
fn a_health_check_runs_from_another_host_inside_the_private_network() {
    let Some(fleet) = fleet() else { return };
    let p = fleet.project(
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - name: sshd answers on the private network\n      health_check: {port: 22, host: \"{{ inventory_hostname }}\", retries: 2, delay: 0}\n      delegate_to: app1\n    - name: nothing answers on port 9\n      health_check: {port: 9, host: \"{{ inventory_hostname }}\", retries: 1, delay: 0}\n      delegate_to: app1\n      ignore_errors: true\n",
    );
    let out = p.site(&["--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let events = out.events();
    for host in fleet.app_hosts() {
        let status = |task: &str| {
            let event = events
                .iter()
                .find(|e| e["event"] == "host_result" && e["host"] == host && e["task"] == task)
                .unwrap_or_else(|| panic!("no {task:?} on {host}:\n{}", out.stdout));
            assert_eq!(event["delegated_to"], "app1", "{event}");
            event["status"].as_str().unwrap().to_string()
        };
        assert_eq!(status("sshd answers on the private network"), "ok");
        assert_eq!(status("nothing answers on port 9"), "ignored");
    }
}
