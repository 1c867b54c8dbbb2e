//! `import_tasks`, `include_tasks`, `import_role` and `include_role`, compiled before the run so
//! that every included task is checked before any host is touched.
//!
//! Imports are static: their tasks take their place, inheriting the import's keywords. Includes
//! are dynamic, as in Ansible: an [`Include`] step of their own (with its `when` and loop), whose
//! keywords stay on the step; only its `vars` (and `apply`) reach the included tasks. File and
//! role names may use variables known before the run (`-e` values, `vars`, and the items of a
//! loop written in the playbook); names that depend on a host are refused.

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use regex::Regex;
use serde_json::Value;

use super::Compiler;
use super::program::{Include, Scope, Task, TaskNode, Vars, playbook_dir};
use super::roles::{RoleRequest, include_options, is_task_keyword};
use super::task::{Inherited, is_loop_keyword};
use crate::diagnostic::Diagnostic;
use crate::modules;
use crate::parse::Node;

/// What an include or import brings in.
#[derive(Clone, Copy)]
enum Included {
    /// A tasks file, compiled as handlers or not.
    Tasks {
        /// Whether its tasks are handlers.
        handlers: bool,
    },
    /// A role.
    Role {
        /// Whether the role runs once per play for the same parameters (imports).
        once: bool,
    },
}

impl Compiler<'_> {
    /// Compiles an include task written at `node`, whose include keyword is `key: value`.
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
        let dynamic = matches!(kind, "include_tasks" | "include_role") && !handlers;
        for (k, _) in node.as_map().unwrap_or_default() {
            let name = k.as_str().unwrap_or_default();
            if is_loop_keyword(name) && !dynamic {
                let help = if handlers {
                    "loop inside the included file instead"
                } else {
                    "use `include_tasks` or `include_role`, which may loop"
                };
                self.error(
                    Diagnostic::error(
                        k.span.clone(),
                        format!("a loop over `{kind}` is not supported here"),
                    )
                    .with_help(help),
                );
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
        let options = include_options(value);
        let role = kind.ends_with("_role");
        if dynamic {
            return self
                .dynamic_include(node, value, &options, inherited, role)
                .map(|include| vec![TaskNode::Include(include)])
                .unwrap_or_default();
        }
        let Some(mut inner) = self.inherit(node, inherited) else {
            return Vec::new();
        };
        with_option_vars(&mut inner, &options);
        let Some(name) = self.include_name(
            &options,
            role,
            value,
            &known_vars(self.extra_vars, &inner.scope),
        ) else {
            return Vec::new();
        };
        let what = if role {
            Included::Role { once: true }
        } else {
            Included::Tasks { handlers }
        };
        self.included(&name, &options, value, &inner, what)
    }

    /// An `include_tasks` or `include_role`: the step, and the tasks of each name it may include.
    fn dynamic_include(
        &mut self,
        node: &Node,
        value: &Node,
        options: &Vars,
        inherited: &Inherited,
        role: bool,
    ) -> Option<Include> {
        let raw = self.raw_name(options, role, value)?;
        let args = serde_json::json!({ "include": raw });
        let module = Arc::new(modules::Include { role });
        let mut outer = inherited.clone();
        with_option_vars(&mut outer, options);
        let mut step = self.task_running(node, &outer, false, module, args)?;
        self.check_templates(&step.args, value);
        step.reads = self.reads(&step);
        // The included tasks inherit from around the include, not from it: only its variables
        // and what `apply` gives.
        let mut inner = inherited.clone();
        inner.scope = Arc::clone(&step.scope);
        if let Some(apply) = value.get("apply") {
            inner = self.inherit(apply, &inner)?;
        }
        let names = self.names_per_item(&raw, &step, value, (!role).then_some(&inner))?;
        let mut bodies = Vec::new();
        let mut problems = Vec::new();
        for name in names {
            let what = if role {
                Included::Role { once: false }
            } else {
                Included::Tasks { handlers: false }
            };
            // Ansible loads what an include names only when a host reaches it.
            let start = self.diagnostics.len();
            let tasks = self.included(&name, options, value, &inner, what);
            if let Some(problem) = self.defer_since(start) {
                problems.push((name.clone(), problem));
            }
            bodies.push((name, tasks));
        }
        Some(Include {
            step: Arc::new(step),
            bodies,
            problems,
        })
    }

    /// The task files a name that depends on host values (`setup-{{ ansible_os_family }}.yml`)
    /// may name: those whose name matches its literal parts, beside the including file and in
    /// the search paths. Files being compiled (the includer) are left out.
    fn name_candidates(&self, raw: &str, inherited: &Inherited) -> Vec<String> {
        let (prefix, last) = match raw.rsplit_once('/') {
            Some((prefix, last)) => (format!("{prefix}/"), last),
            None => (String::new(), raw),
        };
        let Some(pattern) = name_pattern(last).filter(|_| !is_template(&prefix)) else {
            return Vec::new();
        };
        let mut names: Vec<String> = Vec::new();
        for dir in self.task_dirs(inherited) {
            let Ok(entries) = std::fs::read_dir(dir.join(&prefix)) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let key = path.canonicalize().unwrap_or_else(|_| path.clone());
                let file = entry.file_name().to_string_lossy().into_owned();
                let name = format!("{prefix}{file}");
                if path.is_file()
                    && pattern.is_match(&file)
                    && !self.include_stack.contains(&key)
                    && !names.contains(&name)
                {
                    names.push(name);
                }
            }
        }
        names.sort();
        names
    }

    /// Where an included tasks file is looked for, in order.
    fn task_dirs(&self, inherited: &Inherited) -> Vec<PathBuf> {
        let mut dirs = vec![inherited.file_dir.clone()];
        dirs.extend(inherited.search_paths.iter().cloned());
        dirs.push(self.play_dir.clone());
        dirs
    }

    /// The names an include may render to: one, or one per loop item when the name uses the
    /// loop's variables (the items must then be known before the run).
    /// A tasks file name that depends on host values gives every file it may name (`files`
    /// holds where the includer is; `None` for roles, whose names must be known).
    fn names_per_item(
        &mut self,
        raw: &str,
        step: &Task,
        at: &Node,
        files: Option<&Inherited>,
    ) -> Option<Vec<String>> {
        let known = known_vars(self.extra_vars, &step.scope);
        let Some(looping) = step.looping.as_ref().filter(|_| raw.contains("{{")) else {
            let rendered = self
                .templater
                .render_str(raw, &Value::Object(known.clone()));
            return match (rendered, files) {
                _ if !is_template(raw) => Some(vec![raw.to_string()]),
                (Ok(name), _) => Some(vec![name]),
                (Err(e), Some(inherited)) => {
                    let names = self.name_candidates(raw, inherited);
                    if names.is_empty() {
                        let span = super::find_scalar(at, raw).unwrap_or(at).span.clone();
                        let message = format!("no file matches the include name `{raw}` ({e})");
                        self.error(Diagnostic::error(span, message));
                        self.defer_since(self.diagnostics.len() - 1);
                    }
                    Some(names)
                }
                (Err(_), None) => {
                    let start = self.diagnostics.len();
                    let name = self.render_name(raw, &known, at, None);
                    self.defer_since(start);
                    Some(name.into_iter().collect())
                }
            };
        };
        let action = step.module.spec().name;
        let items = looping.items(self.templater, &Value::Object(known.clone()), action);
        let items = match items {
            Ok(items) => items,
            Err(e) => return Some(self.names_of_unknown_items(raw, at, files, &e.to_string())),
        };
        let mut names: Vec<String> = Vec::new();
        for index in 0..items.len() {
            let mut vars = known.clone();
            vars.extend(looping.bind(index, &items));
            let name = self.render_name(raw, &vars, at, Some(&looping.var))?;
            if !names.contains(&name) {
                names.push(name);
            }
        }
        Some(names)
    }

    /// The names an include looping over items known only on the hosts (a registered result)
    /// may render to: the task files its literal parts match, else none. Like Ansible, which
    /// resolves the name when a host reaches it, this is not an error before the run (a warning);
    /// a host whose items name a file not compiled fails there, and an empty loop runs nothing.
    fn names_of_unknown_items(
        &mut self,
        raw: &str,
        at: &Node,
        files: Option<&Inherited>,
        why: &str,
    ) -> Vec<String> {
        let names = files.map_or_else(Vec::new, |inherited| self.name_candidates(raw, inherited));
        if names.is_empty() {
            let span = super::find_scalar(at, raw).unwrap_or(at).span.clone();
            let message =
                format!("cannot resolve the include name `{raw}` for each loop item: {why}");
            let help = "deployer compiles what an include names before the run: a host whose \
                        loop items name a file then fails; loop items known before the run \
                        (written in the playbook, or from `-e` values and `vars`), or a name with \
                        a literal part matching the files, let it compile them";
            self.error(Diagnostic::error(span, message).with_help(help));
            self.defer_since(self.diagnostics.len() - 1);
        }
        names
    }

    /// Compiles the tasks an include or import of `name` brings in.
    fn included(
        &mut self,
        name: &str,
        options: &Vars,
        at: &Node,
        inherited: &Inherited,
        what: Included,
    ) -> Vec<TaskNode> {
        match what {
            Included::Tasks { handlers } => self.include_tasks(name, at, inherited, handlers),
            Included::Role { once } => self.include_role(name, options, at, inherited, once),
        }
    }

    fn include_tasks(
        &mut self,
        name: &str,
        at: &Node,
        inherited: &Inherited,
        handlers: bool,
    ) -> Vec<TaskNode> {
        let candidates = self.task_dirs(inherited).into_iter().map(|d| d.join(name));
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

    fn include_role(
        &mut self,
        name: &str,
        options: &Vars,
        at: &Node,
        inherited: &Inherited,
        once: bool,
    ) -> Vec<TaskNode> {
        let tasks_from = options
            .get("tasks_from")
            .and_then(Value::as_str)
            .map_or("main", |t| {
                t.trim_end_matches(".yml").trim_end_matches(".yaml")
            })
            .to_string();
        let request = RoleRequest {
            name: name.to_string(),
            at,
            params: Vars::new(),
            tasks_from,
            once,
        };
        self.role(request, inherited)
    }

    /// The file or role name of an include as written.
    fn raw_name(&mut self, options: &Vars, role: bool, at: &Node) -> Option<String> {
        let field = if role { "name" } else { "file" };
        let raw = options
            .get(field)
            .or_else(|| options.get("_raw_params"))
            .and_then(Value::as_str);
        if raw.is_none() {
            self.error(Diagnostic::error(
                at.span.clone(),
                format!("this include needs `{field}`"),
            ));
        }
        raw.map(str::to_string)
    }

    /// The file or role name of an import, rendered with the variables known before the run.
    fn include_name(
        &mut self,
        options: &Vars,
        role: bool,
        at: &Node,
        known: &Vars,
    ) -> Option<String> {
        let raw = self.raw_name(options, role, at)?;
        self.render_name(&raw, known, at, None)
    }

    /// Renders an include name written at `at` with `known`; `loop_var` names the loop variable
    /// bound in `known`, for the error message.
    fn render_name(
        &mut self,
        raw: &str,
        known: &Vars,
        at: &Node,
        loop_var: Option<&str>,
    ) -> Option<String> {
        if !raw.contains("{{") {
            return Some(raw.to_string());
        }
        // As in Ansible, a name may use `playbook_dir` before any host runs.
        let mut known = known.clone();
        known
            .entry("playbook_dir")
            .or_insert_with(|| Value::String(playbook_dir(&self.play_dir).display().to_string()));
        match self.templater.render_str(raw, &Value::Object(known)) {
            Ok(name) => Some(name),
            Err(e) => {
                let span = super::find_scalar(at, raw).unwrap_or(at).span.clone();
                let also = loop_var.map_or(String::new(), |v| format!(", the loop's `{v}`"));
                self.error(
                    Diagnostic::error(span, format!("cannot resolve the include name `{raw}`: {e}"))
                        .with_help(format!(
                            "include names may use `-e` values and `vars`{also}, but not per-host variables"
                        )),
                );
                None
            }
        }
    }
}

/// A regex matching the file names a name template may render to: its literal parts, anything
/// in place of its `{{ }}` and `{% %}` blocks; `None` when it has no literal part.
fn name_pattern(name: &str) -> Option<Regex> {
    static BLOCK: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\{\{.*?\}\}|\{%.*?%\}").expect("a valid pattern"));
    let mut pattern = String::from("^");
    let mut literal = 0;
    let mut end = 0;
    for block in BLOCK.find_iter(name) {
        pattern.push_str(&regex::escape(&name[end..block.start()]));
        pattern.push_str(".+");
        literal += block.start() - end;
        end = block.end();
    }
    pattern.push_str(&regex::escape(&name[end..]));
    pattern.push('$');
    literal += name.len() - end;
    (literal > 0).then(|| Regex::new(&pattern).expect("an escaped pattern"))
}

/// Whether a name holds Jinja.
pub(super) fn is_template(name: &str) -> bool {
    name.contains("{{") || name.contains("{%")
}

/// The variables known before the run where an include is written: `-e` values and `vars`.
fn known_vars(extra_vars: &Vars, scope: &Scope) -> Vars {
    let mut known = scope.role_defaults.clone();
    known.extend(scope.task_vars.clone());
    known.extend(scope.params.clone());
    known.extend(extra_vars.clone());
    known
}

/// Adds an include's `vars` option to the parameters in force.
fn with_option_vars(inherited: &mut Inherited, options: &Vars) {
    if let Some(Value::Object(params)) = options.get("vars") {
        let mut scope = (*inherited.scope).clone();
        scope.params.extend(params.clone());
        inherited.scope = Arc::new(scope);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Program, Task, TaskNode, compile};
    use crate::template::Templater;
    use crate::vault::Vault;

    /// Compiles `site.yml` among `files`; the errors as `file:line:column: message` on failure.
    fn compiled(files: &[(&str, &str)]) -> Result<Program, Vec<String>> {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let playbook = dir.path().join("site.yml");
        compile(
            &playbook,
            Default::default(),
            &Templater::new(),
            &Vault::default(),
        )
        .map(|(program, _)| program)
        .map_err(|errors| {
            let prefix = format!("{}/", dir.path().display());
            errors
                .0
                .iter()
                .map(|d| format!("{}: {}", d.span, d.message).replace(&prefix, ""))
                .collect()
        })
    }

    fn play(tasks: &str) -> String {
        format!("- hosts: app\n  gather_facts: false\n  tasks:\n{tasks}")
    }

    /// The task nodes of the play's `tasks` section.
    fn tasks(program: &Program) -> &[TaskNode] {
        &program.plays[0].sections[1]
    }

    fn task(node: &TaskNode) -> &Task {
        match node {
            TaskNode::Task(task) => task,
            _ => panic!("not a task"),
        }
    }

    const MARK: (&str, &str) = ("mark.yml", "- debug: {msg: \"{{ mark }}\"}\n");

    #[test]
    fn include_tasks_is_a_step_whose_keywords_stay_on_it() {
        let site = play(
            "    - include_tasks: mark.yml\n      vars: {mark: m}\n      when: go\n      tags: [t]\n      become: true\n",
        );
        let program = compiled(&[("site.yml", &site), MARK]).unwrap();
        let [TaskNode::Include(include)] = tasks(&program) else {
            panic!("one include");
        };
        assert_eq!(include.step.module.spec().name, "include_tasks");
        assert_eq!(include.step.when, ["go"]);
        assert_eq!(include.step.args["include"], "mark.yml");
        let [(name, body)] = include.bodies.as_slice() else {
            panic!("one body");
        };
        assert_eq!(name, "mark.yml");
        let child = task(&body[0]);
        assert!(child.when.is_empty() && child.tags.is_empty());
        assert!(!child.become_spec.enabled.or(true));
        assert_eq!(child.scope.task_vars["mark"], "m");
    }

    #[test]
    fn import_tasks_is_expanded_in_place_and_its_keywords_inherited() {
        let site = play("    - import_tasks: mark.yml\n      vars: {mark: m}\n      when: go\n");
        let program = compiled(&[("site.yml", &site), MARK]).unwrap();
        let [node] = tasks(&program) else {
            panic!("one task");
        };
        assert_eq!(task(node).when, ["go"]);
    }

    #[test]
    fn apply_reaches_the_included_tasks() {
        let site = play(
            "    - include_tasks:\n        file: mark.yml\n        apply: {tags: [a], become: true}\n      vars: {mark: m}\n",
        );
        let program = compiled(&[("site.yml", &site), MARK]).unwrap();
        let [TaskNode::Include(include)] = tasks(&program) else {
            panic!("one include");
        };
        let child = task(&include.bodies[0].1[0]);
        assert_eq!(child.tags, ["a"]);
        assert!(child.become_spec.enabled.or(false));
    }

    #[test]
    fn a_loop_over_an_include_compiles_its_file_once() {
        let site = play(
            "    - include_tasks: mark.yml\n      loop: [one, two]\n      loop_control: {loop_var: mark}\n    - include_role: {name: r}\n      with_items: [a, b]\n",
        );
        let role = ("roles/r/tasks/main.yml", "- debug: {msg: \"{{ item }}\"}\n");
        let program = compiled(&[("site.yml", &site), MARK, role]).unwrap();
        let [TaskNode::Include(file), TaskNode::Include(role)] = tasks(&program) else {
            panic!("two includes");
        };
        let looping = file.step.looping.as_ref().unwrap();
        assert_eq!(looping.var, "mark");
        assert_eq!(looping.items, serde_json::json!(["one", "two"]));
        assert_eq!(file.bodies.len(), 1);
        assert_eq!(role.step.module.spec().name, "include_role");
        assert_eq!(role.bodies[0].0, "r");
        assert_eq!(task(&role.bodies[0].1[0]).role.as_deref(), Some("r"));
    }

    #[test]
    fn a_name_made_from_the_loop_item_compiles_each_file() {
        let site =
            play("    - include_tasks: \"{{ item }}.yml\"\n      loop: [mark, other, mark]\n");
        let other = ("other.yml", "- debug: {msg: other}\n");
        let program = compiled(&[("site.yml", &site), MARK, other]).unwrap();
        let [TaskNode::Include(include)] = tasks(&program) else {
            panic!("one include");
        };
        let names: Vec<&str> = include.bodies.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["mark.yml", "other.yml"]);
    }

    #[test]
    fn a_name_made_from_items_known_only_on_hosts_names_the_matching_files_or_none() {
        let site = play(
            "    - include_tasks: \"{{ item }}.yml\"\n      loop: \"{{ groups['app'] }}\"\n    - include_tasks: \"{{ path.item }}\"\n      loop: \"{{ found.results }}\"\n      loop_control: {loop_var: path}\n",
        );
        let program = compiled(&[("site.yml", &site), MARK]).unwrap();
        let [TaskNode::Include(matching), TaskNode::Include(unknown)] = tasks(&program) else {
            panic!("two includes");
        };
        let names: Vec<&str> = matching.bodies.iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.contains(&"mark.yml"), "{names:?}");
        assert!(unknown.bodies.is_empty());
    }

    #[test]
    fn loops_over_imports_are_refused() {
        let site = play("    - import_tasks: mark.yml\n      loop: [a]\n");
        let Err(errors) = compiled(&[("site.yml", &site), MARK]) else {
            panic!("refused");
        };
        assert_eq!(
            errors,
            ["site.yml:5:7: a loop over `import_tasks` is not supported here"]
        );
    }
}
