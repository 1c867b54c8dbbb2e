use serde_json::json;

use super::*;
use crate::modules::testing::{LocalRun, args};

/// A project folder with a `vars/` folder holding `files` (path, text).
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("folders");
        std::fs::write(path, text).expect("a file");
    }
    dir
}

async fn include(dir: &tempfile::TempDir, given: Value) -> ModuleResult {
    LocalRun::default()
        .searching(dir.path())
        .run(&IncludeVars, args(given))
        .await
}

#[tokio::test]
async fn a_file_is_found_under_vars_first_and_its_values_become_variables() {
    let dir = project(&[
        ("vars/Debian.yml", "pkg: apt\nports: [80]\n"),
        ("Debian.yml", "pkg: wrong\n"),
    ]);
    let result = include(&dir, json!({"_raw_params": "Debian.yml"})).await;
    assert!(!result.failed && !result.changed, "{result:?}");
    assert_eq!(
        Value::Object(result.facts),
        json!({"pkg": "apt", "ports": [80]})
    );
    let files = &result.data["ansible_included_var_files"];
    assert!(files[0].as_str().unwrap().ends_with("vars/Debian.yml"));
}

#[tokio::test]
async fn name_puts_the_values_under_one_variable_and_json_and_empty_files_load() {
    let dir = project(&[("a.json", "{\"x\": 1}"), ("empty.yml", "")]);
    let result = include(&dir, json!({"file": "a.json", "name": "cfg"})).await;
    assert_eq!(Value::Object(result.facts), json!({"cfg": {"x": 1}}));
    let result = include(&dir, json!({"file": "empty.yml"})).await;
    assert!(!result.failed && result.facts.is_empty(), "{result:?}");
}

#[tokio::test]
async fn a_missing_file_or_a_list_fails_like_ansible() {
    let dir = project(&[("vars/list.yml", "- 1\n")]);
    let result = include(&dir, json!({"file": "nope.yml"})).await;
    assert!(result.failed);
    assert!(
        result
            .msg
            .unwrap()
            .starts_with("Could not find or access 'nope.yml'")
    );
    let result = include(&dir, json!({"file": "list.yml"})).await;
    assert!(
        result
            .msg
            .unwrap()
            .ends_with("list.yml must be stored as a dictionary/hash")
    );
}

#[tokio::test]
async fn a_dir_loads_its_files_sorted_filtered_and_to_the_depth_asked() {
    let dir = project(&[
        ("conf/b.yml", "x: b\nb: 1\n"),
        ("conf/a.yml", "x: a\na: 1\n"),
        ("conf/skip.yml", "skip: 1\n"),
        ("conf/sub/c.yml", "c: 1\n"),
        ("conf/notes.txt", "not vars"),
    ]);
    let result = include(
        &dir,
        json!({"dir": "conf", "ignore_files": ["skip.yml"], "ignore_unknown_extensions": true}),
    )
    .await;
    assert_eq!(
        Value::Object(result.facts),
        json!({"x": "b", "a": 1, "b": 1, "c": 1})
    );
    let result = include(
        &dir,
        json!({"dir": "conf", "depth": 1, "files_matching": "^[ab]"}),
    )
    .await;
    assert_eq!(
        Value::Object(result.facts),
        json!({"x": "b", "a": 1, "b": 1})
    );
    let result = include(&dir, json!({"dir": "conf"})).await;
    assert!(
        result
            .msg
            .unwrap()
            .contains("notes.txt does not have a valid extension: yaml, yml, json")
    );
}

#[tokio::test]
async fn file_and_dir_arguments_do_not_mix() {
    let dir = project(&[]);
    let result = include(&dir, json!({"file": "a.yml", "depth": 1})).await;
    assert!(result.msg.unwrap().contains("incompatible"));
}

#[tokio::test]
async fn hash_behaviour_merge_keeps_what_the_task_already_sees() {
    let dir = project(&[("m.yml", "answer: {b: 2}\nnew: 1\n")]);
    let result = include(&dir, json!({"file": "m.yml", "hash_behaviour": "merge"})).await;
    // `answer` is 42 in the test context: not a mapping, so it is replaced.
    assert_eq!(
        Value::Object(result.facts),
        json!({"answer": {"b": 2}, "new": 1})
    );
}
