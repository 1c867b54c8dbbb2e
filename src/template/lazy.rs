//! Ansible's lazy variables: a variable whose value is itself a template is rendered when
//! something reads it, after the variables it reads in turn. Only the author's variables are
//! templates (see [`trust`](super::trust)); data is never rendered.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::Templater;
use super::trust::{put_templated, take_templated};

impl Templater {
    /// Renders, in place, the variables in `roots` (and those they read) whose values are
    /// templates themselves, as Ansible templates variables lazily and recursively. Variables
    /// nobody reads are left alone. A variable that (indirectly) reads itself is an error naming
    /// the loop. Only the variables `vars` names as author-written are rendered, each at most
    /// once: a rendered value is data from then on.
    pub fn resolve_vars(
        &self,
        vars: &mut Map<String, Value>,
        roots: impl IntoIterator<Item = String>,
    ) -> Result<(), String> {
        let mut templated = take_templated(vars);
        let mut path = Vec::new();
        let result = roots
            .into_iter()
            .try_for_each(|root| self.resolve_one(vars, &root, &mut templated, &mut path));
        put_templated(vars, templated);
        result
    }

    /// Renders every author variable of `vars` that can be rendered, leaving the others as
    /// written, and drops the names of the templated variables: the result is all data.
    pub fn resolve_all(&self, vars: &mut Map<String, Value>) {
        let mut templated = take_templated(vars);
        for name in templated.clone() {
            let mut path = Vec::new();
            if self
                .resolve_one(vars, &name, &mut templated, &mut path)
                .is_err()
            {
                templated.retain(|n| !path.contains(n));
            }
        }
    }

    fn resolve_one(
        &self,
        vars: &mut Map<String, Value>,
        name: &str,
        templated: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Result<(), String> {
        if !templated.contains(name) {
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
            templated.remove(name);
            return Ok(());
        }
        path.push(name.to_string());
        for source in &sources {
            for dependency in self.undeclared_variables(source).unwrap_or_default() {
                self.resolve_one(vars, &dependency, templated, path)?;
            }
        }
        let value = vars.get(name).cloned().unwrap_or_default();
        let rendered = self
            .render_value(&value, &Value::Object(vars.clone()))
            .map_err(|e| format!("variable `{name}`: {e}"))?;
        vars.insert(name.to_string(), rendered);
        path.pop();
        templated.remove(name);
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
    use crate::template::trust::Layers;
    use serde_json::json;

    fn resolve(vars: Value, roots: &[&str]) -> Result<Value, String> {
        let mut layers = Layers::new();
        layers.author(vars.as_object().unwrap());
        let mut map = layers.finish();
        Templater::new().resolve_vars(&mut map, roots.iter().map(|r| r.to_string()))?;
        take_templated(&mut map);
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
    fn data_is_never_rendered() {
        let mut layers = Layers::new();
        layers.author(
            json!({"a": "{{ out }}", "b": "{{ 1 }}"})
                .as_object()
                .unwrap(),
        );
        layers.data([("out".to_string(), json!("{{ lookup('pipe', 'id') }}"))]);
        let mut vars = layers.finish();
        let t = Templater::new();
        t.resolve_vars(&mut vars, ["a".to_string(), "out".to_string()])
            .unwrap();
        assert_eq!(vars["a"], "{{ lookup('pipe', 'id') }}");
        t.resolve_vars(&mut vars, ["a".to_string()]).unwrap();
        assert_eq!(
            vars["a"], "{{ lookup('pipe', 'id') }}",
            "rendered once only"
        );
    }

    #[test]
    fn a_variable_loop_is_an_error() {
        let err = resolve(json!({"a": "{{ b }}", "b": "{{ a }}"}), &["a"]).unwrap_err();
        assert_eq!(err, "recursive loop in variables: a -> b -> a");
    }
}
