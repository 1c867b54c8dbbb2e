//! Lookups that build loop items from data: `dict`, `indexed_items`, `nested`, `together`,
//! `subelements`, `sequence`, `random_choice`, `varnames` and `vars` (`items` and `list` are
//! one line each in `run`).

use minijinja::value::Kwargs;
use minijinja::{Error, State, Value};
use serde_json::{Map, Value as Data};

use super::{failure, flatten_terms, term_text};
use crate::template::filters::{from_data, to_data};

/// `dict`: `{key, value}` items from each mapping.
pub fn dict(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for term in terms {
        let Data::Object(map) = to_data(term) else {
            return Err(failure(format!("with_dict expects a dict, got {term}")));
        };
        out.extend(
            map.into_iter()
                .map(|(key, value)| from_data(&serde_json::json!({"key": key, "value": value}))),
        );
    }
    Ok(out)
}

/// `indexed_items`: `[index, item]` pairs.
pub fn indexed(items: Vec<Value>) -> Vec<Value> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| Value::from(vec![Value::from(i), item]))
        .collect()
}

/// The terms as lists (a lone non-list value is a list of one).
fn lists(terms: &[Value]) -> Vec<Vec<Value>> {
    terms
        .iter()
        .map(|t| flatten_terms(std::slice::from_ref(t)))
        .collect()
}

/// `nested`: every combination of one item of each list, in order.
pub fn nested(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let lists = lists(terms);
    if lists.is_empty() {
        return Err(failure(
            "with_nested requires at least one element in the nested list",
        ));
    }
    Ok(crate::template::sets::cartesian(&lists)
        .into_iter()
        .map(|row| Value::from(flatten_terms(&row)))
        .collect())
}

/// `together`: the lists zipped, the shorter ones padded with `None`.
pub fn together(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let lists = lists(terms);
    if lists.is_empty() {
        return Err(failure(
            "with_together requires at least one element in each list",
        ));
    }
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok((0..longest)
        .map(|i| {
            let row: Vec<Value> = lists
                .iter()
                .map(|l| l.get(i).cloned().unwrap_or(Value::from(())))
                .collect();
            Value::from(flatten_terms(&row))
        })
        .collect())
}

/// `subelements`: `[record, subitem]` pairs for each item of the list under `key` (a dotted
/// path) of each record; `{'skip_missing': True}` skips records without it.
pub fn subelements(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let usage = |msg: &str| {
        failure(format!(
            "subelements lookup expects a list of two or three items, {msg}"
        ))
    };
    if !(2..=3).contains(&terms.len()) {
        return Err(usage(""));
    }
    let records = match to_data(&terms[0]) {
        Data::Array(items) => items,
        Data::Object(map) if map.get("skipped").is_some_and(|s| s != &Data::Bool(false)) => {
            return Ok(Vec::new());
        }
        Data::Object(map) => map.into_iter().map(|(_, v)| v).collect(),
        _ => {
            return Err(usage(
                "first a dict or a list, second a string pointing to the subkey",
            ));
        }
    };
    let Some(path) = terms[1].as_str() else {
        return Err(usage(
            "first a dict or a list, second a string pointing to the subkey",
        ));
    };
    let keys: Vec<&str> = path.split('.').collect();
    let skip_missing = match terms.get(2).map(to_data) {
        None => false,
        Some(Data::Object(flags)) => flags.get("skip_missing").is_some_and(truthy),
        Some(_) => {
            return Err(usage(
                "the optional third item must be a dict with flags ('skip_missing',)",
            ));
        }
    };
    let mut out = Vec::new();
    for record in records {
        let Data::Object(map) = &record else {
            return Err(failure(format!(
                "subelements lookup expects a dictionary, got '{}'",
                crate::template::python::str(&record)
            )));
        };
        if map.get("skipped").is_some_and(|s| s != &Data::Bool(false)) {
            continue;
        }
        let Some(sublist) = sublist(map, &keys, skip_missing)? else {
            continue;
        };
        let mut parent = record.clone();
        remove_path(&mut parent, &keys);
        for item in sublist {
            out.push(Value::from(vec![from_data(&parent), from_data(&item)]));
        }
    }
    Ok(out)
}

/// Whether a flag value is true the way Ansible's `boolean(strict=False)` sees it.
fn truthy(value: &Data) -> bool {
    match value {
        Data::Bool(b) => *b,
        Data::Number(n) => n.as_f64() == Some(1.0),
        Data::String(s) => matches!(
            s.to_lowercase().as_str(),
            "yes" | "on" | "1" | "true" | "y" | "t"
        ),
        _ => false,
    }
}

/// The list under `keys` in a record; `None` when missing and `skip_missing`.
fn sublist(
    record: &Map<String, Data>,
    keys: &[&str],
    skip_missing: bool,
) -> Result<Option<Vec<Data>>, Error> {
    let mut current = record;
    for (i, key) in keys.iter().enumerate() {
        let Some(value) = current.get(*key) else {
            if skip_missing {
                return Ok(None);
            }
            return Err(failure(format!(
                "could not find '{key}' key in iterated item '{}'",
                crate::template::python::str(&Data::Object(current.clone()))
            )));
        };
        match value {
            Data::Array(items) if i + 1 == keys.len() => return Ok(Some(items.clone())),
            _ if i + 1 == keys.len() => {
                return Err(failure(format!(
                    "the key {key} should point to a list, got '{}'",
                    crate::template::python::str(value)
                )));
            }
            Data::Object(inner) => current = inner,
            _ if skip_missing => return Ok(None),
            other => {
                return Err(failure(format!(
                    "the key {key} should point to a dictionary, got '{}'",
                    crate::template::python::str(other)
                )));
            }
        }
    }
    Ok(None)
}

/// Removes the list at `keys` from a record, as Ansible's lookup pops it.
fn remove_path(record: &mut Data, keys: &[&str]) {
    let Some((last, parents)) = keys.split_last() else {
        return;
    };
    let mut current = record;
    for key in parents {
        match current.get_mut(*key) {
            Some(inner) => current = inner,
            None => return,
        }
    }
    if let Data::Object(map) = current {
        map.shift_remove(*last);
    }
}

/// The parts of a `sequence`.
struct Sequence {
    start: i64,
    end: Option<i64>,
    count: Option<i64>,
    stride: i64,
    format: String,
}

/// `sequence`: numbers from `start=1 end=N stride=1 format=%d` (or `count=N`), or the
/// shortcut `[start-]end[/stride][:format]`, each formatted as text.
pub fn sequence(terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let mut defaults = Map::new();
    for key in ["start", "end", "count", "stride", "format"] {
        if let Some(v) = kwargs.get::<Option<Value>>(key)? {
            defaults.insert(key.into(), to_data(&v));
        }
    }
    let terms: Vec<Value> = match terms.is_empty() && !defaults.is_empty() {
        true => vec![Value::from("")],
        false => terms.to_vec(),
    };
    let mut out = Vec::new();
    for term in &terms {
        let mut fields = defaults.clone();
        let text = term_text(term)?;
        if !shortcut(text, &mut fields) {
            for word in text.split_whitespace() {
                let Some((key, value)) = word.split_once('=') else {
                    return Err(failure(format!(
                        "unrecognized arguments to with_sequence: ['{word}']"
                    )));
                };
                if !["start", "end", "count", "stride", "format"].contains(&key) {
                    return Err(failure(format!(
                        "unrecognized arguments to with_sequence: ['{key}']"
                    )));
                }
                fields.insert(key.into(), Data::String(value.into()));
            }
        }
        let number = |key: &str, default: Option<i64>| -> Result<Option<i64>, Error> {
            match fields.get(key) {
                None => Ok(default),
                Some(Data::Number(n)) => Ok(n.as_i64()),
                Some(v) => parse_number(&crate::template::python::str(v))
                    .map(Some)
                    .ok_or_else(|| {
                        failure(format!(
                            "can't parse {key}={} as integer",
                            crate::template::python::str(v)
                        ))
                    }),
            }
        };
        let sequence = Sequence {
            start: number("start", Some(1))?.unwrap_or(1),
            end: number("end", None)?,
            count: number("count", None)?,
            stride: number("stride", Some(1))?.unwrap_or(1),
            format: fields
                .get("format")
                .map_or("%d".into(), crate::template::python::str),
        };
        out.extend(sequence.generate()?);
    }
    Ok(out)
}

/// Reads the shortcut form into `fields`; whether `text` is one.
fn shortcut(text: &str, fields: &mut Map<String, Data>) -> bool {
    let pattern =
        regex::Regex::new(r"(?i)^((0?x?[0-9a-f]+)-)?(0?x?[0-9a-f]+)(/(0?x?[0-9a-f]+))?(:(.+))?$")
            .expect("a valid pattern");
    let Some(caps) = pattern.captures(text) else {
        return false;
    };
    for (key, group) in [("start", 2), ("end", 3), ("stride", 5), ("format", 7)] {
        if let Some(m) = caps.get(group) {
            fields.insert(key.into(), Data::String(m.as_str().into()));
        }
    }
    true
}

/// A number as Python's `int(x, 0)` reads it (`0x1f`, `0o17`, `017`, `42`).
fn parse_number(text: &str) -> Option<i64> {
    let lower = text.to_lowercase();
    if let Some(hex) = lower.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok();
    }
    if let Some(octal) = lower.strip_prefix("0o") {
        return i64::from_str_radix(octal, 8).ok();
    }
    if lower.len() > 1 && lower.starts_with('0') {
        return i64::from_str_radix(&lower[1..], 8).ok();
    }
    lower.parse().ok()
}

impl Sequence {
    fn generate(mut self) -> Result<Vec<Value>, Error> {
        match (self.count, self.end) {
            (None, None) => return Err(failure("must specify count or end in with_sequence")),
            (Some(_), Some(_)) => {
                return Err(failure("can't specify both count and end in with_sequence"));
            }
            (Some(0), None) => return Ok(Vec::new()),
            (Some(count), None) => self.end = Some(self.start + count * self.stride - 1),
            _ => {}
        }
        let end = self.end.unwrap_or_default();
        if self.stride > 0 && end < self.start {
            return Err(failure("to count backwards make stride negative"));
        }
        if self.stride < 0 && end > self.start {
            return Err(failure("to count forward don't make stride negative"));
        }
        if self.stride == 0 {
            return Ok(Vec::new());
        }
        if self.format.matches('%').count() != 1 {
            return Err(failure(format!("bad formatting string: {}", self.format)));
        }
        let mut out = Vec::new();
        let mut i = self.start;
        while (self.stride > 0 && i <= end) || (self.stride < 0 && i >= end) {
            out.push(Value::from(printf(&self.format, i)?));
            i += self.stride;
        }
        Ok(out)
    }
}

/// Python's `format % number` for one integer conversion (`%d`, `%02d`, `%x`, `%04X`, `%o`).
fn printf(format: &str, number: i64) -> Result<String, Error> {
    let spec = regex::Regex::new(r"%(-?)(0?)(\d*)([dixXo])").expect("a valid pattern");
    let bad = || failure(format!("problem formatting {number} with '{format}'"));
    let caps = spec.captures(format).ok_or_else(bad)?;
    let whole = caps.get(0).ok_or_else(bad)?;
    let width: usize = caps[3].parse().unwrap_or(0);
    let digits = match &caps[4] {
        "x" => format!("{number:x}"),
        "X" => format!("{number:X}"),
        "o" => format!("{number:o}"),
        _ => number.to_string(),
    };
    let padded = match (&caps[1], &caps[2]) {
        ("-", _) => format!("{digits:<width$}"),
        (_, "0") => format!("{digits:0>width$}"),
        _ => format!("{digits:>width$}"),
    };
    Ok(format!(
        "{}{padded}{}",
        &format[..whole.start()],
        &format[whole.end()..]
    ))
}

/// `random_choice`: one of the terms, picked at random (none when there are none).
pub fn random_choice(terms: &[Value]) -> Vec<Value> {
    match terms.len() {
        0 => Vec::new(),
        n => vec![terms[crate::template::random::below(n)].clone()],
    }
}

/// `varnames`: the names of the variables matching each regular expression.
pub fn varnames(state: &State, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let names = state.known_variables();
    let mut out = Vec::new();
    for term in terms {
        let pattern = term_text(term)?;
        let regex = regex::Regex::new(pattern).map_err(|e| {
            failure(format!(
                "Unable to use \"{pattern}\" as a search parameter: {e}"
            ))
        })?;
        out.extend(
            names
                .iter()
                .filter(|n| !n.starts_with("__deployer") && regex.is_match(n))
                .map(|n| Value::from(n.as_ref())),
        );
    }
    Ok(out)
}

/// `vars`: the value of the named variables, templated when they hold templates.
pub fn vars(state: &State, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let default = kwargs.get::<Option<Value>>("default")?;
    terms
        .iter()
        .map(|term| {
            let name = term_text(term)?;
            match state.lookup(name).filter(|v| !v.is_undefined()) {
                Some(value) => template_nested(state, value),
                None => default
                    .clone()
                    .ok_or_else(|| failure(format!("No variable found with this name: {name}"))),
            }
        })
        .collect()
}

/// A variable's value rendered when it is a template itself, with the variables it reads.
pub(super) fn template_nested(state: &State, value: Value) -> Result<Value, Error> {
    let Some(source) = value
        .as_str()
        .filter(|s| s.contains("{{") || s.contains("{%"))
    else {
        return Ok(value);
    };
    let env = state.env();
    let names = env.template_from_str(source)?.undeclared_variables(false);
    let context: std::collections::BTreeMap<String, Value> = names
        .into_iter()
        .filter_map(|name| state.lookup(&name).map(|v| (name, v)))
        .collect();
    Ok(Value::from(env.render_str(source, context)?))
}
