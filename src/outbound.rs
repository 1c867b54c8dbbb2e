//! Talking to other systems during a run (log sinks, chat webhooks): HTTP POSTs with a short
//! timeout, done off the run's path, whose failures become warnings and never fail a deploy.
//!
//! The client is `ureq` (blocking, small, rustls on the `ring` backend the SSH stack already
//! builds): webhooks such as Slack's need HTTPS, which a hand-written HTTP/1.1 POST could not do.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long one POST may take, connection included.
pub const POST_TIMEOUT: Duration = Duration::from_secs(5);

/// Where warnings about outbound failures go (the command line prints them on stderr).
pub type Warn = Arc<dyn Fn(&str) + Send + Sync>;

/// Why a POST did not get a success answer.
#[derive(Debug, thiserror::Error)]
#[error("POST {url}: {reason}")]
pub struct PostError {
    /// Where it was sent, without its credentials ([`redacted`]).
    pub url: String,
    /// What went wrong (connection, timeout or HTTP status).
    pub reason: String,
}

/// POSTs `body` to `url` and waits for a 2xx answer, at most [`POST_TIMEOUT`].
pub fn post(url: &str, content_type: &str, body: &[u8]) -> Result<(), PostError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(POST_TIMEOUT))
        .build()
        .into();
    agent
        .post(url)
        .content_type(content_type)
        .send(body)
        .map(drop)
        .map_err(|e| PostError {
            url: redacted(url),
            reason: e.to_string().replace(url, &redacted(url)),
        })
}

/// `url` fit for messages: a user and password become `***`, and so does the path and query,
/// which often hold the token (`https://hooks.slack.com/services/T0/B0/XXXX`).
pub fn redacted(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    let host = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_string(),
    };
    let path = if path.trim_start_matches('/').is_empty() {
        path
    } else {
        "/***"
    };
    match scheme {
        "" => format!("{host}{path}"),
        _ => format!("{scheme}://{host}{path}"),
    }
}

/// Waits for a background thread to end, at most `limit`; whether it did.
pub fn wait_for(thread: &JoinHandle<()>, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while !thread.is_finished() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_messages_keep_no_credentials_or_token_paths() {
        assert_eq!(
            redacted("https://bot:s3cret@chat.example.com:8443/hooks/T0/B0/XXXX?token=y"),
            "https://***@chat.example.com:8443/***"
        );
        assert_eq!(redacted("http://127.0.0.1:9/"), "http://127.0.0.1:9/");
        let error = post("http://u:pw@127.0.0.1:9/services/tok", "text/plain", b"x").unwrap_err();
        let text = error.to_string();
        assert!(!text.contains("pw") && !text.contains("tok"), "{text}");
    }

    #[test]
    fn a_server_that_is_down_is_an_error_not_a_hang() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let started = Instant::now();
        assert!(post(&format!("http://127.0.0.1:{port}/"), "text/plain", b"x").is_err());
        assert!(started.elapsed() < POST_TIMEOUT);
    }
}
