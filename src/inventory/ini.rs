//! INI inventories, read like Ansible's `ini` plugin: `[group]` sections of host lines with inline
//! `key=value` vars, `[group:vars]`, `[group:children]`, hosts before any section in `ungrouped`,
//! `#` and `;` comment lines, host ranges and ports.
//!
//! Every error points at the line and column of the offending token. Values are typed by
//! [`literal`](super::literal); names and edges go into a [`Graph`]. Vars files are not read here.

use std::str::CharIndices;
use std::sync::{Arc, LazyLock};

use indexmap::IndexMap;
use regex::Regex;

use super::Vars;
use super::graph::{Graph, UNGROUPED};
use super::host_range;
use super::literal::parse_value;
use crate::diagnostic::Diagnostic;
use crate::parse::{Source, Span};

/// `[name]` or `[name:tag]`, then an optional comment.
static SECTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$").expect("valid regex"));
/// A group name alone on a line, then an optional comment.
static GROUP_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([^:\]\s]+)\s*(?:#.*)?$").expect("valid regex"));

/// Reads an INI inventory into `graph`, pushing every problem found onto `errors`.
pub(super) fn parse(source: &Arc<Source>, graph: &mut Graph, errors: &mut Vec<Diagnostic>) {
    let mut parser = Parser {
        source,
        graph,
        group: UNGROUPED.to_owned(),
        kind: Kind::Hosts,
        pending_vars: IndexMap::new(),
        pending_children: IndexMap::new(),
    };
    for (index, text) in source.text.lines().enumerate() {
        let trimmed = text.trim_start();
        let line = Line {
            number: index + 1,
            indent: text[..text.len() - trimmed.len()].chars().count(),
            text: trimmed.trim_end(),
        };
        if let Err(error) = parser.line(&line) {
            errors.push(error);
        }
    }
    parser.finish(errors);
}

/// What the lines of the current section declare.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Hosts,
    Vars,
    Children,
}

/// One line, trimmed, and where its text starts.
struct Line<'a> {
    number: usize,
    /// Characters of leading whitespace.
    indent: usize,
    text: &'a str,
}

struct Parser<'a> {
    source: &'a Arc<Source>,
    graph: &'a mut Graph,
    /// The group of the current section.
    group: String,
    kind: Kind,
    /// `[name:vars]` sections whose group is not declared yet, with the span of the name.
    pending_vars: IndexMap<String, Span>,
    /// Children named before their own section, with each parent and the span of the mention.
    pending_children: IndexMap<String, Vec<(String, Span)>>,
}

impl Parser<'_> {
    /// The span of the byte `offset` of a line's trimmed text.
    fn span(&self, line: &Line, offset: usize) -> Span {
        let column = line.indent + line.text[..offset].chars().count() + 1;
        Span::new(self.source, line.number, column)
    }

    fn error(&self, line: &Line, offset: usize, message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(self.span(line, offset), message)
    }

    fn line(&mut self, line: &Line) -> Result<(), Diagnostic> {
        if line.text.is_empty() || line.text.starts_with(['#', ';']) {
            return Ok(());
        }
        if SECTION.is_match(line.text) {
            return self.section(line);
        }
        if line.text.starts_with('[') && line.text.ends_with(']') {
            return Err(self.error(line, 0, "invalid section header").with_help(
                "a section is `[name]`, `[name:vars]` or `[name:children]`, with no spaces",
            ));
        }
        match self.kind {
            Kind::Hosts => self.host_line(line),
            Kind::Vars => self.var_line(line),
            Kind::Children => self.child_line(line),
        }
    }

    /// `[name]`, `[name:vars]` or `[name:children]`: declares the group (except `:vars`, which
    /// must find it declared somewhere) and resolves children that were named before it.
    fn section(&mut self, line: &Line) -> Result<(), Diagnostic> {
        let captures = SECTION.captures(line.text).expect("checked by the caller");
        let name = captures[1].to_owned();
        self.kind = match captures.get(2) {
            None => Kind::Hosts,
            Some(tag) => match tag.as_str() {
                "hosts" => Kind::Hosts,
                "vars" => Kind::Vars,
                "children" => Kind::Children,
                other => {
                    let message = format!("unknown section type `{other}`");
                    return Err(self.error(line, tag.start(), message).with_help(format!(
                        "use `[{name}]`, `[{name}:vars]` or `[{name}:children]`"
                    )));
                }
            },
        };
        if !self.graph.groups.contains_key(&name) {
            if self.kind == Kind::Vars && !self.pending_children.contains_key(&name) {
                self.pending_vars.insert(name.clone(), self.span(line, 1));
            }
            self.graph.add_group(&name);
        }
        if self.kind != Kind::Vars {
            self.pending_vars.shift_remove(&name);
            for (parent, span) in self
                .pending_children
                .shift_remove(&name)
                .unwrap_or_default()
            {
                (self.graph.add_child(&parent, &name)).map_err(|m| Diagnostic::error(span, m))?;
            }
        }
        self.group = name;
        Ok(())
    }

    /// `host[range][:port] key=value ...`, split like a POSIX shell would (quotes, `#` comments).
    fn host_line(&mut self, line: &Line) -> Result<(), Diagnostic> {
        let words = split_words(line.text).map_err(|(at, m)| self.error(line, at, m))?;
        let Some((_, host)) = words.first() else {
            return Ok(());
        };
        if host == "---" {
            return Err(self
                .error(line, 0, "`---` is not a host name")
                .with_help("this looks like a YAML file: give it a .yml extension"));
        }
        let spec = host_range::expand(host).map_err(|m| self.error(line, words[0].0, m))?;
        let mut vars = Vars::new();
        for (at, word) in &words[1..] {
            let (key, value) = (word.split_once('='))
                .filter(|(key, _)| !key.is_empty())
                .ok_or_else(|| {
                    let message = format!("expected `key=value` after the host, found `{word}`");
                    self.error(line, *at, message)
                })?;
            vars.insert(key.to_owned(), parse_value(value));
        }
        self.graph.add_hosts(&spec, &self.group, &vars);
        Ok(())
    }

    /// `key = value` in a `[group:vars]` section; the value is not shell-split, only trimmed.
    fn var_line(&mut self, line: &Line) -> Result<(), Diagnostic> {
        let (key, value) = (line.text.split_once('='))
            .filter(|(key, _)| !key.trim().is_empty())
            .ok_or_else(|| {
                let message = format!("expected `key=value` in [{}:vars]", self.group);
                self.error(line, 0, message)
            })?;
        let value_at = line.text.len() - value.trim_start().len();
        (self.graph)
            .set_group_var(&self.group, key.trim(), parse_value(value.trim()))
            .map_err(|m| self.error(line, value_at, m))
    }

    /// A group name in a `[group:children]` section; it may be declared further down.
    fn child_line(&mut self, line: &Line) -> Result<(), Diagnostic> {
        let child = (GROUP_NAME.captures(line.text)).ok_or_else(|| {
            let message = format!("expected a group name in [{}:children]", self.group);
            self.error(line, 0, message)
        })?[1]
            .to_owned();
        if self.graph.groups.contains_key(&child) {
            return (self.graph.add_child(&self.group, &child)).map_err(|m| self.error(line, 0, m));
        }
        let span = self.span(line, 0);
        let parents = self.pending_children.entry(child).or_default();
        parents.push((self.group.clone(), span));
        Ok(())
    }

    /// Reports groups that were used but never declared.
    fn finish(self, errors: &mut Vec<Diagnostic>) {
        for (name, span) in self.pending_vars {
            let message = format!("section [{name}:vars] is for group `{name}`, never declared");
            errors.push(Diagnostic::error(span, message).with_help(format!(
                "declare it with a `[{name}]` or `[{name}:children]` section"
            )));
        }
        for (name, mut parents) in self.pending_children {
            let (parent, span) = parents.swap_remove(0);
            let message = format!("group `{name}` in [{parent}:children] is never declared");
            let help = format!("declare it with a `[{name}]` section, even an empty one");
            errors.push(Diagnostic::error(span, message).with_help(help));
        }
    }
}

/// Splits a host line into words with their byte offsets, like Python's `shlex.split(line,
/// comments=True)`: whitespace separates, quotes group, a backslash escapes, `#` ends the line
/// (even inside a word). An error carries the offset of the unclosed quote or lone backslash.
fn split_words(text: &str) -> Result<Vec<(usize, String)>, (usize, &'static str)> {
    let mut words = Vec::new();
    let mut word: Option<(usize, String)> = None;
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            ' ' | '\t' | '\r' | '\n' => words.extend(word.take()),
            '#' => break,
            '\'' | '"' => {
                let (_, text) = word.get_or_insert_with(|| (at, String::new()));
                quoted(&mut chars, c, text).ok_or((at, "this quote is never closed"))?;
            }
            '\\' => {
                let (_, next) = chars.next().ok_or((at, "nothing follows this backslash"))?;
                word.get_or_insert_with(|| (at, String::new())).1.push(next);
            }
            c => word.get_or_insert_with(|| (at, String::new())).1.push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

/// The rest of a quoted stretch up to `quote`; inside double quotes `\"` and `\\` are escapes.
fn quoted(chars: &mut CharIndices, quote: char, out: &mut String) -> Option<()> {
    while let Some((_, c)) = chars.next() {
        match c {
            _ if c == quote => return Some(()),
            '\\' if quote == '"' => {
                let (_, next) = chars.next()?;
                if !matches!(next, '"' | '\\') {
                    out.push('\\');
                }
                out.push(next);
            }
            _ => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::tests::assert_errors;

    /// (file text, line, column, message) of the first error.
    #[rustfmt::skip]
    const ERRORS: &[(&str, usize, usize, &str)] = &[
        ("[web]\nw1 x=1\n  w2   broken\n", 3, 8, "expected `key=value` after the host, found `broken`"),
        ("[web]\nw1 =1\n", 2, 4, "expected `key=value`"),
        ("[web]\nw1 msg='oops\n", 2, 8, "never closed"),
        ("[web:child]\n", 1, 6, "unknown section type `child`"),
        ("[web servers]\n", 1, 1, "invalid section header"),
        ("[web]\nw[3:1]\n", 2, 1, "greater than"),
        ("[web]\n  w1:\n", 2, 3, "reserved for a port"),
        ("[web:vars]\nx=1\n", 1, 2, "section [web:vars] is for group `web`, never declared"),
        ("[prod:children]\nweb\n", 2, 1, "group `web` in [prod:children] is never declared"),
        ("[web:vars]\nnovalue\n[web]\n", 2, 1, "expected `key=value` in [web:vars]"),
        ("[web]\n[web:vars]\nansible_group_priority = x\n", 3, 26, "integer"),
        ("[a:children]\n b c\n", 2, 2, "expected a group name in [a:children]"),
        ("[a:children]\nb\n[b:children]\na\n", 4, 1, "loop"),
        ("---\n", 1, 1, "`---` is not a host name"),
    ];

    #[test]
    fn errors_point_at_the_line_and_column() {
        assert_errors("hosts.ini", ERRORS);
    }

    #[test]
    fn groups_may_be_used_before_they_are_declared() {
        let text = "[prod:children]\nweb\n[prod:vars]\nx=1\n[web:vars]\ny=2\n[web]\nw1\n";
        let inventory = crate::inventory::tests::load("hosts.ini", text).unwrap();
        assert_eq!(inventory.groups_map()["prod"], serde_json::json!(["w1"]));
        let vars = inventory.host_vars("w1");
        assert_eq!((&vars["x"], &vars["y"]), (&1.into(), &2.into()));
    }

    #[test]
    fn splits_words_like_shlex() {
        let cases: &[(&str, &[&str])] = &[
            ("web1", &["web1"]),
            ("web1  a=1\tb=2", &["web1", "a=1", "b=2"]),
            (
                r#"h msg="hello world" q='it''s'"#,
                &["h", "msg=hello world", "q=its"],
            ),
            (r#"h x="a\"b\c" y=a\ b"#, &["h", r#"x=a"b\c"#, "y=a b"]),
            ("h a=b#c d", &["h", "a=b"]),
            ("h z='' # comment", &["h", "z="]),
        ];
        for (line, expected) in cases {
            let words: Vec<String> = split_words(line)
                .unwrap()
                .into_iter()
                .map(|w| w.1)
                .collect();
            assert_eq!(words, *expected, "{line}");
        }
        assert_eq!(split_words("h  x=1").unwrap()[1].0, 3);
        assert_eq!(split_words("h x='1").unwrap_err().0, 4);
        assert_eq!(split_words("h x\\").unwrap_err().0, 3);
    }
}
