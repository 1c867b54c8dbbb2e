//! The modules added natively for issue 13 over SSH on the Docker fleet: each case's `--check`
//! run leaves the hosts untouched, its first run reaches the end state and its second changes
//! nothing (see [`crate::modules_fleet`]'s `Case`). Case names start with `natives-`, so their
//! folders and any names they create on the shared hosts are their own.

use crate::modules_fleet::{CASE, Case};

#[test]
fn find_reports_matching_files_and_changes_nothing() {
    let runs = Case {
        name: "natives-find",
        setup: "cd \"$ROOT\" && mkdir -p logs/old 'with space' && echo 'ERROR x' > logs/a.log && \
                echo fine > logs/b.log && echo 'ERROR y' > logs/old/c.log && \
                echo 'ERROR z' > 'with space/d.log' && touch logs/.hidden.log && chown -R deploy: .",
        tasks: r#"    - name: logs
      find: {paths: ["{{ root }}/logs", "{{ root }}/with space"], patterns: "*.log", recurse: true, contains: "ERROR"}
      register: found
    - name: dirs
      find: {paths: "{{ root }}", file_type: directory}
"#,
        state: "ls -A \"$ROOT/logs\"",
        expect: ".hidden.log\na.log\nb.log\nold\n",
        ..CASE
    }
    .exercise(|p| p);
    let Some(runs) = runs else { return };
    let logs = runs.first.result("app1", "logs");
    let mut paths: Vec<&str> = logs["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    paths.sort();
    let root = "/tmp/modules-fleet/natives-find";
    assert_eq!(
        paths,
        [
            format!("{root}/logs/a.log"),
            format!("{root}/logs/old/c.log"),
            format!("{root}/with space/d.log"),
        ]
    );
    assert_eq!(logs["matched"], 3);
    assert_eq!(logs["examined"], 6);
    assert_eq!(logs["files"][0]["pw_name"], "deploy");
    let dirs = runs.first.result("app1", "dirs");
    assert_eq!(dirs["matched"], 2, "{dirs}");
}

#[test]
fn package_facts_lists_installed_packages() {
    let runs = Case {
        name: "natives-package-facts",
        all_hosts: false,
        tasks: r#"    - name: facts
      package_facts: {manager: auto}
    - name: use
      assert:
        that:
          - "'bash' in ansible_facts.packages"
          - "packages.bash[0].source == 'apt'"
          - "'no-such-package-natives' not in packages"
"#,
        ..CASE
    }
    .exercise(|p| p);
    let Some(runs) = runs else { return };
    let facts = runs.first.result("app1", "facts");
    let bash = &facts["ansible_facts"]["packages"]["bash"][0];
    assert_eq!(bash["name"], "bash");
    for field in ["version", "arch", "category"] {
        assert!(
            bash[field].as_str().is_some_and(|v| !v.is_empty()),
            "{bash}"
        );
    }
}

#[test]
fn service_facts_reports_running_services() {
    let runs = Case {
        name: "natives-service-facts",
        all_hosts: false,
        tasks: r#"    - name: facts
      service_facts:
    - assert:
        that: ["ansible_facts.services['ssh'].state == 'running'", "services | length > 1"]
"#,
        ..CASE
    }
    .exercise(|p| p);
    let Some(runs) = runs else { return };
    let services = &runs.first.result("app1", "facts")["ansible_facts"]["services"];
    assert_eq!(services["ssh"]["source"], "sysv", "{services}");
}

#[test]
fn cron_manages_a_named_job_and_a_variable_in_a_cron_file() {
    Case {
        name: "natives-cron",
        tasks: r#"    - cron: {name: "natives-cron job", job: "/bin/true > /dev/null", minute: "*/5", user: root, cron_file: natives-cron}
      become: true
    - cron: {name: MAILTO, env: true, job: "", user: root, cron_file: natives-cron}
      become: true
    - cron: {name: "natives-cron gone", state: absent, cron_file: natives-cron}
      become: true
"#,
        check_changed: 2,
        changed: 2,
        state: "stat -c '%a %U' /etc/cron.d/natives-cron; cat /etc/cron.d/natives-cron",
        expect: "644 root\nMAILTO=\"\"\n#Ansible: natives-cron job\n*/5 * * * * root /bin/true > /dev/null\n",
        teardown: "rm -f /etc/cron.d/natives-cron",
        ..CASE
    }
    .exercise(|p| p);
}

#[test]
fn apt_repository_adds_a_source_file_once_and_removes_sources() {
    // A real (empty, local) repository, so that other cases' `apt-get update` still succeeds
    // while the source exists.
    let runs = Case {
        name: "natives-apt-repository",
        all_hosts: false,
        setup: "mkdir -p \"$ROOT/repo\" && : > \"$ROOT/repo/Packages\"",
        tasks: r#"    - name: add
      apt_repository:
        repo: "deb [trusted=yes] file:/tmp/modules-fleet/natives-apt-repository/repo ./"
        filename: natives-apt-repository
        mode: "0640"
      become: true
    - apt_repository: {repo: "deb http://natives.invalid/debian bookworm main", state: absent, update_cache: false}
      become: true
"#,
        check_changed: 1,
        changed: 1,
        state: "f=/etc/apt/sources.list.d/natives-apt-repository.list; stat -c '%a' $f; cat $f",
        expect: "640\ndeb [trusted=yes] file:/tmp/modules-fleet/natives-apt-repository/repo ./\n",
        teardown: "rm -f /etc/apt/sources.list.d/natives-apt-repository.list",
        ..CASE
    }
    .exercise(|p| p);
    let Some(runs) = runs else { return };
    let added = runs.first.result("app1", "add");
    assert_eq!(
        added["sources_added"],
        serde_json::json!(["/etc/apt/sources.list.d/natives-apt-repository.list"])
    );
    assert_eq!(added["state"], "present");
}

#[test]
fn sysctl_sets_and_removes_entries_in_a_sysctl_file() {
    Case {
        name: "natives-sysctl",
        setup: "printf '# tuned\\nvm.swappiness = 60\\nkernel.old=1\\n' > \"$ROOT/99.conf\" && chown deploy: \"$ROOT/99.conf\"",
        tasks: r#"    - ansible.posix.sysctl: {name: vm.swappiness, value: "10", sysctl_file: "{{ root }}/99.conf", reload: false}
    - sysctl: {name: net.core.somaxconn, value: "1024", sysctl_file: "{{ root }}/99.conf", reload: false}
    - sysctl: {name: kernel.old, state: absent, sysctl_file: "{{ root }}/99.conf", reload: false}
"#,
        check_changed: 3,
        changed: 3,
        state: "cat \"$ROOT/99.conf\"",
        expect: "# tuned\nvm.swappiness=10\nnet.core.somaxconn=1024\n",
        ..CASE
    }
    .exercise(|p| p);
}

#[test]
fn known_hosts_adds_replaces_and_removes_keys() {
    Case {
        name: "natives-known-hosts",
        setup: "printf 'old.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGfu+ayOVwYYp1BMVUDx/Obd+7KK1eIA4l8G2d4ZI3Qj\\n' > \"$ROOT/kh\" && chown deploy: \"$ROOT/kh\"",
        tasks: r#"    - known_hosts:
        name: natives.example
        key: natives.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl
        path: "{{ root }}/kh"
    - known_hosts: {name: old.example, state: absent, path: "{{ root }}/kh"}
"#,
        check_changed: 2,
        changed: 2,
        state: "cat \"$ROOT/kh\"",
        expect: "natives.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n",
        ..CASE
    }
    .exercise(|p| p);
}

#[test]
fn hostname_writes_the_permanent_name_of_the_file_strategies() {
    // The fleet's containers may not rename themselves (`hostnamectl` and `hostname` are refused
    // there, by ansible-core too), so the cases use the strategies that only write a file.
    let runs = Case {
        name: "natives-hostname",
        setup: "mkdir -p /etc/sysconfig && printf 'NETWORKING=yes\\nHOSTNAME=old\\n' > /etc/sysconfig/network && rm -f /etc/HOSTNAME",
        tasks: r#"    - name: sles
      hostname: {name: "{{ inventory_hostname }}.natives.example", use: sles}
      become: true
    - name: redhat
      hostname: {name: "{{ inventory_hostname }}-natives", use: redhat}
      become: true
    - assert:
        that: ["ansible_nodename == inventory_hostname ~ '-natives'", "ansible_facts.hostname == inventory_hostname ~ '-natives'"]
"#,
        check_changed: 2,
        changed: 2,
        state: "cat /etc/HOSTNAME /etc/sysconfig/network",
        expect: "{host}.natives.example\nNETWORKING=yes\nHOSTNAME={host}-natives\n",
        teardown: "rm -f /etc/HOSTNAME /etc/sysconfig/network && rmdir --ignore-fail-on-non-empty /etc/sysconfig",
        ..CASE
    }
    .exercise(|p| p);
    let Some(runs) = runs else { return };
    let sles = runs.first.result("app1", "sles");
    assert_eq!(sles["name"], "app1.natives.example");
    assert_eq!(sles["ansible_facts"]["ansible_hostname"], "app1");
}

/// Makes a repository in `$ROOT/src` (commit `one`, tag `v1`, commit `two` on `main`) and its
/// bare clone `$ROOT/origin.git`, owned by the login user.
const GIT_REPO: &str = "cd \"$ROOT\" && git init -q -b main src && cd src && \
    c() { git -c user.name=natives -c user.email=natives@example.org commit -q \"$@\"; } && \
    echo one > f && git add f && c -m one && git tag v1 && echo two > f && c -am two && \
    git clone -q --bare . ../origin.git && chown -R deploy: \"$ROOT\"";

#[test]
fn git_clones_a_branch_a_shallow_tag_and_a_bare_mirror_once() {
    let runs = Case {
        name: "natives-git",
        setup: GIT_REPO,
        tasks: r#"    - name: clone
      git: {repo: "{{ root }}/origin.git", dest: "{{ root }}/checkout"}
    - name: tag
      git: {repo: "file://{{ root }}/origin.git", dest: "{{ root }}/tagged", version: v1, depth: 1}
    - name: bare
      git: {repo: "{{ root }}/origin.git", dest: "{{ root }}/mirror.git", bare: true}
"#,
        check_changed: 3,
        changed: 3,
        state: "g() { git -c safe.directory='*' \"$@\"; }; cat \"$ROOT/checkout/f\" \"$ROOT/tagged/f\"; \
                g -C \"$ROOT/tagged\" rev-list --count HEAD; g -C \"$ROOT/checkout\" branch --show-current; \
                test \"$(g -C \"$ROOT/mirror.git\" rev-parse main)\" = \"$(g -C \"$ROOT/src\" rev-parse main)\" && echo mirrored",
        expect: "two\none\n1\nmain\nmirrored\n",
        ..CASE
    }
    .exercise(|p| p);
    let Some(runs) = runs else { return };
    let clone = runs.first.result("app1", "clone");
    assert_eq!(clone["before"], serde_json::Value::Null);
    assert_eq!(clone["after"].as_str().map(str::len), Some(40), "{clone}");
}

/// Undoes the SSH test's setup on app1 and app2, also when the test fails.
struct SshRepoCleanup(&'static crate::fleet::Fleet);

impl Drop for SshRepoCleanup {
    fn drop(&mut self) {
        let cleanup = "sed -i '/ natives-git-ssh$/d' ~deploy/.ssh/authorized_keys; rm -rf /tmp/natives-git-ssh";
        for host in ["app1", "app2"] {
            self.0.exec(host, cleanup);
        }
    }
}

#[test]
fn git_clones_over_ssh_from_another_fleet_host_with_a_key_file() {
    let Some(fleet) = crate::fleet::fleet() else {
        return;
    };
    let _cleanup = SshRepoCleanup(fleet);
    let (code, out) = fleet.exec(
        "app1",
        "d=/tmp/natives-git-ssh; rm -rf $d && mkdir -p $d && \
         ssh-keygen -q -t ed25519 -N '' -C natives-git-ssh -f $d/id && chown -R deploy: $d && cat $d/id.pub",
    );
    assert_eq!(code, 0, "{out}");
    let serve = format!(
        "ROOT=/tmp/natives-git-ssh; rm -rf $ROOT && mkdir -p $ROOT && {GIT_REPO} && \
         f=~deploy/.ssh/authorized_keys; [ -z \"$(tail -c 1 $f)\" ] || echo >> $f; \
         printf '%s\\n' '{}' >> $f",
        out.trim()
    );
    let (code, out) = fleet.exec("app2", &serve);
    assert_eq!(code, 0, "{out}");
    Case {
        name: "natives-git-ssh",
        all_hosts: false,
        tasks: r#"    - git:
        repo: deploy@app2:/tmp/natives-git-ssh/origin.git
        dest: "{{ root }}/checkout"
        version: main
        key_file: /tmp/natives-git-ssh/id
        accept_hostkey: true
        ssh_opts: -o UserKnownHostsFile=/dev/null
"#,
        check_changed: 1,
        changed: 1,
        state: "cat \"$ROOT/checkout/f\"",
        expect: "two\n",
        ..CASE
    }
    .exercise(|p| p);
}

/// Builds two wheels of `natives-pkg` (1.0 and 2.0) in `$ROOT/wheels`, without a network.
const WHEELS: &str = "mkdir -p \"$ROOT/wheels\" && cd \"$ROOT/wheels\" && python3 - <<'PY'
import zipfile
for v in ('1.0', '2.0'):
    info = 'natives_pkg-%s.dist-info/' % v
    with zipfile.ZipFile('natives_pkg-%s-py3-none-any.whl' % v, 'w') as z:
        z.writestr('natives_pkg/__init__.py', 'VERSION = %r\\n' % v)
        z.writestr(info + 'METADATA', 'Metadata-Version: 2.1\\nName: natives-pkg\\nVersion: %s\\n' % v)
        z.writestr(info + 'WHEEL', 'Wheel-Version: 1.0\\nGenerator: natives\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n')
        z.writestr(info + 'RECORD', '')
PY
printf 'natives-pkg>=2.0\\n' > requirements.txt && chown -R deploy: \"$ROOT\"";

#[test]
fn pip_installs_pinned_and_latest_wheels_into_new_virtualenvs_and_removes_them() {
    let runs = Case {
        name: "natives-pip",
        setup: WHEELS,
        tasks: r#"    - name: pinned
      pip:
        name: natives-pkg
        version: "1.0"
        virtualenv: "{{ root }}/pinned"
        virtualenv_command: python3 -m venv
        extra_args: "--no-index --find-links {{ root }}/wheels"
    - name: latest
      pip:
        name: [natives-pkg]
        state: latest
        virtualenv: "{{ root }}/latest"
        virtualenv_command: python3 -m venv
        extra_args: "--no-index --find-links {{ root }}/wheels"
    - name: requirements
      pip:
        requirements: "{{ root }}/wheels/requirements.txt"
        virtualenv: "{{ root }}/latest"
        extra_args: "--no-index --find-links {{ root }}/wheels"
    - name: absent
      pip: {name: natives-gone, state: absent, virtualenv: "{{ root }}/pinned"}
"#,
        check_changed: 4,
        changed: 2,
        state: "for v in pinned latest; do \"$ROOT/$v/bin/python\" -c 'import natives_pkg; print(natives_pkg.VERSION)'; done",
        expect: "1.0\n2.0\n",
        ..CASE
    }
    .exercise(|p| p);
    let Some(runs) = runs else { return };
    let pinned = runs.first.result("app1", "pinned");
    assert_eq!(
        pinned["virtualenv"],
        "/tmp/modules-fleet/natives-pip/pinned"
    );
    assert_eq!(
        pinned["cmd"][0], "/tmp/modules-fleet/natives-pip/pinned/bin/pip3",
        "{pinned}"
    );
    assert!(
        pinned["stdout"]
            .as_str()
            .unwrap()
            .contains("Successfully installed natives-pkg-1.0")
    );
}

#[test]
fn assemble_joins_host_and_controller_fragments_once() {
    Case {
        name: "natives-assemble",
        setup: "mkdir \"$ROOT/parts\" && printf 'b=2' > \"$ROOT/parts/20-b.conf\" && \
                printf 'a=1\\n' > \"$ROOT/parts/10-a.conf\" && printf 'x\\n' > \"$ROOT/parts/.x.conf\" && \
                chown -R deploy: \"$ROOT\"",
        tasks: r##"    - assemble: {src: "{{ root }}/parts", dest: "{{ root }}/all.conf", delimiter: "#--", ignore_hidden: true, mode: "0600"}
    - assemble: {src: fragments, dest: "{{ root }}/local", remote_src: false, regexp: '^[0-9]'}
"##,
        files: &[
            ("files/fragments/1", "one\n"),
            ("files/fragments/2", "two"),
            ("files/fragments/skipped", "no\n"),
        ],
        check_changed: 2,
        changed: 2,
        state: "stat -c '%a' \"$ROOT/all.conf\"; cat \"$ROOT/all.conf\" \"$ROOT/local\"",
        expect: "600\na=1\n#--\nb=2one\ntwo",
        ..CASE
    }
    .exercise(|p| p);
}

#[test]
fn deb822_repository_writes_a_sources_file_once_and_removes_it() {
    Case {
        name: "natives-deb822",
        tasks: r#"    - deb822_repository:
        name: Natives deb822
        uris: http://natives.invalid/debian
        suites: [bookworm]
        components: main
        enabled: false
        signed_by: |
          -----BEGIN PGP PUBLIC KEY BLOCK-----

          mQENBFnatives
          -----END PGP PUBLIC KEY BLOCK-----
        mode: "0600"
      become: true
    - deb822_repository: {name: natives-deb822-gone, state: absent}
      become: true
"#,
        check_changed: 1,
        changed: 1,
        state: "f=/etc/apt/sources.list.d/natives-deb822.sources; stat -c '%a %U' $f; cat $f",
        expect: "600 root\nComponents: main\nEnabled: no\nX-Repolib-Name: Natives deb822\n\
                 Signed-By:\n    -----BEGIN PGP PUBLIC KEY BLOCK-----\n    .\n    mQENBFnatives\n    \
                 -----END PGP PUBLIC KEY BLOCK-----\nSuites: bookworm\nTypes: deb\n\
                 URIs: http://natives.invalid/debian\n",
        teardown: "rm -f /etc/apt/sources.list.d/natives-deb822.sources",
        ..CASE
    }
    .exercise(|p| p);
}

#[test]
fn mount_keeps_fstab_entries_once() {
    Case {
        name: "natives-mount",
        setup: "printf '/dev/old /srv/old ext4 defaults 0 0\\n/dev/sdb1 /srv/data ext4 defaults\\n' > \"$ROOT/fstab\" && chown deploy: \"$ROOT/fstab\"",
        tasks: r#"    - ansible.posix.mount: {path: /srv/data, src: /dev/sdb1, fstype: ext4, opts: noatime, fstab: "{{ root }}/fstab", state: present}
    - mount: {path: /srv/new, src: "UUID=1", fstype: xfs, boot: false, fstab: "{{ root }}/fstab", state: present}
    - mount: {path: /srv/old, fstab: "{{ root }}/fstab", state: absent_from_fstab}
"#,
        check_changed: 3,
        changed: 3,
        state: "cat \"$ROOT/fstab\"",
        expect: "/dev/sdb1 /srv/data ext4 noatime 0 0\nUUID=1 /srv/new xfs defaults,noauto 0 0\n",
        ..CASE
    }
    .exercise(|p| p);
}

#[test]
fn apt_key_adds_a_key_to_trusted_gpg_d_once_and_removes_it() {
    Case {
        name: "natives-apt-key",
        tasks: r#"    - name: add
      apt_key: {data: "{{ lookup('file', 'one.asc') }}"}
      become: true
    - apt_key: {id: 56A3139B07BD28C5, state: absent}
      become: true
"#,
        check_changed: 1,
        changed: 1,
        state: "cd /etc/apt/trusted.gpg.d && stat -c '%n %a %s' apt_key-*.gpg",
        expect: "apt_key-EBB4B3CAE85C36FC.gpg 644 414\n",
        files: &[("one.asc", include_str!("differential/files/one.asc"))],
        teardown: "rm -f /etc/apt/trusted.gpg.d/apt_key-EBB4B3CAE85C36FC.gpg",
        ..CASE
    }
    .exercise(|p| p);
}

#[test]
fn synchronize_pushes_pulls_deletes_and_excludes_through_the_bastion() {
    let runs = Case {
        name: "natives-synchronize",
        setup: "cd \"$ROOT\" && mkdir -p site remote rootdir && echo old > site/stale.txt && \
                echo remote > remote/r.txt && echo same > same.txt && touch -d 2001-01-01 same.txt && \
                chown -R deploy: . && chown root: rootdir && chmod 700 rootdir",
        tasks: r#"    - name: push
      synchronize:
        src: site/
        dest: "{{ root }}/site/"
        delete: true
        rsync_opts: ["--exclude=*.log"]
    - name: checksum
      synchronize: {src: same.txt, dest: "{{ root }}/same.txt", archive: false, checksum: true}
    - name: pull
      synchronize: {mode: pull, src: "{{ root }}/remote/", dest: "pulled-{{ inventory_hostname }}/"}
    - name: become
      synchronize: {src: site/, dest: "{{ root }}/rootdir/", rsync_opts: ["--exclude=*.log"]}
      become: true
"#,
        files: &[
            ("files/site/index.html", "<p>hi</p>\n"),
            ("files/site/sub/b.txt", "b\n"),
            ("files/site/skip.log", "not sent\n"),
            ("files/same.txt", "same\n"),
        ],
        check_changed: 3,
        changed: 3,
        state: "cd \"$ROOT\" && find site rootdir | sort && cat same.txt",
        expect: "rootdir\nrootdir/index.html\nrootdir/sub\nrootdir/sub/b.txt\n\
                 site\nsite/index.html\nsite/sub\nsite/sub/b.txt\nsame\n",
        ..CASE
    }
    .exercise(|p| p);
    let Some(runs) = runs else { return };
    let push = runs.first.result("app1", "push");
    let lines = push["stdout_lines"].as_array().unwrap();
    for line in ["<f+++++++++ index.html", "*deleting   stale.txt"] {
        assert!(lines.iter().any(|l| l == line), "{push}");
    }
    let cmd = push["cmd"].as_str().unwrap();
    assert!(cmd.contains(" rsync-tunnel "), "{cmd}");
    assert!(
        cmd.ends_with(" deploy@app1:/tmp/modules-fleet/natives-synchronize/site/"),
        "{cmd}"
    );
    let become_ = runs.first.result("app1", "become");
    assert!(
        become_["cmd"]
            .as_str()
            .unwrap()
            .contains(" --rsync-path='sudo -u root rsync' "),
        "{become_}"
    );
    let pulled = std::fs::read_to_string(runs.project.join("pulled-app1/r.txt")).unwrap();
    assert_eq!(pulled, "remote\n");
}

#[test]
fn synchronize_shows_the_remote_rsyncs_errors() {
    let Some(fleet) = crate::fleet::fleet() else {
        return;
    };
    let project = fleet
        .project(
            "- hosts: app1\n  gather_facts: false\n  tasks:\n\
             \x20   - name: denied\n\
             \x20     synchronize: {src: site/, dest: /root/natives-synchronize-never/}\n\
             \x20     ignore_errors: true\n\
             \x20   - name: sync\n\
             \x20     synchronize: {src: site/, dest: /tmp/natives-synchronize-never/, rsync_path: /nonexistent/rsync}\n",
        )
        .file("files/site/a.txt", "a\n");
    let out = project.run(&["run", "site.yml", "-i", "inv.yml", "--format", "json"]);
    assert_ne!(out.code, 0);
    let result = out.result("app1", "sync");
    assert_eq!(result["rc"], 12, "{result}");
    let msg = result["msg"].as_str().unwrap();
    assert!(msg.contains("/nonexistent/rsync: "), "{msg}");
    assert!(msg.contains("connection unexpectedly closed"), "{msg}");
    // The remote rsync's own errors, which it writes on its stderr, are in the message.
    let denied = out.result("app1", "denied");
    let msg = denied["msg"].as_str().unwrap();
    assert!(msg.starts_with("rsync: [Receiver] "), "{msg}");
    assert!(msg.contains("Permission denied"), "{msg}");
    let (code, leftovers) = fleet.exec("app1", "ls -a /tmp | grep -c deployer-rsh || true");
    assert_eq!(
        (code, leftovers.trim()),
        (0, "0"),
        "error files left on the host"
    );
}
