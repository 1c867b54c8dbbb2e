//! The rsync command line, built from the arguments as ansible.posix's module builds it (same
//! options, same order, same quoting), with deployer's remote shell in place of `ssh`.

use serde_json::{Map, Value};

use crate::modules::arg_bool;
use crate::transport::quote;

/// What rsync's `--out-format` puts before each itemized line, as Ansible marks changes.
pub const CHANGED_MARKER: &str = "<<CHANGED>>";

/// Everything besides the arguments that goes into the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The controller's rsync (`ansible_rsync_path`, else `rsync`).
    pub rsync: String,
    /// The source, local or `user@host:path`.
    pub src: String,
    /// The destination, local or `user@host:path`.
    pub dest: String,
    /// The remote rsync command (`rsync_path`, or `sudo -u USER rsync` under become).
    pub rsync_path: Option<String>,
    /// The remote shell command, when a side is remote.
    pub rsh: Option<String>,
    /// `--dry-run`.
    pub check_mode: bool,
}

/// The command line as one string (Ansible's `cmd`); it is split as a shell splits it (Python's
/// `shlex.split`) to run.
pub fn command_line(args: &Map<String, Value>, run: &Invocation) -> String {
    let flag = |name: &str, default: bool| arg_bool(args, name, default);
    let tristate = |name: &str| args.get(name).and_then(Value::as_bool);
    let mut cmd: Vec<String> = vec![quote(&run.rsync)];
    let mut push = |word: &str| cmd.push(word.to_string());
    if flag("delay_updates", true) {
        push("--delay-updates");
        push("-F");
    }
    if flag("compress", true) {
        push("--compress");
    }
    if let Some(timeout) = args
        .get("rsync_timeout")
        .and_then(Value::as_i64)
        .filter(|t| *t != 0)
    {
        push(&format!("--timeout={timeout}"));
    }
    let switches = [
        (run.check_mode, "--dry-run"),
        (flag("delete", false), "--delete-after"),
        (flag("existing_only", false), "--existing"),
        (flag("checksum", false), "--checksum"),
        (flag("copy_links", false), "--copy-links"),
    ];
    for (on, option) in switches {
        if on {
            push(option);
        }
    }
    const PARTS: [&str; 6] = ["recursive", "links", "perms", "times", "owner", "group"];
    if flag("archive", true) {
        push("--archive");
        for part in PARTS.into_iter().filter(|p| tristate(p) == Some(false)) {
            push(&format!("--no-{part}"));
        }
    } else {
        for part in PARTS.into_iter().filter(|p| tristate(p) == Some(true)) {
            push(&format!("--{part}"));
        }
    }
    if flag("dirs", false) {
        push("--dirs");
    }
    let opts = rsync_opts(args);
    if let Some(rsh) = &run.rsh
        && !opts.iter().any(|o| o.contains("--rsh"))
    {
        push(&format!("--rsh={}", quote(rsh)));
    }
    if let Some(path) = &run.rsync_path {
        push(&format!("--rsync-path={}", quote(path)));
    }
    for opt in &opts {
        push(opt);
    }
    if flag("partial", false) {
        push("--partial");
    }
    let link_dest = link_dest(args);
    if !link_dest.is_empty() {
        push("-H");
        push("-vv");
        for path in &link_dest {
            push(&format!("--link-dest={path}"));
        }
    }
    push(&format!(
        "--out-format={}",
        quote(&format!("{CHANGED_MARKER}%i %n%L"))
    ));
    push(&quote(&run.src));
    push(&quote(&run.dest));
    cmd.join(" ")
}

/// `rsync_opts` as a list of strings.
fn rsync_opts(args: &Map<String, Value>) -> Vec<String> {
    string_list(args.get("rsync_opts"))
}

/// `link_dest`, each made absolute against the working directory.
fn link_dest(args: &Map<String, Value>) -> Vec<String> {
    string_list(args.get("link_dest"))
        .iter()
        .map(|path| {
            std::path::absolute(path)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| path.clone())
        })
        .collect()
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether rsync needs a remote shell: a side is `host:path` and neither is an rsync daemon URL.
pub fn needs_rsh(src: &str, dest: &str) -> bool {
    let daemon = |path: &str| path.starts_with("rsync://");
    !daemon(src) && !daemon(dest) && (src.contains(':') || dest.contains(':'))
}

/// A remote path as rsync names it: `user@host:path`, `[user@host]:path` for an IPv6 address,
/// left alone when it already names a host (as Ansible's `_format_rsync_rsh_target`).
pub fn remote_target(host: &str, path: &str, user: Option<&str>) -> String {
    if path.starts_with("rsync://") {
        return path.to_string();
    }
    let user_prefix = user.map(|u| format!("{u}@")).unwrap_or_default();
    if host.contains(':') {
        return format!("[{user_prefix}{host}]:{path}");
    }
    if !path.contains(':') {
        format!("{user_prefix}{host}:{path}")
    } else if !path.contains('@') {
        format!("{user_prefix}{path}")
    } else {
        path.to_string()
    }
}
