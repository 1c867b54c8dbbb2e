//! Ansible dialect that real roles use, checked against ansible-core 2.19: what it accepts runs,
//! and what it refuses is refused with the same location.

use crate::support::Project;

#[test]
fn kv_arguments_keep_jinja_expressions_whole() {
    let p = Project::new();
    let dir = p.join("out");
    let p = p
        .file("inv.yml", &crate::support::local_inventory(&["localhost"]))
        .file(
            "site.yml",
            &format!(
                "- hosts: app\n  gather_facts: false\n  vars:\n    d: {dir}\n    a: hi\n  tasks:\n    - file: path={{{{ d }}}}/x state=directory\n    - command: ls -a chdir={{{{ d }}}}/x\n      register: listed\n    - shell: echo {{{{ a }}}}  b creates={{{{ d }}}}/never\n      register: echoed\n    - debug: msg={{{{ item }}}}\n      loop: [one, two]\n    - debug: msg=\"{{{{ listed.stdout_lines | join(',') }}}} {{{{ echoed.stdout }}}}\"\n",
                dir = dir.display()
            ),
        );
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // ansible-core 2.19 prints the same and counts ok=5 changed=3.
    assert!(out.stdout.contains("\"msg\": \"two\""), "{}", out.stdout);
    assert!(
        out.stdout.contains("\"msg\": \".,.. hi b\""),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.recap("localhost"),
        "ok=5 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert!(dir.join("x").is_dir());
}

#[test]
fn validate_compiles_the_template_files_a_task_names() {
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - template: src=open_if.j2 dest=/tmp/x\n    - template:\n        src: nothere.j2\n        dest: /tmp/y\n    - debug:\n        msg: \"{{ lookup('template', 'filter.j2') }}\"\n    - template: {src: filter.j2, dest: /tmp/z}\n",
    )
    .file("templates/open_if.j2", "a\n{% if x %}\nb\n")
    .file("templates/filter.j2", "one\nvalue={{ x | nosuchfilter }}\n");
    let out = p.run(&["validate", "site.yml", "-i", "inv.yml"]);
    assert_eq!(out.code, 4, "{}{}", out.stdout, out.stderr);
    let err = out.stderr;
    assert!(
        err.contains(
            "error: template syntax error: unexpected end of input, expected end of block\n  --> templates/open_if.j2:3:1\n"
        ),
        "{err}"
    );
    assert!(
        err.contains("error: template file `nothere.j2` not found\n  --> site.yml:6:14\n"),
        "{err}"
    );
    assert!(
        err.contains("= help: looked for templates/nothere.j2, nothere.j2, files/nothere.j2\n"),
        "{err}"
    );
    // Each file is reported once, though two tasks use it.
    assert_eq!(
        err.matches("error: template syntax error: unknown filter `nosuchfilter`\n  --> templates/filter.j2:2:14\n").count(),
        1,
        "{err}"
    );
    assert!(err.contains("3 problems found"), "{err}");
}

#[test]
fn a_notify_naming_no_handler_warns_and_fails_the_task_only_when_it_changes() {
    // Like ansible-core 2.19: the playbook is valid (a role may notify a handler only another
    // platform defines), and a task that changes fails with "The requested handler ... was not
    // found". deployer warns ahead, at the list item; `validate --strict` refuses it.
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - command: 'true'\n      changed_when: false\n      notify:\n        - restart app\n        - restart db\n    - command: 'true'\n      notify: [restart db]\n    - debug: {msg: never}\n  handlers:\n    - name: restart app\n      debug: {msg: x}\n",
    );
    let warning = "warning: `notify` names no handler: `restart db`\n  --> site.yml:8:11\n";
    let out = p.run(&["validate", "site.yml", "-i", "inv.yml"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains(warning), "{}", out.stderr);
    assert!(
        out.stderr.contains("help: handlers here: restart app"),
        "{}",
        out.stderr
    );
    let strict = p.run(&["validate", "--strict", "site.yml", "-i", "inv.yml"]);
    assert_eq!(strict.code, 4, "{}", strict.stderr);
    assert!(
        strict
            .stderr
            .contains("error: `notify` names no handler: `restart db`\n  --> site.yml:8:11\n"),
        "{}",
        strict.stderr
    );
    let run = p.site(&[]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("The requested handler 'restart db' was not found"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("ok=1 ") && run.stdout.contains("failed=1 "),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("never"), "{}", run.stdout);
}

#[test]
fn module_aliases_and_package_pass_through_arguments_are_accepted() {
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - apt:\n        pkg: bash\n        state: present\n    - apt: pkg=coreutils\n    - package:\n        name: bash\n        state: present\n        enablerepo: epel\n        allow_downgrade: true\n      when: false\n",
    );
    let out = p.run(&["validate", "site.yml", "-i", "inv.yml"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    if !std::path::Path::new("/usr/bin/dpkg-query").exists() {
        return crate::support::skip("local", "no dpkg on this machine to check `apt` against");
    }
    // ansible-core 2.19 --check: ok=2 changed=0 skipped=1.
    let run = p.site(&["--check"]);
    assert_eq!(
        run.recap("localhost"),
        "ok=2 changed=0 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0",
        "{}{}",
        run.stdout,
        run.stderr
    );
}

#[test]
fn a_module_deployer_lacks_warns_and_a_misspelt_one_is_an_error() {
    // `rpm_key` is an Ansible module deployer has not built in: like ansible-core, validate accepts the
    // task (with a warning) and the host that runs it fails; `snmp_facts_x` is no module at all.
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - rpm_key: {key: /tmp/key.asc}\n      when: false\n    - community.general.ufw: state=enabled\n      when: inventory_hostname == 'nowhere'\n    - debug: {msg: reached}\n    - rpm_key: key=/tmp/key.asc\n",
    );
    let out = p.run(&["validate", "site.yml", "-i", "inv.yml"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(
            "warning: module `rpm_key` (ansible.builtin.rpm_key) is not built into deployer yet\n  --> site.yml:4:7\n"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("warning: module `community.general.ufw` is not built into deployer yet"),
        "{}",
        out.stderr
    );
    let run = p.site(&[]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.recap("localhost"),
        "ok=1 changed=0 unreachable=0 failed=1 skipped=2 rescued=0 ignored=0"
    );
    assert!(
        run.stdout
            .contains("module `rpm_key` (ansible.builtin.rpm_key) is not built into deployer yet"),
        "{}",
        run.stdout
    );
    let strict = p.run(&["validate", "--strict", "site.yml", "-i", "inv.yml"]);
    assert_eq!(strict.code, 4, "{}", strict.stderr);
    let typo = Project::local(&["localhost"], "- hosts: app\n  tasks:\n    - comand: ls\n");
    let out = typo.run(&["validate", "site.yml", "-i", "inv.yml"]);
    assert_eq!(out.code, 4, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("error: unknown module or task keyword `comand`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("= help: did you mean `command`?"),
        "{}",
        out.stderr
    );
}

/// Includes named from host values, and problems in files only a host that includes them loads.
fn dynamic_includes() -> Project {
    Project::new()
        .file(
            "inv.yml",
            "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n      family: Debian\n",
        )
        .file(
            "site.yml",
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - include_tasks: \"tasks/setup-{{ family }}.yml\"\n    - include_tasks: tasks/broken.yml\n      when: family == 'RedHat'\n    - include_tasks: tasks/broken.yml\n    - debug: {msg: not reached}\n",
        )
        .file("tasks/setup-Debian.yml", "- debug: {msg: \"on {{ family }}\"}\n")
        .file("tasks/setup-RedHat.yml", "- nosuchmodule: {name: x}\n")
        .file("tasks/broken.yml", "- debug: {msg: before}\n- nosuchmodule: {name: x}\n")
}

#[test]
fn problems_in_dynamically_included_files_are_warnings_until_a_host_includes_them() {
    let p = dynamic_includes();
    let out = p.run(&["validate", "site.yml", "-i", "inv.yml"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for file in ["tasks/setup-RedHat.yml:1:3", "tasks/broken.yml:2:3"] {
        let warning =
            format!("warning: unknown module or task keyword `nosuchmodule`\n  --> {file}\n");
        assert_eq!(out.stderr.matches(&warning).count(), 1, "{}", out.stderr);
    }
    let strict = p.run(&["validate", "--strict", "site.yml", "-i", "inv.yml"]);
    assert_eq!(strict.code, 4, "{}", strict.stderr);
    assert!(
        strict.stderr.contains(
            "error: unknown module or task keyword `nosuchmodule`\n  --> tasks/broken.yml:2:3\n"
        ),
        "{}",
        strict.stderr
    );
    assert!(
        strict.stderr.contains("error: 2 problems found"),
        "{}",
        strict.stderr
    );
    // ansible-core 2.19 includes setup-Debian.yml, skips the RedHat branch and stops at the
    // broken file a host reaches (it aborts the whole run; deployer fails that host).
    let run = p.site(&[]);
    assert!(
        run.stdout
            .contains("included: tasks/setup-Debian.yml for localhost"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("\"msg\": \"on Debian\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "\"msg\":\"tasks/broken.yml:2:3: unknown module or task keyword `nosuchmodule`\""
        ),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("not reached"), "{}", run.stdout);
    assert_eq!(
        run.recap("localhost"),
        "ok=2 changed=0 unreachable=0 failed=1 skipped=1 rescued=0 ignored=0"
    );
}

#[test]
fn a_host_value_include_name_with_no_matching_file_warns_and_fails_the_host() {
    let p = Project::new()
        .file(
            "inv.yml",
            "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n      family: Alpine\n",
        )
        .file(
            "site.yml",
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - include_tasks: \"setup-{{ family }}.yml\"\n",
        );
    let out = p.run(&["validate", "site.yml", "-i", "inv.yml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("warning: no file matches the include name `setup-{{ family }}.yml` ('family' is undefined)\n  --> site.yml:4:22\n"),
        "{}",
        out.stderr
    );
    let run = p.site(&[]);
    assert!(
        run.stdout
            .contains("could not find or access `setup-Alpine.yml`"),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.recap("localhost"),
        "ok=0 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn with_loops_are_lookups_and_an_unknown_one_is_named() {
    // ansible-core 2.19: "'with_nosuch' is not a valid attribute for a Task" at 5:7.
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - debug: {msg: \"{{ item }}\"}\n      with_nosuch: [1]\n    - debug: {msg: \"{{ item.0.name }} {{ item.1 }}\"}\n      with_subelements:\n        - [{name: a, keys: [k1, k2]}]\n        - keys\n    - debug: {msg: \"{{ item }}\"}\n      with_sequenc: start=1 end=2\n",
    );
    let out = p.run(&["validate", "site.yml", "-i", "inv.yml"]);
    assert_eq!(out.code, 4, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("error: unknown lookup `nosuch` in `with_nosuch`\n  --> site.yml:5:7\n"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("error: unknown lookup `sequenc` in `with_sequenc`\n  --> site.yml:11:7\n"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("= help: did you mean `with_sequence`?"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("2 problems found"), "{}", out.stderr);
}

#[test]
fn vars_prompt_takes_extra_vars_or_the_default_and_play_keywords_of_ansible_are_accepted() {
    // ansible-core 2.19, with no terminal to ask at: the same messages, ok=2 for localhost.
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: true\n  gather_subset: [min]\n  gather_timeout: 10\n  fact_path: /etc/ansible/facts.d\n  become_flags: -H -S\n  become_exe: sudo\n  vars_prompt:\n    - name: release\n      prompt: Which release?\n      default: \"1.0\"\n      private: false\n    - name: region\n      prompt: Where?\n  tasks:\n    - debug:\n        msg: \"{{ release }} in {{ region }}\"\n      become_flags: -H\n",
    );
    let out = p.site(&["-e", "region=eu"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("\"msg\": \"1.0 in eu\""),
        "{}",
        out.stdout
    );
    let out = p.site(&["-e", "region=eu", "-e", "release=2.0"]);
    assert!(
        out.stdout.contains("\"msg\": \"2.0 in eu\""),
        "{}",
        out.stdout
    );

    // A prompt with no default and no `-e` value is null, with a warning, as in Ansible when it
    // is not run from a terminal ("Not prompting as we are not in interactive mode").
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("\"msg\": \"1.0 in None\""),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "[WARNING]: `vars_prompt` `region` has no `default` and deployer does not prompt, so it is null: give it with `-e region=...` (site.yml:13:7)\n"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn arguments_of_ansibles_own_modules_are_checked_against_their_documentation() {
    let Some(ansible) = crate::differential::ansible_playbook() else {
        return;
    };
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - community.general.ini_file:\n        path: /tmp/x.ini\n        section: s\n        option: o\n        value: v\n        dest: /tmp/alias-of-path.ini\n        mode: '0600'\n        vaule: typo\n        backup: \"{{ keep | default(omit) }}\"\n    - ansible.windows.win_shell: |\n        $version = Get-Item x\n        echo $version chdir=C:\\\\\n",
    );
    let path = crate::differential::path_with(ansible.parent().expect("a folder"));
    let out = p.run_env(
        &["validate", "site.yml", "-i", "inv.yml"],
        &[("PATH", path.to_str().expect("UTF-8"))],
    );
    // ansible-core finds the misspelt `vaule` only when a host runs the task
    // ("Unsupported parameters for (community.general.ini_file) module: vaule").
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(
            "warning: Unsupported parameters for (community.general.ini_file) module: vaule. Supported parameters include: "
        ) && out.stderr.contains("  --> site.yml:11:9\n"),
        "{}",
        out.stderr
    );
    // `dest` (an alias), `mode` (from the `files` doc fragment), a value that may be `omit`, and
    // the free-form PowerShell of win_shell are fine.
    assert_eq!(
        out.stderr.matches("Unsupported parameters").count(),
        1,
        "{}",
        out.stderr
    );
}
