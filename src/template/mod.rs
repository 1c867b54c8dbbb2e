//! Jinja templating for playbook values and template files, configured like Ansible's:
//! strict undefined variables, `trim_blocks`, values printed the way Python prints them, and
//! Ansible's filters, tests and lookups (see docs/templating.md).

mod collections;
mod encoding;
mod filters;
mod lookups;
mod names;
mod predicates;
mod python;
mod text;
mod yaml_dump;

use std::collections::BTreeSet;
use std::path::PathBuf;

use minijinja::value::ValueKind;
use minijinja::{Environment, Output, State, UndefinedBehavior};
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
    /// A templater with strict undefined handling and Ansible's filters, tests and lookups.
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .build()
                .expect("the default delimiters are valid"),
        );
        env.set_formatter(python_formatter);
        filters::register(&mut env);
        predicates::register(&mut env);
        lookups::register(&mut env);
        Templater { env }
    }

    /// Checks template syntax, and that every filter and test it uses exists, without
    /// rendering.
    pub fn check_template(&self, source: &str) -> Result<(), TemplateError> {
        let template = self.env.template_from_str(source)?;
        match names::first_unknown(&self.env, &template) {
            Some(unknown) => Err(TemplateError {
                message: format!("unknown {} `{}`", unknown.kind, unknown.name),
                line: Some(unknown.line),
                column: Some(unknown.column),
            }),
            None => Ok(()),
        }
    }

    /// Checks a bare expression like [`check_template`](Self::check_template) does.
    pub fn check_expression(&self, expr: &str) -> Result<(), TemplateError> {
        self.env.compile_expression(expr)?;
        self.check_template(&format!("{{{{ {expr} }}}}"))
            .map_err(|e| TemplateError {
                column: e.column.map(|c| c.saturating_sub(3).max(1)),
                ..e
            })
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
        let expr = lone_expression(expr).unwrap_or(expr);
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

    /// Renders a template file like Ansible's `template` module: the file's trailing newlines
    /// are kept. `name` names the template in error messages.
    pub fn render_file(
        &self,
        name: &str,
        source: &str,
        vars: &Value,
        _search_dirs: &[PathBuf],
    ) -> Result<String, TemplateError> {
        let mut rendered = self.env.render_named_str(
            name,
            source,
            minijinja::Value::from(minijinja::value::Serde(vars)),
        )?;
        let trailing = |s: &str| s.len() - s.trim_end_matches('\n').len();
        let missing = trailing(source).saturating_sub(trailing(&rendered));
        rendered.push_str(&"\n".repeat(missing));
        Ok(rendered)
    }
}

/// Prints values inside text the way Ansible (Python) does: `True`, `None`, `['a', 1]`.
fn python_formatter(
    out: &mut Output<'_>,
    state: &mut State<'_, '_>,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    match value.kind() {
        ValueKind::None | ValueKind::Bool | ValueKind::Number | ValueKind::Seq | ValueKind::Map
            if !value.is_safe() =>
        {
            out.write_str(&python::str(&filters::to_data(value)))
                .map_err(|_| {
                    minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "cannot write output")
                })
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// The expression inside a string that is exactly one `{{ ... }}`.
fn lone_expression(s: &str) -> Option<&str> {
    let inner = s.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then_some(inner.trim())
}
