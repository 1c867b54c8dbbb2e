//! Whole runs on the local connection: recaps, files written, and Ansible's execution semantics.

use crate::support::{Project, local_inventory};

#[test]
fn runs_tasks_writes_files_and_is_idempotent() {
    let p = Project::new().file("inv.yml", &local_inventory(&["localhost"]));
    let out_dir = p.join("out");
    let p = p.file(
        "site.yml",
        &format!(
            "- hosts: app\n  gather_facts: false\n  tasks:\n    - command: mkdir -p {dir}\n      args: {{creates: {dir}}}\n    - shell: echo hello > {dir}/greeting\n      args: {{creates: {dir}/greeting}}\n",
            dir = out_dir.display()
        ),
    );
    let first = p.site(&[]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    assert_eq!(
        first.recap("localhost"),
        "ok=2 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("greeting")).unwrap(),
        "hello\n"
    );
    let second = p.site(&[]);
    assert_eq!(
        second.recap("localhost"),
        "ok=2 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn check_mode_changes_nothing() {
    let p = Project::new().file("inv.yml", &local_inventory(&["localhost"]));
    let target = p.join("never");
    let p = p.file(
        "site.yml",
        &format!(
            "- hosts: app\n  gather_facts: false\n  tasks:\n    - command: touch {}\n",
            target.display()
        ),
    );
    let out = p.site(&["--check"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!target.exists());
    assert_eq!(
        out.recap("localhost"),
        "ok=0 changed=0 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0"
    );
}

#[test]
fn variables_follow_precedence_and_extra_vars_win() {
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: false\n  vars: {a: play, b: play, c: play}\n  tasks:\n    - set_fact: {b: fact}\n    - debug: {msg: \"{{ a }} {{ b }} {{ c }} {{ d }}\"}\n      vars: {a: task, b: task}\n",
    );
    let out = p.site(&["-e", "c=extra", "-e", "{\"d\": 4}"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("\"msg\": \"task fact extra 4\""),
        "{}",
        out.stdout
    );
}

#[test]
fn a_failed_host_stops_but_the_others_go_on() {
    let p = Project::local(
        &["h1", "h2", "h3"],
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - fail: {msg: down}\n      when: inventory_hostname == 'h2'\n    - debug: {msg: after}\n",
    );
    let out = p.site(&[]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert_eq!(
        out.recap("h1"),
        "ok=1 changed=0 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0"
    );
    assert_eq!(
        out.recap("h2"),
        "ok=0 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0"
    );
    assert!(
        out.stdout.contains(
            "fatal: [h2]: FAILED! => {\"changed\":false,\"failed\":true,\"msg\":\"down\"}"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn ignore_errors_rescue_and_always() {
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - command: 'false'\n      ignore_errors: true\n    - block:\n        - fail: {msg: x}\n        - debug: {msg: never}\n      rescue:\n        - debug: {msg: rescued}\n      always:\n        - debug: {msg: always}\n",
    );
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(
        out.recap("localhost"),
        "ok=3 changed=1 unreachable=0 failed=0 skipped=0 rescued=1 ignored=1"
    );
    assert!(!out.stdout.contains("never"));
    assert!(out.stdout.contains("...ignoring"));
}

#[test]
fn meta_tasks_are_not_counted_in_the_recap() {
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - meta: flush_handlers\n    - debug: {msg: hi}\n",
    );
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(
        out.recap("localhost"),
        "ok=1 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn handlers_run_once_at_the_end_of_the_section_when_notified() {
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - command: 'true'\n      notify: restart\n    - command: 'true'\n      notify: [restart, reload]\n    - debug: {msg: last task}\n      changed_when: false\n      notify: never\n  handlers:\n    - name: restart\n      debug: {msg: restarting}\n    - name: never\n      debug: {msg: should not run}\n    - name: reload\n      listen: reload\n      debug: {msg: reloading}\n",
    );
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(
        out.stdout.matches("RUNNING HANDLER [restart]").count(),
        1,
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("RUNNING HANDLER [reload]"));
    assert!(!out.stdout.contains("should not run"));
    let last = out.stdout.find("last task").unwrap();
    assert!(
        out.stdout.find("restarting").unwrap() > last,
        "handlers run after the tasks"
    );
}

#[test]
fn serial_batches_run_in_order_and_max_fail_stops_the_rollout() {
    let p = Project::new().file("inv.yml", &local_inventory(&["h1", "h2", "h3", "h4"]));
    let log = p.join("log");
    let p = p.file(
        "site.yml",
        &format!(
            "- hosts: app\n  gather_facts: false\n  serial: 2\n  max_fail_percentage: 0\n  tasks:\n    - shell: echo {{{{ inventory_hostname }}}} >> {}\n    - fail: {{msg: bad}}\n      when: inventory_hostname == 'h2'\n",
            log.display()
        ),
    );
    let out = p.site(&[]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    let mut seen: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    seen.sort();
    assert_eq!(seen, ["h1", "h2"], "the second batch must not start");
    assert!(
        out.stdout.contains("stopping the rollout"),
        "{}",
        out.stdout
    );
}

#[test]
fn loops_register_results_and_until_retries() {
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - command: echo {{ item }}\n      loop: [a, b]\n      register: echoed\n    - assert:\n        that:\n          - echoed.results | length == 2\n          - echoed.results[1].stdout == 'b'\n          - echoed.changed\n    - set_fact: {tries: 0}\n    - shell: echo x\n      register: r\n      until: r.attempts >= 2\n      retries: 3\n      delay: 0\n    - assert: {that: [\"r.attempts == 2\"]}\n    - debug: {msg: \"{{ item.key }}={{ item.value }}\"}\n      with_dict: {x: 1}\n",
    );
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("\"msg\": \"x=1\""), "{}", out.stdout);
}

#[test]
fn tags_limit_and_run_once() {
    let p = Project::local(
        &["h1", "h2"],
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - debug: {msg: tagged}\n      tags: [deploy]\n    - debug: {msg: untagged}\n    - debug: {msg: always}\n      tags: always\n    - command: echo once\n      run_once: true\n      register: once\n      tags: deploy\n    - assert: {that: [\"once.stdout == 'once'\"]}\n      tags: deploy\n",
    );
    let out = p.site(&["--tags", "deploy"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(!out.stdout.contains("\"untagged\""));
    assert!(out.stdout.contains("\"always\""));
    assert_eq!(
        out.stdout.matches("changed: [").count(),
        1,
        "run_once runs on one host: {}",
        out.stdout
    );
    let limited = p.site(&["--limit", "h2"]);
    assert!(!limited.stdout.contains("[h1]"), "{}", limited.stdout);
}

#[test]
fn roles_with_defaults_vars_handlers_and_dependencies() {
    // `port` would be the connection keyword on a role entry, as in Ansible: params are the rest.
    let p = Project::local(&["localhost"], "- hosts: app\n  gather_facts: false\n  roles:\n    - role: web\n      listen: 8080\n")
        .file("roles/base/tasks/main.yml", "- debug: {msg: \"base first\"}\n")
        .file("roles/web/meta/main.yml", "dependencies: [base]\n")
        .file("roles/web/defaults/main.yml", "listen: 80\nname: web\n")
        .file("roles/web/vars/main.yml", "flavour: nginx\n")
        .file("roles/web/tasks/main.yml", "- name: show\n  command: echo {{ name }} {{ flavour }} {{ listen }}\n  notify: restart web\n- import_tasks: more.yml\n")
        .file("roles/web/tasks/more.yml", "- debug: {msg: \"more from {{ role_name }}\"}\n")
        .file("roles/web/handlers/main.yml", "- name: restart web\n  debug: {msg: restarted}\n");
    let out = p.site(&["-v"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("TASK [web : show]"), "{}", out.stdout);
    assert!(
        out.stdout.contains("\"stdout\": \"web nginx 8080\""),
        "{}",
        out.stdout
    );
    assert!(out.stdout.find("base first").unwrap() < out.stdout.find("web : show").unwrap());
    assert!(out.stdout.contains("more from web"));
    assert!(
        out.stdout.contains("RUNNING HANDLER [web : restart web]"),
        "{}",
        out.stdout
    );
}

#[test]
fn plan_is_deterministic_and_shows_batches() {
    let p = Project::local(
        &["h1", "h2", "h3"],
        "- name: Roll\n  hosts: app\n  serial: [1, \"50%\"]\n  tasks:\n    - name: step one\n      command: 'true'\n      when: x is defined\n      tags: [a]\n",
    );
    let first = p.run(&["plan", "site.yml", "-i", "inv.yml"]);
    let second = p.run(&["plan", "site.yml", "-i", "inv.yml"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.stdout, second.stdout);
    assert_eq!(
        first.stdout,
        "PLAY 1 [Roll]  (site.yml:1:3)\n  hosts: app  strategy: linear\n  batch 1: h1\n  batch 2: h2\n  batch 3: h3\n  tasks:\n    1. step one (command)  site.yml:5:7\n       when: x is defined\n       tags: a\n"
    );
    let json = p.run(&["plan", "site.yml", "-i", "inv.yml", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        value["plays"][0]["batches"],
        serde_json::json!([["h1"], ["h2"], ["h3"]])
    );
}

#[test]
fn gather_facts_fills_ansible_facts() {
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  tasks:\n    - assert:\n        that:\n          - ansible_facts.system == 'Linux'\n          - ansible_hostname | length > 0\n",
    );
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(
        out.recap("localhost"),
        "ok=2 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn variables_are_templated_lazily() {
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: false\n  vars:\n    x: \"{{ y }}!\"\n    y: \"{{ z | upper }}\"\n    z: a\n    unused: \"{{ undefined_here }}\"\n  tasks:\n    - debug: {msg: \"{{ x }}\"}\n    - assert: {that: [\"x == 'A!'\"]}\n",
    );
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("\"msg\": \"A!\""), "{}", out.stdout);
}

#[test]
fn inventory_list_and_graph_and_named_inventories() {
    let p = Project::new()
        .file(
            "inventories/prod.ini",
            "[web]\nweb[1:2] port=80\n\n[db]\ndb1\n\n[prod:children]\nweb\ndb\n",
        )
        .file(
            "site.yml",
            "- hosts: web\n  gather_facts: false\n  tasks: []\n",
        );
    let graph = p.run(&["inventory", "-i", "prod", "--graph"]);
    assert_eq!(graph.code, 0, "{}", graph.stderr);
    assert_eq!(
        graph.stdout,
        "@all:\n  |--@ungrouped:\n  |--@prod:\n  |  |--@web:\n  |  |  |--web1\n  |  |  |--web2\n  |  |--@db:\n  |  |  |--db1\n"
    );
    let list = p.run(&["inventory", "-i", "prod", "--list"]);
    let value: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(value["web"]["hosts"], serde_json::json!(["web1", "web2"]));
    assert_eq!(value["_meta"]["hostvars"]["web2"]["port"], 80);
    let bad_limit = p.run(&["plan", "site.yml", "-i", "prod", "--limit", "@no-such-file"]);
    assert_eq!(bad_limit.code, 4, "{}", bad_limit.stderr);
}

#[test]
fn run_once_runs_on_the_first_host_and_its_failure_stops_the_batch() {
    let p = Project::local(&["h3", "h1", "h2"], "");
    let marker = p.join("ran-on");
    let p = p.file(
        "site.yml",
        &format!(
            "- hosts: app\n  gather_facts: false\n  tasks:\n    - shell: echo {{{{ inventory_hostname }}}} >> {marker}\n      run_once: true\n    - shell: exit {{{{ fail_once | default(0) }}}}\n      run_once: true\n    - debug: {{msg: after}}\n",
            marker = marker.display()
        ),
    );
    for _ in 0..5 {
        let out = p.site(&[]);
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    }
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "h3\n".repeat(5),
        "always the first host in inventory order, once per run"
    );
    let failed = p.site(&["-e", "fail_once=1"]);
    assert_eq!(failed.code, 2, "{}", failed.stdout);
    assert!(!failed.stdout.contains("\"after\""), "{}", failed.stdout);
}

#[test]
fn a_task_past_its_timeout_is_stopped_and_fails_wherever_the_timeout_is_set() {
    let slow = "    - name: slow\n      command: sleep 30\n";
    let after = "    - name: after\n      command: touch after\n";
    let playbooks = [
        format!("- hosts: app\n  gather_facts: false\n  tasks:\n{slow}      timeout: 1\n{after}"),
        format!(
            "- hosts: app\n  gather_facts: false\n  tasks:\n    - block:\n        - name: slow\n          command: sleep 30\n      timeout: 1\n{after}"
        ),
        format!("- hosts: app\n  gather_facts: false\n  timeout: 1\n  tasks:\n{slow}{after}"),
    ];
    for playbook in &playbooks {
        let p = Project::local(&["h1"], playbook);
        let started = std::time::Instant::now();
        let out = p.site(&[]);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(out.code, 2, "{playbook}\n{}{}", out.stdout, out.stderr);
        assert!(
            out.stdout.contains(
                "fatal: [h1]: FAILED! => {\"changed\":false,\"failed\":true,\"msg\":\"the task did not finish within its timeout (1 s) and was stopped\"}"
            ),
            "{playbook}\n{}",
            out.stdout
        );
        assert!(!p.join("after").exists());
    }
}

#[test]
fn an_include_is_a_step_counted_once_per_included_item_with_the_item_bound() {
    let p = Project::local(
        &["h1", "h2"],
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - include_tasks: mark.yml\n      vars: {mark: plain}\n    - include_tasks: mark.yml\n      vars: {mark: never}\n      when: inventory_hostname == 'nobody'\n    - include_tasks: mark.yml\n      loop: \"{{ ['a', 'b'] if inventory_hostname == 'h1' else ['c'] }}\"\n      loop_control: {loop_var: mark}\n    - include_tasks: \"{{ item }}.yml\"\n      loop: [mark]\n      vars: {mark: named}\n",
    )
    .file(
        "mark.yml",
        "- copy: {content: \"{{ mark }}\\n\", dest: \"{{ root }}/{{ inventory_hostname }}-{{ mark }}\"}\n",
    );
    let root = format!("root={}", p.join("out").display());
    std::fs::create_dir(p.join("out")).unwrap();
    let out = p.site(&["-e", &root]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.recap("h1"),
        "ok=8 changed=4 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0"
    );
    assert_eq!(
        out.recap("h2"),
        "ok=6 changed=3 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0"
    );
    let mut written: Vec<String> = std::fs::read_dir(p.join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    assert_eq!(
        written,
        [
            "h1-a", "h1-b", "h1-named", "h1-plain", "h2-c", "h2-named", "h2-plain"
        ]
    );
    assert_eq!(std::fs::read_to_string(p.join("out/h1-b")).unwrap(), "b\n");
    assert!(
        out.stdout.contains("included: mark.yml for h1 => (item=b)"),
        "{}",
        out.stdout
    );
}

#[test]
fn hosts_with_more_include_items_run_them_in_order_before_the_next_step() {
    let p = Project::local(
        &["h1", "h2"],
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - include_tasks: step.yml\n      loop: \"{{ [0, 1, 2] if inventory_hostname == 'h1' else [0] }}\"\n      loop_control: {loop_var: n}\n    - shell: echo {{ inventory_hostname }} after >> log\n  handlers:\n    - name: bump\n      shell: echo {{ inventory_hostname }} handler {{ n | default('-') }} >> log\n",
    )
    .file(
        "step.yml",
        "- shell: echo {{ inventory_hostname }} {{ n }} >> log\n  notify: bump\n- meta: flush_handlers\n- shell: echo once {{ n }} >> log\n  run_once: true\n",
    );
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let log = std::fs::read_to_string(p.join("log")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    let at = |line: &str| lines.iter().position(|l| *l == line).expect(line);
    // Each iteration's steps in order, handlers flushed inside it, run_once once per iteration.
    for (before, after) in [
        ("h1 0", "h1 handler -"),
        ("h1 handler -", "once 0"),
        ("h2 handler -", "once 0"),
        ("once 0", "h1 1"),
        ("h1 1", "once 1"),
        ("once 1", "h1 2"),
        ("once 2", "h1 after"),
        ("once 2", "h2 after"),
    ] {
        assert!(at(before) < at(after), "{before} before {after}:\n{log}");
    }
    assert_eq!(log.matches("once").count(), 3, "{log}");
    // The same counts as Ansible.
    assert_eq!(
        out.recap("h1"),
        "ok=13 changed=10 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        out.recap("h2"),
        "ok=4 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn plan_shows_an_include_as_a_step_with_its_tasks() {
    let p = Project::local(
        &["h1"],
        "- hosts: app\n  tasks:\n    - include_tasks: mark.yml\n      loop: [a, b]\n    - debug: {msg: done}\n",
    )
    .file("mark.yml", "- debug: {msg: \"{{ item }}\"}\n");
    let out = p.run(&["plan", "site.yml", "-i", "inv.yml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "PLAY 1 [app]  (site.yml:1:3)\n  hosts: app  strategy: linear\n  batch 1: h1\n  tasks:\n    1. include_tasks (include_tasks)  site.yml:3:7\n       loop=[\"a\",\"b\"]\n      mark.yml:\n        2. debug (debug)  mark.yml:1:3\n    3. debug (debug)  site.yml:5:7\n"
    );
}

#[test]
fn ignore_errors_lets_through_a_loop_or_condition_that_cannot_be_rendered() {
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - debug: {msg: \"{{ item }}\"}\n      loop: \"{{ nope }}\"\n      ignore_errors: true\n    - command: 'true'\n      when: nope.x == 1\n      ignore_errors: true\n    - command: touch after\n",
    );
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("...ignoring"), "{}", out.stdout);
    assert_eq!(
        out.recap("localhost"),
        "ok=3 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=2",
        "{}",
        out.stdout
    );
    assert!(p.join("after").exists());
}

#[test]
fn an_empty_loop_is_skipped_like_ansible() {
    // ansible-core 2.19: `skipping: [localhost]`, skipped=1, and the registered result says why.
    let p = Project::local(
        &["localhost"],
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - name: empty\n      debug: {msg: \"{{ item }}\"}\n      loop: []\n      register: r\n    - debug: {msg: \"{{ r.skipped }} {{ r.skipped_reason }} {{ r.results | length }}\"}\n",
    );
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("skipping: [localhost]"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("True No items in the list 0"),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.recap("localhost"),
        "ok=1 changed=0 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0"
    );
}

#[test]
fn become_does_not_run_sudo_when_the_login_user_already_is_the_become_user() {
    // ansible-core 2.19 skips become when `ansible_user` is the become user: with a `sudo` that
    // always fails first on PATH, the task still runs, as the login user.
    let me = String::from_utf8(
        std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    let p = Project::local(
        &["localhost"],
        &format!(
            "- hosts: app\n  gather_facts: false\n  vars: {{ansible_user: {me}}}\n  tasks:\n    - command: id -un\n      become: true\n      become_user: {me}\n      register: who\n    - debug: {{msg: \"as {{{{ who.stdout }}}}\"}}\n"
        ),
    );
    let bin = p.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let sudo = bin.join("sudo");
    std::fs::write(&sudo, "#!/bin/sh\necho 'sudo: not here' >&2\nexit 1\n").unwrap();
    std::fs::set_permissions(&sudo, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = p.site_env(&[], &[("NO_COLOR", "1"), ("PATH", &path)]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(&format!("as {me}")), "{}", out.stdout);
}

#[test]
fn in_a_serial_batch_the_other_hosts_result_for_a_failed_task_is_printed_and_counted() {
    // ansible-core 2.19: h2's result of the task h1 fails is printed, and h2 goes on.
    let p = Project::local(
        &["h1", "h2"],
        "- hosts: app\n  gather_facts: false\n  serial: 2\n  tasks:\n    - name: maybe fail\n      command: \"{{ 'false' if inventory_hostname == 'h1' else 'sleep 0.3' }}\"\n    - name: after\n      command: 'true'\n",
    );
    let out = p.site(&[]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    let lines: Vec<&str> = (out.stdout.lines())
        .filter(|l| l.starts_with("changed:") || l.starts_with("fatal:"))
        .map(|l| l.split(" => ").next().unwrap_or(l))
        .collect();
    assert_eq!(
        lines,
        ["fatal: [h1]: FAILED!", "changed: [h2]", "changed: [h2]"],
        "{}",
        out.stdout
    );
    assert_eq!(
        out.recap("h2"),
        "ok=2 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn ansible_playbook_options_name_hosts_connection_and_become() {
    // `ansible-playbook -i 'web1,localhost,' -c local -b --become-user app`: a host list for an
    // inventory, a connection for hosts that set none, and `become` for every play.
    let out_dir = tempfile::tempdir().unwrap();
    let p = Project::new().file(
        "site.yml",
        &format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - copy: {{content: \"{{{{ inventory_hostname }}}}\\n\", dest: \"{}/{{{{ inventory_hostname }}}}\"}}\n",
            out_dir.path().display()
        ),
    );
    let list = ["-i", "web1,localhost,", "-c", "local"];
    let run = p.run(&[&["run", "site.yml"][..], &list].concat());
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    for host in ["web1", "localhost"] {
        assert_eq!(
            run.recap(host),
            "ok=1 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
        );
        let written = std::fs::read_to_string(out_dir.path().join(host)).unwrap();
        assert_eq!(written, format!("{host}\n"));
    }
    let plan = p.run(
        &[
            &["plan", "site.yml"][..],
            &list,
            &["-b", "--become-user", "app"],
        ]
        .concat(),
    );
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("become=app"), "{}", plan.stdout);
    let missing = p.run(&["run", "site.yml", "-i", "web1,"]);
    assert_eq!(
        missing.code, 3,
        "web1 is reached over ssh without -c local: {}",
        missing.stdout
    );
}

#[test]
fn local_action_runs_its_module_on_the_controller() {
    let out_dir = tempfile::tempdir().unwrap();
    let p = Project::local(
        &["localhost"],
        &format!(
            "- hosts: app\n  gather_facts: false\n  tasks:\n    - local_action: command echo from {{{{ inventory_hostname }}}}\n      register: said\n    - local_action:\n        module: copy\n        content: \"{{{{ said.stdout }}}}\\n\"\n        dest: {}/said\n",
            out_dir.path().display()
        ),
    );
    let plan = p.run(&["plan", "site.yml", "-i", "inv.yml"]);
    assert_eq!(
        plan.stdout.matches("delegate_to=localhost").count(),
        2,
        "{}",
        plan.stdout
    );
    let run = p.site(&[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let said = std::fs::read_to_string(out_dir.path().join("said")).unwrap();
    assert_eq!(said, "from localhost\n");
}

#[test]
fn synchronize_copies_locally_and_runs_only_on_the_controller() {
    let p = Project::local(
        &["localhost", "other"],
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n\
         \x20   - synchronize: {src: site/, dest: \"{{ playbook_dir }}/copy/\"}\n\
         \x20     register: first\n\
         \x20   - synchronize: {src: site/, dest: \"{{ playbook_dir }}/copy/\"}\n\
         \x20     delegate_to: localhost\n\
         \x20     register: again\n\
         \x20   - synchronize: {src: site/, dest: /tmp/never}\n\
         \x20     delegate_to: other\n\
         \x20     ignore_errors: true\n\
         \x20     register: elsewhere\n\
         \x20   - synchronize: {src: site/, dest: /tmp/never}\n\
         \x20     vars: {ansible_rsync_path: /nonexistent/rsync}\n\
         \x20     ignore_errors: true\n\
         \x20     register: missing\n\
         \x20   - debug: {msg: \"{{ [first.cmd, again.changed, elsewhere.msg, missing.msg] }}\"}\n",
    )
    .file("files/site/a.txt", "a\n")
    .file("files/site/sub/b.txt", "b\n");
    let out = p.site(&["--format", "json"]);
    let counts = &out.recap_counts()["localhost"];
    let count = |name: &str| counts[name].as_u64().unwrap();
    assert_eq!(
        (
            count("ok"),
            count("changed"),
            count("failed"),
            count("ignored")
        ),
        (5, 1, 0, 2),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(p.join("copy/sub/b.txt")).unwrap(),
        "b\n"
    );
    let shown = out.result("localhost", "debug")["msg"].clone();
    let cmd = shown[0].as_str().unwrap();
    assert!(
        cmd.ends_with(&format!(
            "/files/site/ {}/copy/",
            p.join("").display().to_string().trim_end_matches('/')
        )),
        "{cmd}"
    );
    assert!(!cmd.contains("--rsh"), "{cmd}");
    assert_eq!(shown[1], false);
    assert!(
        shown[2]
            .as_str()
            .unwrap()
            .contains("delegate_to `other` (another host) is not supported"),
        "{shown}"
    );
    assert!(
        shown[3]
            .as_str()
            .unwrap()
            .starts_with("Failed to find required executable \"/nonexistent/rsync\""),
        "{shown}"
    );
}
