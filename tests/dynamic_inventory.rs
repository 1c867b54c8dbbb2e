//! Dynamic inventories through the binary: executable inventories (`--list`, `--host`), the
//! `constructed` plugin on any inventory, and Terraform states; each checked against
//! `ansible-inventory` where Ansible can be run.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use serde_json::{Value, json};

use crate::differential::ansible_playbook;
use crate::support::Project;

/// A `--list` program with `_meta.hostvars` (and `--host` answering `{}`).
const SCRIPT: &str = r#"#!/bin/sh
if [ "$1" = "--host" ]; then echo '{}'; exit 0; fi
cat <<'JSON'
{
  "web": {"hosts": ["w1", "w2"], "vars": {"http_port": 8080}},
  "db": ["d1"],
  "prod": {"children": ["web", "db"]},
  "_meta": {"hostvars": {
    "w1": {"ansible_host": "10.0.1.1", "role": "web", "zone": "eu-1a"},
    "w2": {"ansible_host": "10.0.1.2", "role": "web", "zone": "eu-1b"},
    "d1": {"ansible_host": "10.0.2.1", "role": "db", "zone": "eu-1a"}
  }}
}
JSON
"#;

/// The same without `_meta`: variables come from `--host`.
const SCRIPT_WITHOUT_META: &str = r#"#!/bin/sh
case "$1" in
  --list) echo '{"web": ["w1"]}' ;;
  --host) echo "{\"asked_for\": \"$2\"}" ;;
esac
"#;

const CONSTRUCTED: &str = "
plugin: constructed
strict: true
compose:
  ansible_port: http_port | default(22)
  label: role ~ '-' ~ inventory_hostname
groups:
  webservers: role == 'web'
keyed_groups:
  - key: zone
    prefix: zone
  - key: role
    separator: ''
    parent_group: roles
";

fn executable(project: Project, path: &str, text: &str) -> Project {
    let project = project.file(path, text);
    let full = project.join(path);
    std::fs::set_permissions(&full, std::fs::Permissions::from_mode(0o755)).unwrap();
    project
}

fn list(project: &Project, inventory: &str) -> Value {
    let out = project.run(&["inventory", "-i", inventory, "--list"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

/// `ansible-inventory -i INVENTORY --list`, when Ansible is there.
fn ansible_list(project: &Project, inventory: &str) -> Option<Value> {
    let program = ansible_playbook()?.with_file_name("ansible-inventory");
    let out = Command::new(program)
        .args(["-i", inventory, "--list"])
        .current_dir(project.join(""))
        .output()
        .expect("ansible-inventory runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut list: Value = serde_json::from_slice(&out.stdout).unwrap();
    list["_meta"].as_object_mut().unwrap().remove("profile");
    Some(plain(list))
}

/// Ansible's `--list` values without their `{"__ansible_unsafe": ...}` markers.
fn plain(value: Value) -> Value {
    match value {
        Value::Object(map) if map.len() == 1 && map.contains_key("__ansible_unsafe") => {
            map.into_iter().next().map(|(_, v)| v).unwrap_or_default()
        }
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, plain(v))).collect()),
        Value::Array(items) => Value::Array(items.into_iter().map(plain).collect()),
        other => other,
    }
}

/// The groups of a `--list` result, each with its sorted hosts and children.
fn groups(list: &Value) -> Vec<(String, Value, Value)> {
    let mut found: Vec<_> = (list.as_object().unwrap().iter())
        .filter(|(name, _)| *name != "_meta")
        .map(|(name, group)| {
            let sorted = |key: &str| {
                let mut items: Vec<String> = (group[key].as_array().into_iter().flatten())
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect();
                items.sort();
                json!(items)
            };
            (name.clone(), sorted("hosts"), sorted("children"))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

#[test]
fn an_executable_inventory_reads_like_ansibles_script_plugin() {
    let project = executable(Project::new(), "inv.sh", SCRIPT);
    let ours = list(&project, "inv.sh");
    assert_eq!(ours["web"]["hosts"], json!(["w1", "w2"]));
    assert_eq!(ours["_meta"]["hostvars"]["w1"]["http_port"], 8080);
    assert_eq!(ours["_meta"]["hostvars"]["d1"]["ansible_host"], "10.0.2.1");
    if let Some(theirs) = ansible_list(&project, "inv.sh") {
        assert_eq!(groups(&ours), groups(&theirs));
        assert_eq!(ours["_meta"], theirs["_meta"]);
    }
    let project = executable(Project::new(), "inv.sh", SCRIPT_WITHOUT_META);
    let ours = list(&project, "inv.sh");
    assert_eq!(ours["_meta"]["hostvars"]["w1"]["asked_for"], "w1");
}

#[test]
fn a_failing_or_unexecutable_script_is_reported() {
    let project = executable(
        Project::new(),
        "inv.sh",
        "#!/bin/sh\necho broken >&2\nexit 3\n",
    );
    let out = project.run(&["inventory", "-i", "inv.sh", "--list"]);
    assert_eq!(out.code, 4);
    assert!(out.stderr.contains("broken"), "{}", out.stderr);
    let project = Project::new().file("inv.sh", SCRIPT);
    let out = project.run(&["inventory", "-i", "inv.sh", "--list"]);
    assert!(out.stderr.contains("chmod +x"), "{}", out.stderr);
}

#[test]
fn constructed_builds_groups_and_vars_on_a_dynamic_inventory() {
    let project = executable(Project::new(), "inv/01-hosts.sh", SCRIPT)
        .file("inv/02-constructed.yml", CONSTRUCTED);
    let ours = list(&project, "inv");
    assert_eq!(ours["webservers"]["hosts"], json!(["w1", "w2"]));
    assert_eq!(ours["zone_eu_1a"]["hosts"], json!(["w1", "d1"]));
    assert_eq!(ours["roles"]["children"], json!(["web", "db"]));
    assert_eq!(ours["_meta"]["hostvars"]["w1"]["ansible_port"], 8080);
    assert_eq!(ours["_meta"]["hostvars"]["d1"]["ansible_port"], 22);
    assert_eq!(ours["_meta"]["hostvars"]["d1"]["label"], "db-d1");
    if let Some(theirs) = ansible_list(&project, "inv") {
        assert_eq!(groups(&ours), groups(&theirs));
        assert_eq!(ours["_meta"], theirs["_meta"]);
    }
    let out = project.run(&["inventory", "-i", "inv", "--graph", "webservers"]);
    assert_eq!(
        out.stdout, "@webservers:\n  |--w1\n  |--w2\n",
        "{}",
        out.stderr
    );
}

#[test]
fn constructed_strict_reports_a_bad_expression() {
    let project = Project::new().file("inv/01.ini", "w1\n").file(
        "inv/02.yml",
        "plugin: constructed\nstrict: true\ncompose:\n  x: nope.missing\n",
    );
    let out = project.run(&["inventory", "-i", "inv", "--list"]);
    assert_eq!(out.code, 4, "{}", out.stdout);
    assert!(out.stderr.contains("`x`"), "{}", out.stderr);
    let project = project.file(
        "inv/02.yml",
        "plugin: constructed\ncompose:\n  x: nope.missing\n",
    );
    assert_eq!(
        list(&project, "inv")["_meta"]["hostvars"]["w1"].get("x"),
        None
    );
}

/// A `terraform.tfstate` (format 4) with two instances and a bucket.
const STATE: &str = r#"{
  "version": 4, "terraform_version": "1.9.0", "serial": 3, "lineage": "x", "outputs": {},
  "resources": [
    {"mode": "managed", "type": "aws_instance", "name": "app", "provider": "aws",
     "instances": [
       {"index_key": 0, "attributes": {"id": "i-0a", "instance_type": "t3.micro",
        "private_ip": "10.0.1.10", "public_ip": "", "tags": {"Name": "app-1", "Role": "app", "Env": "staging"}}},
       {"index_key": 1, "attributes": {"id": "i-0b", "instance_type": "t3.micro",
        "private_ip": "10.0.1.11", "public_ip": "", "tags": {"Name": "app-2", "Role": "app", "Env": "staging"}}}
     ]},
    {"mode": "managed", "type": "aws_instance", "name": "bastion", "module": "module.edge", "provider": "aws",
     "instances": [{"attributes": {"id": "i-0c", "private_ip": "10.0.0.5", "public_ip": "203.0.113.5",
        "tags": {"Name": "bastion", "Role": "bastion"}}}]},
    {"mode": "managed", "type": "aws_s3_bucket", "name": "logs", "provider": "aws",
     "instances": [{"attributes": {"id": "logs"}}]}
  ]
}"#;

/// The same instances as `terraform show -json` prints them.
const SHOWN: &str = r#"{
  "format_version": "1.0", "terraform_version": "1.9.0",
  "values": {"root_module": {
    "resources": [
      {"address": "aws_instance.app[0]", "mode": "managed", "type": "aws_instance", "name": "app", "index": 0,
       "values": {"id": "i-0a", "private_ip": "10.0.1.10", "public_ip": "", "tags": {"Name": "app-1", "Role": "app"}}}
    ],
    "child_modules": [{"address": "module.edge", "resources": [
      {"address": "module.edge.aws_instance.bastion", "mode": "managed", "type": "aws_instance", "name": "bastion",
       "values": {"id": "i-0c", "private_ip": "10.0.0.5", "public_ip": "203.0.113.5", "tags": {"Name": "bastion", "Role": "bastion"}}}
    ]}]
  }}
}"#;

#[test]
fn a_terraform_state_is_an_inventory_of_its_instances_grouped_by_tags() {
    let project = Project::new()
        .file("terraform.tfstate", STATE)
        .file("shown.json", SHOWN);
    let ours = list(&project, "terraform.tfstate");
    assert_eq!(ours["tag_Role_app"]["hosts"], json!(["app-1", "app-2"]));
    assert_eq!(ours["tag_Env_staging"]["hosts"], json!(["app-1", "app-2"]));
    let vars = &ours["_meta"]["hostvars"];
    assert_eq!(vars["app-1"]["ansible_host"], "10.0.1.10");
    assert_eq!(vars["bastion"]["ansible_host"], "203.0.113.5");
    assert_eq!(
        vars["bastion"]["terraform_address"],
        "module.edge.aws_instance.bastion[0]"
    );
    assert!(
        !ours.to_string().contains("logs"),
        "only instances are hosts"
    );
    let shown = list(&project, "shown.json");
    assert_eq!(shown["tag_Role_bastion"]["hosts"], json!(["bastion"]));
    assert_eq!(shown["_meta"]["hostvars"]["app-1"]["id"], "i-0a");
    let out = project.run(&["inventory", "-i", "terraform.tfstate", "--graph"]);
    assert!(
        out.stdout
            .contains("@tag_Role_app:\n  |  |--app-1\n  |  |--app-2"),
        "{}",
        out.stdout
    );
}

#[test]
fn constructed_picks_the_private_ip_of_terraform_instances_behind_a_bastion() {
    let project = Project::new()
        .file("inv/00-terraform.tfstate", STATE)
        .file(
            "inv/10-constructed.yml",
            "plugin: constructed\ncompose:\n  ansible_host: private_ip\n  bastion: \"'10.0.0.5' if tags.Role != 'bastion' else None\"\n",
        );
    let vars = &list(&project, "inv")["_meta"]["hostvars"];
    assert_eq!(vars["app-2"]["ansible_host"], "10.0.1.11");
    assert_eq!(vars["app-2"]["bastion"], "10.0.0.5");
    assert_eq!(vars["bastion"]["ansible_host"], "10.0.0.5");
}

#[test]
fn cloud_data_that_looks_like_a_template_stays_data() {
    let state = r#"{"version": 4, "terraform_version": "1.9.0", "resources": [
      {"mode": "managed", "type": "aws_instance", "name": "x", "instances": [{"attributes": {
        "id": "i-1", "private_ip": "127.0.0.1",
        "tags": {"Name": "web", "Note": "{{ 7 * 6 }}{{ lookup('pipe', 'echo ran') }}"}}}]}]}"#;
    let project = Project::new()
        .file("inv/00.tfstate", state)
        .file(
            "inv/10.yml",
            "plugin: constructed\ncompose:\n  ansible_connection: \"'local'\"\n",
        )
        .file(
            "site.yml",
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=\"note={{ tags.Note }}\"\n",
        );
    let out = project.run(&["run", "site.yml", "-i", "inv"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("note={{ 7 * 6 }}{{ lookup('pipe', 'echo ran') }}"),
        "{}",
        out.stdout
    );
}
