//! The located YAML tree: every scalar, sequence and mapping carries the span it was written at.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::source::{Source, Span};
use crate::diagnostic::Diagnostic;

/// One YAML node and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The node's value.
    pub value: NodeValue,
    /// Where the node starts.
    pub span: Span,
}

/// The value of a YAML node. Mappings keep their keys in written order.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    /// `~`, `null` or nothing.
    Null,
    /// `true`/`false` and YAML 1.1's `yes`/`no`/`on`/`off`.
    Bool(bool),
    /// An integer (YAML 1.1 octal `0644` included).
    Int(i64),
    /// A float.
    Float(f64),
    /// Any other scalar.
    String(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in the order written.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar as text when it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The mapping's entries when it is a mapping.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            NodeValue::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The sequence's items when it is a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            NodeValue::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// Whether this is `null` (or empty).
    pub fn is_null(&self) -> bool {
        matches!(self.value, NodeValue::Null)
    }

    /// The value under `key` when this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.scalar_text().as_deref() == Some(key))
            .map(|(_, v)| v)
    }

    /// A scalar rendered as text the way Ansible would stringify it; `None` for collections.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            NodeValue::Null => Some(String::new()),
            NodeValue::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
            NodeValue::Int(i) => Some(i.to_string()),
            NodeValue::Float(f) => Some(f.to_string()),
            NodeValue::String(s) => Some(s.clone()),
            NodeValue::Seq(_) | NodeValue::Map(_) => None,
        }
    }

    /// A short name of the node's kind, for error messages ("a mapping", "a string", ...).
    pub fn kind(&self) -> &'static str {
        match self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Int(_) => "an integer",
            NodeValue::Float(_) => "a number",
            NodeValue::String(_) => "a string",
            NodeValue::Seq(_) => "a list",
            NodeValue::Map(_) => "a mapping",
        }
    }

    /// The plain data of this node, without spans.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::from(*i),
            NodeValue::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
            }
            NodeValue::String(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.scalar_text().unwrap_or_default(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Parses a YAML document into a located tree. An empty document is `Null`.
pub(super) fn parse(source: &Arc<Source>) -> Result<Node, Diagnostic> {
    let options = serde_saphyr::options! {
        legacy_octal_numbers: true,
        budget: serde_saphyr::budget! {
            max_documents: 1,
        },
    };
    let raw: Option<Spanned<RawValue>> = serde_saphyr::from_str_with_options(&source.text, options)
        .map_err(|e| {
            let (line, column) = e
                .location()
                .map_or((1, 1), |l| (l.line() as usize, l.column() as usize));
            Diagnostic::error(
                Span::new(source, line.max(1), column.max(1)),
                yaml_message(&e),
            )
        })?;
    Ok(match raw {
        Some(raw) => raw.into_node(source),
        None => Node {
            value: NodeValue::Null,
            span: Span::start_of(source),
        },
    })
}

/// The first line of serde-saphyr's message, without its own location suffix and snippet.
fn yaml_message(error: &serde_saphyr::Error) -> String {
    let full = error.to_string();
    let first = full.lines().next().unwrap_or("invalid YAML").trim();
    let first = first
        .strip_prefix("error: ")
        .unwrap_or(first)
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == ':' || c == ' ');
    let first = match first.split_once("line ") {
        Some((_, rest)) if first.starts_with("line ") => {
            rest.split_once(": ").map_or(first, |(_, message)| message)
        }
        _ => first,
    };
    let first = first
        .split(", set DuplicateKeyPolicy")
        .next()
        .unwrap_or(first);
    format!("YAML syntax error: {first}")
}

/// The tree as serde-saphyr hands it over, before spans are tied to their file.
enum RawValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Seq(Vec<Spanned<RawValue>>),
    Map(Vec<(Spanned<RawValue>, Spanned<RawValue>)>),
}

trait IntoNode {
    fn into_node(self, source: &Arc<Source>) -> Node;
}

impl IntoNode for Spanned<RawValue> {
    fn into_node(self, source: &Arc<Source>) -> Node {
        let span = Span::new(
            source,
            self.referenced.line().max(1) as usize,
            self.referenced.column().max(1) as usize,
        );
        let raw_text = || {
            let span = self.referenced.span();
            let start = span.byte_offset()? as usize;
            let text = source.text.get(start..start + span.byte_len()? as usize)?;
            Some(text.trim().to_string())
        };
        let value = match self.value {
            RawValue::Null => NodeValue::Null,
            // PyYAML (and so Ansible) reads a lone `y`/`n` as text, not as a boolean.
            RawValue::Bool(_) if matches!(raw_text().as_deref(), Some("y" | "Y" | "n" | "N")) => {
                NodeValue::String(raw_text().unwrap_or_default())
            }
            RawValue::Bool(b) => NodeValue::Bool(b),
            RawValue::Int(i) => NodeValue::Int(i),
            RawValue::Float(f) => NodeValue::Float(f),
            RawValue::String(s) => NodeValue::String(s),
            RawValue::Seq(items) => {
                NodeValue::Seq(items.into_iter().map(|n| n.into_node(source)).collect())
            }
            RawValue::Map(entries) => NodeValue::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.into_node(source), v.into_node(source)))
                    .collect(),
            ),
        };
        Node { value, span }
    }
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawValue, E> {
        Ok(RawValue::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawValue, E> {
        Ok(RawValue::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawValue, E> {
        Ok(i64::try_from(v).map_or(RawValue::Float(v as f64), RawValue::Int))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawValue, E> {
        Ok(RawValue::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawValue, E> {
        Ok(RawValue::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<RawValue, E> {
        Ok(RawValue::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(RawValue::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key()? {
            entries.push((key, map.next_value()?));
        }
        Ok(RawValue::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Node, Diagnostic> {
        parse(&Arc::new(Source::inline("t.yml", text)))
    }

    #[test]
    fn every_node_knows_its_line_and_column() {
        let root =
            parse_text("- hosts: web\n  tasks:\n    - name: hi\n      debug: {msg: x}\n").unwrap();
        let play = &root.as_seq().unwrap()[0];
        assert_eq!((play.span.line, play.span.column), (1, 3));
        let tasks = play.get("tasks").unwrap();
        let task = &tasks.as_seq().unwrap()[0];
        assert_eq!((task.span.line, task.span.column), (3, 7));
        let debug = task.get("debug").unwrap();
        assert_eq!((debug.span.line, debug.span.column), (4, 14));
        let key = &play.as_map().unwrap()[1].0;
        assert_eq!((key.span.line, key.span.column), (2, 3));
    }

    #[test]
    fn ansible_yaml_habits_are_kept() {
        let root = parse_text("a: yes\nb: 0644\nc: '0644'\nd: ~\ne: 1.5\ny: n\n").unwrap();
        assert_eq!(root.get("a").unwrap().value, NodeValue::Bool(true));
        assert_eq!(
            root.get("y").unwrap().value,
            NodeValue::String("n".into()),
            "y and n are text"
        );
        assert_eq!(root.get("b").unwrap().value, NodeValue::Int(0o644));
        assert_eq!(
            root.get("c").unwrap().value,
            NodeValue::String("0644".into())
        );
        assert!(root.get("d").unwrap().is_null());
        assert_eq!(root.get("e").unwrap().value, NodeValue::Float(1.5));
    }

    #[test]
    fn syntax_errors_are_located() {
        let err = parse_text("a: 1\nb: [1, 2\n").unwrap_err();
        assert!(
            err.message.starts_with("YAML syntax error"),
            "{}",
            err.message
        );
        assert!(err.span.line >= 2, "{:?}", err.span);
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let err = parse_text("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.span.line, 2);
        assert!(err.message.contains("duplicate"), "{}", err.message);
    }

    #[test]
    fn empty_document_is_null() {
        assert!(parse_text("").unwrap().is_null());
        assert!(parse_text("# only a comment\n").unwrap().is_null());
    }
}
