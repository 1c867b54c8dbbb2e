use std::fs;

use serde_json::json;

use super::*;
use crate::modules::testing::{LocalRun, args, run_local};

fn edit(text: &str, task: Value) -> (String, String) {
    let args = SPEC.normalise(task.as_object().unwrap()).unwrap();
    let request = Request::read(&args).unwrap();
    let edited = if arg_str(&args, "state") == Some("absent") {
        request.absent(text.as_bytes()).0
    } else {
        request.present(text.as_bytes())
    };
    (String::from_utf8(edited.text).unwrap(), edited.msg)
}

#[test]
fn edits_like_ansible() {
    // (file text, arguments, expected text, expected message)
    let table = [
        ("a\nb\n", json!({"line": "b"}), "a\nb\n", ""),
        ("a\nb", json!({"line": "c"}), "a\nb\nc\n", "line added"),
        ("", json!({"line": "c"}), "c\n", "line added"),
        (
            "port=1\nx\n",
            json!({"regexp": "^port=", "line": "port=2"}),
            "port=2\nx\n",
            "line replaced",
        ),
        (
            "port=2\n",
            json!({"regexp": "^port=", "line": "port=2"}),
            "port=2\n",
            "",
        ),
        (
            "p=1\np=2\n",
            json!({"regexp": "^p=", "line": "p=3"}),
            "p=1\np=3\n",
            "line replaced",
        ),
        (
            "p=1\np=2\n",
            json!({"regexp": "^p=", "line": "p=3", "firstmatch": true}),
            "p=3\np=2\n",
            "line replaced",
        ),
        (
            "a\n",
            json!({"line": "z", "insertbefore": "BOF"}),
            "z\na\n",
            "line added",
        ),
        (
            "a\n",
            json!({"line": "z", "insertafter": "BOF"}),
            "z\na\n",
            "line added",
        ),
        (
            "[s]\nk=1\n[t]\n",
            json!({"line": "n=2", "insertafter": "^\\[s\\]"}),
            "[s]\nn=2\nk=1\n[t]\n",
            "line added",
        ),
        (
            "[s]\nn=2\n",
            json!({"regexp": "^n=", "line": "n=2", "insertafter": "^\\[s\\]"}),
            "[s]\nn=2\n",
            "",
        ),
        (
            "a\n[t]\n",
            json!({"line": "n", "insertbefore": "^\\[t\\]"}),
            "a\nn\n[t]\n",
            "line added",
        ),
        (
            "a\n",
            json!({"line": "n", "insertbefore": "^nomatch"}),
            "a\nn\n",
            "line added",
        ),
        (
            "a\n",
            json!({"line": "n", "insertafter": "^nomatch"}),
            "a\nn\n",
            "line added",
        ),
        (
            "x1\nx2\n",
            json!({"line": "n", "insertafter": "^x", "firstmatch": true}),
            "x1\nn\nx2\n",
            "line added",
        ),
        (
            "listen 80\n",
            json!({"regexp": "^listen (\\d+)", "line": "listen \\1 ssl $x", "backrefs": true}),
            "listen 80 ssl $x\n",
            "line replaced",
        ),
        (
            "other\n",
            json!({"regexp": "^listen (\\d+)", "line": "listen \\1", "backrefs": true}),
            "other\n",
            "",
        ),
        (
            "v=1\n",
            json!({"regexp": "^(?P<k>\\w+)=", "line": "\\g<k>=2", "backrefs": true}),
            "v=2\n",
            "line replaced",
        ),
        (
            "a=1\nb=2\n",
            json!({"search_string": "b=", "line": "b=3"}),
            "a=1\nb=3\n",
            "line replaced",
        ),
        // Like Ansible, a matched line is rewritten with a plain newline.
        (
            "a\r\nb\r\n",
            json!({"line": "b"}),
            "a\r\nb\n",
            "line replaced",
        ),
        (
            "a\nb\na\n",
            json!({"line": "a", "state": "absent"}),
            "b\n",
            "2 line(s) removed",
        ),
        (
            "#x\ny\n",
            json!({"regexp": "^#", "state": "absent"}),
            "y\n",
            "1 line(s) removed",
        ),
        (
            "y\n",
            json!({"search_string": "z", "state": "absent"}),
            "y\n",
            "",
        ),
    ];
    for (text, task, expected, msg) in table {
        let mut task = task;
        task["path"] = json!("/f");
        assert_eq!(
            edit(text, task.clone()),
            (expected.to_string(), msg.to_string()),
            "{task}"
        );
    }
}

#[test]
fn refuses_contradictions() {
    let table = [
        (json!({"path": "/f"}), "line is required"),
        (
            json!({"path": "/f", "line": "x", "backrefs": true}),
            "regexp is required",
        ),
        (
            json!({"path": "/f", "state": "absent"}),
            "one of line, regexp",
        ),
        (
            json!({"path": "/f", "line": "x", "regexp": "a", "search_string": "b"}),
            "mutually exclusive",
        ),
        (
            json!({"path": "/f", "line": "x", "insertafter": "a", "insertbefore": "b"}),
            "mutually exclusive",
        ),
        (
            json!({"path": "/f", "line": "x", "regexp": "("}),
            "bad regular expression",
        ),
    ];
    for (task, message) in table {
        let args = SPEC.normalise(task.as_object().unwrap()).unwrap();
        let err = Request::read(&args).unwrap_err().to_string();
        assert!(err.contains(message), "{task}: {err}");
    }
}

#[tokio::test]
async fn edits_a_file_on_the_host_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sshd 'config' $(x)");
    fs::write(&path, "Port 22\nPermitRootLogin yes\n").unwrap();
    let task = || {
        args(json!({
            "path": path, "regexp": "^PermitRootLogin", "line": "PermitRootLogin no", "backup": true
        }))
    };
    let checked = LocalRun::check().with_diff().run(&LineInFile, task()).await;
    assert!(checked.changed && !checked.failed, "{checked:?}");
    assert_eq!(checked.diffs[0].after, "Port 22\nPermitRootLogin no\n");
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "Port 22\nPermitRootLogin yes\n"
    );
    let first = run_local(&LineInFile, task()).await;
    assert!(first.changed);
    assert_eq!(first.msg.as_deref(), Some("line replaced"));
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "Port 22\nPermitRootLogin no\n"
    );
    let backup = first.data["backup"].as_str().unwrap();
    assert_eq!(
        fs::read_to_string(backup).unwrap(),
        "Port 22\nPermitRootLogin yes\n"
    );
    let second = run_local(&LineInFile, task()).await;
    assert!(!second.changed && second.msg.is_none() && second.data.get("backup").is_none());
}

#[tokio::test]
async fn creates_only_when_asked_and_writes_through_links() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.conf");
    let refused = run_local(&LineInFile, args(json!({"path": path, "line": "x"}))).await;
    assert!(refused.failed);
    assert!(refused.msg.unwrap().ends_with("does not exist !"));
    let task = json!({"path": path, "line": "x", "create": true, "mode": "0600"});
    assert!(run_local(&LineInFile, args(task.clone())).await.changed);
    assert_eq!(fs::read_to_string(&path).unwrap(), "x\n");
    assert!(!run_local(&LineInFile, args(task)).await.changed);
    let link = dir.path().join("link.conf");
    std::os::unix::fs::symlink("new.conf", &link).unwrap();
    assert!(
        run_local(&LineInFile, args(json!({"path": link, "line": "y"})))
            .await
            .changed
    );
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), "x\ny\n");
    let gone = dir.path().join("gone");
    let absent = run_local(
        &LineInFile,
        args(json!({"path": gone, "line": "x", "state": "absent"})),
    )
    .await;
    assert!(!absent.changed && !absent.failed && !gone.exists());
}
