//! `copy`: puts a file on the host from a controller file (`src`), inline text (`content`) or a
//! file already on the host (`remote_src`), and sets its mode and owner. A directory `src` is
//! copied recursively (see [`super::tree`]); with a trailing slash only its contents are.
//!
//! Also the path `template` takes once it has rendered its text ([`place`]). Content is compared
//! by SHA-256 (returned as `checksum`, where Ansible returns SHA-1); `follow`, `local_follow`,
//! `decrypt`, SELinux and `unsafe_writes` are not supported.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::attrs::{ATTR_ARGS, Attrs};
use super::facts::{FileError, PathState, Probe, basename, finish, join, probe_all};
use super::mode::octal;
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::transfer::{Content, Placement, Synced, find_local, sync_file};
use super::tree::{self, Tree};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};

static SPEC: ModuleSpec = ModuleSpec {
    name: "copy",
    aliases: &[],
    args: &[
        ArgSpec::new("src", ArgType::Str),
        ArgSpec::new("content", ArgType::Raw),
        ArgSpec::new("dest", ArgType::Str).required(),
        ATTR_ARGS[0],
        ATTR_ARGS[1],
        ATTR_ARGS[2],
        ArgSpec::new("backup", ArgType::Bool),
        ArgSpec::new("force", ArgType::Bool).aliases(&["thirsty"]),
        ArgSpec::new("directory_mode", ArgType::Mode),
        ArgSpec::new("remote_src", ArgType::Bool),
        ArgSpec::new("validate", ArgType::Str),
    ],
    free_form: false,
    one_of: &["src", "content"],
    open: false,
};

/// The `copy` module.
pub struct Copy;

#[async_trait]
impl Module for Copy {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(copy(args, ctx).await)
    }
}

async fn copy(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
) -> Result<ModuleResult, FileError> {
    let dest = arg_str(args, "dest").unwrap_or_default();
    if dest.is_empty() {
        return Err(FileError::failed("dest must not be empty"));
    }
    let remote = arg_bool(args, "remote_src", false);
    match (args.get("content"), arg_str(args, "src")) {
        (Some(_), Some(_)) => Err(FileError::failed("src and content are mutually exclusive")),
        (Some(content), None) => {
            let text = match content {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            place(ctx, args, Content::bytes(text.into_bytes()), None).await
        }
        (None, Some(src)) if remote => copy_remote(ctx, args, src).await,
        (None, Some(src)) => {
            let local = find_local(ctx.search_paths, src, "files")?;
            if local.is_dir() {
                let tree = Tree::local(&local)?;
                return copy_tree(ctx, args, tree, src).await;
            }
            let content = Content::file(&local).await?;
            place(ctx, args, content, Some(basename(src))).await
        }
        (None, None) => Err(FileError::failed("one of src or content is needed")),
    }
}

/// `remote_src`: a file or a directory already on the host.
async fn copy_remote(
    ctx: &ModuleContext<'_>,
    args: &Map<String, Value>,
    src: &str,
) -> Result<ModuleResult, FileError> {
    let probed = probe_all(ctx, &[Probe::new(src).followed()]).await?;
    if probed.states[0].is_dir() {
        let tree = Tree::remote(ctx, src).await?;
        return copy_tree(ctx, args, tree, src).await;
    }
    let content = Content::remote(src, &probed.states[0])?;
    place(ctx, args, content, Some(basename(src))).await
}

/// Brings `dest` (or `dest/<name>` when `dest` is a directory) to `content`, with the mode,
/// owner, group, `backup`, `force` and `validate` arguments of `args`. `name` is the source's
/// file name; inline content has none and cannot go into a directory.
pub async fn place(
    ctx: &ModuleContext<'_>,
    args: &Map<String, Value>,
    content: Content,
    name: Option<&str>,
) -> Result<ModuleResult, FileError> {
    let dest = arg_str(args, "dest").unwrap_or_default();
    let inner = join(dest, name.unwrap_or("_"));
    let probes = [Probe::new(dest), Probe::new(&inner)];
    let probed = probe_all(ctx, &probes).await?;
    let into_dir = dest.ends_with('/') || probed.states[0].is_dir();
    let (target, state) = match (into_dir, name) {
        (false, _) => (dest.to_string(), &probed.states[0]),
        (true, Some(_)) => (inner, &probed.states[1]),
        (true, None) => {
            return Err(FileError::failed(format!(
                "can not use content with a directory as dest ({dest})"
            )));
        }
    };
    if state.exists() && !arg_bool(args, "force", true) {
        return Ok(ModuleResult::ok()
            .with("dest", target)
            .with_msg("file already exists and force is off"));
    }
    let made_dir = into_dir && !probed.states[0].exists();
    if made_dir && !ctx.check_mode {
        let dir_attrs = Attrs::from_names(args, "directory_mode", "owner", "group")?;
        tree::make_dirs(ctx, &[dest.to_string()], &dir_attrs, probed.new_dir_mode()).await?;
    }
    let placement = Placement {
        dest: &target,
        attrs: Attrs::from_args(args)?,
        backup: arg_bool(args, "backup", false),
        validate: arg_str(args, "validate"),
    };
    let synced = sync_file(ctx, &content, &placement, state, &probed, None).await?;
    let mut result = file_result(args, &target, &content, synced, state, &placement.attrs);
    result.changed |= made_dir;
    Ok(result)
}

/// What `copy` returns for a file: `dest`, `src`, `checksum`, `size`, `mode`, `state`, the owner
/// and group when known, and `backup_file`.
pub(super) fn file_result(
    args: &Map<String, Value>,
    target: &str,
    content: &Content,
    synced: Synced,
    before: &PathState,
    attrs: &Attrs,
) -> ModuleResult {
    let mut result = ModuleResult {
        changed: synced.changed,
        diffs: synced.diffs,
        ..ModuleResult::ok()
    }
    .with("dest", target)
    .with("checksum", content.sha256.as_str())
    .with("size", content.size)
    .with("mode", octal(synced.mode))
    .with("state", "file");
    let known = |wanted: &Option<String>, found: &str| {
        wanted
            .clone()
            .or_else(|| before.exists().then(|| found.to_string()))
    };
    let extra = [
        ("src", arg_str(args, "src").map(String::from)),
        ("owner", known(&attrs.owner, &before.owner)),
        ("group", known(&attrs.group, &before.group)),
        ("backup_file", synced.backup_file),
    ];
    for (key, value) in extra {
        if let Some(value) = value {
            result = result.with(key, value);
        }
    }
    result
}

/// A recursive copy of `tree` to `dest`, or into `dest/<basename of src>` without a trailing
/// slash on `src`.
async fn copy_tree(
    ctx: &ModuleContext<'_>,
    args: &Map<String, Value>,
    tree: Tree,
    src: &str,
) -> Result<ModuleResult, FileError> {
    let dest = arg_str(args, "dest").unwrap_or_default();
    let root = if src.ends_with('/') {
        dest.to_string()
    } else {
        join(dest, basename(src))
    };
    let options = tree::Options {
        attrs: Attrs::from_args(args)?,
        dir_attrs: Attrs::from_names(args, "directory_mode", "owner", "group")?,
        backup: arg_bool(args, "backup", false),
        force: arg_bool(args, "force", true),
    };
    let synced = tree::sync(ctx, &tree, &root, &options).await?;
    Ok(ModuleResult {
        changed: synced.changed,
        diffs: synced.diffs,
        ..ModuleResult::ok()
    }
    .with("dest", root)
    .with("src", src))
}

#[cfg(test)]
mod tests;
