//! Tests for `uri`: body encoding, status codes and redirects as tables, result building from
//! recorded curl output, and real requests through curl to a server on 127.0.0.1.

use super::*;
use crate::modules::testing::{FakeHost, TestServer, args, http_response, run_local, run_on};
use serde_json::json;

#[test]
fn bodies_are_encoded_by_format() {
    let form = json!({"name": "a b", "q": "x&y=z"});
    assert_eq!(
        encode_body(Some(&form), "form-urlencoded").unwrap(),
        (
            Some("name=a+b&q=x%26y%3Dz".into()),
            Some("application/x-www-form-urlencoded")
        )
    );
    assert_eq!(
        encode_body(Some(&json!({"k": [1, true]})), "json").unwrap(),
        (Some(r#"{"k":[1,true]}"#.into()), Some("application/json"))
    );
    assert_eq!(
        encode_body(Some(&json!("{\"a\":1}")), "json")
            .unwrap()
            .0
            .as_deref(),
        Some("{\"a\":1}")
    );
    assert_eq!(
        encode_body(Some(&json!("raw text")), "raw").unwrap(),
        (Some("raw text".into()), None)
    );
    assert_eq!(encode_body(None, "json").unwrap(), (None, None));
    assert!(encode_body(Some(&json!([1])), "form-urlencoded").is_err());
}

#[test]
fn status_codes_and_redirect_policies() {
    assert_eq!(status_codes(&args(json!({}))), Ok(vec![200]));
    assert_eq!(
        status_codes(&args(json!({"status_code": [200, "201"]}))),
        Ok(vec![200, 201])
    );
    assert!(status_codes(&args(json!({"status_code": ["ok"]}))).is_err());
    let cases = [
        (None, "GET", true),
        (None, "POST", false),
        (Some(json!("safe")), "HEAD", true),
        (Some(json!("all")), "POST", true),
        (Some(json!(true)), "PUT", true),
        (Some(json!("none")), "GET", false),
        (Some(json!(false)), "GET", false),
    ];
    for (value, method, expected) in cases {
        assert_eq!(
            follows(value.as_ref(), method),
            expected,
            "{value:?} {method}"
        );
    }
}

#[test]
fn failing_statuses_read_like_ansible() {
    let response = Response {
        status: 503,
        reason: "Service Unavailable".into(),
        url: "http://127.0.0.1/health".into(),
        ..Response::default()
    };
    let result = report(&response, b"down", "", &[200, 204], false);
    assert!(result.failed);
    assert_eq!(
        result.msg.as_deref(),
        Some("Status code was 503 and not [200, 204]: HTTP Error 503: Service Unavailable")
    );
    assert_eq!(result.data["content"], "down");
    let refused = Response {
        curl_rc: 7,
        ..Response::default()
    };
    let result = report(&refused, b"", "curl: (7) Failed to connect", &[200], false);
    assert_eq!(
        result.msg.as_deref(),
        Some("Status code was -1 and not [200]: Request failed: curl: (7) Failed to connect")
    );
    assert_eq!(result.data["status"], -1);
}

#[tokio::test]
async fn gets_json_and_headers_from_a_local_server() {
    let server = TestServer::start(vec![(
        "/health",
        http_response(
            "200 OK",
            &[("Content-Type", "application/json"), ("X-App-Version", "7")],
            r#"{"ok":true}"#,
        ),
    )])
    .await;
    let result = run_local(
        &Uri,
        args(json!({"url": server.url("/health"), "return_content": true})),
    )
    .await;
    assert!(!result.failed && !result.changed, "{result:?}");
    assert_eq!(result.data["status"], 200);
    assert_eq!(result.data["json"], json!({"ok": true}));
    assert_eq!(result.data["content"], r#"{"ok":true}"#);
    assert_eq!(result.data["x_app_version"], "7");
    assert_eq!(result.data["redirected"], false);
    assert_eq!(result.msg.as_deref(), Some("OK (11 bytes)"));
}

#[tokio::test]
async fn posts_bodies_headers_and_credentials_verbatim() {
    let server = TestServer::start(vec![("/api", http_response("201 Created", &[], ""))]).await;
    let result = run_local(
        &Uri,
        args(json!({
            "url": server.url("/api"), "method": "post", "body_format": "json",
            "body": {"cmd": "$(reboot)", "quote": "'\""}, "status_code": "201",
            "headers": {"X-Trace": "--data @/etc/passwd"},
            "url_username": "deploy", "url_password": "s3cr'et",
        })),
    )
    .await;
    assert!(!result.failed, "{result:?}");
    let request = &server.requests()[0];
    assert!(request.starts_with("POST /api HTTP/1.1\r\n"), "{request}");
    assert!(request.contains("Content-Type: application/json\r\n"));
    assert!(request.contains("X-Trace: --data @/etc/passwd\r\n"));
    assert!(request.contains("Authorization: Basic ZGVwbG95OnMzY3InZXQ=\r\n"));
    assert!(request.ends_with(r#"{"cmd":"$(reboot)","quote":"'\""}"#));
}

#[tokio::test]
async fn follows_safe_redirects_and_reports_failures() {
    let server = TestServer::start(vec![
        (
            "/old",
            http_response("301 Moved Permanently", &[("Location", "/new")], ""),
        ),
        ("/new", http_response("200 OK", &[], "here")),
    ])
    .await;
    let result = run_local(&Uri, args(json!({"url": server.url("/old")}))).await;
    assert!(!result.failed, "{result:?}");
    assert_eq!(result.data["redirected"], true);
    assert_eq!(result.data["url"], server.url("/new"));
    let result = run_local(&Uri, args(json!({"url": server.url("/missing")}))).await;
    assert_eq!(
        result.msg.as_deref(),
        Some("Status code was 404 and not [200]: HTTP Error 404: Not Found")
    );
    let result = run_local(
        &Uri,
        args(json!({"url": server.url("/old"), "follow_redirects": "none", "status_code": 301})),
    )
    .await;
    assert!(!result.failed, "{result:?}");
    assert_eq!(result.data["location"], "/new");
}

#[tokio::test]
async fn refused_connections_fail_with_status_minus_one() {
    let port = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let result = run_local(
        &Uri,
        args(json!({"url": format!("http://127.0.0.1:{port}/")})),
    )
    .await;
    assert!(result.failed);
    assert_eq!(result.data["status"], -1);
    assert!(
        result
            .msg
            .unwrap()
            .starts_with("Status code was -1 and not [200]: Request failed: curl: (7)")
    );
}

#[tokio::test]
async fn check_mode_skips_and_missing_curl_is_clear() {
    let host = FakeHost::new();
    let result = run_on(&Uri, args(json!({"url": "http://127.0.0.1/"})), &host, true).await;
    assert!(result.skipped && host.scripts().is_empty());
    let host = FakeHost::new().reply("curl", "", 127);
    let result = run_on(
        &Uri,
        args(json!({"url": "http://127.0.0.1/"})),
        &host,
        false,
    )
    .await;
    assert!(result.failed);
    assert_eq!(result.msg.as_deref(), Some("uri could not run curl: boom"));
}
