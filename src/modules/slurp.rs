//! `slurp`: reads a file on the host and returns its bytes base64-encoded as `content`, the way
//! Ansible does (`content`, `encoding: base64`, `source`). One round trip; changes nothing.
//! Meant for small files: the whole file is held in memory.

use async_trait::async_trait;
use base64::Engine;
use serde_json::{Map, Value};

use super::facts::{FileError, Kind, Probe, finish, probe_with_content};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_str};

static SPEC: ModuleSpec = ModuleSpec {
    name: "slurp",
    aliases: &[],
    args: &[ArgSpec::new("src", ArgType::Str)
        .required()
        .aliases(&["path"])],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `slurp` module.
pub struct Slurp;

#[async_trait]
impl Module for Slurp {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(slurp(args, ctx).await)
    }
}

async fn slurp(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
) -> Result<ModuleResult, FileError> {
    let src = arg_str(args, "src").unwrap_or_default();
    let probe = Probe::stat_only(src).followed();
    let (state, _, content) = probe_with_content(ctx, probe).await?;
    let content = match (state.kind, content) {
        (Kind::File, Some(bytes)) => bytes,
        (Kind::Absent, _) => return Err(FileError::failed(format!("file not found: {src}"))),
        (Kind::Directory, _) => {
            return Err(FileError::failed(format!(
                "source is a directory and must be a file: {src}"
            )));
        }
        _ => return Err(FileError::failed(format!("cannot read {src}"))),
    };
    if content.len() as u64 != state.size {
        return Err(FileError::failed(format!("{src} could not be read whole")));
    }
    Ok(ModuleResult::ok()
        .with(
            "content",
            base64::engine::general_purpose::STANDARD.encode(content),
        )
        .with("encoding", "base64")
        .with("source", src))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::modules::testing::{args, run_local};

    #[tokio::test]
    async fn returns_the_bytes_in_base64() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("-key $(x)");
        std::fs::write(&path, b"\x00\xffsecret\n").unwrap();
        let result = run_local(&Slurp, args(json!({"src": path}))).await;
        assert!(!result.changed && !result.failed, "{result:?}");
        assert_eq!(result.data["content"], "AP9zZWNyZXQK");
        assert_eq!(result.data["encoding"], "base64");
        let missing = run_local(&Slurp, args(json!({"path": dir.path().join("no")}))).await;
        assert!(missing.failed);
        assert!(missing.msg.unwrap().starts_with("file not found"));
        let directory = run_local(&Slurp, args(json!({"src": dir.path()}))).await;
        assert!(directory.msg.unwrap().contains("is a directory"));
    }
}
