use super::*;
use crate::modules::testing::{args, run_on};
use crate::transport::LocalTransport;
use serde_json::json;
use std::path::Path;
use std::process::Command;

fn sh(dir: &Path, script: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", script])
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.org")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.org")
        .output()
        .unwrap();
    assert!(out.status.success(), "{script}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn refs_resolve_as_ansible_resolves_them() {
    let remote = probe::Remote {
        rc: 0,
        refs: [
            ("HEAD", "a1"),
            ("refs/heads/main", "a1"),
            ("refs/heads/dev", "b2"),
            ("refs/tags/v1", "c3"),
            ("refs/tags/v1^{}", "d4"),
        ]
        .into_iter()
        .map(|(n, s)| (n.to_string(), s.to_string()))
        .collect(),
        err: String::new(),
    };
    assert_eq!(
        remote.resolve("HEAD", None).unwrap(),
        Target::Head("a1".into())
    );
    assert_eq!(
        remote.resolve("HEAD", Some("dev")).unwrap(),
        Target::Head("b2".into())
    );
    assert_eq!(
        remote.resolve("dev", None).unwrap(),
        Target::Branch("b2".into())
    );
    assert_eq!(
        remote.resolve("v1", None).unwrap(),
        Target::Tag("d4".into())
    );
    assert_eq!(remote.resolve("abc123", None).unwrap(), Target::Commit);
    assert!(remote.resolve("HEAD", Some("gone")).is_err());
    assert!(same_url("file:///r.git/", "file:///r.git") && !same_url("a", "b"));
}

#[tokio::test]
async fn a_checkout_is_cloned_kept_and_moved_to_a_tag_and_a_new_commit() {
    if Command::new("git").arg("--version").output().is_err() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    sh(
        root,
        "git init -q -b main work && cd work && echo 1 > f && git add f && git commit -qm one && \
         git tag v1 && echo 2 > f && git commit -qam two && git clone -q --bare . ../origin.git",
    );
    let repo = root.join("origin.git").display().to_string();
    let dest = root.join("deep/checkout").display().to_string();
    let given = json!({"repo": repo, "dest": dest});
    let check = run_on(&Git, args(given.clone()), &LocalTransport, true).await;
    let head = sh(root, "git -C work rev-parse HEAD");
    assert!(check.changed && !check.failed, "{check:?}");
    assert_eq!(
        (check.data["before"].clone(), check.data["after"].as_str()),
        (Value::Null, Some(head.as_str()))
    );
    assert!(!Path::new(&dest).exists());

    let first = run_on(&Git, args(given.clone()), &LocalTransport, false).await;
    assert!(first.changed && !first.failed, "{first:?}");
    assert_eq!(sh(root, "cat deep/checkout/f"), "2");
    let again = run_on(&Git, args(given.clone()), &LocalTransport, false).await;
    assert!(!again.changed && !again.failed, "{again:?}");
    assert_eq!(again.data["remote_url_changed"], false);

    let tagged = json!({"repo": repo, "dest": dest, "version": "v1"});
    let tag = run_on(&Git, args(tagged.clone()), &LocalTransport, false).await;
    assert!(tag.changed && !tag.failed, "{tag:?}");
    assert_eq!(sh(root, "cat deep/checkout/f"), "1");
    assert!(
        !run_on(&Git, args(tagged), &LocalTransport, true)
            .await
            .changed
    );

    sh(
        root,
        "cd work && echo 3 > f && git commit -qam three && git push -q ../origin.git main",
    );
    sh(root, "echo local > deep/checkout/f");
    let refused = run_on(&Git, args(given.clone()), &LocalTransport, false).await;
    assert!(refused.failed, "{refused:?}");
    let forced = json!({"repo": repo, "dest": dest, "force": true});
    let moved = run_on(&Git, args(forced), &LocalTransport, false).await;
    assert!(moved.changed && !moved.failed, "{moved:?}");
    assert_eq!(sh(root, "cat deep/checkout/f"), "3");
    assert_eq!(moved.data["after"], sh(root, "git -C work rev-parse HEAD"));
}
