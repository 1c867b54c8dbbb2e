//! Ansible's lazy variables: a variable whose value is itself a template is rendered when
//! something reads it, after the variables it reads in turn.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::Templater;

impl Templater {
    /// Renders, in place, the variables in `roots` (and those they read) whose values are
    /// templates themselves, as Ansible templates variables lazily and recursively. Variables
    /// nobody reads are left alone. A variable that (indirectly) reads itself is an error naming
    /// the loop.
    pub fn resolve_vars(
        &self,
        vars: &mut Map<String, Value>,
        roots: impl IntoIterator<Item = String>,
    ) -> Result<(), String> {
        let mut done = BTreeSet::new();
        let mut path = Vec::new();
        for root in roots {
            self.resolve_one(vars, &root, &mut done, &mut path)?;
        }
        Ok(())
    }

    fn resolve_one(
        &self,
        vars: &mut Map<String, Value>,
        name: &str,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Result<(), String> {
        if done.contains(name) {
            return Ok(());
        }
        if path.iter().any(|p| p == name) {
            path.push(name.to_string());
            return Err(format!(
                "recursive loop in variables: {}",
                path.join(" -> ")
            ));
        }
        let mut sources = Vec::new();
        if let Some(value) = vars.get(name) {
            collect_templates(value, &mut sources);
        }
        if sources.is_empty() {
            done.insert(name.to_string());
            return Ok(());
        }
        path.push(name.to_string());
        for source in &sources {
            for dependency in self.undeclared_variables(source).unwrap_or_default() {
                self.resolve_one(vars, &dependency, done, path)?;
            }
        }
        let value = vars.get(name).cloned().unwrap_or_default();
        let rendered = self
            .render_value(&value, &Value::Object(vars.clone()))
            .map_err(|e| format!("variable `{name}`: {e}"))?;
        vars.insert(name.to_string(), rendered);
        path.pop();
        done.insert(name.to_string());
        Ok(())
    }
}

/// Every string in `value` that holds Jinja.
fn collect_templates(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.contains("{{") || s.contains("{%") => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_templates(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_templates(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resolve(vars: Value, roots: &[&str]) -> Result<Value, String> {
        let mut map = vars.as_object().unwrap().clone();
        Templater::new().resolve_vars(&mut map, roots.iter().map(|r| r.to_string()))?;
        Ok(Value::Object(map))
    }

    #[test]
    fn variables_are_templated_recursively_and_lazily() {
        let vars = json!({"a": "{{ b }}-x", "b": "{{ c * 2 }}", "c": 21, "unused": "{{ nope }}"});
        let out = resolve(vars, &["a"]).unwrap();
        assert_eq!(out["a"], "42-x");
        assert_eq!(out["b"], 42);
        assert_eq!(
            out["unused"], "{{ nope }}",
            "unread variables are left alone"
        );
    }

    #[test]
    fn a_variable_loop_is_an_error() {
        let err = resolve(json!({"a": "{{ b }}", "b": "{{ a }}"}), &["a"]).unwrap_err();
        assert_eq!(err, "recursive loop in variables: a -> b -> a");
    }
}
