//! Jinja templating for playbook values and template files (provisional core; the Ansible filter
//! set lands with the templating work).

use std::collections::BTreeSet;
use std::path::PathBuf;

use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

/// A template or expression that could not be parsed or rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    /// What went wrong.
    pub message: String,
    /// 1-based line inside the template, when known.
    pub line: Option<usize>,
    /// 1-based column inside the template, when known.
    pub column: Option<usize>,
}

impl From<minijinja::Error> for TemplateError {
    fn from(e: minijinja::Error) -> Self {
        TemplateError {
            message: e
                .detail()
                .map_or_else(|| e.kind().to_string(), str::to_string),
            line: e.line(),
            column: None,
        }
    }
}

/// A Jinja environment configured like Ansible's.
pub struct Templater {
    env: Environment<'static>,
}

impl Default for Templater {
    fn default() -> Self {
        Templater::new()
    }
}

impl Templater {
    /// A templater with strict undefined handling.
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Ansible's whitespace: a block tag's own line break is dropped (`trim_blocks`) and the
        // final line break is kept (`keep_trailing_newline`), unlike Jinja's defaults.
        env.set_syntax(
            SyntaxConfig::builder()
                .trim_blocks(true)
                .keep_trailing_newline(true)
                .build()
                .expect("the default delimiters are valid"),
        );
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        Templater { env }
    }

    /// Checks template syntax without rendering.
    pub fn check_template(&self, source: &str) -> Result<(), TemplateError> {
        self.env.template_from_str(source)?;
        Ok(())
    }

    /// Checks a bare expression for syntax.
    pub fn check_expression(&self, expr: &str) -> Result<(), TemplateError> {
        self.env.compile_expression(expr)?;
        Ok(())
    }

    /// Names of the variables a template reads.
    pub fn undeclared_variables(&self, source: &str) -> Result<BTreeSet<String>, TemplateError> {
        Ok(self
            .env
            .template_from_str(source)?
            .undeclared_variables(false)
            .into_iter()
            .collect())
    }

    /// Renders a string.
    pub fn render_str(&self, source: &str, vars: &Value) -> Result<String, TemplateError> {
        Ok(self.env.render_str(
            source,
            minijinja::Value::from(minijinja::value::Serde(vars)),
        )?)
    }

    /// Renders every string in a value tree; a lone `{{ expr }}` keeps its native type.
    pub fn render_value(&self, value: &Value, vars: &Value) -> Result<Value, TemplateError> {
        Ok(match value {
            Value::String(s) if !s.contains("{{") && !s.contains("{%") => value.clone(),
            Value::String(s) => match lone_expression(s) {
                Some(expr) => self.eval_expression(expr, vars)?,
                None => Value::String(self.render_str(s, vars)?),
            },
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.render_value(v, vars))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((self.render_str(k, vars)?, self.render_value(v, vars)?)))
                    .collect::<Result<_, TemplateError>>()?,
            ),
            other => other.clone(),
        })
    }

    /// Evaluates a `when:`-style condition.
    pub fn eval_condition(&self, expr: &str, vars: &Value) -> Result<bool, TemplateError> {
        let expr = lone_expression(expr.trim()).unwrap_or(expr);
        Ok(self
            .env
            .compile_expression(expr)?
            .eval(minijinja::Value::from(minijinja::value::Serde(vars)))?
            .is_true())
    }

    /// Evaluates a bare expression to a value.
    pub fn eval_expression(&self, expr: &str, vars: &Value) -> Result<Value, TemplateError> {
        let value = self
            .env
            .compile_expression(expr)?
            .eval(minijinja::Value::from(minijinja::value::Serde(vars)))?;
        if value.is_undefined() {
            return Err(TemplateError {
                message: format!("`{expr}` is undefined"),
                line: None,
                column: None,
            });
        }
        serde_json::to_value(&value).map_err(|e| TemplateError {
            message: e.to_string(),
            line: None,
            column: None,
        })
    }

    /// Renders a template file like Ansible's `template` module.
    pub fn render_file(
        &self,
        _name: &str,
        source: &str,
        vars: &Value,
        _search_dirs: &[PathBuf],
    ) -> Result<String, TemplateError> {
        self.render_str(source, vars)
    }
}

/// The expression inside a string that is exactly one `{{ ... }}`, with nothing around it (text
/// around it, even a line break, makes the result a string, as in Ansible).
fn lone_expression(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then_some(inner.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whitespace_is_handled_like_ansible() {
        let templater = Templater::new();
        let vars = json!({"host": "app1"});
        assert_eq!(
            templater.render_str("host={{ host }}\n", &vars).unwrap(),
            "host=app1\n"
        );
        assert_eq!(
            templater
                .render_value(&json!("hello {{ host }}\n"), &vars)
                .unwrap(),
            json!("hello app1\n")
        );
        assert_eq!(templater.render_str("{{ host }}", &vars).unwrap(), "app1");
        assert_eq!(
            templater
                .render_value(&json!("{{ host }}\n"), &vars)
                .unwrap(),
            json!("app1\n")
        );
        assert_eq!(
            templater.render_value(&json!("{{ [1] }}"), &vars).unwrap(),
            json!([1])
        );
        assert_eq!(
            templater
                .render_str("a\n{% if true %}\nb\n{% endif %}\nc\n", &vars)
                .unwrap(),
            "a\nb\nc\n"
        );
    }
}
