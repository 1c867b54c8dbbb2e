//! HTTP requests made on the target host with `curl`, shared by `uri` and `get_url`.
//!
//! Everything about the request (URL, headers, credentials, body) goes to curl as a config file on
//! stdin (`curl -K -`), so no value reaches a command line or the host's process list. The script
//! prints curl's exit code, a `-w` summary and the response headers, length-prefixed, so the
//! output parses without guessing. This file builds and parses; modules decide what to do.

use serde_json::{Map, Value};

use std::sync::Arc;

use super::facts::{self, FileError};
use super::{ModuleContext, arg_str};
use crate::transport::Stdin;

/// One request, as the modules' arguments describe it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Request {
    pub url: String,
    /// The HTTP method, upper case.
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// `user:password` for basic authentication.
    pub credentials: Option<String>,
    /// Seconds for the whole transfer.
    pub timeout: i64,
    pub validate_certs: bool,
    pub follow_redirects: bool,
}

impl Request {
    /// The parts `uri` and `get_url` share: `url`, `headers`, `timeout`, `validate_certs`,
    /// `url_username`/`url_password`. Fails on header names or values holding line breaks.
    pub(super) fn from_args(
        args: &Map<String, Value>,
        default_timeout: i64,
    ) -> Result<Self, String> {
        let mut headers = Vec::new();
        for (name, value) in args
            .get("headers")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_string);
            if name.contains(['\r', '\n', ':']) || value.contains(['\r', '\n']) {
                return Err(format!("header `{name}` holds a line break or a colon"));
            }
            headers.push((name.clone(), value));
        }
        let credentials = arg_str(args, "url_username").map(|user| {
            format!(
                "{user}:{}",
                arg_str(args, "url_password").unwrap_or_default()
            )
        });
        Ok(Request {
            url: arg_str(args, "url").unwrap_or_default().to_string(),
            method: "GET".into(),
            headers,
            body: None,
            credentials,
            timeout: args
                .get("timeout")
                .and_then(Value::as_i64)
                .unwrap_or(default_timeout),
            validate_certs: args
                .get("validate_certs")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            follow_redirects: true,
        })
    }

    /// Whether a header was given, whatever its case.
    pub(super) fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// The curl config file for this request.
    pub(super) fn config(&self) -> String {
        let mut lines = vec![
            format!("url = {}", config_quote(&self.url)),
            "globoff".to_string(),
            "proto = \"=http,https,ftp,ftps\"".to_string(),
            "proto-redir = \"=http,https,ftp,ftps\"".to_string(),
            format!("max-time = {}", self.timeout.max(1)),
        ];
        match self.method.as_str() {
            "HEAD" => lines.push("head".into()),
            "GET" if self.body.is_none() => {}
            method => lines.push(format!("request = {}", config_quote(method))),
        }
        for (name, value) in &self.headers {
            lines.push(format!(
                "header = {}",
                config_quote(&format!("{name}: {value}"))
            ));
        }
        if let Some(credentials) = &self.credentials {
            lines.push(format!("user = {}", config_quote(credentials)));
        }
        if let Some(body) = &self.body {
            lines.push(format!("data-raw = {}", config_quote(body)));
        }
        if !self.validate_certs {
            lines.push("insecure".into());
        }
        if self.follow_redirects {
            lines.push("location".into());
        }
        lines.join("\n") + "\n"
    }
}

/// A URL's body, fetched on the host with `curl` (the URL goes in curl's config on stdin); a
/// `file:` URL is read there. `Err` says why it could not be had.
pub(super) async fn fetch(
    ctx: &ModuleContext<'_>,
    url: &str,
    validate_certs: bool,
) -> Result<Vec<u8>, FileError> {
    if let Some(path) = file_url_path(url) {
        return facts::read(ctx, path).await;
    }
    let request = Request {
        url: url.to_string(),
        method: "GET".into(),
        timeout: 10,
        validate_certs,
        follow_redirects: true,
        ..Request::default()
    };
    let stdin = Stdin::Bytes(Arc::new(request.config().into_bytes()));
    let out = ctx.run_with_stdin("curl -K - -sSf", stdin).await?;
    match out.exit_code {
        0 => Ok(out.stdout),
        _ => Err(FileError::failed(out.stderr_text().trim().to_string())),
    }
}

/// The path of a `file:` URL (`file:///p`, `file://localhost/p`, `file:/p`).
fn file_url_path(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once(':')?;
    if !scheme.eq_ignore_ascii_case("file") {
        return None;
    }
    match rest.strip_prefix("//") {
        Some(authority_and_path) => authority_and_path
            .find('/')
            .map(|at| &authority_and_path[at..]),
        None => Some(rest),
    }
}

/// A value for a curl config file: double-quoted, with curl's escapes.
fn config_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The script lines that run curl with the config on stdin, writing the body to `body` (a shell
/// word) and printing: curl's exit code, the `-w` summary, the header length, the headers.
/// `$s` must name a scratch directory.
pub(super) fn curl_script(body: &str) -> String {
    format!(
        "command -v curl >/dev/null 2>&1 || {{ echo 'curl is not installed on the host' >&2; exit 127; }}\n\
         : >\"$s/h\"; : >\"$s/w\"\n\
         curl -K - -sS -D \"$s/h\" -o {body} -w '%{{http_code}} %{{num_redirects}} %{{time_total}} %{{url_effective}}' >\"$s/w\"\n\
         rc=$?\n\
         printf '%s\\n' \"$rc\"; cat \"$s/w\"; echo; wc -c <\"$s/h\"; cat \"$s/h\"\n"
    )
}

/// What curl reported about a response.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Response {
    /// curl's exit code (0 when the transfer worked, whatever the status).
    pub curl_rc: i32,
    /// The HTTP status (0 when there was no response).
    pub status: i64,
    /// The reason phrase of the final status line.
    pub reason: String,
    pub redirects: u32,
    pub seconds: f64,
    /// The URL finally fetched.
    pub url: String,
    /// The final response's headers, names lower-cased.
    pub headers: Vec<(String, String)>,
}

/// Reads what [`curl_script`] printed; returns the response and the bytes after the headers.
pub(super) fn parse_response(stdout: &[u8]) -> Option<(Response, &[u8])> {
    let (rc, rest) = split_line(stdout)?;
    let (summary, rest) = split_line(rest)?;
    let (length, rest) = split_line(rest)?;
    let length: usize = length.trim().parse().ok()?;
    let headers = rest.get(..length)?;
    let mut words = summary.splitn(4, ' ');
    let mut response = Response {
        curl_rc: rc.trim().parse().ok()?,
        status: words.next()?.parse().ok()?,
        redirects: words.next()?.parse().ok()?,
        seconds: words.next()?.parse().ok()?,
        url: words.next().unwrap_or_default().to_string(),
        ..Response::default()
    };
    let text = String::from_utf8_lossy(headers).replace("\r\n", "\n");
    let last = text
        .split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .last()
        .unwrap_or_default();
    let mut lines = last.lines();
    let status_line = lines.next().unwrap_or_default();
    response.reason = status_line
        .splitn(3, ' ')
        .nth(2)
        .unwrap_or_default()
        .trim()
        .to_string();
    response.headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some((response, &rest[length..]))
}

fn split_line(bytes: &[u8]) -> Option<(String, &[u8])> {
    let at = bytes.iter().position(|b| *b == b'\n')?;
    Some((
        String::from_utf8_lossy(&bytes[..at]).into_owned(),
        &bytes[at + 1..],
    ))
}

/// Ansible's `msg` for a response: `OK (N bytes)`, or `HTTP Error N: reason`.
pub(super) fn status_message(response: &Response) -> String {
    if (200..400).contains(&response.status) {
        let length = response
            .headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map_or("unknown", |(_, v)| v.as_str());
        format!("OK ({length} bytes)")
    } else {
        format!("HTTP Error {}: {}", response.status, response.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_name_a_host_path() {
        assert_eq!(file_url_path("file:///etc/k.asc"), Some("/etc/k.asc"));
        assert_eq!(file_url_path("FILE://localhost/k"), Some("/k"));
        assert_eq!(file_url_path("file:/k"), Some("/k"));
        assert_eq!(file_url_path("https://x/k"), None);
    }
    use serde_json::json;

    #[test]
    fn config_values_are_quoted_for_curl() {
        let args = json!({
            "url": "http://127.0.0.1/a b\"c",
            "headers": {"X-Token": "a\\b", "Accept": "*/*"},
            "url_username": "u", "url_password": "p:\"w",
            "validate_certs": false,
        });
        let mut request = Request::from_args(args.as_object().unwrap(), 30).unwrap();
        request.method = "POST".into();
        request.body = Some("line1\nline2 \"q\" @/etc/passwd".into());
        assert_eq!(
            request.config(),
            "url = \"http://127.0.0.1/a b\\\"c\"\ngloboff\n\
                 proto = \"=http,https,ftp,ftps\"\nproto-redir = \"=http,https,ftp,ftps\"\n\
                 max-time = 30\nrequest = \"POST\"\nheader = \"X-Token: a\\\\b\"\n\
                 header = \"Accept: */*\"\nuser = \"u:p:\\\"w\"\n\
                 data-raw = \"line1\\nline2 \\\"q\\\" @/etc/passwd\"\ninsecure\nlocation\n"
        );
        assert!(request.has_header("x-token"));
    }

    #[test]
    fn header_injection_is_refused() {
        let args = json!({"url": "http://x", "headers": {"X": "a\r\nHost: evil"}});
        assert!(Request::from_args(args.as_object().unwrap(), 30).is_err());
    }

    #[test]
    fn curl_output_is_read() {
        let headers = "HTTP/1.1 301 Moved\r\nLocation: /b\r\n\r\nHTTP/1.1 404 Not Found\r\n\
                       Content-Type: application/json\r\nContent-Length: 2\r\n\r\n";
        let out = format!(
            "0\n404 1 0.012 http://127.0.0.1:8080/b\n{}\n{headers}{{}}",
            headers.len()
        );
        let (response, body) = parse_response(out.as_bytes()).unwrap();
        assert_eq!(body, b"{}");
        assert_eq!((response.status, response.redirects), (404, 1));
        assert_eq!(response.url, "http://127.0.0.1:8080/b");
        assert_eq!(response.reason, "Not Found");
        assert_eq!(
            response.headers[0],
            ("content-type".into(), "application/json".into())
        );
        assert_eq!(status_message(&response), "HTTP Error 404: Not Found");
        let failed = "7\n000 0 0.001 http://127.0.0.1:1/\n0\n";
        let (response, _) = parse_response(failed.as_bytes()).unwrap();
        assert_eq!((response.curl_rc, response.status), (7, 0));
        assert!(parse_response(b"garbage").is_none());
    }
}
