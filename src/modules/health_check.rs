//! `health_check`: waits until a service on the host is healthy: an HTTP URL answers with the
//! expected status (and body), a TCP port accepts connections, or a command succeeds. The whole
//! retry loop runs on the host in one remote command. A failing health check after a release
//! switch triggers deployer's automatic rollback.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleKind, ModuleResult, arg_str};
use crate::transport::quote;

static SPEC: ModuleSpec = ModuleSpec {
    name: "health_check",
    aliases: &["deployer.health_check"],
    args: &[
        ArgSpec::new("url", ArgType::Str),
        ArgSpec::new("status_code", ArgType::Int),
        ArgSpec::new("body", ArgType::Str),
        ArgSpec::new("port", ArgType::Int),
        ArgSpec::new("host", ArgType::Str),
        ArgSpec::new("command", ArgType::Str),
        ArgSpec::new("retries", ArgType::Int),
        ArgSpec::new("delay", ArgType::Float),
        ArgSpec::new("timeout", ArgType::Float),
    ],
    free_form: false,
    one_of: &["url", "port", "command"],
    open: false,
};

/// The `health_check` module.
pub struct HealthCheck;

#[async_trait]
impl Module for HealthCheck {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn kind(&self) -> ModuleKind {
        ModuleKind::HealthCheck
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        if ctx.check_mode {
            return Ok(ModuleResult {
                skipped: true,
                ..ModuleResult::ok().with_msg("health checks do not run in check mode")
            });
        }
        let probe = probe_script(args);
        let retries = args.get("retries").and_then(Value::as_u64).unwrap_or(10);
        let delay = args.get("delay").and_then(Value::as_f64).unwrap_or(1.0);
        let script = format!(
            "i=0; while :; do i=$((i+1)); out=$( {probe} ) && {{ echo \"attempts=$i\"; exit 0; }}\n\
             if [ \"$i\" -gt {retries} ]; then echo \"attempts=$i\"; printf '%s\\n' \"$out\" >&2; exit 1; fi; sleep {delay}; done"
        );
        let out = ctx.run(script).await?;
        let attempts: u64 = out
            .stdout_text()
            .lines()
            .find_map(|l| l.strip_prefix("attempts="))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let result = ModuleResult::ok().with("attempts", attempts);
        if out.exit_code == 0 {
            return Ok(result.with_msg("healthy"));
        }
        let detail = out.stderr_text().trim().to_string();
        Ok(ModuleResult {
            failed: true,
            ..result.with_msg(format!("unhealthy after {attempts} attempts: {detail}"))
        })
    }
}

/// One attempt, as a shell snippet that exits 0 when healthy and prints why not otherwise.
fn probe_script(args: &Map<String, Value>) -> String {
    let timeout = args.get("timeout").and_then(Value::as_f64).unwrap_or(5.0);
    if let Some(url) = arg_str(args, "url") {
        let status = args
            .get("status_code")
            .and_then(Value::as_u64)
            .unwrap_or(200);
        let body_check = match arg_str(args, "body") {
            Some(pattern) => format!(
                " && {{ grep -Eq {} \"$b\" || {{ echo 'the body does not match the expected pattern'; exit 1; }}; }}",
                quote(pattern)
            ),
            None => String::new(),
        };
        return format!(
            "b=$(mktemp); trap 'rm -f \"$b\"' EXIT; code=$(curl -s -o \"$b\" -w '%{{http_code}}' --max-time {timeout} {url}); \
             [ \"$code\" = {status} ] || {{ echo \"status $code, expected {status}\"; exit 1; }}{body_check}",
            url = quote(url)
        );
    }
    if let Some(port) = args.get("port").and_then(Value::as_u64) {
        let host = quote(arg_str(args, "host").unwrap_or("127.0.0.1"));
        return format!(
            "timeout {timeout} bash -c 'exec 3<>/dev/tcp/'{host}'/{port}' 2>/dev/null || {{ echo \"port {port} on \"{host}\" is closed\"; exit 1; }}"
        );
    }
    let command = arg_str(args, "command").unwrap_or("false");
    format!("timeout {timeout} sh -c {} 2>&1", quote(command))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{args, run_local};
    use serde_json::json;

    #[tokio::test]
    async fn a_command_check_passes_or_fails_after_retries() {
        let ok = run_local(&HealthCheck, args(json!({"command": "true"}))).await;
        assert!(!ok.failed && !ok.changed);
        assert_eq!(ok.data["attempts"], 1);
        let bad = run_local(
            &HealthCheck,
            args(json!({"command": "echo not yet; false", "retries": 2, "delay": 0})),
        )
        .await;
        assert!(bad.failed);
        assert_eq!(bad.data["attempts"], 3);
        assert_eq!(
            bad.msg.as_deref(),
            Some("unhealthy after 3 attempts: not yet")
        );
    }

    #[tokio::test]
    async fn a_port_check_sees_a_listener_on_loopback() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let ok = run_local(&HealthCheck, args(json!({"port": port, "retries": 0}))).await;
        assert!(!ok.failed, "{ok:?}");
        drop(listener);
        let closed = run_local(
            &HealthCheck,
            args(json!({"port": port, "retries": 0, "timeout": 1})),
        )
        .await;
        assert!(closed.failed);
    }
}
