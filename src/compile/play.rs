//! Playbook files → plays: play keywords, `vars_files`, sections, handlers bound to `notify`,
//! and `import_playbook` expanded in place.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::Compiler;
use super::keyword;
use super::program::{BatchSize, Play, Strategy, Task, TaskNode, Vars};
use super::task::Inherited;
use super::values::{boolean, number, string_list, text, vars};
use crate::diagnostic::Diagnostic;
use crate::parse::{Node, NodeValue};

/// Keywords a play may carry.
const PLAY_KEYWORDS: &[&str] = &[
    "name",
    "hosts",
    "vars",
    "vars_files",
    "pre_tasks",
    "roles",
    "tasks",
    "post_tasks",
    "handlers",
    "serial",
    "max_fail_percentage",
    "any_errors_fatal",
    "strategy",
    "gather_facts",
    "gather_subset",
    "gather_timeout",
    "fact_path",
    "vars_prompt",
    "environment",
    "tags",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "become_exe",
    "ignore_errors",
    "ignore_unreachable",
    "no_log",
    "check_mode",
    "diff",
    "collections",
    "force_handlers",
    "module_defaults",
    "run_once",
    "remote_user",
    "port",
    "connection",
    "order",
    "debugger",
    "throttle",
    "timeout",
];

impl Compiler<'_> {
    /// Compiles every play of a playbook file, following `import_playbook`.
    pub fn playbook(&mut self, path: &Path) -> Vec<Play> {
        let Some(root) = self.read_file(path, None) else {
            return Vec::new();
        };
        let dir = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let Some(items) = root.as_seq() else {
            self.error(Diagnostic::error(
                root.span.clone(),
                format!("a playbook is a list of plays, found {}", root.kind()),
            ));
            return Vec::new();
        };
        let mut plays = Vec::new();
        for item in items {
            if let Some(import) = item
                .get("import_playbook")
                .or_else(|| item.get("ansible.builtin.import_playbook"))
            {
                if let Ok(name) = text("import_playbook", import) {
                    let target = dir.join(name);
                    plays.extend(self.nested(&target, import, |c| c.playbook(&target)));
                }
                continue;
            }
            if item.as_map().is_none() {
                self.error(Diagnostic::error(
                    item.span.clone(),
                    format!("a play must be a mapping, not {}", item.kind()),
                ));
                continue;
            }
            plays.extend(self.play(item, &dir));
        }
        plays
    }

    /// Parses a YAML file (decrypting a vault file), recording its error; `from` is where it was referenced.
    pub fn read_file(&mut self, path: &Path, from: Option<&Node>) -> Option<Node> {
        match self.vault.parse_yaml_file(path) {
            Ok(node) => Some(node),
            Err(mut d) => {
                if let (Some(from), true) = (from, d.span.source.text.is_empty()) {
                    d = Diagnostic::error(
                        from.span.clone(),
                        format!("{}: {}", path.display(), d.message),
                    );
                }
                self.error(d);
                None
            }
        }
    }

    /// Runs `body` with `path` on the include stack, refusing cycles at `node`.
    pub fn nested<T: Default>(
        &mut self,
        path: &Path,
        node: &Node,
        body: impl FnOnce(&mut Self) -> T,
    ) -> T {
        let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if self.include_stack.contains(&key) {
            self.error(Diagnostic::error(
                node.span.clone(),
                format!(
                    "{} includes itself (through {} levels)",
                    path.display(),
                    self.include_stack.len()
                ),
            ));
            return T::default();
        }
        self.include_stack.push(key);
        let out = body(self);
        self.include_stack.pop();
        out
    }

    fn play(&mut self, node: &Node, dir: &Path) -> Option<Play> {
        self.check_keys(node, PLAY_KEYWORDS, "play")?;
        let Some(hosts_node) = node.get("hosts") else {
            self.error(Diagnostic::error(
                node.span.clone(),
                "this play has no `hosts`",
            ));
            return None;
        };
        let hosts = string_list("hosts", hosts_node, false)
            .map(|h| h.join(":"))
            .map_err(|d| self.error(d))
            .ok()?;
        let name = node
            .get("name")
            .and_then(|n| n.scalar_text())
            .unwrap_or_else(|| hosts.clone());
        let config = Inherited {
            become_spec: crate::config::settings().become_spec(),
            ..Inherited::default()
        };
        let mut inherited = self.inherit(node, &config)?;
        let mut search_paths = vec![dir.to_path_buf(), dir.join("files"), dir.join("templates")];
        search_paths.dedup();
        inherited.search_paths = Arc::new(search_paths);
        let mut play_vars = self.play_vars(node, dir);
        play_vars.extend(self.prompted_vars(node));
        self.check_variable_loops(&play_vars, node.get("vars").unwrap_or(node));
        let play_tags = inherited.tags.clone();
        self.notified.clear();
        self.roles_seen.clear();
        self.play_dir = dir.to_path_buf();
        inherited.file_dir = dir.to_path_buf();
        let pre_tasks = self.section(node, "pre_tasks", &inherited);
        let mut main = self.roles_section(node, &inherited);
        main.extend(self.section(node, "tasks", &inherited));
        let post_tasks = self.section(node, "post_tasks", &inherited);
        let mut handlers = std::mem::take(&mut self.role_handlers);
        if let Some(list) = node.get("handlers") {
            let compiled = self.tasks(list, &inherited, true);
            self.collect_handlers(compiled, &mut handlers);
        }
        self.bind_notifications(&handlers);
        let settings = self
            .play_settings(node, &play_vars)
            .map_err(|d| self.error(d))
            .ok()?;
        Some(Play {
            name,
            span: node.span.clone(),
            hosts,
            vars: play_vars,
            serial: settings.serial,
            max_fail_percentage: settings.max_fail_percentage,
            any_errors_fatal: inherited.any_errors_fatal.clone(),
            connection: inherited.connection.clone(),
            strategy: settings.strategy,
            gather_facts: settings.gather_facts,
            tags: play_tags,
            sections: vec![pre_tasks, main, post_tasks],
            handlers,
            dir: dir.to_path_buf(),
        })
    }

    /// Refuses variables that read themselves through their templates (`a: "{{ b }}"`,
    /// `b: "{{ a }}"`), pointing at the first variable of the loop.
    fn check_variable_loops(&mut self, vars: &Vars, at: &Node) {
        let reads = |value: &Value| -> Vec<String> {
            let mut sources = Vec::new();
            super::collect_strings(value, &mut sources);
            sources
                .iter()
                .filter_map(|s| self.templater.undeclared_variables(s).ok())
                .flatten()
                .filter(|name| vars.contains_key(name))
                .collect()
        };
        let graph: Vec<(&String, Vec<String>)> = vars.iter().map(|(k, v)| (k, reads(v))).collect();
        for (start, _) in &graph {
            let mut path = vec![(*start).clone()];
            if let Some(cycle) = find_cycle(&graph, &mut path) {
                let span = at
                    .as_map()
                    .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some(start.as_str())))
                    .map_or(at.span.clone(), |(k, _)| k.span.clone());
                self.error(Diagnostic::error(
                    span,
                    format!("recursive loop in variables: {}", cycle.join(" -> ")),
                ));
                return;
            }
        }
    }

    fn section(&mut self, play: &Node, key: &str, inherited: &Inherited) -> Vec<TaskNode> {
        play.get(key)
            .map(|n| self.tasks(n, inherited, false))
            .unwrap_or_default()
    }

    /// Adds compiled handler tasks to the play's handlers (blocks are refused).
    pub fn collect_handlers(&mut self, compiled: Vec<TaskNode>, handlers: &mut Vec<Arc<Task>>) {
        for node in compiled {
            match node {
                TaskNode::Task(task) => handlers.push(task),
                TaskNode::Block(block) => self.error(Diagnostic::error(
                    block.span,
                    "blocks are not supported in handlers",
                )),
                TaskNode::Include(include) => self.error(
                    Diagnostic::error(
                        include.step.span.clone(),
                        "a dynamic include inside a role used as a handler is not supported",
                    )
                    .with_help("use `import_tasks` in the role"),
                ),
            }
        }
    }

    /// A `notify` that names no handler nor `listen` topic is a deferred error: like Ansible,
    /// the run fails only when a task that changed something notifies it (a role may notify a
    /// handler that only another platform's files define); `validate --strict` refuses it.
    fn bind_notifications(&mut self, handlers: &[Arc<Task>]) {
        for (name, span) in std::mem::take(&mut self.notified) {
            if !handlers.iter().any(|h| h.answers(&name)) {
                let mut names: Vec<String> =
                    handlers.iter().filter_map(|h| h.name.clone()).collect();
                names.extend(handlers.iter().flat_map(|h| h.listen.clone()));
                let help = if names.is_empty() {
                    "this play has no handlers".to_string()
                } else {
                    format!("handlers here: {}", names.join(", "))
                };
                self.error(
                    Diagnostic::error(span, format!("`notify` names no handler: `{name}`"))
                        .with_help(help)
                        .deferred(),
                );
            }
        }
    }

    /// `vars`, then each of `vars_files`, merged in order.
    fn play_vars(&mut self, node: &Node, dir: &Path) -> Vars {
        let mut merged = Vars::new();
        if let Some(v) = node.get("vars") {
            match vars("vars", v) {
                Ok(v) => merged.extend(v),
                Err(d) => self.error(d),
            }
        }
        let Some(files) = node.get("vars_files") else {
            return merged;
        };
        let Ok(names) = string_list("vars_files", files, false) else {
            self.error(Diagnostic::error(
                files.span.clone(),
                "`vars_files` must be a list of file names",
            ));
            return merged;
        };
        for name in names {
            let mut context = merged.clone();
            context.extend(self.extra_vars.clone());
            let rendered = match self.templater.render_str(&name, &Value::Object(context)) {
                Ok(r) => r,
                Err(e) => {
                    self.error(Diagnostic::error(
                        files.span.clone(),
                        format!("vars_files `{name}`: {e}"),
                    ));
                    continue;
                }
            };
            let path = dir.join(&rendered);
            if let Some(file) = self.read_file(&path, Some(files)) {
                match vars("vars file", &file) {
                    Ok(v) => merged.extend(v),
                    Err(d) => self.error(d),
                }
            }
        }
        merged
    }

    /// The values of `vars_prompt`: deployer does not prompt, so each comes from `-e` (as in
    /// Ansible, which then does not ask either), else from the prompt's `default`, else it is
    /// null, with a warning (what Ansible does when it is not run from a terminal).
    fn prompted_vars(&mut self, node: &Node) -> Vars {
        let mut prompted = Vars::new();
        let Some(list) = node.get("vars_prompt") else {
            return prompted;
        };
        let Some(items) = list.as_seq() else {
            self.error(Diagnostic::error(
                list.span.clone(),
                "`vars_prompt` must be a list of prompts",
            ));
            return prompted;
        };
        for item in items {
            let Some(name) = item.get("name").and_then(Node::as_str) else {
                self.error(Diagnostic::error(
                    item.span.clone(),
                    "a `vars_prompt` entry needs a `name`",
                ));
                continue;
            };
            if self.extra_vars.contains_key(name) {
                continue;
            }
            let value = match item.get("default") {
                Some(default) => default.to_json(),
                None => {
                    self.error(Diagnostic::warning(
                        item.span.clone(),
                        format!(
                            "`vars_prompt` `{name}` has no `default` and deployer does not \
                             prompt, so it is null: give it with `-e {name}=...`"
                        ),
                    ));
                    Value::Null
                }
            };
            prompted.insert(name.to_string(), value);
        }
        prompted
    }

    fn play_settings(&self, node: &Node, play_vars: &Vars) -> Result<PlaySettings, Diagnostic> {
        let mut settings = PlaySettings {
            serial: Vec::new(),
            max_fail_percentage: None,
            strategy: Strategy::Linear,
            gather_facts: true,
        };
        if let Some(serial) = node.get("serial") {
            let items: Vec<&Node> = match &serial.value {
                NodeValue::Seq(items) => items.iter().collect(),
                _ => vec![serial],
            };
            settings.serial = items
                .into_iter()
                .map(|item| self.batch_size(item, play_vars))
                .collect::<Result<_, _>>()?;
        }
        if let Some(n) = node.get("max_fail_percentage") {
            let percentage = match n.as_str() {
                Some(template) if keyword::is_template(template) => self
                    .render_at_play_start(template, play_vars)
                    .and_then(|text| {
                        let number = text.trim().trim_end_matches('%').parse();
                        number.map_err(|_| format!("not a number: `{text}`"))
                    })
                    .map_err(|e| {
                        Diagnostic::error(
                            n.span.clone(),
                            format!("`max_fail_percentage` must be a number: {e}"),
                        )
                    })?,
                _ => number("max_fail_percentage", n)?,
            };
            settings.max_fail_percentage = Some(percentage);
        }
        if let Some(s) = node.get("strategy") {
            settings.strategy = match text("strategy", s)?.as_str() {
                "linear" => Strategy::Linear,
                "free" => Strategy::Free,
                other => {
                    return Err(Diagnostic::error(
                        s.span.clone(),
                        format!("unknown strategy `{other}`; use `linear` or `free`"),
                    ));
                }
            };
        }
        if let Some(g) = node.get("gather_facts") {
            settings.gather_facts = boolean("gather_facts", g)?;
        }
        Ok(settings)
    }
}

impl Compiler<'_> {
    /// One `serial` entry: a count, a percentage, or a template of one rendered with the play's
    /// variables and `-e` values (known before the run).
    fn batch_size(&self, node: &Node, play_vars: &Vars) -> Result<BatchSize, Diagnostic> {
        let bad = |detail: String| {
            Diagnostic::error(
                node.span.clone(),
                format!(
                    "`serial` takes a number of hosts, a percentage like \"25%\", or a list of them{detail}"
                ),
            )
        };
        let text = match &node.value {
            NodeValue::Int(n) => n.to_string(),
            NodeValue::String(s) if keyword::is_template(s) => self
                .render_at_play_start(s, play_vars)
                .map_err(|e| bad(format!(" ({e})")))?,
            NodeValue::String(s) => s.clone(),
            _ => return Err(bad(String::new())),
        };
        parse_batch(&text).ok_or_else(|| bad(format!(", not `{text}`")))
    }
}

impl Compiler<'_> {
    /// A play keyword's template rendered with what is known when the play starts: the play's
    /// variables and `-e` values, as Ansible templates `serial` and `max_fail_percentage`.
    fn render_at_play_start(&self, template: &str, play_vars: &Vars) -> Result<String, String> {
        let mut known = play_vars.clone();
        known.extend(self.extra_vars.clone());
        self.templater
            .render_str(template, &Value::Object(known))
            .map_err(|e| e.to_string())
    }
}

struct PlaySettings {
    serial: Vec<BatchSize>,
    max_fail_percentage: Option<f64>,
    strategy: Strategy,
    gather_facts: bool,
}

/// Follows variable reads from the last name of `path`; returns the loop back to `path[0]`.
fn find_cycle(graph: &[(&String, Vec<String>)], path: &mut Vec<String>) -> Option<Vec<String>> {
    let last = path.last()?.clone();
    let next = graph.iter().find(|(name, _)| **name == last)?.1.clone();
    for dependency in next {
        if dependency == path[0] {
            let mut cycle = path.clone();
            cycle.push(dependency);
            return Some(cycle);
        }
        if path.contains(&dependency) {
            continue;
        }
        path.push(dependency);
        if let Some(cycle) = find_cycle(graph, path) {
            return Some(cycle);
        }
        path.pop();
    }
    None
}

/// A `serial` value as text: a count or a percentage.
fn parse_batch(text: &str) -> Option<BatchSize> {
    match text.trim().strip_suffix('%') {
        Some(p) => p
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|p| *p > 0.0)
            .map(BatchSize::Percent),
        None => text
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .map(BatchSize::Count),
    }
}
