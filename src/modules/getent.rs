//! `getent`: reads a name-service database on the host (`passwd`, `group`, `hosts`, ...) and sets
//! `getent_<database>` to its entries keyed by their first field, as Ansible does. Changes nothing.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};
use crate::transport::quote;

static SPEC: ModuleSpec = ModuleSpec {
    name: "getent",
    aliases: &[],
    args: &[
        ArgSpec::new("database", ArgType::Str).required(),
        ArgSpec::new("key", ArgType::Str),
        ArgSpec::new("service", ArgType::Str),
        ArgSpec::new("split", ArgType::Str),
        ArgSpec::new("fail_key", ArgType::Bool),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// Databases whose fields are split at `:` unless `split` says otherwise.
const COLON: &[&str] = &["passwd", "shadow", "group", "gshadow"];

/// The `getent` module.
pub struct Getent;

#[async_trait]
impl Module for Getent {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let database = arg_str(args, "database").unwrap_or_default();
        let key = arg_str(args, "key");
        let mut command = format!("getent {}", quote(database));
        if let Some(key) = key {
            command.push_str(&format!(" {}", quote(key)));
        }
        if let Some(service) = arg_str(args, "service") {
            command.push_str(&format!(" -s {}", quote(service)));
        }
        let split = arg_str(args, "split").or(COLON.contains(&database).then_some(":"));
        let out = ctx.run(command).await?;
        let tree = format!("getent_{database}");
        let msg = match out.exit_code {
            0 => {
                let entries = parse(&out.stdout_text(), split);
                return Ok(with_fact(ModuleResult::ok(), &tree, entries));
            }
            1 => "Missing arguments, or database unknown.",
            2 => {
                let msg = "One or more supplied key could not be found in the database.";
                if !arg_bool(args, "fail_key", true) {
                    let entries = Map::from_iter([(key.unwrap_or("").into(), Value::Null)]);
                    return Ok(with_fact(ModuleResult::ok().with_msg(msg), &tree, entries));
                }
                msg
            }
            3 => "Enumeration not supported on this database.",
            _ => "Unexpected failure!",
        };
        Ok(ModuleResult::failed(msg))
    }
}

fn with_fact(mut result: ModuleResult, tree: &str, entries: Map<String, Value>) -> ModuleResult {
    result
        .facts
        .insert(tree.to_string(), Value::Object(entries));
    result
}

/// The entries keyed by their first field; a key seen again holds the list of its records.
fn parse(output: &str, split: Option<&str>) -> Map<String, Value> {
    let mut entries = Map::new();
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for line in output.lines() {
        let fields: Vec<&str> = match split {
            Some(sep) => line.split(sep).collect(),
            None => line.split_whitespace().collect(),
        };
        let Some((first, rest)) = fields.split_first() else {
            continue;
        };
        let record = Value::from(rest.to_vec());
        let count = seen.entry(first.to_string()).or_insert(0);
        *count += 1;
        match (*count, entries.get_mut(*first)) {
            (2, Some(old)) => *old = Value::Array(vec![old.take(), record]),
            (_, Some(Value::Array(list))) => list.push(record),
            _ => {
                entries.insert(first.to_string(), record);
            }
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeHost, args, run_on};
    use serde_json::json;

    #[tokio::test]
    async fn entries_become_a_fact_keyed_by_their_first_field() {
        let host =
            FakeHost::new().reply("getent passwd root", "root:x:0:0:root:/root:/bin/bash\n", 0);
        let given = json!({"database": "passwd", "key": "root"});
        let result = run_on(&Getent, args(given), &host, true).await;
        assert_eq!(
            Value::Object(result.facts),
            json!({"getent_passwd": {"root": ["x", "0", "0", "root", "/root", "/bin/bash"]}})
        );
        assert!(!result.changed);
    }

    #[tokio::test]
    async fn a_missing_key_fails_unless_fail_key_is_false() {
        let host = FakeHost::new().reply("getent", "", 2);
        let given = json!({"database": "group", "key": "nope"});
        let result = run_on(&Getent, args(given), &host, false).await;
        assert!(result.failed);
        let given = json!({"database": "group", "key": "nope", "fail_key": false});
        let result = run_on(&Getent, args(given), &host, false).await;
        assert!(!result.failed);
        assert_eq!(
            Value::Object(result.facts),
            json!({"getent_group": {"nope": null}})
        );
    }

    #[test]
    fn whitespace_splits_and_repeated_keys_become_lists() {
        let parsed = parse("::1 localhost ip6\n::1 other\n::1 third\n", None);
        assert_eq!(
            Value::Object(parsed),
            json!({"::1": [["localhost", "ip6"], ["other"], ["third"]]})
        );
    }
}
