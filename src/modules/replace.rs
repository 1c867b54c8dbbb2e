//! `replace`: replaces every match of a regular expression in a file (optionally only between
//! `after` and `before`), as Ansible's `re.subn` with `MULTILINE` does. The editing happens in
//! Rust on the file's text; [`super::edit`] reads it and writes it back atomically.
//!
//! Regular expressions use Rust's `regex` syntax (no look-around or back-references in the
//! pattern); the replacement takes Python's `\1`, `\g<1>` and `\g<name>`.

use async_trait::async_trait;
use regex::bytes::Regex;
use serde_json::{Map, Value};

use super::attrs::ATTR_ARGS;
use super::edit::{Edited, Missing, edit_file};
use super::facts::{FileError, finish};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_str};

static SPEC: ModuleSpec = ModuleSpec {
    name: "replace",
    aliases: &[],
    args: &[
        ArgSpec::new("path", ArgType::Str)
            .required()
            .aliases(&["dest", "destfile", "name"]),
        ArgSpec::new("regexp", ArgType::Str).required(),
        ArgSpec::new("replace", ArgType::Str),
        ArgSpec::new("after", ArgType::Str),
        ArgSpec::new("before", ArgType::Str),
        ArgSpec::new("backup", ArgType::Bool),
        ArgSpec::new("validate", ArgType::Str),
        ArgSpec::new("encoding", ArgType::Str),
        ATTR_ARGS[0],
        ATTR_ARGS[1],
        ATTR_ARGS[2],
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `replace` module.
pub struct Replace;

#[async_trait]
impl Module for Replace {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(replace(args, ctx).await)
    }
}

async fn replace(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
) -> Result<ModuleResult, FileError> {
    if arg_str(args, "encoding").is_some_and(|e| !e.eq_ignore_ascii_case("utf-8")) {
        return Err(FileError::failed("replace: only utf-8 files are supported"));
    }
    let regexp = compile(arg_str(args, "regexp").unwrap_or_default(), "(?m)")?;
    let section = section_pattern(arg_str(args, "after"), arg_str(args, "before"))
        .map(|p| compile(&p, "(?s)"))
        .transpose()?;
    let template = python_template(arg_str(args, "replace").unwrap_or_default());
    edit_file(ctx, args, Missing::Create(false), |text| {
        Ok(substitute(text, &regexp, section.as_ref(), &template))
    })
    .await
}

fn compile(pattern: &str, flags: &str) -> Result<Regex, FileError> {
    Regex::new(&format!("{flags}{pattern}"))
        .map_err(|e| FileError::failed(format!("invalid regular expression `{pattern}`: {e}")))
}

/// Ansible's pattern for the part of the file between `after` and `before`.
fn section_pattern(after: Option<&str>, before: Option<&str>) -> Option<String> {
    match (after, before) {
        (Some(a), Some(b)) => Some(format!("{a}(?P<subsection>.*?){b}")),
        (Some(a), None) => Some(format!("{a}(?P<subsection>.*)")),
        (None, Some(b)) => Some(format!("(?P<subsection>.*){b}")),
        (None, None) => None,
    }
}

/// The text with every match replaced (within the section, when there is one), and Ansible's
/// message (`N replacements made`).
fn substitute(text: &[u8], regexp: &Regex, section: Option<&Regex>, template: &[u8]) -> Edited {
    let (start, end) = match section {
        None => (0, text.len()),
        Some(re) => match re.captures(text).and_then(|c| c.name("subsection")) {
            Some(part) => (part.start(), part.end()),
            None => {
                return Edited {
                    text: text.to_vec(),
                    msg: String::new(),
                };
            }
        },
    };
    let part = &text[start..end];
    let count = regexp.find_iter(part).count();
    let replaced = regexp.replace_all(part, template);
    let mut out = text[..start].to_vec();
    out.extend_from_slice(&replaced);
    out.extend_from_slice(&text[end..]);
    Edited {
        text: out,
        msg: format!("{count} replacements made"),
    }
}

/// A Python `re.sub` replacement as a `regex` one: `\1`, `\g<1>`, `\g<name>` become `${1}`,
/// `${name}`; `\n`, `\t`, `\\` are decoded; a literal `$` is escaped.
fn python_template(text: &str) -> Vec<u8> {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek().copied()) {
            ('$', _) => out.push_str("$$"),
            ('\\', Some(d)) if d.is_ascii_digit() => {
                let mut group = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    group.push(d);
                    chars.next();
                }
                out.push_str(&format!("${{{group}}}"));
            }
            ('\\', Some('g')) => {
                chars.next();
                let name: String = chars.by_ref().skip(1).take_while(|c| *c != '>').collect();
                out.push_str(&format!("${{{name}}}"));
            }
            ('\\', Some(e @ ('n' | 't' | 'r' | '\\'))) => {
                chars.next();
                out.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    _ => '\\',
                });
            }
            (c, _) => out.push(c),
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, regexp: &str, replace: &str, after: Option<&str>) -> (String, String) {
        let re = compile(regexp, "(?m)").unwrap();
        let section = section_pattern(after, None).map(|p| compile(&p, "(?s)").unwrap());
        let edited = substitute(
            text.as_bytes(),
            &re,
            section.as_ref(),
            &python_template(replace),
        );
        (String::from_utf8(edited.text).unwrap(), edited.msg)
    }

    #[test]
    fn replaces_every_match_per_line_with_python_groups() {
        let (text, msg) = run(
            "port=80\nhost=a\nport=81\n",
            r"^port=(\d+)$",
            r"port=\g<1>0 # was \1 $x",
            None,
        );
        assert_eq!(text, "port=800 # was 80 $x\nhost=a\nport=810 # was 81 $x\n");
        assert_eq!(msg, "2 replacements made");
    }

    #[test]
    fn after_limits_the_section_and_a_section_not_found_changes_nothing() {
        let (text, _) = run("a=1\n[s]\na=1\n", "a=1", "a=2", Some(r"\[s\]"));
        assert_eq!(text, "a=1\n[s]\na=2\n");
        let (text, msg) = run("a=1\n", "a=1", "a=2", Some("nope"));
        assert_eq!((text.as_str(), msg.as_str()), ("a=1\n", ""));
    }

    #[test]
    fn escapes_decode_and_named_groups_work() {
        assert_eq!(python_template(r"\g<name>\n\\"), b"${name}\n\\");
    }
}
