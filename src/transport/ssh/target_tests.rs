//! Table tests for target resolution (`target.rs`): inventory variables, ssh options and ssh
//! config, and their precedence. No network, no real `~/.ssh`.

use std::path::PathBuf;

use serde_json::{Map, Value, json};

use super::args::{HostKeyChecking, SshArgs};
use super::target::{Endpoint, SshEnvironment, parse_config, resolve};

const CONFIG: &str = "\
Host web
    HostName web.internal
    User deploy
    Port 2201
    IdentityFile ~/.ssh/web_key
    ProxyJump jump1,ops@jump2:2022
    StrictHostKeyChecking accept-new
    UserKnownHostsFile ~/.ssh/kh_web /etc/kh_shared

Host jump1
    HostName 192.0.2.10
    User jumper
    Port 2200
    IdentityFile ~/.ssh/jump_key

Host *.prod
    User produser
";

fn env() -> SshEnvironment {
    let home = PathBuf::from("/home/me");
    SshEnvironment {
        config: Some(parse_config(&mut CONFIG.as_bytes(), &home).unwrap()),
        ssh_dir: home.join(".ssh"),
        home,
        local_user: "me".into(),
        configured: SshArgs::default(),
    }
}

fn endpoint(user: &str, host: &str, port: u16, keys: &[&str]) -> Endpoint {
    Endpoint {
        host: host.into(),
        port,
        user: user.into(),
        identity_files: keys.iter().map(PathBuf::from).collect(),
    }
}

fn vars(value: serde_json::Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn default_files(extra: &[&str]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = extra.iter().map(PathBuf::from).collect();
    files.push("/etc/ssh/ssh_known_hosts".into());
    files
}

/// (inventory name, variables, expected host, expected jumps)
type Case = (&'static str, serde_json::Value, Endpoint, Vec<Endpoint>);

#[test]
fn resolution_table() {
    let cases: Vec<Case> = vec![
        ("plain", json!({}), endpoint("me", "plain", 22, &[]), vec![]),
        (
            "a",
            json!({"ansible_host": "10.0.0.5", "ansible_port": "2222", "ansible_user": "ops",
                   "ansible_ssh_private_key_file": "~/k"}),
            endpoint("ops", "10.0.0.5", 2222, &["/home/me/k"]),
            vec![],
        ),
        (
            "a",
            json!({"ansible_ssh_host": "h", "ansible_ssh_port": 2022, "ansible_ssh_user": "u"}),
            endpoint("u", "h", 2022, &[]),
            vec![],
        ),
        (
            "web",
            json!({}),
            endpoint("deploy", "web.internal", 2201, &["/home/me/.ssh/web_key"]),
            vec![
                endpoint("jumper", "192.0.2.10", 2200, &["/home/me/.ssh/jump_key"]),
                endpoint("ops", "jump2", 2022, &["/home/me/.ssh/web_key"]),
            ],
        ),
        (
            "w",
            json!({"ansible_host": "web", "ansible_user": "root", "ansible_port": 22,
                   "ansible_ssh_common_args": "-o ProxyJump=none"}),
            endpoint("root", "web.internal", 22, &["/home/me/.ssh/web_key"]),
            vec![],
        ),
        (
            "app.prod",
            json!({"ansible_ssh_common_args": "-J admin@bastion:2222 -i /k/app",
                   "ansible_ssh_extra_args": "-p 2200"}),
            endpoint("produser", "app.prod", 2200, &["/k/app"]),
            vec![endpoint("admin", "bastion", 2222, &["/k/app"])],
        ),
        (
            "app1",
            json!({"bastion": {"host": "127.0.0.1", "port": 2222, "user": "root", "key": "/k/b"},
                   "ansible_user": "root"}),
            endpoint("root", "app1", 22, &[]),
            vec![endpoint("root", "127.0.0.1", 2222, &["/k/b"])],
        ),
        (
            "app2",
            json!({"bastion": "jump1", "ansible_ssh_private_key_file": "/k/t"}),
            endpoint("me", "app2", 22, &["/k/t"]),
            vec![endpoint(
                "jumper",
                "192.0.2.10",
                2200,
                &["/home/me/.ssh/jump_key"],
            )],
        ),
    ];
    for (name, vars_json, want_host, want_jumps) in cases {
        let target = resolve(name, &vars(vars_json.clone()), &env())
            .unwrap_or_else(|e| panic!("{name} {vars_json}: {e}"));
        assert_eq!(target.endpoint, want_host, "{name} {vars_json}");
        assert_eq!(target.jumps, want_jumps, "{name} {vars_json}");
    }
}

#[test]
fn host_key_settings() {
    let web = resolve("web", &Map::new(), &env()).unwrap();
    assert_eq!(web.host_key_checking, Some(HostKeyChecking::AcceptNew));
    assert_eq!(
        web.known_hosts_files,
        default_files(&["/home/me/.ssh/kh_web", "/etc/kh_shared"])
    );
    let plain = resolve(
        "plain",
        &vars(json!({"deployer_known_hosts": "~/fleet/kh",
                     "ansible_ssh_common_args": "-o StrictHostKeyChecking=yes"})),
        &env(),
    )
    .unwrap();
    assert_eq!(plain.host_key_checking, Some(HostKeyChecking::Strict));
    assert_eq!(
        plain.known_hosts_files,
        default_files(&["/home/me/fleet/kh", "/home/me/.ssh/known_hosts"])
    );
    let listed = resolve(
        "web",
        &vars(json!({"deployer_known_hosts": ["/a", "/b"],
                     "ansible_ssh_common_args": "-o UserKnownHostsFile=/c"})),
        &env(),
    )
    .unwrap();
    assert_eq!(listed.known_hosts_files, default_files(&["/a", "/b", "/c"]));
}

#[test]
fn bad_settings_are_refused_with_the_variable_named() {
    let cases = [
        (json!({"ansible_port": "ssh"}), "ansible_port"),
        (json!({"ansible_port": 70000}), "ansible_port"),
        (json!({"ansible_user": ["a"]}), "ansible_user"),
        (
            json!({"ansible_ssh_common_args": "-o ProxyJump"}),
            "ansible_ssh_common_args",
        ),
        (json!({"bastion": 42}), "bastion"),
        (json!({"bastion": {"port": 22}}), "bastion"),
        (
            json!({"bastion": "b", "ansible_ssh_common_args": "-J c"}),
            "different hosts",
        ),
        (
            json!({"bastion": "u@b", "ansible_ssh_common_args": "-J v@b"}),
            "different hosts",
        ),
        (
            json!({"ansible_ssh_common_args": "-F /no/such/config"}),
            "/no/such/config",
        ),
        (json!({"deployer_known_hosts": 7}), "deployer_known_hosts"),
    ];
    for (vars_json, needle) in cases {
        let error = resolve("h", &vars(vars_json.clone()), &env()).unwrap_err();
        assert!(error.contains(needle), "{vars_json}: {error}");
    }
}

/// The shape `vagrant/fleet up` writes: `bastion:` and a matching ProxyJump, plus `-F`.
#[test]
fn fleet_inventory_shape() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ssh_config");
    std::fs::write(
        &config,
        "Host app*\n    User deploy\n    ProxyJump bastion\n    \
         UserKnownHostsFile \"/f/known hosts\"\n    StrictHostKeyChecking yes\n",
    )
    .unwrap();
    let vars = vars(json!({
        "ansible_user": "deploy",
        "ansible_ssh_private_key_file": "/f/id",
        "ansible_ssh_common_args": format!(
            "-o ProxyJump=deploy@127.0.0.1:2222 -o UserKnownHostsFile=/f/kh -F {}",
            config.display()
        ),
        "deployer_known_hosts": "/f/kh",
        "bastion": {"host": "127.0.0.1", "port": 2222, "key": "/f/bastion_id"},
    }));
    let target = resolve("app1", &vars, &env()).unwrap();
    assert_eq!(target.endpoint, endpoint("deploy", "app1", 22, &["/f/id"]));
    assert_eq!(
        target.jumps,
        vec![endpoint("deploy", "127.0.0.1", 2222, &["/f/bastion_id"])]
    );
    assert_eq!(target.known_hosts_files, default_files(&["/f/kh", "/f/kh"]));
    assert_eq!(target.host_key_checking, Some(HostKeyChecking::Strict));
    // Without the inventory's UserKnownHostsFile, the config's (quoted, with a space) is used.
    let mut vars = vars;
    vars.insert(
        "ansible_ssh_common_args".into(),
        json!(format!("-F {}", config.display())),
    );
    let target = resolve("app1", &vars, &env()).unwrap();
    assert_eq!(
        target.known_hosts_files,
        default_files(&["/f/kh", "/f/known hosts"])
    );
}

#[test]
fn no_config_means_defaults() {
    let env = SshEnvironment {
        local_user: "me".into(),
        ..SshEnvironment::default()
    };
    let target = resolve("h", &Map::new(), &env).unwrap();
    assert_eq!(target.endpoint, endpoint("me", "h", 22, &[]));
    assert_eq!(target.route().count(), 1);
}

#[test]
fn ansible_cfg_settings_come_between_the_inventory_and_ssh_config() {
    let env = SshEnvironment {
        configured: SshArgs {
            user: Some("cfguser".into()),
            identity_files: vec![PathBuf::from("/k/cfg")],
            ..SshArgs::default()
        },
        ..env()
    };
    let target = resolve("web", &Map::new(), &env).unwrap();
    let keys = ["/k/cfg", "/home/me/.ssh/web_key"];
    assert_eq!(
        target.endpoint,
        endpoint("cfguser", "web.internal", 2201, &keys)
    );
    let own = vars(json!({"ansible_user": "own", "ansible_ssh_private_key_file": "/k/own"}));
    let target = resolve("other", &own, &env).unwrap();
    assert_eq!(
        target.endpoint,
        endpoint("own", "other", 22, &["/k/own", "/k/cfg"])
    );
}
