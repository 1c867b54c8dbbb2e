//! `meta`: asks the executor itself to act (flush handlers, end the play, the batch or the host,
//! forget the host's facts or errors), or closes the host's connection.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::spec::ModuleSpec;
use super::{Control, Module, ModuleContext, ModuleError, ModuleKind, ModuleResult, arg_str};

static SPEC: ModuleSpec = ModuleSpec {
    name: "meta",
    aliases: &[],
    args: &[],
    free_form: true,
    one_of: &["_raw_params"],
    open: false,
};

/// The actions `meta` understands.
pub const ACTIONS: [&str; 8] = [
    "flush_handlers",
    "end_play",
    "end_batch",
    "end_host",
    "clear_host_errors",
    "clear_facts",
    "reset_connection",
    "noop",
];

/// The `meta` module.
pub struct Meta;

#[async_trait]
impl Module for Meta {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn kind(&self) -> ModuleKind {
        ModuleKind::Meta
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let action = arg_str(args, "_raw_params").unwrap_or_default().trim();
        let control = match action {
            "flush_handlers" => Some(Control::FlushHandlers),
            "end_play" => Some(Control::EndPlay),
            "end_batch" => Some(Control::EndBatch),
            "end_host" => Some(Control::EndHost),
            "clear_host_errors" => Some(Control::ClearHostErrors),
            "clear_facts" => Some(Control::ClearFacts),
            "reset_connection" => {
                ctx.transport.reset().await;
                None
            }
            "noop" => None,
            other => {
                return Ok(ModuleResult::failed(format!(
                    "unknown meta action `{other}`; known: {}",
                    ACTIONS.join(", ")
                )));
            }
        };
        Ok(ModuleResult {
            control,
            ..ModuleResult::ok()
        })
    }
}
