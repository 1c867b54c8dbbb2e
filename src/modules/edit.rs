//! Editing a text file on the host: one round trip reads its state and bytes, the module edits
//! the text in Rust, and [`sync_file`] writes it back atomically (or only fixes attributes, or
//! does nothing). Shared by `lineinfile` and `blockinfile`.
//!
//! A symbolic link is written through to its target, resolved one level (as Ansible does with
//! `realpath`, except that chains of links are not followed to the end).

use serde_json::{Map, Value};

use super::attrs::Attrs;
use super::facts::{FileError, Kind, Probe, join, parent, probe_with_content};
use super::transfer::{Content, Placement, sync_file};
use super::{ModuleContext, ModuleResult, arg_bool, arg_str};

/// What an edit made of the text, and the message that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    /// The new text.
    pub text: Vec<u8>,
    /// What changed (`line added`, `Block inserted`, ...), when something did.
    pub msg: String,
}

/// How the file is to be treated when it does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Removing something from a missing file is a no-op.
    Nothing,
    /// Fail, unless `create` is set, in which case the edit starts from an empty file.
    Create(bool),
}

/// Reads `args.path`, applies `edit` to its text and writes the result back with the `mode`,
/// `owner`, `group`, `backup` and `validate` arguments. The result carries `msg`, `backup_file`
/// and the content diff.
pub async fn edit_file(
    ctx: &ModuleContext<'_>,
    args: &Map<String, Value>,
    missing: Missing,
    edit: impl FnOnce(&[u8]) -> Result<Edited, FileError>,
) -> Result<ModuleResult, FileError> {
    let path = arg_str(args, "path").unwrap_or_default();
    let (state, probed, content) = probe_with_content(ctx, Probe::new(path).followed()).await?;
    let Some(original) = original_text(path, state.kind, missing, content)? else {
        return Ok(ModuleResult::ok().with_msg("file not present"));
    };
    let edited = edit(&original)?;
    let dest = match &state.link_target {
        Some(target) if target.starts_with('/') => target.clone(),
        Some(target) => join(&parent(path), target),
        None => path.to_string(),
    };
    let placement = Placement {
        dest: &dest,
        attrs: Attrs::from_args(args)?,
        backup: arg_bool(args, "backup", false),
        validate: arg_str(args, "validate"),
    };
    let content_changed = edited.text != original || !state.exists();
    let content = Content::bytes(edited.text);
    let synced = sync_file(ctx, &content, &placement, &state, &probed, Some(&original)).await?;
    let msg = match (content_changed, synced.changed) {
        (true, _) => Some(edited.msg).filter(|m| !m.is_empty()),
        (false, true) => Some("ownership, perms or SE linux context changed".to_string()),
        (false, false) => None,
    };
    let mut result = ModuleResult {
        changed: synced.changed,
        diffs: synced.diffs,
        msg,
        ..ModuleResult::ok()
    };
    if let Some(backup) = synced.backup_file {
        result = result.with("backup_file", backup);
    }
    Ok(result)
}

/// The text to edit: the file's, or nothing for a missing file that may be created; `None`
/// when there is nothing to do.
fn original_text(
    path: &str,
    kind: Kind,
    missing: Missing,
    content: Option<Vec<u8>>,
) -> Result<Option<Vec<u8>>, FileError> {
    match (kind, missing) {
        (Kind::Directory, _) => Err(FileError::failed(format!(
            "Destination {path} is a directory !"
        ))),
        (Kind::Absent, Missing::Nothing) => Ok(None),
        (Kind::Absent, Missing::Create(false)) => Err(FileError::failed(format!(
            "Destination {path} does not exist !"
        ))),
        (Kind::Absent, Missing::Create(true)) => Ok(Some(Vec::new())),
        (_, _) => content
            .map(Some)
            .ok_or_else(|| FileError::failed(format!("cannot read {path}"))),
    }
}

/// Splits text into lines that keep their line endings (like Python's `readlines`).
pub fn split_lines(text: &[u8]) -> Vec<&[u8]> {
    text.split_inclusive(|&b| b == b'\n').collect()
}

/// A line without its ending (`\n` or `\r\n`).
pub fn strip_ending(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Joins lines back into text, adding a newline to a last line that lacks one when more lines
/// follow it.
pub fn join_lines(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut text = Vec::new();
    for line in lines {
        if !text.is_empty() && !text.ends_with(b"\n") {
            text.push(b'\n');
        }
        text.extend_from_slice(line);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_their_endings() {
        let lines = split_lines(b"a\r\nb\nc");
        assert_eq!(lines, [&b"a\r\n"[..], b"b\n", b"c"]);
        assert_eq!(strip_ending(lines[0]), b"a");
        assert_eq!(strip_ending(lines[2]), b"c");
        let owned: Vec<Vec<u8>> = vec![b"x".to_vec(), b"y\n".to_vec()];
        assert_eq!(join_lines(&owned), b"x\ny\n");
        assert!(split_lines(b"").is_empty());
    }
}
