//! `file`: makes a path a file, directory, symbolic or hard link, touches it or removes it, and
//! sets its mode (octal or symbolic), owner and group, recursively for directories if asked.
//!
//! One round trip probes the path (and `src`), a second lists a tree for `recurse`, one more
//! applies the whole change as a single script. It does not write content (that is `copy`), and
//! does not support `access_time`, `modification_time`, SELinux or `unsafe_writes`. A `mode` on
//! a link is ignored (links have no mode on Linux); `owner`/`group` change the link itself.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::attrs::{ATTR_ARGS, AttrChanges, Attrs};
use super::facts::{FileError, Kind, PathState, Probe, Probed, finish, join, parent, probe_all};
use super::mode::octal;
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Diff, Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};
use crate::transport::quote;

mod recurse;

static SPEC: ModuleSpec = ModuleSpec {
    name: "file",
    aliases: &[],
    args: &[
        ArgSpec::new("path", ArgType::Str)
            .required()
            .aliases(&["dest", "name"]),
        ArgSpec::new("state", ArgType::Str).choices(&[
            "absent",
            "directory",
            "file",
            "hard",
            "link",
            "touch",
        ]),
        ArgSpec::new("src", ArgType::Str),
        ArgSpec::new("recurse", ArgType::Bool),
        ArgSpec::new("force", ArgType::Bool),
        ArgSpec::new("follow", ArgType::Bool),
        ATTR_ARGS[0],
        ATTR_ARGS[1],
        ATTR_ARGS[2],
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `file` module.
pub struct File;

#[async_trait]
impl Module for File {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(file(args, ctx).await)
    }
}

/// The state a task asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Absent,
    Directory,
    File,
    Hard,
    Link,
    Touch,
}

/// A task's arguments, read.
#[derive(Debug, Clone)]
struct Request {
    path: String,
    state: Option<State>,
    src: Option<String>,
    recurse: bool,
    force: bool,
    follow: bool,
    attrs: Attrs,
}

impl Request {
    fn read(args: &Map<String, Value>) -> Result<Request, FileError> {
        let state = arg_str(args, "state").map(|s| match s {
            "absent" => State::Absent,
            "directory" => State::Directory,
            "hard" => State::Hard,
            "link" => State::Link,
            "touch" => State::Touch,
            _ => State::File,
        });
        let path = arg_str(args, "path").unwrap_or_default().to_string();
        if path.is_empty() {
            return Err(FileError::failed("path must not be empty"));
        }
        Ok(Request {
            path,
            state,
            src: arg_str(args, "src").map(String::from),
            recurse: arg_bool(args, "recurse", false),
            force: arg_bool(args, "force", false),
            follow: arg_bool(args, "follow", true),
            attrs: Attrs::from_args(args)?,
        })
    }

    /// Where `src` is, seen from the host: a relative link target is relative to the link's
    /// directory, a hard link's source to the working directory.
    fn src_path(&self, state: State) -> Option<String> {
        let src = self.src.as_deref()?;
        Some(if state == State::Link && !src.starts_with('/') {
            join(&parent(&self.path), src)
        } else {
            src.to_string()
        })
    }
}

/// What the probe found: the path itself, what it points to, and `src`.
#[derive(Debug, Clone)]
struct Found {
    path: PathState,
    target: PathState,
    src: PathState,
    new_file_mode: u32,
    new_dir_mode: u32,
}

/// What must be done, as one script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Plan {
    changed: bool,
    script: String,
    diffs: Vec<Diff>,
    /// The state the path will have.
    state: &'static str,
    /// The mode the path will have, when known.
    mode: Option<u32>,
}

async fn file(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
) -> Result<ModuleResult, FileError> {
    let request = Request::read(args)?;
    let mut probes = vec![
        Probe::stat_only(&request.path),
        Probe::stat_only(&request.path).followed(),
    ];
    let state_guess = request.state.unwrap_or(State::Link);
    if let Some(src) = request.src_path(state_guess) {
        probes.push(Probe::stat_only(src));
    }
    let probed = probe_all(ctx, &probes).await?;
    let found = found(&probed);
    let mut plan = decide(&request, &found)?;
    if request.recurse && plan.state == "directory" && found.target.is_dir() {
        recurse::extend(ctx, &request, &mut plan).await?;
    }
    if plan.changed && !ctx.check_mode && !plan.script.is_empty() {
        let output = ctx.run(format!("set -e\n{}", plan.script)).await?;
        if output.exit_code != 0 {
            return Err(FileError::failed(format!(
                "cannot make {} a {}: {}",
                request.path,
                plan.state,
                output.stderr_text().trim()
            )));
        }
    }
    let mut result = ModuleResult {
        changed: plan.changed,
        diffs: if ctx.diff { plan.diffs } else { Vec::new() },
        ..ModuleResult::ok()
    }
    .with("path", request.path.as_str())
    .with("state", plan.state);
    if let Some(mode) = plan.mode {
        result = result.with("mode", octal(mode));
    }
    if let Some(src) = &request.src {
        result = result.with("src", src.as_str());
    }
    Ok(result)
}

fn found(probed: &Probed) -> Found {
    let states = &probed.states;
    Found {
        path: states[0].clone(),
        target: states[1].clone(),
        src: states.get(2).cloned().unwrap_or_else(PathState::absent),
        new_file_mode: probed.new_file_mode(),
        new_dir_mode: probed.new_dir_mode(),
    }
}

/// Decides what to do, from the request and what the probe found; pure.
fn decide(request: &Request, found: &Found) -> Result<Plan, FileError> {
    let state = match request.state {
        Some(state) => state,
        None if request.recurse => State::Directory,
        None => match found.path.kind {
            Kind::Directory => State::Directory,
            Kind::Link => State::Link,
            _ => State::File,
        },
    };
    match state {
        State::Absent => Ok(absent(request, found)),
        State::File => existing(request, found, "file"),
        State::Directory => directory(request, found),
        State::Touch => Ok(touch(request, found)),
        State::Link => link(request, found),
        State::Hard => hard(request, found),
    }
}

fn absent(request: &Request, found: &Found) -> Plan {
    if !found.path.exists() {
        return Plan {
            state: "absent",
            ..Plan::default()
        };
    }
    Plan {
        changed: true,
        script: format!("rm -rf -- {}\n", quote(&request.path)),
        diffs: vec![state_diff(&request.path, &found.path, "absent")],
        state: "absent",
        mode: None,
    }
}

/// `state: file` (and `directory` on an existing directory): only attributes may change.
fn existing(request: &Request, found: &Found, state: &'static str) -> Result<Plan, FileError> {
    let path = &request.path;
    let target = if request.follow {
        &found.target
    } else {
        &found.path
    };
    if !found.path.exists() {
        return Err(FileError::failed(format!(
            "file ({path}) is absent, cannot continue"
        )));
    }
    if state == "file" && target.is_dir() {
        return Err(FileError::failed(format!("{path} is a directory")));
    }
    Ok(attributes_plan(request, target, state))
}

fn attributes_plan(request: &Request, target: &PathState, state: &'static str) -> Plan {
    let no_deref = target.kind == Kind::Link;
    let mut changes = request.attrs.changes(target);
    if no_deref {
        changes.mode = None;
    }
    Plan {
        changed: !changes.is_empty(),
        script: changes.script(&quote(&request.path), no_deref),
        diffs: changes.diff(&request.path).into_iter().collect(),
        state,
        mode: (!no_deref).then(|| changes.mode.unwrap_or(target.mode)),
    }
}

fn directory(request: &Request, found: &Found) -> Result<Plan, FileError> {
    let path = &request.path;
    if found.target.is_dir() {
        return existing(request, found, "directory");
    }
    if found.path.exists() {
        return Err(FileError::failed(format!(
            "{path} already exists as a {}",
            kind_name(found.path.kind)
        )));
    }
    let (changes, mode) = fresh(request, Kind::Directory, found.new_dir_mode);
    let ancestors: Vec<String> = ancestors(path).iter().map(|a| quote(a)).collect();
    let script = format!(
        "for d in {}; do\n  [ -d \"$d\" ] && continue\n  mkdir -- \"$d\"\n{}done\n",
        ancestors.join(" "),
        indent(&changes.script("\"$d\"", false))
    );
    Ok(Plan {
        changed: true,
        script,
        diffs: vec![state_diff(path, &found.path, "directory")],
        state: "directory",
        mode: Some(mode),
    })
}

fn touch(request: &Request, found: &Found) -> Plan {
    let path = quote(&request.path);
    if found.path.exists() {
        let mut plan = attributes_plan(request, &found.target, kind_name(found.target.kind));
        plan.script = format!("touch -c -- {path}\n{}", plan.script);
        plan.changed = true;
        return plan;
    }
    let (changes, mode) = fresh(request, Kind::File, found.new_file_mode);
    Plan {
        changed: true,
        script: format!("touch -- {path}\n{}", changes.script(&path, false)),
        diffs: vec![state_diff(&request.path, &found.path, "file")],
        state: "file",
        mode: Some(mode),
    }
}

fn link(request: &Request, found: &Found) -> Result<Plan, FileError> {
    let path = &request.path;
    let Some(src) = request.src.as_deref() else {
        return Err(FileError::failed("src is required for state=link"));
    };
    if found.path.kind == Kind::Link && found.path.link_target.as_deref() == Some(src) {
        return Ok(link_attributes(request, found));
    }
    if !found.src.exists() && !request.force {
        return Err(FileError::failed(format!(
            "src file does not exist, use \"force=yes\" if you really want to create the link: {src}"
        )));
    }
    let clear = clear_for_link(request, found)?;
    let q = quote(path);
    let (mut changes, _) = fresh(request, Kind::Link, 0);
    changes.mode = None;
    Ok(Plan {
        changed: true,
        script: format!(
            "{clear}ln -sfn -- {} {q}\n{}",
            quote(src),
            changes.script(&q, true)
        ),
        diffs: vec![state_diff(path, &found.path, "link")],
        state: "link",
        mode: None,
    })
}

fn link_attributes(request: &Request, found: &Found) -> Plan {
    let mut plan = attributes_plan(request, &found.path, "link");
    plan.mode = None;
    plan
}

/// What removes the path before it becomes a link: nothing for links and absent paths, `rm` or
/// `rmdir` with `force`; otherwise an error like Ansible's.
fn clear_for_link(request: &Request, found: &Found) -> Result<String, FileError> {
    let q = quote(&request.path);
    match found.path.kind {
        Kind::Absent | Kind::Link => Ok(String::new()),
        Kind::Directory if request.force => Ok(format!("rmdir -- {q}\n")),
        Kind::File | Kind::Other if request.force => Ok(format!("rm -f -- {q}\n")),
        kind => Err(FileError::failed(format!(
            "refusing to convert from {} to symlink for {}",
            kind_name(kind),
            request.path
        ))),
    }
}

fn hard(request: &Request, found: &Found) -> Result<Plan, FileError> {
    let path = &request.path;
    let Some(src) = request.src.as_deref() else {
        return Err(FileError::failed("src is required for state=hard"));
    };
    if !found.src.exists() {
        return Err(FileError::failed(format!("src file does not exist: {src}")));
    }
    let same = found.path.exists()
        && found.path.inode[0] == found.src.inode[0]
        && found.path.inode[2] == found.src.inode[2];
    if same {
        return Ok(attributes_plan(request, &found.path, "hard"));
    }
    if found.path.exists() && !request.force {
        return Err(FileError::failed(format!(
            "cannot link: {path} exists and is not a hard link to {src} (use force)"
        )));
    }
    let q = quote(path);
    let mut plan = attributes_plan(request, &found.src, "hard");
    plan.script = format!("ln -f -- {} {q}\n{}", quote(src), plan.script);
    plan.changed = true;
    plan.diffs.insert(0, state_diff(path, &found.path, "hard"));
    Ok(plan)
}

/// The attribute changes a path just created with `default_mode` needs, and its final mode.
fn fresh(request: &Request, kind: Kind, default_mode: u32) -> (AttrChanges, u32) {
    let new = PathState {
        kind,
        mode: default_mode,
        uid: u32::MAX,
        gid: u32::MAX,
        ..PathState::absent()
    };
    let changes = request.attrs.changes(&new);
    let mode = changes.mode.unwrap_or(default_mode);
    (changes, mode)
}

/// Every directory from the first below the root to `path` (`/a/b` gives `/a`, `/a/b`).
fn ancestors(path: &str) -> Vec<String> {
    let trimmed = path.trim_end_matches('/');
    let mut out = Vec::new();
    for (i, c) in trimmed.char_indices() {
        if c == '/' && i > 0 && !trimmed[..i].ends_with('/') {
            out.push(trimmed[..i].to_string());
        }
    }
    out.push(trimmed.to_string());
    out
}

fn indent(script: &str) -> String {
    script.lines().map(|l| format!("  {l}\n")).collect()
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Absent => "absent",
        Kind::File => "file",
        Kind::Directory => "directory",
        Kind::Link => "link",
        Kind::Other => "special file",
    }
}

fn state_diff(path: &str, before: &PathState, after: &str) -> Diff {
    Diff {
        label: path.to_string(),
        before: format!("state: {}\n", kind_name(before.kind)),
        after: format!("state: {after}\n"),
    }
}

#[cfg(test)]
mod tests;
