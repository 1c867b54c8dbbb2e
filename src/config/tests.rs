use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::*;

const CFG: &str = "\
# comment
[defaults]
inventory = inventories/staging
roles_path = roles:~/shared/roles
remote_user = deploy ; inline comment
private_key_file = ~/.ssh/deploy_ed25519
forks = 7
host_key_checking: False
timeout = 33
stdout_callback = yaml

[privilege_escalation]
become = yes
become_user = app

[ssh_connection]
ssh_args = -o ProxyCommand=\"ssh -W %%h:%%p bastion\"
pipelining = True
control_path = /tmp/x
";

fn read(text: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ansible.cfg");
    std::fs::write(&file, text).unwrap();
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let settings = Settings::read(
        Some(&file),
        &|name| env.get(name).cloned(),
        Some(Path::new("/home/me")),
        Path::new("/work"),
    )?;
    Ok(Settings {
        file: None,
        inventory: strip(&settings.inventory, dir.path()),
        roles_path: strip(&settings.roles_path, dir.path()),
        ..settings
    })
}

/// Paths relative to the config folder, for comparing.
fn strip(paths: &[PathBuf], base: &Path) -> Vec<PathBuf> {
    paths
        .iter()
        .map(|p| p.strip_prefix(base).map_or(p.clone(), Path::to_path_buf))
        .collect()
}

#[test]
fn reads_every_honoured_setting() {
    let settings = read(CFG, &[]).unwrap();
    assert_eq!(settings.inventory, [PathBuf::from("inventories/staging")]);
    assert_eq!(
        settings.roles_path,
        [
            PathBuf::from("roles"),
            PathBuf::from("/home/me/shared/roles")
        ]
    );
    assert_eq!(settings.remote_user.as_deref(), Some("deploy"));
    assert_eq!(
        settings.private_key_file,
        Some(PathBuf::from("/home/me/.ssh/deploy_ed25519"))
    );
    assert_eq!(settings.forks, Some(7));
    assert_eq!(settings.host_key_checking, Some(false));
    assert_eq!(settings.timeout, Some(33));
    assert_eq!(settings.become_, Some(true));
    assert_eq!(settings.become_user.as_deref(), Some("app"));
    assert_eq!(
        settings.ssh_args.as_deref(),
        Some("-o ProxyCommand=\"ssh -W %h:%p bastion\"")
    );
    assert_eq!(settings.pipelining, Some(true));
    assert_eq!(
        settings.ignored,
        ["defaults.stdout_callback", "ssh_connection.control_path"]
    );
}

#[test]
fn the_environment_overrides_the_file() {
    let env = [
        ("ANSIBLE_REMOTE_USER", "ops"),
        ("ANSIBLE_FORKS", "3"),
        ("ANSIBLE_INVENTORY", "a.ini"),
        ("ANSIBLE_BECOME", "false"),
    ];
    let settings = read(CFG, &env).unwrap();
    assert_eq!(settings.remote_user.as_deref(), Some("ops"));
    assert_eq!(settings.forks, Some(3));
    assert_eq!(settings.inventory, [PathBuf::from("/work/a.ini")]);
    assert_eq!(settings.become_, Some(false));
}

#[test]
fn bad_values_are_refused_with_their_origin() {
    let error = read("[defaults]\nforks = many\n", &[]).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("defaults.forks: `many` is not a number"),
        "{error}"
    );
    let error = read("", &[("ANSIBLE_HOST_KEY_CHECKING", "maybe")]).unwrap_err();
    assert!(
        error.to_string().starts_with("ANSIBLE_HOST_KEY_CHECKING:"),
        "{error}"
    );
    let error = read("[privilege_escalation]\nbecome_method = su\n", &[]).unwrap_err();
    assert!(error.to_string().contains("sudo only"), "{error}");
}

#[test]
fn the_first_config_found_wins() {
    let dir = tempfile::tempdir().unwrap();
    let (cwd, home) = (dir.path().join("cwd"), dir.path().join("home"));
    std::fs::create_dir_all(&cwd).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    assert_eq!(
        find(None, &cwd, Some(&home)).filter(|p| p.starts_with(dir.path())),
        None
    );
    std::fs::write(home.join(".ansible.cfg"), "").unwrap();
    assert_eq!(
        find(None, &cwd, Some(&home)),
        Some(home.join(".ansible.cfg"))
    );
    std::fs::write(cwd.join("ansible.cfg"), "").unwrap();
    let local = Some(PathBuf::from("ansible.cfg"));
    assert_eq!(find(None, &cwd, Some(&home)), local);
    assert_eq!(find(Some(home.clone()), &cwd, Some(&home)), local);
    std::fs::write(home.join("ansible.cfg"), "").unwrap();
    let named = Some(home.clone());
    assert_eq!(
        find(named, &cwd, Some(&home)),
        Some(home.join("ansible.cfg"))
    );
}

#[test]
fn one_inventory_is_taken_and_several_refused() {
    let settings = read("[defaults]\ninventory = a.ini, b.ini\n", &[]).unwrap();
    assert!(settings.inventory(None).unwrap_err().contains("names 2"));
    assert_eq!(
        settings.inventory(Some("x.ini")).unwrap(),
        PathBuf::from("x.ini")
    );
}
