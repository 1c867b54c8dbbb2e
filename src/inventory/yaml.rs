//! YAML (and JSON) inventories, read like Ansible's `yaml` plugin: top-level keys are groups, and
//! each group may have `hosts` (names, ranges and ports, each with its vars), `vars` and
//! `children` (groups, nested to any depth).
//!
//! Stricter than Ansible, which only warns: an unknown key under a group, or a group, section or
//! host of the wrong kind, is an error at its line and column. Values keep their YAML types.

use serde_json::Value;

use super::Vars;
use super::graph::Graph;
use super::host_range;
use crate::diagnostic::Diagnostic;
use crate::parse::{Node, NodeValue};

/// Reads a parsed YAML inventory into `graph`, pushing every problem found onto `errors`.
pub(super) fn parse(root: &Node, graph: &mut Graph, errors: &mut Vec<Diagnostic>) {
    let Some(groups) = root.as_map() else {
        let message = match root.value {
            NodeValue::Null => "the inventory file is empty".to_owned(),
            _ => format!(
                "a YAML inventory is a mapping of groups, not {}",
                root.kind()
            ),
        };
        errors.push(Diagnostic::error(root.span.clone(), message).with_help(EXAMPLE));
        return;
    };
    let mut reader = Reader { graph, errors };
    for (name, body) in groups {
        reader.group(name, body);
    }
}

/// Shown with errors about the file's overall shape.
const EXAMPLE: &str = "write `all:` then `hosts:`, `vars:` or `children:` under it, e.g. \
                       `all: {children: {web: {hosts: {web1: {}}}}}`";

struct Reader<'a> {
    graph: &'a mut Graph,
    errors: &'a mut Vec<Diagnostic>,
}

impl Reader<'_> {
    fn error(&mut self, node: &Node, message: impl Into<String>) {
        self.errors
            .push(Diagnostic::error(node.span.clone(), message));
    }

    /// Declares the group named by `name` and reads its body; returns its name when it has one.
    fn group(&mut self, name: &Node, body: &Node) -> Option<String> {
        let Some(group) = name.as_str() else {
            self.error(
                name,
                format!("a group name must be a string, not {}", name.kind()),
            );
            return None;
        };
        self.graph.add_group(group);
        let sections = match &body.value {
            NodeValue::Null => return Some(group.to_owned()),
            NodeValue::Map(sections) => sections,
            _ => {
                let message = format!(
                    "group `{group}` must be a mapping of `hosts`, `vars` and `children`, not {}",
                    body.kind()
                );
                self.error(body, message);
                return Some(group.to_owned());
            }
        };
        for (key, value) in sections {
            match key.as_str() {
                Some("hosts") => self.section(group, "hosts", value, Self::host),
                Some("vars") => self.section(group, "vars", value, Self::var),
                Some("children") => self.section(group, "children", value, Self::child),
                _ => {
                    let key_text = key.scalar_text().unwrap_or_default();
                    let message = format!("unknown key `{key_text}` in group `{group}`");
                    let help = "a group may only have `hosts`, `vars` and `children`";
                    (self.errors)
                        .push(Diagnostic::error(key.span.clone(), message).with_help(help));
                }
            }
        }
        Some(group.to_owned())
    }

    /// Calls `entry` on each key and value of a section; a lone string stands for one key.
    fn section(
        &mut self,
        group: &str,
        section: &str,
        body: &Node,
        entry: fn(&mut Self, &str, &Node, Option<&Node>),
    ) {
        match &body.value {
            NodeValue::Null => {}
            NodeValue::String(_) => entry(self, group, body, None),
            NodeValue::Map(entries) => {
                for (key, value) in entries {
                    entry(self, group, key, Some(value));
                }
            }
            _ => {
                let message = format!(
                    "`{section}` of group `{group}` must be a mapping, not {}",
                    body.kind()
                );
                let help = format!("write each entry as a key: `{section}: {{name: }}`");
                (self.errors).push(Diagnostic::error(body.span.clone(), message).with_help(help));
            }
        }
    }

    /// One entry of `hosts`: a host name or range, and its vars.
    fn host(&mut self, group: &str, name: &Node, vars: Option<&Node>) {
        let Some(written) = name.as_str() else {
            let message = format!("a host name must be a string, not {}", name.kind());
            let help = "quote names that YAML reads as numbers";
            (self.errors).push(Diagnostic::error(name.span.clone(), message).with_help(help));
            return;
        };
        let spec = match host_range::expand(written) {
            Ok(spec) => spec,
            Err(message) => return self.error(name, message),
        };
        let vars = match vars.map(|node| (node, node.to_json())) {
            None | Some((_, Value::Null)) => Vars::new(),
            Some((_, Value::Object(vars))) => vars,
            Some((node, _)) => {
                let message = format!(
                    "vars of host `{written}` must be a mapping, not {}",
                    node.kind()
                );
                return self.error(node, message);
            }
        };
        self.graph.add_hosts(&spec, group, &vars);
    }

    /// One entry of `vars`.
    fn var(&mut self, group: &str, key: &Node, value: Option<&Node>) {
        let key_text = key.scalar_text().unwrap_or_default();
        let json = value.map_or(Value::Null, Node::to_json);
        if let Err(message) = self.graph.set_group_var(group, &key_text, json) {
            self.error(value.unwrap_or(key), message);
        }
    }

    /// One entry of `children`: a group, read recursively, then linked under its parent.
    fn child(&mut self, group: &str, name: &Node, body: Option<&Node>) {
        let null = Node {
            value: NodeValue::Null,
            span: name.span.clone(),
        };
        if let Some(child) = self.group(name, body.unwrap_or(&null))
            && let Err(message) = self.graph.add_child(group, &child)
        {
            self.error(name, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::inventory::tests::assert_errors;

    /// (file text, line, column, message) of the first error.
    #[rustfmt::skip]
    const ERRORS: &[(&str, usize, usize, &str)] = &[
        ("all:\n  children:\n    web:\n      host:\n        w1:\n", 4, 7, "unknown key `host` in group `web`"),
        ("all:\n  hosts:\n    - w1\n", 3, 5, "`hosts` of group `all` must be a mapping, not a list"),
        ("web:\n  hosts:\n    w[1:]:\n", 3, 5, "no end"),
        ("web:\n  hosts:\n    w1: 5\n", 3, 9, "vars of host `w1` must be a mapping"),
        ("web:\n  hosts:\n    10:\n", 3, 5, "a host name must be a string"),
        ("web: [a]\n", 1, 6, "group `web` must be a mapping"),
        ("1: {}\n", 1, 1, "a group name must be a string"),
        ("plugin: azure.azcollection.azure_rm\n", 1, 9, "plugin"),
        ("", 1, 1, "the inventory file is empty"),
        ("[web]\n", 1, 1, "a YAML inventory is a mapping of groups, not a list"),
        ("a:\n  children:\n    b:\n      children:\n        a:\n", 3, 5, "loop"),
        ("web:\n  vars:\n    ansible_group_priority: high\n", 3, 29, "integer"),
        ("all:\n  hosts: [x\n", 2, 10, "YAML syntax error"),
    ];

    #[test]
    fn errors_point_at_the_line_and_column() {
        assert_errors("hosts.yml", ERRORS);
    }

    #[test]
    fn a_lone_string_stands_for_one_entry() {
        let inventory = crate::inventory::tests::load("h.yml", "web:\n  hosts: w1\n").unwrap();
        assert_eq!(inventory.groups_map()["web"], serde_json::json!(["w1"]));
    }
}
