//! `uri`: makes an HTTP request from the target host with `curl` and checks its status, like a
//! health check would; returns the status, headers, and (on request) the body and its JSON.
//!
//! The request goes through [`super::http`], so values never reach a command line. It does not
//! support `dest`, `src`, `creates`/`removes`, client certificates, multipart forms, cookies or
//! digest authentication, and (like Ansible) is skipped in check mode.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::http::{Request, Response, curl_script, parse_response, status_message};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};
use crate::transport::Stdin;

static SPEC: ModuleSpec = ModuleSpec {
    name: "uri",
    aliases: &[],
    args: &[
        ArgSpec::new("url", ArgType::Str).required(),
        ArgSpec::new("method", ArgType::Str),
        ArgSpec::new("body", ArgType::Raw),
        ArgSpec::new("body_format", ArgType::Str).choices(&["json", "raw", "form-urlencoded"]),
        ArgSpec::new("headers", ArgType::Dict),
        ArgSpec::new("status_code", ArgType::List),
        ArgSpec::new("return_content", ArgType::Bool),
        ArgSpec::new("timeout", ArgType::Int),
        ArgSpec::new("validate_certs", ArgType::Bool),
        ArgSpec::new("follow_redirects", ArgType::Raw),
        ArgSpec::new("url_username", ArgType::Str).aliases(&["user"]),
        ArgSpec::new("url_password", ArgType::Str).aliases(&["password"]),
        ArgSpec::new("force_basic_auth", ArgType::Bool),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `uri` module.
pub struct Uri;

/// The request body and the content type its format implies.
pub(super) fn encode_body(
    body: Option<&Value>,
    format: &str,
) -> Result<(Option<String>, Option<&'static str>), String> {
    let Some(body) = body.filter(|b| !b.is_null()) else {
        return Ok((None, None));
    };
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    match format {
        "json" => Ok((Some(text(body)), Some("application/json"))),
        "form-urlencoded" => {
            let encoded = match body {
                Value::Object(map) => map
                    .iter()
                    .map(|(k, v)| format!("{}={}", form_escape(k), form_escape(&text(v))))
                    .collect::<Vec<_>>()
                    .join("&"),
                Value::String(s) => s.clone(),
                _ => return Err("a form-urlencoded body must be a mapping or a string".into()),
            };
            Ok((Some(encoded), Some("application/x-www-form-urlencoded")))
        }
        _ => Ok((Some(text(body)), None)),
    }
}

/// `application/x-www-form-urlencoded` escaping.
fn form_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// The accepted status codes (default `[200]`).
pub(super) fn status_codes(args: &Map<String, Value>) -> Result<Vec<i64>, String> {
    let Some(list) = args.get("status_code").and_then(Value::as_array) else {
        return Ok(vec![200]);
    };
    list.iter()
        .map(|v| {
            let code = match v {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            code.ok_or_else(|| format!("`status_code` must hold numbers, not {v}"))
        })
        .collect()
}

/// Whether to follow redirects: `all`/`yes` always, `none`/`no` never, `safe` (the default) only
/// for GET and HEAD.
pub(super) fn follows(value: Option<&Value>, method: &str) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if matches!(s.as_str(), "all" | "yes") => true,
        Some(Value::String(s)) if matches!(s.as_str(), "none" | "no") => false,
        _ => matches!(method, "GET" | "HEAD"),
    }
}

/// The request the arguments describe.
fn request(args: &Map<String, Value>) -> Result<Request, String> {
    let mut request = Request::from_args(args, 30)?;
    request.method = arg_str(args, "method")
        .unwrap_or("GET")
        .to_ascii_uppercase();
    let format = arg_str(args, "body_format").unwrap_or("raw");
    let (body, content_type) = encode_body(args.get("body"), format)?;
    if let Some(content_type) = content_type.filter(|_| !request.has_header("content-type")) {
        request
            .headers
            .push(("Content-Type".into(), content_type.into()));
    }
    request.body = body;
    request.follow_redirects = follows(args.get("follow_redirects"), &request.method);
    Ok(request)
}

/// Ansible's result for a response: status check, headers as keys, content and JSON.
pub(super) fn report(
    response: &Response,
    body: &[u8],
    curl_error: &str,
    codes: &[i64],
    return_content: bool,
) -> ModuleResult {
    let status = if response.curl_rc == 0 {
        response.status
    } else {
        -1
    };
    let detail = if status == -1 {
        format!("Request failed: {curl_error}")
    } else {
        status_message(response)
    };
    let mut result = ModuleResult::ok();
    for (name, value) in &response.headers {
        result = result.with(&name.replace('-', "_"), value.clone());
    }
    result = result
        .with("status", status)
        .with("url", response.url.clone())
        .with("redirected", response.redirects > 0)
        .with("elapsed", response.seconds as u64);
    let content = String::from_utf8_lossy(body).into_owned();
    let is_json = response
        .headers
        .iter()
        .any(|(n, v)| n == "content-type" && v.contains("json"));
    if let Some(json) = is_json
        .then(|| serde_json::from_str::<Value>(&content).ok())
        .flatten()
    {
        result = result.with("json", json);
    }
    let list = codes
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if !codes.contains(&status) {
        result.failed = true;
        result.msg = Some(format!(
            "Status code was {status} and not [{list}]: {detail}"
        ));
    } else {
        result.msg = Some(detail);
    }
    if return_content || result.failed {
        result = result.with("content", content);
    }
    result
}

/// The script: a scratch directory, curl with the config on stdin, then the body.
fn script() -> String {
    format!(
        "s=$(mktemp -d) || exit 1\ntrap 'rm -rf \"$s\"' EXIT\n{}cat \"$s/b\" 2>/dev/null\n",
        curl_script("\"$s/b\"")
    )
}

#[async_trait]
impl Module for Uri {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let (request, codes) = match (request(args), status_codes(args)) {
            (Ok(request), Ok(codes)) => (request, codes),
            (Err(msg), _) | (_, Err(msg)) => return Ok(ModuleResult::failed(msg)),
        };
        if ctx.check_mode {
            return Ok(ModuleResult {
                skipped: true,
                ..ModuleResult::ok().with_msg("skipped in check mode: uri does not support it")
            });
        }
        let config = Stdin::Bytes(Arc::new(request.config().into_bytes()));
        let out = ctx.run_with_stdin(script(), config).await?;
        let stderr = out.stderr_text().trim().to_string();
        let Some((response, body)) = parse_response(&out.stdout) else {
            return Ok(ModuleResult::failed(format!(
                "uri could not run curl: {stderr}"
            )));
        };
        let mut result = report(
            &response,
            body,
            &stderr,
            &codes,
            arg_bool(args, "return_content", false),
        );
        if response.url.is_empty() {
            result = result.with("url", request.url);
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests;
