//! `add_host`: adds a host to the run's inventory (or updates it), with groups and variables,
//! for the plays after it; runs nothing on any host. Like Ansible's, it runs once per batch
//! (see [`ModuleKind::OncePerBatch`]), once per item in a loop.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::spec::ModuleSpec;
use super::{InventoryChange, Module, ModuleContext, ModuleError, ModuleKind, ModuleResult};
use crate::template::python_str;

static SPEC: ModuleSpec = ModuleSpec {
    name: "add_host",
    aliases: &[],
    args: &[],
    free_form: false,
    one_of: &[],
    open: true,
};

/// Arguments that name the host or its groups; every other argument is a host variable, as in
/// Ansible (where `host` and `group` also become variables).
const SPECIAL: [&str; 4] = ["name", "hostname", "groupname", "groups"];

/// The `add_host` module.
pub struct AddHost;

#[async_trait]
impl Module for AddHost {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn kind(&self) -> ModuleKind {
        ModuleKind::OncePerBatch
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        _ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let written = ["name", "hostname", "host"]
            .iter()
            .find_map(|key| args.get(*key));
        let Some(written) = written else {
            return Ok(ModuleResult::failed(
                "name, host or hostname needs to be provided",
            ));
        };
        let (name, port) = split_port(&python_str(written));
        let mut vars: Map<String, Value> = args
            .iter()
            .filter(|(key, _)| !SPECIAL.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        if let Some(port) = port {
            vars.insert("ansible_ssh_port".into(), Value::from(port));
        }
        let groups = match ["groupname", "groups", "group"]
            .iter()
            .find_map(|key| args.get(*key))
        {
            None => Vec::new(),
            Some(Value::Array(names)) => names.iter().map(python_str).collect(),
            Some(Value::String(names)) => names.split(',').map(str::to_string).collect(),
            Some(other) => {
                return Ok(ModuleResult::failed(format!(
                    "Groups must be specified as a list, not {}",
                    super::spec::kind(other)
                )));
            }
        };
        let mut unique: Vec<String> = Vec::new();
        for group in groups.iter().map(|g| g.trim()).filter(|g| !g.is_empty()) {
            if !unique.iter().any(|u| u == group) {
                unique.push(group.to_string());
            }
        }
        let mut result = ModuleResult::ok().with(
            "add_host",
            serde_json::json!({"host_name": name, "groups": unique, "host_vars": vars}),
        );
        result.inventory = Some(InventoryChange::AddHost {
            name,
            groups: unique,
            vars,
        });
        Ok(result)
    }
}

/// Splits `host:port` (or `[v6 address]:port`) into the name and the port, as Ansible's
/// `parse_address` does for `add_host`; a name without a port is returned whole.
fn split_port(written: &str) -> (String, Option<u16>) {
    let split = |name: &str, port: &str| port.parse().ok().map(|port| (name.to_string(), port));
    let parsed = if let Some(rest) = written.strip_prefix('[') {
        rest.split_once("]:")
            .and_then(|(name, port)| split(name, port))
    } else {
        match written.split_once(':') {
            Some((name, port)) if !port.contains(':') => split(name, port),
            _ => None,
        }
    };
    match parsed {
        Some((name, port)) => (name, Some(port)),
        None => (written.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{args, run_local};
    use serde_json::json;

    #[tokio::test]
    async fn other_arguments_become_host_variables() {
        let result = run_local(
            &AddHost,
            args(json!({"name": "web9", "groups": "web, new,web", "ansible_host": "10.0.0.9", "role": "x"})),
        )
        .await;
        assert_eq!(
            result.inventory,
            Some(InventoryChange::AddHost {
                name: "web9".into(),
                groups: vec!["web".into(), "new".into()],
                vars: args(json!({"ansible_host": "10.0.0.9", "role": "x"})),
            })
        );
        assert_eq!(
            result.data["add_host"],
            json!({"host_name": "web9", "groups": ["web", "new"], "host_vars": {"ansible_host": "10.0.0.9", "role": "x"}})
        );
    }

    #[tokio::test]
    async fn a_port_in_the_name_becomes_ansible_ssh_port() {
        let result = run_local(
            &AddHost,
            args(json!({"hostname": "db:2201", "group": ["db"]})),
        )
        .await;
        let Some(InventoryChange::AddHost { name, groups, vars }) = result.inventory else {
            panic!("no change: {result:?}");
        };
        assert_eq!((name.as_str(), groups), ("db", vec!["db".to_string()]));
        assert_eq!(vars["ansible_ssh_port"], 2201);
        assert_eq!(
            vars["group"],
            json!(["db"]),
            "`group` is also a variable, as in Ansible"
        );
    }

    #[tokio::test]
    async fn a_name_is_required() {
        let result = run_local(&AddHost, args(json!({"groups": "web"}))).await;
        assert!(result.failed);
        assert_eq!(split_port("[::1]:22"), ("::1".into(), Some(22)));
        assert_eq!(split_port("fe80::1"), ("fe80::1".into(), None));
    }
}
