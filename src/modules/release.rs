//! `release`: Capistrano-style releases on a host. Each release lives in
//! `<deploy_to>/releases/<id>`; `<deploy_to>/current` is a symlink switched atomically (a new link
//! renamed over the old one); shared paths live in `<deploy_to>/shared` and are linked into every
//! release; the release that was current before the last switch is recorded in
//! `<deploy_to>/.deployer/previous`, which is what rollback returns to.
//!
//! States: `present` (the release folder exists, unpacked from `src` when given), `current`
//! (present, then switched to), `rollback` (switch back to the previous or a given release),
//! `query` (report releases; changes nothing).

use std::io::Read;
use std::path::Path;

use async_trait::async_trait;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, ReleaseSwitch, arg_str};
use crate::transport::{Stdin, quote};

static SPEC: ModuleSpec = ModuleSpec {
    name: "release",
    aliases: &["deployer.release"],
    args: &[
        ArgSpec::new("deploy_to", ArgType::Str).required(),
        ArgSpec::new("release", ArgType::Str).aliases(&["id", "version"]),
        ArgSpec::new("src", ArgType::Str),
        ArgSpec::new("state", ArgType::Str).choices(&["present", "current", "rollback", "query"]),
        ArgSpec::new("keep_releases", ArgType::Int),
        ArgSpec::new("shared", ArgType::List),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `release` module.
pub struct Release;

/// What one probe of the host says about its releases.
#[derive(Debug, Default, PartialEq)]
struct Releases {
    current: Option<String>,
    previous: Option<String>,
    /// Complete releases, newest first.
    all: Vec<String>,
}

#[async_trait]
impl Module for Release {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let deploy_to = arg_str(args, "deploy_to")
            .unwrap_or_default()
            .trim_end_matches('/');
        let state = arg_str(args, "state").unwrap_or("present");
        let src = match arg_str(args, "src") {
            Some(src) => match find(src, ctx.search_paths) {
                Some(path) => Some(path),
                None => {
                    return Ok(ModuleResult::failed(format!(
                        "release artifact `{src}` not found"
                    )));
                }
            },
            None => None,
        };
        let id = match (arg_str(args, "release"), &src) {
            (Some(id), _) => id.to_string(),
            (None, Some(path)) => artifact_id(path)?,
            (None, None) if matches!(state, "rollback" | "query") => String::new(),
            (None, None) => {
                return Ok(ModuleResult::failed(
                    "`release` needs `release` (an id) or `src` (an artifact)",
                ));
            }
        };
        if !valid_id(&id) {
            return Ok(ModuleResult::failed(format!(
                "`{id}` is not a valid release id (letters, digits, . _ - only)"
            )));
        }
        let before = probe(ctx, deploy_to).await?;
        let result = match state {
            "query" => ModuleResult::ok(),
            "rollback" => rollback(ctx, deploy_to, &id, &before).await?,
            _ => {
                let mut result =
                    prepare(ctx, args, deploy_to, &id, src.as_deref(), &before).await?;
                if state == "current" && !result.failed {
                    let switched = switch(ctx, args, deploy_to, &id, &before).await?;
                    result.changed |= switched.changed;
                    result.failed = switched.failed;
                    result.msg = switched.msg.or(result.msg);
                    result.data.extend(switched.data);
                    result.switch = switched.switch;
                }
                result
            }
        };
        let after = if ctx.check_mode || state == "query" {
            before
        } else {
            probe(ctx, deploy_to).await?
        };
        Ok(result
            .with("deploy_to", deploy_to)
            .with("release", id.clone())
            .with("release_path", format!("{deploy_to}/releases/{id}"))
            .with("current", after.current.clone().unwrap_or_default())
            .with("releases", after.all))
    }
}

/// The id of an artifact: the first 12 hex digits of its sha256.
fn artifact_id(path: &Path) -> Result<String, ModuleError> {
    let mut file = std::fs::File::open(path).map_err(crate::transport::TransportError::Io)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buffer)
            .map_err(crate::transport::TransportError::Io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex::encode(hasher.finalize())[..12].to_string())
}

fn valid_id(id: &str) -> bool {
    !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// Finds a local file: as given when absolute, else in the task's search paths.
fn find(src: &str, search_paths: &[std::path::PathBuf]) -> Option<std::path::PathBuf> {
    let given = Path::new(src);
    if given.is_absolute() {
        return given.is_file().then(|| given.to_path_buf());
    }
    search_paths
        .iter()
        .map(|d| d.join(src))
        .find(|p| p.is_file())
        .or_else(|| given.is_file().then(|| given.to_path_buf()))
}

async fn probe(ctx: &ModuleContext<'_>, deploy_to: &str) -> Result<Releases, ModuleError> {
    let script = format!(
        "D={}\n\
         link=$(readlink \"$D/current\" 2>/dev/null) && echo \"current=${{link##*/}}\"\n\
         [ -r \"$D/.deployer/previous\" ] && echo \"previous=$(cat \"$D/.deployer/previous\")\"\n\
         [ -d \"$D/releases\" ] && cd \"$D/releases\" && for r in $(ls -1t); do [ -f \"$r/.deployer-complete\" ] && echo \"release=$r\"; done\n\
         exit 0",
        quote(deploy_to)
    );
    let out = ctx.run(script).await?;
    Ok(parse_probe(&out.stdout_text()))
}

fn parse_probe(text: &str) -> Releases {
    let mut releases = Releases::default();
    for line in text.lines() {
        match line.split_once('=') {
            Some(("current", v)) if !v.is_empty() => releases.current = Some(v.to_string()),
            Some(("previous", v)) if !v.is_empty() => releases.previous = Some(v.to_string()),
            Some(("release", v)) => releases.all.push(v.to_string()),
            _ => {}
        }
    }
    releases
}

/// Makes sure `releases/<id>` exists and is complete, unpacking `src` into it when given.
async fn prepare(
    ctx: &ModuleContext<'_>,
    args: &Map<String, Value>,
    deploy_to: &str,
    id: &str,
    src: Option<&Path>,
    before: &Releases,
) -> Result<ModuleResult, ModuleError> {
    if before.all.iter().any(|r| r == id) {
        return Ok(ModuleResult::ok());
    }
    if ctx.check_mode {
        return Ok(ModuleResult::changed().with_msg(format!("would create release {id}")));
    }
    let shared: Vec<String> = args
        .get("shared")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut script = format!(
        "set -e\nD={}; R={}\nmkdir -p \"$D/releases\" \"$D/shared\" \"$D/.deployer\"\n\
         tmp=\"$D/releases/.$R.tmp.$$\"; rm -rf \"$tmp\"; mkdir \"$tmp\"; trap 'rm -rf \"$tmp\"' EXIT\n",
        quote(deploy_to),
        quote(id)
    );
    let stdin = match src {
        Some(path) => {
            let flags = if path.to_string_lossy().ends_with(".tar") {
                "-xf"
            } else {
                "-xzf"
            };
            script.push_str(&format!("tar {flags} - -C \"$tmp\"\n"));
            Stdin::File(path.to_path_buf())
        }
        None => Stdin::Null,
    };
    for path in &shared {
        script.push_str(&format!(
            "p={}; mkdir -p \"$(dirname \"$D/shared/$p\")\" \"$(dirname \"$tmp/$p\")\"\n\
             if [ ! -e \"$D/shared/$p\" ]; then if [ -e \"$tmp/$p\" ]; then mv \"$tmp/$p\" \"$D/shared/$p\"; else mkdir -p \"$D/shared/$p\"; fi; fi\n\
             rm -rf \"$tmp/$p\"; ln -s \"$D/shared/$p\" \"$tmp/$p\"\n",
            quote(path)
        ));
    }
    script.push_str("touch \"$tmp/.deployer-complete\"\nrm -rf \"$D/releases/$R\"\nmv \"$tmp\" \"$D/releases/$R\"\ntrap - EXIT\n");
    let out = ctx.run_with_stdin(script, stdin).await?;
    if out.exit_code != 0 {
        return Ok(ModuleResult::failed(format!(
            "cannot create release {id}: {}",
            out.stderr_text().trim()
        )));
    }
    Ok(ModuleResult::changed().with_msg(format!("created release {id}")))
}

/// Points `current` at `releases/<id>` atomically, records the previous release and prunes old
/// ones (never the current or previous).
async fn switch(
    ctx: &ModuleContext<'_>,
    args: &Map<String, Value>,
    deploy_to: &str,
    id: &str,
    before: &Releases,
) -> Result<ModuleResult, ModuleError> {
    if before.current.as_deref() == Some(id) {
        return Ok(ModuleResult::ok().with("switched", false));
    }
    let previous = before.current.clone().unwrap_or_default();
    let mut result = ModuleResult::changed()
        .with("switched", true)
        .with("previous_release", previous.clone());
    if ctx.check_mode {
        return Ok(result);
    }
    let keep = args
        .get("keep_releases")
        .and_then(Value::as_u64)
        .unwrap_or(5)
        .max(1);
    let script = format!(
        "set -e\nD={}; R={}; P={}\n{}\
         cd \"$D/releases\"; n=0\n\
         for r in $(ls -1t); do [ -f \"$r/.deployer-complete\" ] || continue; n=$((n+1)); \
         if [ \"$n\" -gt {keep} ] && [ \"$r\" != \"$R\" ] && [ \"$r\" != \"$P\" ]; then rm -rf \"$r\"; fi; done\n",
        quote(deploy_to),
        quote(id),
        quote(&previous),
        link_script()
    );
    let out = ctx.run(script).await?;
    if out.exit_code != 0 {
        return Ok(ModuleResult::failed(format!(
            "cannot switch to release {id}: {}",
            out.stderr_text().trim()
        )));
    }
    result.switch = Some(ReleaseSwitch {
        deploy_to: deploy_to.to_string(),
        previous,
    });
    Ok(result)
}

/// The shell lines that point `$D/current` at `releases/$R` by renaming a new link over the old
/// one, and record `$P` as the previous release.
fn link_script() -> &'static str {
    "[ -d \"$D/releases/$R\" ] || { echo \"release $R does not exist\" >&2; exit 1; }\n\
     ln -sfn \"releases/$R\" \"$D/.current.tmp.$$\"\n\
     mv -T \"$D/.current.tmp.$$\" \"$D/current\"\n\
     mkdir -p \"$D/.deployer\"; printf '%s\\n' \"$P\" > \"$D/.deployer/previous.tmp.$$\"; mv \"$D/.deployer/previous.tmp.$$\" \"$D/.deployer/previous\"\n\
     echo \"$(date -u +%Y-%m-%dT%H:%M:%SZ) $R\" >> \"$D/.deployer/history\"\n"
}

/// Switches back to `id`, or to the recorded previous release.
async fn rollback(
    ctx: &ModuleContext<'_>,
    deploy_to: &str,
    id: &str,
    before: &Releases,
) -> Result<ModuleResult, ModuleError> {
    let target = if id.is_empty() {
        before.previous.clone().unwrap_or_default()
    } else {
        id.to_string()
    };
    if target.is_empty() {
        return Ok(ModuleResult::failed("no previous release to roll back to"));
    }
    if !before.all.contains(&target) {
        return Ok(ModuleResult::failed(format!(
            "release {target} does not exist on this host"
        )));
    }
    if before.current.as_deref() == Some(target.as_str()) {
        return Ok(ModuleResult::ok().with("rolled_back_to", target));
    }
    let current = before.current.clone().unwrap_or_default();
    let result = ModuleResult::changed()
        .with("rolled_back_to", target.clone())
        .with("previous_release", current.clone());
    if ctx.check_mode {
        return Ok(result);
    }
    let script = format!(
        "set -e\nD={}; R={}; P={}\n{}",
        quote(deploy_to),
        quote(&target),
        quote(&current),
        link_script()
    );
    let out = ctx.run(script).await?;
    if out.exit_code != 0 {
        return Ok(ModuleResult::failed(format!(
            "cannot roll back to {target}: {}",
            out.stderr_text().trim()
        )));
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{args, run_local};
    use serde_json::json;

    #[test]
    fn probe_output_is_parsed() {
        let r = parse_probe("current=b\nprevious=a\nrelease=b\nrelease=a\n");
        assert_eq!(
            r,
            Releases {
                current: Some("b".into()),
                previous: Some("a".into()),
                all: vec!["b".into(), "a".into()]
            }
        );
        assert_eq!(parse_probe(""), Releases::default());
    }

    #[test]
    fn ids_cannot_escape_the_releases_folder() {
        assert!(valid_id("1.2.3-rc_1"));
        assert!(!valid_id("../etc"));
        assert!(!valid_id("a b"));
        assert!(!valid_id(".hidden"));
    }

    #[tokio::test]
    async fn releases_switch_roll_back_and_prune() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("app");
        let to = d.to_str().unwrap();
        let deploy = |id: &str| {
            args(
                json!({"deploy_to": to, "release": id, "state": "current", "keep_releases": 2, "shared": ["log"]}),
            )
        };
        let first = run_local(&Release, deploy("r1")).await;
        assert!(first.changed && !first.failed, "{first:?}");
        assert_eq!(
            std::fs::read_link(d.join("current")).unwrap(),
            Path::new("releases/r1")
        );
        assert!(d.join("releases/r1/log").is_symlink());
        let again = run_local(&Release, deploy("r1")).await;
        assert!(!again.changed, "the same release twice changes nothing");
        run_local(&Release, deploy("r2")).await;
        let third = run_local(&Release, deploy("r3")).await;
        assert_eq!(third.data["previous_release"], "r2");
        assert_eq!(
            std::fs::read_link(d.join("current")).unwrap(),
            Path::new("releases/r3")
        );
        assert!(
            !d.join("releases/r1").exists(),
            "pruned beyond keep_releases"
        );
        let back = run_local(
            &Release,
            args(json!({"deploy_to": to, "state": "rollback"})),
        )
        .await;
        assert!(back.changed, "{back:?}");
        assert_eq!(back.data["rolled_back_to"], "r2");
        assert_eq!(
            std::fs::read_link(d.join("current")).unwrap(),
            Path::new("releases/r2")
        );
        let query = run_local(&Release, args(json!({"deploy_to": to, "state": "query"}))).await;
        assert_eq!(query.data["current"], "r2");
        assert!(!query.changed);
    }

    #[tokio::test]
    async fn an_artifact_is_unpacked_and_named_by_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        let payload = dir.path().join("payload");
        std::fs::create_dir(&payload).unwrap();
        std::fs::write(payload.join("index.html"), "v1").unwrap();
        let artifact = dir.path().join("app.tar.gz");
        let tar = std::process::Command::new("tar")
            .args([
                "-czf",
                artifact.to_str().unwrap(),
                "-C",
                payload.to_str().unwrap(),
                ".",
            ])
            .status()
            .unwrap();
        assert!(tar.success());
        let d = dir.path().join("srv");
        let result = run_local(&Release, args(json!({"deploy_to": d.to_str().unwrap(), "src": artifact.to_str().unwrap(), "state": "current"}))).await;
        let id = result.data["release"].as_str().unwrap().to_string();
        assert_eq!(id.len(), 12);
        assert_eq!(
            std::fs::read_to_string(d.join("current/index.html")).unwrap(),
            "v1"
        );
        assert_eq!(
            result.data["release_path"],
            format!("{}/releases/{id}", d.display())
        );
    }
}
