//! Ansible's Jinja tests (`is failed`, `is match`, `is version`, ...) on top of minijinja's
//! builtins (`defined`, `undefined`, `none`, `string`, `number`, `mapping`, `iterable`,
//! `sequence`, `in`, `eq`, ...), which already behave like Jinja2's.

use std::cmp::Ordering;
use std::sync::LazyLock;

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, Error, Value};
use regex::Regex;

use super::filters::failure;
use super::text::compile;

/// Adds Ansible's tests to `env`.
pub fn register(env: &mut Environment<'static>) {
    env.add_test("failed", |r: &Value| result_flag(r, "failed"));
    env.add_test("succeeded", succeeded);
    env.add_test("success", succeeded);
    env.add_test("changed", changed);
    env.add_test("skipped", |r: &Value| result_flag(r, "skipped"));
    env.add_test("unreachable", |r: &Value| result_flag(r, "unreachable"));
    env.add_test("match", |v: &str, p: &str, k: Kwargs| {
        regex_test(v, p, k, "match")
    });
    env.add_test("search", |v: &str, p: &str, k: Kwargs| {
        regex_test(v, p, k, "search")
    });
    env.add_test("regex", regex);
    env.add_test("version", version);
    env.add_test("version_compare", version);
    env.add_test("truthy", truthy);
    env.add_test("falsy", |v: &Value, k: Kwargs| truthy(v, k).map(|t| !t));
    env.add_test("contains", |seq: &Value, item: &Value| contains(seq, item));
}

/// A registered task result, or the error Ansible gives for anything else.
fn expect_result<'a>(result: &'a Value, test: &str) -> Result<&'a Value, Error> {
    if result.kind() == ValueKind::Map {
        Ok(result)
    } else {
        Err(failure(format!("The '{test}' test expects a dictionary")))
    }
}

/// Whether `result[flag]` is true (missing counts as false).
fn result_flag(result: &Value, flag: &str) -> Result<bool, Error> {
    let result = expect_result(result, flag)?;
    Ok(result.get_attr(flag).is_ok_and(|v| v.is_true()))
}

fn succeeded(result: &Value) -> Result<bool, Error> {
    let result = expect_result(result, "succeeded")?;
    Ok(!result.get_attr("failed").is_ok_and(|v| v.is_true()))
}

/// `changed`: the result's flag, or any of a loop's `results` when the flag is missing.
fn changed(result: &Value) -> Result<bool, Error> {
    let result = expect_result(result, "changed")?;
    let flag = result.get_attr("changed")?;
    if !flag.is_undefined() {
        return Ok(flag.is_true());
    }
    let Ok(items) = result.get_attr("results").and_then(|r| r.try_iter()) else {
        return Ok(false);
    };
    Ok(items
        .into_iter()
        .any(|item| item.get_attr("changed").is_ok_and(|v| v.is_true())))
}

/// `match` (anchored at the start), `fullmatch` (the whole text) and `search`, with
/// `ignorecase`/`multiline`.
fn regex_test(value: &str, pattern: &str, kwargs: Kwargs, match_type: &str) -> Result<bool, Error> {
    let pattern = match match_type {
        "match" => format!(r"\A(?:{pattern})"),
        "fullmatch" => format!(r"\A(?:{pattern})\z"),
        _ => pattern.to_string(),
    };
    let regex = compile(&pattern, &kwargs)?;
    kwargs.assert_all_used()?;
    Ok(regex.is_match(value))
}

/// `regex(pattern, ignorecase=False, multiline=False, match_type='search')`.
fn regex(value: &str, pattern: &str, kwargs: Kwargs) -> Result<bool, Error> {
    let match_type = kwargs
        .get::<Option<String>>("match_type")?
        .unwrap_or_else(|| "search".into());
    if !matches!(match_type.as_str(), "search" | "match" | "fullmatch") {
        return Err(failure(format!("unsupported match_type {match_type:?}")));
    }
    regex_test(value, pattern, kwargs, &match_type)
}

/// `version(other, operator='eq')` with Python's `LooseVersion` ordering.
fn version(
    value: &Value,
    other: &Value,
    operator: Option<&str>,
    kwargs: Kwargs,
) -> Result<bool, Error> {
    let operator = match operator {
        Some(op) => op.to_string(),
        None => kwargs
            .get::<Option<String>>("operator")?
            .unwrap_or_else(|| "eq".into()),
    };
    let strict = kwargs.get::<Option<bool>>("strict")?.unwrap_or(false);
    let version_type = kwargs.get::<Option<String>>("version_type")?;
    kwargs.assert_all_used()?;
    if strict || version_type.as_deref().is_some_and(|t| t != "loose") {
        return Err(failure("only loose version comparison is supported"));
    }
    let text = |v: &Value| super::python::str(&super::filters::to_data(v));
    let ordering = compare_loose(&text(value), &text(other))?;
    Ok(match operator.as_str() {
        "==" | "=" | "eq" => ordering == Ordering::Equal,
        "!=" | "<>" | "ne" => ordering != Ordering::Equal,
        "<" | "lt" => ordering == Ordering::Less,
        "<=" | "le" => ordering != Ordering::Greater,
        ">" | "gt" => ordering == Ordering::Greater,
        ">=" | "ge" => ordering != Ordering::Less,
        other => return Err(failure(format!("Invalid operator type ({other})"))),
    })
}

/// One piece of a loose version: a number or text.
#[derive(Debug, PartialEq, Eq)]
enum Component {
    Number(u128),
    Text(String),
}

/// `LooseVersion` components: runs of digits, runs of lowercase letters and anything else,
/// dots dropped.
fn loose_components(version: &str) -> Vec<Component> {
    static PIECE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\d+|[a-z]+|\.").expect("the version pattern is valid"));
    let mut components = Vec::new();
    let mut last = 0;
    let mut push = |text: &str| {
        if text.is_empty() || text == "." {
            return;
        }
        components.push(match text.parse() {
            Ok(n) => Component::Number(n),
            Err(_) => Component::Text(text.to_string()),
        });
    };
    for piece in PIECE.find_iter(version) {
        push(&version[last..piece.start()]);
        push(piece.as_str());
        last = piece.end();
    }
    push(&version[last..]);
    components
}

/// Python 3's `LooseVersion` comparison: numbers against text cannot be compared.
fn compare_loose(a: &str, b: &str) -> Result<Ordering, Error> {
    let (left, right) = (loose_components(a), loose_components(b));
    for (l, r) in left.iter().zip(&right) {
        let ordering = match (l, r) {
            (Component::Number(x), Component::Number(y)) => x.cmp(y),
            (Component::Text(x), Component::Text(y)) => x.cmp(y),
            _ => {
                return Err(failure(format!(
                    "Version comparison failed: cannot compare {a:?} with {b:?}"
                )));
            }
        };
        if ordering != Ordering::Equal {
            return Ok(ordering);
        }
    }
    Ok(left.len().cmp(&right.len()))
}

/// `truthy(convert_bool=False)`: Python truth, after the `bool` filter when asked.
fn truthy(value: &Value, kwargs: Kwargs) -> Result<bool, Error> {
    let convert = kwargs.get::<Option<bool>>("convert_bool")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    if convert
        && matches!(
            value.kind(),
            ValueKind::String | ValueKind::Number | ValueKind::Bool
        )
    {
        let text = super::python::str(&super::filters::to_data(value)).to_lowercase();
        return Ok(matches!(text.as_str(), "yes" | "on" | "1" | "true" | "1.0"));
    }
    Ok(value.is_true())
}

/// `contains(item)`: `item in seq`.
fn contains(seq: &Value, item: &Value) -> Result<bool, Error> {
    let found = match seq.kind() {
        ValueKind::String => item
            .as_str()
            .is_some_and(|i| seq.as_str().unwrap_or_default().contains(i)),
        _ => seq.try_iter()?.any(|v| &v == item),
    };
    Ok(found)
}

#[cfg(test)]
mod tests {
    use crate::template::filters::tests::{eval, render_error};
    use serde_json::json;

    fn holds(expr: &str, vars: serde_json::Value) -> bool {
        eval(expr, vars)
            .as_bool()
            .unwrap_or_else(|| panic!("{expr} is not a bool"))
    }

    #[test]
    fn result_tests_read_the_flags() {
        let vars = json!({"ok": {"changed": false, "failed": false}, "bad": {"failed": true},
            "loop": {"results": [{"changed": false}, {"changed": true}]}, "skip": {"skipped": true}});
        assert!(holds(
            "ok is succeeded and ok is success and ok is not failed",
            vars.clone()
        ));
        assert!(holds(
            "bad is failed and bad is not succeeded",
            vars.clone()
        ));
        assert!(holds("ok is not changed and loop is changed", vars.clone()));
        assert!(holds("skip is skipped and ok is not skipped", vars.clone()));
        assert!(
            render_error("{{ 'x' is failed }}", vars)
                .contains("The 'failed' test expects a dictionary")
        );
    }

    #[test]
    fn defined_none_and_types() {
        let vars = json!({"n": null, "s": "x", "i": 1, "m": {}, "l": []});
        assert!(holds(
            "s is defined and nope is undefined and nope is not defined",
            vars.clone()
        ));
        assert!(holds("n is none and s is not none", vars.clone()));
        assert!(holds(
            "s is string and i is not string and i is number",
            vars.clone()
        ));
        assert!(holds(
            "m is mapping and l is not mapping and l is iterable and s is iterable",
            vars.clone()
        ));
        assert!(holds("2 is in [1, 2] and l is not in [[1]]", vars.clone()));
        assert!(holds(
            "[1, 2] is contains 2 and 'abc' is contains 'b' and [1] is not contains 3",
            vars
        ));
    }

    #[test]
    fn regex_tests() {
        let vars = json!({"url": "https://example.com/users/42"});
        assert!(holds("url is match('https://')", vars.clone()));
        assert!(holds("url is not match('example')", vars.clone()));
        assert!(holds("url is search('users/\\d+')", vars.clone()));
        assert!(holds(
            "url is search('EXAMPLE', ignorecase=true)",
            vars.clone()
        ));
        assert!(holds("url is regex('example\\.com')", vars.clone()));
        assert!(holds(
            "url is not regex('example', match_type='match')",
            vars.clone()
        ));
        assert!(holds("'ab' is regex('a|ab', match_type='fullmatch')", vars));
    }

    #[test]
    fn version_comparisons() {
        let null = json!(null);
        assert!(holds("'1.10.0' is version('1.9', '>')", null.clone()));
        assert!(holds("'1.10.0' is version('1.9', 'gt')", null.clone()));
        assert!(holds(
            "'2.0' is version('2.0', '==') and '2.0' is version('2.0', 'eq')",
            null.clone()
        ));
        assert!(holds(
            "'2.0' is version('2.0.0', '<') and '2.0' is version('2.0.1', 'lt')",
            null.clone()
        ));
        assert!(holds(
            "'2.0' is version('2.0', '<=') and '2.0' is version('2.1', 'le')",
            null.clone()
        ));
        assert!(holds(
            "'3' is version('2.9', '>=') and '3' is version('3', 'ge')",
            null.clone()
        ));
        assert!(holds(
            "'1.0' is version('1.1', '!=') and '1.0' is version('1.1', 'ne')",
            null.clone()
        ));
        assert!(holds("'1.0a' is version('1.0', '>')", null.clone()));
        assert!(holds(
            "'20.04' is version_compare('18.04', '>=')",
            null.clone()
        ));
        assert!(holds("2.1 is version('2.0', operator='gt')", null.clone()));
        assert!(holds("'1.2' is version('1.2')", null.clone()));
        assert!(
            render_error("{{ '1' is version('1', 'bigger') }}", null.clone())
                .contains("Invalid operator type (bigger)")
        );
        assert!(
            render_error("{{ '1.a' is version('1.1', '<') }}", null)
                .contains("Version comparison failed")
        );
    }

    #[test]
    fn truthy_and_falsy() {
        let null = json!(null);
        assert!(holds(
            "'x' is truthy and '' is falsy and 0 is falsy and [0] is truthy",
            null.clone()
        ));
        assert!(holds(
            "'no' is truthy and 'no' is falsy(convert_bool=true)",
            null.clone()
        ));
        assert!(holds(
            "'yes' is truthy(convert_bool=true) and 'off' is not truthy(convert_bool=true)",
            null
        ));
    }
}
