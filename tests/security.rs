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

/// A playbook taking the deploy lock (at `path`, when given) and running `task`.
fn locked(path: Option<&str>, task: &str) -> String {
    let path = path.map_or(String::new(), |p| format!("    deployer_lock_path: {p}\n"));
    format!(
        "- hosts: app\n  gather_facts: false\n  vars:\n    deployer_lock: true\n{path}  tasks:\n    - name: Task\n      {task}\n"
    )
}

#[test]
fn deploy_locks_live_in_the_home_folder_and_refuse_links() {
    let project = Project::local(
        &["h1"],
        &locked(
            None,
            "command: test -d {{ lookup('env', 'HOME') }}/.deployer.lock",
        ),
    );
    std::fs::create_dir(project.join("home")).unwrap();
    let home = project.join("home").display().to_string();
    let out = project.site_env(&[], &[("NO_COLOR", "1"), ("HOME", &home)]);
    assert_eq!(
        out.code, 0,
        "the lock is in the home folder:\n{}",
        out.stdout
    );
    assert!(!project.join("home/.deployer.lock").exists(), "released");

    let link = project.join("link.lock").display().to_string();
    let project = project.file("real/keep", "");
    std::os::unix::fs::symlink(project.join("real"), &link).unwrap();
    let project = project.file("site.yml", &locked(Some(&link), "command: 'true'"));
    let refused = project.site(&[]);
    assert_ne!(refused.code, 0, "{}", refused.stdout);
    assert!(refused.stdout.contains("refusing it"), "{}", refused.stdout);
    assert!(project.join("real/keep").exists());
}

#[test]
fn a_stale_lock_takeover_never_writes_through_a_planted_link() {
    let victim_text = "owner=x\nrun=old\nstarted=2020-01-01T00:00:00Z\nexpires=1\n";
    let lock = "stale.lock";
    let project = Project::local(&["h1"], "").file("victim", victim_text);
    let path = project.join(lock).display().to_string();
    let project = project.file("site.yml", &locked(Some(&path), "command: 'true'"));
    std::fs::create_dir(&path).unwrap();
    std::os::unix::fs::symlink(project.join("victim"), project.join("stale.lock/owner")).unwrap();
    let out = project.site(&[]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("took over the stale deploy lock"),
        "{}",
        out.stdout
    );
    assert_eq!(
        std::fs::read_to_string(project.join("victim")).unwrap(),
        victim_text,
        "the owner file was written through the planted link"
    );
}

#[test]
fn copy_never_changes_a_file_swapped_in_for_its_temp_file() {
    use std::os::unix::fs::PermissionsExt;
    let playbook = r#"
- hosts: app
  gather_facts: false
  tasks:
    - name: Copies racing a swapper
      copy: {content: "same\n", dest: "{{ playbook_dir }}/shared/f{{ item }}", mode: "0666"}
      loop: "{{ range(40) | list }}"
      ignore_errors: true
"#;
    let project = Project::local(&["h1"], playbook)
        .file("shared/keep", "")
        .file("victim", "same\n");
    let victim = project.join("victim");
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
    let shared = project.join("shared");
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let (done, victim) = (std::sync::Arc::clone(&done), victim.clone());
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                for entry in std::fs::read_dir(&shared).unwrap().flatten() {
                    let path = entry.path();
                    let temp = entry
                        .file_name()
                        .to_string_lossy()
                        .starts_with(".deployer-tmp");
                    if temp && !path.is_symlink() && std::fs::remove_file(&path).is_ok() {
                        let _ = std::os::unix::fs::symlink(&victim, &path);
                    }
                }
            }
        })
    };
    let out = project.site(&[]);
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    swapper.join().unwrap();
    assert!(out.code == 0 || out.code == 2, "{}", out.stdout);
    let mode = std::fs::metadata(&victim).unwrap().permissions().mode() & 0o7777;
    assert_eq!(
        mode, 0o600,
        "chmod followed a link swapped in for the temp file"
    );
}

#[test]
fn run_logs_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let project = Project::local(
        &["h1"],
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - command: 'true'\n",
    );
    let out = project.site(&["--runs-dir", "runs"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let run = std::fs::read_dir(project.join("runs"))
        .unwrap()
        .flatten()
        .find(|e| e.path().is_dir())
        .expect("a run folder")
        .path();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&run), 0o700);
    assert_eq!(mode(&run.join("events.jsonl")), 0o600);
}

#[test]
fn environment_names_are_validated() {
    let playbook = r#"
- hosts: app
  gather_facts: false
  tasks:
    - name: Hostile name
      command: 'true'
      environment:
        "X=1; touch pwned; Y": "v"
"#;
    let project = Project::local(&["h1"], playbook);
    let out = project.site(&[]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        !project.join("pwned").exists(),
        "an environment name ran as shell code"
    );
    assert!(
        out.stdout.contains("not a valid environment variable name"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_command_whose_first_word_holds_an_equals_sign_is_not_an_assignment() {
    let playbook = r#"
- hosts: app
  gather_facts: false
  vars:
    tool: "X=1"
  tasks:
    - name: Assignment-looking command
      command: "{{ tool }} touch pwned"
      ignore_errors: true
"#;
    let project = Project::local(&["h1"], playbook);
    let out = project.site(&[]);
    assert!(out.code == 0 || out.code == 2, "{}", out.stdout);
    assert!(
        !project.join("pwned").exists(),
        "the first word became an assignment"
    );
}

#[test]
fn fetch_never_writes_outside_its_dest() {
    // Ansible's CVE-2019-3828: `dest/<host>/<src>` must stay inside `dest`.
    let playbook = r#"
- hosts: app
  gather_facts: false
  tasks:
    - name: Climb within
      fetch: {src: /etc/../etc/hostname, dest: out}
    - name: Climb out
      fetch: {src: /../../etc/hostname, dest: out}
"#;
    let project = Project::local(&["h1"], playbook);
    let out = project.site(&["--format", "json"]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.result("h1", "Climb out")["msg"]
            .as_str()
            .is_some_and(|m| m.starts_with(
                "Detected directory traversal, expected to be contained in 'out' but got 'out/h1/../../etc/hostname'"
            )),
        "{}",
        out.stdout
    );
    assert!(!project.join("etc").exists(), "fetch wrote outside dest");
    assert!(project.join("out/h1/etc/hostname").is_file());
}
