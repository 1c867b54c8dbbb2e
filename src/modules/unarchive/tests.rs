use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::json;

use super::*;
use crate::modules::testing::{LocalRun, args, run_local};

#[test]
fn picks_the_tool_by_name_or_magic() {
    assert_eq!(Format::of("app.tar.gz", b"\x1f\x8b"), Format::Tar);
    assert_eq!(Format::of("app.ZIP", b""), Format::Zip);
    assert_eq!(Format::of("download", b"PK\x03\x04"), Format::Zip);
}

#[test]
fn the_script_quotes_everything_it_is_given() {
    let archive = Content {
        source: Source::Remote("/tmp/a b.zip".into()),
        sha256: "abc".into(),
        size: 1,
    };
    let script = extract_script(
        &archive,
        Format::Zip,
        "/srv/$(x)",
        "/srv/$(x)/.m",
        "abc\n",
        &["-x".into(), "*.md".into()],
    );
    assert_eq!(
        script,
        "set -e\narchive='/tmp/a b.zip'\n\
         unzip -o -q -x '*.md' \"$archive\" -d '/srv/$(x)'\n\
         printf '%s' 'abc\n' > '/srv/$(x)/.m'\n"
    );
}

/// A gzipped tarball and a zip of a small tree, made with the system's tools.
fn archives(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let tree = dir.join("tree");
    fs::create_dir_all(tree.join("app/bin")).unwrap();
    fs::write(tree.join("app/bin/run me.sh"), "echo hi\n").unwrap();
    let tarball = dir.join("app 1.0.tar.gz");
    let zip = dir.join("app.zip");
    let ok = Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(&tree)
        .arg("app")
        .status()
        .unwrap();
    assert!(ok.success());
    let ok = Command::new("zip")
        .arg("-qr")
        .arg(&zip)
        .arg("app")
        .current_dir(&tree)
        .status()
        .unwrap();
    assert!(ok.success());
    (tarball, zip)
}

#[tokio::test]
async fn unpacks_a_local_tarball_once() {
    let dir = tempfile::tempdir().unwrap();
    let (tarball, _) = archives(dir.path());
    let dest = dir.path().join("dest 'x'");
    fs::create_dir(&dest).unwrap();
    let task = || args(json!({"src": tarball, "dest": dest}));
    let checked = LocalRun::check().run(&Unarchive, task()).await;
    assert!(
        checked.changed && fs::read_dir(&dest).unwrap().next().is_none(),
        "{checked:?}"
    );
    let first = run_local(&Unarchive, task()).await;
    assert!(first.changed && !first.failed, "{first:?}");
    assert_eq!(
        fs::read_to_string(dest.join("app/bin/run me.sh")).unwrap(),
        "echo hi\n"
    );
    assert!(!run_local(&Unarchive, task()).await.changed);
    let creates = args(json!({"src": tarball, "dest": dest, "creates": dest.join("app")}));
    let skipped = run_local(&Unarchive, creates).await;
    assert!(!skipped.changed && skipped.msg.unwrap().starts_with("skipped, since"));
}

#[tokio::test]
async fn unpacks_a_zip_already_on_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let (_, zip) = archives(dir.path());
    let dest = dir.path().join("out");
    fs::create_dir(&dest).unwrap();
    let task = || args(json!({"src": zip, "dest": dest, "remote_src": true}));
    let first = run_local(&Unarchive, task()).await;
    assert!(first.changed && !first.failed, "{first:?}");
    assert_eq!(first.data["handler"], "ZipArchive");
    assert!(dest.join("app/bin/run me.sh").exists());
    assert!(!run_local(&Unarchive, task()).await.changed);
    let missing = run_local(
        &Unarchive,
        args(json!({"src": zip, "dest": dir.path().join("nope")})),
    )
    .await;
    assert!(missing.failed && missing.msg.unwrap().contains("must be an existing dir"));
}

#[tokio::test]
async fn creates_that_does_not_exist_yet_lets_it_unpack() {
    let dir = tempfile::tempdir().unwrap();
    let (tarball, _) = archives(dir.path());
    let dest = dir.path().join("dest");
    fs::create_dir(&dest).unwrap();
    let task = || args(json!({"src": tarball, "dest": dest, "creates": dest.join("app/bin")}));
    let first = run_local(&Unarchive, task()).await;
    assert!(first.changed && !first.failed, "{first:?}");
    assert!(dest.join("app/bin/run me.sh").exists());
    let again = run_local(&Unarchive, task()).await;
    assert!(!again.changed && !again.failed);
    assert_eq!(
        again.msg.as_deref(),
        Some(format!("skipped, since {} exists", dest.join("app/bin").display()).as_str())
    );
}
