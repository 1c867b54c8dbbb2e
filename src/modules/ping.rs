//! `ping`: proves the host runs commands (a shell round trip), answering `pong`.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_str};

static SPEC: ModuleSpec = ModuleSpec {
    name: "ping",
    aliases: &[],
    args: &[ArgSpec::new("data", ArgType::Str)],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `ping` module.
pub struct Ping;

#[async_trait]
impl Module for Ping {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let data = arg_str(args, "data").unwrap_or("pong");
        if data == "crash" {
            return Ok(ModuleResult::failed("boom"));
        }
        let out = ctx.run("echo pong").await?;
        if out.exit_code != 0 || out.stdout_text().trim() != "pong" {
            return Ok(ModuleResult::failed(format!(
                "the host's shell did not answer: {}",
                out.stderr_text().trim()
            )));
        }
        Ok(ModuleResult::ok().with("ping", data))
    }
}
