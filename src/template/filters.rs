//! Ansible's filters on top of minijinja's builtins: registration, shared helpers and the scalar
//! conversions (`bool`, `int`, `float`, `string`, `ternary`, `mandatory`, `type_debug`) and
//! arithmetic (`log`, `pow`, `root`).
//!
//! minijinja's own `default`/`d`, `join`, `map`, `select`, `selectattr`, `reject`,
//! `rejectattr`, `first`, `last`, `min`, `max`, `length`, `unique` and `zip` already behave
//! like Jinja2's, which Ansible uses unchanged, so they are kept.

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Value};

use super::{collections, crypt, encoding, python, sets, text};

/// Adds Ansible's filters to `env`.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("bool", to_bool);
    env.add_filter("int", to_int);
    env.add_filter("float", to_float);
    env.add_filter("string", to_string);
    env.add_filter("ternary", ternary);
    env.add_filter("mandatory", mandatory);
    env.add_filter("type_debug", type_debug);
    env.add_filter("log", |x: f64, base: Option<f64>| match base {
        None => x.ln(),
        Some(10.0) => x.log10(),
        Some(base) => x.log(base),
    });
    env.add_filter("pow", f64::powf);
    env.add_filter("root", |x: f64, base: Option<f64>| {
        match base.unwrap_or(2.0) {
            2.0 => x.sqrt(),
            base => x.powf(1.0 / base),
        }
    });
    env.add_filter("password_hash", crypt::password_hash);
    collections::register(env);
    sets::register(env);
    encoding::register(env);
    text::register(env);
}

/// The plain data of a template value.
pub(super) fn to_data(value: &Value) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// A template value holding `data`.
pub(super) fn from_data(data: &serde_json::Value) -> Value {
    Value::from(minijinja::value::Serde(data))
}

/// A filter failure with `message`.
pub(super) fn failure(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

/// Ansible's `bool`: `true`, `yes`, `on`, `1` (any case) and the number 1 are true, anything
/// else false.
fn to_bool(value: &Value) -> bool {
    match value.kind() {
        ValueKind::Bool => value.is_true(),
        ValueKind::String => matches!(
            value.as_str().unwrap_or_default().to_lowercase().as_str(),
            "yes" | "on" | "1" | "true"
        ),
        ValueKind::Number => to_data(value).as_f64() == Some(1.0),
        _ => false,
    }
}

/// Jinja2's `int(default=0, base=10)`: text parsed in `base`, else as a float truncated, else
/// the default (never an error).
fn to_int(
    value: &Value,
    default: Option<Value>,
    base: Option<u32>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let default = match default {
        Some(d) => d,
        None => kwargs
            .get::<Option<Value>>("default")?
            .unwrap_or(Value::from(0)),
    };
    let base = match base {
        Some(b) => b,
        None => kwargs.get::<Option<u32>>("base")?.unwrap_or(10),
    };
    kwargs.assert_all_used()?;
    let parsed = match value.kind() {
        ValueKind::Bool => Some(i128::from(value.is_true())),
        ValueKind::Number => match to_data(value) {
            serde_json::Value::Number(n) if n.is_f64() => truncate(n.as_f64().unwrap_or(f64::NAN)),
            n => n.as_i64().map(i128::from).or(n.as_u64().map(i128::from)),
        },
        ValueKind::String => {
            let text = value.as_str().unwrap_or_default();
            parse_python_int(text, base).or_else(|| parse_python_float(text).and_then(truncate))
        }
        _ => None,
    };
    Ok(parsed.map_or(default, Value::from))
}

/// A float truncated toward zero, when it is finite.
fn truncate(f: f64) -> Option<i128> {
    f.is_finite().then_some(f.trunc() as i128)
}

/// Python's `int(text, base)`: surrounding blanks, a sign, underscores between digits and
/// the `0x`/`0o`/`0b` prefix matching the base are accepted.
fn parse_python_int(text: &str, base: u32) -> Option<i128> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let prefix = match base {
        2 => Some("0b"),
        8 => Some("0o"),
        16 => Some("0x"),
        _ => None,
    };
    let digits = prefix
        .and_then(|p| {
            digits
                .get(..2)
                .filter(|head| head.eq_ignore_ascii_case(p))
                .map(|_| digits[2..].strip_prefix('_').unwrap_or(&digits[2..]))
        })
        .unwrap_or(digits);
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let number = i128::from_str_radix(&digits.replace('_', ""), base).ok()?;
    Some(if negative { -number } else { number })
}

/// Python's `float(text)`.
fn parse_python_float(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.contains("__") || text.starts_with('_') || text.ends_with('_') {
        return None;
    }
    text.replace('_', "").parse().ok()
}

/// Jinja2's `float(default=0.0)`.
fn to_float(value: &Value, default: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let default = match default {
        Some(d) => d,
        None => kwargs
            .get::<Option<Value>>("default")?
            .unwrap_or(Value::from(0.0)),
    };
    kwargs.assert_all_used()?;
    let parsed = match value.kind() {
        ValueKind::Bool => Some(if value.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => to_data(value).as_f64(),
        ValueKind::String => parse_python_float(value.as_str().unwrap_or_default()),
        _ => None,
    };
    Ok(parsed.map_or(default, Value::from))
}

/// `string`: Python's `str()` of the value (`True`, `None`, `['a']`).
fn to_string(value: &Value) -> Result<String, Error> {
    if value.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    Ok(python::str(&to_data(value)))
}

/// `ternary(true_value, false_value, none_value)`.
fn ternary(value: &Value, if_true: Value, if_false: Value, if_none: Option<Value>) -> Value {
    match if_none {
        Some(none) if value.is_none() && !none.is_none() => none,
        _ if value.is_true() => if_true,
        _ => if_false,
    }
}

/// `type_debug`: the Python type name of the value (`str`, `int`, `float`, `bool`,
/// `NoneType`, `list`, `dict`).
fn type_debug(value: &Value) -> &'static str {
    collections::type_name(&to_data(value))
}

/// `mandatory(msg)`: the value, or an error when it is undefined.
fn mandatory(value: Value, msg: Option<String>) -> Result<Value, Error> {
    if value.is_undefined() {
        return Err(failure(
            msg.unwrap_or_else(|| "Mandatory variable not defined.".into()),
        ));
    }
    Ok(value)
}

#[cfg(test)]
pub(super) mod tests {
    use crate::template::Templater;
    use serde_json::{Value, json};

    /// Renders `source` with `vars`, panicking on error.
    pub fn render(source: &str, vars: Value) -> String {
        Templater::new()
            .render_str(source, &vars)
            .unwrap_or_else(|e| panic!("{source}: {e}"))
    }

    /// Evaluates `expr` to data, panicking on error.
    pub fn eval(expr: &str, vars: Value) -> Value {
        Templater::new()
            .eval_expression(expr, &vars)
            .unwrap_or_else(|e| panic!("{expr}: {e}"))
    }

    /// The error message of rendering `source`.
    pub fn render_error(source: &str, vars: Value) -> String {
        Templater::new()
            .render_str(source, &vars)
            .expect_err(source)
            .message
    }

    #[test]
    fn bool_follows_ansible() {
        for truthy in [
            "'yes'", "'on'", "'1'", "'True'", "'TRUE'", "1", "1.0", "true",
        ] {
            assert_eq!(
                eval(&format!("{truthy} | bool"), json!(null)),
                true,
                "{truthy}"
            );
        }
        for falsy in [
            "'no'", "'off'", "'0'", "'false'", "'foo'", "''", "0", "2", "none", "[1]",
        ] {
            assert_eq!(
                eval(&format!("{falsy} | bool"), json!(null)),
                false,
                "{falsy}"
            );
        }
    }

    #[test]
    fn int_and_float_fall_back_to_their_default() {
        assert_eq!(eval("'42' | int", json!(null)), 42);
        assert_eq!(eval("' 42 ' | int", json!(null)), 42);
        assert_eq!(eval("'42.7' | int", json!(null)), 42);
        assert_eq!(eval("-3.9 | int", json!(null)), -3);
        assert_eq!(eval("'abc' | int", json!(null)), 0);
        assert_eq!(eval("'abc' | int(7)", json!(null)), 7);
        assert_eq!(eval("'abc' | int(default=5)", json!(null)), 5);
        assert_eq!(eval("'0x1f' | int(base=16)", json!(null)), 31);
        assert_eq!(eval("'1f' | int(0, 16)", json!(null)), 31);
        assert_eq!(eval("'0x1f' | int", json!(null)), 0);
        assert_eq!(eval("true | int", json!(null)), 1);
        assert_eq!(eval("none | int", json!(null)), 0);
        assert_eq!(eval("'1.5' | float", json!(null)), 1.5);
        assert_eq!(eval("3 | float", json!(null)), 3.0);
        assert_eq!(eval("'x' | float", json!(null)), 0.0);
        assert_eq!(eval("'x' | float(2.5)", json!(null)), 2.5);
        assert_eq!(render("{{ '2' | float }}", json!(null)), "2.0");
    }

    #[test]
    fn string_prints_like_python() {
        assert_eq!(eval("true | string", json!(null)), "True");
        assert_eq!(eval("none | string", json!(null)), "None");
        assert_eq!(eval("[1, 'a'] | string", json!(null)), "[1, 'a']");
        assert_eq!(eval("{'k': false} | string", json!(null)), "{'k': False}");
        assert_eq!(eval("42 | string", json!(null)), "42");
    }

    #[test]
    fn default_behaves_like_jinja2() {
        assert_eq!(render("{{ nope | default('x') }}", json!({})), "x");
        assert_eq!(render("{{ nope | d('x') }}", json!({})), "x");
        assert_eq!(render("{{ v | default('x') }}", json!({"v": ""})), "");
        assert_eq!(
            render("{{ v | default('x', true) }}", json!({"v": ""})),
            "x"
        );
        assert_eq!(render("{{ v | default('x', true) }}", json!({"v": 0})), "x");
        assert_eq!(
            render("{{ r.missing | default('x') }}", json!({"r": {}})),
            "x"
        );
        assert_eq!(render("{{ nope | default }}", json!({})), "");
    }

    #[test]
    fn ternary_picks_by_truth_and_none() {
        assert_eq!(eval("true | ternary('a', 'b')", json!(null)), "a");
        assert_eq!(eval("'' | ternary('a', 'b')", json!(null)), "b");
        assert_eq!(eval("none | ternary('a', 'b')", json!(null)), "b");
        assert_eq!(eval("none | ternary('a', 'b', 'n')", json!(null)), "n");
        assert_eq!(eval("false | ternary('a', 'b', 'n')", json!(null)), "b");
    }

    #[test]
    fn mandatory_fails_on_undefined_only() {
        assert_eq!(eval("v | mandatory", json!({"v": 0})), 0);
        assert!(
            render_error("{{ nope | mandatory }}", json!({}))
                .contains("Mandatory variable not defined.")
        );
        assert!(render_error("{{ nope | mandatory('set nope') }}", json!({})).contains("set nope"));
    }

    #[test]
    fn builtin_list_filters_behave_like_jinja2() {
        let vars = json!({"users": [
            {"name": "a", "admin": true, "uid": 3},
            {"name": "b", "admin": false, "uid": 1},
            {"name": "c", "uid": 2}]});
        assert_eq!(
            eval("users | map(attribute='name') | list", vars.clone()),
            json!(["a", "b", "c"])
        );
        assert_eq!(
            eval(
                "users | selectattr('admin', 'defined') | map(attribute='name') | list",
                vars.clone()
            ),
            json!(["a", "b"])
        );
        assert_eq!(
            eval(
                "users | selectattr('admin') | map(attribute='name') | join(',')",
                vars.clone()
            ),
            "a"
        );
        assert_eq!(
            eval(
                "users | rejectattr('uid', 'gt', 1) | map(attribute='name') | first",
                vars.clone()
            ),
            "b"
        );
        assert_eq!(eval("['1', '2'] | map('int') | sum", vars.clone()), 3);
        assert_eq!(
            eval("[1, 2, 3, 4] | select('even') | list", vars.clone()),
            json!([2, 4])
        );
        assert_eq!(
            eval("[1, 2, 3, 4] | reject('odd') | list", vars.clone()),
            json!([2, 4])
        );
        assert_eq!(eval("['a', 'b'] | join", vars.clone()), "ab");
        assert_eq!(eval("[3, 1, 2] | min", vars.clone()), 1);
        assert_eq!(eval("[3, 1, 2] | max", vars.clone()), 3);
        assert_eq!(eval("[3, 1, 2] | last", vars.clone()), 2);
        assert_eq!(eval("'abc' | length", vars.clone()), 3);
        assert_eq!(
            eval("['a', 'b', 'a', 'A'] | unique | list", vars.clone()),
            json!(["a", "b"])
        );
        assert_eq!(
            eval("[{'a': 1}, {'a': 1}] | unique | list", vars.clone()),
            json!([{"a": 1}])
        );
        assert_eq!(
            eval("[1, 2] | zip(['a', 'b']) | list", vars),
            json!([[1, "a"], [2, "b"]])
        );
    }

    #[test]
    fn mixed_text_prints_values_like_python() {
        let vars =
            json!({"flag": true, "none": null, "list": ["a", 1], "map": {"k": "v"}, "f": 1.0});
        assert_eq!(
            render("{{ flag }} {{ none }} {{ list }} {{ map }} {{ f }}", vars),
            "True None ['a', 1] {'k': 'v'} 1.0"
        );
    }

    #[test]
    fn type_debug_names_python_types() {
        let vars = json!({"s": "t", "n": 3, "f": 1.5, "l": [1], "d": {}, "z": null, "b": true});
        assert_eq!(
            render(
                "{{ s | type_debug }} {{ n | type_debug }} {{ f | type_debug }} {{ l | type_debug }} \
                 {{ d | type_debug }} {{ z | type_debug }} {{ b | type_debug }}",
                vars
            ),
            "str int float list dict NoneType bool"
        );
    }

    #[test]
    fn arithmetic_filters() {
        assert_eq!(eval("100 | log(10)", json!(null)), 2.0);
        assert_eq!(eval("2 | pow(3)", json!(null)), 8.0);
        assert_eq!(eval("9 | root", json!(null)), 3.0);
        assert_eq!(eval("27 | root(3)", json!(null)), 3.0);
        assert_eq!(
            eval("'x' | password_hash('sha512', 'saltsalt')", json!(null)),
            crate::template::crypt::hash("x", "sha512", Some("saltsalt"), None).unwrap()
        );
    }
}
