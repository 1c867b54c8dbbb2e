//! `recurse: yes`: whether anything under a directory lacks the wanted mode, owner or group
//! (learned in one `find ... -exec stat` round trip, without printing names), and the
//! `chown -R`/`chmod -R` that fix it. Symbolic links under the directory are left alone.

use super::{Plan, Request};
use crate::modules::attrs::chown_spec;
use crate::modules::facts::{FileError, STAT_FORMAT, parse_stat};
use crate::modules::{Diff, ModuleContext};
use crate::transport::quote;

/// Adds the recursive changes `request` needs below its directory to `plan`.
pub(super) async fn extend(
    ctx: &ModuleContext<'_>,
    request: &Request,
    plan: &mut Plan,
) -> Result<(), FileError> {
    let attrs = &request.attrs;
    if attrs.mode.is_none() && attrs.owner.is_none() && attrs.group.is_none() {
        return Ok(());
    }
    let root = quote(&find_root(&request.path));
    let script = format!(
        "find {root} -mindepth 1 ! -type l -exec stat -c {} -- {{}} +\n",
        quote(STAT_FORMAT)
    );
    let output = ctx.run(script).await?;
    if output.exit_code != 0 {
        return Err(FileError::failed(format!(
            "cannot list {}: {}",
            request.path,
            output.stderr_text().trim()
        )));
    }
    let listing = output.stdout_text();
    let differing = count_differing(request, &listing)?;
    if differing == 0 {
        return Ok(());
    }
    plan.changed = true;
    plan.script.push_str(&recursive_script(request));
    plan.diffs.push(Diff {
        label: format!("{} (recursively)", request.path),
        before: format!("{differing} paths with other attributes\n"),
        after: format!("{differing} paths changed\n"),
    });
    Ok(())
}

/// How many listed paths (one `stat` line each) lack the wanted attributes.
fn count_differing(request: &Request, listing: &str) -> Result<usize, FileError> {
    let mut count = 0;
    for line in listing.lines().filter(|l| !l.is_empty()) {
        let state = parse_stat(line).map_err(FileError::failed)?;
        if !request.attrs.changes(&state).is_empty() {
            count += 1;
        }
    }
    Ok(count)
}

/// `chown -R` and `chmod -R` for everything below (and including) the directory; symbolic modes
/// go to chmod as they are, with every class named so the umask plays no part.
fn recursive_script(request: &Request) -> String {
    let path = quote(&find_root(&request.path));
    let attrs = &request.attrs;
    let mut script = String::new();
    if let Some(spec) = chown_spec(attrs.owner.as_deref(), attrs.group.as_deref()) {
        script.push_str(&format!("chown -R -- {} {path}\n", quote(&spec)));
    }
    if let Some(mode) = &attrs.mode {
        script.push_str(&format!(
            "chmod -R -- {} {path}\n",
            quote(&mode.chmod_arg())
        ));
    }
    script
}

/// A path `find` cannot mistake for an option.
fn find_root(path: &str) -> String {
    if path.starts_with('-') {
        format!("./{path}")
    } else {
        path.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::attrs::Attrs;
    use crate::modules::mode::Mode;

    fn request(mode: Option<&str>, owner: Option<&str>) -> Request {
        Request {
            path: "-dir".into(),
            state: None,
            src: None,
            recurse: true,
            force: false,
            follow: true,
            attrs: Attrs {
                mode: mode.map(|m| Mode::parse(m).unwrap()),
                owner: owner.map(String::from),
                group: None,
            },
        }
    }

    #[test]
    fn counts_paths_that_differ() {
        let listing = "41ed 0 0 4096 1 1 1 1 2 1 root root\n\
                       81a4 0 0 3 1 1 1 2 1 1 root root\n\
                       81ed 0 0 3 1 1 1 3 1 1 root root\n";
        let table = [
            (request(Some("u+rw"), None), 0),
            (request(Some("0644"), None), 2),
            (request(Some("a+x"), None), 1),
            (request(None, Some("root")), 0),
            (request(None, Some("1000")), 3),
        ];
        for (request, expected) in table {
            assert_eq!(
                count_differing(&request, listing).unwrap(),
                expected,
                "{request:?}"
            );
        }
    }

    #[test]
    fn fixes_everything_below_in_two_commands() {
        assert_eq!(
            recursive_script(&request(Some("+X"), Some("app"))),
            "chown -R -- app ./-dir\nchmod -R -- ugo+X ./-dir\n"
        );
    }
}
