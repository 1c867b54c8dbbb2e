//! Filters turning data into text and back: JSON and YAML the way Ansible (Python's `json`,
//! PyYAML) writes them, base64 and digests.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use minijinja::value::Kwargs;
use minijinja::{Environment, Error, Value};
use serde_json::Value as Data;
use sha1::Digest;

use super::filters::{failure, from_data, to_data};
use super::python::float_repr;
use super::yaml_dump::{DumpOptions, dump};

/// Adds the encoding filters to `env`.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("to_json", to_json);
    env.add_filter("to_nice_json", to_nice_json);
    env.add_filter("from_json", from_json);
    env.add_filter("to_yaml", to_yaml);
    env.add_filter("to_nice_yaml", to_nice_yaml);
    env.add_filter("from_yaml", from_yaml);
    env.add_filter("from_yaml_all", from_yaml_all);
    env.add_filter("b64encode", b64encode);
    env.add_filter("b64decode", b64decode);
    env.add_filter("hash", hash);
    env.add_filter("checksum", checksum);
    env.add_filter("sha1", checksum);
    env.add_filter("md5", |value: &Value| hash(value, Some("md5")));
}

/// `to_json(indent=None, sort_keys=False)`: Python's `json.dumps`, ASCII-only output.
fn to_json(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent = kwargs.get::<Option<usize>>("indent")?;
    let sort_keys = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    Ok(python_json(&to_data(value), indent, sort_keys))
}

/// `to_nice_json(indent=4, sort_keys=True)`.
fn to_nice_json(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent = kwargs.get::<Option<usize>>("indent")?.unwrap_or(4);
    let sort_keys = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    Ok(python_json(&to_data(value), Some(indent), sort_keys))
}

/// JSON as Python's `json.dumps(value, indent=.., sort_keys=..)` writes it.
pub fn python_json(value: &Data, indent: Option<usize>, sort_keys: bool) -> String {
    let mut out = String::new();
    write_json(value, indent, sort_keys, 0, &mut out);
    out
}

fn write_json(
    value: &Data,
    indent: Option<usize>,
    sort_keys: bool,
    depth: usize,
    out: &mut String,
) {
    let newline = |out: &mut String, depth: usize| {
        if let Some(width) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(width * depth));
        }
    };
    let separator = if indent.is_some() { "," } else { ", " };
    match value {
        Data::Null => out.push_str("null"),
        Data::Bool(b) => out.push_str(&b.to_string()),
        Data::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or_default();
            out.push_str(&match float_repr(f).as_str() {
                "inf" => "Infinity".into(),
                "-inf" => "-Infinity".into(),
                "nan" => "NaN".into(),
                other => other.to_string(),
            });
        }
        Data::Number(n) => out.push_str(&n.to_string()),
        Data::String(s) => write_json_string(s, out),
        Data::Array(items) if items.is_empty() => out.push_str("[]"),
        Data::Object(map) if map.is_empty() => out.push_str("{}"),
        Data::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(separator);
                }
                newline(out, depth + 1);
                write_json(item, indent, sort_keys, depth + 1, out);
            }
            newline(out, depth);
            out.push(']');
        }
        Data::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            if sort_keys {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(separator);
                }
                newline(out, depth + 1);
                write_json_string(key, out);
                out.push_str(": ");
                write_json(item, indent, sort_keys, depth + 1, out);
            }
            newline(out, depth);
            out.push('}');
        }
    }
}

/// A JSON string with Python's `ensure_ascii=True` escaping.
fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            c if (' '..='~').contains(&c) => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// `from_json`: parses JSON text.
fn from_json(text: &str) -> Result<Value, Error> {
    serde_json::from_str::<Data>(text)
        .map(|data| from_data(&data))
        .map_err(|e| failure(format!("from_json: {e}")))
}

/// `to_yaml(indent=2, width=80)`: PyYAML's `yaml.dump` with flow style for leaf collections.
fn to_yaml(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    yaml(value, kwargs, 2, None)
}

/// `to_nice_yaml(indent=4, width=80)`: block style throughout.
fn to_nice_yaml(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    yaml(value, kwargs, 4, Some(false))
}

fn yaml(value: &Value, kwargs: Kwargs, indent: usize, flow: Option<bool>) -> Result<String, Error> {
    let indent = kwargs.get::<Option<usize>>("indent")?.unwrap_or(indent);
    let width = kwargs.get::<Option<usize>>("width")?.unwrap_or(80);
    let sort_keys = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(true);
    let flow = match kwargs.get::<Option<Value>>("default_flow_style")? {
        Some(v) if v.is_none() => None,
        Some(v) => Some(v.is_true()),
        None => flow,
    };
    kwargs.assert_all_used()?;
    Ok(dump(
        &to_data(value),
        DumpOptions {
            indent,
            width,
            flow,
            sort_keys,
        },
    ))
}

/// `from_yaml`: parses YAML text.
fn from_yaml(text: &str) -> Result<Value, Error> {
    let options = serde_saphyr::options! { legacy_octal_numbers: true };
    serde_saphyr::from_str_with_options::<Data>(text, options)
        .map(|data| from_data(&data))
        .map_err(|e| yaml_error("from_yaml", &e))
}

/// `from_yaml_all`: the documents of a YAML stream, as a list.
fn from_yaml_all(text: &str) -> Result<Value, Error> {
    let options = serde_saphyr::options! { legacy_octal_numbers: true };
    serde_saphyr::from_str_multiple_with_options::<Data, _>(text, options)
        .map(|docs| from_data(&Data::Array(docs)))
        .map_err(|e| yaml_error("from_yaml_all", &e))
}

/// A YAML parse error's first line, naming the filter.
fn yaml_error(filter: &str, e: &impl std::fmt::Display) -> Error {
    failure(format!(
        "{filter}: {}",
        e.to_string().lines().next().unwrap_or("")
    ))
}

/// `b64encode`: base64 of the UTF-8 text.
fn b64encode(text: &str) -> String {
    STANDARD.encode(text)
}

/// `b64decode`: base64 decoded to text.
fn b64decode(text: &str) -> Result<String, Error> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|e| failure(format!("b64decode: {e}")))?;
    String::from_utf8(bytes).map_err(|_| failure("b64decode: the decoded data is not UTF-8 text"))
}

/// `hash(hashtype='sha1')`: the hex digest of the text.
fn hash(value: &Value, hashtype: Option<&str>) -> Result<String, Error> {
    let data = text_of(value);
    let data = data.as_bytes();
    Ok(match hashtype.unwrap_or("sha1") {
        "md5" => format!("{:x}", md5::compute(data)),
        "sha1" => hex::encode(sha1::Sha1::digest(data)),
        "sha224" => hex::encode(sha2::Sha224::digest(data)),
        "sha256" => hex::encode(sha2::Sha256::digest(data)),
        "sha384" => hex::encode(sha2::Sha384::digest(data)),
        "sha512" => hex::encode(sha2::Sha512::digest(data)),
        other => return Err(failure(format!("unsupported hash type {other}"))),
    })
}

/// `checksum`: the SHA-1 of the text, like Ansible's file checksums.
fn checksum(value: &Value) -> Result<String, Error> {
    hash(value, Some("sha1"))
}

/// The text a digest filter hashes: strings as they are, other values as Python prints them.
fn text_of(value: &Value) -> String {
    super::python::str(&to_data(value))
}

#[cfg(test)]
mod tests {
    use crate::template::filters::tests::{eval, render, render_error};
    use serde_json::json;

    #[test]
    fn json_is_written_like_python() {
        let vars = json!({"d": {"b": [1, 2.5, true, null], "a": "é\"\n"}});
        assert_eq!(
            render("{{ d | to_json }}", vars.clone()),
            r#"{"b": [1, 2.5, true, null], "a": "\u00e9\"\n"}"#
        );
        assert_eq!(
            render("{{ d | to_nice_json }}", vars.clone()),
            "{\n    \"a\": \"\\u00e9\\\"\\n\",\n    \"b\": [\n        1,\n        2.5,\n        true,\n        null\n    ]\n}"
        );
        assert_eq!(
            render("{{ d | to_nice_json(indent=2) }}", json!({"d": {"x": []}})),
            "{\n  \"x\": []\n}"
        );
        assert_eq!(
            render(
                "{{ d | to_json(sort_keys=true) }}",
                json!({"d": {"b": 1, "a": {}}})
            ),
            r#"{"a": {}, "b": 1}"#
        );
        assert_eq!(
            render("{{ '😀' | to_json }}", json!(null)),
            r#""\ud83d\ude00""#
        );
    }

    #[test]
    fn json_and_yaml_parse_back() {
        assert_eq!(
            eval("'{\"a\": [1, 2]}' | from_json", json!(null)),
            json!({"a": [1, 2]})
        );
        assert_eq!(
            eval("'a: [1, 2]\nb: x' | from_yaml", json!(null)),
            json!({"a": [1, 2], "b": "x"})
        );
        assert!(render_error("{{ '{' | from_json }}", json!(null)).starts_with("from_json"));
    }

    #[test]
    fn yaml_is_written_like_pyyaml() {
        let vars = json!({"d": {"b": [1, "yes"], "a": {"k": "v"}}});
        assert_eq!(
            render("{{ d | to_yaml }}", vars.clone()),
            "a: {k: v}\nb: [1, 'yes']\n"
        );
        assert_eq!(
            render("{{ d | to_nice_yaml }}", vars.clone()),
            "a:\n    k: v\nb:\n- 1\n- 'yes'\n"
        );
        assert_eq!(
            render("{{ d | to_nice_yaml(indent=2) }}", vars.clone()),
            "a:\n  k: v\nb:\n- 1\n- 'yes'\n"
        );
        assert_eq!(
            render("{{ d | to_nice_yaml(sort_keys=false) }}", vars.clone()),
            "b:\n- 1\n- 'yes'\na:\n    k: v\n"
        );
        assert_eq!(
            render("{{ d | to_yaml(sort_keys=false) }}", vars.clone()),
            "b: [1, 'yes']\na: {k: v}\n"
        );
        assert_eq!(
            render("{{ d | to_nice_json(indent=2, sort_keys=false) }}", vars),
            "{\n  \"b\": [\n    1,\n    \"yes\"\n  ],\n  \"a\": {\n    \"k\": \"v\"\n  }\n}"
        );
        assert_eq!(
            eval("'a: 1\n---\nb: 2\n' | from_yaml_all", json!(null)),
            json!([{"a": 1}, {"b": 2}])
        );
        assert_eq!(
            eval("'x' | md5", json!(null)),
            "9dd4e461268c8034f5c8564e155c67a6"
        );
    }

    #[test]
    fn base64_round_trips_text() {
        assert_eq!(eval("'héllo' | b64encode", json!(null)), "aMOpbGxv");
        assert_eq!(eval("'aMOpbGxv' | b64decode", json!(null)), "héllo");
        assert!(render_error("{{ '!!' | b64decode }}", json!(null)).starts_with("b64decode"));
    }

    #[test]
    fn digests_are_hex() {
        assert_eq!(
            eval("'abc' | hash('md5')", json!(null)),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            eval("'abc' | hash", json!(null)),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            eval("'abc' | checksum", json!(null)),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            eval("'abc' | hash('sha256')", json!(null)),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(
            render_error("{{ 'abc' | hash('crc') }}", json!(null))
                .contains("unsupported hash type crc")
        );
    }
}
