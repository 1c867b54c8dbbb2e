//! Keywords given as templates (`retries: "{{ health_retries }}"`): rendered for each host when
//! the task runs, as Ansible does; `serial` and `max_fail_percentage` once, when the play starts.
//! A literal of the wrong type stays a compile error with its location.

use crate::support::{Project, local_inventory};

const RECAP_ZERO: &str = "unreachable=0 failed=0 skipped=0 rescued=0";

#[test]
fn retries_and_delay_come_from_variables() {
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: false\n  vars: {health_retries: 2, pause: '0'}\n  tasks:\n    - command: 'false'\n      register: r\n      until: r.rc == 0\n      retries: \"{{ health_retries }}\"\n      delay: \"{{ pause }}\"\n      ignore_errors: true\n    - assert: {that: [\"r.attempts == 3\"]}\n",
    );
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.recap("localhost"),
        format!("ok=2 changed=1 {RECAP_ZERO} ignored=1")
    );
}

#[test]
fn ignore_errors_follows_check_mode() {
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - command: 'false'\n      check_mode: false\n      ignore_errors: \"{{ ansible_check_mode }}\"\n    - debug: {msg: after}\n",
    );
    let checked = p.site(&["--check"]);
    assert_eq!(checked.code, 0, "{}{}", checked.stdout, checked.stderr);
    assert_eq!(
        checked.recap("localhost"),
        format!("ok=2 changed=1 {RECAP_ZERO} ignored=1")
    );
    let real = p.site(&[]);
    assert_eq!(real.code, 2, "{}{}", real.stdout, real.stderr);
    assert_eq!(
        real.recap("localhost"),
        "ok=0 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn a_templated_no_log_hides_the_output_even_when_it_cannot_be_rendered() {
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: false\n  vars: {hide: 'yes'}\n  tasks:\n    - debug: {msg: hidden-secret}\n      no_log: \"{{ hide }}\"\n    - debug: {msg: other-secret}\n      no_log: \"{{ undefined_switch }}\"\n",
    );
    let out = p.site(&[]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("hidden-secret"), "{}", out.stdout);
    assert!(!out.stdout.contains("other-secret"), "{}", out.stdout);
    assert!(out.stdout.contains("censored"), "{}", out.stdout);
    assert_eq!(
        out.recap("localhost"),
        "ok=1 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn become_given_as_a_false_template_runs_as_the_login_user() {
    let me = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    let me = String::from_utf8_lossy(&me.stdout).trim().to_string();
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: false\n  vars: {escalate: false}\n  tasks:\n    - command: id -un\n      become: \"{{ escalate }}\"\n      become_user: \"{{ 'nobody' }}\"\n      register: who\n    - copy: {content: \"{{ who.stdout }}\", dest: \"{{ playbook_dir }}/who\"}\n",
    );
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(std::fs::read_to_string(p.join("who")).unwrap(), me);
}

#[test]
fn serial_and_run_once_come_from_variables() {
    let p = Project::local(
        &["h1", "h2", "h3"],
        "- hosts: app\n  gather_facts: false\n  vars: {batch: 1, once: true}\n  serial: \"{{ batch }}\"\n  tasks:\n    - copy: {content: x, dest: \"{{ playbook_dir }}/once-{{ inventory_hostname }}\"}\n      run_once: \"{{ once }}\"\n",
    );
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout.matches("TASK [copy]").count(),
        3,
        "{}",
        out.stdout
    );
    for host in ["h1", "h2", "h3"] {
        assert!(p.join(&format!("once-{host}")).exists(), "{host}");
    }
    let p = p.file(
        "site.yml",
        "- hosts: app\n  gather_facts: false\n  vars: {once: true}\n  tasks:\n    - copy: {content: x, dest: \"{{ playbook_dir }}/one-{{ inventory_hostname }}\"}\n      run_once: \"{{ once }}\"\n",
    );
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(p.join("one-h1").exists());
    assert!(!p.join("one-h2").exists() && !p.join("one-h3").exists());
}

#[test]
fn max_fail_percentage_comes_from_a_variable() {
    let p = Project::new().file("inv.yml", &local_inventory(&["h1", "h2", "h3"]));
    let p = p.file(
        "site.yml",
        "- hosts: app\n  gather_facts: false\n  max_fail_percentage: \"{{ tolerated }}\"\n  tasks:\n    - fail: {msg: bad}\n      when: inventory_hostname == 'h2'\n    - debug: {msg: after}\n",
    );
    let strict = p.site(&["-e", "tolerated=0"]);
    assert_eq!(strict.code, 2, "{}", strict.stdout);
    assert_eq!(
        strict.recap("h1"),
        "ok=0 changed=0 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0"
    );
    let lenient = p.site(&["-e", "tolerated=50"]);
    assert_eq!(
        lenient.recap("h1"),
        "ok=1 changed=0 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0"
    );
}

#[test]
fn a_template_of_the_wrong_type_fails_the_host_naming_the_keyword() {
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - name: retried\n      command: 'true'\n      register: r\n      until: r.rc == 0\n      retries: \"{{ 'many' }}\"\n",
    );
    let out = p.site(&[]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("TASK [retried]"), "{}", out.stdout);
    assert!(
        out.stdout.contains("fatal: [localhost]")
            && out.stdout.contains("is not a whole number")
            && out.stdout.contains("site.yml': line 4, column 7"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_literal_of_the_wrong_type_is_refused_with_its_location() {
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - command: 'true'\n      ignore_errors: maybe\n",
    );
    let out = p.run(&["validate", "site.yml", "-i", "inv.yml"]);
    assert_eq!(out.code, 4, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("`ignore_errors` must be a boolean, not a string\n  --> site.yml:5:22"),
        "{}",
        out.stderr
    );
}

#[test]
fn plan_shows_the_templates() {
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - command: 'true'\n      ignore_errors: \"{{ ansible_check_mode }}\"\n      no_log: \"{{ hide }}\"\n",
    );
    let out = p.run(&["plan", "site.yml", "-i", "inv.yml"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for flag in [
        "ignore_errors={{ ansible_check_mode }}\n",
        "no_log={{ hide }}\n",
    ] {
        assert!(out.stdout.contains(flag), "{}", out.stdout);
    }
}

#[test]
fn a_templated_run_once_is_decided_on_the_first_host_of_the_batch() {
    let p = Project::local(
        &["h1", "h2", "h3"],
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - copy: {content: x, dest: \"{{ playbook_dir }}/a-{{ inventory_hostname }}\"}\n      run_once: \"{{ inventory_hostname == 'h2' }}\"\n    - copy: {content: x, dest: \"{{ playbook_dir }}/b-{{ inventory_hostname }}\"}\n      run_once: \"{{ inventory_hostname == 'h1' }}\"\n",
    );
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let written = |prefix: &str| {
        ["h1", "h2", "h3"]
            .into_iter()
            .filter(|h| p.join(&format!("{prefix}-{h}")).exists())
            .collect::<Vec<_>>()
    };
    assert_eq!(written("a"), ["h1", "h2", "h3"]);
    assert_eq!(written("b"), ["h1"]);
}

#[test]
fn an_include_step_renders_its_keywords_too() {
    let p = Project::local(
        &["h1", "h2"],
        "- hosts: app\n  gather_facts: false\n  vars: {once: true}\n  tasks:\n    - include_tasks: \"{{ item }}.yml\"\n      loop: [a]\n      run_once: \"{{ once }}\"\n    - debug: {msg: after}\n",
    )
    .file("a.yml", "- debug: {msg: in-a}\n");
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.recap("h1"),
        format!("ok=3 changed=0 {RECAP_ZERO} ignored=0")
    );
    assert_eq!(
        out.recap("h2"),
        format!("ok=1 changed=0 {RECAP_ZERO} ignored=0")
    );
}

#[test]
fn environment_given_as_a_template_is_rendered_per_host() {
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: false\n  vars:\n    proxy_env: {HTTP_PROXY: \"http://proxy:{{ 3128 }}\", LEVEL: task}\n  environment: {LEVEL: play, OUTER: outer}\n  tasks:\n    - shell: echo \"$HTTP_PROXY $LEVEL $OUTER\" > env.txt\n      args: {chdir: \"{{ playbook_dir }}\"}\n      environment: \"{{ proxy_env | default({}) }}\"\n    - shell: echo \"[$HTTP_PROXY]\" > none.txt\n      args: {chdir: \"{{ playbook_dir }}\"}\n      environment: \"{{ missing_env | default({}) }}\"\n",
    );
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let read = |name: &str| std::fs::read_to_string(p.join(name)).unwrap();
    assert_eq!(read("env.txt"), "http://proxy:3128 task outer\n");
    assert_eq!(read("none.txt"), "[]\n");
}

#[test]
fn a_loop_renders_its_keywords_for_each_item() {
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - debug: {msg: \"{{ item.name }}\"}\n      loop: [{name: hidden-a, secret: true}, {name: shown-b, secret: false}]\n      no_log: \"{{ item.secret }}\"\n    - command: \"{{ item }}\"\n      loop: ['false', 'true']\n      ignore_errors: \"{{ item == 'false' }}\"\n      register: r\n    - assert: {that: [r.failed]}\n",
    );
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("hidden-a"), "{}", out.stdout);
    assert!(
        out.stdout.contains("\"msg\": \"shown-b\""),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.recap("localhost"),
        format!("ok=3 changed=1 {RECAP_ZERO} ignored=1")
    );
}

#[test]
fn throttle_from_a_variable_limits_the_hosts_running_a_task_at_once() {
    let p = Project::local(
        &["h1", "h2", "h3", "h4"],
        "- hosts: app\n  gather_facts: false\n  vars: {at_once: 1}\n  tasks:\n    - shell: mkdir busy && sleep 0.2 && rmdir busy\n      args: {chdir: \"{{ playbook_dir }}\"}\n      throttle: \"{{ at_once }}\"\n",
    );
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let plan = p.run(&["plan", "site.yml", "-i", "inv.yml"]);
    assert!(
        plan.stdout.contains("throttle={{ at_once }}"),
        "{}",
        plan.stdout
    );
}

#[test]
fn async_limits_the_task_and_poll_zero_runs_it_to_its_end_with_a_warning() {
    // Recaps and message as ansible-core 2.19 gives them for the same playbook.
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: false\n  vars: {limit: 1}\n  tasks:\n    - command: 'true'\n      async: 30\n      poll: 5\n    - command: sleep 5\n      async: \"{{ limit }}\"\n      poll: \"{{ 1 }}\"\n      ignore_errors: true\n      register: slow\n    - assert: {that: [\"slow.msg == 'async task did not complete within the requested time - 1s'\"]}\n    - command: 'true'\n      async: 10\n      poll: 0\n",
    );
    let checked = p.run(&["validate", "site.yml", "-i", "inv.yml"]);
    assert_eq!(checked.code, 0, "{}{}", checked.stdout, checked.stderr);
    assert!(
        checked
            .stderr
            .contains("`poll: 0` starts a task in the background"),
        "{}",
        checked.stderr
    );
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.recap("localhost"),
        format!("ok=4 changed=2 {RECAP_ZERO} ignored=1")
    );
}
