//! `assemble`: joins the fragments of a folder into one file, as Ansible's module (`remote_src`,
//! the default: the folder is on the host) and action plugin (`remote_src: false`: the folder is
//! on the controller, found like `copy`'s `src`) do. Fragments are the folder's regular files in
//! name order, filtered by `regexp` and `ignore_hidden`; a `delimiter` goes between two
//! fragments, and a fragment without a final newline gets one before the next. The host's
//! fragments and the destination's state come in one round trip; the file is written by
//! [`sync_file`] (temp file, `validate`, `backup`, rename).

use async_trait::async_trait;
use regex::Regex;
use serde_json::{Map, Value};
use sha1::{Digest, Sha1};

use super::attrs::{ATTR_ARGS, Attrs};
use super::copy::file_result;
use super::facts::{
    FileError, HostFile, Probe, cat_files_script, finish, parse_cat_files, probe_all, probe_then,
};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::transfer::{Content, Placement, find_local, sync_file};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};
use crate::transport::quote;

static SPEC: ModuleSpec = ModuleSpec {
    name: "assemble",
    aliases: &[],
    args: &[
        ArgSpec::new("src", ArgType::Str).required(),
        ArgSpec::new("dest", ArgType::Str).required(),
        ArgSpec::new("delimiter", ArgType::Str),
        ArgSpec::new("backup", ArgType::Bool),
        ArgSpec::new("remote_src", ArgType::Bool),
        ArgSpec::new("regexp", ArgType::Str),
        ArgSpec::new("ignore_hidden", ArgType::Bool),
        ArgSpec::new("validate", ArgType::Str),
        ArgSpec::new("decrypt", ArgType::Bool),
        ATTR_ARGS[0],
        ATTR_ARGS[1],
        ATTR_ARGS[2],
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `assemble` module.
pub struct Assemble;

#[async_trait]
impl Module for Assemble {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(assemble(args, ctx).await)
    }
}

/// One fragment: its file name and bytes.
type Fragment = HostFile;

async fn assemble(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
) -> Result<ModuleResult, FileError> {
    let src = arg_str(args, "src").unwrap_or_default();
    let dest = arg_str(args, "dest").unwrap_or_default();
    let regexp = match arg_str(args, "regexp") {
        Some(pattern) => Some(
            Regex::new(pattern)
                .map_err(|e| FileError::failed(format!("Invalid Regexp ({e}) in \"{pattern}\"")))?,
        ),
        None => None,
    };
    let keep = |name: &[u8]| {
        let name = String::from_utf8_lossy(name);
        regexp.as_ref().is_none_or(|re| re.is_match(&name))
            && !(arg_bool(args, "ignore_hidden", false) && name.starts_with('.'))
    };
    let remote = arg_bool(args, "remote_src", true);
    let (fragments, probed) = if remote {
        let (probed, listing) = probe_then(ctx, &[Probe::new(dest)], &listing_script(src)).await?;
        (parse_listing(src, &listing)?, probed)
    } else {
        (
            local_fragments(ctx, src)?,
            probe_all(ctx, &[Probe::new(dest)]).await?,
        )
    };
    let fragments: Vec<Fragment> = fragments.into_iter().filter(|(n, _)| keep(n)).collect();
    let text = join(&fragments, arg_str(args, "delimiter"))?;
    let sha1 = hex::encode(Sha1::digest(&text));
    let md5 = format!("{:x}", md5::compute(&text));
    let content = Content::bytes(text);
    let placement = Placement {
        dest,
        attrs: Attrs::from_args(args)?,
        backup: arg_bool(args, "backup", false),
        validate: arg_str(args, "validate"),
    };
    let state = &probed.states[0];
    let mut synced = sync_file(ctx, &content, &placement, state, &probed, None).await?;
    if remote {
        // Ansible's module (the `remote_src` path) shows no diff.
        synced.diffs.clear();
    }
    let result = file_result(args, dest, &content, synced, state, &placement.attrs);
    Ok(result
        .with("checksum", sha1)
        .with("md5sum", md5)
        .with_msg("OK"))
}

/// The shell that prints `missing`, `notdir`, or `dir` and then each regular file of `src`
/// (hidden ones too) as [`cat_files_script`] prints them.
fn listing_script(src: &str) -> String {
    format!(
        "d={}\n\
         if [ ! -e \"$d\" ]; then printf missing; exit 0; fi\n\
         if [ ! -d \"$d\" ]; then printf notdir; exit 0; fi\n\
         printf 'dir\\000'\n{}",
        quote(src),
        cat_files_script("\"$d\"/* \"$d\"/.[!.]* \"$d\"/..?*")
    )
}

/// Reads [`listing_script`]'s output: the fragments (file names and bytes) in name order.
fn parse_listing(src: &str, listing: &[u8]) -> Result<Vec<Fragment>, FileError> {
    let rest = match listing {
        b"missing" => return Err(FileError::failed(format!("Source ({src}) does not exist"))),
        b"notdir" => return Err(not_a_directory(src)),
        _ => listing
            .strip_prefix(b"dir\0")
            .ok_or_else(|| FileError::failed(format!("cannot read the fragments of {src}")))?,
    };
    let mut fragments: Vec<Fragment> = (parse_cat_files(rest).map_err(FileError::failed)?)
        .into_iter()
        .map(|(path, bytes)| {
            let name = path.rsplit(|&b| b == b'/').next().unwrap_or_default();
            (name.to_vec(), bytes)
        })
        .collect();
    fragments.sort();
    Ok(fragments)
}

fn not_a_directory(src: &str) -> FileError {
    FileError::failed(format!("Source ({src}) is not a directory"))
}

/// The regular files of a controller folder (`remote_src: false`), in name order.
fn local_fragments(ctx: &ModuleContext<'_>, src: &str) -> Result<Vec<Fragment>, FileError> {
    use std::os::unix::ffi::OsStrExt;
    let dir = find_local(ctx.search_paths, src, "files")?;
    if !dir.is_dir() {
        return Err(not_a_directory(&dir.display().to_string()));
    }
    let local = |source| FileError::Local {
        path: dir.clone(),
        source,
    };
    let mut fragments = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(local)? {
        let path = entry.map_err(local)?.path();
        if path.is_file() {
            let bytes = std::fs::read(&path).map_err(|source| FileError::Local {
                path: path.clone(),
                source,
            })?;
            let name = path.file_name().unwrap_or_default().as_bytes().to_vec();
            fragments.push((name, bytes));
        }
    }
    fragments.sort();
    Ok(fragments)
}

/// The fragments joined as Ansible joins them. Like Ansible, the delimiter's escapes are decoded
/// again before each use.
fn join(fragments: &[Fragment], delimiter: Option<&str>) -> Result<Vec<u8>, FileError> {
    let mut delimiter = delimiter.map(|d| d.as_bytes().to_vec());
    let mut text = Vec::new();
    let mut add_newline = false;
    for (i, (_, content)) in fragments.iter().enumerate() {
        if add_newline {
            text.push(b'\n');
        }
        if let Some(d) = delimiter.as_mut().filter(|d| i > 0 && !d.is_empty()) {
            *d = escape_decode(d)?;
            text.extend_from_slice(d);
            if d.last() != Some(&b'\n') {
                text.push(b'\n');
            }
        }
        text.extend_from_slice(content);
        add_newline = !content.ends_with(b"\n");
    }
    Ok(text)
}

/// Python's `codecs.escape_decode`: `\n`, `\t`, `\\`, `\xhh`, octal escapes and the rest of the
/// backslash escapes of a bytes literal; an unknown escape stays as it is.
fn escape_decode(text: &[u8]) -> Result<Vec<u8>, FileError> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] != b'\\' {
            out.push(text[i]);
            i += 1;
            continue;
        }
        let Some(&c) = text.get(i + 1) else {
            return Err(FileError::failed("Trailing \\ in string"));
        };
        i += 2;
        match c {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(c),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b't' => out.push(b'\t'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut value = u32::from(c - b'0');
                for _ in 0..2 {
                    match text.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((value & 0xff) as u8);
            }
            b'x' => {
                let hex = (text.get(i..i + 2))
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
                let Some(byte) = hex else {
                    return Err(FileError::failed(format!(
                        "invalid \\x escape at position {}",
                        i - 2
                    )));
                };
                out.push(byte);
                i += 2;
            }
            other => out.extend_from_slice(&[b'\\', other]),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
