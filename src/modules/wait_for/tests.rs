//! Tests for `wait_for`: messages and conditions as tables, and real waits on the controller
//! against listeners on 127.0.0.1 and temporary files (no other address is ever contacted).

use super::*;
use crate::modules::testing::{args, run_local};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

fn port(port: u16) -> Target {
    Target::Port {
        host: "127.0.0.1".into(),
        port,
    }
}

#[test]
fn timeout_messages_follow_ansible() {
    let file = Target::Path("/run/app.pid".into());
    let cases = [
        (
            port(80),
            "started",
            None,
            "Timeout when waiting for 127.0.0.1:80",
        ),
        (
            port(80),
            "stopped",
            None,
            "Timeout when waiting for 127.0.0.1:80 to stop.",
        ),
        (
            port(80),
            "drained",
            None,
            "Timeout when waiting for 127.0.0.1:80 to drain",
        ),
        (
            port(22),
            "started",
            Some("SSH"),
            "Timeout when waiting for search string SSH in 127.0.0.1:22",
        ),
        (
            file.clone(),
            "present",
            None,
            "Timeout when waiting for file /run/app.pid",
        ),
        (
            file.clone(),
            "absent",
            None,
            "Timeout when waiting for /run/app.pid to be absent.",
        ),
        (
            file,
            "present",
            Some("up"),
            "Timeout when waiting for search string up in /run/app.pid",
        ),
    ];
    for (target, state, regex, expected) in cases {
        assert_eq!(timeout_message(&target, state, regex), expected);
    }
}

#[test]
fn conditions_quote_every_value() {
    let hostile = Target::Path("/tmp/a b'$(id)".into());
    assert_eq!(
        condition(&hostile, "absent", None),
        r"[ ! -e '/tmp/a b'\''$(id)' ]"
    );
    assert_eq!(
        condition(&port(8080), "started", Some("-v'")),
        r"tcp 127.0.0.1 8080 read | g -m1 -e '-v'\'''"
    );
    assert!(condition(&port(80), "drained", None).contains("'( sport = :80 )'"));
}

#[test]
fn bad_arguments_are_refused() {
    for (given, msg) in [
        (
            json!({"port": 1, "path": "/x"}),
            "port and path parameter can not both be passed to wait_for",
        ),
        (json!({"port": 70000}), "`70000` is not a TCP port"),
        (
            json!({"port": 22, "host": "-oProxyCommand=x"}),
            "`-oProxyCommand=x` is not a host name",
        ),
    ] {
        assert_eq!(target(&args(given)), Err(msg.to_string()));
    }
}

#[tokio::test]
async fn waits_for_a_listening_port_and_reads_its_banner() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let _ = socket.write_all(b"SSH-2.0-OpenSSH_9.2\r\n").await;
        }
    });
    let result = run_local(&WaitFor, args(json!({"port": port, "timeout": 10}))).await;
    assert!(!result.failed && !result.changed, "{result:?}");
    assert_eq!(result.data["port"], port);
    let result = run_local(
        &WaitFor,
        args(json!({"port": port, "timeout": 10, "search_regex": r"SSH-(\d)\.(?P<minor>\d)"})),
    )
    .await;
    assert!(!result.failed, "{result:?}");
    assert_eq!(result.data["match_groups"], json!(["2", "0"]));
    assert_eq!(result.data["match_groupdict"], json!({"minor": "0"}));
}

#[tokio::test]
async fn a_closed_port_is_stopped_and_times_out_when_started() {
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let result = run_local(&WaitFor, args(json!({"port": port, "state": "stopped"}))).await;
    assert!(!result.failed, "{result:?}");
    let result = run_local(
        &WaitFor,
        args(json!({"port": port, "timeout": 1, "connect_timeout": 1, "msg": "app down"})),
    )
    .await;
    assert!(result.failed);
    assert_eq!(result.msg.as_deref(), Some("app down"));
    assert!(result.data["elapsed"].as_u64().unwrap() <= 3);
}

#[tokio::test]
async fn waits_for_files_and_their_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("status");
    let path_text = path.to_str().unwrap().to_string();
    let writer = {
        let path = path.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
            std::fs::write(&path, "booting\nstate=ready pid=42\n").unwrap();
        })
    };
    let result = run_local(
        &WaitFor,
        args(json!({"path": path_text, "search_regex": r"state=(\w+) pid=(?P<pid>\d+)", "timeout": 10})),
    )
    .await;
    writer.await.unwrap();
    assert!(!result.failed, "{result:?}");
    assert_eq!(result.data["match_groups"], json!(["ready", "42"]));
    assert_eq!(result.data["path"], path_text.as_str());
    let result = run_local(
        &WaitFor,
        args(json!({"path": path_text, "state": "absent", "timeout": 1})),
    )
    .await;
    assert_eq!(
        result.msg,
        Some(format!(
            "Timeout when waiting for {path_text} to be absent."
        ))
    );
}

#[tokio::test]
async fn hostile_paths_run_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    let path = format!(
        "/nonexistent/$(touch {})`touch {}`",
        marker.display(),
        marker.display()
    );
    let result = run_local(&WaitFor, args(json!({"path": path, "state": "absent"}))).await;
    assert!(!result.failed, "{result:?}");
    assert!(!marker.exists());
}

#[tokio::test]
async fn neither_port_nor_path_sleeps() {
    let result = run_local(&WaitFor, args(json!({"timeout": 1}))).await;
    assert!(!result.failed && !result.changed);
    assert!(result.data["elapsed"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn an_idle_port_is_drained() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let result = run_local(
        &WaitFor,
        args(json!({"port": port, "state": "drained", "timeout": 5})),
    )
    .await;
    assert!(!result.failed, "{result:?}");
    drop(listener);
}
