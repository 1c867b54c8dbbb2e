//! `blockinfile`: keeps a block of lines between two marker lines in a file (inserting it after
//! or before an anchor, or at the end), or removes it. The editing happens in Rust on the file's
//! text; [`super::edit`] reads it and writes it back atomically.
//!
//! Regular expressions use Rust's `regex` syntax and match one line at a time (Ansible's
//! multi-line anchors are not supported). Unlike Ansible, removing a block from a missing file is
//! a no-op even without `create`.

use async_trait::async_trait;
use regex::bytes::Regex;
use serde_json::{Map, Value};

use super::attrs::ATTR_ARGS;
use super::edit::{Edited, Missing, edit_file, split_lines, strip_ending};
use super::facts::{FileError, finish};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};

static SPEC: ModuleSpec = ModuleSpec {
    name: "blockinfile",
    aliases: &[],
    args: &[
        ArgSpec::new("path", ArgType::Str)
            .required()
            .aliases(&["dest", "destfile", "name"]),
        ArgSpec::new("block", ArgType::Str).aliases(&["content"]),
        ArgSpec::new("marker", ArgType::Str),
        ArgSpec::new("marker_begin", ArgType::Str),
        ArgSpec::new("marker_end", ArgType::Str),
        ArgSpec::new("state", ArgType::Str).choices(&["present", "absent"]),
        ArgSpec::new("insertafter", ArgType::Str),
        ArgSpec::new("insertbefore", ArgType::Str),
        ArgSpec::new("create", ArgType::Bool),
        ArgSpec::new("backup", ArgType::Bool),
        ArgSpec::new("validate", ArgType::Str),
        ArgSpec::new("append_newline", ArgType::Bool),
        ArgSpec::new("prepend_newline", ArgType::Bool),
        ATTR_ARGS[0],
        ATTR_ARGS[1],
        ATTR_ARGS[2],
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `blockinfile` module.
pub struct BlockInFile;

#[async_trait]
impl Module for BlockInFile {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(blockinfile(args, ctx).await)
    }
}

async fn blockinfile(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
) -> Result<ModuleResult, FileError> {
    let request = Request::read(args)?;
    let missing = if request.block.is_empty() {
        Missing::Nothing
    } else {
        Missing::Create(arg_bool(args, "create", false))
    };
    edit_file(ctx, args, missing, |text| Ok(request.apply(text))).await
}

/// Where a new block goes.
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
    begin: Vec<u8>,
    end: Vec<u8>,
    /// The block's lines; empty when the block is to be removed.
    block: Vec<Vec<u8>>,
    anchor: Anchor,
    append_newline: bool,
    prepend_newline: bool,
}

impl Request {
    fn read(args: &Map<String, Value>) -> Result<Request, FileError> {
        let marker = arg_str(args, "marker").unwrap_or("# {mark} ANSIBLE MANAGED BLOCK");
        let mark = |name, default| marker.replace("{mark}", arg_str(args, name).unwrap_or(default));
        let present = arg_str(args, "state") != Some("absent");
        let block = arg_str(args, "block").unwrap_or_default();
        let compile = |pattern: &str| {
            Regex::new(pattern)
                .map_err(|e| FileError::failed(format!("bad regular expression: {e}")))
        };
        let anchor = match (arg_str(args, "insertafter"), arg_str(args, "insertbefore")) {
            (Some(_), Some(_)) => {
                return Err(FileError::failed(
                    "insertafter and insertbefore are mutually exclusive",
                ));
            }
            (Some("EOF") | None, None) => Anchor::Eof,
            (None, Some("BOF")) => Anchor::Bof,
            (Some(after), None) => Anchor::After(compile(after)?),
            (None, Some(before)) => Anchor::Before(compile(before)?),
        };
        let block = if present && !block.is_empty() {
            split_lines(block.as_bytes())
                .into_iter()
                .map(|l| strip_ending(l).to_vec())
                .collect()
        } else {
            Vec::new()
        };
        Ok(Request {
            begin: mark("marker_begin", "BEGIN").into_bytes(),
            end: mark("marker_end", "END").into_bytes(),
            block,
            anchor,
            append_newline: arg_bool(args, "append_newline", false),
            prepend_newline: arg_bool(args, "prepend_newline", false),
        })
    }

    /// Puts the block in place (or takes it out) and says what happened.
    fn apply(&self, text: &[u8]) -> Edited {
        let mut lines: Vec<Vec<u8>> = split_lines(text)
            .into_iter()
            .map(|l| strip_ending(l).to_vec())
            .collect();
        let begin = lines.iter().rposition(|l| *l == self.begin);
        let end = lines.iter().rposition(|l| *l == self.end);
        let mut at = match (begin, end) {
            (Some(b), Some(e)) => {
                let (first, last) = (b.min(e), b.max(e));
                lines.drain(first..=last);
                first
            }
            _ => self.insertion_point(&lines),
        };
        if !self.block.is_empty() {
            if self.prepend_newline && at > 0 && !lines[at - 1].is_empty() {
                lines.insert(at, Vec::new());
                at += 1;
            }
            let mut new = vec![self.begin.clone()];
            new.extend(self.block.iter().cloned());
            new.push(self.end.clone());
            let after = at + new.len();
            lines.splice(at..at, new);
            if self.append_newline && after < lines.len() && !lines[after].is_empty() {
                lines.insert(after, Vec::new());
            }
        }
        let mut result = lines.join(&b'\n');
        if !lines.is_empty() && (text.is_empty() || text.ends_with(b"\n")) {
            result.push(b'\n');
        }
        let msg = if result == text {
            ""
        } else if text.is_empty() {
            "File created"
        } else if self.block.is_empty() {
            "Block removed"
        } else {
            "Block inserted"
        };
        Edited {
            text: result,
            msg: msg.to_string(),
        }
    }

    /// Where a block not yet in the file goes: after/before the last line the anchor matches,
    /// else at the end.
    fn insertion_point(&self, lines: &[Vec<u8>]) -> usize {
        let last_match = |re: &Regex| lines.iter().rposition(|l| re.is_match(l));
        match &self.anchor {
            Anchor::Eof => lines.len(),
            Anchor::Bof => 0,
            Anchor::After(re) => last_match(re).map_or(lines.len(), |i| i + 1),
            Anchor::Before(re) => last_match(re).unwrap_or(lines.len()),
        }
    }
}

#[cfg(test)]
mod tests;
