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
