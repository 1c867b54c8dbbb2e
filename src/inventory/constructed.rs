//! Ansible's `constructed` options (`compose`, `groups`, `keyed_groups`, `strict`), applied to
//! the hosts read so far: by a `plugin: constructed` file in an inventory folder (after the files
//! sorted before it, as Ansible reads them), and by the cloud inventories that take them.
//!
//! Expressions see each host's inventory variables with `inventory_hostname` and `group_names`;
//! a value is never rendered as a template, only the expressions written in the options.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::graph::Graph;
use crate::template::Templater;

/// The options, as Ansible's `constructed` plugin spells them.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Constructed {
    /// Fail on an expression that cannot be evaluated, instead of skipping it.
    pub strict: bool,
    /// Variables to set: name → expression.
    pub compose: IndexMap<String, String>,
    /// Groups to add each host to when the condition holds: name → condition.
    pub groups: IndexMap<String, String>,
    /// Groups named after the value of an expression.
    pub keyed_groups: Vec<KeyedGroup>,
    /// Put the separator before the key even without a prefix (Ansible's default: yes).
    #[serde(default = "yes")]
    pub leading_separator: bool,
}

/// One `keyed_groups` entry.
#[derive(Debug, Deserialize)]
pub(super) struct KeyedGroup {
    /// The expression whose value (a string, a list, or a mapping) names the groups.
    pub key: String,
    /// Put before each name.
    #[serde(default)]
    pub prefix: String,
    /// Between the prefix and the name.
    #[serde(default = "underscore")]
    pub separator: String,
    /// A group the new groups are made children of.
    pub parent_group: Option<String>,
    /// The name used for an empty value.
    pub default_value: Option<String>,
    /// For an empty mapping value without `default_value`: keep the separator after the key.
    #[serde(default = "yes")]
    pub trailing_separator: bool,
}

fn yes() -> bool {
    true
}

fn underscore() -> String {
    "_".into()
}

impl Constructed {
    /// Whether there is anything to do.
    pub fn is_empty(&self) -> bool {
        self.compose.is_empty() && self.groups.is_empty() && self.keyed_groups.is_empty()
    }

    /// Applies the options to every host in `graph`; returns the first error when `strict`.
    pub fn apply(&self, graph: &mut Graph) -> Result<(), String> {
        if self.is_empty() {
            return Ok(());
        }
        graph.reconcile();
        let templater = Templater::new();
        let hosts: Vec<String> = graph.hosts.keys().cloned().collect();
        for host in &hosts {
            for (name, expression) in &self.compose {
                let vars = host_context(graph, host);
                if let Some(value) = self.eval(&templater, expression, &vars, name)? {
                    graph.hosts[host.as_str()].vars.insert(name.clone(), value);
                }
            }
            let vars = host_context(graph, host);
            for (group, condition) in &self.groups {
                let holds = self.eval(&templater, condition, &vars, group)?;
                if holds.is_some_and(|v| truthy(&v)) {
                    graph.add_host(host, &safe_group_name(group));
                }
            }
            for keyed in &self.keyed_groups {
                let Some(key) = self.eval(&templater, &keyed.key, &vars, &keyed.key)? else {
                    continue;
                };
                for name in self.keyed_names(keyed, &key) {
                    let group = safe_group_name(&name);
                    graph.add_host(host, &group);
                    if let Some(parent) = &keyed.parent_group {
                        graph.add_child(&safe_group_name(parent), &group)?;
                    }
                }
            }
        }
        graph.reconcile();
        Ok(())
    }

    /// Evaluates one expression: `None` when it fails or is undefined and `strict` is off.
    fn eval(
        &self,
        templater: &Templater,
        expression: &str,
        vars: &Value,
        what: &str,
    ) -> Result<Option<Value>, String> {
        match templater.eval_expression(expression, vars) {
            Ok(value) => Ok(Some(value)),
            Err(e) if self.strict => Err(format!("`{what}`: {e}")),
            Err(_) => Ok(None),
        }
    }

    /// The group names a `keyed_groups` entry makes of `key`'s value, Ansible's way.
    fn keyed_names(&self, keyed: &KeyedGroup, key: &Value) -> Vec<String> {
        let or_default = |name: String| match (&keyed.default_value, name.is_empty()) {
            (Some(default), true) => default.clone(),
            _ => name,
        };
        let bare: Vec<String> = match key {
            Value::Null => keyed.default_value.iter().cloned().collect(),
            Value::Array(items) => items.iter().map(|v| or_default(text(v))).collect(),
            Value::Object(map) => (map.iter())
                .map(|(name, value)| match (text(value), &keyed.default_value) {
                    (v, _) if !v.is_empty() => format!("{name}{}{v}", keyed.separator),
                    (_, Some(default)) => format!("{name}{}{default}", keyed.separator),
                    _ if keyed.trailing_separator => format!("{name}{}", keyed.separator),
                    _ => name.clone(),
                })
                .collect(),
            other => vec![or_default(text(other))],
        };
        let separator = if keyed.prefix.is_empty() && !self.leading_separator {
            ""
        } else {
            keyed.separator.as_str()
        };
        (bare.into_iter())
            .map(|name| format!("{}{separator}{name}", keyed.prefix))
            .collect()
    }
}

/// A host's variables for expressions: its inventory variables and its magic names.
fn host_context(graph: &Graph, host: &str) -> Value {
    let mut vars: Map<String, Value> = graph.source_vars(host);
    vars.insert("inventory_hostname".into(), host.into());
    let short = host.split('.').next().unwrap_or(host);
    vars.insert("inventory_hostname_short".into(), short.into());
    vars.insert("group_names".into(), graph.group_names(host).into());
    Value::Object(vars)
}

/// Makes data read from a cloud inert: a string that would be a template (`{{`, `{%`, `{#`)
/// becomes one printing the string itself, so that rendering the variable later (Ansible renders
/// variables lazily) gives back the data and runs none of it, as Ansible's `unsafe` marking does.
pub(super) fn inert(value: &mut Value) {
    match value {
        Value::String(text) if ["{{", "{%", "{#"].iter().any(|m| text.contains(m)) => {
            // A string constant inside `{% %}` has its escapes decoded (inside `{{ }}` they are
            // kept as written, as in Ansible), so the JSON literal gives back the text exactly.
            let literal = Value::String(std::mem::take(text)).to_string();
            *text = format!("{{% set inert = {literal} %}}{{{{ inert }}}}");
        }
        Value::Array(items) => items.iter_mut().for_each(inert),
        Value::Object(map) => map.values_mut().for_each(inert),
        _ => {}
    }
}

/// A value as text in a group name (strings without quotes).
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Python's truth of a value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Ansible's `to_safe_group_name`: a leading digit or non-word character, and every other
/// non-word character, becomes `_`.
pub(super) fn safe_group_name(name: &str) -> String {
    name.chars()
        .enumerate()
        .map(|(i, c)| {
            let word = c.is_alphanumeric() || c == '_';
            if word && !(i == 0 && c.is_numeric()) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_data_is_made_inert() {
        let mut value = serde_json::json!({"t": ["{{ lookup('pipe', 'id') }}\"\\", "plain"]});
        inert(&mut value);
        let rendered = Templater::new()
            .render_value(&value, &serde_json::json!({}))
            .unwrap();
        assert_eq!(rendered["t"][0], "{{ lookup('pipe', 'id') }}\"\\");
        assert_eq!(value["t"][1], "plain");
    }

    #[test]
    fn group_names_are_made_safe_like_ansible() {
        assert_eq!(safe_group_name("tag_Role_web-app"), "tag_Role_web_app");
        assert_eq!(safe_group_name("1st.zone"), "_st_zone");
        assert_eq!(safe_group_name("région"), "région");
    }
}
