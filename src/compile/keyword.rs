//! Keywords that may be given as templates (`retries: "{{ health_retries }}"`): a literal is
//! checked when the playbook is compiled, a template is rendered for each host when the task
//! runs and converted with Ansible's rules for the keyword's type.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::modules::spec::parse_bool;
use crate::parse::Node;
use crate::template::Templater;

/// A keyword's value: known now, or a template rendered per host at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keyword<T> {
    /// Written as a value of the keyword's type.
    Literal(T),
    /// Written as a template (`{{ ... }}` or `{% ... %}`).
    Template(String),
}

impl<T: Default> Default for Keyword<T> {
    fn default() -> Self {
        Keyword::Literal(T::default())
    }
}

impl<T> Keyword<T> {
    /// The template, when the value is one.
    pub fn template(&self) -> Option<&str> {
        match self {
            Keyword::Template(template) => Some(template),
            Keyword::Literal(_) => None,
        }
    }
}

impl<T: Clone> Keyword<T> {
    /// The value, or `unresolved` while it is still a template.
    pub fn or(&self, unresolved: T) -> T {
        match self {
            Keyword::Literal(value) => value.clone(),
            Keyword::Template(_) => unresolved,
        }
    }

    /// The value, or `T`'s default while it is still a template.
    pub fn or_default(&self) -> T
    where
        T: Default,
    {
        self.or(T::default())
    }

    /// The value as a literal: the template rendered with `vars` and converted by `convert`
    /// (which says what it expected when the rendered value does not fit), or the literal.
    pub fn resolve(
        &self,
        name: &str,
        templater: &Templater,
        vars: &Value,
        convert: impl Fn(&Value) -> Result<T, String>,
    ) -> Result<Keyword<T>, String> {
        let Keyword::Template(template) = self else {
            return Ok(self.clone());
        };
        let rendered = templater
            .render_value(&Value::String(template.clone()), vars)
            .map_err(|e| format!("cannot render `{name}: {template}`: {e}"))?;
        convert(&rendered)
            .map(Keyword::Literal)
            .map_err(|expected| {
                format!(
                    "`{name}: {template}` gave {}, which is not {expected}",
                    crate::template::python_str(&rendered)
                )
            })
    }
}

impl<T: fmt::Display> fmt::Display for Keyword<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Keyword::Literal(value) => value.fmt(f),
            Keyword::Template(template) => f.write_str(template),
        }
    }
}

/// Whether text is a template rather than a literal.
pub fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%")
}

/// A keyword written at `node`: a template when it is a string holding one, else the literal
/// `literal` reads (a located error when it has the wrong type).
pub fn parse<T>(
    node: &Node,
    literal: impl FnOnce(&Node) -> Result<T, Diagnostic>,
) -> Result<Keyword<T>, Diagnostic> {
    match node.as_str() {
        Some(text) if is_template(text) => Ok(Keyword::Template(text.to_string())),
        _ => literal(node).map(Keyword::Literal),
    }
}

/// A rendered value as a boolean, with Ansible's `bool` rules (`yes`, `on`, `1`, ...).
pub fn to_bool(value: &Value) -> Result<bool, String> {
    parse_bool(value).ok_or_else(|| "a boolean".to_string())
}

/// A rendered value as a count (`retries`): an integer, or text holding one.
pub fn to_count(value: &Value) -> Result<u32, String> {
    let count = match value {
        Value::Number(n) => n.as_f64().map(|f| f.trunc()),
        Value::String(s) => s.trim().parse::<i64>().ok().map(|i| i as f64),
        _ => None,
    };
    count
        .filter(|c| *c >= 0.0 && *c <= f64::from(u32::MAX))
        .map(|c| c as u32)
        .ok_or_else(|| "a whole number".to_string())
}

/// A rendered value as seconds (`delay`): a number, or text holding one.
pub fn to_seconds(value: &Value) -> Result<f64, String> {
    let seconds = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    seconds
        .filter(|s| s.is_finite() && *s >= 0.0)
        .ok_or_else(|| "a number of seconds".to_string())
}

/// A rendered value as a task `timeout`: whole seconds, `0` meaning none, like Ansible.
pub fn to_timeout(value: &Value) -> Result<Option<Duration>, String> {
    let seconds = to_seconds(value)?;
    if seconds.fract() != 0.0 {
        return Err("a whole number of seconds".into());
    }
    Ok((seconds > 0.0).then(|| Duration::from_secs(seconds as u64)))
}

/// A rendered value as text (`become_user`).
pub fn to_text(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(_) | Value::Bool(_) => Ok(value.to_string()),
        _ => Err("a string".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{Source, parse_yaml};

    fn node(yaml: &str) -> Node {
        parse_yaml(&std::sync::Arc::new(Source::inline("play.yml", yaml))).expect("yaml")
    }

    fn boolean(node: &Node) -> Result<Keyword<bool>, Diagnostic> {
        parse(node, |n| super::super::values::boolean("ignore_errors", n))
    }

    #[test]
    fn literals_templates_and_wrong_types() {
        assert_eq!(boolean(&node("yes")).unwrap(), Keyword::Literal(true));
        assert_eq!(boolean(&node("'off'")).unwrap(), Keyword::Literal(false));
        assert_eq!(
            boolean(&node("'{{ ansible_check_mode }}'")).unwrap(),
            Keyword::Template("{{ ansible_check_mode }}".into())
        );
        let error = boolean(&node("\n\n  maybe")).unwrap_err();
        assert_eq!((error.span.line, error.span.column), (3, 3));
        assert!(
            error.message.contains("must be a boolean"),
            "{}",
            error.message
        );
    }

    #[test]
    fn templates_render_per_host_with_ansible_conversions() {
        let templater = Templater::new();
        let vars = serde_json::json!({"n": "4", "flag": "yes", "word": "maybe", "d": 1.5});
        let resolve = |text: &str| Keyword::<u32>::Template(text.into());
        assert_eq!(
            resolve("{{ n }}").resolve("retries", &templater, &vars, to_count),
            Ok(Keyword::Literal(4))
        );
        let flag = Keyword::<bool>::Template("{{ flag }}".into());
        assert_eq!(
            flag.resolve("no_log", &templater, &vars, to_bool),
            Ok(Keyword::Literal(true))
        );
        let word = Keyword::<bool>::Template("{{ word }}".into());
        let error = word
            .resolve("no_log", &templater, &vars, to_bool)
            .unwrap_err();
        assert!(error.contains("not a boolean"), "{error}");
        assert_eq!(to_seconds(&vars["d"]), Ok(1.5));
        assert_eq!(
            to_timeout(&vars["d"]),
            Err("a whole number of seconds".into())
        );
        assert!(Keyword::<bool>::Template("{{ x }}".into()).or(true));
    }
}
