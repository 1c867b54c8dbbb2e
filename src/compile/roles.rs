//! Roles: finding them, reading `defaults/`, `vars/`, `meta/` dependencies, `tasks/` and
//! `handlers/`, and compiling their tasks with the role's variables in scope.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::Compiler;
use super::program::{TaskNode, Vars};
use super::task::{Inherited, TASK_KEYWORDS, is_loop_keyword};
use super::values::{text, vars};
use crate::diagnostic::Diagnostic;
use crate::parse::Node;

/// Keywords of a role entry; other keys are role parameters.
const ROLE_ENTRY_KEYWORDS: &[&str] = &[
    "when",
    "tags",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "become_exe",
    "remote_user",
    "port",
    "connection",
    "environment",
    "ignore_errors",
    "no_log",
    "check_mode",
    "diff",
    "any_errors_fatal",
    "delegate_to",
    "run_once",
];

/// Which parts of a role to read.
pub struct RoleRequest<'a> {
    /// The role's name or path.
    pub name: String,
    /// Where the role was named, for errors.
    pub at: &'a Node,
    /// Role parameters.
    pub params: Vars,
    /// The tasks file (`main` unless `tasks_from`).
    pub tasks_from: String,
    /// Whether the role runs once per play for the same parameters (`roles:`, dependencies,
    /// `import_role`); `include_role` runs it every time.
    pub once: bool,
}

impl Compiler<'_> {
    /// The play's `roles:` section, compiled into tasks.
    pub fn roles_section(&mut self, play: &Node, inherited: &Inherited) -> Vec<TaskNode> {
        let Some(list) = play.get("roles") else {
            return Vec::new();
        };
        let Some(entries) = list.as_seq() else {
            self.error(Diagnostic::error(
                list.span.clone(),
                "`roles` must be a list",
            ));
            return Vec::new();
        };
        let mut out = Vec::new();
        for entry in entries {
            out.extend(self.role_entry(entry, inherited));
        }
        out
    }

    /// One `roles:` or dependency entry: a name, or a mapping with `role`/`name`, keywords and params.
    fn role_entry(&mut self, entry: &Node, inherited: &Inherited) -> Vec<TaskNode> {
        if entry.as_map().is_none() {
            return match text("role", entry) {
                Ok(name) => self.role(
                    RoleRequest {
                        name,
                        at: entry,
                        params: Vars::new(),
                        tasks_from: "main".into(),
                        once: true,
                    },
                    inherited,
                ),
                Err(d) => {
                    self.error(d);
                    Vec::new()
                }
            };
        }
        let Some(name_node) = entry.get("role").or_else(|| entry.get("name")) else {
            self.error(Diagnostic::error(
                entry.span.clone(),
                "a role entry needs `role:` (or `name:`)",
            ));
            return Vec::new();
        };
        let Ok(name) = text("role", name_node) else {
            return Vec::new();
        };
        let Some(inner) = self.inherit(entry, inherited) else {
            return Vec::new();
        };
        let mut params = Vars::new();
        for (key, value) in entry.as_map().unwrap_or_default() {
            let k = key.scalar_text().unwrap_or_default();
            if k == "vars" {
                params.extend(vars("vars", value).unwrap_or_default());
            } else if !ROLE_ENTRY_KEYWORDS.contains(&k.as_str()) && k != "role" && k != "name" {
                params.insert(k, value.to_json());
            }
        }
        let request = RoleRequest {
            name,
            at: name_node,
            params,
            tasks_from: "main".into(),
            once: true,
        };
        self.role(request, &inner)
    }

    /// Compiles a role's tasks (dependencies first) and records its handlers.
    pub fn role(&mut self, request: RoleRequest<'_>, inherited: &Inherited) -> Vec<TaskNode> {
        let Some(path) = self.find_role(&request.name) else {
            let searched = role_dirs(&self.play_dir)
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            self.error(
                Diagnostic::error(
                    request.at.span.clone(),
                    format!("role `{}` not found", request.name),
                )
                .with_help(format!("looked in: {searched}")),
            );
            return Vec::new();
        };
        let role_name = path
            .file_name()
            .map_or(request.name.clone(), |n| n.to_string_lossy().into_owned());
        let seen_key = (
            format!("{role_name}/{}", request.tasks_from),
            request.params.clone(),
        );
        if request.once {
            if self.roles_seen.contains(&seen_key) {
                return Vec::new();
            }
            self.roles_seen.push(seen_key);
        }
        self.nested(&path.join(&request.tasks_from), request.at, |c| {
            c.role_body(&path, &role_name, request, inherited)
        })
    }

    fn role_body(
        &mut self,
        path: &Path,
        role_name: &str,
        request: RoleRequest<'_>,
        inherited: &Inherited,
    ) -> Vec<TaskNode> {
        let mut out = Vec::new();
        if let Some(meta) = self.role_file(path, "meta", "main", request.at)
            && let Some(deps) = meta.get("dependencies").and_then(Node::as_seq)
        {
            for dep in deps {
                out.extend(self.role_entry(dep, inherited));
            }
        }
        let defaults = self.role_vars_file(path, "defaults", request.at);
        let role_vars = self.role_vars_file(path, "vars", request.at);
        let mut scope = (*inherited.scope).clone();
        scope.role_defaults = defaults;
        scope.role_vars = role_vars;
        scope.params.extend(request.params);
        scope.role_path = Some(path.to_path_buf());
        let mut inner = inherited.clone();
        inner.scope = Arc::new(scope);
        inner.role = Some(role_name.to_string());
        inner.file_dir = path.join("tasks");
        let mut search = vec![
            path.join("files"),
            path.join("templates"),
            path.join("tasks"),
            path.to_path_buf(),
        ];
        search.extend(inherited.search_paths.iter().cloned());
        inner.search_paths = Arc::new(search);
        if let Some(tasks) = self.role_file(path, "tasks", &request.tasks_from, request.at) {
            out.extend(self.tasks(&tasks, &inner, false));
        } else if request.tasks_from != "main" {
            self.error(Diagnostic::error(
                request.at.span.clone(),
                format!(
                    "role `{role_name}` has no tasks file `{}`",
                    request.tasks_from
                ),
            ));
        }
        if let Some(handlers) = self.role_file(path, "handlers", "main", request.at) {
            let compiled = self.tasks(&handlers, &inner, true);
            let mut found = Vec::new();
            self.collect_handlers(compiled, &mut found);
            self.role_handlers.extend(found);
        }
        out
    }

    /// Reads `<role>/<dir>/<name>.yml` (or `.yaml`, or no extension) when it exists.
    fn role_file(&mut self, role: &Path, dir: &str, name: &str, at: &Node) -> Option<Node> {
        let base = role.join(dir);
        let path = [
            format!("{name}.yml"),
            format!("{name}.yaml"),
            name.to_string(),
        ]
        .into_iter()
        .map(|f| base.join(f))
        .find(|p| p.is_file())?;
        self.read_file(&path, Some(at))
    }

    fn role_vars_file(&mut self, role: &Path, dir: &str, at: &Node) -> Vars {
        match self.role_file(role, dir, "main", at) {
            Some(node) => vars(dir, &node).unwrap_or_else(|d| {
                self.error(d);
                Vars::new()
            }),
            None => Vars::new(),
        }
    }

    fn find_role(&self, name: &str) -> Option<PathBuf> {
        let direct = Path::new(name);
        if direct.is_absolute() && direct.is_dir() {
            return Some(direct.to_path_buf());
        }
        if let Some(dir) = crate::config::settings().collection_role(name) {
            return Some(dir);
        }
        role_dirs(&self.play_dir)
            .into_iter()
            .map(|d| d.join(name))
            .find(|p| {
                p.join("tasks").is_dir() || p.join("meta").is_dir() || p.join("handlers").is_dir()
            })
    }
}

/// Where roles are looked for, in order: next to the playbook, `roles_path` (ansible.cfg or
/// `ANSIBLE_ROLES_PATH`), the current folder's `roles/`, and a `roles/` beside the playbook's
/// folder (the project layout).
fn role_dirs(play_dir: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![play_dir.join("roles")];
    dirs.extend(crate::config::settings().roles_path.iter().cloned());
    dirs.push(PathBuf::from("roles"));
    if let Some(parent) = play_dir.parent() {
        dirs.push(parent.join("roles"));
    }
    dirs.dedup();
    dirs
}

/// Whether a key of a task mapping is a task keyword (used to tell include options apart).
pub fn is_task_keyword(key: &str) -> bool {
    TASK_KEYWORDS.contains(&key) || is_loop_keyword(key)
}

/// Reads an include's options: the value itself when a string, else the mapping.
pub fn include_options(value: &Node) -> Vars {
    match value.to_json() {
        Value::Object(map) => map,
        Value::String(s) => {
            let mut map = Vars::new();
            map.insert("_raw_params".into(), Value::String(s));
            map
        }
        _ => Vars::new(),
    }
}
