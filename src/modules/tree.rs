//! Directory trees for recursive copies: listing a tree on the controller or on the host, and
//! bringing a remote directory to hold the same directories and files.
//!
//! One round trip learns the state of every target (and of every remote source file), one makes
//! the missing directories, and each changed file then costs one transfer; unchanged files cost
//! nothing. Files are only added or updated, never deleted (like Ansible). Symbolic links in a
//! local tree are followed; in a remote tree only directories and regular files are copied.

use std::path::{Path, PathBuf};

use super::attrs::Attrs;
use super::facts::{FileError, Kind, PathState, Probe, join, probe_all, run_long};
use super::transfer::{Content, Placement, sync_file};
use super::{Diff, ModuleContext};
use crate::transport::quote;

/// Where one file of a tree comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    Local(PathBuf),
    Remote(String),
}

/// The directories and files under a root, as paths relative to it, parents before children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    dirs: Vec<String>,
    files: Vec<(String, Origin)>,
}

impl Tree {
    /// Lists a directory on the controller, following links, in name order.
    pub fn local(root: &Path) -> Result<Tree, FileError> {
        let mut tree = Tree::default();
        walk(root, "", &mut tree)?;
        Ok(tree)
    }

    /// Lists a directory on the host with `find`.
    pub async fn remote(ctx: &ModuleContext<'_>, root: &str) -> Result<Tree, FileError> {
        let script = format!(
            "cd -- {} || exit 1\n\
             find . -mindepth 1 -type d -print0 || exit 1\n\
             printf '\\000'\n\
             find . -mindepth 1 -type f -print0\n",
            quote(root)
        );
        let output = ctx.run(script).await?;
        if output.exit_code != 0 {
            return Err(FileError::failed(format!(
                "cannot list {root}: {}",
                output.stderr_text().trim()
            )));
        }
        parse_listing(&output.stdout, root)
    }
}

fn walk(dir: &Path, prefix: &str, tree: &mut Tree) -> Result<(), FileError> {
    let local = |source| FileError::Local {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries = std::fs::read_dir(dir)
        .map_err(local)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(local)?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let name = entry
            .file_name()
            .into_string()
            .map_err(|name| FileError::failed(format!("file name {name:?} is not UTF-8")))?;
        let rel = format!("{prefix}{name}");
        let path = entry.path();
        if path.is_dir() {
            tree.dirs.push(rel.clone());
            walk(&path, &format!("{rel}/"), tree)?;
        } else {
            tree.files.push((rel, Origin::Local(path)));
        }
    }
    Ok(())
}

/// Reads `find -print0` output: directories, an empty record, files.
fn parse_listing(stdout: &[u8], root: &str) -> Result<Tree, FileError> {
    let mut tree = Tree::default();
    let mut in_files = false;
    for record in stdout.split(|&b| b == 0) {
        if record.is_empty() {
            in_files = true;
            continue;
        }
        let text = std::str::from_utf8(record)
            .map_err(|_| FileError::failed(format!("a file name under {root} is not UTF-8")))?;
        let rel = text.strip_prefix("./").unwrap_or(text).to_string();
        if in_files {
            let origin = Origin::Remote(join(root, &rel));
            tree.files.push((rel, origin));
        } else {
            tree.dirs.push(rel);
        }
    }
    Ok(tree)
}

/// How the files of a tree are to be placed.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Mode, owner and group for files.
    pub attrs: Attrs,
    /// Mode (for new directories only, like Ansible), owner and group for directories.
    pub dir_attrs: Attrs,
    /// Back up replaced files.
    pub backup: bool,
    /// Replace files that differ (otherwise only missing files are added).
    pub force: bool,
}

/// What [`sync`] did.
#[derive(Debug, Clone, Default)]
pub struct TreeSynced {
    /// Something changed (or would have, in check mode).
    pub changed: bool,
    /// Content and attribute diffs of the files.
    pub diffs: Vec<Diff>,
}

/// Makes `root` hold `tree`'s directories and files.
pub async fn sync(
    ctx: &ModuleContext<'_>,
    tree: &Tree,
    root: &str,
    options: &Options,
) -> Result<TreeSynced, FileError> {
    let dirs: Vec<String> = std::iter::once(root.to_string())
        .chain(tree.dirs.iter().map(|d| join(root, d)))
        .collect();
    let files: Vec<String> = tree.files.iter().map(|(rel, _)| join(root, rel)).collect();
    let mut probes: Vec<Probe> = dirs.iter().chain(&files).map(Probe::new).collect();
    for (_, origin) in &tree.files {
        if let Origin::Remote(src) = origin {
            probes.push(Probe::new(src).followed());
        }
    }
    let probed = probe_all(ctx, &probes).await?;
    let (dir_states, rest) = probed.states.split_at(dirs.len());
    let (file_states, mut source_states) = rest.split_at(files.len());
    let missing = missing_dirs(&dirs, dir_states)?;
    if !missing.is_empty() && !ctx.check_mode {
        make_dirs(ctx, &missing, &options.dir_attrs, probed.new_dir_mode()).await?;
    }
    let mut synced = TreeSynced {
        changed: !missing.is_empty(),
        diffs: Vec::new(),
    };
    for ((dest, state), (_, origin)) in files.iter().zip(file_states).zip(&tree.files) {
        let content = match origin {
            Origin::Local(path) => Content::file(path).await?,
            Origin::Remote(src) => {
                let (first, others) = source_states.split_first().expect("one state per source");
                source_states = others;
                Content::remote(src, first)?
            }
        };
        if state.exists() && !options.force {
            continue;
        }
        let placement = Placement {
            dest,
            attrs: options.attrs.clone(),
            backup: options.backup,
            validate: None,
        };
        let file = sync_file(ctx, &content, &placement, state, &probed, None).await?;
        synced.changed |= file.changed;
        synced.diffs.extend(file.diffs);
    }
    Ok(synced)
}

/// The directories still to make; a non-directory in the way is an error.
fn missing_dirs(dirs: &[String], states: &[PathState]) -> Result<Vec<String>, FileError> {
    let mut missing = Vec::new();
    for (dir, state) in dirs.iter().zip(states) {
        match state.kind {
            Kind::Absent => missing.push(dir.clone()),
            Kind::Directory => {}
            _ => {
                return Err(FileError::failed(format!(
                    "{dir} exists and is not a directory"
                )));
            }
        }
    }
    Ok(missing)
}

/// Makes `dirs` (parents first) and their missing parents, one level at a time, with `attrs`
/// applied to each directory it makes (which starts with `default_mode`), like Ansible.
pub async fn make_dirs(
    ctx: &ModuleContext<'_>,
    dirs: &[String],
    attrs: &Attrs,
    default_mode: u32,
) -> Result<(), FileError> {
    let fresh = PathState {
        kind: Kind::Directory,
        mode: default_mode,
        uid: u32::MAX,
        gid: u32::MAX,
        ..PathState::absent()
    };
    let changes = attrs.changes(&fresh);
    let mut script = format!(
        "set -e\nmake_dir() {{\n  test -d \"$1\" && return 0\n  make_dir \"$(dirname -- \"$1\")\"\n\
         \x20 mkdir -- \"$1\"\n{}}}\n",
        changes.script("\"$1\"", false)
    );
    for dir in dirs {
        script.push_str(&format!("make_dir {}\n", quote(dir)));
    }
    let output = run_long(ctx, script).await?;
    if output.exit_code != 0 {
        return Err(FileError::failed(format!(
            "cannot make directory: {}",
            output.stderr_text().trim()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_find_listing() {
        let out = b"./a\0./a/b c\0\0./top\n\0./a/b c/f\0";
        let tree = parse_listing(out, "/src").unwrap();
        assert_eq!(tree.dirs, ["a", "a/b c"]);
        assert_eq!(
            tree.files,
            [
                ("top\n".to_string(), Origin::Remote("/src/top\n".into())),
                ("a/b c/f".to_string(), Origin::Remote("/src/a/b c/f".into())),
            ]
        );
        assert_eq!(parse_listing(b"\0", "/s").unwrap(), Tree::default());
    }

    #[test]
    fn a_file_in_the_way_of_a_directory_is_an_error() {
        let dirs = ["/d".to_string(), "/d/x".to_string()];
        let file = PathState {
            kind: Kind::File,
            ..PathState::absent()
        };
        let dir = PathState {
            kind: Kind::Directory,
            ..PathState::absent()
        };
        assert_eq!(
            missing_dirs(&dirs, &[dir.clone(), PathState::absent()]).unwrap(),
            ["/d/x"]
        );
        assert!(missing_dirs(&dirs, &[dir, file]).is_err());
    }
}
