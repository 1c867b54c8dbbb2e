//! Which variables are templates. Only values the playbook's author wrote (inventory, play,
//! role, block and task vars, role params, extra vars) are templated, lazily, when read.
//! Everything that comes from a host or from a run (module results, facts, registered and
//! `set_fact` values, loop items) is data: it is never rendered, whatever it holds, as Ansible
//! marks such values unsafe. The names of the author's variables travel with the variables
//! under a reserved key, so any later renderer (the `template` module) knows them too.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// The reserved variable naming the variables whose values are author-written templates.
const TEMPLATED: &str = "__deployer_templated";

/// Variables layered from lowest to highest precedence, remembering which names hold
/// author-written values (templates) and which hold data.
#[derive(Debug, Default)]
pub struct Layers {
    vars: Map<String, Value>,
    templated: BTreeSet<String>,
}

impl Layers {
    /// No variables yet.
    pub fn new() -> Self {
        Layers::default()
    }

    /// Adds variables the playbook's author wrote; they are templated when read.
    pub fn author(&mut self, vars: &Map<String, Value>) {
        self.templated.extend(vars.keys().cloned());
        self.vars.extend(vars.clone());
    }

    /// Adds data (from a host or a run); it is never rendered.
    pub fn data(&mut self, vars: impl IntoIterator<Item = (String, Value)>) {
        for (name, value) in vars {
            self.templated.remove(&name);
            self.vars.insert(name, value);
        }
    }

    /// The variables, carrying the names of the templated ones.
    pub fn finish(mut self) -> Map<String, Value> {
        let names = self.templated.into_iter().map(Value::String).collect();
        self.vars.insert(TEMPLATED.into(), Value::Array(names));
        self.vars
    }
}

/// Sets data variables in `vars` (loop items, for example): they are never rendered.
pub fn insert_data(vars: &mut Map<String, Value>, data: impl IntoIterator<Item = (String, Value)>) {
    let data: Map<String, Value> = data.into_iter().collect();
    if let Some(Value::Array(names)) = vars.get_mut(TEMPLATED) {
        names.retain(|n| n.as_str().is_none_or(|n| !data.contains_key(n)));
    }
    vars.extend(data);
}

/// Takes the names of the templated variables out of `vars` (none when it does not say).
pub(super) fn take_templated(vars: &mut Map<String, Value>) -> BTreeSet<String> {
    match vars.remove(TEMPLATED) {
        Some(Value::Array(names)) => names
            .into_iter()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect(),
        _ => BTreeSet::new(),
    }
}

/// Puts back the names of the variables still templated.
pub(super) fn put_templated(vars: &mut Map<String, Value>, names: BTreeSet<String>) {
    let names = names.into_iter().map(Value::String).collect();
    vars.insert(TEMPLATED.into(), Value::Array(names));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn data_over_an_author_variable_is_data() {
        let mut layers = Layers::new();
        layers.author(json!({"a": "{{ 1 }}", "b": "{{ 2 }}"}).as_object().unwrap());
        layers.data([("a".to_string(), json!("{{ 3 }}"))]);
        let mut vars = layers.finish();
        insert_data(&mut vars, [("item".to_string(), json!("{{ 4 }}"))]);
        assert_eq!(take_templated(&mut vars), BTreeSet::from(["b".to_string()]));
    }
}
