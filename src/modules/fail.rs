//! `fail`: fails the host with a message.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult};

static SPEC: ModuleSpec = ModuleSpec {
    name: "fail",
    aliases: &[],
    args: &[ArgSpec::new("msg", ArgType::Raw)],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `fail` module.
pub struct Fail;

#[async_trait]
impl Module for Fail {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        _ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let msg = match args.get("msg") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => "Failed as requested from task".to_string(),
        };
        Ok(ModuleResult::failed(msg))
    }
}
