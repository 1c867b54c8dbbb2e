//! What the git module learns in its first round trip: the checkout at `dest` (if any) and the
//! remote's refs (`git ls-remote`). Reads only.

use std::collections::BTreeMap;

use super::Request;
use crate::transport::quote;

/// The checkout found at `dest`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Checkout {
    /// `git rev-parse HEAD`.
    pub head: String,
    /// `git status --porcelain` lists a tracked file (always false for a bare repository).
    pub local_mods: bool,
    /// The remote's URL (`git ls-remote --get-url REMOTE`).
    pub remote_url: String,
    /// The checked-out branch, or the remote's default branch when HEAD is detached.
    pub head_branch: String,
}

/// What the probe printed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Probed {
    /// The repository at `dest`, if there is one.
    pub checkout: Option<Checkout>,
    /// `git ls-remote REPO`: exit code, refs (name to object), errors. `None` when not asked.
    pub remote: Option<Remote>,
}

/// The remote's refs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Remote {
    /// `ls-remote`'s exit code.
    pub rc: i32,
    /// Each ref's object (`HEAD`, `refs/heads/main`, `refs/tags/v1^{}`, ...).
    pub refs: BTreeMap<String, String>,
    /// What it printed on stderr.
    pub err: String,
}

/// What `version` names on the remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The remote's default branch, at this commit.
    Head(String),
    /// A branch, at this commit.
    Branch(String),
    /// A tag, at this commit (peeled when annotated).
    Tag(String),
    /// Anything else: taken as a commit id, as given.
    Commit,
}

impl Target {
    /// The commit the remote has for it (`version` itself for a commit id).
    pub fn commit<'a>(&'a self, version: &'a str) -> &'a str {
        match self {
            Target::Head(sha) | Target::Branch(sha) | Target::Tag(sha) => sha,
            Target::Commit => version,
        }
    }

    /// Git can fetch it by name (`--depth` and `--branch` apply).
    pub fn is_branch_or_tag(&self) -> bool {
        matches!(self, Target::Branch(_) | Target::Tag(_))
    }
}

impl Remote {
    /// What `version` is on the remote; `head_branch` is the checkout's branch (`None` when
    /// cloning, where `HEAD` is the remote's own).
    pub fn resolve(&self, version: &str, head_branch: Option<&str>) -> Result<Target, String> {
        let get = |name: &str| self.refs.get(name).cloned();
        if version == "HEAD" {
            let sha = match head_branch {
                None => get("HEAD"),
                Some(branch) => get(&format!("refs/heads/{branch}")),
            };
            return sha
                .map(Target::Head)
                .ok_or_else(|| "Could not determine remote revision for HEAD".to_string());
        }
        if let Some(sha) = get(&format!("refs/heads/{version}")) {
            return Ok(Target::Branch(sha));
        }
        let tag = format!("refs/tags/{version}");
        match get(&format!("{tag}^{{}}")).or_else(|| get(&tag)) {
            Some(sha) => Ok(Target::Tag(sha)),
            None => Ok(Target::Commit),
        }
    }
}

/// Exports that every git script starts with: the C locale, the umask, and `GIT_SSH_COMMAND`
/// with Ansible's options (host key acceptance, batch mode, the key file).
pub fn prologue(request: &Request) -> String {
    let mut ssh = String::from("ssh");
    if let Some(opts) = &request.ssh_opts {
        ssh = format!("{ssh} {opts}");
    }
    if request.accept_hostkey && !ssh.contains("StrictHostKeyChecking=no") {
        ssh += " -o StrictHostKeyChecking=no";
    }
    if request.accept_newhostkey && !ssh.contains("StrictHostKeyChecking=accept-new") {
        ssh += " -o StrictHostKeyChecking=accept-new";
    }
    ssh += " -o BatchMode=yes";
    if let Some(key) = &request.key_file {
        ssh += &format!(" -i {} -o IdentitiesOnly=yes", quote(key));
    }
    let umask = request
        .umask
        .as_ref()
        .map(|u| format!("umask {u}\n"))
        .unwrap_or_default();
    format!(
        "export LANG=C LC_ALL=C LC_MESSAGES=C LANGUAGE=C\n{umask}export GIT_SSH_COMMAND={}\n\
         G={}\ncommand -v \"$G\" >/dev/null 2>&1 || {{ printf 'Failed to find required executable \"%s\" in paths: %s' \"$G\" \"$PATH\" >&2; exit 127; }}\n\
         d={}\n",
        quote(&ssh),
        quote(&request.executable),
        quote(&request.dest)
    )
}

/// The probe: `1` and the checkout's four fields when `dest` holds a repository (`git_dir`
/// relative to it: `.git`, or `.` when bare), then `ls-remote`'s code, output and errors unless
/// the checkout exists and `update` is off; NUL-separated.
pub fn script(request: &Request) -> String {
    let git_dir = if request.bare { "." } else { ".git" };
    let remote = quote(&request.remote);
    let status = if request.bare {
        String::new()
    } else {
        "\"$G\" -C \"$d\" status --porcelain 2>/dev/null | grep -v '^??' | head -n 1".into()
    };
    format!(
        "{}u={}\nif [ -f \"$d\"/{git_dir}/config ]; then\n\
         printf '1\\000%s\\000' \"$(\"$G\" -C \"$d\" rev-parse HEAD 2>/dev/null)\"\n\
         printf '%s\\000' \"$({status})\"\n\
         printf '%s\\000' \"$(\"$G\" -C \"$d\" ls-remote --get-url {remote} 2>/dev/null)\"\n\
         printf '%s\\000' \"$(\"$G\" -C \"$d\" symbolic-ref -q --short HEAD || \"$G\" -C \"$d\" symbolic-ref -q --short refs/remotes/{remote}/HEAD)\"\n\
         else printf '\\000\\000\\000\\000\\000'; u=1; fi\n\
         if [ \"$u\" = 1 ]; then\n\
         e=$(mktemp) || exit 1\n\
         o=$(\"$G\" ls-remote {} 2>\"$e\"); rc=$?\n\
         printf '1\\000%s\\000%s\\000%s\\000' \"$rc\" \"$o\" \"$(cat \"$e\")\"; rm -f \"$e\"\n\
         fi\n",
        prologue(request),
        u8::from(request.update),
        quote(&request.repo),
    )
}

/// Reads the probe's output.
pub fn parse(stdout: &str, remote_name: &str) -> Result<Probed, String> {
    let mut fields = stdout.split('\0');
    let mut next = || fields.next().ok_or("the git probe ended early");
    let exists = next()? == "1";
    let head = next()?.trim().to_string();
    let local_mods = !next()?.trim().is_empty();
    let remote_url = next()?.trim().to_string();
    let branch = next()?.trim();
    let head_branch = branch
        .strip_prefix(&format!("{remote_name}/"))
        .unwrap_or(branch)
        .to_string();
    let checkout = exists.then_some(Checkout {
        head,
        local_mods,
        remote_url,
        head_branch,
    });
    let remote = match fields.next() {
        Some("1") => {
            let mut next = || fields.next().ok_or("the git probe ended early");
            let rc = next()?.trim().parse().unwrap_or(-1);
            let refs = next()?
                .lines()
                .filter_map(|l| l.split_once('\t'))
                .map(|(sha, name)| (name.to_string(), sha.to_string()))
                .collect();
            let err = next()?.trim().to_string();
            Some(Remote { rc, refs, err })
        }
        _ => None,
    };
    Ok(Probed { checkout, remote })
}
