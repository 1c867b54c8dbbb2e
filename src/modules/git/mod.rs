//! `git`: clones a repository on the host and keeps its checkout at a version, as Ansible's
//! module does. One probe reads the checkout and the remote's refs ([`probe`]); the decision is
//! made here; one script clones or fetches and switches ([`script`]).

mod probe;
mod script;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::facts::{FileError, finish};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Diff, Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};
use probe::{Checkout, Probed, Target};

static SPEC: ModuleSpec = ModuleSpec {
    name: "git",
    aliases: &[],
    args: &[
        ArgSpec::new("repo", ArgType::Str)
            .required()
            .aliases(&["name"]),
        ArgSpec::new("dest", ArgType::Str),
        ArgSpec::new("version", ArgType::Str),
        ArgSpec::new("remote", ArgType::Str),
        ArgSpec::new("refspec", ArgType::Str),
        ArgSpec::new("force", ArgType::Bool),
        ArgSpec::new("depth", ArgType::Int),
        ArgSpec::new("clone", ArgType::Bool),
        ArgSpec::new("update", ArgType::Bool),
        ArgSpec::new("bare", ArgType::Bool),
        ArgSpec::new("single_branch", ArgType::Bool),
        ArgSpec::new("accept_hostkey", ArgType::Bool),
        ArgSpec::new("accept_newhostkey", ArgType::Bool),
        ArgSpec::new("key_file", ArgType::Str),
        ArgSpec::new("ssh_opts", ArgType::Str),
        ArgSpec::new("executable", ArgType::Str),
        ArgSpec::new("umask", ArgType::Str),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `git` module.
pub struct Git;

#[async_trait]
impl Module for Git {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(git(args, ctx).await)
    }
}

/// The task's arguments, with Ansible's defaults.
#[derive(Debug, Clone, Default)]
pub struct Request {
    repo: String,
    dest: String,
    version: String,
    remote: String,
    refspec: Option<String>,
    force: bool,
    depth: Option<u64>,
    clone: bool,
    update: bool,
    bare: bool,
    single_branch: bool,
    accept_hostkey: bool,
    accept_newhostkey: bool,
    key_file: Option<String>,
    ssh_opts: Option<String>,
    executable: String,
    umask: Option<String>,
}

impl Request {
    fn from_args(args: &Map<String, Value>) -> Result<Request, FileError> {
        let text = |name: &str| arg_str(args, name).map(str::to_string);
        let mut repo = text("repo").unwrap_or_default();
        if repo.starts_with('/') {
            repo = format!("file://{repo}");
        }
        let request = Request {
            repo,
            dest: text("dest").unwrap_or_default(),
            version: text("version").unwrap_or_else(|| "HEAD".into()),
            remote: text("remote").unwrap_or_else(|| "origin".into()),
            refspec: text("refspec"),
            force: arg_bool(args, "force", false),
            depth: args
                .get("depth")
                .and_then(Value::as_i64)
                .filter(|d| *d > 0)
                .map(|d| d as u64),
            clone: arg_bool(args, "clone", true),
            update: arg_bool(args, "update", true),
            bare: arg_bool(args, "bare", false),
            single_branch: arg_bool(args, "single_branch", false),
            accept_hostkey: arg_bool(args, "accept_hostkey", false),
            accept_newhostkey: arg_bool(args, "accept_newhostkey", false),
            key_file: text("key_file"),
            ssh_opts: text("ssh_opts"),
            executable: text("executable").unwrap_or_else(|| "git".into()),
            umask: text("umask"),
        };
        if request.accept_hostkey && request.accept_newhostkey {
            return Err(FileError::failed(
                "parameters are mutually exclusive: accept_hostkey|accept_newhostkey",
            ));
        }
        if request.dest.is_empty() {
            return Err(FileError::failed(if request.clone {
                "the destination directory must be specified unless clone=no"
            } else {
                "deployer's git module needs dest (ansible-core's clone=no without it only asks \
                 the remote)"
            }));
        }
        if let Some(umask) = &request.umask
            && (umask.is_empty() || !umask.bytes().all(|b| (b'0'..=b'7').contains(&b)))
        {
            return Err(FileError::failed("umask must be an octal integer"));
        }
        Ok(request)
    }
}

async fn git(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
) -> Result<ModuleResult, FileError> {
    let request = Request::from_args(args)?;
    let out = ctx.run(probe::script(&request)).await?;
    if out.exit_code != 0 {
        return Err(FileError::failed(out.stderr_text().trim().to_string()));
    }
    let probed = probe::parse(&out.stdout_text(), &request.remote).map_err(FileError::failed)?;
    let mut result = ModuleResult::ok().with("before", Value::Null);
    let Some(checkout) = probed.checkout.clone() else {
        let target = target(&request, &probed, None)?;
        let remote_head = target.commit(&request.version).to_string();
        result.changed = true;
        if ctx.check_mode || !request.clone {
            add_diff(ctx, &mut result, &request, None, &remote_head);
            return Ok(result.with("after", remote_head));
        }
        let after = apply(ctx, script::clone(&request, &target)).await?;
        add_diff(ctx, &mut result, &request, None, &after);
        return Ok(result.with("after", after));
    };
    let before = checkout.head.clone();
    result = result.with("before", before.as_str());
    if !request.update {
        return Ok(result.with("after", before));
    }
    if checkout.local_mods && !request.force {
        return Ok(ModuleResult {
            failed: true,
            ..result.with_msg(format!(
                "Local modifications exist in the destination: {} (force=no).",
                request.dest
            ))
        });
    }
    let target = target(&request, &probed, Some(&checkout))?;
    let remote_url_changed = !same_url(&checkout.remote_url, &request.repo);
    result = result.with("remote_url_changed", remote_url_changed);
    if ctx.check_mode {
        let remote_head = target.commit(&request.version).to_string();
        result.changed = !same_commit(&before, &remote_head) || remote_url_changed;
        if result.changed {
            add_diff(ctx, &mut result, &request, Some(&before), &remote_head);
        }
        return Ok(result.with("after", remote_head));
    }
    let after = apply(ctx, script::update(&request, &checkout, &target)).await?;
    result.changed = before != after || checkout.local_mods || remote_url_changed;
    if checkout.local_mods {
        result.msg = Some(format!(
            "Local modifications exist in the destination: {}",
            request.dest
        ));
    }
    if result.changed {
        add_diff(ctx, &mut result, &request, Some(&before), &after);
    }
    Ok(result.with("after", after))
}

/// What `version` is on the remote, or the failure `ls-remote` gave.
fn target(
    request: &Request,
    probed: &Probed,
    checkout: Option<&Checkout>,
) -> Result<Target, FileError> {
    let remote = probed
        .remote
        .as_ref()
        .ok_or_else(|| FileError::failed("the git probe did not ask the remote"))?;
    if remote.rc != 0 {
        return Err(FileError::failed(format!(
            "Failed to list the refs of {}: {}",
            request.repo, remote.err
        )));
    }
    let branch = checkout.map(|c| c.head_branch.as_str());
    remote
        .resolve(&request.version, branch)
        .map_err(FileError::failed)
}

/// Runs a clone or update script and returns the new HEAD.
async fn apply(ctx: &ModuleContext<'_>, script: String) -> Result<String, FileError> {
    let out = ctx.run(script).await?;
    if out.exit_code != 0 {
        let err = out.stderr_text();
        let (label, detail) = err.split_once('\n').unwrap_or((err.as_str(), ""));
        let detail = detail.trim();
        return Err(FileError::failed(if detail.is_empty() {
            label.to_string()
        } else {
            format!("{label}: {detail}")
        }));
    }
    let stdout = out.stdout_text();
    Ok(stdout.lines().last().unwrap_or_default().trim().to_string())
}

/// Two remote URLs name the same repository (as Ansible's `unfrackgitpath` compares them:
/// trailing slashes aside).
fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// The checkout's commit is the one `wanted` names (a full id, or an abbreviation of it).
fn same_commit(head: &str, wanted: &str) -> bool {
    !wanted.is_empty() && head.starts_with(wanted)
}

/// The revisions for `--diff` (Ansible shows `git diff` between them, or "Newly checked out").
fn add_diff(
    ctx: &ModuleContext<'_>,
    result: &mut ModuleResult,
    request: &Request,
    before: Option<&str>,
    after: &str,
) {
    if ctx.diff {
        result.diffs.push(Diff {
            label: request.dest.clone(),
            before: before.map(|b| format!("{b}\n")).unwrap_or_default(),
            after: match before {
                None => format!(">> Newly checked out {after}\n"),
                Some(_) => format!("{after}\n"),
            },
        });
    }
}

#[cfg(test)]
mod tests;
