//! Filters reshaping lists and dictionaries: `combine`, `dict2items`, `items2dict`, `flatten`,
//! `subelements`.

use minijinja::value::{Kwargs, Rest};
use minijinja::{Environment, Error, Value};
use serde_json::{Map, Value as Data};

use super::filters::{failure, from_data, to_data};

/// Adds the collection filters to `env`.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("combine", combine);
    env.add_filter("dict2items", dict2items);
    env.add_filter("items2dict", items2dict);
    env.add_filter("flatten", flatten);
    env.add_filter("subelements", subelements);
}

/// Ansible's `subelements(key, skip_missing=False)` filter: the lookup's pairs of each record and
/// each item of its list under `key`.
fn subelements(
    records: Value,
    key: Value,
    rest: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let skip_missing = match kwargs.get::<Option<Value>>("skip_missing")? {
        Some(flag) => flag,
        None => rest.first().cloned().unwrap_or(Value::from(false)),
    };
    kwargs.assert_all_used()?;
    let flags = from_data(&serde_json::json!({"skip_missing": skip_missing.is_true()}));
    let pairs = super::lookups::subelements(&[records, key, flags])?;
    Ok(Value::from(pairs))
}

/// How `combine` merges two lists found under the same key.
#[derive(Clone, Copy)]
enum ListMerge {
    Replace,
    Keep,
    Append,
    Prepend,
    AppendRp,
    PrependRp,
}

impl ListMerge {
    fn parse(name: &str) -> Result<Self, Error> {
        Ok(match name {
            "replace" => ListMerge::Replace,
            "keep" => ListMerge::Keep,
            "append" => ListMerge::Append,
            "prepend" => ListMerge::Prepend,
            "append_rp" => ListMerge::AppendRp,
            "prepend_rp" => ListMerge::PrependRp,
            _ => {
                return Err(failure(
                    "merge_hash: 'list_merge' argument can only be equal to 'replace', 'keep', \
                     'append', 'prepend', 'append_rp' or 'prepend_rp'",
                ));
            }
        })
    }

    fn merge(self, low: &[Data], high: &[Data]) -> Vec<Data> {
        let low_only = || low.iter().filter(|x| !high.contains(x)).cloned();
        match self {
            ListMerge::Replace => high.to_vec(),
            ListMerge::Keep => low.to_vec(),
            ListMerge::Append => low.iter().chain(high).cloned().collect(),
            ListMerge::Prepend => high.iter().chain(low).cloned().collect(),
            ListMerge::AppendRp => low_only().chain(high.iter().cloned()).collect(),
            ListMerge::PrependRp => high.iter().cloned().chain(low_only()).collect(),
        }
    }
}

/// `combine(*dicts, recursive=False, list_merge='replace')`: later dictionaries win.
fn combine(value: Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let recursive = kwargs.get::<Option<bool>>("recursive")?.unwrap_or(false);
    let list_merge = ListMerge::parse(
        kwargs
            .get::<Option<&str>>("list_merge")?
            .unwrap_or("replace"),
    )?;
    kwargs.assert_all_used()?;
    let mut dicts = Vec::new();
    for term in std::iter::once(&value).chain(others.iter()) {
        match to_data(term) {
            Data::Array(items) => dicts.extend(items),
            other => dicts.push(other),
        }
    }
    let mut dicts = dicts.into_iter();
    let Some(first) = dicts.next() else {
        return Ok(from_data(&Data::Object(Map::new())));
    };
    let mut result = expect_dict(first)?;
    for dict in dicts {
        result = merge(result, expect_dict(dict)?, recursive, list_merge);
    }
    Ok(from_data(&Data::Object(result)))
}

fn expect_dict(value: Data) -> Result<Map<String, Data>, Error> {
    match value {
        Data::Object(map) => Ok(map),
        other => Err(failure(format!(
            "failed to combine variables, expected dicts but got a '{}'",
            type_name(&other)
        ))),
    }
}

/// Ansible's `combine_vars(low, high, merge=True)`: a recursive merge in which lists are replaced.
pub fn merge_hash(low: Map<String, Data>, high: Map<String, Data>) -> Map<String, Data> {
    merge(low, high, true, ListMerge::Replace)
}

/// Ansible's `merge_hash(low, high)`; keys keep their first position.
fn merge(
    mut low: Map<String, Data>,
    high: Map<String, Data>,
    recursive: bool,
    lists: ListMerge,
) -> Map<String, Data> {
    for (key, high_value) in high {
        let merged = match (low.get_mut(&key), high_value) {
            (Some(Data::Object(l)), Data::Object(h)) if recursive => {
                Data::Object(merge(std::mem::take(l), h, recursive, lists))
            }
            (Some(Data::Array(l)), Data::Array(h)) => Data::Array(lists.merge(l, &h)),
            (_, h) => h,
        };
        low.insert(key, merged);
    }
    low
}

/// The Python type name Ansible's messages use.
pub(super) fn type_name(value: &Data) -> &'static str {
    match value {
        Data::Null => "NoneType",
        Data::Bool(_) => "bool",
        Data::Number(n) if n.is_f64() => "float",
        Data::Number(_) => "int",
        Data::String(_) => "str",
        Data::Array(_) => "list",
        Data::Object(_) => "dict",
    }
}

/// `dict2items(key_name='key', value_name='value')`.
fn dict2items(
    value: &Value,
    key_name: Option<String>,
    value_name: Option<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let (key_name, value_name) = names(key_name, value_name, &kwargs)?;
    let Data::Object(map) = to_data(value) else {
        return Err(failure(format!(
            "dict2items requires a dictionary, got {} instead.",
            type_name(&to_data(value))
        )));
    };
    let items = map
        .into_iter()
        .map(|(k, v)| {
            let mut item = Map::new();
            item.insert(key_name.clone(), Data::String(k));
            item.insert(value_name.clone(), v);
            Data::Object(item)
        })
        .collect();
    Ok(from_data(&Data::Array(items)))
}

/// `items2dict(key_name='key', value_name='value')`.
fn items2dict(
    value: &Value,
    key_name: Option<String>,
    value_name: Option<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let (key_name, value_name) = names(key_name, value_name, &kwargs)?;
    let Data::Array(items) = to_data(value) else {
        return Err(failure(format!(
            "items2dict requires a list, got {} instead.",
            type_name(&to_data(value))
        )));
    };
    let mut map = Map::new();
    for item in items {
        let (Some(key), Some(entry)) = (item.get(&key_name), item.get(&value_name)) else {
            return Err(failure(format!(
                "items2dict requires each item to have the keys '{key_name}' and '{value_name}', got {item}"
            )));
        };
        let key = match key {
            Data::String(s) => s.clone(),
            other => super::python::str(other),
        };
        map.insert(key, entry.clone());
    }
    Ok(from_data(&Data::Object(map)))
}

/// The `key_name`/`value_name` arguments, given by position or keyword.
fn names(
    key_name: Option<String>,
    value_name: Option<String>,
    kwargs: &Kwargs,
) -> Result<(String, String), Error> {
    let key_name = match key_name {
        Some(k) => k,
        None => kwargs
            .get::<Option<String>>("key_name")?
            .unwrap_or_else(|| "key".into()),
    };
    let value_name = match value_name {
        Some(v) => v,
        None => kwargs
            .get::<Option<String>>("value_name")?
            .unwrap_or_else(|| "value".into()),
    };
    kwargs.assert_all_used()?;
    Ok((key_name, value_name))
}

/// `flatten(levels=None, skip_nulls=True)`.
fn flatten(value: &Value, levels: Option<usize>, kwargs: Kwargs) -> Result<Value, Error> {
    let levels = match levels {
        Some(l) => Some(l),
        None => kwargs.get::<Option<usize>>("levels")?,
    };
    let skip_nulls = kwargs.get::<Option<bool>>("skip_nulls")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    let Data::Array(items) = to_data(value) else {
        return Err(failure("flatten expects a list"));
    };
    let mut out = Vec::new();
    flatten_into(items, levels, skip_nulls, &mut out);
    Ok(from_data(&Data::Array(out)))
}

fn flatten_into(items: Vec<Data>, levels: Option<usize>, skip_nulls: bool, out: &mut Vec<Data>) {
    for item in items {
        let is_null = matches!(&item, Data::Null) || matches!(item.as_str(), Some("None" | "null"));
        match item {
            _ if skip_nulls && is_null => {}
            Data::Array(inner) if levels != Some(0) => {
                flatten_into(inner, levels.map(|l| l - 1), skip_nulls, out)
            }
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::template::filters::tests::{eval, render_error};
    use serde_json::json;

    #[test]
    fn subelements_pairs_records_with_their_items() {
        let vars = json!({"users": [{"name": "a", "keys": ["k1", "k2"]}, {"name": "b"}]});
        assert_eq!(
            eval(
                "users | subelements('keys', skip_missing=true) | map('last') | list",
                vars.clone()
            ),
            json!(["k1", "k2"])
        );
        assert_eq!(
            eval("users | subelements('keys', True) | length", vars.clone()),
            json!(2)
        );
        assert!(
            render_error("{{ [{'name': 'b'}] | subelements('keys') }}", json!({})).contains("keys")
        );
    }

    #[test]
    fn combine_shallow_and_recursive() {
        let vars = json!({"a": {"x": 1, "n": {"p": 1, "q": 2}, "l": [1, 2]},
                          "b": {"y": 2, "n": {"q": 3}, "l": [2, 3]}});
        assert_eq!(
            eval("a | combine(b)", vars.clone()),
            json!({"x": 1, "n": {"q": 3}, "l": [2, 3], "y": 2})
        );
        assert_eq!(
            eval("a | combine(b, recursive=true)", vars.clone()),
            json!({"x": 1, "n": {"p": 1, "q": 3}, "l": [2, 3], "y": 2})
        );
        assert_eq!(
            eval("a | combine(b, list_merge='append') ", vars.clone())["l"],
            json!([1, 2, 2, 3])
        );
        assert_eq!(
            eval("a | combine(b, list_merge='prepend') ", vars.clone())["l"],
            json!([2, 3, 1, 2])
        );
        assert_eq!(
            eval("a | combine(b, list_merge='append_rp') ", vars.clone())["l"],
            json!([1, 2, 3])
        );
        assert_eq!(
            eval("a | combine(b, list_merge='prepend_rp') ", vars.clone())["l"],
            json!([2, 3, 1])
        );
        assert_eq!(
            eval("a | combine(b, list_merge='keep') ", vars.clone())["l"],
            json!([1, 2])
        );
        assert_eq!(eval("[a, b] | combine", vars.clone())["y"], 2);
        assert_eq!(
            eval("{} | combine({'k': 1}, {'k': 2})", vars.clone()),
            json!({"k": 2})
        );
        assert!(
            render_error("{{ a | combine(b, list_merge='x') }}", vars.clone())
                .contains("list_merge")
        );
        assert!(
            render_error("{{ a | combine(1) }}", vars).contains("expected dicts but got a 'int'")
        );
    }

    #[test]
    fn dict2items_and_back() {
        let vars = json!({"d": {"a": 1, "b": 2}});
        assert_eq!(
            eval("d | dict2items", vars.clone()),
            json!([{"key": "a", "value": 1}, {"key": "b", "value": 2}])
        );
        assert_eq!(
            eval("d | dict2items(key_name='k', value_name='v')", vars.clone()),
            json!([{"k": "a", "v": 1}, {"k": "b", "v": 2}])
        );
        assert_eq!(
            eval("d | dict2items | items2dict", vars.clone()),
            json!({"a": 1, "b": 2})
        );
        assert_eq!(
            eval(
                "[{'n': 'x', 'v': 1}] | items2dict(key_name='n', value_name='v')",
                vars.clone()
            ),
            json!({"x": 1})
        );
        assert!(
            render_error("{{ [1] | dict2items }}", vars.clone())
                .contains("dict2items requires a dictionary, got list instead.")
        );
        assert!(
            render_error("{{ d | items2dict }}", vars)
                .contains("items2dict requires a list, got dict instead.")
        );
    }

    #[test]
    fn flatten_levels_and_nulls() {
        let vars = json!({"l": [1, [2, [3, [4]]], null, "None", "x"]});
        assert_eq!(eval("l | flatten", vars.clone()), json!([1, 2, 3, 4, "x"]));
        assert_eq!(
            eval("l | flatten(1)", vars.clone()),
            json!([1, 2, [3, [4]], "x"])
        );
        assert_eq!(
            eval("l | flatten(levels=2)", vars.clone()),
            json!([1, 2, 3, [4], "x"])
        );
        assert_eq!(
            eval("l | flatten(skip_nulls=false)", vars),
            json!([1, 2, 3, 4, null, "None", "x"])
        );
    }
}
