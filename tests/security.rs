//! Security promises (docs/security.md), each kept by a test that drives the real binary on
//! the local connection.

use std::io::{Read, Write};
use std::net::TcpListener;

use crate::support::Project;

/// A loopback HTTP server answering every request with `200` and `body`; its URL.
fn serve(body: &'static [u8]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let url = format!("http://{}/", listener.local_addr().expect("an address"));
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.read(&mut [0; 4096]);
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body);
        }
    });
    url
}

/// Jinja that creates `pwned` in the current folder (the project) if it is ever rendered.
const JINJA: &str = "{{ lookup('pipe', 'touch pwned') }}";

#[test]
fn data_from_hosts_is_never_rendered() {
    let url = serve(JINJA.as_bytes());
    let playbook = format!(
        r#"
- hosts: app
  gather_facts: false
  vars:
    author: "{{{{ 40 + 2 }}}}"
    copy_of_out: "{{{{ out.stdout }}}}"
  tasks:
    - name: Output
      command: cat evil.txt
      register: out
    - name: Registered
      debug: {{msg: "{{{{ out.stdout }}}} {{{{ author }}}}"}}
    - name: Author variable reading data
      debug: {{msg: "{{{{ copy_of_out }}}}"}}
    - name: Copy into facts
      set_fact:
        copied: "{{{{ out.stdout }}}}"
        made: "{{{{ '{{{{ 1 + 1 }}}}' }}}}"
    - name: Facts
      debug: {{msg: "{{{{ copied }}}} {{{{ made }}}} {{{{ hostvars[inventory_hostname].copied }}}}"}}
    - name: Var
      debug: {{var: copied}}
    - name: Loop items
      debug: {{msg: "{{{{ item }}}}"}}
      loop: "{{{{ out.stdout_lines }}}}"
    - name: Template file
      template: {{src: t.j2, dest: "{{{{ playbook_dir }}}}/out.txt"}}
      loop: "{{{{ [out.stdout] }}}}"
    - name: Slurp
      slurp: {{src: evil.txt}}
      register: slurped
    - name: Slurped
      debug: {{msg: "{{{{ slurped.content | b64decode }}}}"}}
    - name: HTTP
      uri: {{url: "{url}", return_content: true}}
      register: page
    - name: Body
      set_fact: {{body: "{{{{ page.content }}}}"}}
    - name: Body read
      debug: {{msg: "{{{{ body }}}}"}}
"#
    );
    let project = Project::local(&["h1"], &playbook)
        .file("evil.txt", JINJA)
        .file("t.j2", "{{ item }} {{ copy_of_out }}\n");
    let out = project.site(&["--format", "json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        !project.join("pwned").exists(),
        "host data was rendered on the controller"
    );
    assert_eq!(out.result("h1", "Registered")["msg"], format!("{JINJA} 42"));
    assert_eq!(
        out.result("h1", "Author variable reading data")["msg"],
        JINJA
    );
    assert_eq!(
        out.result("h1", "Facts")["msg"],
        format!("{JINJA} {{{{ 1 + 1 }}}} {JINJA}"),
        "set_fact values are data, as in ansible-core 2.19"
    );
    assert_eq!(out.result("h1", "Var")["copied"], JINJA);
    assert_eq!(out.result("h1", "Slurped")["msg"], JINJA);
    assert_eq!(out.result("h1", "Body read")["msg"], JINJA);
    let written = std::fs::read_to_string(project.join("out.txt")).unwrap();
    assert_eq!(written, format!("{JINJA} {JINJA}\n"));
}

#[test]
fn every_known_secret_is_masked_and_kept_from_controller_commands() {
    let env_secrets = [
        ("DEPLOYER_VAULT_PASSWORD", "Vault-Pass-31"),
        ("DEPLOYER_BECOME_PASSWORD", "Become-Env-32"),
        ("DEPLOYER_SSH_KEY_PASSPHRASE", "Key-Phrase-33"),
        ("DEPLOYER_SSH_PRIVATE_KEY", "Private-Key-34"),
    ];
    let playbook = r#"
- hosts: app
  gather_facts: false
  tasks:
    - name: Become passwords
      debug: {msg: "{{ ansible_become_pass }} {{ ansible_sudo_pass }}"}
    - name: Environment
      command: env
      register: env
    - name: Pipe
      debug: {msg: "{{ lookup('pipe', 'env') }}"}
    - name: Echo
      command: "echo {{ ansible_become_pass }} {{ lookup('env', 'DEPLOYER_SSH_KEY_PASSPHRASE') }}"
"#;
    let project = Project::local(&["h1"], playbook).file(
        "host_vars/h1.yml",
        "ansible_become_pass: Become-Pass-11\nansible_sudo_pass: Sudo-Pass-12\n",
    );
    let mut env = vec![("NO_COLOR", "1")];
    env.extend(env_secrets);
    let out = project.site_env(&["-vv"], &env);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let all = format!("{}\n{}", out.stdout, out.stderr);
    assert!(all.contains("running"), "-vv logs the commands:\n{all}");
    for secret in ["Become-Pass-11", "Sudo-Pass-12"]
        .into_iter()
        .chain(env_secrets.map(|(_, v)| v))
    {
        assert!(!all.contains(secret), "{secret} shown in:\n{all}");
    }
    for (name, _) in env_secrets {
        assert!(
            !all.contains(name),
            "{name} passed to a controller command:\n{all}"
        );
    }
}
