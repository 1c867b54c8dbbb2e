//! Bad playbooks are refused before anything runs, with file:line:column and a caret, and exit 4;
//! problems ansible-core finds only at run time are warnings, and errors under `validate --strict`.

use crate::support::{Project, local_inventory};

/// Validates `playbook` and returns what was printed on stderr; asserts exit code 4.
fn rejected(playbook: &str) -> String {
    let project = Project::local(&["localhost"], playbook);
    let out = project.run(&["validate", "site.yml", "-i", "inv.yml"]);
    assert_eq!(
        out.code, 4,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    let run = project.site(&[]);
    assert_eq!(run.code, 4, "run must refuse too: {}", run.stderr);
    assert!(
        !run.stdout.contains("PLAY ["),
        "nothing may run: {}",
        run.stdout
    );
    out.stderr
}

#[test]
fn unknown_play_keyword_points_at_the_key() {
    let err = rejected("- hosts: app\n  taks:\n    - debug: {msg: hi}\n");
    assert_eq!(
        err,
        "error: unknown play keyword `taks`\n  --> site.yml:2:3\n  |\n2 |   taks:\n  |   ^\n  = help: did you mean `tasks`?\n\nerror: 1 problem found; nothing was run\n"
    );
}

/// Validates `playbook`, whose only problems are module arguments: like ansible-core, which checks
/// them only when a host runs the task, `validate` warns and `run` fails that task; `validate
/// --strict` refuses them as errors. Returns what the strict validation printed on stderr.
fn refused_only_strictly(playbook: &str) -> String {
    let project = Project::local(&["localhost"], playbook);
    let out = project.run(&["validate", "site.yml", "-i", "inv.yml"]);
    assert_eq!(
        out.code, 0,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    assert!(out.stderr.contains("warning: module `"), "{}", out.stderr);
    let run = project.site(&[]);
    assert_eq!(run.code, 2, "the task fails: {}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("failed=1"), "{}", run.stdout);
    let strict = project.run(&["validate", "--strict", "site.yml", "-i", "inv.yml"]);
    assert_eq!(
        strict.code, 4,
        "stdout: {}\nstderr: {}",
        strict.stdout, strict.stderr
    );
    strict.stderr
}

#[test]
fn unknown_module_and_argument() {
    let err = rejected("- hosts: app\n  tasks:\n    - name: one\n      comand: ls\n");
    assert!(
        err.contains("error: unknown module or task keyword `comand`\n  --> site.yml:4:7\n"),
        "{err}"
    );
    assert!(err.contains("= help: did you mean `command`?"), "{err}");
    let err = refused_only_strictly(
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - name: two\n      command:\n        cmd: ls\n        chdirr: /tmp\n",
    );
    assert!(
        err.contains("error: module `command` has no argument `chdirr`; it accepts: cmd, chdir,"),
        "{err}"
    );
    assert!(err.contains("  --> site.yml:7:9\n"), "{err}");
    assert!(err.contains("1 problem found"), "{err}");
}

#[test]
fn missing_and_mistyped_arguments() {
    let err = refused_only_strictly(
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - assert: {}\n    - pause: {seconds: soon}\n",
    );
    assert!(
        err.contains("module `assert` needs the argument `that`\n  --> site.yml:4:7"),
        "{err}"
    );
    assert!(
        err.contains("`seconds` must be a number, not `soon`\n  --> site.yml:5:15"),
        "{err}"
    );
}

#[test]
fn template_syntax_errors_are_located() {
    let err = rejected(
        "- hosts: app\n  tasks:\n    - debug:\n        msg: \"{{ name | }}\"\n    - debug: {msg: x}\n      when: a ==\n",
    );
    assert!(err.contains("error: template syntax error"), "{err}");
    assert!(err.contains("  --> site.yml:4:24"), "{err}");
    assert!(err.contains("error: condition syntax error"), "{err}");
    assert!(err.contains("  --> site.yml:6:15"), "{err}");
}

#[test]
fn yaml_errors_are_located() {
    let err = rejected("- hosts: app\n  tasks:\n    - debug: {msg: [1, 2}\n");
    assert!(err.starts_with("error: YAML syntax error"), "{err}");
    assert!(err.contains("  --> site.yml:3:"), "{err}");
}

#[test]
fn missing_role_and_include() {
    let err = rejected(
        "- hosts: app\n  roles:\n    - nosuchrole\n  tasks:\n    - import_tasks: nothere.yml\n",
    );
    assert!(
        err.contains("error: role `nosuchrole` not found\n  --> site.yml:3:7"),
        "{err}"
    );
    assert!(
        err.contains("error: included file `nothere.yml` not found\n  --> site.yml:5:21"),
        "{err}"
    );
}

#[test]
fn an_include_looping_over_a_registered_result_warns_and_fails_only_a_host_that_names_a_file() {
    let project = Project::local(
        &["web1"],
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - command: echo {{ item }}\n      register: found\n      loop: \"{{ wanted }}\"\n    - include_tasks: \"{{ step.stdout }}\"\n      loop: \"{{ found.results }}\"\n      loop_control: {loop_var: step}\n",
    );
    let out = project.run(&["validate", "site.yml", "-i", "inv.yml", "-e", "wanted=[]"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "warning: cannot resolve the include name `{{ step.stdout }}` for each loop item: 'found' is undefined\n  --> site.yml:7:22"
        ),
        "{}",
        out.stderr
    );
    let empty = project.site(&["-e", r#"{"wanted": []}"#]);
    assert_eq!(
        empty.code, 0,
        "an empty loop runs nothing: {}",
        empty.stdout
    );
    let named = project.site(&["-e", r#"{"wanted": ["hook.yml"]}"#]);
    assert_eq!(named.code, 2, "{}", named.stdout);
    assert!(
        named.stdout.contains(
            "could not find or access `hook.yml`; compiled before the run: nothing (its loop items were not known before the run)"
        ),
        "{}",
        named.stdout
    );
}

#[test]
fn include_cycles_are_refused() {
    let project = Project::new()
        .file("inv.yml", &local_inventory(&["localhost"]))
        .file(
            "site.yml",
            "- hosts: app\n  tasks:\n    - import_tasks: a.yml\n",
        )
        .file("a.yml", "- import_tasks: b.yml\n")
        .file("b.yml", "- import_tasks: a.yml\n");
    let out = project.run(&["validate", "site.yml", "-i", "inv.yml"]);
    assert_eq!(out.code, 4);
    assert!(
        out.stderr.contains("a.yml includes itself"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_good_playbook_validates_and_warns_on_empty_patterns() {
    let project = Project::new()
        .file("inv.yml", &local_inventory(&["localhost"]))
        .file(
            "site.yml",
            "- hosts: nosuchgroup\n  tasks:\n    - debug: {msg: hi}\n",
        );
    let out = project.run(&["validate", "site.yml", "-i", "inv.yml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "warning: no host in the inventory matches `nosuchgroup`\n  --> site.yml:1:3"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn a_timeout_must_be_whole_seconds() {
    let stderr = rejected("- hosts: app\n  tasks:\n    - command: sleep 1\n      timeout: 1.5\n");
    assert!(
        stderr.contains("`timeout` must be a whole number of seconds, not 1.5"),
        "{stderr}"
    );
    assert!(stderr.contains("site.yml:4:"), "{stderr}");
}

#[test]
fn loop_control_without_a_loop_is_ignored_but_checked() {
    // ansible-core ignores `loop_control` on a task without a loop (roles put it on tasks they
    // include in a loop); a misspelt keyword in it is still an error here.
    let ignored = "- hosts: app\n  gather_facts: false\n  tasks:\n    \
                   - debug: {msg: hi}\n      loop_control: {label: x}\n";
    let out = Project::local(&["localhost"], ignored).site(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let err = rejected(
        "- hosts: app\n  tasks:\n    - debug: {msg: hi}\n      loop_control: {lable: x}\n",
    );
    assert!(
        err.contains("unknown loop_control keyword `lable`"),
        "{err}"
    );
}
