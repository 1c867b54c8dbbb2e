//! Tests of whole inventories read from disk: both dialects, precedence, patterns, located errors
//! and the `ansible-inventory` renderings. Expected values were checked against ansible-core 2.19.

use std::fs;

use serde_json::json;
use tempfile::TempDir;

use super::*;

/// The sample inventory in INI form; [`SAMPLE_YAML`] says the same in YAML.
const SAMPLE_INI: &str = "\
# The sample inventory, INI form.
lone1 a=1 ansible_host=10.0.0.9

[web]
web[01:03].example.com http_port=80 msg=\"hello world\"
db-a

[db]
db-[a:c] x='[1, 2]' ok=True w=0644   # a comment

[edge]
proxy[1:5:2]:2222

; groups of groups
[prod:children]
web
db

[eu:children]
prod
edge

[prod:vars]
env=prod
num=42

[all:vars]
env=all
";

const SAMPLE_YAML: &str = "\
# The sample inventory, YAML form.
all:
  vars:
    env: all
  hosts:
    lone1:
      a: 1
      ansible_host: 10.0.0.9
  children:
    eu:
      children:
        prod:
          vars:
            env: prod
            num: 42
          children:
            web:
              hosts:
                web[01:03].example.com:
                  http_port: 80
                  msg: hello world
                db-a:
            db:
              hosts:
                db-[a:c]:
                  x: [1, 2]
                  ok: true
                  w: \"0644\"
        edge:
          hosts:
            \"proxy[1:5:2]:2222\":
";

/// A temporary directory holding `files` (relative path, text).
pub(super) fn tree(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    dir
}

/// Loads one inventory file with the given name and text.
pub(super) fn load(name: &str, text: &str) -> Result<Inventory, Diagnostics> {
    let dir = tree(&[(name, text)]);
    Inventory::load(&dir.path().join(name))
}

/// The sample inventory, read from its INI form.
pub(super) fn sample() -> Inventory {
    load("hosts", SAMPLE_INI).unwrap()
}

#[test]
fn yaml_and_ini_forms_give_the_same_inventory() {
    let ini = load("hosts.ini", SAMPLE_INI).unwrap();
    let yaml = load("hosts.yml", SAMPLE_YAML).unwrap();
    let hosts: Vec<&str> = ini.hosts().collect();
    assert_eq!(hosts, yaml.hosts().collect::<Vec<_>>());
    assert_eq!(ini.groups_map(), yaml.groups_map());
    for host in hosts {
        assert_eq!(ini.host_vars(host), yaml.host_vars(host), "{host}");
        assert_eq!(ini.groups_of(host), yaml.groups_of(host), "{host}");
    }
    assert_eq!(ini.to_list_json(), yaml.to_list_json());
    assert_eq!(ini.to_graph(None), yaml.to_graph(None));
    assert_eq!(ini.select("all").unwrap(), yaml.select("all").unwrap());
}

#[test]
fn a_host_list_with_commas_is_an_inventory_like_ansibles_host_list() {
    let inventory = Inventory::load(Path::new("web[1:2], db:2200 ,")).unwrap();
    let hosts: Vec<&str> = inventory.hosts().collect();
    assert_eq!(hosts, ["web1", "web2", "db"]);
    assert_eq!(
        Value::Object(inventory.host_vars("db")),
        json!({"ansible_port": 2200})
    );
    assert_eq!(inventory.select("ungrouped").unwrap().len(), 3);
    assert!(Inventory::load(Path::new("web:99999,")).is_err());
}

#[test]
fn ranges_ports_and_typed_values() {
    let inventory = sample();
    let hosts: Vec<&str> = inventory.hosts().collect();
    assert_eq!(
        hosts,
        [
            "lone1",
            "web01.example.com",
            "web02.example.com",
            "web03.example.com",
            "db-a",
            "db-b",
            "db-c",
            "proxy1",
            "proxy3",
            "proxy5"
        ]
    );
    let expected = json!({"env": "prod", "num": 42, "w": "0644", "x": [1, 2], "ok": true});
    assert_eq!(Value::Object(inventory.host_vars("db-b")), expected);
    let expected = json!({"env": "prod", "http_port": 80, "msg": "hello world", "num": 42});
    assert_eq!(
        Value::Object(inventory.host_vars("web02.example.com")),
        expected
    );
    let expected = json!({"env": "all", "ansible_port": 2222});
    assert_eq!(Value::Object(inventory.host_vars("proxy3")), expected);
}

#[test]
fn nested_children_share_their_hosts_upwards() {
    let inventory = sample();
    let groups = inventory.groups_map();
    let names = |group: &str| groups[group].clone();
    assert_eq!(
        names("prod"),
        json!([
            "web01.example.com",
            "web02.example.com",
            "web03.example.com",
            "db-a",
            "db-b",
            "db-c"
        ])
    );
    assert_eq!(names("eu").as_array().unwrap().len(), 9);
    assert_eq!(names("ungrouped"), json!(["lone1"]));
    assert_eq!(inventory.groups_of("db-a"), ["db", "eu", "prod", "web"]);
    assert_eq!(inventory.groups_of("lone1"), ["ungrouped"]);
    let keys: Vec<&String> = groups.keys().collect();
    assert_eq!(
        keys,
        ["all", "ungrouped", "web", "db", "edge", "prod", "eu"]
    );
}

#[test]
fn precedence_follows_ansible() {
    let dir = tree(&[
        (
            "inv/hosts.yml",
            "all:
  vars: {from_all: inventory, layered: all-inventory}
  children:
    parent:
      vars: {shared: parent}
      children:
        child:
          vars: {shared: child, layered: child-inventory}
          hosts:
            h1: {hostvar: inventory}
    a_side:
      vars: {side: a, ansible_group_priority: 5}
      hosts: {h1: }
    z_side:
      vars: {side: z}
      hosts: {h1: }
",
        ),
        (
            "inv/group_vars/all.yml",
            "layered: all-group_vars\nfrom_file: inventory-dir\n",
        ),
        (
            "inv/group_vars/child/10.yml",
            "ordered: first\nonly10: yes\n",
        ),
        ("inv/group_vars/child/20.yaml", "ordered: second\n"),
        ("inv/group_vars/child/notes.txt", "ignored: true\n"),
        ("inv/host_vars/h1.yml", "hostvar: inventory-dir\n"),
        ("pb/group_vars/all.yml", "from_file: playbook-dir\n"),
        ("pb/host_vars/h1", "hostvar: playbook-dir\n"),
    ]);
    let mut inventory = Inventory::load(&dir.path().join("inv")).unwrap();
    let vars = |inventory: &Inventory, key: &str| inventory.host_vars("h1")[key].clone();
    let cases = [
        ("shared", json!("child")),            // a child group beats its parent
        ("side", json!("a")),                  // ansible_group_priority beats the name order
        ("layered", json!("all-group_vars")),  // any group_vars file beats inventory group vars
        ("ordered", json!("second")),          // files of a group_vars dir apply in order
        ("only10", json!(true)),               // ... and merge
        ("from_file", json!("inventory-dir")), // no playbook dir yet
        ("hostvar", json!("inventory-dir")),   // host_vars beats inventory host vars
        ("from_all", json!("inventory")),
    ];
    for (key, expected) in &cases {
        assert_eq!(vars(&inventory, key), *expected, "{key}");
    }
    assert!(!inventory.host_vars("h1").contains_key("ignored"));
    assert!(
        !inventory
            .host_vars("h1")
            .contains_key("ansible_group_priority")
    );
    inventory
        .add_vars_dir(&dir.path().join("pb"), &crate::vault::Vault::default())
        .unwrap();
    assert_eq!(vars(&inventory, "from_file"), json!("playbook-dir"));
    assert_eq!(vars(&inventory, "hostvar"), json!("playbook-dir"));
}

#[test]
fn a_host_beats_its_groups() {
    let inventory = load("hosts", "[web]\nw1 port=1\nw2\n[web:vars]\nport=2\n").unwrap();
    assert_eq!(inventory.host_vars("w1")["port"], json!(1));
    assert_eq!(inventory.host_vars("w2")["port"], json!(2));
}

#[test]
fn implicit_localhost_is_local_and_outside_all() {
    let dir = tree(&[
        ("hosts", "[web]\nw1\n[all:vars]\nshared=1\n"),
        ("host_vars/localhost.yml", "from_file: yes\n"),
    ]);
    let inventory = Inventory::load(&dir.path().join("hosts")).unwrap();
    assert_eq!(inventory.select("localhost").unwrap(), ["localhost"]);
    assert_eq!(inventory.select("all").unwrap(), ["w1"]);
    let expected = json!({"shared": 1, "ansible_connection": "local", "from_file": true});
    assert_eq!(Value::Object(inventory.host_vars("localhost")), expected);
    assert!(inventory.groups_of("localhost").is_empty());
    assert!(inventory.host_vars("elsewhere").is_empty());
}

#[test]
fn a_directory_is_read_in_order_with_its_vars() {
    let dir = tree(&[
        ("01-hosts.ini", "[web]\nw1\n"),
        ("02-more.yml", "web:\n  hosts:\n    w2:\n"),
        ("03-vars", "[web:vars]\nport=8080\n"),
        ("README.md", "not an inventory"),
        (".hidden", "garbage ["),
        ("group_vars/web.yml", "user: deploy\n"),
        ("sub/04-deeper", "deep1\n"),
        ("sub/group_vars/web.yml", "user: ignored\n"),
    ]);
    let inventory = Inventory::load(dir.path()).unwrap();
    assert_eq!(inventory.hosts().collect::<Vec<_>>(), ["w1", "w2", "deep1"]);
    let expected = json!({"port": 8080, "user": "deploy"});
    assert_eq!(Value::Object(inventory.host_vars("w2")), expected);
}

/// The first error of loading `text` as a file called `name`: (line, column, message).
pub(super) fn first_error(name: &str, text: &str) -> (usize, usize, String) {
    let errors = load(name, text).unwrap_err();
    let error = &errors.0[0];
    (error.span.line, error.span.column, error.message.clone())
}

/// Checks that each `(text, line, column, message)` fails first at that place with that message.
pub(super) fn assert_errors(name: &str, cases: &[(&str, usize, usize, &str)]) {
    for (text, line, column, message) in cases {
        let (got_line, got_column, got) = first_error(name, text);
        assert!(got.contains(message), "{text:?}: {got}");
        assert_eq!((got_line, got_column), (*line, *column), "{text:?}: {got}");
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let errors = load("h.ini", "[web]\nw1 bad\nw2 worse\n[x:y]\n").unwrap_err();
    let lines: Vec<usize> = errors.0.iter().map(|e| e.span.line).collect();
    assert_eq!(lines, [2, 3, 4]);
}

#[test]
fn bad_vars_files_are_located() {
    let dir = tree(&[
        ("hosts", "[web]\nw1\n"),
        ("group_vars/web.yml", "- not\n- a mapping\n"),
        ("host_vars/w1.yml", "$ANSIBLE_VAULT;1.1;AES256\n6162\n"),
    ]);
    let errors = Inventory::load(&dir.path().join("hosts")).unwrap_err();
    assert_eq!(errors.0.len(), 2);
    assert!(errors.0[0].span.source.path.ends_with("group_vars/web.yml"));
    assert!(
        errors.0[0].message.contains("not a list"),
        "{}",
        errors.0[0].message
    );
    assert!(errors.0[1].message.contains("no vault password"));
    assert!(errors.0[1].span.source.path.ends_with("host_vars/w1.yml"));
}

#[test]
fn the_local_sample_inventory_runs_on_this_machine() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("inventories/local");
    let inventory = Inventory::load(&path).unwrap();
    assert_eq!(inventory.select("app").unwrap(), ["localhost"]);
    assert_eq!(
        inventory.host_vars("localhost")["ansible_connection"],
        json!("local")
    );
}

#[test]
fn add_host_makes_a_host_with_its_groups_and_variables_and_counts_only_changes() {
    let dir = tree(&[
        ("inv.yml", "all:\n  hosts:\n    web1: {}\n"),
        ("group_vars/late.yml", "from_late: 1\n"),
    ]);
    let mut inventory = Inventory::load(&dir.path().join("inv.yml")).unwrap();
    let vars: Vars =
        serde_json::from_value(serde_json::json!({"ansible_host": "10.0.0.9"})).unwrap();
    let groups = vec!["late".to_string()];
    assert!(inventory.add_dynamic_host("new1", &groups, &vars));
    assert!(
        !inventory.add_dynamic_host("new1", &groups, &vars),
        "nothing new"
    );
    assert_eq!(inventory.select("late").unwrap(), ["new1"]);
    let seen = inventory.host_vars("new1");
    assert_eq!(
        (seen["ansible_host"].clone(), seen["from_late"].clone()),
        ("10.0.0.9".into(), 1.into())
    );
    assert!(
        inventory.add_dynamic_host("web1", &[], &vars),
        "new variables"
    );
    assert_eq!(inventory.select("ungrouped").unwrap(), ["web1"]);
}

#[test]
fn group_by_puts_the_host_in_a_group_under_its_parents() {
    let mut inventory = sample();
    let host = inventory.hosts().next().unwrap().to_string();
    let parents = vec!["kinds".to_string()];
    assert_eq!(
        inventory.add_dynamic_group(&host, "kind_a", &parents),
        Ok(true)
    );
    assert_eq!(
        inventory.add_dynamic_group(&host, "kind_a", &parents),
        Ok(false)
    );
    assert_eq!(inventory.select("kinds").unwrap(), vec![host.clone()]);
    assert!(inventory.groups_of(&host).contains(&"kind_a".to_string()));
    let looped = inventory.add_dynamic_group(&host, "kinds", &["kind_a".to_string()]);
    assert!(looped.is_err(), "a loop of groups is refused: {looped:?}");
}
