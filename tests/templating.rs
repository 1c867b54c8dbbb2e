//! Ansible's filters, tests and lookups in whole local runs: template files, debug output, and
//! shell quoting that keeps injected commands from running.

use crate::support::{Project, local_inventory};

const PLAYBOOK: &str = r#"- hosts: app
  gather_facts: false
  vars:
    users: [{name: alice, admin: true}, {name: bob, admin: false}]
    base: {port: 80, opts: {a: 1}}
    override: {opts: {b: 2}}
    enabled: "yes"
  tasks:
    - template: {src: app.conf.j2, dest: "{{ playbook_dir }}/out/app.conf"}
    - set_fact:
        numbers: "{{ '[1, 2, 3]' | from_json }}"
        settings: "{{ base | combine(override, recursive=true) }}"
    - debug:
        msg: "sum={{ numbers | sum }} keys={{ settings.opts | dict2items | map(attribute='key') | join('+') }} home={{ lookup('env', 'DEPLOYER_TEMPLATING_HOME') }} missing=[{{ lookup('env', 'DEPLOYER_TEMPLATING_UNSET') }}]"
    - debug:
        msg: "{{ numbers | map('string') | list }}"
"#;

const TEMPLATE: &str = "# {{ ansible_managed }}
settings={{ base | combine(override, recursive=True) | to_json }}
admins={{ users | selectattr('admin') | map(attribute='name') | join(',') }}
home={{ lookup('env', 'DEPLOYER_TEMPLATING_HOME') }}
{% if enabled | bool %}
enabled=yes
{% endif %}
flag={{ enabled | bool }}
greeting={{ lookup('file', 'greeting.txt') | upper }}
newer={{ '1.10' is version('1.9', '>') }}
file={{ '/srv/app/conf.d/main.yml' | basename | splitext | first }}
";

#[test]
fn filters_tests_and_lookups_in_templates_and_debug_output() {
    let p = Project::local(&["localhost"], PLAYBOOK)
        .file("templates/app.conf.j2", TEMPLATE)
        .file("files/greeting.txt", "hello\n")
        .file("out/.keep", "");
    let out = p.site_env(&[], &[("DEPLOYER_TEMPLATING_HOME", "/home/dep")]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        std::fs::read_to_string(p.join("out/app.conf")).unwrap(),
        "# Ansible managed\n\
         settings={\"port\": 80, \"opts\": {\"a\": 1, \"b\": 2}}\n\
         admins=alice\n\
         home=/home/dep\n\
         enabled=yes\n\
         flag=True\n\
         greeting=HELLO\n\
         newer=True\n\
         file=main\n",
        "the template keeps its trailing newline and trim_blocks drops the block lines"
    );
    assert!(
        out.stdout
            .contains("\"msg\": \"sum=6 keys=a+b home=/home/dep missing=[]\""),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("\"msg\": [\n        \"1\",\n        \"2\",\n        \"3\"\n    ]"),
        "a lone expression keeps its list type:\n{}",
        out.stdout
    );
}

#[test]
fn quoted_values_cannot_inject_shell_commands() {
    let p = Project::new().file("inv.yml", &local_inventory(&["localhost"]));
    let payload = format!("'; touch {}/pwned-$$ #", p.path_str());
    let playbook = format!(
        "- hosts: app\n  gather_facts: false\n  vars:\n    payload: {payload:?}\n  tasks:\n    \
         - shell: \"echo {{{{ payload | quote }}}}\"\n      register: echoed\n    \
         - debug: {{var: echoed.stdout}}\n"
    );
    let p = p.file("site.yml", &playbook);
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let touched: Vec<_> = std::fs::read_dir(p.join("."))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("pwned"))
        .collect();
    assert!(touched.is_empty(), "the injected command ran: {touched:?}");
    let echoed = serde_json::to_string(&payload).unwrap();
    assert!(
        out.stdout.contains(&format!("\"echoed.stdout\": {echoed}")),
        "the payload is echoed literally:\n{}",
        out.stdout
    );
}

#[test]
fn unknown_filters_are_compile_errors_with_a_location() {
    let p = Project::new()
        .file("inv.yml", &local_inventory(&["localhost"]))
        .file(
            "site.yml",
            "- hosts: app\n  tasks:\n    - debug:\n        msg: \"{{ name | to_jsn }}\"\n    - debug: {msg: x}\n      when: r is sucess\n",
        );
    let out = p.site(&[]);
    assert_ne!(out.code, 0);
    let err = out.stderr;
    assert!(
        err.contains("unknown filter `to_jsn`\n  --> site.yml:4:"),
        "{err}"
    );
    assert!(
        err.contains("unknown test `sucess`\n  --> site.yml:6:18"),
        "{err}"
    );
}

/// A project running `playbook` (`site.yml`) on localhost.
fn localhost(playbook: &str) -> Project {
    Project::new()
        .file("inv.yml", &local_inventory(&["localhost"]))
        .file("site.yml", playbook)
}

#[test]
fn role_templates_include_partials_and_import_macros() {
    let p = localhost(
        "- hosts: app\n  gather_facts: false\n  vars:\n    who: world\n    greeting: \"hello {{ who }}\"\n  roles: [web]\n",
    )
        .file(
            "roles/web/tasks/main.yml",
            "- template: {src: site.conf.j2, dest: \"{{ playbook_dir }}/out/site.conf\"}\n",
        )
        .file(
            "roles/web/templates/site.conf.j2",
            "{% from 'macros.j2' import setting %}\n\
             [{% include 'partials/header.j2' %}]\n\
             {{ setting('port', 8080) }}\n",
        )
        .file(
            "roles/web/templates/partials/header.j2",
            "{{ greeting }}/{% include 'note.j2' %}",
        )
        .file("roles/web/templates/partials/note.j2", "next to the partial\n")
        .file(
            "templates/macros.j2",
            "{% macro setting(k, v) %}{{ k }} = {{ v }}{% endmacro %}\n",
        )
        .file("out/.keep", "");
    let out = p.run(&["run", "site.yml", "-i", "inv.yml"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        std::fs::read_to_string(p.join("out/site.conf")).unwrap(),
        "[hello world/next to the partial]\nport = 8080\n",
        "partials are found next to the including template (their last newline dropped, as in \
         Jinja2), macros in the playbook's templates/, and the lazy `greeting` is templated"
    );
}

#[test]
fn a_missing_included_template_fails_the_task_naming_it() {
    let p = localhost(
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - template: {src: main.j2, dest: \"{{ playbook_dir }}/out\"}\n",
    )
        .file("templates/main.j2", "a\n{% include 'absent.j2' %}\n");
    let out = p.run(&["run", "site.yml", "-i", "inv.yml"]);
    assert_ne!(out.code, 0);
    assert!(
        out.stdout.contains("non-existing template 'absent.j2'"),
        "{}",
        out.stdout
    );
    assert!(!p.join("out").exists());
}

#[test]
fn lookups_on_undefined_variables_default_like_ansible_and_print_as_errors() {
    let p = localhost(
        "- hosts: app\n  gather_facts: false\n  vars:\n    d: {a: 1}\n  tasks:\n    \
         - debug:\n        msg: \"{{ nope.x | default(1) }} {{ d.missing.deeper | default(3) }}\"\n    \
         - debug: {msg: skipped}\n      when: nope.x is defined\n    \
         - debug: {msg: ran}\n      when: nope.x is undefined\n    \
         - name: printing\n      debug:\n        msg: \"v={{ nope.x }}\"\n",
    );
    let out = p.run(&["run", "site.yml", "-i", "inv.yml"]);
    assert_ne!(out.code, 0);
    assert!(out.stdout.contains("\"msg\": \"1 3\""), "{}", out.stdout);
    assert!(out.stdout.contains("\"msg\": \"ran\""), "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "'nope' is undefined. The error appears to be in 'site.yml': line 12, column 7"
        ),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.recap("localhost"),
        "ok=2 changed=0 unreachable=0 failed=1 skipped=1 rescued=0 ignored=0"
    );
}

#[test]
fn template_files_are_never_auto_escaped() {
    let p = localhost(
        "- hosts: app\n  gather_facts: false\n  vars: {v: \"<a & 'b'>\"}\n  tasks:\n    \
         - template: {src: c.json.j2, dest: \"{{ playbook_dir }}/c.json\"}\n    \
         - template: {src: c.html.j2, dest: \"{{ playbook_dir }}/c.html\"}\n",
    )
    .file("templates/c.json.j2", "{\"v\": \"{{ v }}\"}\n")
    .file("templates/c.html.j2", "<p>{{ v }}</p>\n");
    let out = p.run(&["run", "site.yml", "-i", "inv.yml"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let read = |f: &str| std::fs::read_to_string(p.join(f)).unwrap();
    assert_eq!(read("c.json"), "{\"v\": \"<a & 'b'>\"}\n");
    assert_eq!(read("c.html"), "<p><a & 'b'></p>\n");
}

/// `with_<lookup>` loops and lookups, with the items and messages ansible-core 2.19 prints for
/// the same playbook (run by hand against it).
const WITH_LOOPS: &str = r#"- hosts: app
  gather_facts: false
  vars:
    v: 42
    users:
      - {name: alice, keys: [k1, k2], mysql: {hosts: [h1]}}
      - {name: bob, keys: [k3], mysql: {hosts: [h2, h3]}}
  tasks:
    - debug: {msg: "{{ item }}"}
      with_items: [[1, 2], 3, [4, [5]]]
    - debug: {msg: "{{ item.key }}={{ item.value }}"}
      with_dict: {a: 1, b: 2}
    - debug: {msg: "{{ item }}"}
      with_nested: [[a, b], [1, 2], [x]]
    - debug: {msg: "{{ item }}"}
      with_together: [[a, b, c], [1, 2]]
    - debug: {msg: "{{ item.0.name }} {{ item.1 }} {{ item.0 }}"}
      with_subelements: ["{{ users }}", keys]
    - debug: {msg: "{{ item.0.name }} {{ item.1 }}"}
      with_subelements: ["{{ users }}", mysql.hosts]
    - debug: {msg: "{{ item }}"}
      with_sequence: start=1 end=10 stride=3 format=host%02d
    - debug: {msg: "{{ item | basename }}"}
      with_fileglob: ["*.txt"]
    - debug: {msg: "first {{ item | basename }}"}
      with_first_found: [nope.yml, a.txt]
    - debug: {msg: "{{ item }}"}
      with_indexed_items: [a, b]
    - debug: {msg: "{{ item }}"}
      loop: "{{ query('nested', ['a'], [1, 2]) }}"
    - debug: {msg: "{{ lookup('template', 't.j2') }}"}
    - debug: {msg: "{{ lookup('first_found', files=['nope', 'b.txt'], paths=['files']) | basename }} {{ query('first_found', 'zz', skip=true) }}"}
    - debug: {msg: "{{ item }} {{ ansible_loop.index }} {{ ansible_loop.first }} {{ ansible_loop.last }} {{ ansible_loop.previtem | default('-') }} {{ ansible_loop.length }} {{ ansible_loop_var }}"}
      loop: [p, q]
      loop_control: {extended: true}
    - debug: {msg: "{{ lookup('lines', 'printf \"x\\ny\"') }} {{ query('lines', 'printf \"x\\ny\"') }}"}
"#;

#[test]
fn with_loops_run_their_lookup_like_ansible() {
    let p = Project::local(&["localhost"], WITH_LOOPS)
        .file("files/a.txt", "a\n")
        .file("files/b.txt", "b\n")
        .file(
            "templates/t.j2",
            "v={{ v }}\nhost={{ inventory_hostname }}\n",
        );
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for expected in [
        "(item=4) => {\n    \"msg\": 4",
        "(item=[5]) => {",
        "(item={'key': 'b', 'value': 2}) => {\n    \"msg\": \"b=2\"",
        "(item=['b', 2, 'x']) => {",
        "(item=['c', None]) => {",
        "\"msg\": \"alice k2 {'name': 'alice', 'mysql': {'hosts': ['h1']}}\"",
        "(item=[{'name': 'bob', 'keys': ['k3'], 'mysql': {}}, 'h3']) => {\n    \"msg\": \"bob h3\"",
        "(item=host10) => {",
        "\"msg\": \"a.txt\"",
        "\"msg\": \"b.txt\"",
        "\"msg\": \"first a.txt\"",
        "(item=[1, 'b']) => {",
        "(item=['a', 2]) => {",
        "\"msg\": \"v=42\\nhost=localhost\\n\"",
        "\"msg\": \"b.txt []\"",
        "\"msg\": \"p 1 True False - 2 item\"",
        "\"msg\": \"q 2 False True p 2 item\"",
        "\"msg\": \"x,y ['x', 'y']\"",
    ] {
        assert!(out.stdout.contains(expected), "{expected}\n{}", out.stdout);
    }
    assert_eq!(
        out.recap("localhost"),
        "ok=15 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn password_lookup_writes_the_file_on_the_controller() {
    let playbook = "- hosts: app\n  gather_facts: false\n  tasks:\n    \
                    - debug: {msg: \"pw={{ lookup('password', 'creds/app length=16 chars=ascii_letters') }}\"}\n";
    let p = Project::local(&["localhost"], playbook);
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let stored = std::fs::read_to_string(p.join("creds/app")).unwrap();
    assert_eq!(stored.trim_end().len(), 16);
    assert!(out.stdout.contains(&format!("pw={}", stored.trim_end())));
    let again = p.site(&[]);
    assert!(again.stdout.contains(&format!("pw={}", stored.trim_end())));
}

#[test]
fn magic_variables_match_ansible() {
    // ansible-core 2.19 prints the same two lines for this playbook with `--check --diff`.
    let playbook = "- hosts: app\n  gather_facts: false\n  serial: 1\n  tasks:\n    \
                    - debug: {msg: \"{{ ansible_play_hosts }} {{ ansible_play_batch }} {{ ansible_play_hosts_all }} {{ inventory_file | basename }} {{ inventory_dir == playbook_dir }} {{ ansible_version.major }}.{{ ansible_version.minor }} {{ ansible_version.full is version('2.10', '>=') }} {{ ansible_check_mode }} {{ ansible_diff_mode }}\"}\n";
    let p = Project::local(&["h1", "h2"], playbook);
    let out = p.site(&["--check", "--diff"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for batch in ["h1", "h2"] {
        let line = format!(
            "\"msg\": \"['h1', 'h2'] ['{batch}'] ['h1', 'h2'] inv.yml True 2.19 True True True\""
        );
        assert!(out.stdout.contains(&line), "{line}\n{}", out.stdout);
    }
}

#[test]
fn template_files_see_hostvars_and_rescue_sees_the_failure() {
    let inventory = "all:\n  children:\n    app:\n      hosts:\n        \
                     h1: {ansible_connection: local, ansible_host: 10.0.0.1}\n        \
                     h2: {ansible_connection: local, ansible_host: 10.0.0.2}\n";
    let playbook = r#"- hosts: app
  gather_facts: false
  tasks:
    - template: {src: peers.j2, dest: "{{ playbook_dir }}/out/{{ inventory_hostname }}.conf"}
    - block:
        - name: breaks
          command: /bin/false
      rescue:
        - debug: {msg: "rescued {{ ansible_failed_task.name }} {{ ansible_failed_task.action }} rc={{ ansible_failed_result.rc }}"}
    - debug: {msg: "after {{ ansible_failed_result.failed }}"}
"#;
    let p = Project::new()
        .file("inv.yml", inventory)
        .file("site.yml", playbook)
        .file(
            "templates/peers.j2",
            "{% for peer in groups['app'] %}\n{{ peer }}={{ hostvars[peer]['ansible_host'] }}\n{% endfor %}\n",
        )
        .file("out/.keep", "");
    let out = p.site(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for host in ["h1", "h2"] {
        assert_eq!(
            std::fs::read_to_string(p.join(&format!("out/{host}.conf"))).unwrap(),
            "h1=10.0.0.1\nh2=10.0.0.2\n"
        );
    }
    assert!(
        out.stdout
            .contains("\"msg\": \"rescued breaks command rc=1\""),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("\"msg\": \"after True\""),
        "{}",
        out.stdout
    );
}
