//! `raw`: runs a command line on the host as it is written, through `sh` (or `executable`), with
//! no `creates`/`removes` and no argument splitting. Meant for bootstrapping and odd hosts; the
//! output is reported like `command`'s (`rc`, `stdout`, `stderr`, ...). Skipped in check mode.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::command::{command_line, run_guarded};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_str};
use crate::transport::quote;

static SPEC: ModuleSpec = ModuleSpec {
    name: "raw",
    aliases: &[],
    args: &[ArgSpec::new("executable", ArgType::Str)],
    free_form: true,
    one_of: &["_raw_params"],
    open: false,
};

/// The `raw` module.
pub struct Raw;

#[async_trait]
impl Module for Raw {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let line = command_line(args);
        if line.trim().is_empty() {
            return Ok(ModuleResult::failed("no command given"));
        }
        let script = match arg_str(args, "executable") {
            Some(shell) => format!("exec {} -c {}", quote(shell), quote(&line)),
            None => line.clone(),
        };
        run_guarded(args, ctx, script, Value::String(line)).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::modules::testing::{LocalRun, args, run_local};

    #[tokio::test]
    async fn runs_the_line_as_written() {
        let result = run_local(
            &Raw,
            args(json!({"_raw_params": "echo \"$((1 + 2))\" | tr 3 x"})),
        )
        .await;
        assert!(result.changed && !result.failed);
        assert_eq!(result.data["stdout"], "x");
        let shell = json!({"_raw_params": "echo $0", "executable": "/bin/sh"});
        assert_eq!(run_local(&Raw, args(shell)).await.data["stdout"], "/bin/sh");
        let failing = run_local(&Raw, args(json!({"_raw_params": "exit 4"}))).await;
        assert!(failing.failed);
        assert_eq!(failing.data["rc"], 4);
    }

    #[tokio::test]
    async fn is_skipped_in_check_mode() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("ran");
        let task =
            args(json!({"_raw_params": format!("touch {}", quote(marker.to_str().unwrap()))}));
        let result = LocalRun::check().run(&Raw, task).await;
        assert!(result.skipped && !marker.exists());
    }
}
