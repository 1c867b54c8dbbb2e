//! `pause`: waits a number of seconds or minutes. Prompts are not interactive here: a prompt
//! without a duration fails rather than hang a deploy.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult};

static SPEC: ModuleSpec = ModuleSpec {
    name: "pause",
    aliases: &[],
    args: &[
        ArgSpec::new("seconds", ArgType::Float),
        ArgSpec::new("minutes", ArgType::Float),
        ArgSpec::new("prompt", ArgType::Str),
        ArgSpec::new("echo", ArgType::Bool),
    ],
    free_form: false,
    one_of: &["seconds", "minutes"],
    open: false,
};

/// The `pause` module.
pub struct Pause;

#[async_trait]
impl Module for Pause {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        _ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let seconds = args.get("seconds").and_then(Value::as_f64).unwrap_or(0.0)
            + 60.0 * args.get("minutes").and_then(Value::as_f64).unwrap_or(0.0);
        let started = std::time::Instant::now();
        tokio::time::sleep(Duration::from_secs_f64(seconds.max(0.0))).await;
        Ok(ModuleResult::ok()
            .with("delta", started.elapsed().as_secs())
            .with("echo", true)
            .with("stdout", format!("Paused for {seconds} seconds")))
    }
}
