//! The step of a dynamic include (`include_tasks`, `include_role`): it changes nothing and
//! reports the file or role it includes; the executor then walks the included tasks. Not a
//! module users name: the compiler builds it for include keywords.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_str};

const ARGS: &[ArgSpec] = &[ArgSpec::new("include", ArgType::Str).required()];

static TASKS: ModuleSpec = ModuleSpec {
    name: "include_tasks",
    aliases: &[],
    args: ARGS,
    free_form: false,
    one_of: &[],
    open: false,
};

static ROLE: ModuleSpec = ModuleSpec {
    name: "include_role",
    aliases: &[],
    args: ARGS,
    free_form: false,
    one_of: &[],
    open: false,
};

/// The include step; `role` tells `include_role` from `include_tasks`.
pub struct Include {
    /// Whether it includes a role.
    pub role: bool,
}

#[async_trait]
impl Module for Include {
    fn spec(&self) -> &'static ModuleSpec {
        if self.role { &ROLE } else { &TASKS }
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        _ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let name = arg_str(args, "include").unwrap_or_default();
        Ok(ModuleResult::ok().with("include", name))
    }
}
