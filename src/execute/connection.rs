//! Which connection a task uses. Ansible resolves the connection variables (`ansible_user`,
//! `ansible_host`, ...) per task from all its variables, and the connection keywords
//! (`remote_user`, `port`, `connection`) where no such variable is set. Where they give what the
//! inventory gives, the host's own connection serves; otherwise one is opened for them (sharing
//! the run's SSH connections and shells with every other task that asks for the same).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::Run;
use super::context::PlayContext;
use super::state::HostState;
use crate::compile::ConnectionKeywords;
use crate::modules::{ArgError, ModuleError};
use crate::template::Templater;
use crate::transport::{CONNECTION_VARS, Transport};

impl Run<'_> {
    /// The transport for what the play itself runs on `host` (gathering facts): the play's
    /// keywords and variables decide, as for a task.
    pub(super) async fn play_connection(
        &self,
        play: &PlayContext<'_>,
        host: &HostState,
    ) -> Result<Option<Arc<dyn Transport>>, ModuleError> {
        let mut vars = self.task_vars(play, host, None, &Map::new());
        self.templater
            .resolve_vars(&mut vars, CONNECTION_VARS.iter().map(|v| v.to_string()))
            .map_err(|message| ArgError { arg: None, message })?;
        self.connection_for(host, &play.play.connection, &Value::Object(vars))
            .await
    }

    /// The transport for `host` under `keywords` and the task's resolved `vars`: `None` when the
    /// host's inventory connection is the one.
    pub(super) async fn connection_for(
        &self,
        host: &HostState,
        keywords: &ConnectionKeywords,
        vars: &Value,
    ) -> Result<Option<Arc<dyn Transport>>, ModuleError> {
        let wanted = connection_vars(
            &host.inventory_vars.lock().expect("vars lock"),
            keywords,
            vars,
            self.templater,
        )
        .map_err(|message| ArgError { arg: None, message })?;
        match wanted {
            None => Ok(None),
            Some(wanted) => Ok(Some(self.connector.connect(&host.name, &wanted).await?)),
        }
    }
}

/// The connection variables every host has unless its variables say otherwise, as Ansible
/// defines them: `ansible_connection` (ansible.cfg's `transport`, else `ssh`).
pub(super) fn connection_defaults() -> Map<String, Value> {
    let connection = crate::config::settings()
        .connection
        .as_deref()
        .unwrap_or("ssh");
    Map::from_iter([("ansible_connection".to_string(), Value::from(connection))])
}

/// The connection variables `vars` and `keywords` give, over the inventory's (and the defaults);
/// `None` when they change nothing. `vars` holds the task's variables with the connection
/// variables resolved.
fn connection_vars(
    inventory: &Map<String, Value>,
    keywords: &ConnectionKeywords,
    vars: &Value,
    templater: &Templater,
) -> Result<Option<Map<String, Value>>, String> {
    let defaults = connection_defaults();
    let known = |name: &str| inventory.get(name).or_else(|| defaults.get(name));
    let mut changes = Map::new();
    for name in CONNECTION_VARS {
        if let Some(value) = vars.get(*name)
            && known(name) != Some(value)
        {
            changes.insert(name.to_string(), value.clone());
        }
    }
    // A variable beats a keyword; the defaults are no variable of the author's.
    let set = |name: &str| {
        vars.get(name)
            .is_some_and(|v| inventory.contains_key(name) || defaults.get(name) != Some(v))
    };
    for (template, overridden_by) in keywords.given() {
        if overridden_by.iter().any(|name| set(name)) {
            continue;
        }
        let value = templater
            .render_value(&Value::String(template.to_string()), vars)
            .map_err(|e| format!("cannot render `{template}`: {e}"))?;
        changes.insert(overridden_by[0].to_string(), value);
    }
    if changes.is_empty() {
        return Ok(None);
    }
    // Only a task that connects differently pays for a copy of the host's variables.
    let mut wanted = defaults;
    wanted.extend(inventory.clone());
    wanted.extend(changes);
    Ok(Some(wanted))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("an object")
    }

    fn keywords(remote_user: Option<&str>, port: Option<&str>) -> ConnectionKeywords {
        ConnectionKeywords {
            remote_user: remote_user.map(str::to_string),
            port: port.map(str::to_string),
            connection: None,
        }
    }

    #[test]
    fn the_inventory_connection_serves_when_nothing_differs() {
        let inventory = object(json!({"ansible_user": "deploy", "ansible_port": 22}));
        let vars = json!({"ansible_user": "deploy", "ansible_port": 22, "app": "x"});
        let none = connection_vars(&inventory, &keywords(None, None), &vars, &Templater::new());
        assert_eq!(none, Ok(None));
    }

    #[test]
    fn task_variables_beat_the_inventory_and_keywords_fill_in_below_them() {
        let inventory = object(json!({"ansible_user": "deploy", "ansible_host": "10.0.0.5"}));
        let vars = json!({"ansible_user": "admin", "ansible_host": "10.0.0.5", "p": 2200});
        let wanted = connection_vars(
            &inventory,
            &keywords(Some("root"), Some("{{ p }}")),
            &vars,
            &Templater::new(),
        )
        .unwrap()
        .unwrap();
        // ansible_user beats remote_user; port is only a keyword, rendered with the vars.
        assert_eq!(wanted["ansible_user"], "admin");
        assert_eq!(wanted["ansible_port"], 2200);
        assert_eq!(wanted["ansible_host"], "10.0.0.5");
    }

    #[test]
    fn a_keyword_applies_where_no_variable_is_set() {
        let wanted = connection_vars(
            &Map::new(),
            &ConnectionKeywords {
                connection: Some("local".into()),
                ..keywords(Some("ops"), None)
            },
            &json!({"ansible_connection": "ssh"}),
            &Templater::new(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(wanted["ansible_user"], "ops");
        assert_eq!(wanted["ansible_connection"], "local");
    }
}
