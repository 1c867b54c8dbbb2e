use std::os::unix::fs::PermissionsExt;

use serde_json::Value;

use super::*;
use crate::modules::mode::Mode;
use crate::modules::testing::local_context;
use crate::template::Templater;

/// Runs `sync_file` on the controller the way a module does: probe, then decide and apply.
async fn sync(dest: &Path, content: &Content, attrs: Attrs, flags: (bool, bool)) -> Synced {
    sync_with(
        dest,
        content,
        Placement {
            attrs,
            ..Placement::default()
        },
        flags,
    )
    .await
    .expect("sync works")
}

async fn sync_with(
    dest: &Path,
    content: &Content,
    placement: Placement<'_>,
    (check_mode, diff): (bool, bool),
) -> Result<Synced, FileError> {
    let (vars, templater) = (Value::Null, Templater::new());
    let ctx = ModuleContext {
        check_mode,
        diff,
        ..local_context(&vars, &templater)
    };
    let dest = dest.to_str().unwrap();
    ensure_file(&ctx, content, &Placement { dest, ..placement }).await
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".deployer-tmp"))
        .collect()
}

const NORMAL: (bool, bool) = (false, false);
const CHECK: (bool, bool) = (true, false);
const DIFF: (bool, bool) = (false, true);

#[tokio::test]
async fn writes_once_then_leaves_the_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("a file 'with' $(quotes)\nand a newline");
    let content = Content::bytes(b"one\n".to_vec());
    let mode = || Attrs {
        mode: Some(Mode::parse("0640").unwrap()),
        ..Attrs::default()
    };
    let checked = sync(&dest, &content, mode(), CHECK).await;
    assert!(
        checked.changed && !dest.exists(),
        "check mode writes nothing"
    );
    let first = sync(&dest, &content, mode(), NORMAL).await;
    assert!(first.changed);
    assert_eq!(std::fs::read(&dest).unwrap(), b"one\n");
    assert_eq!((first.mode, mode_of(&dest)), (0o640, 0o640));
    let second = sync(&dest, &content, mode(), NORMAL).await;
    assert!(!second.changed);
    assert!(leftovers(dir.path()).is_empty());
}

#[tokio::test]
async fn fixes_only_attributes_when_content_matches() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("-leading-dash");
    std::fs::write(&dest, "same\n").unwrap();
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o644)).unwrap();
    let content = Content::bytes(b"same\n".to_vec());
    let attrs = || Attrs {
        mode: Some(Mode::parse("u+x,o=").unwrap()),
        ..Attrs::default()
    };
    let checked = sync(&dest, &content, attrs(), (true, true)).await;
    assert!(checked.changed);
    assert_eq!(mode_of(&dest), 0o644, "check mode leaves the mode");
    assert_eq!(checked.diffs[0].before, "mode: 0644\n");
    assert_eq!(checked.diffs[0].after, "mode: 0740\n");
    let applied = sync(&dest, &content, attrs(), NORMAL).await;
    assert!(applied.changed && applied.diffs.is_empty());
    assert_eq!(mode_of(&dest), 0o740);
    assert!(!sync(&dest, &content, attrs(), NORMAL).await.changed);
}

#[tokio::test]
async fn keeps_the_mode_of_a_replaced_file_and_shows_the_diff() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("conf");
    std::fs::write(&dest, "a\nb\n").unwrap();
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o600)).unwrap();
    let synced = sync(
        &dest,
        &Content::bytes(b"a\nc\n".to_vec()),
        Attrs::default(),
        DIFF,
    )
    .await;
    assert!(synced.changed);
    assert_eq!(mode_of(&dest), 0o600);
    assert_eq!(synced.diffs.len(), 1);
    assert_eq!(
        (
            synced.diffs[0].before.as_str(),
            synced.diffs[0].after.as_str()
        ),
        ("a\nb\n", "a\nc\n")
    );
}

#[tokio::test]
async fn backs_up_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("conf");
    std::fs::write(&dest, "old\n").unwrap();
    let placement = Placement {
        backup: true,
        ..Placement::default()
    };
    let content = Content::bytes(b"new\n".to_vec());
    let synced = sync_with(&dest, &content, placement, NORMAL).await.unwrap();
    let backup = synced.backup_file.expect("a backup was made");
    assert!(backup.starts_with(dest.to_str().unwrap()) && backup.ends_with('~'));
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), "old\n");
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "new\n");
}

#[tokio::test]
async fn a_failed_validation_keeps_the_old_file_and_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("sudoers");
    std::fs::write(&dest, "good\n").unwrap();
    let placement = Placement {
        validate: Some("grep -q good %s"),
        ..Placement::default()
    };
    let content = Content::bytes(b"bad\n".to_vec());
    let err = sync_with(&dest, &content, placement.clone(), NORMAL)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("validation failed"), "{err}");
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "good\n");
    assert!(leftovers(dir.path()).is_empty());
    let content = Content::bytes(b"good too\n".to_vec());
    assert!(
        sync_with(&dest, &content, placement, NORMAL)
            .await
            .unwrap()
            .changed
    );
}

#[tokio::test]
async fn validate_must_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let placement = Placement {
        validate: Some("true"),
        ..Placement::default()
    };
    let content = Content::bytes(b"x".to_vec());
    let err = sync_with(&dir.path().join("f"), &content, placement, NORMAL)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("must contain %s"), "{err}");
}

#[tokio::test]
async fn refuses_a_missing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("no such dir/file");
    let content = Content::bytes(b"x".to_vec());
    let err = sync_with(&dest, &content, Placement::default(), NORMAL)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[tokio::test]
async fn streams_a_large_local_file_and_a_remote_one() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("big.bin");
    let big: Vec<u8> = (0..6_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&src, &big).unwrap();
    let content = Content::file(&src).await.unwrap();
    assert_eq!(content.size, big.len() as u64);
    assert!(content.small_bytes().is_none());
    let dest = dir.path().join("copy.bin");
    let synced = sync(&dest, &content, Attrs::default(), DIFF).await;
    assert!(synced.changed);
    assert!(synced.diffs[0].after.contains("not shown"));
    assert!(std::fs::read(&dest).unwrap() == big);
    let (vars, templater) = (Value::Null, Templater::new());
    let ctx = local_context(&vars, &templater);
    let probed = probe_all(&ctx, &[Probe::new(dest.to_str().unwrap())])
        .await
        .unwrap();
    let remote = Content::remote(dest.to_str().unwrap(), &probed.states[0]).unwrap();
    let again = dir.path().join("again.bin");
    assert!(
        sync(&again, &remote, Attrs::default(), NORMAL)
            .await
            .changed
    );
    assert!(std::fs::read(&again).unwrap() == big);
}

#[test]
fn the_script_preserves_owners_leniently_and_sets_them_strictly() {
    let content = Content::bytes(b"x".to_vec());
    let existing = PathState {
        kind: Kind::File,
        uid: 7,
        gid: 8,
        ..PathState::absent()
    };
    let lenient = put_script(
        &content,
        &Placement {
            dest: "/d",
            ..Placement::default()
        },
        &existing,
        0o644,
    );
    assert!(
        lenient.contains("chown -- 7:8 /proc/self/fd/3 2>/dev/null || :\n"),
        "{lenient}"
    );
    let wanted = Placement {
        dest: "/d",
        attrs: Attrs {
            owner: Some("app".into()),
            ..Attrs::default()
        },
        ..Placement::default()
    };
    let strict = put_script(&content, &wanted, &PathState::absent(), 0o644);
    assert!(
        strict.contains("chown -- app /proc/self/fd/3 || exit 1\n"),
        "{strict}"
    );
    let new = put_script(
        &content,
        &Placement {
            dest: "/d",
            ..Placement::default()
        },
        &PathState::absent(),
        0o644,
    );
    assert!(!new.contains("chown"));
}
