//! The argument → rsync command line mapping, the itemized output, and the paths of each side.
//! Runs over SSH are in tests/natives_fleet.rs.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::command::{Invocation, command_line, needs_rsh, remote_target};
use super::controller_path;
use super::outcome::read;

fn invocation() -> Invocation {
    Invocation {
        rsync: "/usr/bin/rsync".into(),
        src: "/tmp/synct/src/".into(),
        dest: "deploy@app1:/tmp/synced/".into(),
        rsync_path: None,
        rsh: Some("/usr/bin/deployer rsync-tunnel /tmp/s/socket".into()),
        check_mode: false,
    }
}

fn line(args: Value, run: &Invocation) -> String {
    command_line(args.as_object().unwrap(), run)
}

#[test]
fn the_command_line_is_ansibles_with_deployers_remote_shell() {
    // Ansible 12's cmd for the same task, its `ssh ...` remote shell replaced.
    assert_eq!(
        line(
            json!({"src": "src/", "dest": "/tmp/synced/", "delete": true, "rsync_opts": ["--exclude=*.log"]}),
            &invocation()
        ),
        "/usr/bin/rsync --delay-updates -F --compress --delete-after --archive \
         --rsh='/usr/bin/deployer rsync-tunnel /tmp/s/socket' --exclude=*.log \
         --out-format='<<CHANGED>>%i %n%L' /tmp/synct/src/ deploy@app1:/tmp/synced/"
    );
}

#[test]
fn archive_parts_are_turned_off_or_on_as_ansible_does() {
    let run = Invocation {
        rsh: None,
        check_mode: true,
        rsync_path: Some("sudo -u root rsync".into()),
        ..invocation()
    };
    let off = line(
        json!({"links": false, "owner": false, "group": true, "checksum": true, "compress": false,
               "delay_updates": false, "rsync_timeout": 30, "existing_only": true, "copy_links": true}),
        &run,
    );
    assert_eq!(
        off,
        "/usr/bin/rsync --timeout=30 --dry-run --existing --checksum --copy-links --archive \
         --no-links --no-owner --rsync-path='sudo -u root rsync' \
         --out-format='<<CHANGED>>%i %n%L' /tmp/synct/src/ deploy@app1:/tmp/synced/"
    );
    let on = line(
        json!({"archive": false, "recursive": true, "times": true, "perms": false, "dirs": true,
               "partial": true, "delay_updates": false, "compress": false}),
        &run,
    );
    assert!(
        on.starts_with("/usr/bin/rsync --dry-run --recursive --times --dirs --rsync-path="),
        "{on}"
    );
    assert!(on.contains(" --partial --out-format="), "{on}");
}

#[test]
fn a_remote_shell_in_rsync_opts_replaces_deployers() {
    let cmd = line(json!({"rsync_opts": ["--rsh=ssh -p 2222"]}), &invocation());
    assert!(!cmd.contains("rsync-tunnel"), "{cmd}");
    assert!(cmd.contains(" --rsh=ssh -p 2222 "), "{cmd}");
}

#[test]
fn link_dest_asks_for_hard_links_and_verbose_output() {
    let cmd = line(json!({"link_dest": ["/srv/previous"]}), &invocation());
    assert!(
        cmd.contains(" -H -vv --link-dest=/srv/previous --out-format="),
        "{cmd}"
    );
}

#[test]
fn remote_paths_name_the_user_and_host() {
    assert_eq!(
        remote_target("app1", "/srv", Some("deploy")),
        "deploy@app1:/srv"
    );
    assert_eq!(remote_target("app1", "/srv", None), "app1:/srv");
    assert_eq!(
        remote_target("fe80::1", "/srv", Some("u")),
        "[u@fe80::1]:/srv"
    );
    assert_eq!(
        remote_target("app1", "other:/srv", Some("u")),
        "u@other:/srv"
    );
    assert_eq!(
        remote_target("app1", "v@other:/srv", Some("u")),
        "v@other:/srv"
    );
    assert_eq!(
        remote_target("app1", "rsync://m/x", Some("u")),
        "rsync://m/x"
    );
    assert!(needs_rsh("/a", "u@h:/b"));
    assert!(!needs_rsh("/a", "/b"));
    assert!(!needs_rsh("rsync://m/x", "h:/b"));
}

#[test]
fn a_change_is_any_itemized_line() {
    let out = "<<CHANGED>>created directory /x\n<<CHANGED>>cd+++++++++ ./\n\
               <<CHANGED>><f+++++++++ a.txt\n<<CHANGED>>*deleting   old.txt\n";
    let read_out = read(out, false);
    assert!(read_out.changed);
    assert_eq!(
        read_out.stdout_lines,
        [
            "created directory /x",
            "cd+++++++++ ./",
            "<f+++++++++ a.txt",
            "*deleting   old.txt"
        ]
    );
    assert_eq!(read_out.msg, out.replace("<<CHANGED>>", ""));
    let quiet = read("", false);
    assert!(!quiet.changed);
    assert!(quiet.stdout_lines.is_empty());
    // With link_dest unchanged files are itemized with a leading `.`, as Ansible reads it.
    assert!(!read("<<CHANGED>>.f          a.txt\n", true).changed);
    assert!(read("<<CHANGED>>hf          a.txt\n", true).changed);
}

#[test]
fn controller_paths_are_found_under_files_or_beside_the_playbook() {
    let dir = tempfile::tempdir().unwrap();
    let play = dir.path().to_path_buf();
    std::fs::create_dir_all(play.join("files/site")).unwrap();
    let search: Vec<PathBuf> = vec![play.clone(), play.join("files"), play.join("templates")];
    let shown = |p: PathBuf| p.display().to_string();
    assert_eq!(
        controller_path(&search, "site/"),
        shown(play.join("files/site")) + "/"
    );
    assert_eq!(
        controller_path(&search, "pulled/app1"),
        shown(play.join("pulled/app1"))
    );
    assert_eq!(controller_path(&search, "/abs/x/"), "/abs/x/");
    assert_eq!(controller_path(&search, "h:/x"), "h:/x");
}
