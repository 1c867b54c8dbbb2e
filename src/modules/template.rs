//! `template`: renders a Jinja template on the controller with the task's variables, then puts
//! the text on the host exactly as `copy` does with `content` (checksum compare, atomic write,
//! mode/owner, backup, validate).
//!
//! `src` is looked up in the role's `templates/` first; templates it includes or imports are
//! looked up next to it, then in the same places. Besides the task's variables, templates see
//! `template_path`, `template_fullpath`, `template_destpath` and `ansible_managed`. Jinja
//! overrides in the task (`variable_start_string`, `trim_blocks`, ...) and `newline_sequence`
//! are not supported.

use std::path::PathBuf;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::attrs::ATTR_ARGS;
use super::copy::place;
use super::facts::{FileError, basename, finish};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::transfer::{Content, find_local, search_order};
use super::{Module, ModuleContext, ModuleError, ModuleKind, ModuleResult, arg_str};

static SPEC: ModuleSpec = ModuleSpec {
    name: "template",
    aliases: &[],
    args: &[
        ArgSpec::new("src", ArgType::Str).required(),
        ArgSpec::new("dest", ArgType::Str).required(),
        ATTR_ARGS[0],
        ATTR_ARGS[1],
        ATTR_ARGS[2],
        ArgSpec::new("backup", ArgType::Bool),
        ArgSpec::new("force", ArgType::Bool),
        ArgSpec::new("validate", ArgType::Str),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// What `{{ ansible_managed }}` renders to, like Ansible's default.
const ANSIBLE_MANAGED: &str = "Ansible managed";

/// The `template` module.
pub struct Template;

#[async_trait]
impl Module for Template {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn kind(&self) -> ModuleKind {
        ModuleKind::Template
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(template(args, ctx).await)
    }
}

async fn template(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
) -> Result<ModuleResult, FileError> {
    let src = arg_str(args, "src").unwrap_or_default();
    let dest = arg_str(args, "dest").unwrap_or_default();
    let path = find_local(ctx.search_paths, src, "templates")?;
    let source = std::fs::read_to_string(&path).map_err(|source| FileError::Local {
        path: path.clone(),
        source,
    })?;
    let mut vars = match ctx.vars {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    let full = path.display().to_string();
    vars.insert("template_path".into(), Value::String(src.to_string()));
    vars.insert("template_fullpath".into(), Value::String(full.clone()));
    vars.insert("template_destpath".into(), Value::String(dest.to_string()));
    vars.entry("ansible_managed")
        .or_insert_with(|| Value::String(ANSIBLE_MANAGED.into()));
    let mut include_dirs: Vec<PathBuf> = Vec::new();
    for dir in search_order(ctx.search_paths, "templates") {
        if !include_dirs.contains(dir) {
            include_dirs.push(dir.clone());
        }
    }
    // The task only resolved the variables its own arguments read; the files read others.
    let reads = ctx.templater.file_reads(&full, &source, &include_dirs);
    ctx.templater
        .resolve_vars(&mut vars, reads)
        .map_err(|e| FileError::failed(format!("cannot render {src}: {e}")))?;
    let rendered = ctx
        .templater
        .render_file(&full, &source, &Value::Object(vars), &include_dirs)
        .map_err(|e| FileError::failed(format!("cannot render {src}: {e}")))?;
    place(
        ctx,
        args,
        Content::bytes(rendered.into_bytes()),
        Some(basename(src)),
    )
    .await
}

#[cfg(test)]
mod tests {
    use std::fs;

    use serde_json::json;

    use super::*;
    use crate::modules::testing::{LocalRun, args};

    #[tokio::test]
    async fn renders_with_the_task_variables_then_copies() {
        let dir = tempfile::tempdir().unwrap();
        let (role, templates) = (dir.path().join("role"), dir.path().join("role/templates"));
        fs::create_dir_all(&templates).unwrap();
        fs::write(role.join("app.conf.j2"), "wrong").unwrap();
        fs::write(
            templates.join("app.conf.j2"),
            "# {{ ansible_managed }}\nanswer={{ answer }} for {{ template_destpath }}\n",
        )
        .unwrap();
        let dest = dir.path().join("app 'x'.conf");
        let run = LocalRun::default().searching(&role).searching(&templates);
        let task = || args(json!({"src": "app.conf.j2", "dest": dest, "mode": "0600"}));
        let checked = LocalRun::check()
            .searching(&templates)
            .run(&Template, task())
            .await;
        assert!(checked.changed && !dest.exists(), "{checked:?}");
        let first = run.run(&Template, task()).await;
        assert!(first.changed && !first.failed, "{first:?}");
        let written = fs::read_to_string(&dest).unwrap();
        let expected = format!("# Ansible managed\nanswer=42 for {}\n", dest.display());
        assert_eq!(
            written, expected,
            "the trailing newline is kept like Ansible does"
        );
        assert!(!run.run(&Template, task()).await.changed);
    }

    #[tokio::test]
    async fn variables_the_file_reads_are_templated_lazily() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("c.j2"), "version={{ app_version }}\n").unwrap();
        let dest = dir.path().join("c.env");
        let mut layers = crate::template::Layers::new();
        let author = json!({"app_version": "{{ release }}-{{ answer }}", "release": "r1"});
        layers.author(author.as_object().unwrap());
        layers.data([("answer".to_string(), json!(42))]);
        let vars = Value::Object(layers.finish());
        let templater = crate::template::Templater::new();
        let search = [dir.path().to_path_buf()];
        let ctx = ModuleContext {
            search_paths: &search,
            ..crate::modules::testing::local_context(&vars, &templater)
        };
        let task = args(json!({"src": "c.j2", "dest": dest}));
        let result = Template.run(&task, &ctx).await.unwrap();
        assert!(result.changed && !result.failed, "{result:?}");
        assert_eq!(fs::read_to_string(&dest).unwrap(), "version=r1-42\n");
    }

    #[tokio::test]
    async fn a_template_error_fails_the_task() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("bad.j2"), "{{ nope }}").unwrap();
        let task = args(json!({"src": "bad.j2", "dest": dir.path().join("out")}));
        let result = LocalRun::default()
            .searching(dir.path())
            .run(&Template, task)
            .await;
        assert!(result.failed);
        assert!(result.msg.unwrap().starts_with("cannot render bad.j2"));
        assert!(!dir.path().join("out").exists());
    }
}
