//! No shell injection from variables into module commands: hostile values (quotes, `$()`,
//! backticks, `;`, newlines, leading dashes) in paths, file content, lines and argv arrive as
//! the literal text, and nothing in them is executed. Every injection attempt would create
//! `pwned` in the home folder (`cd` with no argument goes there), which must never appear.

use crate::fleet::fleet;
use crate::support::Project;

/// Values a shell would act on if they were pasted into a command line unquoted.
const NAMES: &[&str] = &[
    "$(cd;touch pwned)",
    "`cd;touch pwned`",
    "x';cd;touch pwned;'",
    "x\";cd;touch pwned;\"",
    "a;cd;touch pwned",
    "-rf",
    "--version",
    "tab\tand space",
    "two\nlines $(cd;touch pwned)",
];

const CONTENT: &str = "first\n$(cd;touch pwned)\n`cd;touch pwned`\n'\"\\ ;cd;touch pwned\n-rf\n";

/// The playbook: folders and files under `base` named by every hostile value, hostile content,
/// hostile lines, and hostile argv, with `become` as given.
fn playbook(hosts: &str, become_root: bool) -> String {
    let tasks = r#"
    - name: Folders with hostile names
      file: {path: "{{ base }}/{{ item }}", state: directory}
      loop: "{{ names }}"
    - name: Hostile content under hostile names
      copy: {content: "{{ content }}", dest: "{{ base }}/{{ item }}/file"}
      loop: "{{ names }}"
    - name: Hostile lines
      lineinfile: {path: "{{ base }}/lines.txt", line: "{{ item }}", create: true}
      loop: "{{ names | reject('search', '\n') | list }}"
    - name: Hostile arguments
      command: {argv: "{{ ['printf', '%s|'] + names }}"}
      register: printed
    - name: Keep what was printed
      copy: {content: "{{ printed.stdout }}", dest: "{{ base }}/printed.txt"}
    - name: Hostile words in a command line (split into words, never run by a shell)
      command: "printf '%s|' {{ names[0] }} {{ names[1] }} {{ names[4] }}"
      register: words
    - name: Keep the words
      copy: {content: "{{ words.stdout }}", dest: "{{ base }}/words.txt"}
"#;
    format!("- hosts: {hosts}\n  gather_facts: false\n  become: {become_root}\n  tasks:{tasks}")
}

/// The `-e` file: the hostile values and where to put things.
fn vars(base: &str) -> String {
    serde_json::json!({"base": base, "names": NAMES, "content": CONTENT}).to_string()
}

/// What `lines.txt` must hold.
fn expected_lines() -> String {
    NAMES
        .iter()
        .filter(|n| !n.contains('\n'))
        .map(|n| format!("{n}\n"))
        .collect()
}

fn expected_printed() -> String {
    NAMES.iter().map(|n| format!("{n}|")).collect()
}

/// What the command line printed: the values split into words at spaces, nothing else.
const EXPECTED_WORDS: &str = "$(cd;touch|pwned)|`cd;touch|pwned`|a;cd;touch|pwned|";

#[test]
fn hostile_values_arrive_literally_and_run_nothing_on_the_local_connection() {
    let p = Project::local(&["localhost"], &playbook("app", false));
    let base = p.join("out");
    std::fs::create_dir(&base).unwrap();
    let p = p.file("vars.json", &vars(&base.display().to_string()));
    let home = p.path_str();
    let out = p.site_env(&["-e", "@vars.json"], &[("NO_COLOR", "1"), ("HOME", &home)]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(!p.join("pwned").exists(), "a value was executed");
    for name in NAMES {
        let file = base.join(name).join("file");
        assert_eq!(
            std::fs::read_to_string(&file).ok().as_deref(),
            Some(CONTENT),
            "{file:?}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(base.join("lines.txt")).unwrap(),
        expected_lines()
    );
    assert_eq!(
        std::fs::read_to_string(base.join("printed.txt")).unwrap(),
        expected_printed()
    );
    assert_eq!(
        std::fs::read_to_string(base.join("words.txt")).unwrap(),
        EXPECTED_WORDS
    );
    // A second run finds everything in place.
    let again = p.site_env(&["-e", "@vars.json"], &[("NO_COLOR", "1"), ("HOME", &home)]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    assert!(
        again.recap("localhost").starts_with("ok=7 changed=2 "),
        "only the commands report a change: {}",
        again.stdout
    );
}

#[test]
fn hostile_values_arrive_literally_and_run_nothing_over_ssh_with_become() {
    let Some(fleet) = fleet() else { return };
    let base = "/tmp/ft-hostile";
    fleet.exec(
        "app1",
        &format!("rm -rf {base} /root/pwned /home/deploy/pwned && mkdir {base}"),
    );
    let p = fleet
        .project(&playbook("app1", true))
        .file("vars.json", &vars(base));
    let out = p.site(&["-e", "@vars.json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for home in ["/root", "/home/deploy"] {
        assert_ne!(
            fleet.exec("app1", &format!("test -e {home}/pwned")).0,
            0,
            "a value was executed ({home}/pwned exists)"
        );
    }
    let (_, folders) = fleet.exec(
        "app1",
        &format!(
            "cd {base} && for d in ./*/; do cat \"$d/file\"; done | sha256sum; set -- */; echo $#"
        ),
    );
    let all = deployer::modules::transfer::sha256_hex(CONTENT.repeat(NAMES.len()).as_bytes());
    assert_eq!(
        folders,
        format!("{all}  -\n{}\n", NAMES.len()),
        "every folder holds the content"
    );
    assert_eq!(
        fleet.read("app1", &format!("{base}/lines.txt")).as_deref(),
        Some(expected_lines().as_str())
    );
    assert_eq!(
        fleet
            .read("app1", &format!("{base}/printed.txt"))
            .as_deref(),
        Some(expected_printed().as_str())
    );
    assert_eq!(
        fleet.read("app1", &format!("{base}/words.txt")).as_deref(),
        Some(EXPECTED_WORDS)
    );
    fleet.exec("app1", &format!("rm -rf {base}"));
}
