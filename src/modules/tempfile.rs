//! `tempfile`: makes a new temporary file (mode 0600) or folder (0700) on the host with `mktemp`
//! and returns its `path`. Always a change; skipped in check mode, as Ansible skips it (its module
//! does not support check mode).

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_str};
use crate::transport::quote;

static SPEC: ModuleSpec = ModuleSpec {
    name: "tempfile",
    aliases: &[],
    args: &[
        ArgSpec::new("state", ArgType::Str).choices(&["file", "directory"]),
        ArgSpec::new("path", ArgType::Str),
        ArgSpec::new("prefix", ArgType::Str),
        ArgSpec::new("suffix", ArgType::Str),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `tempfile` module.
pub struct TempFile;

#[async_trait]
impl Module for TempFile {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let prefix = arg_str(args, "prefix").unwrap_or("ansible.");
        let suffix = arg_str(args, "suffix").unwrap_or("");
        for (name, value) in [("prefix", prefix), ("suffix", suffix)] {
            if value.contains('/') {
                return Ok(ModuleResult::failed(format!(
                    "{name} must be a valid file name component, got '{value}'"
                )));
            }
        }
        if ctx.check_mode {
            return Ok(ModuleResult {
                skipped: true,
                ..ModuleResult::ok()
                    .with_msg("remote module (tempfile) does not support check mode")
            });
        }
        let dir = match arg_str(args, "path") {
            Some(path) => match path.strip_prefix("~/") {
                Some(rest) => format!("\"$HOME\"/{}", quote(rest)),
                None => quote(path),
            },
            None => "\"${TMPDIR:-/tmp}\"".into(),
        };
        let directory = arg_str(args, "state") == Some("directory");
        let script = format!(
            "mktemp{} -p {dir} --suffix={} -- {}",
            if directory { " -d" } else { "" },
            quote(suffix),
            quote(&format!("{prefix}XXXXXXXX"))
        );
        let out = ctx.run(script).await?;
        if out.exit_code != 0 {
            return Ok(ModuleResult::failed(out.stderr_text().trim().to_string()));
        }
        let path = out.stdout_text().trim_end_matches('\n').to_string();
        let state = if directory { "directory" } else { "file" };
        Ok(ModuleResult::changed()
            .with("path", path)
            .with("state", state))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{args, run_local, run_on};
    use crate::transport::LocalTransport;
    use serde_json::json;

    #[tokio::test]
    async fn makes_a_private_file_or_folder_with_prefix_and_suffix() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().display().to_string();
        let given = json!({"path": base, "prefix": "pre.", "suffix": ".txt"});
        let result = run_local(&TempFile, args(given)).await;
        assert!(result.changed, "{result:?}");
        let path = result.data["path"].as_str().unwrap();
        let name = std::path::Path::new(path)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        assert!(name.starts_with("pre.") && name.ends_with(".txt") && name.len() == 16);
        let given = json!({"path": base, "state": "directory"});
        let result = run_local(&TempFile, args(given)).await;
        assert!(std::path::Path::new(result.data["path"].as_str().unwrap()).is_dir());
    }

    #[tokio::test]
    async fn check_mode_skips_and_a_prefix_with_a_slash_fails() {
        let result = run_on(&TempFile, args(json!({})), &LocalTransport, true).await;
        assert!(result.skipped);
        let result = run_local(&TempFile, args(json!({"prefix": "a/b"}))).await;
        assert!(result.failed);
    }
}
