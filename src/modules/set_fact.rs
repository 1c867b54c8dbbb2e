//! `set_fact`: sets host variables from the task's arguments; runs nothing on the host.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult};

static SPEC: ModuleSpec = ModuleSpec {
    name: "set_fact",
    aliases: &[],
    args: &[ArgSpec::new("cacheable", ArgType::Bool)],
    free_form: false,
    one_of: &[],
    open: true,
};

/// The `set_fact` module.
pub struct SetFact;

#[async_trait]
impl Module for SetFact {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        _ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let mut facts = args.clone();
        facts.remove("cacheable");
        Ok(ModuleResult {
            facts,
            ..ModuleResult::ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{args, run_local};
    use serde_json::json;

    #[tokio::test]
    async fn arguments_become_facts() {
        let result = run_local(&SetFact, args(json!({"a": 1, "b": [2], "cacheable": true}))).await;
        assert_eq!(Value::Object(result.facts), json!({"a": 1, "b": [2]}));
        assert!(!result.changed);
    }
}
