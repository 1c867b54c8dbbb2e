//! Tests for `get_url`: argument parsing as tables, and real downloads through curl from a
//! server on 127.0.0.1 into temporary directories.

use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::modules::testing::{TestServer, args, http_response, run_local, run_on};
use crate::transport::LocalTransport;
use serde_json::json;
use sha2::{Digest, Sha256};

const BODY: &str = "release tarball\n";

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

async fn server() -> TestServer {
    TestServer::start(vec![
        ("/app.tar", http_response("200 OK", &[], BODY)),
        ("/v2/app.tar", http_response("200 OK", &[], "other\n")),
    ])
    .await
}

fn mode_of(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn checksums_and_file_names_are_parsed() {
    let sum = Checksum::parse("SHA256:ABCdef01").unwrap();
    assert_eq!(
        (sum.program, sum.digest.as_str()),
        ("sha256sum", "abcdef01")
    );
    for bad in [
        "abc",
        "crc32:00",
        "sha256:",
        "sha256:http://x/SUMS",
        "md5:$(id)",
    ] {
        assert!(Checksum::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(operand("-rf"), "./-rf");
    assert_eq!(operand("/srv/-x"), "/srv/-x");
    let cases = [
        ("http://h/a/b.tar.gz?x=1#f", Some("b.tar.gz")),
        ("https://h/file", Some("file")),
        ("https://h/", None),
        ("https://h", None),
        ("http://h/dir/..", None),
    ];
    for (url, name) in cases {
        assert_eq!(url_file_name(url), name, "{url}");
    }
}

#[tokio::test]
async fn downloads_once_then_leaves_the_file_alone() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("app.tar");
    let task = json!({"url": server.url("/app.tar"), "dest": dest.to_str().unwrap()});
    let result = run_local(&GetUrl, args(task.clone())).await;
    assert!(result.changed && !result.failed, "{result:?}");
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), BODY);
    assert_eq!(result.data["status_code"], 200);
    assert_eq!(result.data["size"], BODY.len());
    assert_eq!(result.msg.as_deref(), Some("OK (16 bytes)"));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left"
    );
    let again = run_local(&GetUrl, args(task)).await;
    assert!(!again.changed && !again.failed);
    assert_eq!(again.msg.as_deref(), Some("file already exists"));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn checksums_decide_and_guard() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("app.tar");
    std::fs::write(&dest, "old\n").unwrap();
    let good = format!("sha256:{}", sha256(BODY));
    let task =
        json!({"url": server.url("/app.tar"), "dest": dest.to_str().unwrap(), "checksum": good});
    let result = run_local(&GetUrl, args(task.clone())).await;
    assert!(result.changed && !result.failed, "{result:?}");
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), BODY);
    let result = run_local(&GetUrl, args(task)).await;
    assert!(!result.changed);
    assert_eq!(server.requests().len(), 1);

    let other = dir.path().join("other.tar");
    let bad = json!({"url": server.url("/v2/app.tar"), "dest": other.to_str().unwrap(), "checksum": good});
    let result = run_local(&GetUrl, args(bad)).await;
    assert!(result.failed);
    assert_eq!(
        result.msg,
        Some(format!(
            "The checksum for {} did not match {}; it was {}.",
            other.display(),
            sha256(BODY),
            sha256("other\n")
        ))
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only app.tar"
    );
}

#[tokio::test]
async fn force_downloads_but_identical_content_is_unchanged() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("app.tar");
    std::fs::write(&dest, BODY).unwrap();
    let task =
        json!({"url": server.url("/app.tar"), "dest": dest.to_str().unwrap(), "force": true});
    let result = run_local(&GetUrl, args(task)).await;
    assert!(!result.changed && !result.failed, "{result:?}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn http_errors_fail_and_leave_nothing() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x");
    let task = json!({"url": server.url("/missing"), "dest": dest.to_str().unwrap()});
    let result = run_local(&GetUrl, args(task)).await;
    assert!(result.failed);
    assert_eq!(
        result.msg.as_deref(),
        Some("Request failed: HTTP Error 404: Not Found")
    );
    assert_eq!(result.data["status_code"], 404);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn directories_modes_and_check_mode() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let dir_text = dir.path().to_str().unwrap();
    let task = json!({"url": server.url("/app.tar"), "dest": dir_text, "mode": "0600"});
    let result = run_local(&GetUrl, args(task)).await;
    let dest = dir.path().join("app.tar");
    assert_eq!(result.data["dest"], dest.to_str().unwrap());
    assert_eq!(mode_of(&dest), 0o600);

    let chmod = json!({"url": server.url("/app.tar"), "dest": dir_text, "mode": "u+x,g+r"});
    let checked = run_on(&GetUrl, args(chmod.clone()), &LocalTransport, true).await;
    assert!(checked.changed);
    assert_eq!(mode_of(&dest), 0o600);
    let result = run_local(&GetUrl, args(chmod.clone())).await;
    assert!(result.changed && !result.failed, "{result:?}");
    assert_eq!(mode_of(&dest), 0o740);
    assert!(!run_local(&GetUrl, args(chmod)).await.changed);
    let fresh = dir.path().join("new");
    let result = run_on(
        &GetUrl,
        args(json!({"url": server.url("/app.tar"), "dest": fresh.to_str().unwrap()})),
        &LocalTransport,
        true,
    )
    .await;
    assert!(result.changed && !fresh.exists());
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn hostile_destinations_are_literal_names() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    let name = format!("$(touch {})'\n-x", marker.display());
    let dest = dir.path().join(&name);
    let task =
        json!({"url": server.url("/app.tar"), "dest": dest.to_str().unwrap(), "owner": "root;id"});
    let result = run_local(&GetUrl, args(task)).await;
    assert!(result.failed, "chown to a bogus owner fails: {result:?}");
    assert!(!marker.exists());
}
