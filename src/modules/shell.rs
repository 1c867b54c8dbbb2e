//! `shell`: runs a command line through a shell, so pipes, redirects and variables work.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::command::{COMMON_ARGS, command_line, run_guarded};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_str};
use crate::transport::quote;

static SPEC: ModuleSpec = ModuleSpec {
    name: "shell",
    aliases: &[],
    args: &[
        COMMON_ARGS[0],
        COMMON_ARGS[1],
        COMMON_ARGS[2],
        COMMON_ARGS[3],
        COMMON_ARGS[4],
        COMMON_ARGS[5],
        ArgSpec::new("executable", ArgType::Str),
    ],
    free_form: true,
    one_of: &["_raw_params", "cmd"],
    open: false,
};

/// The `shell` module.
pub struct Shell;

#[async_trait]
impl Module for Shell {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let line = command_line(args);
        let script = match arg_str(args, "executable") {
            Some(shell) => format!("{} -c {}", quote(shell), quote(&line)),
            None => line.clone(),
        };
        run_guarded(args, ctx, script, Value::String(line)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{args, run_local};
    use serde_json::json;

    #[tokio::test]
    async fn pipes_and_variables_work() {
        let result = run_local(
            &Shell,
            args(json!({"_raw_params": "X=4; echo $X | tr 4 5"})),
        )
        .await;
        assert_eq!(result.data["stdout"], "5");
        assert_eq!(result.data["cmd"], "X=4; echo $X | tr 4 5");
    }
}
