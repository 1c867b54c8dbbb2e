use std::fs;

use serde_json::json;

use super::*;
use crate::modules::testing::{LocalRun, args, run_local};

fn apply(text: &str, mut task: Value) -> (String, String) {
    task["path"] = json!("/f");
    let args = SPEC.normalise(task.as_object().unwrap()).unwrap();
    let edited = Request::read(&args).unwrap().apply(text.as_bytes());
    (String::from_utf8(edited.text).unwrap(), edited.msg)
}

const B: &str = "# BEGIN ANSIBLE MANAGED BLOCK";
const E: &str = "# END ANSIBLE MANAGED BLOCK";

#[test]
fn keeps_one_block_between_markers() {
    let block = format!("{B}\nx\ny\n{E}\n");
    // (file text, arguments, expected text, expected message)
    let table = [
        (
            "a\n".to_string(),
            json!({"block": "x\ny\n"}),
            format!("a\n{block}"),
            "Block inserted",
        ),
        (
            format!("a\n{block}"),
            json!({"block": "x\ny"}),
            format!("a\n{block}"),
            "",
        ),
        (
            format!("a\n{B}\nold\n{E}\nz\n"),
            json!({"block": "x\ny"}),
            format!("a\n{block}z\n"),
            "Block inserted",
        ),
        (
            format!("a\n{block}z\n"),
            json!({"state": "absent"}),
            "a\nz\n".to_string(),
            "Block removed",
        ),
        (
            format!("a\n{block}z\n"),
            json!({"block": ""}),
            "a\nz\n".to_string(),
            "Block removed",
        ),
        (
            "a\nz".to_string(),
            json!({"block": "x\ny", "insertbefore": "BOF"}),
            format!("{block}a\nz"),
            "Block inserted",
        ),
        (
            "[s]\nk\n[t]\n".to_string(),
            json!({"block": "x\ny", "insertafter": "^\\[s\\]"}),
            format!("[s]\n{block}k\n[t]\n"),
            "Block inserted",
        ),
        (
            "[s]\n[t]\n".to_string(),
            json!({"block": "x\ny", "insertbefore": "^\\[t\\]"}),
            format!("[s]\n{block}[t]\n"),
            "Block inserted",
        ),
        (
            "a\n".to_string(),
            json!({"block": "x\ny", "insertafter": "^nomatch"}),
            format!("a\n{block}"),
            "Block inserted",
        ),
        (
            "".to_string(),
            json!({"block": "x\ny"}),
            block.clone(),
            "File created",
        ),
        (
            "a\nb\n".to_string(),
            json!({"block": "x\ny", "insertafter": "^a", "prepend_newline": true, "append_newline": true}),
            format!("a\n\n{block}\nb\n"),
            "Block inserted",
        ),
        (
            "a\n".to_string(),
            json!({"block": "v", "marker": "// {mark} app", "marker_begin": "start", "marker_end": "stop"}),
            "a\n// start app\nv\n// stop app\n".to_string(),
            "Block inserted",
        ),
    ];
    for (text, task, expected, msg) in table {
        assert_eq!(
            apply(&text, task.clone()),
            (expected, msg.to_string()),
            "{task} on {text:?}"
        );
    }
}

#[tokio::test]
async fn edits_a_file_on_the_host_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("-hosts $(x)");
    fs::write(&path, "127.0.0.1 localhost\n").unwrap();
    let task = || args(json!({"path": path, "block": "10.0.0.1 app1\n10.0.0.2 app2\n"}));
    let checked = LocalRun::check()
        .with_diff()
        .run(&BlockInFile, task())
        .await;
    assert!(checked.changed, "{checked:?}");
    assert_eq!(checked.diffs[0].before, "127.0.0.1 localhost\n");
    assert_eq!(fs::read_to_string(&path).unwrap(), "127.0.0.1 localhost\n");
    let first = run_local(&BlockInFile, task()).await;
    assert_eq!(first.msg.as_deref(), Some("Block inserted"));
    let expected = format!("127.0.0.1 localhost\n{B}\n10.0.0.1 app1\n10.0.0.2 app2\n{E}\n");
    assert_eq!(fs::read_to_string(&path).unwrap(), expected);
    assert!(!run_local(&BlockInFile, task()).await.changed);
    let removed = run_local(&BlockInFile, args(json!({"path": path, "state": "absent"}))).await;
    assert!(removed.changed);
    assert_eq!(fs::read_to_string(&path).unwrap(), "127.0.0.1 localhost\n");
}
