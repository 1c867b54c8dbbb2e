//! Putting a file's content in place on a host, atomically: the bytes stream over stdin into a
//! new temp file in the destination's own directory, created exclusively (never through a link
//! someone planted) and kept open; its owner and mode are set through that open file
//! (`/proc/self/fd/3`), never by a path that another user who can write the folder could swap
//! for a link. It is checked against the expected SHA-256, optionally validated, and renamed over
//! the destination with `mv -f`. A trap removes the temp file on any failure.
//!
//! [`sync_file`] is the whole decision for modules that manage one file's content (`copy`,
//! `template`, `lineinfile`, ...): nothing is sent when the checksums match, only attributes are
//! fixed when they differ, and check mode changes nothing. This file never reads a large local
//! file into memory; it does not create parent directories.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::attrs::{Attrs, chown_spec};
use super::facts::{FileError, Kind, PathState, Probe, Probed, parent, probe_all};
use super::mode::octal;
use super::{Diff, ModuleContext};
use crate::transport::{Stdin, quote};

/// Files larger than this are not shown in diffs (Ansible's default limit is about 100 KB).
pub const MAX_DIFF_BYTES: u64 = 100 * 1024;

/// Where new content comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Bytes already in memory (rendered templates, edited files, `content:`).
    Bytes(Arc<Vec<u8>>),
    /// A file on the controller, streamed.
    File(PathBuf),
    /// A file already on the host (`remote_src`).
    Remote(String),
}

/// New content for a file: where it comes from and its SHA-256.
#[derive(Debug, Clone)]
pub struct Content {
    /// Where the bytes come from.
    pub source: Source,
    /// Their SHA-256, lowercase hex.
    pub sha256: String,
    /// Their size in bytes.
    pub size: u64,
}

impl Content {
    /// Content held in memory.
    pub fn bytes(bytes: Vec<u8>) -> Content {
        Content {
            sha256: sha256_hex(&bytes),
            size: bytes.len() as u64,
            source: Source::Bytes(Arc::new(bytes)),
        }
    }

    /// A local file's content; its checksum is computed by streaming it.
    pub async fn file(path: &Path) -> Result<Content, FileError> {
        let owned = path.to_path_buf();
        let (sha256, size) = tokio::task::spawn_blocking(move || sha256_file(&owned))
            .await
            .map_err(|e| FileError::failed(format!("checksum task failed: {e}")))?
            .map_err(|source| FileError::Local {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Content {
            source: Source::File(path.to_path_buf()),
            sha256,
            size,
        })
    }

    /// A file already on the host, whose checksum a probe found.
    pub fn remote(path: &str, state: &PathState) -> Result<Content, FileError> {
        match (&state.kind, &state.checksum) {
            (Kind::File, Some(sha256)) => Ok(Content {
                source: Source::Remote(path.to_string()),
                sha256: sha256.clone(),
                size: state.size,
            }),
            (Kind::File, None) => Err(FileError::failed(format!("{path} is not readable"))),
            _ => Err(FileError::failed(format!(
                "source {path} is not a regular file"
            ))),
        }
    }

    /// The bytes, when cheap to have: in memory, or a small local file (for diffs).
    pub fn small_bytes(&self) -> Option<Vec<u8>> {
        if self.size > MAX_DIFF_BYTES {
            return None;
        }
        match &self.source {
            Source::Bytes(bytes) => Some(bytes.to_vec()),
            Source::File(path) => std::fs::read(path).ok(),
            Source::Remote(_) => None,
        }
    }
}

/// Finds a task's local `src` file: an absolute path as is, a relative one in the search paths,
/// those named `preferred` (`files`, `templates`) first, the way roles look up their files.
pub fn find_local(
    search_paths: &[PathBuf],
    name: &str,
    preferred: &str,
) -> Result<PathBuf, FileError> {
    let path = Path::new(name);
    if path.is_absolute() {
        return match path.exists() {
            true => Ok(path.to_path_buf()),
            false => Err(FileError::failed(format!("could not find src `{name}`"))),
        };
    }
    search_order(search_paths, preferred)
        .map(|dir| dir.join(path))
        .find(|candidate| candidate.exists())
        .ok_or_else(|| {
            let looked: Vec<String> = search_paths
                .iter()
                .map(|d| d.display().to_string())
                .collect();
            FileError::failed(format!(
                "could not find src `{name}`; looked in: {}",
                looked.join(", ")
            ))
        })
}

/// The search paths in lookup order: those named `preferred` (`files`, `templates`) first.
pub fn search_order<'a>(
    search_paths: &'a [PathBuf],
    preferred: &'a str,
) -> impl Iterator<Item = &'a PathBuf> {
    search_paths
        .iter()
        .filter(move |dir| dir.file_name().is_some_and(|n| n == preferred))
        .chain(search_paths)
}

/// SHA-256 of bytes, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 and size of a local file, read in chunks.
pub fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 64 * 1024];
    let mut size = 0;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buffer[..n]);
    }
    Ok((hex::encode(hasher.finalize()), size))
}

/// How a file is to be put in place.
#[derive(Debug, Clone, Default)]
pub struct Placement<'a> {
    /// The remote path.
    pub dest: &'a str,
    /// The wanted mode, owner and group (unset ones are kept from an existing file).
    pub attrs: Attrs,
    /// Copy the old file to `dest.PID.YYYY-MM-DD@HH:MM:SS~` first, like Ansible.
    pub backup: bool,
    /// A command to check the new file before it replaces the old one; `%s` is its path.
    pub validate: Option<&'a str>,
}

/// What [`sync_file`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Synced {
    /// The file changed (or would have, in check mode).
    pub changed: bool,
    /// The backup made, if any.
    pub backup_file: Option<String>,
    /// The file's mode afterwards.
    pub mode: u32,
    /// Diffs for `--diff` (content and attributes).
    pub diffs: Vec<Diff>,
}

/// Brings `placement.dest` (found in state `current`, with the host's umask in `probed`) to
/// `content` and the wanted attributes. `before` is the current content when the caller already
/// has it (for diffs).
pub async fn sync_file(
    ctx: &ModuleContext<'_>,
    content: &Content,
    placement: &Placement<'_>,
    current: &PathState,
    probed: &Probed,
    before: Option<&[u8]>,
) -> Result<Synced, FileError> {
    let dest = placement.dest;
    if let Some(validate) = placement.validate
        && !validate.contains("%s")
    {
        return Err(FileError::failed(format!(
            "validate must contain %s: {validate}"
        )));
    }
    if !matches!(current.kind, Kind::File | Kind::Absent | Kind::Link) {
        return Err(FileError::failed(format!(
            "{dest} exists and is not a file"
        )));
    }
    let same = current.kind == Kind::File && current.checksum.as_deref() == Some(&content.sha256);
    if same {
        let changes = placement.attrs.changes(current);
        let mut synced = Synced {
            changed: !changes.is_empty(),
            mode: changes.mode.unwrap_or(current.mode),
            diffs: changes.diff(dest).into_iter().collect(),
            ..Synced::default()
        };
        if !ctx.diff {
            synced.diffs.clear();
        }
        if !ctx.check_mode {
            changes.apply(ctx, dest, false).await?;
        }
        return Ok(synced);
    }
    let base = if current.kind == Kind::File {
        current.mode
    } else {
        probed.new_file_mode()
    };
    let mode = placement
        .attrs
        .mode
        .as_ref()
        .map_or(base, |m| m.resolve(base, false));
    let mut synced = Synced {
        changed: true,
        mode,
        ..Synced::default()
    };
    if ctx.diff {
        synced.diffs = content_diffs(ctx, content, placement, current, before).await?;
    }
    if !ctx.check_mode {
        synced.backup_file = put(ctx, content, placement, current, mode).await?;
    }
    Ok(synced)
}

/// Probes `placement.dest`, then brings it to `content` as [`sync_file`] does: the one call for
/// a module that just needs a file in place (one round trip when nothing changes, two otherwise).
pub async fn ensure_file(
    ctx: &ModuleContext<'_>,
    content: &Content,
    placement: &Placement<'_>,
) -> Result<Synced, FileError> {
    let probed = probe_all(ctx, &[Probe::new(placement.dest)]).await?;
    sync_file(ctx, content, placement, &probed.states[0], &probed, None).await
}

/// The content diff, plus the attribute diff for an existing file.
async fn content_diffs(
    ctx: &ModuleContext<'_>,
    content: &Content,
    placement: &Placement<'_>,
    current: &PathState,
    before: Option<&[u8]>,
) -> Result<Vec<Diff>, FileError> {
    let before = match before {
        Some(bytes) => Some(bytes.to_vec()),
        None if current.kind != Kind::File => Some(Vec::new()),
        None if current.size > MAX_DIFF_BYTES => None,
        None => Some(super::facts::read(ctx, placement.dest).await?),
    };
    let mut diffs = vec![text_diff(
        placement.dest,
        before.as_deref(),
        content.small_bytes().as_deref(),
    )];
    if current.kind == Kind::File {
        let attrs = Attrs {
            owner: None,
            group: None,
            ..placement.attrs.clone()
        };
        diffs.extend(attrs.changes(current).diff(placement.dest));
    }
    Ok(diffs)
}

/// A before/after pair of file contents, or a note when either side is binary or too large.
pub fn text_diff(label: &str, before: Option<&[u8]>, after: Option<&[u8]>) -> Diff {
    let show = |bytes: Option<&[u8]>| match bytes {
        Some(b) if !b.contains(&0) => std::str::from_utf8(b).ok().map(str::to_string),
        _ => None,
    };
    match (show(before), show(after)) {
        (Some(before), Some(after)) => Diff {
            label: label.to_string(),
            before,
            after,
        },
        _ => Diff {
            label: label.to_string(),
            before: String::new(),
            after: "(binary or large file: content not shown)\n".into(),
        },
    }
}

/// Puts `content` at `placement.dest` with `mode`; returns the backup's path when one was made.
async fn put(
    ctx: &ModuleContext<'_>,
    content: &Content,
    placement: &Placement<'_>,
    current: &PathState,
    mode: u32,
) -> Result<Option<String>, FileError> {
    let script = put_script(content, placement, current, mode);
    let stdin = match &content.source {
        Source::Bytes(bytes) => Stdin::Bytes(Arc::clone(bytes)),
        Source::File(path) => Stdin::File(path.clone()),
        Source::Remote(_) => Stdin::Null,
    };
    let output = ctx.run_with_stdin(script, stdin).await?;
    if output.exit_code != 0 {
        return Err(FileError::failed(format!(
            "cannot write {}: {}",
            placement.dest,
            output.stderr_text().trim()
        )));
    }
    let backup = output.stdout_text();
    Ok((!backup.is_empty()).then_some(backup))
}

/// The temp file as the script holds it open (fd 3): `chown`/`chmod` on it act on that file even
/// if its path was swapped for a link.
const OPEN_TMP: &str = "/proc/self/fd/3";

/// The script that puts the content in place; it prints the backup's path, if it made one.
pub fn put_script(
    content: &Content,
    placement: &Placement<'_>,
    current: &PathState,
    mode: u32,
) -> String {
    let dest = quote(placement.dest);
    let dir = quote(&parent(placement.dest));
    let fill = match &content.source {
        Source::Remote(src) => format!("cat -- {}", quote(src)),
        Source::Bytes(_) | Source::File(_) => "cat".to_string(),
    };
    let mut script = format!(
        "[ -d {dir} ] || {{ echo 'destination directory '{dir}' does not exist' >&2; exit 1; }}\n\
         umask 077\n\
         tmp=$(mktemp -u -- {dir}/.deployer-tmp.XXXXXXXXXX) || exit 1\n\
         trap 'rm -f -- \"$tmp\"' EXIT\n\
         trap 'exit 1' HUP INT TERM\n\
         set -C; exec 3> \"$tmp\" || exit 1; set +C\n\
         {fill} >&3 || exit 1\n\
         sum=$(sha256sum < \"$tmp\") || exit 1\n\
         [ \"${{sum%% *}}\" = {sha} ] || {{ echo 'checksum mismatch after transfer' >&2; exit 1; }}\n",
        sha = content.sha256,
    );
    script.push_str(&owner_commands(placement, current));
    script.push_str(&format!(
        "chmod -- {} {OPEN_TMP} || exit 1\nexec 3>&-\n",
        octal(mode)
    ));
    if let Some(validate) = placement.validate {
        script.push_str(&format!(
            "{} || {{ echo 'validation failed' >&2; exit 1; }}\n",
            validate.replace("%s", "\"$tmp\"")
        ));
    }
    if placement.backup && current.kind == Kind::File {
        script.push_str(&format!(
            "backup={dest}.$$.$(date +%Y-%m-%d@%H:%M:%S)~\n\
             cp -p -- {dest} \"$backup\" || exit 1\n"
        ));
    }
    script.push_str(&format!(
        "mv -f -- \"$tmp\" {dest} || exit 1\ntrap - EXIT\n"
    ));
    if placement.backup && current.kind == Kind::File {
        script.push_str("printf '%s' \"$backup\"\n");
    }
    script
}

/// `chown` for the temp file: the wanted owner and group, else the replaced file's (best effort,
/// as only root may give a file away).
fn owner_commands(placement: &Placement<'_>, current: &PathState) -> String {
    let existing = current.kind == Kind::File;
    let owner = placement
        .attrs
        .owner
        .clone()
        .or_else(|| existing.then(|| current.uid.to_string()));
    let group = placement
        .attrs
        .group
        .clone()
        .or_else(|| existing.then(|| current.gid.to_string()));
    let strict = placement.attrs.owner.is_some() || placement.attrs.group.is_some();
    let Some(spec) = chown_spec(owner.as_deref(), group.as_deref()) else {
        return String::new();
    };
    let spec = quote(&spec);
    if strict {
        format!("chown -- {spec} {OPEN_TMP} || exit 1\n")
    } else {
        format!("chown -- {spec} {OPEN_TMP} 2>/dev/null || :\n")
    }
}

#[cfg(test)]
mod tests;
