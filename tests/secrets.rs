//! Vault files and redaction: a secret read from a vault file (or named like one) is used by the
//! tasks but never appears in the terminal output, the JSON events or the run log.

use crate::support::{Project, files_under, local_inventory};

const VAULT_SECRET: &str = "Tr0ub4dor-S3CR3T-zx81";
const GROUP_SECRET: &str = "GV-hidden-9931";
const NAMED_SECRET: &str = "tok-by-name-4242";
const PASSWORD: (&str, &str) = ("DEPLOYER_VAULT_PASSWORD", "vault-pw");

const PLAYBOOK: &str = r#"- hosts: app
  gather_facts: false
  vars_files: [secrets.yml]
  vars:
    api_token: tok-by-name-4242
  tasks:
    - name: say it
      debug: msg="the secret is {{ vault_secret }}"
    - name: use it
      shell: echo {{ vault_secret }} {{ group_secret }} {{ api_token }} > {{ out_dir }}/used.txt; echo {{ vault_secret }}
    - name: hidden
      shell: echo {{ vault_secret }}
      no_log: true
    - name: fail with it
      fail: msg="failing with {{ vault_secret }}"
"#;

/// A project whose vars file and `group_vars/all` file are vault-encrypted by `deployer vault`.
fn project() -> Project {
    let p = Project::new()
        .file("inv.yml", &local_inventory(&["localhost"]))
        .file("secrets.yml", &format!("vault_secret: {VAULT_SECRET}\n"))
        .file(
            "group_vars/all.yml",
            &format!("group_secret: {GROUP_SECRET}\n"),
        );
    let playbook = PLAYBOOK.replace("{{ out_dir }}", &p.path_str());
    let p = p.file("site.yml", &playbook);
    for file in ["secrets.yml", "group_vars/all.yml"] {
        let out = p.run_env(&["vault", "encrypt", file], &[PASSWORD]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let text = std::fs::read_to_string(p.join(file)).unwrap();
        assert!(text.starts_with("$ANSIBLE_VAULT;1.1;AES256\n"), "{text}");
    }
    p
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [VAULT_SECRET, GROUP_SECRET, NAMED_SECRET] {
        assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
    }
}

#[test]
fn a_vault_secret_is_used_but_never_shown_in_text_json_or_the_run_log() {
    let p = project();
    let text = p.site_env(&[], &[PASSWORD]);
    assert_eq!(text.code, 2, "{}{}", text.stdout, text.stderr);
    let used = std::fs::read_to_string(p.join("used.txt")).unwrap();
    assert_eq!(
        used,
        format!("{VAULT_SECRET} {GROUP_SECRET} {NAMED_SECRET}\n")
    );
    assert!(
        text.stdout.contains("\"msg\": \"the secret is ********\""),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("failing with ********"),
        "{}",
        text.stdout
    );
    assert_no_secret("text stdout", &text.stdout);
    assert_no_secret("text stderr", &text.stderr);

    let json = p.site_env(&["--format", "json"], &[PASSWORD]);
    assert_eq!(json.code, 2, "{}", json.stderr);
    assert!(json.stdout.contains("********"), "{}", json.stdout);
    assert_no_secret("json stdout", &json.stdout);

    let logs = files_under(&p.join(".deployer/runs"));
    assert_eq!(
        logs.iter()
            .filter(|(path, _)| path.ends_with("events.jsonl"))
            .count(),
        2
    );
    for (path, text) in &logs {
        assert_no_secret(&path.display().to_string(), text);
    }
    let log = p.run(&["log", "--format", "json"]);
    assert!(
        log.stdout.contains("\"censored\""),
        "no_log is hidden: {}",
        log.stdout
    );
    assert_no_secret("deployer log", &log.stdout);
}

#[test]
fn a_vault_file_without_or_with_a_wrong_password_is_bad_input_naming_the_file() {
    let p = project();
    let none = p.site(&[]);
    assert_eq!(none.code, 4, "{}", none.stderr);
    assert!(none.stderr.contains("all.yml"), "{}", none.stderr);
    assert!(none.stderr.contains("no vault password"), "{}", none.stderr);
    let wrong = p.site_env(&[], &[("DEPLOYER_VAULT_PASSWORD", "nope")]);
    assert_eq!(wrong.code, 4, "{}", wrong.stderr);
    assert!(
        wrong.stderr.contains("wrong vault password"),
        "{}",
        wrong.stderr
    );
    assert!(!p.join("used.txt").exists());
}

#[test]
fn commands_that_read_only_the_inventory_decrypt_its_vault_files_and_mask_their_values() {
    let p = project();
    let srv = p.join("srv").display().to_string();
    let commands: [&[&str]; 3] = [
        &["ping", "-i", "inv.yml"],
        &["releases", "-i", "inv.yml", "--deploy-to", &srv],
        &["unlock", "-i", "inv.yml"],
    ];
    for args in commands {
        let refused = p.run(args);
        assert_eq!(refused.code, 4, "{args:?}: {}", refused.stderr);
        assert!(
            refused.stderr.contains("no vault password"),
            "{}",
            refused.stderr
        );
        let done = p.run_env(args, &[PASSWORD]);
        assert_eq!(done.code, 0, "{args:?}: {}{}", done.stdout, done.stderr);
        assert!(done.stdout.starts_with("localhost  ok "), "{}", done.stdout);
    }
    let list = p.run_env(&["inventory", "-i", "inv.yml", "--list"], &[PASSWORD]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert_no_secret("inventory --list", &list.stdout);
    assert!(
        list.stdout.contains("\"group_secret\": \"********\""),
        "{}",
        list.stdout
    );
}

#[test]
fn vault_decrypt_gives_back_the_plaintext_and_a_password_file_works() {
    let p = project().file("pw.txt", "vault-pw\n");
    let out = p.run(&[
        "vault",
        "decrypt",
        "secrets.yml",
        "--output",
        "-",
        "--vault-password-file",
        "pw.txt",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, format!("vault_secret: {VAULT_SECRET}\n"));
    let again = p.run_env(&["vault", "encrypt", "secrets.yml"], &[PASSWORD]);
    assert_eq!(again.code, 4, "already encrypted: {}", again.stderr);
}

#[test]
fn vault_edit_reencrypts_what_the_editor_wrote() {
    let p = project().file("editor.sh", "#!/bin/sh\necho 'added: line' >> \"$1\"\n");
    let editor = format!("sh {}", p.join("editor.sh").display());
    let out = p.run_env(
        &["vault", "edit", "secrets.yml"],
        &[PASSWORD, ("EDITOR", &editor), ("VISUAL", &editor)],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let encrypted = std::fs::read_to_string(p.join("secrets.yml")).unwrap();
    assert!(encrypted.starts_with("$ANSIBLE_VAULT;1.1;AES256\n"));
    let shown = p.run_env(
        &["vault", "decrypt", "secrets.yml", "--output", "-"],
        &[PASSWORD],
    );
    assert_eq!(
        shown.stdout,
        format!("vault_secret: {VAULT_SECRET}\nadded: line\n")
    );
}
