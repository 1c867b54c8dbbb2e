use std::fs;

use serde_json::json;

use super::*;
use crate::modules::testing::{LocalRun, args, run_local};

fn fragments(names: &[(&str, &str)]) -> Vec<Fragment> {
    (names.iter())
        .map(|(n, c)| (n.as_bytes().to_vec(), c.as_bytes().to_vec()))
        .collect()
}

#[test]
fn fragments_are_joined_with_newlines_and_delimiters_as_ansible_joins_them() {
    let parts = fragments(&[("a", "one"), ("b", "two\n"), ("c", "three")]);
    assert_eq!(join(&parts, None).unwrap(), b"one\ntwo\nthree");
    assert_eq!(
        join(&parts, Some("# --")).unwrap(),
        b"one\n# --\ntwo\n# --\nthree"
    );
    assert_eq!(
        join(&parts, Some("--\\n")).unwrap(),
        b"one\n--\ntwo\n--\nthree"
    );
    // Decoded again before each use, as Ansible does: `\\n` is `\n` once, a newline after.
    assert_eq!(
        join(&parts, Some("x\\\\n")).unwrap(),
        b"one\nx\\n\ntwo\nx\nthree"
    );
    assert!(join(&[], Some("-")).unwrap().is_empty());
}

#[test]
fn escapes_decode_like_python() {
    let decode = |s: &str| escape_decode(s.as_bytes()).map_err(|e| e.to_string());
    assert_eq!(decode("a\\tb\\x41\\101\\q\\\\").unwrap(), b"a\tbAA\\q\\");
    assert_eq!(decode("\\0").unwrap(), b"\0");
    assert_eq!(decode("x\\").unwrap_err(), "Trailing \\ in string");
    assert_eq!(
        decode("ab\\x4").unwrap_err(),
        "invalid \\x escape at position 2"
    );
    assert!(decode("\\x+f").is_err());
}

#[test]
fn the_listing_is_read_in_name_order_and_problems_are_ansibles() {
    let listing = b"dir\0/s/b\0 3\0two/s/a\0 0\0/s/.h\x001\0x";
    let parsed = parse_listing("/s", listing).unwrap();
    assert_eq!(parsed, fragments(&[(".h", "x"), ("a", ""), ("b", "two")]));
    let fail = |listing: &[u8]| parse_listing("/s", listing).unwrap_err().to_string();
    assert_eq!(fail(b"missing"), "Source (/s) does not exist");
    assert_eq!(fail(b"notdir"), "Source (/s) is not a directory");
    assert_eq!(fail(b"dir\0/s/a\0unreadable\0"), "Permission denied: /s/a");
    assert!(fail(b"dir\0/s/a\x009\0short").contains("changed while being read"));
}

#[tokio::test]
async fn a_host_folder_is_assembled_once_with_a_filter_and_a_mode() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("conf d");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("10-b.conf"), "b=1").unwrap();
    fs::write(src.join("01-a.conf"), "a=1\n").unwrap();
    fs::write(src.join(".hidden.conf"), "h=1\n").unwrap();
    fs::write(src.join("README"), "no\n").unwrap();
    fs::create_dir(src.join("sub.conf")).unwrap();
    let dest = dir.path().join("all.conf");
    let task = || {
        args(
            json!({"src": src, "dest": dest, "regexp": "\\.conf$", "ignore_hidden": true,
                    "delimiter": "### x", "mode": "0600"}),
        )
    };
    let checked = LocalRun::check().run(&Assemble, task()).await;
    assert!(checked.changed && !dest.exists(), "{checked:?}");
    let first = run_local(&Assemble, task()).await;
    assert!(first.changed && !first.failed, "{first:?}");
    assert_eq!(fs::read_to_string(&dest).unwrap(), "a=1\n### x\nb=1");
    assert_eq!(
        first.data["checksum"],
        hex::encode(Sha1::digest(b"a=1\n### x\nb=1"))
    );
    assert_eq!(first.data["mode"], "0600");
    assert_eq!(first.msg.as_deref(), Some("OK"));
    assert!(first.diffs.is_empty());
    let second = run_local(&Assemble, task()).await;
    assert!(!second.changed && !second.failed, "{second:?}");
}

#[tokio::test]
async fn a_controller_folder_is_found_in_files_and_diffed() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    fs::create_dir_all(files.join("parts")).unwrap();
    fs::write(files.join("parts/1"), "one\n").unwrap();
    fs::write(files.join("parts/2"), "two\n").unwrap();
    let dest = dir.path().join("out");
    fs::write(&dest, "old\n").unwrap();
    let task = args(json!({"src": "parts", "dest": dest, "remote_src": false, "backup": true}));
    let run = LocalRun::default().searching(&files).with_diff();
    let result = run.run(&Assemble, task.clone()).await;
    assert!(result.changed && !result.failed, "{result:?}");
    assert_eq!(fs::read_to_string(&dest).unwrap(), "one\ntwo\n");
    assert_eq!(result.diffs[0].before, "old\n");
    let backup = result.data["backup_file"].as_str().unwrap();
    assert_eq!(fs::read_to_string(backup).unwrap(), "old\n");
    let again = run.run(&Assemble, task).await;
    assert!(!again.changed && again.diffs.is_empty());
    let missing = run_local(
        &Assemble,
        args(json!({"src": dir.path().join("no"), "dest": dest})),
    );
    assert_eq!(
        missing.await.msg.unwrap(),
        format!("Source ({}/no) does not exist", dir.path().display())
    );
}
