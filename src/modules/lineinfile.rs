//! `lineinfile`: makes sure one line is in a file (replacing the line a `regexp` or
//! `search_string` matches, else inserting it after/before an anchor or at the end), or that no
//! matching line is. The editing happens in Rust on the file's text; [`super::edit`] reads it and
//! writes it back atomically.
//!
//! Regular expressions use Rust's `regex` syntax, which covers Python's common forms but has no
//! look-around or back-references inside patterns; `backrefs` replacements accept Python's `\1`
//! and `\g<name>`. Unlike Ansible, an exact `line` already present anywhere is never added again
//! because of `insertafter`/`insertbefore`.

use async_trait::async_trait;
use regex::bytes::{Captures, Regex};
use serde_json::{Map, Value};

use super::attrs::ATTR_ARGS;
use super::edit::{Edited, Missing, edit_file, join_lines, split_lines, strip_ending};
use super::facts::{FileError, finish};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};

static SPEC: ModuleSpec = ModuleSpec {
    name: "lineinfile",
    aliases: &[],
    args: &[
        ArgSpec::new("path", ArgType::Str)
            .required()
            .aliases(&["dest", "destfile", "name"]),
        ArgSpec::new("line", ArgType::Str).aliases(&["value"]),
        ArgSpec::new("regexp", ArgType::Str).aliases(&["regex"]),
        ArgSpec::new("search_string", ArgType::Str),
        ArgSpec::new("state", ArgType::Str).choices(&["present", "absent"]),
        ArgSpec::new("insertafter", ArgType::Str),
        ArgSpec::new("insertbefore", ArgType::Str),
        ArgSpec::new("create", ArgType::Bool),
        ArgSpec::new("backup", ArgType::Bool),
        ArgSpec::new("backrefs", ArgType::Bool),
        ArgSpec::new("firstmatch", ArgType::Bool),
        ArgSpec::new("validate", ArgType::Str),
        ATTR_ARGS[0],
        ATTR_ARGS[1],
        ATTR_ARGS[2],
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `lineinfile` module.
pub struct LineInFile;

#[async_trait]
impl Module for LineInFile {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(lineinfile(args, ctx).await)
    }
}

async fn lineinfile(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
) -> Result<ModuleResult, FileError> {
    let request = Request::read(args)?;
    let present = arg_str(args, "state") != Some("absent");
    let missing = if present {
        Missing::Create(arg_bool(args, "create", false))
    } else {
        Missing::Nothing
    };
    let mut found = None;
    let mut result = edit_file(ctx, args, missing, |text| {
        if present {
            Ok(request.present(text))
        } else {
            let (edited, count) = request.absent(text);
            found = Some(count);
            Ok(edited)
        }
    })
    .await?;
    if let Some(count) = found {
        result = result.with("found", count);
    }
    if let Some(backup) = result.data.get("backup_file").cloned() {
        result = result.with("backup", backup);
    }
    Ok(result)
}

/// How lines are recognised.
#[derive(Debug, Clone)]
enum Matcher {
    Regex(Regex),
    Substring(String),
    Exact,
}

/// Where a missing line goes.
#[derive(Debug, Clone)]
enum Anchor {
    Eof,
    Bof,
    After(Regex),
    Before(Regex),
}

/// A task's arguments, checked and compiled.
#[derive(Debug, Clone)]
struct Request {
    line: Vec<u8>,
    matcher: Matcher,
    anchor: Anchor,
    backrefs: bool,
    firstmatch: bool,
}

fn compile(pattern: &str) -> Result<Regex, FileError> {
    Regex::new(pattern).map_err(|e| FileError::failed(format!("bad regular expression: {e}")))
}

impl Request {
    fn read(args: &Map<String, Value>) -> Result<Request, FileError> {
        let present = arg_str(args, "state") != Some("absent");
        let line = arg_str(args, "line");
        let (regexp, search) = (arg_str(args, "regexp"), arg_str(args, "search_string"));
        let backrefs = arg_bool(args, "backrefs", false);
        let has = |name: &str| args.contains_key(name);
        let checks = [
            (
                regexp.is_some() && search.is_some(),
                "regexp and search_string are mutually exclusive",
            ),
            (
                has("insertafter") && has("insertbefore"),
                "insertafter and insertbefore are mutually exclusive",
            ),
            (
                present && line.is_none(),
                "line is required with state=present",
            ),
            (
                backrefs && regexp.is_none(),
                "regexp is required with backrefs=true",
            ),
            (
                !present && line.is_none() && regexp.is_none() && search.is_none(),
                "one of line, regexp or search_string is required with state=absent",
            ),
        ];
        if let Some((_, problem)) = checks.iter().find(|(bad, _)| *bad) {
            return Err(FileError::failed(*problem));
        }
        let matcher = match (regexp, search) {
            (Some(r), _) => Matcher::Regex(compile(r)?),
            (None, Some(s)) => Matcher::Substring(s.to_string()),
            (None, None) => Matcher::Exact,
        };
        let anchor = match (arg_str(args, "insertafter"), arg_str(args, "insertbefore")) {
            (Some("BOF"), _) | (_, Some("BOF")) => Anchor::Bof,
            (Some("EOF"), _) | (None, None) => Anchor::Eof,
            (Some(after), _) => Anchor::After(compile(after)?),
            (None, Some(before)) => Anchor::Before(compile(before)?),
        };
        Ok(Request {
            line: line.unwrap_or_default().as_bytes().to_vec(),
            matcher,
            anchor,
            backrefs,
            firstmatch: arg_bool(args, "firstmatch", false),
        })
    }

    /// Whether a line (without its ending) matches; regexp captures come along.
    fn matches<'t>(&self, text: &'t [u8]) -> Option<Option<Captures<'t>>> {
        match &self.matcher {
            Matcher::Regex(re) => re.captures(text).map(Some),
            Matcher::Substring(s) => contains(text, s.as_bytes()).then_some(None),
            Matcher::Exact => (text == self.line.as_slice()).then_some(None),
        }
    }

    /// The matching line (last, or first with `firstmatch`) with its captures, and where the
    /// anchor says a new line goes, scanning like Ansible.
    fn scan<'t>(
        &self,
        lines: &[&'t [u8]],
    ) -> (Option<(usize, Option<Captures<'t>>)>, Option<usize>) {
        let mut found = None;
        let mut anchor_at = None;
        for (i, raw) in lines.iter().enumerate() {
            let bare = strip_ending(raw);
            if let Some(captures) = self.matches(bare) {
                found = Some((i, captures));
                if self.firstmatch {
                    break;
                }
            }
            let anchor_hit = match &self.anchor {
                Anchor::After(re) => re.is_match(bare).then_some(i + 1),
                Anchor::Before(re) => re.is_match(bare).then_some(i),
                Anchor::Eof | Anchor::Bof => None,
            };
            if anchor_hit.is_some() {
                anchor_at = anchor_hit;
                if self.firstmatch {
                    break;
                }
            }
        }
        (found, anchor_at)
    }

    /// `state: present`.
    fn present(&self, text: &[u8]) -> Edited {
        let lines = split_lines(text);
        let (found, anchor_at) = self.scan(&lines);
        let mut out: Vec<Vec<u8>> = lines.iter().map(|l| l.to_vec()).collect();
        let mut new_line = match (&found, self.backrefs) {
            (Some((_, Some(captures))), true) => expand(captures, &self.line),
            _ => self.line.clone(),
        };
        new_line.push(b'\n');
        let msg = match (found, &self.anchor, anchor_at) {
            (Some((i, _)), _, _) if out[i] != new_line => {
                out[i] = new_line;
                "line replaced"
            }
            (Some(_), _, _) => "",
            (None, _, _) if self.backrefs => "",
            (None, Anchor::Bof, _) => {
                out.insert(0, new_line);
                "line added"
            }
            (None, Anchor::After(_), Some(at)) => {
                let neighbour = out.get(at).or(out.last()).map(|l| strip_ending(l).to_vec());
                if neighbour.as_deref() == Some(&self.line[..]) {
                    ""
                } else {
                    out.insert(at, new_line);
                    "line added"
                }
            }
            (None, Anchor::Before(_), Some(at)) => {
                out.insert(at, new_line);
                "line added"
            }
            (None, _, _) => {
                out.push(new_line);
                "line added"
            }
        };
        Edited {
            text: join_lines(&out),
            msg: msg.to_string(),
        }
    }

    /// `state: absent`: removes every matching line; also returns how many there were.
    fn absent(&self, text: &[u8]) -> (Edited, usize) {
        let lines = split_lines(text);
        let kept: Vec<Vec<u8>> = lines
            .iter()
            .filter(|raw| self.matches(strip_ending(raw)).is_none())
            .map(|l| l.to_vec())
            .collect();
        let removed = lines.len() - kept.len();
        let msg = if removed > 0 {
            format!("{removed} line(s) removed")
        } else {
            String::new()
        };
        let text = if removed > 0 {
            join_lines(&kept)
        } else {
            text.to_vec()
        };
        (Edited { text, msg }, removed)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// Expands a Python-style replacement (`\1`, `\g<name>`, `\g<1>`) with a match's captures.
fn expand(captures: &Captures, template: &[u8]) -> Vec<u8> {
    let mut rust = Vec::new();
    let mut i = 0;
    while i < template.len() {
        let rest = &template[i..];
        let digits = rest
            .iter()
            .skip(1)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if rest[0] == b'$' {
            rust.extend_from_slice(b"$$");
            i += 1;
        } else if rest[0] == b'\\' && digits > 0 {
            rust.extend_from_slice(b"${");
            rust.extend_from_slice(&rest[1..=digits]);
            rust.push(b'}');
            i += 1 + digits;
        } else if rest.starts_with(b"\\g<")
            && let Some(end) = rest.iter().position(|&b| b == b'>')
        {
            rust.extend_from_slice(b"${");
            rust.extend_from_slice(&rest[3..end]);
            rust.push(b'}');
            i += end + 1;
        } else if rest.starts_with(b"\\\\") {
            rust.push(b'\\');
            i += 2;
        } else {
            rust.push(rest[0]);
            i += 1;
        }
    }
    let mut out = Vec::new();
    captures.expand(&rust, &mut out);
    out
}

#[cfg(test)]
mod tests;
