//! `debug`: prints a message or a variable's value; changes nothing.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_str};

static SPEC: ModuleSpec = ModuleSpec {
    name: "debug",
    aliases: &[],
    args: &[
        ArgSpec::new("msg", ArgType::Raw),
        ArgSpec::new("var", ArgType::Expr),
        ArgSpec::new("verbosity", ArgType::Int),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `debug` module.
pub struct Debug;

#[async_trait]
impl Module for Debug {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        if let Some(var) = arg_str(args, "var") {
            let value = ctx
                .templater
                .eval_expression(var, ctx.vars)
                .unwrap_or_else(|_| Value::String("VARIABLE IS NOT DEFINED!".into()));
            return Ok(ModuleResult::ok().with(var, value));
        }
        let msg = args
            .get("msg")
            .cloned()
            .unwrap_or_else(|| Value::String("Hello world!".into()));
        Ok(ModuleResult::ok().with("msg", msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{args, run_local};
    use serde_json::json;

    #[tokio::test]
    async fn message_var_and_default() {
        let result = run_local(&Debug, args(json!({"msg": ["a", 1]}))).await;
        assert_eq!(
            result.to_registered(),
            json!({"msg": ["a", 1], "changed": false, "failed": false})
        );
        let result = run_local(&Debug, args(json!({"var": "answer"}))).await;
        assert_eq!(result.data["answer"], 42);
        let result = run_local(&Debug, args(json!({"var": "nope"}))).await;
        assert_eq!(result.data["nope"], "VARIABLE IS NOT DEFINED!");
        let result = run_local(&Debug, args(json!({}))).await;
        assert_eq!(result.data["msg"], "Hello world!");
    }
}
