use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::json;

use super::*;
use crate::modules::testing::{LocalRun, args, run_local};

fn text(path: &Path) -> String {
    fs::read_to_string(path).unwrap()
}

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[tokio::test]
async fn copies_content_once() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("motd $(id)");
    let task = || args(json!({"content": "hello\n", "dest": dest, "mode": "u=rw,g=r,o="}));
    let checked = LocalRun::check().run(&Copy, task()).await;
    assert!(checked.changed && !dest.exists());
    let first = run_local(&Copy, task()).await;
    assert!(first.changed && !first.failed, "{first:?}");
    assert_eq!(text(&dest), "hello\n");
    assert_eq!(mode_of(&dest), 0o640);
    assert_eq!(
        first.data["checksum"],
        "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
    );
    assert_eq!(
        (first.data["size"].clone(), first.data["mode"].clone()),
        (json!(6), json!("0640"))
    );
    let second = run_local(&Copy, task()).await;
    assert!(!second.changed && !second.failed);
}

#[tokio::test]
async fn shows_a_content_diff_in_check_mode() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("conf");
    fs::write(&dest, "port=1\n").unwrap();
    let task = args(json!({"content": "port=2\n", "dest": dest}));
    let result = LocalRun::check().with_diff().run(&Copy, task).await;
    assert!(result.changed);
    assert_eq!(result.diffs.len(), 1);
    assert_eq!(result.diffs[0].before, "port=1\n");
    assert_eq!(result.diffs[0].after, "port=2\n");
    assert_eq!(text(&dest), "port=1\n");
}

#[tokio::test]
async fn finds_src_in_files_first_and_copies_into_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (play, files) = (dir.path().join("play"), dir.path().join("play/files"));
    fs::create_dir_all(&files).unwrap();
    fs::write(play.join("app.conf"), "wrong\n").unwrap();
    fs::write(files.join("app.conf"), "right\n").unwrap();
    let dest = dir.path().join("etc");
    fs::create_dir(&dest).unwrap();
    let run = LocalRun::default().searching(&play).searching(&files);
    let result = run
        .run(&Copy, args(json!({"src": "app.conf", "dest": dest})))
        .await;
    assert!(result.changed, "{result:?}");
    assert_eq!(text(&dest.join("app.conf")), "right\n");
    assert_eq!(result.data["dest"], json!(dest.join("app.conf")));
    let missing = run
        .run(&Copy, args(json!({"src": "nope.conf", "dest": dest})))
        .await;
    assert!(missing.failed);
    assert!(
        missing
            .msg
            .unwrap()
            .contains("could not find src `nope.conf`")
    );
}

#[tokio::test]
async fn a_trailing_slash_makes_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("a.txt");
    fs::write(&src, "a\n").unwrap();
    let dest = format!("{}/new dir/", dir.path().display());
    let task = || args(json!({"src": src, "dest": dest, "directory_mode": "0750"}));
    assert!(LocalRun::check().run(&Copy, task()).await.changed);
    assert!(!Path::new(&dest).exists());
    assert!(run_local(&Copy, task()).await.changed);
    assert_eq!(text(&Path::new(&dest).join("a.txt")), "a\n");
    assert_eq!(mode_of(Path::new(&dest)), 0o750);
    assert!(!run_local(&Copy, task()).await.changed);
}

#[tokio::test]
async fn force_off_keeps_an_existing_file_and_content_refuses_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("keep");
    fs::write(&dest, "mine\n").unwrap();
    let kept = run_local(
        &Copy,
        args(json!({"content": "x", "dest": dest, "force": false})),
    )
    .await;
    assert!(!kept.changed && !kept.failed);
    assert_eq!(text(&dest), "mine\n");
    let refused = run_local(&Copy, args(json!({"content": "x", "dest": dir.path()}))).await;
    assert!(refused.failed);
    assert!(refused.msg.unwrap().contains("content with a directory"));
}

fn make_tree(root: &Path) {
    fs::create_dir_all(root.join("sub dir/-deep")).unwrap();
    fs::write(root.join("top.txt"), "top\n").unwrap();
    fs::write(root.join("sub dir/it's.txt"), "quote\n").unwrap();
    fs::write(root.join("sub dir/-deep/$(x)"), "deep\n").unwrap();
}

fn assert_tree(root: &Path) {
    assert_eq!(text(&root.join("top.txt")), "top\n");
    assert_eq!(text(&root.join("sub dir/it's.txt")), "quote\n");
    assert_eq!(text(&root.join("sub dir/-deep/$(x)")), "deep\n");
}

#[tokio::test]
async fn copies_a_directory_with_and_without_trailing_slash() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("site");
    make_tree(&src);
    let dest = dir.path().join("out");
    let task = |src: String| args(json!({"src": src, "dest": dest, "mode": "0600"}));
    let whole = src.display().to_string();
    let checked = LocalRun::check().run(&Copy, task(whole.clone())).await;
    assert!(checked.changed && !dest.exists(), "{checked:?}");
    let first = run_local(&Copy, task(whole.clone())).await;
    assert!(first.changed && !first.failed, "{first:?}");
    assert_tree(&dest.join("site"));
    assert_eq!(mode_of(&dest.join("site/top.txt")), 0o600);
    assert!(!run_local(&Copy, task(whole)).await.changed);
    let contents = run_local(&Copy, task(format!("{}/", src.display()))).await;
    assert!(contents.changed);
    assert_tree(&dest);
    fs::write(src.join("top.txt"), "changed\n").unwrap();
    let again = LocalRun::default()
        .with_diff()
        .run(&Copy, task(format!("{}/", src.display())))
        .await;
    assert!(again.changed);
    assert_eq!(again.diffs[0].after, "changed\n");
}

#[tokio::test]
async fn directory_mode_goes_to_every_directory_the_copy_makes() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("site");
    make_tree(&src);
    let dest = dir.path().join("a/b");
    let task =
        args(json!({"src": src, "dest": format!("{}/", dest.display()), "directory_mode": "0750"}));
    assert!(run_local(&Copy, task).await.changed);
    assert_tree(&dest.join("site"));
    for made in ["a", "a/b", "a/b/site", "a/b/site/sub dir/-deep"] {
        assert_eq!(mode_of(&dir.path().join(made)), 0o750, "{made}");
    }
}

#[tokio::test]
async fn copies_on_the_host_with_remote_src() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("remote tree");
    make_tree(&src);
    let dest = dir.path().join("copied");
    let task =
        || args(json!({"src": format!("{}/", src.display()), "dest": dest, "remote_src": true}));
    assert!(run_local(&Copy, task()).await.changed);
    assert_tree(&dest);
    assert!(!run_local(&Copy, task()).await.changed);
    let file = dir.path().join("one.txt");
    let single = || args(json!({"src": src.join("top.txt"), "dest": file, "remote_src": true}));
    assert!(run_local(&Copy, single()).await.changed);
    assert_eq!(text(&file), "top\n");
    assert!(!run_local(&Copy, single()).await.changed);
}
