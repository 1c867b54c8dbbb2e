//! `fetch`: copies a file from the host to the controller, into `dest/<host>/<src path>` (or
//! `dest` itself with `flat`). The remote SHA-256 is compared with the local copy's first, so an
//! unchanged file is not transferred; the download is checked against it and written atomically.
//!
//! The file travels as the output of `cat` and is held in memory on the way, so this is for
//! configuration-sized files. A relative `dest` is relative to deployer's working directory.
//! Returns `checksum`/`remote_checksum` as SHA-256 (Ansible: SHA-1) and no `md5sum`.

use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::facts::{FileError, Kind, PathState, Probe, basename, finish, probe_all, read};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::transfer::{sha256_file, sha256_hex};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};

static SPEC: ModuleSpec = ModuleSpec {
    name: "fetch",
    aliases: &[],
    args: &[
        ArgSpec::new("src", ArgType::Str).required(),
        ArgSpec::new("dest", ArgType::Str).required(),
        ArgSpec::new("flat", ArgType::Bool),
        ArgSpec::new("fail_on_missing", ArgType::Bool),
        ArgSpec::new("validate_checksum", ArgType::Bool),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `fetch` module.
pub struct Fetch;

#[async_trait]
impl Module for Fetch {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(fetch(args, ctx).await)
    }
}

async fn fetch(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
) -> Result<ModuleResult, FileError> {
    let src = arg_str(args, "src").unwrap_or_default();
    let dest = match local_dest(
        arg_str(args, "dest").unwrap_or_default(),
        src,
        ctx.host,
        arg_bool(args, "flat", false),
    ) {
        Ok(dest) => dest,
        Err(message) => return Ok(ModuleResult::failed(message)),
    };
    let state = probe_all(ctx, &[Probe::new(src).followed()])
        .await?
        .states
        .remove(0);
    let fail_on_missing = arg_bool(args, "fail_on_missing", true);
    let Some(remote_sum) = remote_checksum(&state, src, fail_on_missing)? else {
        return Ok(ModuleResult::ok()
            .with("file", src)
            .with_msg("the remote file does not exist, not transferring, ignored"));
    };
    let local_sum = sha256_file(&dest).ok().map(|(sum, _)| sum);
    let changed = local_sum.as_deref() != Some(remote_sum.as_str());
    if changed && !ctx.check_mode {
        let bytes = read(ctx, src).await?;
        let got = sha256_hex(&bytes);
        if got != remote_sum && arg_bool(args, "validate_checksum", true) {
            return Err(FileError::failed(format!(
                "checksum mismatch: the file changed while it was fetched ({src})"
            )));
        }
        write_atomically(&dest, &bytes)?;
    }
    Ok(ModuleResult {
        changed,
        ..ModuleResult::ok()
    }
    .with("file", src)
    .with("dest", dest.display().to_string())
    .with("checksum", remote_sum.as_str())
    .with("remote_checksum", remote_sum))
}

/// The remote file's SHA-256; `None` for a missing file that may be missing.
fn remote_checksum(
    state: &PathState,
    src: &str,
    fail_on_missing: bool,
) -> Result<Option<String>, FileError> {
    match (state.kind, &state.checksum) {
        (Kind::File, Some(sum)) => Ok(Some(sum.clone())),
        (Kind::Absent, _) if !fail_on_missing => Ok(None),
        (Kind::Absent, _) => Err(FileError::failed(format!(
            "the remote file does not exist: {src}"
        ))),
        (Kind::Directory, _) => Err(FileError::failed(
            "remote file is a directory, fetch cannot work on directories",
        )),
        _ => Err(FileError::failed(format!(
            "cannot read the remote file {src}"
        ))),
    }
}

/// Where the file lands on the controller: `dest/<host>/<src without leading />`, or with
/// `flat` `dest` itself (`dest/<basename>` when `dest` ends with a slash).
fn local_dest(dest: &str, src: &str, host: &str, flat: bool) -> Result<PathBuf, String> {
    if flat {
        return Ok(if dest.ends_with('/') {
            Path::new(dest).join(basename(src))
        } else {
            PathBuf::from(dest)
        });
    }
    // `src` may climb with `..`, but never out of `dest`, as Ansible checks since CVE-2019-3828.
    let relative = Path::new(host).join(src.trim_start_matches('/'));
    let mut inside = PathBuf::new();
    for part in relative.components() {
        match part {
            Component::Normal(name) => inside.push(name),
            Component::ParentDir if inside.pop() => {}
            Component::CurDir => {}
            _ => {
                return Err(format!(
                    "Detected directory traversal, expected to be contained in '{dest}' but got '{}'",
                    Path::new(dest).join(relative).display()
                ));
            }
        }
    }
    Ok(Path::new(dest).join(inside))
}

/// Writes `bytes` to a temp file beside `dest` and renames it over `dest`, making parent
/// directories as needed; the temp file is removed if anything fails.
fn write_atomically(dest: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let local = |source| FileError::Local {
        path: dest.to_path_buf(),
        source,
    };
    let dir = dest
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(local)?;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.deployer-tmp.{}", std::process::id()));
    let written = std::fs::write(&temp, bytes).and_then(|()| std::fs::rename(&temp, dest));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(local(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use serde_json::json;

    use super::*;
    use crate::modules::testing::{LocalRun, args, run_local};

    #[test]
    fn lays_files_out_per_host_unless_flat() {
        let table = [
            ("out", "/etc/app.conf", false, "out/localhost/etc/app.conf"),
            ("out", "rel/x", false, "out/localhost/rel/x"),
            ("out/copy.conf", "/etc/app.conf", true, "out/copy.conf"),
            ("out/", "/etc/app.conf", true, "out/app.conf"),
        ];
        for (dest, src, flat, expected) in table {
            assert_eq!(
                local_dest(dest, src, "localhost", flat),
                Ok(PathBuf::from(expected))
            );
        }
        assert_eq!(
            local_dest("out", "/var/log/../app/./x.log", "h", false),
            Ok(PathBuf::from("out/h/var/app/x.log"))
        );
        assert_eq!(
            local_dest("out", "/../../etc/cron.d/x", "h", false),
            Err(
                "Detected directory traversal, expected to be contained in 'out' but got \
                 'out/h/../../etc/cron.d/x'"
                    .into()
            )
        );
    }

    #[tokio::test]
    async fn fetches_once_and_not_in_check_mode() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("remote $(x) 'log'");
        fs::write(&src, b"line\n\x00binary").unwrap();
        let out = dir.path().join("out");
        let task =
            || args(json!({"src": src, "dest": format!("{}/", out.display()), "flat": true}));
        let checked = LocalRun::check().run(&Fetch, task()).await;
        assert!(checked.changed && !out.exists(), "{checked:?}");
        let first = run_local(&Fetch, task()).await;
        assert!(first.changed && !first.failed, "{first:?}");
        let landed = out.join("remote $(x) 'log'");
        assert_eq!(fs::read(&landed).unwrap(), b"line\n\x00binary");
        assert_eq!(first.data["dest"], json!(landed));
        assert!(!run_local(&Fetch, task()).await.changed);
        let per_host = run_local(&Fetch, args(json!({"src": src, "dest": out}))).await;
        let nested = out.join("localhost").join(src.strip_prefix("/").unwrap());
        assert!(per_host.changed && nested.exists());
    }

    #[tokio::test]
    async fn a_missing_file_fails_unless_told_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let task = json!({"src": dir.path().join("no"), "dest": dir.path()});
        let failed = run_local(&Fetch, args(task.clone())).await;
        assert!(failed.failed && failed.msg.unwrap().contains("does not exist"));
        let mut lenient = task;
        lenient["fail_on_missing"] = json!(false);
        let ignored = run_local(&Fetch, args(lenient)).await;
        assert!(!ignored.failed && !ignored.changed);
    }
}
