//! What a module accepts: argument names, types, defaults and choices, checked by the compiler
//! before any host is touched and read back by the module at run time.

use serde_json::{Map, Value};

/// The type an argument must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgType {
    /// Text (numbers and booleans given in YAML are accepted and stringified, like Ansible).
    Str,
    /// A boolean; `yes`/`no`/`true`/`false`/`1`/`0` given as text are accepted.
    Bool,
    /// A whole number (text holding one is accepted).
    Int,
    /// A number (text holding one is accepted).
    Float,
    /// A list (a comma-separated string is accepted, like Ansible).
    List,
    /// A mapping.
    Dict,
    /// A file mode: octal text (`'0644'`), a YAML octal int (`0644`) or symbolic (`u+rwx`).
    Mode,
    /// A bare Jinja expression (`assert`'s `that`, `debug`'s `var`): checked at compile time and
    /// evaluated by the module.
    Expr,
    /// A list of bare Jinja expressions (a single string is a list of one).
    ExprList,
    /// Anything.
    Raw,
}

/// One argument a module accepts.
#[derive(Debug, Clone, Copy)]
pub struct ArgSpec {
    /// The argument's name, as Ansible spells it.
    pub name: &'static str,
    /// Other names it may be given under.
    pub aliases: &'static [&'static str],
    /// Its type.
    pub kind: ArgType,
    /// Whether it must be given.
    pub required: bool,
    /// When not empty, the only values allowed.
    pub choices: &'static [&'static str],
}

impl ArgSpec {
    /// An optional argument of a type.
    pub const fn new(name: &'static str, kind: ArgType) -> Self {
        ArgSpec {
            name,
            aliases: &[],
            kind,
            required: false,
            choices: &[],
        }
    }

    /// The same argument, required.
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// The same argument, also accepted under these names.
    pub const fn aliases(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }

    /// The same argument, limited to these values.
    pub const fn choices(mut self, choices: &'static [&'static str]) -> Self {
        self.choices = choices;
        self
    }

    fn answers_to(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }
}

/// Everything the compiler needs to know about a module's arguments.
#[derive(Debug, Clone, Copy)]
pub struct ModuleSpec {
    /// The short name (`copy`); `ansible.builtin.copy` and `ansible.legacy.copy` also resolve to it.
    pub name: &'static str,
    /// Other short names for the same module (`systemd_service` for `systemd`).
    pub aliases: &'static [&'static str],
    /// The arguments it accepts.
    pub args: &'static [ArgSpec],
    /// Whether it takes a free-form command (`command: ls -l`), stored as `_raw_params`.
    pub free_form: bool,
    /// Arguments of which at least one must be given (e.g. `msg` or `var` for debug).
    pub one_of: &'static [&'static str],
    /// Whether any argument name is accepted (`set_fact` takes variable names as arguments).
    pub open: bool,
}

/// A problem with a module's arguments, found at compile time or after templating.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ArgError {
    /// The argument concerned, when one is.
    pub arg: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl ArgError {
    fn new(arg: &str, message: String) -> Self {
        ArgError {
            arg: Some(arg.to_string()),
            message,
        }
    }
}

impl ModuleSpec {
    /// The spec of the argument `name` answers to, when there is one.
    pub fn arg(&self, name: &str) -> Option<&ArgSpec> {
        self.args.iter().find(|a| a.answers_to(name))
    }

    /// Checks argument names, required arguments and choices. Values that are still templates are
    /// not type-checked here; [`ModuleSpec::normalise`] checks them once rendered.
    pub fn validate(&self, args: &Map<String, Value>) -> Vec<ArgError> {
        let mut errors = Vec::new();
        for (name, value) in args {
            if name == "_raw_params" && self.free_form {
                continue;
            }
            let Some(spec) = self.arg(name) else {
                if self.open {
                    continue;
                }
                let known: Vec<&str> = self.args.iter().map(|a| a.name).collect();
                errors.push(ArgError::new(
                    name,
                    format!(
                        "module `{}` has no argument `{name}`; it accepts: {}",
                        self.name,
                        known.join(", ")
                    ),
                ));
                continue;
            };
            if is_template(value) {
                continue;
            }
            if let Err(message) = coerce(spec, value) {
                errors.push(ArgError::new(name, message));
            }
        }
        let given = |name: &str| match self.arg(name) {
            Some(spec) => args.keys().any(|k| spec.answers_to(k)),
            None => args.contains_key(name),
        };
        for spec in self.args.iter().filter(|a| a.required) {
            let free_form_cmd =
                self.free_form && spec.name == "cmd" && args.contains_key("_raw_params");
            if !given(spec.name) && !free_form_cmd {
                errors.push(ArgError::new(
                    spec.name,
                    format!("module `{}` needs the argument `{}`", self.name, spec.name),
                ));
            }
        }
        if !self.one_of.is_empty() && !self.one_of.iter().any(|n| given(n)) {
            errors.push(ArgError {
                arg: None,
                message: format!(
                    "module `{}` needs one of: {}",
                    self.name,
                    self.one_of
                        .iter()
                        .map(|n| if *n == "_raw_params" {
                            "a free-form command"
                        } else {
                            n
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        errors
    }

    /// Normalises templated arguments for the module: aliases become canonical names and values
    /// are coerced to the declared types.
    pub fn normalise(&self, args: &Map<String, Value>) -> Result<Map<String, Value>, ArgError> {
        let mut out = Map::new();
        for (name, value) in args {
            match self.arg(name) {
                Some(spec) => {
                    let value = coerce(spec, value).map_err(|m| ArgError::new(name, m))?;
                    out.insert(spec.name.to_string(), value);
                }
                None if self.open || (name == "_raw_params" && self.free_form) => {
                    out.insert(name.clone(), value.clone());
                }
                None => {
                    return Err(ArgError::new(
                        name,
                        format!("module `{}` has no argument `{name}`", self.name),
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// Whether a value still holds Jinja to render.
pub fn is_template(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains("{{") || s.contains("{%"),
        Value::Array(items) => items.iter().any(is_template),
        Value::Object(map) => map.values().any(is_template),
        _ => false,
    }
}

/// Ansible's `boolean()`: the spellings it accepts for true and false.
pub fn parse_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "on" | "true" | "1" | "y" | "t" => Some(true),
            "no" | "off" | "false" | "0" | "n" | "f" | "" => Some(false),
            _ => None,
        },
        Value::Null => Some(false),
        _ => None,
    }
}

/// Converts a value to the argument's declared type, or says why it cannot be.
fn coerce(spec: &ArgSpec, value: &Value) -> Result<Value, String> {
    let name = spec.name;
    let converted = match spec.kind {
        ArgType::Raw => value.clone(),
        ArgType::Dict => match value {
            Value::Object(_) => value.clone(),
            Value::Null => Value::Object(Map::new()),
            _ => return Err(format!("`{name}` must be a mapping, not {}", kind(value))),
        },
        ArgType::Str | ArgType::Mode | ArgType::Expr => match value {
            Value::String(_) => value.clone(),
            Value::Number(n) if spec.kind == ArgType::Mode => {
                // A YAML octal like 0644 arrives as the integer 420; give it back as octal text.
                let n = n
                    .as_u64()
                    .ok_or_else(|| format!("`{name}` is not a valid mode"))?;
                Value::String(format!("0{n:o}"))
            }
            Value::Number(n) => Value::String(n.to_string()),
            Value::Bool(b) => Value::String(if *b { "True" } else { "False" }.into()),
            Value::Null => Value::Null,
            _ => return Err(format!("`{name}` must be a string, not {}", kind(value))),
        },
        ArgType::Bool => Value::Bool(
            parse_bool(value).ok_or_else(|| format!("`{name}` must be a boolean, not {value}"))?,
        ),
        ArgType::Int => match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => value.clone(),
            Value::String(s) => Value::from(
                s.trim()
                    .parse::<i64>()
                    .map_err(|_| format!("`{name}` must be a whole number, not `{s}`"))?,
            ),
            _ => {
                return Err(format!(
                    "`{name}` must be a whole number, not {}",
                    kind(value)
                ));
            }
        },
        ArgType::Float => match value {
            Value::Number(_) => value.clone(),
            Value::String(s) => serde_json::Number::from_f64(
                s.trim()
                    .parse::<f64>()
                    .map_err(|_| format!("`{name}` must be a number, not `{s}`"))?,
            )
            .map_or(Value::Null, Value::Number),
            _ => return Err(format!("`{name}` must be a number, not {}", kind(value))),
        },
        ArgType::ExprList => match value {
            Value::Array(_) => value.clone(),
            Value::Null => Value::Array(Vec::new()),
            other => Value::Array(vec![other.clone()]),
        },
        ArgType::List => match value {
            Value::Array(_) => value.clone(),
            Value::String(s) => Value::Array(
                s.split(',')
                    .map(|p| Value::String(p.trim().to_string()))
                    .filter(|v| v.as_str() != Some(""))
                    .collect(),
            ),
            Value::Null => Value::Array(Vec::new()),
            other => Value::Array(vec![other.clone()]),
        },
    };
    if !spec.choices.is_empty()
        && let Some(text) = converted.as_str()
        && !spec.choices.contains(&text)
    {
        return Err(format!(
            "`{name}` must be one of {}, not `{text}`",
            spec.choices.join(", ")
        ));
    }
    Ok(converted)
}

/// A short name of a JSON value's kind, for messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SPEC: ModuleSpec = ModuleSpec {
        name: "demo",
        aliases: &[],
        args: &[
            ArgSpec::new("path", ArgType::Str)
                .required()
                .aliases(&["dest"]),
            ArgSpec::new("state", ArgType::Str).choices(&["present", "absent"]),
            ArgSpec::new("force", ArgType::Bool),
            ArgSpec::new("mode", ArgType::Mode),
            ArgSpec::new("retries", ArgType::Int),
        ],
        free_form: false,
        one_of: &[],
        open: false,
    };

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn validation_names_every_problem() {
        let errors = SPEC.validate(&obj(
            json!({"stat": "x", "force": "maybe", "state": "gone"}),
        ));
        let messages: Vec<_> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "module `demo` has no argument `stat`; it accepts: path, state, force, mode, retries",
                "`force` must be a boolean, not \"maybe\"",
                "`state` must be one of present, absent, not `gone`",
                "module `demo` needs the argument `path`",
            ]
        );
    }

    #[test]
    fn templated_values_are_checked_after_rendering() {
        assert!(
            SPEC.validate(&obj(json!({"dest": "/x", "force": "{{ f }}"})))
                .is_empty()
        );
    }

    #[test]
    fn normalising_resolves_aliases_and_types() {
        let args = SPEC
            .normalise(&obj(
                json!({"dest": "/x", "force": "yes", "mode": 420, "retries": "3"}),
            ))
            .unwrap();
        assert_eq!(
            Value::Object(args),
            json!({"path": "/x", "force": true, "mode": "0644", "retries": 3})
        );
    }
}
