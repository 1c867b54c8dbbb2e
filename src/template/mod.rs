//! Jinja templating for playbook values and template files, configured like Ansible's:
//! strict but chainable undefined variables, `trim_blocks`, no auto-escaping, values printed the
//! way Python prints them, and Ansible's filters, tests and lookups (see docs/templating.md).

mod chain;
mod collections;
mod crypt;
pub use collections::merge_hash;
mod encoding;
mod filters;
mod lazy;
mod loader;
mod lookups;
mod names;
mod predicates;
mod python;
mod random;
mod sets;
mod text;
mod trust;
mod yaml_dump;

pub use lookups::LOOKUPS;

use std::collections::BTreeSet;
use std::path::PathBuf;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::ValueKind;
use minijinja::{AutoEscape, Environment, ErrorKind, Output, State, UndefinedBehavior};
use serde_json::Value;
pub use trust::{Layers, insert_data};

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
        TemplateError::from(&e)
    }
}

impl From<&minijinja::Error> for TemplateError {
    fn from(e: &minijinja::Error) -> Self {
        let message = e
            .detail()
            .map_or_else(|| e.kind().to_string(), str::to_string);
        TemplateError {
            message: match e.kind() {
                ErrorKind::UndefinedError => ansible_quotes(&message),
                _ => message,
            },
            line: e.line(),
            column: column_of(e),
        }
    }
}

/// The 1-based column (in characters) where a parse error starts, when minijinja knows it.
fn column_of(e: &minijinja::Error) -> Option<usize> {
    let before = e.template_source()?.get(..e.range()?.start)?;
    Some(
        before
            .rsplit('\n')
            .next()
            .unwrap_or_default()
            .chars()
            .count()
            + 1,
    )
}

/// minijinja's "`x.y` is undefined" spelled as Ansible does: "'x.y' is undefined", or
/// "object has no attribute 'y'" when minijinja cannot describe the object.
fn ansible_quotes(message: &str) -> String {
    const SUFFIX: &str = "` is undefined";
    let Some(end) = message.find(SUFFIX) else {
        return message.to_string();
    };
    let Some(start) = message[..end].rfind('`') else {
        return message.to_string();
    };
    let expr = &message[start + 1..end];
    let described = match (expr.strip_prefix("(...)."), expr.strip_prefix("(...)[")) {
        (Some(attribute), _) => format!("object has no attribute '{attribute}'"),
        (_, Some(item)) => format!("object has no item {}", item.trim_end_matches(']')),
        _ => format!("'{expr}' is undefined"),
    };
    format!(
        "{}{described}{}",
        &message[..start],
        &message[end + SUFFIX.len()..]
    )
}

/// The name minijinja gives templates rendered from strings.
const TEMPLATE_NAME: &str = "<string>";

/// A Jinja environment configured like Ansible's.
pub struct Templater {
    env: Environment<'static>,
    syntax: SyntaxConfig,
}

impl Default for Templater {
    fn default() -> Self {
        Templater::new()
    }
}

impl Templater {
    /// A templater with Ansible's undefined handling, filters, tests and lookups.
    pub fn new() -> Self {
        let mut env = Environment::new();
        // Lookups on undefined values are made chainable by rewriting templates (`chain`).
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Undefined values remember the expression they came from, for error messages.
        env.set_debug(true);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        let syntax = ansible_syntax();
        env.set_syntax(syntax.clone());
        env.set_formatter(python_formatter);
        chain::register(&mut env);
        filters::register(&mut env);
        predicates::register(&mut env);
        lookups::register(&mut env);
        Templater { env, syntax }
    }

    /// Checks template syntax, and that every filter and test it uses exists, without
    /// rendering.
    pub fn check_template(&self, source: &str) -> Result<(), TemplateError> {
        let source = chain::unqualified(source);
        let template = self.env.template_from_str(&source)?;
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

    /// Renders a string; its trailing newlines are kept, as Ansible does.
    pub fn render_str(&self, source: &str, vars: &Value) -> Result<String, TemplateError> {
        Ok(render_in(
            &self.env,
            TEMPLATE_NAME,
            source,
            context(vars),
            true,
        )?)
    }

    /// The items of a `with_<name>:` loop, as Ansible makes them: lookup `name` run over the
    /// (rendered) terms, a lone term being a list of one. `action` is the task's module.
    pub fn loop_lookup(
        &self,
        name: &str,
        terms: Value,
        vars: &Value,
        action: &str,
    ) -> Result<Vec<Value>, TemplateError> {
        let terms = match terms {
            Value::Array(terms) => terms,
            other => vec![other],
        };
        let context = minijinja::context! {
            __deployer_lookup => name,
            __deployer_terms => minijinja::value::Serde(&terms),
            __deployer_with_action => action,
            ..context(vars)
        };
        let items = self
            .env
            .compile_expression("query(__deployer_lookup, *__deployer_terms)")?
            .eval(context)?;
        match serde_json::to_value(&items) {
            Ok(Value::Array(items)) => Ok(items),
            _ => Err(TemplateError {
                message: format!("lookup `{name}` did not give a list"),
                line: None,
                column: None,
            }),
        }
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

    /// Evaluates a `when:`-style condition. As in ansible-core 2.19, an undefined result is an
    /// error, and so is a result that is not a boolean (`when: users_group` with a string or
    /// `null`): write `users_group | length > 0` or `users_group is truthy`.
    pub fn eval_condition(&self, expr: &str, vars: &Value) -> Result<bool, TemplateError> {
        let expr = lone_expression(expr.trim()).unwrap_or(expr);
        let value = self.eval_defined(expr, vars, false)?;
        if value.kind() == minijinja::value::ValueKind::Bool {
            return Ok(value.is_true());
        }
        let truth = if value.is_true() { "True" } else { "False" };
        Err(TemplateError {
            message: format!(
                "Conditional result ({truth}) was derived from value of type '{}'. \
                 Conditionals must have a boolean result.",
                python_type(&value)
            ),
            line: None,
            column: None,
        })
    }

    /// Evaluates a bare expression to a value.
    pub fn eval_expression(&self, expr: &str, vars: &Value) -> Result<Value, TemplateError> {
        let value = self.eval_defined(expr, vars, true)?;
        serde_json::to_value(&value).map_err(|e| TemplateError {
            message: e.to_string(),
            line: None,
            column: None,
        })
    }

    /// Evaluates an expression whose value must not be undefined; `escape` keeps backslashes
    /// in its string constants (values, not conditions, as in Ansible).
    fn eval_defined(
        &self,
        expr: &str,
        vars: &Value,
        escape: bool,
    ) -> Result<minijinja::Value, TemplateError> {
        let chained = chain::expression(expr, escape);
        let context = minijinja::Value::from(minijinja::value::Serde(vars));
        let value = self
            .env
            .compile_expression(&chained)?
            .eval(context.clone())?;
        if !value.is_undefined() {
            return Ok(value);
        }
        // Printing the value fails with the message naming where it became undefined.
        let printed = format!("{{{{ {chained} }}}}");
        Err(match self.env.render_str(&printed, context) {
            Err(e) if e.kind() == ErrorKind::UndefinedError => e.into(),
            _ => undefined(expr),
        })
    }

    /// Names of the variables a template file reads, those of the templates it uses included
    /// (looked up like [`render_file`](Self::render_file) does).
    pub fn file_reads(
        &self,
        path: &str,
        source: &str,
        search_dirs: &[PathBuf],
    ) -> BTreeSet<String> {
        loader::file_reads(&self.env, std::path::Path::new(path), source, search_dirs)
    }

    /// Renders a template file like Ansible's `template` module: the file's trailing newlines
    /// are kept. `path` names the template; the templates it includes or imports are looked up
    /// next to it, then in `search_dirs` in order. Errors inside an included template name it.
    pub fn render_file(
        &self,
        path: &str,
        source: &str,
        vars: &Value,
        search_dirs: &[PathBuf],
    ) -> Result<String, TemplateError> {
        let env = loader::file_environment(&self.env, search_dirs, self.syntax.clone());
        render_in(&env, path, source, context(vars), false)
            .map_err(|e| file_error(&e, path, search_dirs))
    }
}

/// A value printed the way Ansible (Python's `str()`) prints it: text as it is, `True`,
/// `None`, `['a', 1]`, `{'k': 'v'}`.
pub fn python_str(value: &Value) -> String {
    python::str(value)
}

/// Ansible's template syntax: the default delimiters, `trim_blocks` on.
fn ansible_syntax() -> SyntaxConfig {
    SyntaxConfig::builder()
        .trim_blocks(true)
        .build()
        .expect("the default delimiters are valid")
}

/// Variables as a template context.
fn context(vars: &Value) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(vars))
}

/// Renders `source` under `name` with `env`, lookups made chainable, topping up the trailing
/// newlines Jinja drops (Ansible's `preserve_trailing_newlines`). `escape` keeps backslashes
/// in the string constants of `{{ }}`, for templates written in playbooks.
fn render_in(
    env: &Environment<'_>,
    name: &str,
    source: &str,
    context: minijinja::Value,
    escape: bool,
) -> Result<String, minijinja::Error> {
    let mut rendered = env.render_named_str(
        name,
        &chain::template(source, name, &ansible_syntax(), escape),
        context,
    )?;
    let trailing = |s: &str| s.len() - s.trim_end_matches('\n').len();
    let missing = trailing(source).saturating_sub(trailing(&rendered));
    rendered.push_str(&"\n".repeat(missing));
    Ok(rendered)
}

/// The error of a template file: the innermost one when it happened in an included template,
/// naming that template, and the folders searched when a template was not found.
fn file_error(e: &minijinja::Error, path: &str, search_dirs: &[PathBuf]) -> TemplateError {
    let mut innermost = e;
    while innermost.kind() == ErrorKind::BadInclude {
        match std::error::Error::source(innermost).and_then(|s| s.downcast_ref()) {
            Some(inner) => innermost = inner,
            None => break,
        }
    }
    let mut error = TemplateError::from(innermost);
    if let Some(name) = innermost.name().filter(|name| *name != path) {
        let line = error.line.map(|l| format!(":{l}")).unwrap_or_default();
        error.message = format!("{} (in {name}{line})", error.message);
    }
    if innermost.kind() == ErrorKind::TemplateNotFound {
        let dirs: Vec<String> = search_dirs
            .iter()
            .map(|d| match d.as_os_str().is_empty() {
                true => ".".to_string(),
                false => d.display().to_string(),
            })
            .collect();
        error.message = format!(
            "{}; looked next to the including template and in: {}",
            error.message,
            dirs.join(", ")
        );
    }
    error
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

/// The error for an expression that evaluated to an undefined value.
fn undefined(expr: &str) -> TemplateError {
    TemplateError {
        message: format!("'{expr}' is undefined"),
        line: None,
        column: None,
    }
}

/// The expression inside a string that is exactly one `{{ ... }}`, with nothing around it (text
/// around it, even a line break, makes the result a string, as in Ansible).
/// The name Python (and so Ansible's messages) gives the type of `value`.
fn python_type(value: &minijinja::Value) -> &'static str {
    use minijinja::value::ValueKind;
    match value.kind() {
        ValueKind::None | ValueKind::Undefined => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if value.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Seq | ValueKind::Iterable => "list",
        ValueKind::Map => "dict",
        _ => "object",
    }
}

fn lone_expression(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then_some(inner.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_condition_must_give_a_boolean_like_ansible_2_19() {
        let t = Templater::new();
        let vars = json!({"group": null, "name": "web", "list": [1]});
        assert!(t.eval_condition("name == 'web'", &vars).unwrap());
        assert!(!t.eval_condition("{{ list | length > 1 }}", &vars).unwrap());
        let broken = |expr: &str| t.eval_condition(expr, &vars).unwrap_err().message;
        assert_eq!(
            broken("group is defined and group"),
            "Conditional result (False) was derived from value of type 'NoneType'. \
             Conditionals must have a boolean result."
        );
        assert!(broken("name").contains("(True) was derived from value of type 'str'"));
        assert!(broken("list").contains("type 'list'"));
    }

    #[test]
    fn trailing_newlines_are_kept_like_ansible() {
        let t = Templater::new();
        let vars = json!({"x": 1, "on": false});
        assert_eq!(t.render_str("a {{ x }}\n", &vars).unwrap(), "a 1\n");
        assert_eq!(t.render_str("a {{ x }}\n\n", &vars).unwrap(), "a 1\n\n");
        assert_eq!(t.render_str("a {{ x }}", &vars).unwrap(), "a 1");
        let file = "{% if on %}\nno\n{% endif %}\nend\n{% if on %}x{% endif %}\n";
        assert_eq!(t.render_file("f.j2", file, &vars, &[]).unwrap(), "end\n");
    }

    #[test]
    fn block_tags_swallow_their_newline() {
        let t = Templater::new();
        let source = "{% for i in [1, 2] %}\n- {{ i }}\n{% endfor %}\ndone";
        assert_eq!(t.render_str(source, &json!({})).unwrap(), "- 1\n- 2\ndone");
    }

    #[test]
    fn a_lone_expression_keeps_its_type() {
        let t = Templater::new();
        let vars = json!({"ports": [80, 443], "n": 2});
        let value =
            json!({"a": "{{ ports }}", "b": "{{ n * 21 }}", "c": "n={{ n }}", "d": "{{ n > 1 }}"});
        assert_eq!(
            t.render_value(&value, &vars).unwrap(),
            json!({"a": [80, 443], "b": 42, "c": "n=2", "d": true})
        );
    }

    #[test]
    fn undefined_variables_are_errors() {
        let t = Templater::new();
        let error = t.render_str("{{ nope }}", &json!({})).unwrap_err();
        assert!(error.message.contains("undefined"), "{}", error.message);
        assert!(t.eval_condition("nope", &json!({})).is_err());
        for strict in [
            "{% if nope %}x{% endif %}",
            "{% for i in nope %}x{% endfor %}",
            "{{ nope | upper }}",
            "{{ nope.x ~ 'a' }}",
            "{{ d.missing.deeper | length }}",
        ] {
            let vars = json!({"d": {}});
            assert!(t.render_str(strict, &vars).is_err(), "{strict}");
        }
    }

    #[test]
    fn lookups_on_undefined_values_stay_undefined_like_ansible() {
        let t = Templater::new();
        let vars = json!({"d": {"a": {}}});
        let render = |s: &str| t.render_str(s, &vars).unwrap();
        assert_eq!(render("{{ nope.x | default(1) }}"), "1");
        assert_eq!(render("{{ nope.x.y | default('d') }}"), "d");
        assert_eq!(render("{{ (nope.x | default({})).y | default(2) }}"), "2");
        assert_eq!(render("{{ d.missing.deeper | default(3) }}"), "3");
        assert_eq!(render("{{ d['a'].b[0] | d(4) }}"), "4");
        assert_eq!(
            render("{% if nope.x is defined %}x{% else %}y{% endif %}"),
            "y"
        );
        assert!(t.eval_condition("nope.x is undefined", &vars).unwrap());
        assert!(!t.eval_condition("d.a.b.c is defined", &vars).unwrap());
        let printed = t.render_str("a\n{{ nope.x.y }}", &vars).unwrap_err();
        assert_eq!(printed.message, "'nope' is undefined");
        assert_eq!(printed.line, Some(2));
        let missing = t.render_str("{{ d.missing.deeper }}", &vars).unwrap_err();
        assert_eq!(missing.message, "'d.missing' is undefined");
        let deep = t.render_str("{{ d.a.b.c }}", &vars).unwrap_err();
        assert_eq!(deep.message, "object has no attribute 'b'");
        let condition = t.eval_condition("nope.x", &vars).unwrap_err();
        assert_eq!(condition.message, "'nope' is undefined");
        let value = t.eval_expression("nope.x", &vars).unwrap_err();
        assert_eq!(value.message, "'nope' is undefined");
    }

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
