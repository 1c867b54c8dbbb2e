use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use serde_json::json;

use super::*;
use crate::modules::mode::Mode;
use crate::modules::testing::{LocalRun, args, run_local};

fn at(kind: Kind, mode: u32) -> PathState {
    PathState {
        kind,
        mode,
        owner: "root".into(),
        group: "root".into(),
        ..PathState::absent()
    }
}

fn link_to(target: &str) -> PathState {
    PathState {
        link_target: Some(target.into()),
        ..at(Kind::Link, 0o777)
    }
}

fn request(state: Option<State>, mode: Option<&str>, src: Option<&str>, force: bool) -> Request {
    Request {
        path: "/srv/a b".into(),
        state,
        src: src.map(String::from),
        recurse: false,
        force,
        follow: true,
        attrs: Attrs {
            mode: mode.map(|m| Mode::parse(m).unwrap()),
            ..Attrs::default()
        },
    }
}

fn found(path: PathState, target: PathState, src: PathState) -> Found {
    Found {
        path,
        target,
        src,
        new_file_mode: 0o644,
        new_dir_mode: 0o755,
    }
}

#[test]
fn decides_from_the_probe() {
    use Kind::{Directory, File as Regular};
    let none = || PathState::absent();
    // (request, what was found, expected: changed, script, state, mode)
    type Row = (
        Request,
        Found,
        bool,
        &'static str,
        &'static str,
        Option<u32>,
    );
    let table: Vec<Row> = vec![
        (
            request(Some(State::Absent), None, None, false),
            found(none(), none(), none()),
            false,
            "",
            "absent",
            None,
        ),
        (
            request(Some(State::Absent), None, None, false),
            found(at(Regular, 0o644), at(Regular, 0o644), none()),
            true,
            "rm -rf -- '/srv/a b'\n",
            "absent",
            None,
        ),
        (
            request(None, Some("0600"), None, false),
            found(at(Regular, 0o644), at(Regular, 0o644), none()),
            true,
            "chmod -- 0600 '/srv/a b'\n",
            "file",
            Some(0o600),
        ),
        (
            request(Some(State::File), Some("u=rw,go=r"), None, false),
            found(at(Regular, 0o644), at(Regular, 0o644), none()),
            false,
            "",
            "file",
            Some(0o644),
        ),
        (
            request(Some(State::Directory), Some("0750"), None, false),
            found(none(), none(), none()),
            true,
            "for d in /srv '/srv/a b'; do\n  [ -d \"$d\" ] && continue\n  mkdir -- \"$d\"\n  chmod -- 0750 \"$d\"\ndone\n",
            "directory",
            Some(0o750),
        ),
        (
            request(Some(State::Directory), None, None, false),
            found(link_to("/data"), at(Directory, 0o755), none()),
            false,
            "",
            "directory",
            Some(0o755),
        ),
        (
            request(Some(State::Link), None, Some("/data"), false),
            found(link_to("/data"), at(Directory, 0o755), at(Directory, 0o755)),
            false,
            "",
            "link",
            None,
        ),
        (
            request(Some(State::Link), Some("0600"), Some("/data"), false),
            found(link_to("/old"), at(Directory, 0o755), at(Directory, 0o755)),
            true,
            "ln -sfn -- /data '/srv/a b'\n",
            "link",
            None,
        ),
        (
            request(Some(State::Link), None, Some("/data"), true),
            found(at(Regular, 0o644), at(Regular, 0o644), none()),
            true,
            "rm -f -- '/srv/a b'\nln -sfn -- /data '/srv/a b'\n",
            "link",
            None,
        ),
        (
            request(Some(State::Touch), None, None, false),
            found(none(), none(), none()),
            true,
            "touch -- '/srv/a b'\n",
            "file",
            Some(0o644),
        ),
        (
            request(Some(State::Touch), None, None, false),
            found(at(Regular, 0o600), at(Regular, 0o600), none()),
            true,
            "touch -c -- '/srv/a b'\n",
            "file",
            Some(0o600),
        ),
    ];
    for (request, found, changed, script, state, mode) in table {
        let plan = decide(&request, &found).unwrap();
        assert_eq!(
            (plan.changed, plan.script.as_str(), plan.state, plan.mode),
            (changed, script, state, mode),
            "{request:?} on {:?}",
            found.path.kind
        );
    }
}

#[test]
fn refuses_what_ansible_refuses() {
    let none = PathState::absent;
    let file = || at(Kind::File, 0o644);
    let dir = || at(Kind::Directory, 0o755);
    let table = [
        (
            request(Some(State::File), None, None, false),
            found(none(), none(), none()),
            "is absent",
        ),
        (
            request(Some(State::File), None, None, false),
            found(dir(), dir(), none()),
            "is a directory",
        ),
        (
            request(Some(State::Directory), None, None, false),
            found(file(), file(), none()),
            "already exists as a file",
        ),
        (
            request(Some(State::Link), None, None, false),
            found(none(), none(), none()),
            "src is required",
        ),
        (
            request(Some(State::Link), None, Some("/x"), false),
            found(none(), none(), none()),
            "force=yes",
        ),
        (
            request(Some(State::Link), None, Some("/x"), false),
            found(file(), file(), file()),
            "refusing to convert from file",
        ),
        (
            request(Some(State::Hard), None, Some("/x"), false),
            found(
                file(),
                file(),
                PathState {
                    inode: [9, 1, 0],
                    ..file()
                },
            ),
            "use force",
        ),
    ];
    for (request, found, message) in table {
        let err = decide(&request, &found).unwrap_err().to_string();
        assert!(err.contains(message), "{err} should mention {message}");
    }
}

fn mode_of(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

#[tokio::test]
async fn makes_directories_then_leaves_them() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("a'b/$(c)/-d");
    let task = || args(json!({"path": path, "state": "directory", "mode": "u=rwx,g=rx,o="}));
    let checked = LocalRun::check().with_diff().run(&File, task()).await;
    assert!(checked.changed && !tmp.path().join("a'b").exists());
    assert_eq!(checked.diffs[0].after, "state: directory\n");
    let first = run_local(&File, task()).await;
    assert!(first.changed && !first.failed, "{first:?}");
    assert_eq!(first.data["mode"], "0750");
    for dir in ["a'b", "a'b/$(c)", "a'b/$(c)/-d"] {
        assert_eq!(mode_of(&tmp.path().join(dir)), 0o750, "{dir}");
    }
    assert!(!run_local(&File, task()).await.changed);
}

#[tokio::test]
async fn recurse_sets_modes_below_only_when_needed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("tree");
    fs::create_dir_all(root.join("sub")).unwrap();
    fs::write(root.join("sub/f\nnew line"), "x").unwrap();
    fs::set_permissions(
        root.join("sub/f\nnew line"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let task =
        || args(json!({"path": root, "state": "directory", "recurse": true, "mode": "a+rX"}));
    assert!(LocalRun::check().run(&File, task()).await.changed);
    assert_eq!(mode_of(&root.join("sub/f\nnew line")), 0o600);
    assert!(run_local(&File, task()).await.changed);
    assert_eq!(mode_of(&root.join("sub/f\nnew line")), 0o644);
    assert!(!run_local(&File, task()).await.changed);
}

#[tokio::test]
async fn links_touches_and_removes() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("target file");
    let link = tmp.path().join("the link");
    let touch = || args(json!({"path": target, "state": "touch", "mode": "0600"}));
    assert!(run_local(&File, touch()).await.changed);
    assert_eq!(mode_of(&target), 0o600);
    assert!(
        run_local(&File, touch()).await.changed,
        "touch always changes"
    );
    let ln = || args(json!({"path": link, "state": "link", "src": target}));
    assert!(run_local(&File, ln()).await.changed);
    assert_eq!(fs::read_link(&link).unwrap(), target);
    assert!(!run_local(&File, ln()).await.changed);
    let hard = tmp.path().join("hard");
    let hl = || args(json!({"path": hard, "state": "hard", "src": target}));
    assert!(run_local(&File, hl()).await.changed);
    assert_eq!(
        fs::metadata(&hard).unwrap().ino(),
        fs::metadata(&target).unwrap().ino()
    );
    assert!(!run_local(&File, hl()).await.changed);
    let rm = || args(json!({"path": tmp.path().join("the link"), "state": "absent"}));
    assert!(LocalRun::check().run(&File, rm()).await.changed);
    assert!(link.symlink_metadata().is_ok(), "check mode keeps it");
    assert!(run_local(&File, rm()).await.changed);
    assert!(link.symlink_metadata().is_err() && target.exists());
    assert!(!run_local(&File, rm()).await.changed);
}

#[tokio::test]
async fn a_missing_file_fails_like_ansible() {
    let tmp = tempfile::tempdir().unwrap();
    let result = run_local(&File, args(json!({"path": tmp.path().join("nope")}))).await;
    assert!(result.failed);
    assert!(result.msg.unwrap().ends_with("is absent, cannot continue"));
}
