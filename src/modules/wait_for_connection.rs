//! `wait_for_connection`: waits until the host runs commands again (after a reboot, say). After
//! `delay` seconds it tries a trivial command every `sleep` seconds, each try limited to
//! `connect_timeout`, for at most `timeout` seconds; a connection or a long-lived shell that
//! went away is reopened by the try. Changes nothing, also in check mode, as in Ansible.

use std::time::Instant;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_seconds};

static SPEC: ModuleSpec = ModuleSpec {
    name: "wait_for_connection",
    aliases: &[],
    args: &[
        ArgSpec::new("connect_timeout", ArgType::Int),
        ArgSpec::new("delay", ArgType::Int),
        ArgSpec::new("sleep", ArgType::Int),
        ArgSpec::new("timeout", ArgType::Int),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `wait_for_connection` module.
pub struct WaitForConnection;

#[async_trait]
impl Module for WaitForConnection {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let connect_timeout = arg_seconds(args, "connect_timeout", 5);
        let pause = arg_seconds(args, "sleep", 1);
        let timeout = arg_seconds(args, "timeout", 600);
        tokio::time::sleep(arg_seconds(args, "delay", 0)).await;
        let started = Instant::now();
        loop {
            let why = match tokio::time::timeout(connect_timeout, ctx.run("echo pong")).await {
                Ok(Ok(out)) if out.exit_code == 0 && out.stdout_text().trim() == "pong" => {
                    return Ok(ModuleResult::ok().with("elapsed", started.elapsed().as_secs()));
                }
                Ok(Ok(out)) => format!("the shell answered {}", out.stderr_text().trim()),
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("no answer within {} s", connect_timeout.as_secs()),
            };
            if started.elapsed() + pause >= timeout {
                return Ok(ModuleResult::failed(format!(
                    "timed out waiting for ping module test: {why}"
                ))
                .with("elapsed", started.elapsed().as_secs()));
            }
            tracing::debug!(host = ctx.host, "not reachable yet: {why}");
            tokio::time::sleep(pause).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::modules::testing::{FakeHost, args, local_context};
    use crate::template::Templater;

    #[tokio::test]
    async fn a_host_that_answers_is_ok_at_once() {
        let out = crate::modules::testing::run_local(&WaitForConnection, args(json!({}))).await;
        assert!(!out.failed && !out.changed, "{out:?}");
        assert_eq!(out.data["elapsed"], 0);
    }

    #[tokio::test]
    async fn a_host_that_never_answers_fails_after_the_timeout() {
        let host = FakeHost::new().reply("echo pong", "", 255);
        let vars = json!({});
        let templater = Templater::new();
        let ctx = ModuleContext {
            transport: &host,
            ..local_context(&vars, &templater)
        };
        let task = args(json!({"timeout": 1, "sleep": 1}));
        let out = WaitForConnection.run(&task, &ctx).await.unwrap();
        assert!(out.failed);
        assert!(
            out.msg
                .unwrap()
                .starts_with("timed out waiting for ping module test:"),
        );
        assert!(!host.scripts().is_empty());
    }
}
