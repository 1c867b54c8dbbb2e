//! `assert`: fails the host unless every condition holds.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool};

static SPEC: ModuleSpec = ModuleSpec {
    name: "assert",
    aliases: &[],
    args: &[
        ArgSpec::new("that", ArgType::ExprList).required(),
        ArgSpec::new("fail_msg", ArgType::Raw).aliases(&["msg"]),
        ArgSpec::new("success_msg", ArgType::Raw),
        ArgSpec::new("quiet", ArgType::Bool),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `assert` module.
pub struct Assert;

#[async_trait]
impl Module for Assert {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let conditions = args
            .get("that")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for condition in &conditions {
            let expr = match condition {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let holds = match ctx.templater.eval_condition(&expr, ctx.vars) {
                Ok(holds) => holds,
                Err(e) => {
                    return Ok(ModuleResult::failed(format!(
                        "cannot evaluate `{expr}`: {e}"
                    )));
                }
            };
            if !holds {
                let msg = message(args.get("fail_msg"), "Assertion failed");
                return Ok(ModuleResult::failed(msg)
                    .with("assertion", expr)
                    .with("evaluated_to", false));
            }
        }
        let mut result = ModuleResult::ok();
        if !arg_bool(args, "quiet", false) {
            result.msg = Some(message(args.get("success_msg"), "All assertions passed"));
        }
        Ok(result)
    }
}

fn message(value: Option<&Value>, default: &str) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => default.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{args, run_local};
    use serde_json::json;

    #[tokio::test]
    async fn passes_and_fails_on_conditions() {
        let ok = run_local(
            &Assert,
            args(json!({"that": ["answer == 42", "answer > 1"]})),
        )
        .await;
        assert!(!ok.failed);
        assert_eq!(ok.msg.as_deref(), Some("All assertions passed"));
        let bad = run_local(
            &Assert,
            args(json!({"that": ["answer == 42", "answer < 1"], "fail_msg": "too big"})),
        )
        .await;
        assert!(bad.failed);
        assert_eq!(bad.msg.as_deref(), Some("too big"));
        assert_eq!(bad.data["assertion"], "answer < 1");
    }
}
