//! Reading keyword values from located nodes: booleans, strings, string lists, mappings.
//! Each reader returns a located diagnostic when the node has the wrong shape.

use serde_json::Value;

use super::program::Vars;
use crate::diagnostic::Diagnostic;
use crate::modules::spec::parse_bool;
use crate::parse::{Node, NodeValue};

/// A keyword's value as a boolean (`yes`, `true`, `1`, ... like Ansible).
pub fn boolean(keyword: &str, node: &Node) -> Result<bool, Diagnostic> {
    parse_bool(&node.to_json()).ok_or_else(|| {
        Diagnostic::error(
            node.span.clone(),
            format!("`{keyword}` must be a boolean, not {}", node.kind()),
        )
    })
}

/// A keyword's value as text (numbers and booleans are stringified).
pub fn text(keyword: &str, node: &Node) -> Result<String, Diagnostic> {
    match &node.value {
        NodeValue::Seq(_) | NodeValue::Map(_) | NodeValue::Null => Err(Diagnostic::error(
            node.span.clone(),
            format!("`{keyword}` must be a string, not {}", node.kind()),
        )),
        _ => Ok(node.scalar_text().unwrap_or_default()),
    }
}

/// A keyword's value as a list of strings: a list, a single string, or (for `tags`) a
/// comma-separated string.
pub fn string_list(
    keyword: &str,
    node: &Node,
    split_commas: bool,
) -> Result<Vec<String>, Diagnostic> {
    match &node.value {
        NodeValue::Null => Ok(Vec::new()),
        NodeValue::Seq(items) => items.iter().map(|item| text(keyword, item)).collect(),
        _ => {
            let single = text(keyword, node)?;
            Ok(if split_commas {
                single
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            } else {
                vec![single]
            })
        }
    }
}

/// A keyword's value as a mapping of variables.
pub fn vars(keyword: &str, node: &Node) -> Result<Vars, Diagnostic> {
    match node.to_json() {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Vars::new()),
        _ => Err(Diagnostic::error(
            node.span.clone(),
            format!("`{keyword}` must be a mapping, not {}", node.kind()),
        )),
    }
}

/// A keyword's value as a number.
pub fn number(keyword: &str, node: &Node) -> Result<f64, Diagnostic> {
    let parsed = match &node.value {
        NodeValue::Int(i) => Some(*i as f64),
        NodeValue::Float(f) => Some(*f),
        NodeValue::String(s) => s.trim().trim_end_matches('%').parse().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        Diagnostic::error(
            node.span.clone(),
            format!("`{keyword}` must be a number, not {}", node.kind()),
        )
    })
}

/// The closest of `candidates` to `word`, when it is close enough to be a likely typo: fewer
/// than one edit (a transposition counting as one) per four letters, so `taks` suggests `tasks`
/// but `pip` does not suggest `ping`, nor `dnf` `diff`.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| d * 4 < word.chars().count().max(c.chars().count()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_only() {
        let keywords = ["tasks", "hosts", "handlers", "vars"];
        assert_eq!(suggest("taks", keywords), Some("tasks"));
        assert_eq!(suggest("hanlders", keywords), Some("handlers"));
        assert_eq!(suggest("completely_else", keywords), None);
        let modules = ["diff", "ping", "command", "copy"];
        assert_eq!(suggest("comand", modules), Some("command"));
        assert_eq!(suggest("dnf", modules), None);
        assert_eq!(suggest("pip", modules), None);
    }
}
