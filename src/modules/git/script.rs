//! The script that clones or updates a checkout and switches it to `version`, the commands
//! Ansible's module runs, in its order. A failing step prints its label on stderr's first line,
//! then git's output, and stops the script; the last line of stdout is `git rev-parse HEAD`.

use super::Request;
use super::probe::{Checkout, Target, prologue};
use crate::transport::quote;

/// The steps, built as shell lines.
struct Steps {
    lines: String,
}

impl Steps {
    /// Runs git with `args` in `dest` (or in `cwd` when given), failing with `label`.
    fn git(&mut self, label: &str, cwd: Option<&str>, args: &[String]) {
        let dir = cwd.map_or("\"$d\"".to_string(), quote);
        let words: Vec<String> = args.iter().map(|a| quote(a)).collect();
        self.lines += &format!("step {} {dir} {}\n", quote(label), words.join(" "));
    }

    fn raw(&mut self, line: &str) {
        self.lines += line;
        self.lines.push('\n');
    }
}

/// The helper every step goes through.
const STEP: &str = "step() {\n\
    label=$1; dir=$2; shift 2\n\
    if ! out=$(cd \"$dir\" && \"$G\" \"$@\" 2>&1); then printf '%s\\n%s\\n' \"$label\" \"$out\" >&2; exit 1; fi\n\
    }\n";

fn words(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// Clones `repo` into `dest` (Ansible's `clone`), then switches to the version.
pub fn clone(request: &Request, target: &Target) -> String {
    let mut steps = Steps {
        lines: String::new(),
    };
    let parent = parent(&request.dest);
    steps.raw(&format!("mkdir -p {}", quote(&parent)));
    let mut args = words(&["clone"]);
    if request.bare {
        args.push("--bare".into());
    } else {
        args.extend(words(&["--origin", &request.remote]));
    }
    if let Some(depth) = request.depth {
        if request.version == "HEAD" || request.refspec.is_some() {
            args.extend(words(&["--depth", &depth.to_string()]));
        } else if target.is_branch_or_tag() {
            args.extend(words(&[
                "--depth",
                &depth.to_string(),
                "--branch",
                &request.version,
            ]));
        }
    }
    if request.single_branch {
        args.push("--single-branch".into());
        if target.is_branch_or_tag() {
            args.extend(words(&["--branch", &request.version]));
        }
    }
    args.extend([request.repo.clone(), request.dest.clone()]);
    steps.git("Failed to clone", Some(&parent), &args);
    if request.bare && request.remote != "origin" {
        let add = words(&["remote", "add", &request.remote, &request.repo]);
        steps.git("Failed to add the remote", None, &add);
    }
    if let Some(refspec) = &request.refspec {
        let mut fetch = words(&["fetch"]);
        if let Some(depth) = request.depth {
            fetch.extend(words(&["--depth", &depth.to_string()]));
        }
        fetch.extend([request.remote.clone(), refspec.clone()]);
        steps.git("Failed to download remote objects and refs", None, &fetch);
    }
    finish(request, target, steps)
}

/// Brings an existing checkout up to date (Ansible's `reset`, `set_remote_url` and `fetch`),
/// then switches to the version.
pub fn update(request: &Request, checkout: &Checkout, target: &Target) -> String {
    let mut steps = Steps {
        lines: String::new(),
    };
    if checkout.local_mods && request.force {
        steps.git(
            "Failed to reset",
            None,
            &words(&["reset", "--hard", "HEAD"]),
        );
    }
    if !super::same_url(&checkout.remote_url, &request.repo) {
        let label = format!(
            "Failed to set a new url {} for {}",
            request.repo, request.remote
        );
        let args = words(&["remote", "set-url", &request.remote, &request.repo]);
        steps.git(&label, None, &args);
    }
    steps.git(
        "Failed to download remote objects and refs",
        None,
        &fetch_args(request, checkout, target),
    );
    finish(request, target, steps)
}

/// `git fetch` as Ansible builds it: the fewest refs with `depth`, else everything with tags.
fn fetch_args(request: &Request, checkout: &Checkout, target: &Target) -> Vec<String> {
    let (version, remote) = (&request.version, &request.remote);
    let mut args = words(&["fetch"]);
    let mut refspecs = Vec::new();
    if request.depth.is_some() {
        if let Some(refspec) = &request.refspec {
            refspecs.push(refspec.clone());
        } else if version == "HEAD" {
            refspecs.push(checkout.head_branch.clone());
        } else if matches!(target, Target::Branch(_)) {
            if checkout.head_branch != *version {
                refspecs.push(format!("+refs/heads/{version}:refs/heads/{version}"));
            }
            refspecs.push(format!(
                "+refs/heads/{version}:refs/remotes/{remote}/{version}"
            ));
        } else if matches!(target, Target::Tag(_)) {
            refspecs.push(format!("+refs/tags/{version}:refs/tags/{version}"));
        }
    }
    match (request.depth, refspecs.is_empty()) {
        (Some(depth), false) => args.extend(words(&["--depth", &depth.to_string()])),
        _ => {
            if request.bare {
                refspecs = words(&["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]);
            } else {
                args.push("--tags".into());
            }
            refspecs.extend(request.refspec.clone());
        }
    }
    if request.force {
        args.push("--force".into());
    }
    args.push(remote.clone());
    args.extend(refspecs);
    args
}

/// Switches a working tree to the version (Ansible's `switch_version`) and prints HEAD.
fn finish(request: &Request, target: &Target, mut steps: Steps) -> String {
    let (version, remote) = (&request.version, &request.remote);
    if !request.bare {
        match target {
            Target::Head(_) => {
                let r = quote(remote);
                steps.raw(&format!(
                    "b=$(\"$G\" -C \"$d\" symbolic-ref -q --short HEAD || \"$G\" -C \"$d\" symbolic-ref -q --short refs/remotes/{r}/HEAD) || b=\n\
                     b=${{b#{r}/}}"
                ));
                steps.raw("step \"Failed to checkout branch $b\" \"$d\" checkout --force \"$b\"");
                steps.raw(&format!(
                    "step \"Failed to checkout branch $b\" \"$d\" reset --hard {r}/\"$b\" --"
                ));
            }
            Target::Branch(_) => {
                let local = format!(
                    "\"$G\" -C \"$d\" show-ref --verify -q {}",
                    quote(&format!("refs/heads/{version}"))
                );
                if let Some(depth) = request.depth {
                    let mut fetch = words(&["fetch", &format!("--depth={depth}"), remote]);
                    fetch.push(format!("+refs/heads/{version}:refs/heads/{version}"));
                    fetch.push(format!(
                        "+refs/heads/{version}:refs/remotes/{remote}/{version}"
                    ));
                    steps.raw(&format!("if ! {local}; then"));
                    steps.git(
                        &format!("Failed to fetch branch from remote: {version}"),
                        None,
                        &fetch,
                    );
                    steps.raw("fi");
                }
                let label = format!("Failed to checkout {version}");
                let tracking = format!("{remote}/{version}");
                steps.raw(&format!("if ! {local}; then"));
                steps.git(
                    &label,
                    None,
                    &words(&["checkout", "--track", "-b", version, &tracking]),
                );
                steps.raw("else");
                let branch_label = format!("Failed to checkout branch {version}");
                steps.git(
                    &branch_label,
                    None,
                    &words(&["checkout", "--force", version]),
                );
                steps.git(&label, None, &words(&["reset", "--hard", &tracking]));
                steps.raw("fi");
            }
            Target::Tag(_) | Target::Commit => {
                let label = format!("Failed to checkout {version}");
                steps.git(&label, None, &words(&["checkout", "--force", version]));
            }
        }
    }
    format!(
        "{}{STEP}{}\"$G\" -C \"$d\" rev-parse HEAD\n",
        prologue(request),
        steps.lines
    )
}

/// The folder holding `path` (`.` for a bare name).
fn parent(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(0) => "/".into(),
        Some(at) => trimmed[..at].into(),
        None => ".".into(),
    }
}
