//! The login user is chosen per task, as in Ansible: the `ansible_user` variable from any source
//! (inventory, play `vars`, task `vars`) wins, the `remote_user` keyword (play, block or task)
//! applies where no variable sets one, and `connection: local` runs on the controller.

use crate::fleet::fleet;

const PLAYBOOK: &str = r#"- name: keywords where the inventory sets no user
  hosts: app1
  remote_user: connvars
  tasks:
    - name: play keyword
      command: id -un
    - name: task keyword
      command: id -un
      remote_user: deploy
    - name: task variable
      command: id -un
      vars: {ansible_user: deploy}
    - block:
        - name: block keyword
          command: id -un
      remote_user: deploy
    - name: local
      command: id -un
      connection: local
    - name: facts
      debug: {msg: "{{ ansible_user_id }}"}

- name: a play variable beats the keyword
  hosts: app1
  gather_facts: false
  remote_user: deploy
  vars: {ansible_user: connvars}
  tasks:
    - name: play variable
      command: id -un
"#;

#[test]
fn variables_and_keywords_choose_the_login_user_per_task() {
    let Some(fleet) = fleet() else { return };
    fleet.login_counting_user("app1", "connvars");
    let inventory = std::fs::read_to_string(fleet.inventory()).expect("fleet inventory");
    assert!(
        inventory.contains("    ansible_user: deploy\n"),
        "{inventory}"
    );
    let inventory = inventory.replace("    ansible_user: deploy\n", "");
    let out = fleet
        .project(PLAYBOOK)
        .file("inv.yml", &inventory)
        .site(&["--format", "json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let user = |task: &str| out.result("app1", task)["stdout"].clone();
    assert_eq!(user("play keyword"), "connvars");
    assert_eq!(user("task keyword"), "deploy");
    assert_eq!(user("task variable"), "deploy");
    assert_eq!(user("block keyword"), "deploy");
    assert_eq!(user("play variable"), "connvars");
    let local = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    assert_eq!(user("local"), String::from_utf8_lossy(&local.stdout).trim());
    assert_eq!(out.result("app1", "facts")["msg"], "connvars");
}
