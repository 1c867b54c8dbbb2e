//! Ansible host patterns, as in a play's `hosts:` and in `--limit`: names of hosts or groups,
//! `all` and `*`, globs (`web*`), regexes (`~web\d+`), subscripts (`web[0]`, `web[1:3]`,
//! `web[-1]`), unions (`a:b`, `a,b`), intersections (`a:&b`) and exclusions (`a:!b`), plus `@file`
//! in limits.
//!
//! Follows Ansible's evaluation: union terms first, then `&` terms, then `!` terms, whatever the
//! written order; results in inventory order without repeats. A name that matches nothing gives
//! nothing (the caller warns); only malformed patterns are errors.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::LazyLock;

use regex::Regex;
use thiserror::Error;

use super::LOCALHOST_NAMES;
use super::graph::Graph;

/// `expr[i]`, `expr[i:j]` or `expr[i:]`: a pattern followed by a subscript.
static SUBSCRIPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$").expect("valid regex")
});
/// One term of a pattern with neither commas nor an address in it: runs without `:` outside
/// brackets (Ansible's `split_host_pattern`).
static TERM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:[^\s:\[\]]|\[[^\]]*\])+").expect("valid regex"));

/// Why a host pattern cannot be evaluated.
#[derive(Debug, Error, PartialEq)]
pub enum PatternError {
    /// The pattern has no terms at all.
    #[error("the host pattern is empty")]
    Empty,
    /// A `!` or `&` with nothing after it.
    #[error("`{0}` in a host pattern must be followed by a name or pattern")]
    DanglingOperator(char),
    /// A `~regex` term that is not a valid regular expression.
    #[error("invalid regular expression in host pattern `{pattern}`: {reason}")]
    BadRegex {
        /// The whole term, `~` included.
        pattern: String,
        /// What the regex engine said.
        reason: String,
    },
    /// A subscript written `[x-y]`, which Ansible removed in favour of `[x:y]`.
    #[error("host pattern `{0}` uses a `[x-y]` subscript; write `[x:y]` (both ends included)")]
    DashSubscript(String),
    /// A single-index subscript past the end of what the pattern matched.
    #[error("no host matched the subscripted pattern `{0}`")]
    SubscriptOutOfRange(String),
    /// A `--limit @file` that cannot be read.
    #[error("cannot read limit file {}: {reason}", path.display())]
    LimitFile {
        /// The file named after `@`.
        path: PathBuf,
        /// Why it could not be read.
        reason: String,
    },
}

/// Splits a pattern into terms: on commas when it has any; else it is one term when it is an
/// IPv6 address, and otherwise splits on `:` and whitespace outside brackets.
pub(super) fn split(pattern: &str) -> Vec<String> {
    let terms: Vec<&str> = if pattern.contains(',') {
        pattern.split(',').collect()
    } else if pattern.parse::<std::net::Ipv6Addr>().is_ok() {
        vec![pattern]
    } else {
        TERM.find_iter(pattern).map(|m| m.as_str()).collect()
    };
    (terms.iter())
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The hosts that `terms` select from `graph`, in order, without repeats.
pub(super) fn evaluate(graph: &Graph, terms: &[String]) -> Result<Vec<String>, PatternError> {
    if terms.is_empty() {
        return Err(PatternError::Empty);
    }
    let with = |op: char| terms.iter().filter(move |t| t.starts_with(op));
    let mut unions: Vec<&str> = (terms.iter())
        .filter(|t| !t.starts_with(['&', '!']))
        .map(String::as_str)
        .collect();
    if unions.is_empty() {
        unions.push("all");
    }
    let mut hosts: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for term in unions {
        let found = match graph.hosts.get_key_value(term) {
            Some((name, _)) => vec![name.clone()],
            None => match_term(graph, term)?,
        };
        hosts.extend(found.into_iter().filter(|h| seen.insert(h.clone())));
    }
    for term in with('&') {
        let keep = operand(graph, term)?;
        hosts.retain(|h| keep.contains(h));
    }
    for term in with('!') {
        let drop = operand(graph, term)?;
        hosts.retain(|h| !drop.contains(h));
    }
    Ok(hosts)
}

/// The hosts matched by what follows a term's `&` or `!`.
fn operand(graph: &Graph, term: &str) -> Result<HashSet<String>, PatternError> {
    let mut chars = term.chars();
    let operator = chars.next().unwrap_or('!');
    match chars.as_str() {
        "" => Err(PatternError::DanglingOperator(operator)),
        body => Ok(match_term(graph, body)?.into_iter().collect()),
    }
}

/// The hosts one term (without `&`/`!`) matches, its subscript applied.
fn match_term(graph: &Graph, term: &str) -> Result<Vec<String>, PatternError> {
    let (expr, subscript) = split_subscript(term)?;
    let hosts = enumerate(graph, expr)?;
    apply_subscript(hosts, subscript).ok_or_else(|| PatternError::SubscriptOutOfRange(term.into()))
}

/// Expands `@file` terms of a `--limit` into the file's lines, one pattern term per line.
pub(super) fn limit_terms(limit: &str) -> Result<Vec<String>, PatternError> {
    let mut terms = Vec::new();
    for term in split(limit) {
        let Some(path) = term.strip_prefix('@') else {
            terms.push(term);
            continue;
        };
        let text = std::fs::read_to_string(path).map_err(|e| PatternError::LimitFile {
            path: PathBuf::from(path),
            reason: e.to_string(),
        })?;
        let lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        terms.extend(lines.map(str::to_owned));
    }
    Ok(terms)
}

/// A subscript: one index (may be negative), or an inclusive range whose end may be left open.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Subscript {
    Index(i64),
    Range(usize, Option<usize>),
}

fn split_subscript(term: &str) -> Result<(&str, Option<Subscript>), PatternError> {
    if term.starts_with('~') {
        return Ok((term, None));
    }
    let Some(captures) = SUBSCRIPT.captures(term) else {
        return Ok((term, None));
    };
    let expr = captures.get(1).map_or(term, |m| m.as_str());
    let out_of_range = || PatternError::SubscriptOutOfRange(term.into());
    if let Some(index) = captures.get(2) {
        let index = index.as_str().parse().map_err(|_| out_of_range())?;
        return Ok((expr, Some(Subscript::Index(index))));
    }
    if &captures[4] == "-" {
        return Err(PatternError::DashSubscript(term.into()));
    }
    let start = captures[3].parse().map_err(|_| out_of_range())?;
    let end = match &captures[5] {
        "" => None,
        end => Some(end.parse().map_err(|_| out_of_range())?),
    };
    Ok((expr, Some(Subscript::Range(start, end))))
}

/// Applies a subscript; `None` when a single index is out of range.
fn apply_subscript(hosts: Vec<String>, subscript: Option<Subscript>) -> Option<Vec<String>> {
    let Some(subscript) = subscript.filter(|_| !hosts.is_empty()) else {
        return Some(hosts);
    };
    let len = hosts.len();
    let index = |i: usize| hosts.get(i).map(|h| vec![h.clone()]);
    match subscript {
        Subscript::Index(i) if i < 0 => index(len.checked_sub(i.unsigned_abs() as usize)?),
        Subscript::Index(i) => index(i as usize),
        // Like Ansible, an end of 0 means a single host: `web[2:0]` is `web[2]`.
        Subscript::Range(start, Some(0)) => index(start),
        Subscript::Range(start, end) => {
            let end = end.map_or(len, |e| (e + 1).min(len));
            Some(
                hosts
                    .get(start..end)
                    .map_or_else(Vec::new, <[String]>::to_vec),
            )
        }
    }
}

/// The hosts whose name, or whose group's name, matches `expr` (Ansible's `_enumerate_matches`):
/// groups first; hosts too when no group matched or `expr` is a glob or regex; and implicit
/// `localhost` when nothing else matched.
fn enumerate(graph: &Graph, expr: &str) -> Result<Vec<String>, PatternError> {
    let matcher = compile(expr)?;
    let mut hosts: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    let mut add = |host: &str, hosts: &mut Vec<String>| {
        if seen.insert(host.to_owned()) {
            hosts.push(host.to_owned());
        }
    };
    let groups: Vec<&String> = graph
        .groups
        .keys()
        .filter(|g| matcher.is_match(g))
        .collect();
    for group in &groups {
        for host in graph.group_hosts(group) {
            add(host, &mut hosts);
        }
    }
    let special = expr.starts_with('~') || expr.contains(['.', '?', '*', '[']);
    if groups.is_empty() || special {
        for host in graph.hosts.keys().filter(|h| matcher.is_match(h)) {
            add(host, &mut hosts);
        }
    }
    if hosts.is_empty() && LOCALHOST_NAMES.contains(&expr) {
        hosts.push(expr.to_owned());
    }
    Ok(hosts)
}

/// A regex for `~regex` (anchored at the start only, like Python's `re.match`) or for a shell glob
/// (anchored at both ends, like `fnmatch`).
fn compile(expr: &str) -> Result<Regex, PatternError> {
    let source = match expr.strip_prefix('~') {
        Some(regex) => format!("^(?:{regex})"),
        None => format!("^(?:{})$", glob_to_regex(expr)),
    };
    Regex::new(&source).map_err(|e| PatternError::BadRegex {
        pattern: expr.to_owned(),
        reason: e
            .to_string()
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .to_owned(),
    })
}

/// Python's `fnmatch.translate`: `*`, `?`, `[seq]`, `[!seq]`; an unclosed `[` is literal.
pub fn glob_to_regex(glob: &str) -> String {
    let chars: Vec<char> = glob.chars().collect();
    let mut regex = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => regex.push_str(".*"),
            '?' => regex.push('.'),
            '[' => {
                let mut j = i + 1;
                if chars.get(j) == Some(&'!') {
                    j += 1;
                }
                if chars.get(j) == Some(&']') {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    regex.push_str(r"\[");
                } else {
                    let body: String = chars[i + 1..j].iter().collect();
                    let body = (body.replace('\\', r"\\").replace('[', r"\["))
                        .replace('&', r"\&")
                        .replace('~', r"\~");
                    let body = match body.strip_prefix('!') {
                        Some(rest) => format!("^{rest}"),
                        None if body.starts_with('^') => format!("\\{body}"),
                        None => body,
                    };
                    regex.push_str(&format!("[{body}]"));
                    i = j;
                }
            }
            c => regex.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    regex
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::tests::{sample, tree};

    const WEB: &str = "web01.example.com web02.example.com web03.example.com db-a";
    const PROD: &str = "web01.example.com web02.example.com web03.example.com db-a db-b db-c";
    const ALL: &str = "lone1 proxy1 proxy3 proxy5 \
                       web01.example.com web02.example.com web03.example.com db-a db-b db-c";

    /// (pattern, hosts selected from the sample inventory), as ansible-core 2.19 selects them.
    #[rustfmt::skip]
    const CASES: &[(&str, &str)] = &[
        ("all", ALL),
        ("*", ALL),
        ("web", WEB),
        ("db-a", "db-a"),
        ("web:db", PROD),
        ("web,db", PROD),
        ("web db", PROD),
        ("prod:!db", "web01.example.com web02.example.com web03.example.com"),
        ("prod:&db", "db-a db-b db-c"),
        ("web:&db", "db-a"),
        ("!web", "lone1 proxy1 proxy3 proxy5 db-b db-c"),
        ("&db", "db-a db-b db-c"),
        ("eu:!edge:lone1", "web01.example.com web02.example.com web03.example.com db-a db-b db-c lone1"),
        ("web*", WEB),
        ("*.example.com", "web01.example.com web02.example.com web03.example.com"),
        ("all:!web*", "lone1 proxy1 proxy3 proxy5 db-b db-c"),
        ("e*", "proxy1 proxy3 proxy5 web01.example.com web02.example.com web03.example.com db-a db-b db-c"),
        ("?b", "db-a db-b db-c"),
        ("proxy[1:5:2]", "proxy1 proxy5"),
        ("~db-[ab]", "db-a db-b"),
        ("~proxy", "proxy1 proxy3 proxy5"),
        ("web[0]", "web01.example.com"),
        ("web[0:1]", "web01.example.com web02.example.com"),
        ("web[-1]", "db-a"),
        ("web[2:]", "web03.example.com db-a"),
        ("prod[1:3]", "web02.example.com web03.example.com db-a"),
        ("web[0:1],db[-1]", "web01.example.com web02.example.com db-c"),
        ("ungrouped", "lone1"),
        ("nosuch", ""),
        ("nosuch:web", WEB),
        ("db:&nosuch", ""),
        ("localhost", "localhost"),
        ("web[0]:localhost", "web01.example.com localhost"),
    ];

    #[test]
    fn patterns_select_like_ansible() {
        let graph = sample().graph;
        for (pattern, expected) in CASES {
            let selected =
                evaluate(&graph, &split(pattern)).unwrap_or_else(|e| panic!("{pattern}: {e}"));
            assert_eq!(selected.join(" "), *expected, "{pattern}");
        }
    }

    #[test]
    fn malformed_patterns_are_errors() {
        let graph = sample().graph;
        let cases = [
            ("", PatternError::Empty),
            (" , ", PatternError::Empty),
            ("web:!", PatternError::DanglingOperator('!')),
            ("web,&", PatternError::DanglingOperator('&')),
            ("web[9]", PatternError::SubscriptOutOfRange("web[9]".into())),
            (
                "web[-9]",
                PatternError::SubscriptOutOfRange("web[-9]".into()),
            ),
            ("web[0-1]", PatternError::DashSubscript("web[0-1]".into())),
        ];
        for (pattern, expected) in cases {
            assert_eq!(
                evaluate(&graph, &split(pattern)),
                Err(expected),
                "{pattern}"
            );
        }
        let err = evaluate(&graph, &split("~web(")).unwrap_err();
        assert!(matches!(err, PatternError::BadRegex { .. }), "{err}");
    }

    #[test]
    fn splits_like_ansible() {
        let cases: &[(&str, &[&str])] = &[
            ("a:b", &["a", "b"]),
            ("a , b,", &["a", "b"]),
            ("a:b,c", &["a:b", "c"]),
            ("web[0:2]:!db", &["web[0:2]", "!db"]),
            ("fe80::1", &["fe80::1"]),
        ];
        for (pattern, terms) in cases {
            assert_eq!(split(pattern), *terms, "{pattern}");
        }
    }

    #[test]
    fn globs_translate_like_fnmatch() {
        let cases = [
            ("web?", "^(?:web.)$"),
            ("a[!b]c", "^(?:a[^b]c)$"),
            ("a[^b]", r"^(?:a[\^b])$"),
            ("a[b", r"^(?:a\[b)$"),
            ("a.b", r"^(?:a\.b)$"),
        ];
        for (glob, regex) in cases {
            assert_eq!(compile(glob).unwrap().as_str(), regex, "{glob}");
        }
    }

    #[test]
    fn limits_read_at_files() {
        let dir = tree(&[("retry", "db-a\n\nweb[0]\n"), ("empty", "\n")]);
        let graph = sample().graph;
        let limit = |text: &str| evaluate(&graph, &limit_terms(text)?);
        let retry = format!("@{},lone1", dir.path().join("retry").display());
        assert_eq!(
            limit(&retry).unwrap(),
            ["db-a", "web01.example.com", "lone1"]
        );
        assert_eq!(limit("!db").unwrap().len(), 7);
        let empty = format!("@{}", dir.path().join("empty").display());
        assert_eq!(limit(&empty), Err(PatternError::Empty));
        let missing = format!("@{}", dir.path().join("nope").display());
        assert!(matches!(
            limit(&missing),
            Err(PatternError::LimitFile { .. })
        ));
    }
}
