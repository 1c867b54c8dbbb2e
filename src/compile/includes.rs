//! `import_tasks`, `include_tasks`, `import_role` and `include_role`, expanded at compile time
//! so that every included task is checked before the run. File names may use variables known
//! before the run (`-e` values, `vars`); names that depend on a host are refused.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use super::Compiler;
use super::program::{TaskNode, Vars};
use super::roles::{RoleRequest, include_options, is_task_keyword};
use super::task::Inherited;
use crate::diagnostic::Diagnostic;
use crate::parse::Node;

impl Compiler<'_> {
    /// Expands an include task written at `node`, whose include keyword is `key: value`.
    pub fn include(
        &mut self,
        node: &Node,
        key: &Node,
        value: &Node,
        inherited: &Inherited,
        handlers: bool,
    ) -> Vec<TaskNode> {
        let kind = key.as_str().unwrap_or_default();
        let kind = kind.strip_prefix("ansible.builtin.").unwrap_or(kind);
        for (k, _) in node.as_map().unwrap_or_default() {
            let name = k.as_str().unwrap_or_default();
            if ["loop", "with_items", "with_list", "with_dict"].contains(&name) {
                self.error(Diagnostic::error(
                    k.span.clone(),
                    format!("a loop over `{kind}` is not supported yet; loop inside the included file instead"),
                ));
                return Vec::new();
            }
            if name != kind.trim()
                && !is_task_keyword(name)
                && !name.starts_with("ansible.builtin.")
            {
                self.error(Diagnostic::error(
                    k.span.clone(),
                    format!("unknown keyword `{name}` on `{kind}`"),
                ));
                return Vec::new();
            }
        }
        let Some(mut inner) = self.inherit(node, inherited) else {
            return Vec::new();
        };
        let options = include_options(value);
        if let Some(Value::Object(params)) = options.get("vars") {
            let mut scope = (*inner.scope).clone();
            scope.params.extend(params.clone());
            inner.scope = Arc::new(scope);
        }
        match kind {
            "import_role" | "include_role" => self.include_role(&options, value, &inner),
            _ => self.include_tasks(&options, value, &inner, handlers),
        }
    }

    fn include_tasks(
        &mut self,
        options: &Vars,
        at: &Node,
        inherited: &Inherited,
        handlers: bool,
    ) -> Vec<TaskNode> {
        let Some(name) = self.include_name(options, "file", at, inherited) else {
            return Vec::new();
        };
        let mut candidates = vec![inherited.file_dir.join(&name)];
        candidates.extend(inherited.search_paths.iter().map(|d| d.join(&name)));
        candidates.push(self.play_dir.join(&name));
        let Some(path) = candidates.into_iter().find(|p| p.is_file()) else {
            self.error(
                Diagnostic::error(at.span.clone(), format!("included file `{name}` not found"))
                    .with_help(format!(
                        "looked beside {} and in the play's folder",
                        inherited.file_dir.display()
                    )),
            );
            return Vec::new();
        };
        self.nested(&path, at, |c| {
            let Some(root) = c.read_file(&path, Some(at)) else {
                return Vec::new();
            };
            let mut inner = inherited.clone();
            inner.file_dir = path
                .parent()
                .map_or_else(|| PathBuf::from("."), PathBuf::from);
            c.tasks(&root, &inner, handlers)
        })
    }

    fn include_role(&mut self, options: &Vars, at: &Node, inherited: &Inherited) -> Vec<TaskNode> {
        let Some(name) = self.include_name(options, "name", at, inherited) else {
            return Vec::new();
        };
        let tasks_from = options
            .get("tasks_from")
            .and_then(Value::as_str)
            .map_or("main", |t| {
                t.trim_end_matches(".yml").trim_end_matches(".yaml")
            })
            .to_string();
        let request = RoleRequest {
            name,
            at,
            params: Vars::new(),
            tasks_from,
        };
        self.role(request, inherited)
    }

    /// The file or role name of an include, rendered with the variables known before the run.
    fn include_name(
        &mut self,
        options: &Vars,
        field: &str,
        at: &Node,
        inherited: &Inherited,
    ) -> Option<String> {
        let raw = options
            .get(field)
            .or_else(|| options.get("_raw_params"))
            .and_then(Value::as_str);
        let Some(raw) = raw else {
            self.error(Diagnostic::error(
                at.span.clone(),
                format!("this include needs `{field}`"),
            ));
            return None;
        };
        if !raw.contains("{{") {
            return Some(raw.to_string());
        }
        let mut known = inherited.scope.role_defaults.clone();
        known.extend(inherited.scope.task_vars.clone());
        known.extend(inherited.scope.params.clone());
        known.extend(self.extra_vars.clone());
        match self.templater.render_str(raw, &Value::Object(known)) {
            Ok(name) => Some(name),
            Err(e) => {
                self.error(
                    Diagnostic::error(
                        at.span.clone(),
                        format!("cannot resolve the include name `{raw}`: {e}"),
                    )
                    .with_help(
                        "include names may use `-e` values and `vars`, but not per-host variables",
                    ),
                );
                None
            }
        }
    }
}
