//! `group_by`: puts the host in a group of the run's inventory, made from its variables
//! (`key: os_{{ ansible_distribution }}`), for the plays after it; runs nothing on the host.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{InventoryChange, Module, ModuleContext, ModuleError, ModuleResult, arg_str};
use crate::template::python_str;

static SPEC: ModuleSpec = ModuleSpec {
    name: "group_by",
    aliases: &[],
    args: &[
        ArgSpec::new("key", ArgType::Str).required(),
        ArgSpec::new("parents", ArgType::Raw),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `group_by` module.
pub struct GroupBy;

#[async_trait]
impl Module for GroupBy {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        _ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        // Like Ansible, spaces in group names become dashes.
        let dashed = |name: &str| name.replace(' ', "-");
        let group = dashed(arg_str(args, "key").unwrap_or_default());
        let parents: Vec<String> = match args.get("parents") {
            None => vec!["all".to_string()],
            Some(Value::Array(names)) => names.iter().map(|n| dashed(&python_str(n))).collect(),
            Some(name) => vec![dashed(&python_str(name))],
        };
        let mut result = ModuleResult::ok()
            .with("add_group", group.clone())
            .with("parent_groups", parents.clone());
        result.inventory = Some(InventoryChange::GroupBy { group, parents });
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{args, run_local};
    use serde_json::json;

    #[tokio::test]
    async fn the_group_is_named_by_the_key_with_dashes_for_spaces() {
        let result = run_local(&GroupBy, args(json!({"key": "os Debian"}))).await;
        assert_eq!(
            result.inventory,
            Some(InventoryChange::GroupBy {
                group: "os-Debian".into(),
                parents: vec!["all".into()],
            })
        );
        assert_eq!(result.data["add_group"], "os-Debian");
        assert_eq!(result.data["parent_groups"], json!(["all"]));
        assert!(!result.changed);
    }

    #[tokio::test]
    async fn parents_are_given_as_a_list() {
        let result = run_local(
            &GroupBy,
            args(json!({"key": "web", "parents": ["a b", "c"]})),
        )
        .await;
        assert_eq!(result.data["parent_groups"], json!(["a-b", "c"]));
        let result = run_local(&GroupBy, args(json!({"key": "web", "parents": "a,b"}))).await;
        assert_eq!(result.data["parent_groups"], json!(["a,b"]));
    }
}
