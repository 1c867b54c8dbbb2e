//! `synchronize` (ansible.posix): the controller's rsync between a controller path and a host
//! path, `push` (to the host) or `pull` (from it). Ansible's is an action plugin that gives rsync
//! `ssh` as its remote shell; here rsync's remote shell is deployer itself
//! ([`RemoteShell`](crate::transport::rsh::RemoteShell)), which runs the remote rsync over the
//! host's own connection (its bastion, key and verified host key). The command line, `changed`
//! and the returned `cmd`, `msg`, `rc` and `stdout_lines` are Ansible's.

mod command;
mod outcome;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::transfer::search_order;
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_str};
use crate::transport::rsh::RemoteShell;
use crate::transport::{ExecRequest, LocalTransport, Transport, connection_kind, quote};
use command::{Invocation, command_line, needs_rsh, remote_target};

static SPEC: ModuleSpec = ModuleSpec {
    name: "synchronize",
    aliases: &["ansible.posix.synchronize"],
    args: &[
        ArgSpec::new("src", ArgType::Str).required(),
        ArgSpec::new("dest", ArgType::Str).required(),
        ArgSpec::new("mode", ArgType::Str).choices(&["push", "pull"]),
        ArgSpec::new("dest_port", ArgType::Int),
        ArgSpec::new("delete", ArgType::Bool),
        ArgSpec::new("private_key", ArgType::Str),
        ArgSpec::new("rsync_path", ArgType::Str),
        ArgSpec::new("archive", ArgType::Bool),
        ArgSpec::new("checksum", ArgType::Bool),
        ArgSpec::new("compress", ArgType::Bool),
        ArgSpec::new("existing_only", ArgType::Bool),
        ArgSpec::new("dirs", ArgType::Bool),
        ArgSpec::new("recursive", ArgType::Bool),
        ArgSpec::new("links", ArgType::Bool),
        ArgSpec::new("copy_links", ArgType::Bool),
        ArgSpec::new("perms", ArgType::Bool),
        ArgSpec::new("times", ArgType::Bool),
        ArgSpec::new("owner", ArgType::Bool),
        ArgSpec::new("group", ArgType::Bool),
        ArgSpec::new("set_remote_user", ArgType::Bool),
        ArgSpec::new("rsync_timeout", ArgType::Int),
        ArgSpec::new("rsync_opts", ArgType::List),
        ArgSpec::new("use_ssh_args", ArgType::Bool),
        ArgSpec::new("ssh_connection_multiplexing", ArgType::Bool),
        ArgSpec::new("partial", ArgType::Bool),
        ArgSpec::new("verify_host", ArgType::Bool),
        ArgSpec::new("delay_updates", ArgType::Bool),
        ArgSpec::new("link_dest", ArgType::List),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `synchronize` module.
pub struct Synchronize;

#[async_trait]
impl Module for Synchronize {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn runs_on_controller(&self) -> bool {
        true
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let host_is_local = ctx
            .vars
            .as_object()
            .is_some_and(|vars| connection_kind(vars) == "local");
        let run = match invocation(args, ctx, host_is_local) {
            Ok(run) => run,
            Err(e) => {
                return Ok(ModuleResult::failed(format!(
                    "cannot open rsync's remote shell: {e}"
                )));
            }
        };
        let cmd = command_line(args, &run.invocation);
        if !Path::new(&run.invocation.rsync).is_file() {
            return Ok(ModuleResult::failed(format!(
                "Failed to find required executable \"{}\" in paths: {}",
                run.invocation.rsync,
                program_dirs().join(":")
            )));
        }
        let Some(words) = shlex::split(&cmd) else {
            return Ok(ModuleResult::failed(format!(
                "cannot split the command line: {cmd}"
            )));
        };
        let script = words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
        let request = ExecRequest {
            script,
            become_user: host_is_local.then(|| ctx.become_user.clone()).flatten(),
            env: ctx.env.clone(),
            ..ExecRequest::default()
        };
        let rsync = LocalTransport.exec(request);
        let out = match &run.shell {
            Some(shell) => tokio::select! {
                out = rsync => out,
                () = shell.serve(ctx.transport) => unreachable!("a remote shell serves until dropped"),
            },
            None => rsync.await,
        }?;
        let rc = out.exit_code;
        if rc != 0 {
            let mut msg = out.stderr_text();
            // What the remote side said on stderr comes first, as ssh would have shown it.
            if let Some(shell) = &run.shell
                && let Some(remote) = shell.errors(ctx.transport).await
            {
                msg = format!("{remote}\n{msg}");
            }
            return Ok(ModuleResult::failed(msg).with("rc", rc).with("cmd", cmd));
        }
        let read = outcome::read(&out.stdout_text(), args.contains_key("link_dest"));
        Ok(ModuleResult {
            changed: read.changed,
            ..ModuleResult::ok()
        }
        .with_msg(read.msg)
        .with("rc", rc)
        .with("cmd", cmd)
        .with("stdout_lines", read.stdout_lines))
    }
}

/// The command's inputs, and the remote shell it names (kept open while rsync runs).
struct Prepared {
    invocation: Invocation,
    shell: Option<RemoteShell>,
}

/// Where each side is and how rsync reaches the remote one, as Ansible's action plugin decides.
fn invocation(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
    host_is_local: bool,
) -> std::io::Result<Prepared> {
    let src = arg_str(args, "src").unwrap_or_default();
    let dest = arg_str(args, "dest").unwrap_or_default();
    let rsync = controller_program(var(ctx, "ansible_rsync_path").unwrap_or("rsync"));
    let local = |path: &str| controller_path(ctx.search_paths, path);
    if host_is_local {
        return Ok(Prepared {
            invocation: Invocation {
                rsync,
                src: local(src),
                dest: local(dest),
                rsync_path: arg_str(args, "rsync_path").map(str::to_string),
                rsh: None,
                check_mode: ctx.check_mode,
            },
            shell: None,
        });
    }
    let host = var(ctx, "ansible_host").unwrap_or(ctx.host);
    let user = super::arg_bool(args, "set_remote_user", true)
        .then(|| remote_user(ctx))
        .flatten();
    let remote = |path: &str| remote_target(host, path, user.as_deref());
    let (src, dest) = match arg_str(args, "mode") {
        Some("pull") => (remote(src), local(dest)),
        _ => (local(src), remote(dest)),
    };
    let rsync_path = arg_str(args, "rsync_path").map(str::to_string).or_else(|| {
        ctx.become_user
            .as_ref()
            .map(|b| format!("sudo -u {} rsync", b.user))
    });
    let shell = match needs_rsh(&src, &dest) {
        true => Some(RemoteShell::open()?),
        false => None,
    };
    let rsh = shell.as_ref().map(|shell| shell.command(&deployer_exe()));
    Ok(Prepared {
        invocation: Invocation {
            rsync,
            src,
            dest,
            rsync_path,
            rsh,
            check_mode: ctx.check_mode,
        },
        shell,
    })
}

/// A text variable of the host.
fn var<'a>(ctx: &'a ModuleContext<'_>, name: &str) -> Option<&'a str> {
    ctx.vars.get(name).and_then(Value::as_str)
}

/// The user rsync is told to log in as (`ansible_user`, else `remote_user`): only part of the
/// target's name, as the connection's own user is the one that logs in.
fn remote_user(ctx: &ModuleContext<'_>) -> Option<String> {
    var(ctx, "ansible_user")
        .or(var(ctx, "ansible_ssh_user"))
        .map(str::to_string)
        .or_else(|| crate::config::settings().remote_user.clone())
}

/// A controller path as Ansible's action plugin makes it: `host:path` and absolute paths as
/// they are, `~` the controller user's home, a relative one found under the role's or playbook's
/// `files/` (or beside them), else relative to the playbook, made absolute; a trailing `/` kept.
fn controller_path(search_paths: &[PathBuf], path: &str) -> String {
    if path.contains(':') || path.starts_with('/') {
        return path.to_string();
    }
    if let Some(rest) = path.strip_prefix('~')
        && (rest.is_empty() || rest.starts_with('/'))
        && let Some(home) = std::env::var_os("HOME")
    {
        return format!("{}{rest}", Path::new(&home).display());
    }
    let relative = Path::new(path);
    let found = search_order(search_paths, "files")
        .map(|dir| dir.join(relative))
        .find(|candidate| candidate.exists());
    let base = || {
        search_paths
            .iter()
            .find(|dir| !dir.ends_with("files") && !dir.ends_with("templates"))
            .map(|dir| dir.join(relative))
            .unwrap_or_else(|| relative.to_path_buf())
    };
    let chosen = found.unwrap_or_else(base);
    let mut text = std::path::absolute(&chosen)
        .unwrap_or(chosen)
        .display()
        .to_string();
    if path.ends_with('/') && !text.ends_with('/') {
        text.push('/');
    }
    text
}

/// The deployer binary, which rsync runs as its remote shell.
fn deployer_exe() -> PathBuf {
    std::env::current_exe().unwrap_or_else(|_| PathBuf::from("deployer"))
}

/// A controller program as Ansible's `get_bin_path` finds it: a name without `/` is looked up
/// on the `PATH` and in the `sbin` folders (and stays as it is when not found).
fn controller_program(name: &str) -> String {
    if name.contains('/') {
        return name.to_string();
    }
    program_dirs()
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.is_file())
        .map_or_else(|| name.to_string(), |path| path.display().to_string())
}

/// Where [`controller_program`] looks.
fn program_dirs() -> Vec<String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<String> = std::env::split_paths(&path)
        .map(|dir| dir.display().to_string())
        .collect();
    for extra in ["/sbin", "/usr/sbin", "/usr/local/sbin"] {
        if !dirs.iter().any(|d| d == extra) {
            dirs.push(extra.to_string());
        }
    }
    dirs
}
