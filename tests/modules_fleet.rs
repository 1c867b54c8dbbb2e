//! Every module over SSH on the Docker fleet, one case per module: a `--check` run on fresh paths
//! reports the changes and leaves the hosts (and the controller) untouched, a first run reaches
//! the expected end state on the hosts with the expected `changed` count, and a second run changes
//! nothing. Each case works under its own folder, `/tmp/modules-fleet/<case>`, so cases run in
//! parallel.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::fleet::{Fleet, fleet, systemd_fleet};
use crate::support::{Output, Project};

/// One module's scenario.
pub(crate) struct Case {
    /// The case's name, which is also its folder under `/tmp/modules-fleet`.
    pub(crate) name: &'static str,
    /// Run on all app hosts, or only on `app1`.
    pub(crate) all_hosts: bool,
    /// Shell run as root on each host before the runs, with `ROOT` set to the case's folder
    /// (which exists, empty, owned by the login user).
    pub(crate) setup: &'static str,
    /// The play's task list (YAML, indented by four spaces); `{{ root }}` is the case's folder.
    pub(crate) tasks: &'static str,
    /// Files of the project (path, text), next to the playbook.
    pub(crate) files: &'static [(&'static str, &'static str)],
    /// Changed tasks per host reported by `--check` on the fresh hosts.
    pub(crate) check_changed: u64,
    /// Changed tasks per host on the first run.
    pub(crate) changed: u64,
    /// Changed tasks per host on the second run (only `touch` is never idempotent).
    pub(crate) changed_again: u64,
    /// Shell run as root on each host (with `ROOT` set) that prints the state the case is about.
    pub(crate) state: &'static str,
    /// What `state` prints after the first run; `{host}` and `{root}` are replaced.
    pub(crate) expect: &'static str,
    /// Shell run as root on each host once the runs are over (stops what `setup` started).
    pub(crate) teardown: &'static str,
}

/// Defaults for the fields most cases leave alone.
pub(crate) const CASE: Case = Case {
    name: "",
    all_hosts: true,
    setup: "",
    tasks: "",
    files: &[],
    check_changed: 0,
    changed: 0,
    changed_again: 0,
    state: "",
    expect: "",
    teardown: "",
};

/// What the three runs of a case printed, for extra assertions.
pub(crate) struct Runs {
    pub(crate) project: Project,
    pub(crate) first: Output,
}

impl Case {
    fn root(&self) -> String {
        format!("/tmp/modules-fleet/{}", self.name)
    }

    fn hosts(&self, fleet: &Fleet) -> Vec<String> {
        if self.all_hosts {
            fleet.app_hosts()
        } else {
            vec!["app1".into()]
        }
    }

    fn playbook(&self) -> String {
        let pattern = if self.all_hosts { "app" } else { "app1" };
        format!(
            "- hosts: {pattern}\n  gather_facts: false\n  tasks:\n{}",
            self.tasks
        )
    }

    /// Runs `script` as root on `host` with `ROOT` set, and returns what it printed.
    fn on_host(&self, fleet: &Fleet, host: &str, script: &str) -> String {
        let (code, out) = fleet.exec(host, &format!("ROOT='{}'\n{script}", self.root()));
        assert_eq!(
            code, 0,
            "{}: `{script}` failed on {host}:\n{out}",
            self.name
        );
        out
    }

    /// The state of every host (the case's own view plus the folder's tree) and of the
    /// controller's project folder.
    fn snapshot(&self, fleet: &Fleet, project: &Project) -> BTreeMap<String, String> {
        let mut all: BTreeMap<String, String> = self
            .hosts(fleet)
            .into_iter()
            .map(|host| {
                let (code, state) =
                    fleet.exec(&host, &format!("ROOT='{}'\n{}", self.root(), self.state));
                let state = format!("{state}exit {code}\n{}", fleet.tree(&host, &self.root()));
                (host, state)
            })
            .collect();
        all.insert("controller".into(), local_tree(&project.join("")));
        all
    }

    fn run(&self, project: &Project, extra: &[&str]) -> Output {
        let root = format!("root={}", self.root());
        let mut args = vec!["run", "site.yml", "-i", "inv.yml", "--format", "json"];
        args.extend(["-e", &root]);
        args.extend(extra);
        project.run(&args)
    }

    fn assert_counts(&self, fleet: &Fleet, out: &Output, what: &str, changed: u64) {
        for host in self.hosts(fleet) {
            let counts = &out.recap_counts()[&host];
            assert_eq!(
                (counts["failed"].as_u64(), counts["unreachable"].as_u64()),
                (Some(0), Some(0)),
                "{} {what}: {host} failed:\n{}\n{}",
                self.name,
                out.stdout,
                out.stderr
            );
            assert_eq!(
                counts["changed"].as_u64(),
                Some(changed),
                "{} {what}: changed count of {host}:\n{}",
                self.name,
                out.stdout
            );
        }
        assert_eq!(out.code, 0, "{} {what}:\n{}", self.name, out.stderr);
    }

    /// Check run, first run, second run; `None` without a fleet.
    pub(crate) fn exercise(&self, project: impl FnOnce(Project) -> Project) -> Option<Runs> {
        let fleet = fleet()?;
        let root = self.root();
        let _teardown = Teardown { case: self, fleet };
        for host in self.hosts(fleet) {
            self.on_host(
                fleet,
                &host,
                &format!(
                    "rm -rf \"$ROOT\" && mkdir -p \"$ROOT\" && chown deploy: \"$ROOT\"\n{}",
                    self.setup
                ),
            );
        }
        let project = project(
            self.files
                .iter()
                .fold(fleet.project(&self.playbook()), |p, (path, text)| {
                    p.file(path, text)
                }),
        );

        let fresh = self.snapshot(fleet, &project);
        let check = self.run(&project, &["--check"]);
        self.assert_counts(fleet, &check, "--check", self.check_changed);
        assert_eq!(
            self.snapshot(fleet, &project),
            fresh,
            "{}: --check changed something",
            self.name
        );

        let first = self.run(&project, &[]);
        self.assert_counts(fleet, &first, "first run", self.changed);
        for host in self.hosts(fleet) {
            let expected = self
                .expect
                .replace("{host}", &host)
                .replace("{root}", &root);
            assert_eq!(
                self.on_host(fleet, &host, self.state),
                expected,
                "{}: end state on {host}",
                self.name
            );
        }
        let second = self.run(&project, &[]);
        self.assert_counts(fleet, &second, "second run", self.changed_again);
        Some(Runs { project, first })
    }
}

/// Runs a case's `teardown` on its hosts when dropped, so that a failing case, too, leaves the
/// hosts as other cases expect them.
struct Teardown<'a> {
    case: &'a Case,
    fleet: &'a Fleet,
}

impl Drop for Teardown<'_> {
    fn drop(&mut self) {
        if self.case.teardown.is_empty() {
            return;
        }
        for host in self.case.hosts(self.fleet) {
            if std::thread::panicking() {
                // Best effort: a second panic would abort the test binary.
                let script = format!("ROOT='{}'\n{}", self.case.root(), self.case.teardown);
                self.fleet.exec(&host, &script);
            } else {
                self.case.on_host(self.fleet, &host, self.case.teardown);
            }
        }
    }
}

/// Every file under `dir` with its size, except deployer's own run logs (`.deployer/`).
fn local_tree(dir: &Path) -> String {
    let mut lines = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path).expect("a readable folder") {
            let path = entry.expect("an entry").path();
            if path.file_name().is_some_and(|name| name == ".deployer") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("a readable file");
                lines.push(format!("{} {}", path.display(), bytes.len()));
            }
        }
    }
    lines.sort();
    lines.join("\n")
}

#[test]
fn copy_writes_content_and_files_with_mode_and_owner() {
    Case {
        name: "copy",
        tasks: r#"    - copy: {content: "hello {{ inventory_hostname }}\n", dest: "{{ root }}/content.txt", mode: "0640"}
    - copy: {src: files/app.conf, dest: "{{ root }}/src.conf"}
    - copy: {src: files/site/, dest: "{{ root }}/site/"}
    - copy: {content: "secret\n", dest: "{{ root }}/owned.txt", owner: nobody, group: nogroup, mode: "u=rw,g=r,o="}
      become: true
"#,
        files: &[
            ("files/app.conf", "listen 80\n"),
            ("files/site/index.html", "<p>hi</p>\n"),
            ("files/site/css/a.css", "p {}\n"),
        ],
        check_changed: 4,
        changed: 4,
        state: "cd \"$ROOT\" && for f in content.txt src.conf owned.txt site/index.html site/css/a.css; do \
                stat -c '%n %a %U:%G' $f; cat $f; done",
        expect: "content.txt 640 deploy:deploy\nhello {host}\n\
                 src.conf 644 deploy:deploy\nlisten 80\n\
                 owned.txt 640 nobody:nogroup\nsecret\n\
                 site/index.html 644 deploy:deploy\n<p>hi</p>\n\
                 site/css/a.css 644 deploy:deploy\np {}\n",
        ..CASE
    }
    .exercise(|p| p);
}

#[test]
fn template_renders_per_host() {
    Case {
        name: "template",
        tasks: r#"    - template: {src: motd.j2, dest: "{{ root }}/motd", mode: "0600"}
      vars: {port: 8080}
"#,
        files: &[(
            "templates/motd.j2",
            "host={{ inventory_hostname }}\nport={{ port }}\n",
        )],
        check_changed: 1,
        changed: 1,
        state: "stat -c '%a' \"$ROOT/motd\"; cat \"$ROOT/motd\"",
        expect: "600\nhost={host}\nport=8080\n",
        ..CASE
    }
    .exercise(|p| p);
}

#[test]
fn file_makes_directories_links_and_modes_and_removes() {
    Case {
        name: "file",
        setup: "cd \"$ROOT\" && mkdir target && touch gone loose && chmod 0777 loose && chown deploy: *",
        tasks: r#"    - file: {path: "{{ root }}/dir/sub", state: directory, mode: "0750"}
    - file: {path: "{{ root }}/link", src: "{{ root }}/target", state: link}
    - file: {path: "{{ root }}/gone", state: absent}
    - file: {path: "{{ root }}/loose", mode: "u=rw,g=r,o="}
    - file: {path: "{{ root }}/hard", src: "{{ root }}/loose", state: hard}
"#,
        check_changed: 5,
        changed: 5,
        state: "cd \"$ROOT\" && ls -A; stat -c '%n %a %F' dir dir/sub loose; readlink link; \
                stat -c %i loose hard | uniq | wc -l",
        expect: "dir\nhard\nlink\nloose\ntarget\n\
                 dir 750 directory\ndir/sub 750 directory\nloose 640 regular empty file\n\
                 {root}/target\n1\n",
        ..CASE
    }
    .exercise(|p| p);
}

#[test]
fn file_touch_changes_every_time_like_ansible() {
    Case {
        name: "touch",
        all_hosts: false,
        tasks: "    - file: {path: \"{{ root }}/touched\", state: touch, mode: \"0600\"}\n",
        check_changed: 1,
        changed: 1,
        changed_again: 1,
        state: "stat -c '%a %s' \"$ROOT/touched\"",
        expect: "600 0\n",
        ..CASE
    }
    .exercise(|p| p);
}

#[test]
fn lineinfile_replaces_inserts_removes_and_creates() {
    Case {
        name: "lineinfile",
        setup: "printf 'port=80\\n#debug=true\\nname=x\\n' > \"$ROOT/app.ini\"; chown deploy: \"$ROOT/app.ini\"",
        tasks: r#"    - lineinfile: {path: "{{ root }}/app.ini", regexp: '^port=', line: port=8080}
    - lineinfile: {path: "{{ root }}/app.ini", line: debug=false, insertafter: '^#debug'}
    - lineinfile: {path: "{{ root }}/app.ini", regexp: '^name=', state: absent}
    - lineinfile: {path: "{{ root }}/new.ini", line: a=1, create: true, mode: "0600"}
"#,
        check_changed: 4,
        changed: 4,
        state: "cat \"$ROOT/app.ini\"; stat -c %a \"$ROOT/new.ini\" && cat \"$ROOT/new.ini\"; true",
        expect: "port=8080\n#debug=true\ndebug=false\n600\na=1\n",
        ..CASE
    }
    .exercise(|p| p);
}

#[test]
fn blockinfile_inserts_and_removes_blocks() {
    Case {
        name: "blockinfile",
        setup: "printf 'a\\n# BEGIN OLD\\nx\\n# END OLD\\nb\\n' > \"$ROOT/f\"; chown deploy: \"$ROOT/f\"",
        tasks: r##"    - blockinfile: {path: "{{ root }}/f", block: "one\ntwo", insertafter: '^a$'}
    - blockinfile: {path: "{{ root }}/f", marker: "# {mark} OLD", state: absent}
"##,
        check_changed: 2,
        changed: 2,
        state: "cat \"$ROOT/f\"",
        expect: "a\n# BEGIN ANSIBLE MANAGED BLOCK\none\ntwo\n# END ANSIBLE MANAGED BLOCK\nb\n",
        ..CASE
    }
    .exercise(|p| p);
}

#[test]
fn stat_slurp_and_fetch_read_files_and_fetch_lands_locally() {
    let case = Case {
        name: "stat_slurp_fetch",
        setup: "printf 'data\\n' > \"$ROOT/f\"; chmod 0604 \"$ROOT/f\"",
        tasks: r#"    - name: stat
      stat: {path: "{{ root }}/f"}
    - name: slurp
      slurp: {src: "{{ root }}/f"}
    - name: fetch
      fetch: {src: "{{ root }}/f", dest: fetched}
"#,
        check_changed: 1,
        changed: 1,
        state: "cat \"$ROOT/f\"",
        expect: "data\n",
        ..CASE
    };
    let Some(runs) = case.exercise(|p| p) else {
        return;
    };
    for host in fleet().expect("a fleet").app_hosts() {
        let stat = &runs.first.result(&host, "stat")["stat"];
        assert_eq!(
            (&stat["exists"], &stat["mode"], &stat["size"]),
            (&true.into(), &"0604".into(), &5.into()),
            "{stat}"
        );
        assert_eq!(runs.first.result(&host, "slurp")["content"], "ZGF0YQo=");
        let fetched = runs.project.join(&format!(
            "fetched/{host}/tmp/modules-fleet/stat_slurp_fetch/f"
        ));
        assert_eq!(
            std::fs::read_to_string(&fetched).ok().as_deref(),
            Some("data\n")
        );
    }
}

#[test]
fn unarchive_unpacks_a_local_tarball_once() {
    Case {
        name: "unarchive",
        setup: "mkdir \"$ROOT/out\" && chown deploy: \"$ROOT/out\"",
        tasks: "    - unarchive: {src: files/bundle.tar.gz, dest: \"{{ root }}/out\"}\n",
        files: &[
            ("bundle/a.txt", "alpha\n"),
            ("bundle/b/c.txt", "gamma\n"),
        ],
        check_changed: 1,
        changed: 1,
        state: "cd \"$ROOT/out\" && find . -type f ! -name '.deployer-unarchive*' | sort; cat bundle/b/c.txt; true",
        expect: "./bundle/a.txt\n./bundle/b/c.txt\ngamma\n",
        ..CASE
    }
    .exercise(|p| {
        std::fs::create_dir_all(p.join("files")).expect("a files folder");
        let tar = Command::new("tar")
            .args(["czf", "files/bundle.tar.gz", "bundle"])
            .current_dir(p.join(""))
            .status()
            .expect("tar runs");
        assert!(tar.success());
        p
    });
}

#[test]
fn unarchive_unpacks_zips_and_archives_already_on_the_host_once() {
    Case {
        name: "unarchive_more",
        setup: "cd \"$ROOT\" && mkdir zip remote legacy src && echo remote > src/r.txt && \
                tar czf remote.tgz -C src r.txt && chown -R deploy: .",
        tasks: r#"    - unarchive: {src: files/bundle.zip, dest: "{{ root }}/zip"}
    - unarchive: {src: "{{ root }}/remote.tgz", dest: "{{ root }}/remote", remote_src: true, creates: "{{ root }}/remote/r.txt"}
    - unarchive: {src: "{{ root }}/remote.tgz", dest: "{{ root }}/legacy", copy: false}
"#,
        check_changed: 3,
        changed: 3,
        state: "cd \"$ROOT\" && cat zip/bundle/a.txt remote/r.txt legacy/r.txt",
        expect: "alpha\nremote\nremote\n",
        ..CASE
    }
    .exercise(|p| {
        let p = p.file("bundle/a.txt", "alpha\n");
        std::fs::create_dir_all(p.join("files")).expect("a files folder");
        let zip = Command::new("python3")
            .args(["-m", "zipfile", "-c", "files/bundle.zip", "bundle"])
            .current_dir(p.join(""))
            .status()
            .expect("python3 runs");
        assert!(zip.success());
        p
    });
}

#[test]
fn copy_keeps_a_backup_and_leaves_existing_files_alone_without_force() {
    Case {
        name: "copy_more",
        setup: "cd \"$ROOT\" && echo old > backed.conf && echo mine > kept.conf && chown deploy: *",
        tasks: r#"    - copy: {content: "new\n", dest: "{{ root }}/backed.conf", backup: true}
    - copy: {content: "theirs\n", dest: "{{ root }}/kept.conf", force: false}
    - copy: {src: files/tree/, dest: "{{ root }}/tree/", directory_mode: "0750"}
"#,
        files: &[("files/tree/sub/f.txt", "f\n")],
        check_changed: 2,
        changed: 2,
        state: "cd \"$ROOT\" && cat backed.conf kept.conf backed.conf.*~ && ls backed.conf.*~ | wc -l && \
                stat -c '%n %a' tree/sub && cat tree/sub/f.txt",
        expect: "new\nmine\nold\n1\ntree/sub 750\nf\n",
        ..CASE
    }
    .exercise(|p| p);
}

#[test]
fn raw_script_and_the_control_modules_run_over_ssh() {
    Case {
        name: "raw_script",
        all_hosts: false,
        tasks: r#"    - ping:
    - raw: echo raw-{{ inventory_hostname }} > {{ root }}/raw.txt
    - script: files/mark.sh {{ root }}
      args: {creates: "{{ root }}/script.txt"}
    - set_fact: {greeting: "hi {{ inventory_hostname }}"}
    - assert: {that: ["greeting == 'hi app1'"]}
    - debug: {msg: "{{ greeting }}"}
    - fail: {msg: never}
      when: greeting != 'hi app1'
    - meta: noop
"#,
        files: &[(
            "files/mark.sh",
            "#!/bin/sh\nset -eu\necho \"script ran as $(id -un) in $1\" > \"$1/script.txt\"\n",
        )],
        // In check mode `script` with `creates` reports the change it would make, as in Ansible;
        // `raw` is skipped.
        check_changed: 1,
        changed: 2,
        // `raw` cannot know whether it would change anything: changed on every run, as in Ansible.
        changed_again: 1,
        state: "cat \"$ROOT/raw.txt\" \"$ROOT/script.txt\"",
        expect: "raw-{host}\nscript ran as deploy in {root}\n",
        ..CASE
    }
    .exercise(|p| p);
}

/// Shell that serves `$ROOT/www` (holding `p.txt`) over HTTP on the host's own loopback, port
/// `$port`, until the teardown kills it.
macro_rules! http_server {
    ($port:literal) => {
        concat!(
            "PORT=", $port, "\n",
            "mkdir \"$ROOT/www\" && printf 'payload\\n' > \"$ROOT/www/p.txt\" && cd \"$ROOT/www\" && ",
            "(setsid python3 -m http.server \"$PORT\" --bind 127.0.0.1 >/dev/null 2>&1 & ",
            "echo $! > \"$ROOT/server.pid\") && for i in $(seq 100); do ",
            "curl -sf \"http://127.0.0.1:$PORT/p.txt\" >/dev/null && exit 0; sleep 0.1; done; exit 1"
        )
    };
}

/// Stops what [`http_server!`] started (if it still runs: a stale server left by an earlier,
/// failed run may be the one that answered).
const STOP_SERVER: &str = "kill $(cat \"$ROOT/server.pid\") 2>/dev/null; true";

#[test]
fn get_url_downloads_once_with_checksum_and_mode() {
    Case {
        name: "get_url",
        setup: http_server!("18741"),
        tasks: r#"    - get_url:
        url: http://127.0.0.1:18741/p.txt
        dest: "{{ root }}/dl.txt"
        mode: "0600"
        checksum: sha256:d4e4877bac978b7952f0d544fc52ebff5411d351d129f1f056fa43f11da9af2b
"#,
        check_changed: 1,
        changed: 1,
        state: "stat -c %a \"$ROOT/dl.txt\" && cat \"$ROOT/dl.txt\"; true",
        expect: "600\npayload\n",
        teardown: STOP_SERVER,
        ..CASE
    }
    .exercise(|p| p);
}

#[test]
fn uri_reads_status_and_content_and_never_changes() {
    let case = Case {
        name: "uri",
        all_hosts: false,
        setup: http_server!("18742"),
        tasks: r#"    - name: page
      uri: {url: "http://127.0.0.1:18742/p.txt", return_content: true}
    - name: missing
      uri: {url: "http://127.0.0.1:18742/missing", status_code: 404}
"#,
        teardown: STOP_SERVER,
        ..CASE
    };
    let Some(runs) = case.exercise(|p| p) else {
        return;
    };
    let page = runs.first.result("app1", "page");
    assert_eq!(
        (&page["status"], &page["content"]),
        (&200.into(), &"payload\n".into())
    );
    assert_eq!(runs.first.result("app1", "missing")["status"], 404);
}

#[test]
fn systemd_and_service_start_and_enable_units() {
    if systemd_fleet("the systemd/service fleet case").is_none() {
        return;
    }
    Case {
        name: "systemd",
        setup: "for u in mf-one mf-two; do systemctl disable --now $u 2>/dev/null; \
                printf '[Unit]\\nDescription=%s\\n[Service]\\nExecStart=/bin/sleep infinity\\n\
                [Install]\\nWantedBy=multi-user.target\\n' $u > /etc/systemd/system/$u.service; done; \
                systemctl daemon-reload",
        tasks: r#"    - systemd: {name: mf-one, state: started, enabled: true, daemon_reload: true}
      become: true
    - service: {name: mf-two, state: started}
      become: true
"#,
        check_changed: 2,
        changed: 2,
        state: "systemctl is-active mf-one mf-two; systemctl is-enabled mf-one; true",
        expect: "active\nactive\nenabled\n",
        teardown: "systemctl disable --now mf-one mf-two; rm /etc/systemd/system/mf-one.service \
                   /etc/systemd/system/mf-two.service; systemctl daemon-reload",
        ..CASE
    }
    .exercise(|p| p);
}

/// Installed and missing packages are left alone without any repository at all.
#[test]
fn apt_leaves_installed_and_absent_packages_alone_offline() {
    Case {
        name: "apt",
        all_hosts: false,
        tasks: r#"    - apt: {name: coreutils, state: present}
      become: true
    - apt: {name: [sl], state: absent}
      become: true
    - package: {name: coreutils}
      become: true
"#,
        state: "dpkg-query -W -f='${Status}\\n' coreutils; dpkg-query -W sl >/dev/null 2>&1 || echo no sl",
        expect: "install ok installed\nno sl\n",
        ..CASE
    }
    .exercise(|p| p);
}

/// Shell functions for the apt cases. The fleet has no network, so each case serves its own
/// packages from a local repository on the host:
///
/// - `deb PKG VERSION` builds `$ROOT/PKG_VERSION_all.deb`, holding `/usr/share/PKG/version` and
///   the configuration file `/etc/PKG.conf` (which a removal keeps and a purge deletes);
/// - `publish PKG VERSION` makes that file the only one of the flat repository
///   `/srv/debrepo-PKG` (a hand-written `Packages` index, no `Release`), adds the repository as a
///   trusted apt source, and makes apt give up on the unreachable Debian mirror at once (instead
///   of after a minute of DNS retries);
/// - `update` refreshes apt's lists; `install PKG VERSION` installs the file with `dpkg -i`;
/// - `unpublish PKG` purges the package and removes its repository, source and lists.
macro_rules! deb_repo {
    () => {
        r#"deb() {
  d="$ROOT/build/$1-$2"
  mkdir -p "$d/DEBIAN" "$d/usr/share/$1" "$d/etc" || return 1
  printf 'Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: deployer tests <root@localhost>\nDescription: deployer fleet test package\n' "$1" "$2" > "$d/DEBIAN/control"
  echo "$2" > "$d/usr/share/$1/version"
  echo "$2" > "$d/etc/$1.conf" && echo "/etc/$1.conf" > "$d/DEBIAN/conffiles"
  dpkg-deb --root-owner-group --build "$d" "$ROOT/$1_$2_all.deb" >/dev/null && rm -rf "$ROOT/build"
}
publish() {
  r="/srv/debrepo-$1" f="$1_$2_all.deb"
  rm -rf "$r" && mkdir -p "$r" && cp "$ROOT/$f" "$r/" || return 1
  { dpkg-deb -f "$r/$f"; printf 'Filename: ./%s\nSize: %s\nSHA256: %s\n' "$f" "$(stat -c %s "$r/$f")" "$(sha256sum < "$r/$f" | cut -d' ' -f1)"; } > "$r/Packages"
  echo "deb [trusted=yes] file:$r ./" > "/etc/apt/sources.list.d/$1.list"
  printf 'Acquire::Retries "0";\nAcquire::http::Proxy "http://127.0.0.1:9";\n' > /etc/apt/apt.conf.d/99deployer-tests-offline
}
update() { apt-get -q update >/dev/null; }
install() { dpkg -i "$ROOT/$1_$2_all.deb" >/dev/null; }
unpublish() {
  dpkg --purge "$1" >/dev/null
  rm -rf "/srv/debrepo-$1" "/etc/apt/sources.list.d/$1.list" /var/lib/apt/lists/_srv_debrepo-"$1"_* \
    /etc/apt/apt.conf.d/99deployer-tests-offline
}
set -e
"#
    };
}

/// Shell that prints dpkg's view of the package (`ii VERSION`, `rc VERSION` once removed, nothing
/// once purged) and the version file it installs.
macro_rules! deb_state {
    ($pkg:literal) => {
        concat!(
            "dpkg-query -W -f='${db:Status-Abbrev}${Version}\\n' ",
            $pkg,
            " 2>/dev/null; ",
            "cat /usr/share/",
            $pkg,
            "/version 2>/dev/null; true"
        )
    };
}

/// The apt cases share the hosts' dpkg lock and apt lists (and the offline apt setting), so they
/// run one at a time.
fn apt_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

#[test]
fn apt_installs_from_a_repository_after_updating_the_cache() {
    let _apt = apt_lock();
    Case {
        name: "apt_present",
        all_hosts: false,
        setup: concat!(
            deb_repo!(),
            "deb deployer-probe-present 1.0; publish deployer-probe-present 1.0"
        ),
        tasks: r#"    - apt: {name: deployer-probe-present, state: present, update_cache: true}
      become: true
"#,
        check_changed: 1,
        changed: 1,
        state: deb_state!("deployer-probe-present"),
        expect: "ii 1.0\n1.0\n",
        teardown: concat!(deb_repo!(), "unpublish deployer-probe-present"),
        ..CASE
    }
    .exercise(|p| p);
}

#[test]
fn apt_latest_upgrades_to_the_published_version() {
    let _apt = apt_lock();
    Case {
        name: "apt_latest",
        all_hosts: false,
        setup: concat!(
            deb_repo!(),
            "deb deployer-probe-latest 1.0; deb deployer-probe-latest 1.1; \
             install deployer-probe-latest 1.0; publish deployer-probe-latest 1.1; update"
        ),
        tasks: r#"    - apt: {name: deployer-probe-latest, state: latest, update_cache: true, cache_valid_time: 3600}
      become: true
"#,
        check_changed: 1,
        changed: 1,
        state: deb_state!("deployer-probe-latest"),
        expect: "ii 1.1\n1.1\n",
        teardown: concat!(deb_repo!(), "unpublish deployer-probe-latest"),
        ..CASE
    }
    .exercise(|p| p);
}

#[test]
fn apt_upgrade_upgrades_installed_packages_once() {
    let _apt = apt_lock();
    Case {
        name: "apt_upgrade",
        all_hosts: false,
        setup: concat!(
            deb_repo!(),
            "deb deployer-probe-upgrade 1.0; deb deployer-probe-upgrade 1.1; \
             install deployer-probe-upgrade 1.0; publish deployer-probe-upgrade 1.1; update"
        ),
        tasks: r#"    - apt: {upgrade: dist}
      become: true
"#,
        check_changed: 1,
        changed: 1,
        state: deb_state!("deployer-probe-upgrade"),
        expect: "ii 1.1\n1.1\n",
        teardown: concat!(deb_repo!(), "unpublish deployer-probe-upgrade"),
        ..CASE
    }
    .exercise(|p| p);
}

#[test]
fn apt_absent_purges_an_installed_package() {
    let _apt = apt_lock();
    Case {
        name: "apt_absent",
        all_hosts: false,
        setup: concat!(
            deb_repo!(),
            "deb deployer-probe-absent 1.0; install deployer-probe-absent 1.0"
        ),
        tasks: r#"    - apt: {name: deployer-probe-absent, state: absent, purge: true}
      become: true
"#,
        check_changed: 1,
        changed: 1,
        state: deb_state!("deployer-probe-absent"),
        expect: "",
        teardown: concat!(deb_repo!(), "unpublish deployer-probe-absent"),
        ..CASE
    }
    .exercise(|p| p);
}

#[test]
fn package_installs_and_removes_through_apt() {
    let _apt = apt_lock();
    Case {
        name: "package",
        all_hosts: false,
        setup: concat!(
            deb_repo!(),
            "deb deployer-probe-package 1.0; publish deployer-probe-package 1.0; update; \
             deb deployer-probe-unwanted 1.0; install deployer-probe-unwanted 1.0"
        ),
        tasks: r#"    - package: {name: deployer-probe-package}
      become: true
    - package: {name: deployer-probe-unwanted, state: absent}
      become: true
"#,
        check_changed: 2,
        changed: 2,
        state: concat!(
            deb_state!("deployer-probe-package"),
            "; ",
            deb_state!("deployer-probe-unwanted")
        ),
        expect: "ii 1.0\n1.0\nrc 1.0\n",
        teardown: concat!(
            deb_repo!(),
            "unpublish deployer-probe-package; unpublish deployer-probe-unwanted"
        ),
        ..CASE
    }
    .exercise(|p| p);
}

#[test]
fn apt_deb_installs_a_file_on_the_host_unless_its_version_is_installed() {
    let _apt = apt_lock();
    Case {
        name: "apt_deb",
        all_hosts: false,
        setup: concat!(
            deb_repo!(),
            "deb deployer-probe-file 1.0; \
             deb deployer-probe-newer 1.0; deb deployer-probe-newer 1.1; install deployer-probe-newer 1.0"
        ),
        tasks: r#"    - apt: {deb: "{{ root }}/deployer-probe-file_1.0_all.deb"}
      become: true
    - apt: {deb: "{{ root }}/deployer-probe-newer_1.1_all.deb"}
      become: true
"#,
        check_changed: 2,
        changed: 2,
        state: concat!(
            deb_state!("deployer-probe-file"),
            "; ",
            deb_state!("deployer-probe-newer")
        ),
        expect: "ii 1.0\n1.0\nii 1.1\n1.1\n",
        teardown: concat!(
            deb_repo!(),
            "unpublish deployer-probe-file; unpublish deployer-probe-newer"
        ),
        ..CASE
    }
    .exercise(|p| p);
}

/// Like Ansible's, the apt module does not raise privileges by itself: without `become`,
/// `apt-get` cannot take dpkg's lock and the task fails saying so.
#[test]
fn apt_without_become_fails_asking_for_root() {
    let Some(fleet) = fleet() else { return };
    let project = fleet.project(
        "- hosts: app1\n  gather_facts: false\n  tasks:\n\
         \x20   - name: install\n      apt: {name: deployer-probe-unprivileged}\n",
    );
    let out = project.run(&["run", "site.yml", "-i", "inv.yml", "--format", "json"]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.recap_counts()["app1"]["failed"], 1);
    let msg = out.result("app1", "install")["msg"].to_string();
    assert!(msg.contains("are you root?"), "{msg}");
}

#[test]
fn user_and_group_are_created_and_removed() {
    Case {
        name: "user",
        setup: "userdel -r mf-user 2>/dev/null; userdel -r mf-old 2>/dev/null; groupdel mf-group 2>/dev/null; \
                useradd mf-old",
        tasks: r#"    - group: {name: mf-group, gid: 2345}
      become: true
    - user: {name: mf-user, uid: 2346, group: mf-group, groups: [users], shell: /bin/sh, home: "{{ root }}/home", comment: Modules Fleet}
      become: true
    - user: {name: mf-old, state: absent}
      become: true
"#,
        check_changed: 3,
        changed: 3,
        state: "getent group mf-group | cut -d: -f1,3; getent passwd mf-user; id -Gn mf-user; \
                stat -c %U \"$ROOT/home\"; getent passwd mf-old; true",
        expect: "mf-group:2345\nmf-user:x:2346:2345:Modules Fleet:{root}/home:/bin/sh\n\
                 mf-group users\nmf-user\n",
        teardown: "userdel -r mf-user",
        ..CASE
    }
    .exercise(|p| p);
}

#[test]
fn wait_for_ports_and_files_without_changing_anything() {
    Case {
        name: "wait_for",
        setup: "echo ready=yes > \"$ROOT/flag\"; \
                (setsid python3 -c 'import socket, time; s = socket.socket(); \
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((\"127.0.0.1\", 18743)); \
                s.listen(); time.sleep(600)' >/dev/null 2>&1 & echo $! > \"$ROOT/server.pid\"); \
                for i in $(seq 100); do ss -ltn | grep -q ':18743 ' && exit 0; sleep 0.1; done; exit 1",
        tasks: r#"    - wait_for: {port: 18743, timeout: 10}
    - wait_for: {path: "{{ root }}/flag", search_regex: "ready=yes", timeout: 10}
    - wait_for: {port: 18744, state: stopped, timeout: 5}
"#,
        state: "cat \"$ROOT/flag\"",
        expect: "ready=yes\n",
        teardown: STOP_SERVER,
        ..CASE
    }
    .exercise(|p| p);
}

#[test]
fn command_and_shell_honour_creates_removes_chdir_stdin_and_become() {
    Case {
        name: "command",
        setup: "touch \"$ROOT/old\" && mkdir \"$ROOT/work\" && chown -R deploy: \"$ROOT\"",
        tasks: r#"    - command: touch made
      args: {chdir: "{{ root }}/work", creates: "{{ root }}/work/made"}
    - shell: cat > "{{ root }}/in.txt"
      args: {stdin: hello, creates: "{{ root }}/in.txt"}
    - command: rm "{{ root }}/old"
      args: {removes: "{{ root }}/old"}
    - command: id -un
      become: true
      check_mode: false
      changed_when: false
      register: who
    - assert: {that: "who.stdout == 'root'"}
"#,
        check_changed: 3,
        changed: 3,
        state: "ls \"$ROOT/work\"; cat \"$ROOT/in.txt\"; test -e \"$ROOT/old\" && echo old-present || echo old-gone",
        expect: "made\nhello\nold-gone\n",
        ..CASE
    }
    .exercise(|p| p);
}

#[test]
fn creates_and_removes_are_glob_patterns_read_in_chdir() {
    Case {
        name: "command_glob",
        setup: "mkdir \"$ROOT/x y\" && touch \"$ROOT/x y/a.done\" \"$ROOT/x y/a.old\" && chown -R deploy: \"$ROOT\"",
        tasks: r#"    - command: touch "{{ root }}/never"
      args: {creates: "{{ root }}/x y/*.done"}
    - shell: touch "{{ root }}/x y/b.new"
      args: {creates: "{{ root }}/x y/*.new"}
    - command: rm "{{ root }}/x y/a.old"
      args: {removes: "{{ root }}/x y/[a-z].old"}
    - command: touch c.rel
      args: {chdir: "{{ root }}/x y", creates: "?.rel"}
"#,
        check_changed: 3,
        changed: 3,
        state: "ls \"$ROOT\" \"$ROOT/x y\"",
        expect: "{root}:\nx y\n\n{root}/x y:\na.done\nb.new\nc.rel\n",
        ..CASE
    }
    .exercise(|p| p);
}

/// `--diff` over SSH: content changes as unified diffs, attribute changes as `mode:`/`owner:`
/// lines, the same in check mode (which leaves the files alone) as in a real run.
#[test]
fn diff_shows_content_mode_and_owner_changes_over_ssh() {
    let Some(fleet) = fleet() else { return };
    let root = "/tmp/modules-fleet/diff";
    let setup = format!(
        "rm -rf {root} && mkdir -p {root} && cd {root} && printf 'a\\nb\\n' > c.txt && \
         printf 'x=1\\n' > t.txt && printf 'o\\n' > o.txt && chmod 0644 *.txt && chown -R deploy: {root}"
    );
    assert_eq!(fleet.exec("app1", &setup).0, 0);
    let project = fleet
        .project(
            "- hosts: app1\n  gather_facts: false\n  tasks:\n\
             \x20   - copy: {content: \"a\\nc\\n\", dest: \"{{ root }}/c.txt\", mode: \"0600\"}\n\
             \x20   - template: {src: t.j2, dest: \"{{ root }}/t.txt\"}\n\
             \x20   - copy: {content: \"o\\n\", dest: \"{{ root }}/o.txt\", owner: nobody}\n\
             \x20     become: true\n",
        )
        .file("templates/t.j2", "x={{ 1 + 1 }}\n");
    let state = "cd /tmp/modules-fleet/diff && stat -c '%n %a %U' *.txt && cat *.txt";
    let before = fleet.exec("app1", state);
    let root_var = format!("root={root}");
    for (what, extra) in [("--check", Some("--check")), ("run", None)] {
        let mut args = vec![
            "run", "site.yml", "-i", "inv.yml", "--diff", "-e", &root_var,
        ];
        args.extend(extra);
        let out = project.run(&args);
        assert_eq!(out.code, 0, "{what}:\n{}\n{}", out.stdout, out.stderr);
        for expected in [
            format!("--- before: {root}/c.txt\n+++ after: {root}/c.txt\n"),
            " a\n-b\n+c\n".into(),
            format!(
                "--- before: {root}/c.txt (attributes)\n+++ after: {root}/c.txt (attributes)\n"
            ),
            "-mode: 0644\n+mode: 0600\n".into(),
            format!("--- before: {root}/t.txt\n"),
            "-x=1\n+x=2\n".into(),
            "-owner: deploy\n+owner: nobody\n".into(),
        ] {
            assert!(
                out.stdout.contains(&expected),
                "{what}: no {expected:?} in:\n{}",
                out.stdout
            );
        }
        if extra.is_some() {
            assert_eq!(
                fleet.exec("app1", state),
                before,
                "--check --diff changed files"
            );
        }
    }
    assert_eq!(
        fleet.exec("app1", state).1,
        "c.txt 600 deploy\no.txt 644 nobody\nt.txt 644 deploy\na\nc\no\nx=2\n"
    );
}
