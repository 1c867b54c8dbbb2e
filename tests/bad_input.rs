//! A corpus of broken playbooks and inventories: each gives a located error and exit code 4,
//! never a panic, and nothing runs.

use crate::support::{Project, local_inventory};

/// Runs `validate` on the playbook and inventory; asserts exit 4 and returns stderr.
fn refused(playbook: &[u8], inventory: &str) -> String {
    let p = Project::new().file("inv.yml", inventory);
    std::fs::write(p.join("site.yml"), playbook).unwrap();
    let out = p.run(&["validate", "site.yml", "-i", "inv.yml"]);
    assert_eq!(
        out.code, 4,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    out.stderr
}

fn refused_playbook(playbook: &str) -> String {
    refused(playbook.as_bytes(), &local_inventory(&["localhost"]))
}

#[test]
fn truncated_yaml() {
    let err = refused_playbook("- hosts: app\n  tasks:\n    - debug: {msg: \"unfinished\n");
    assert!(err.starts_with("error: YAML syntax error"), "{err}");
    assert!(err.contains("--> site.yml:3:"), "{err}");
}

#[test]
fn tabs_for_indentation() {
    let err = refused_playbook("- hosts: app\n  tasks:\n\t- debug: {msg: hi}\n");
    assert!(err.contains("tabs"), "{err}");
    assert!(err.contains("--> site.yml:3:"), "{err}");
}

#[test]
fn duplicate_keys() {
    let err = refused_playbook("- hosts: app\n  hosts: web\n  tasks: []\n");
    assert!(err.contains("duplicate mapping key"), "{err}");
    assert!(err.contains("--> site.yml:2:3"), "{err}");
}

#[test]
fn wrong_types() {
    let err = refused_playbook("- hosts: app\n  tasks: just a string\n");
    assert!(
        err.contains("error: expected a list of tasks, found a string\n  --> site.yml:2:10"),
        "{err}"
    );
    let err = refused_playbook("- hosts: app\n  become: maybe\n  tasks: []\n");
    assert!(
        err.contains("error: `become` must be a boolean, not a string\n  --> site.yml:2:11"),
        "{err}"
    );
    let err = refused_playbook("- hosts: app\n  serial: lots\n  tasks: []\n");
    assert!(err.contains("`serial` takes a number of hosts"), "{err}");
    let err = refused_playbook("hosts: app\n");
    assert!(
        err.contains("a playbook is a list of plays, found a mapping"),
        "{err}"
    );
}

#[test]
fn recursion_in_variables() {
    let err = refused_playbook(
        "- hosts: app\n  vars:\n    a: \"{{ b }}\"\n    b: \"{{ c }}-{{ a }}\"\n    c: 1\n  tasks: []\n",
    );
    assert!(
        err.contains("error: recursive loop in variables: a -> b -> a\n  --> site.yml:3:5"),
        "{err}"
    );
}

#[test]
fn non_utf8_files() {
    let err = refused(
        b"- hosts: app\n  tasks:\n    - debug: {msg: \"caf\xe9\"}\n",
        &local_inventory(&["localhost"]),
    );
    assert!(err.contains("not valid UTF-8"), "{err}");
    assert!(err.contains("site.yml:3:"), "{err}");
}

#[test]
fn huge_files() {
    let mut big = String::from("- hosts: app\n  vars:\n    filler: |\n");
    let line = format!("      {}\n", "x".repeat(1000));
    while big.len() < 17 * 1024 * 1024 {
        big.push_str(&line);
    }
    let err = refused_playbook(&big);
    assert!(
        err.contains("more than the 16777216 bytes allowed"),
        "{err}"
    );
}

#[test]
fn broken_inventories() {
    let err = refused(
        b"- hosts: app\n  tasks: []\n",
        "all:\n  hosts:\n    web1: [unclosed\n",
    );
    assert!(err.contains("inv.yml:3:"), "{err}");
    let err = refused(
        b"- hosts: app\n  tasks: []\n",
        "all:\n  hostz:\n    web1:\n",
    );
    assert!(err.contains("inv.yml:2:3"), "{err}");
}

#[test]
fn bad_extra_vars() {
    let p = Project::local(&["localhost"], "- hosts: app\n  tasks: []\n");
    let out = p.run(&["validate", "site.yml", "-i", "inv.yml", "-e", "{broken: [}"]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    let out = p.run(&[
        "validate",
        "site.yml",
        "-i",
        "inv.yml",
        "-e",
        "@missing.yml",
    ]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(out.stderr.contains("missing.yml"), "{}", out.stderr);
}
