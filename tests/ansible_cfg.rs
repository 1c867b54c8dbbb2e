//! ansible.cfg: each honoured setting changes what the binary does, the `ANSIBLE_*` variables
//! and command-line flags override it, and unknown settings are listed at `-v`. Where Ansible
//! can be run (`DEPLOYER_ANSIBLE_PLAYBOOK`), it reads the same file to the same effect.

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::differential::ansible_playbook;
use crate::support::{Output, Project};

/// A host on loopback where nothing listens: `ping` reports the endpoint it tried.
const DEAD_HOST: &str = "web ansible_host=127.0.0.1 ansible_port=1\n";

fn ping(project: &Project, env: &[(&str, &str)]) -> Output {
    project.run_env(&["ping"], env)
}

/// Runs an Ansible tool (beside `ansible-playbook`) in the project, when there is one.
fn ansible(project: &Project, tool: &str, args: &[&str]) -> Option<Output> {
    let program = ansible_playbook()?.with_file_name(tool);
    let output = Command::new(program)
        .args(args)
        .current_dir(project.join(""))
        .env("ANSIBLE_LOCAL_TEMP", project.join(".ansible-tmp"))
        .output()
        .expect("ansible runs");
    Some(output.into())
}

#[test]
fn inventory_names_the_inventory_and_ansible_inventory_agrees() {
    let project = Project::new()
        .file("ansible.cfg", "[defaults]\ninventory = hosts/main.ini\n")
        .file("hosts/main.ini", "[web]\nw1\nw2\n[db]\nd1\n")
        .file("other.ini", "[cache]\nc1\n");
    let out = project.run(&["inventory", "--list"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let ours: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(ours["web"]["hosts"], serde_json::json!(["w1", "w2"]));
    if let Some(theirs) = ansible(&project, "ansible-inventory", &["--list"]) {
        let theirs: serde_json::Value = serde_json::from_str(&theirs.stdout).unwrap();
        assert_eq!(ours["web"], theirs["web"]);
        assert_eq!(ours["db"], theirs["db"]);
    }
    let env = [("ANSIBLE_INVENTORY", "other.ini")];
    let out = project.run_env(&["inventory", "--graph"], &env);
    assert!(
        out.stdout.contains("c1") && !out.stdout.contains("w1"),
        "{}",
        out.stdout
    );
    let out = project.run(&["inventory", "--graph", "-i", "other.ini"]);
    assert!(out.stdout.contains("c1"), "{}", out.stdout);
}

#[test]
fn no_inventory_anywhere_is_a_usage_error() {
    let out = Project::new().run(&["inventory", "--list"]);
    assert_eq!(out.code, 4);
    assert!(out.stderr.contains("no inventory"), "{}", out.stderr);
}

const ROLE_PLAY: &str = "
- hosts: app
  gather_facts: false
  roles:
    - greet
";

#[test]
fn roles_path_finds_roles_elsewhere() {
    let project = Project::local(&["h1"], ROLE_PLAY)
        .file("ansible.cfg", "[defaults]\nroles_path = shared/roles\n")
        .file(
            "shared/roles/greet/tasks/main.yml",
            "- debug: msg=hello-from-shared\n",
        );
    let out = project.site(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("hello-from-shared"), "{}", out.stdout);
    if let Some(theirs) = ansible(&project, "ansible-playbook", &["site.yml", "-i", "inv.yml"]) {
        assert!(
            theirs.stdout.contains("hello-from-shared"),
            "{}",
            theirs.stdout
        );
    }
    let out = project.site_env(&[], &[("ANSIBLE_ROLES_PATH", "/nonexistent")]);
    assert_eq!(out.code, 4, "the variable replaces the file's roles_path");
}

#[test]
fn collections_path_finds_a_collections_roles() {
    let play = ROLE_PLAY.replace("greet", "acme.web.greet");
    let project = Project::local(&["h1"], &play)
        .file("ansible.cfg", "[defaults]\ncollections_path = ./vendor\n")
        .file(
            "vendor/ansible_collections/acme/web/roles/greet/tasks/main.yml",
            "- debug: msg=hello-from-collection\n",
        );
    let out = project.site(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("hello-from-collection"),
        "{}",
        out.stdout
    );
}

#[test]
fn remote_user_logs_in_unless_the_inventory_or_environment_says_otherwise() {
    let project = Project::new()
        .file(
            "ansible.cfg",
            "[defaults]\ninventory = inv.ini\nremote_user = deploy\n",
        )
        .file("inv.ini", DEAD_HOST);
    assert!(ping(&project, &[]).stdout.contains("deploy@127.0.0.1:1"));
    let out = ping(&project, &[("ANSIBLE_REMOTE_USER", "ops")]);
    assert!(out.stdout.contains("ops@127.0.0.1:1"), "{}", out.stdout);
    let project = project.file("inv.ini", &DEAD_HOST.replace('\n', " ansible_user=own\n"));
    assert!(ping(&project, &[]).stdout.contains("own@127.0.0.1:1"));
}

#[test]
fn ssh_args_proxy_jump_proxy_command_and_config_file_are_used() {
    let project = Project::new()
        .file("inv.ini", DEAD_HOST)
        .file("ssh.conf", "Host 127.0.0.1\n  User fromfile\n")
        .file(
            "ansible.cfg",
            "[defaults]\ninventory = inv.ini\n[ssh_connection]\n\
             ssh_args = -C -o ControlMaster=auto -o ProxyJump=jumper@127.0.0.1:1\npipelining = True\n",
        );
    let out = ping(&project, &[]);
    assert!(out.stdout.contains("jumper@127.0.0.1:1"), "{}", out.stdout);
    let command = "-o ProxyCommand=\"ssh -W %%h:%%p -p 1 viaproxy@127.0.0.1\"";
    let project = project.file(
        "ansible.cfg",
        &format!("[defaults]\ninventory = inv.ini\n[ssh_connection]\nssh_args = {command}\n"),
    );
    let out = ping(&project, &[]);
    assert!(
        out.stdout.contains("viaproxy@127.0.0.1:1"),
        "{}",
        out.stdout
    );
    let out = ping(&project, &[("ANSIBLE_SSH_ARGS", "-F ssh.conf")]);
    assert!(
        out.stdout.contains("fromfile@127.0.0.1:1"),
        "{}",
        out.stdout
    );
}

#[test]
fn timeout_bounds_the_wait_for_a_silent_host() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let project = Project::new()
        .file(
            "ansible.cfg",
            "[defaults]\ninventory = inv.ini\ntimeout = 1\n",
        )
        .file(
            "inv.ini",
            &format!("web ansible_host=127.0.0.1 ansible_port={port}\n"),
        );
    let started = Instant::now();
    let out = ping(&project, &[]);
    assert_eq!(out.code, 3, "{}", out.stdout);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    drop(silent);
}

#[test]
fn forks_bounds_how_many_hosts_work_at_once() {
    let play = "
- hosts: app
  gather_facts: false
  tasks:
    - shell: date +%s%N > {{ inventory_hostname }}.start; sleep 0.3; date +%s%N > {{ inventory_hostname }}.end
";
    let project =
        Project::local(&["h1", "h2", "h3"], play).file("ansible.cfg", "[defaults]\nforks = 1\n");
    let out = project.site(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let time = |host: &str, end: &str| -> u128 {
        let text = std::fs::read_to_string(project.join(&format!("{host}.{end}"))).unwrap();
        text.trim().parse().unwrap()
    };
    let mut spans: Vec<(u128, u128)> = ["h1", "h2", "h3"]
        .iter()
        .map(|h| (time(h, "start"), time(h, "end")))
        .collect();
    spans.sort();
    for pair in spans.windows(2) {
        assert!(
            pair[0].1 <= pair[1].0,
            "hosts overlapped with forks = 1: {spans:?}"
        );
    }
}

#[test]
fn vault_password_file_opens_vault_files() {
    let project = Project::new()
        .file("pw.txt", "s3cret\n")
        .file("ansible.cfg", "[defaults]\nvault_password_file = pw.txt\n")
        .file("plain.yml", "token: abc\n");
    let out = project.run(&["vault", "encrypt", "plain.yml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = project.run(&["vault", "decrypt", "plain.yml", "--output", "-"]);
    assert_eq!(out.stdout, "token: abc\n", "{}", out.stderr);
    if let Some(theirs) = ansible(&project, "ansible-vault", &["view", "plain.yml"]) {
        assert_eq!(theirs.stdout, "token: abc\n", "{}", theirs.stderr);
    }
}

#[test]
fn become_settings_are_the_plays_default() {
    let play = "
- hosts: app
  gather_facts: false
  tasks:
    - command: id
    - command: id
      become: false
";
    let project = Project::local(&["h1"], play).file(
        "ansible.cfg",
        "[privilege_escalation]\nbecome = True\nbecome_user = app\nbecome_method = sudo\n",
    );
    let out = project.run(&["plan", "site.yml", "-i", "inv.yml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout.matches("become=app").count(),
        1,
        "{}",
        out.stdout
    );
    let out = project.run_env(
        &["plan", "site.yml", "-i", "inv.yml"],
        &[("ANSIBLE_BECOME", "no")],
    );
    assert!(!out.stdout.contains("become="), "{}", out.stdout);
    let project = project.file(
        "ansible.cfg",
        "[privilege_escalation]\nbecome_method = su\n",
    );
    let out = project.run(&["plan", "site.yml", "-i", "inv.yml"]);
    assert_eq!(out.code, 4);
    assert!(out.stderr.contains("sudo only"), "{}", out.stderr);
}

#[test]
fn unknown_settings_are_ignored_and_listed_at_verbose() {
    let play = "- hosts: app\n  gather_facts: false\n  tasks:\n    - ping:\n";
    let project = Project::local(&["h1"], play).file(
        "ansible.cfg",
        "[defaults]\nstdout_callback = yaml\nforks = 2\n[ssh_connection]\npipelining = True\n",
    );
    let out = project.site(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("stdout_callback"), "{}", out.stderr);
    let out = project.site(&["-v"]);
    assert!(
        out.stderr
            .contains("ignored ansible.cfg settings: defaults.stdout_callback\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn ansible_config_names_the_file_and_a_bad_one_is_refused() {
    let project = Project::new()
        .file("ansible.cfg", "[defaults]\ninventory = a.ini\n")
        .file("elsewhere/custom.cfg", "[defaults]\ninventory = ../b.ini\n")
        .file("a.ini", "a1\n")
        .file("b.ini", "b1\n");
    let custom = project.join("elsewhere/custom.cfg");
    let env = [("ANSIBLE_CONFIG", custom.to_str().unwrap())];
    let out = project.run_env(&["inventory", "--graph"], &env);
    assert!(out.stdout.contains("b1"), "{}{}", out.stdout, out.stderr);
    let project = project.file("ansible.cfg", "[defaults]\nforks = lots\n");
    let out = project.run(&["inventory", "--graph"]);
    assert_eq!(out.code, 4);
    assert!(out.stderr.contains("defaults.forks"), "{}", out.stderr);
}

#[test]
fn staging_and_production_share_group_vars_all_and_ansible_agrees() {
    let repo = env!("CARGO_MANIFEST_DIR");
    let project = Project::new();
    for (env, hosts, keep) in [("staging", 1, 5), ("production", 3, 10)] {
        let inventory = format!("{repo}/inventories/{env}");
        let out = project.run(&["inventory", "-i", &inventory, "--list"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let list: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let vars = list["_meta"]["hostvars"].as_object().unwrap();
        assert_eq!(vars.len(), hosts, "{env}");
        for host in vars.values() {
            assert_eq!(host["app_port"], 8080, "{env}: the shared file");
            assert_eq!(host["deploy_env"], env, "{env}: its own file");
            assert_eq!(host["keep_releases"], keep, "{env}: its own file wins");
        }
        if let Some(theirs) = ansible(&project, "ansible-inventory", &["-i", &inventory, "--list"])
        {
            let theirs: serde_json::Value = serde_json::from_str(&theirs.stdout).unwrap();
            let theirs = theirs["_meta"]["hostvars"].as_object().unwrap();
            for (host, ours) in vars {
                assert_eq!(
                    ours["keep_releases"], theirs[host]["keep_releases"],
                    "{host}"
                );
                assert_eq!(ours["bastion"], theirs[host]["bastion"], "{host}");
            }
        }
        let playbook = format!("{repo}/playbooks/deploy.yml");
        let out = project.run(&["plan", &playbook, "-i", &inventory]);
        assert_eq!(out.code, 0, "{env}: {}", out.stderr);
    }
}
