//! One task mapping → a [`Task`] or a [`Block`]: keywords read and inherited, the module found
//! and its arguments checked, templates parsed. Includes are expanded by `includes.rs`.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::keyword;
use super::kv::split_kv;
use super::program::{
    BecomeSpec, Block, ConnectionKeywords, Keyword, Loop, LoopKind, Scope, Task, TaskNode, Vars,
};
use super::values::{boolean, number, string_list, suggest, text, vars};
use super::{Compiler, strip_braces};
use crate::diagnostic::Diagnostic;
use crate::modules::ansible_code::{self, AnsibleCode};
use crate::modules::not_built_in::{self, NotBuiltIn};
use crate::modules::{self, Module};
use crate::parse::{Node, NodeValue};
use crate::template::LOOKUPS;

/// Keywords a task may carry besides its module.
pub const TASK_KEYWORDS: &[&str] = &[
    "name",
    "when",
    "loop",
    "loop_control",
    "register",
    "notify",
    "listen",
    "changed_when",
    "failed_when",
    "ignore_errors",
    "ignore_unreachable",
    "until",
    "retries",
    "delay",
    "async",
    "poll",
    "run_once",
    "delegate_to",
    "delegate_facts",
    "tags",
    "no_log",
    "vars",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "become_exe",
    "remote_user",
    "port",
    "connection",
    "environment",
    "check_mode",
    "diff",
    "args",
    "any_errors_fatal",
    "timeout",
    "throttle",
    "debugger",
    "collections",
    "module_defaults",
];

/// Keywords a block may carry besides `block`, `rescue` and `always`.
const BLOCK_KEYWORDS: &[&str] = &[
    "name",
    "when",
    "tags",
    "vars",
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
    "ignore_unreachable",
    "no_log",
    "any_errors_fatal",
    "delegate_to",
    "run_once",
    "check_mode",
    "diff",
    "notify",
    "collections",
    "module_defaults",
    "debugger",
    "throttle",
    "timeout",
];

/// Keywords that include other tasks or roles; handled by the includes code.
pub const INCLUDE_KEYWORDS: &[&str] = &[
    "import_tasks",
    "include_tasks",
    "include",
    "import_role",
    "include_role",
    "ansible.builtin.import_tasks",
    "ansible.builtin.include_tasks",
    "ansible.builtin.import_role",
    "ansible.builtin.include_role",
];

/// What a task inherits from the play, its role and the blocks around it.
#[derive(Clone, Default)]
pub struct Inherited {
    /// Conditions of enclosing blocks and includes.
    pub when: Vec<String>,
    /// Tags of the play, role, blocks and includes.
    pub tags: Vec<String>,
    /// `become` settings in force.
    pub become_spec: BecomeSpec,
    /// `remote_user`, `port` and `connection` in force.
    pub connection: ConnectionKeywords,
    /// Environment in force: mappings or templates of one, outermost first.
    pub environment: Vec<Value>,
    /// `ignore_errors` in force.
    pub ignore_errors: Keyword<bool>,
    /// `ignore_unreachable` in force.
    pub ignore_unreachable: Keyword<bool>,
    /// `no_log` in force.
    pub no_log: Keyword<bool>,
    /// `check_mode` in force.
    pub check_mode: Option<Keyword<bool>>,
    /// `diff` in force.
    pub diff: Option<Keyword<bool>>,
    /// `any_errors_fatal` in force.
    pub any_errors_fatal: Keyword<bool>,
    /// `run_once` in force.
    pub run_once: Keyword<bool>,
    /// `throttle` in force.
    pub throttle: Keyword<u32>,
    /// `delegate_to` in force.
    pub delegate_to: Option<String>,
    /// `timeout` in force (from the play, a role, a block or the task).
    pub timeout: Keyword<Option<std::time::Duration>>,
    /// Variable layers in force.
    pub scope: Arc<Scope>,
    /// The role being compiled, if any.
    pub role: Option<String>,
    /// Where relative files are looked up.
    pub search_paths: Arc<Vec<std::path::PathBuf>>,
    /// The folder of the file being compiled, where includes are looked up first.
    pub file_dir: std::path::PathBuf,
}

impl Compiler<'_> {
    /// Compiles a list of task mappings; problems are recorded and the bad tasks left out.
    pub fn tasks(&mut self, node: &Node, inherited: &Inherited, handlers: bool) -> Vec<TaskNode> {
        let items = match &node.value {
            NodeValue::Null => return Vec::new(),
            NodeValue::Seq(items) => items,
            _ => {
                self.error(Diagnostic::error(
                    node.span.clone(),
                    format!("expected a list of tasks, found {}", node.kind()),
                ));
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for item in items {
            if item.as_map().is_none() {
                self.error(Diagnostic::error(
                    item.span.clone(),
                    format!("a task must be a mapping, not {}", item.kind()),
                ));
                continue;
            }
            out.extend(self.task_or_block(item, inherited, handlers));
        }
        out
    }

    fn task_or_block(
        &mut self,
        node: &Node,
        inherited: &Inherited,
        handlers: bool,
    ) -> Vec<TaskNode> {
        if node.get("block").is_some() {
            return self
                .block(node, inherited, handlers)
                .into_iter()
                .map(TaskNode::Block)
                .collect();
        }
        if let Some((key, value)) = node
            .as_map()
            .unwrap_or_default()
            .iter()
            .find(|(k, _)| k.as_str().is_some_and(|k| INCLUDE_KEYWORDS.contains(&k)))
        {
            return self.include(node, key, value, inherited, handlers);
        }
        self.task(node, inherited, handlers)
            .map(|t| vec![TaskNode::Task(Arc::new(t))])
            .unwrap_or_default()
    }

    fn block(&mut self, node: &Node, inherited: &Inherited, handlers: bool) -> Option<Block> {
        let mut allowed: Vec<&str> = BLOCK_KEYWORDS.to_vec();
        allowed.extend(["block", "rescue", "always"]);
        self.check_keys(node, &allowed, "block")?;
        let inner = self.inherit(node, inherited)?;
        let section = |this: &mut Self, key| {
            node.get(key)
                .map(|n| this.tasks(n, &inner, handlers))
                .unwrap_or_default()
        };
        Some(Block {
            name: node.get("name").and_then(|n| n.scalar_text()),
            span: node.span.clone(),
            block: section(self, "block"),
            rescue: section(self, "rescue"),
            always: section(self, "always"),
        })
    }

    /// Records an error for every key of `node` not in `allowed`; `None` when there was one.
    pub fn check_keys(&mut self, node: &Node, allowed: &[&str], what: &str) -> Option<()> {
        let mut ok = true;
        for (key, _) in node.as_map().unwrap_or_default() {
            let name = key.scalar_text().unwrap_or_default();
            if !allowed.contains(&name.as_str()) {
                let mut d =
                    Diagnostic::error(key.span.clone(), format!("unknown {what} keyword `{name}`"));
                if let Some(s) = suggest(&name, allowed.iter().copied()) {
                    d = d.with_help(format!("did you mean `{s}`?"));
                }
                self.error(d);
                ok = false;
            }
        }
        ok.then_some(())
    }

    /// Folds the keywords of a block, include or task into what its children inherit.
    pub fn inherit(&mut self, node: &Node, outer: &Inherited) -> Option<Inherited> {
        let mut inner = outer.clone();
        let result: Result<(), Diagnostic> = (|| {
            for (key, value) in node.as_map().unwrap_or_default() {
                match key.as_str().unwrap_or_default() {
                    "when" => {
                        let conditions = string_list("when", value, false)?;
                        for c in &conditions {
                            self.check_condition(c, value);
                        }
                        inner.when.extend(conditions);
                    }
                    "tags" => inner.tags.extend(string_list("tags", value, true)?),
                    "become" => inner.become_spec.enabled = self.flag("become", value)?,
                    "become_user" => {
                        inner.become_spec.user = Some(self.template_text("become_user", value)?)
                    }
                    "become_method" => {
                        let method = text("become_method", value)?;
                        if method != "sudo" {
                            return Err(Diagnostic::error(
                                value.span.clone(),
                                format!(
                                    "become_method `{method}` is not supported; only `sudo` is"
                                ),
                            ));
                        }
                    }
                    "remote_user" => {
                        inner.connection.remote_user =
                            Some(self.template_text("remote_user", value)?)
                    }
                    "port" => inner.connection.port = Some(self.template_text("port", value)?),
                    "connection" => {
                        inner.connection.connection = Some(self.template_text("connection", value)?)
                    }
                    "environment" => inner.environment.push(self.environment(value)?),
                    "ignore_errors" => inner.ignore_errors = self.flag("ignore_errors", value)?,
                    "ignore_unreachable" => {
                        inner.ignore_unreachable = self.flag("ignore_unreachable", value)?
                    }
                    "no_log" => inner.no_log = self.flag("no_log", value)?,
                    "check_mode" => inner.check_mode = Some(self.flag("check_mode", value)?),
                    "diff" => inner.diff = Some(self.flag("diff", value)?),
                    "any_errors_fatal" => {
                        inner.any_errors_fatal = self.flag("any_errors_fatal", value)?
                    }
                    "run_once" => inner.run_once = self.flag("run_once", value)?,
                    "throttle" => {
                        inner.throttle =
                            self.keyword(value, |n| Ok(number("throttle", n)? as u32))?
                    }
                    "delegate_to" => inner.delegate_to = Some(text("delegate_to", value)?),
                    "timeout" => inner.timeout = self.keyword(value, |n| seconds("timeout", n))?,
                    "vars" => {
                        let mut scope = (*inner.scope).clone();
                        scope.task_vars.extend(vars("vars", value)?);
                        inner.scope = Arc::new(scope);
                    }
                    _ => {}
                }
            }
            Ok(())
        })();
        match result {
            Ok(()) => Some(inner),
            Err(d) => {
                self.error(d);
                None
            }
        }
    }

    /// A keyword's text (`become_user`, `remote_user`, `port`, `connection`), its templates
    /// checked.
    fn template_text(&mut self, keyword: &str, value: &Node) -> Result<String, Diagnostic> {
        self.check_templates(&value.to_json(), value);
        text(keyword, value)
    }

    /// Compiles one task mapping (not a block, not an include).
    pub fn task(&mut self, node: &Node, inherited: &Inherited, handler: bool) -> Option<Task> {
        let ModuleCall {
            module,
            key: module_key,
            args,
            local,
        } = self.module_of(node, inherited)?;
        let mut task = self.task_running(node, inherited, handler, module, Value::Object(args))?;
        if local {
            task.delegate_to = Some("localhost".into());
        }
        let args_node = node.get(&module_key).unwrap_or(node);
        self.check_templates(&task.args, args_node);
        self.check_template_files(&task, args_node);
        for expression in super::expressions(&task).collect::<Vec<_>>() {
            self.check_condition(
                &expression,
                super::find_scalar(args_node, &expression).unwrap_or(args_node),
            );
        }
        task.reads = self.reads(&task);
        Some(task)
    }

    /// The task written at `node` running `module` with `args`: its keywords read and the
    /// inherited ones folded in. The caller checks the arguments and fills in `reads`.
    pub fn task_running(
        &mut self,
        node: &Node,
        inherited: &Inherited,
        handler: bool,
        module: Arc<dyn Module>,
        args: Value,
    ) -> Option<Task> {
        let mut common = self.inherit(node, inherited)?;
        let mut task = Task {
            name: node.get("name").and_then(|n| n.scalar_text()),
            role: inherited.role.clone(),
            span: node.span.clone(),
            module,
            args,
            when: std::mem::take(&mut common.when),
            looping: None,
            register: None,
            notify: Vec::new(),
            listen: Vec::new(),
            changed_when: None,
            failed_when: None,
            ignore_errors: common.ignore_errors.clone(),
            ignore_unreachable: common.ignore_unreachable.clone(),
            until: None,
            retries: Keyword::Literal(3),
            async_limit: Keyword::Literal(None),
            poll: Keyword::Literal(15),
            delay: Keyword::Literal(5.0),
            timeout: common.timeout.clone(),
            run_once: common.run_once.clone(),
            throttle: common.throttle.clone(),
            delegate_to: common.delegate_to.clone(),
            tags: common.tags.clone(),
            no_log: common.no_log.clone(),
            scope: Arc::clone(&common.scope),
            become_spec: common.become_spec.clone(),
            connection: common.connection.clone(),
            environment: common.environment.clone(),
            check_mode: common.check_mode.clone(),
            diff: common.diff.clone(),
            any_errors_fatal: common.any_errors_fatal.clone(),
            search_paths: Arc::clone(&common.search_paths),
            reads: Default::default(),
        };
        if let Err(d) = self.task_keywords(node, &mut task, handler) {
            self.error(d);
            return None;
        }
        Some(task)
    }

    /// The keywords that belong to tasks only (not blocks), read into `task`.
    fn task_keywords(
        &mut self,
        node: &Node,
        task: &mut Task,
        handler: bool,
    ) -> Result<(), Diagnostic> {
        for (key, value) in node.as_map().unwrap_or_default() {
            let name = key.as_str().unwrap_or_default();
            match name {
                _ if is_loop_keyword(name) => {
                    if task.looping.is_some() {
                        return Err(Diagnostic::error(
                            key.span.clone(),
                            "a task can have only one loop",
                        ));
                    }
                    let kind = match name.strip_prefix("with_") {
                        Some(lookup) => LoopKind::Lookup(known_lookup(lookup, key)?),
                        None => LoopKind::List,
                    };
                    self.check_templates(&value.to_json(), value);
                    task.looping = Some(Loop::new(value.to_json(), kind));
                }
                "register" => task.register = Some(self.identifier("register", value)?),
                "notify" => {
                    task.notify = string_list("notify", value, false)?;
                    let spans = value.as_seq().map_or(std::slice::from_ref(value), |s| s);
                    for (n, at) in task.notify.iter().zip(spans) {
                        self.notified.push((n.clone(), at.span.clone()));
                    }
                }
                "listen" if handler => task.listen = string_list("listen", value, false)?,
                "listen" => {
                    return Err(Diagnostic::error(
                        key.span.clone(),
                        "`listen` is only for handlers",
                    ));
                }
                "changed_when" | "failed_when" => {
                    let conditions = string_list(name, value, false)?;
                    for c in &conditions {
                        self.check_condition(c, value);
                    }
                    if name == "changed_when" {
                        task.changed_when = Some(conditions);
                    } else {
                        task.failed_when = Some(conditions);
                    }
                }
                "until" => {
                    // A list of conditions, as for `when`, holds when all of them do.
                    let conditions = string_list("until", value, false)?;
                    for c in &conditions {
                        self.check_condition(c, value);
                    }
                    task.until = match conditions.as_slice() {
                        [one] => Some(one.clone()),
                        all => Some(
                            (all.iter())
                                .map(|c| format!("({})", strip_braces(c)))
                                .collect::<Vec<_>>()
                                .join(" and "),
                        ),
                    };
                }
                "retries" => {
                    task.retries = self.keyword(value, |n| Ok(number("retries", n)? as u32))?
                }
                "delay" => task.delay = self.keyword(value, |n| number("delay", n))?,
                "async" => task.async_limit = self.keyword(value, |n| seconds("async", n))?,
                "poll" => {
                    task.poll = self.keyword(value, |n| Ok(number("poll", n)? as u32))?;
                    if task.poll == Keyword::Literal(0) {
                        self.error(Diagnostic::warning(
                            value.span.clone(),
                            "`poll: 0` starts a task in the background in Ansible; deployer runs it \
                             to its end before the next task",
                        ));
                    }
                }
                _ => {}
            }
        }
        if let Some(control) = node.get("loop_control") {
            // Without a loop Ansible ignores `loop_control` (roles write it on tasks included in
            // a loop); its keywords are still checked.
            let mut unused = Loop::new(Value::Null, LoopKind::List);
            loop_control(control, task.looping.as_mut().unwrap_or(&mut unused))?;
        }
        if task.until.is_some() && node.get("retries").is_none() {
            task.retries = Keyword::Literal(3);
        }
        Ok(())
    }

    /// A keyword that may be a template, its literal read by `literal`; a template's syntax is
    /// checked.
    fn keyword<T>(
        &mut self,
        node: &Node,
        literal: impl FnOnce(&Node) -> Result<T, Diagnostic>,
    ) -> Result<Keyword<T>, Diagnostic> {
        let parsed = keyword::parse(node, literal)?;
        if let Some(template) = parsed.template() {
            self.check_templates(&Value::String(template.to_string()), node);
        }
        Ok(parsed)
    }

    /// An `environment`: a mapping (its values may be templates), or a template of one rendered
    /// per host when the task runs.
    fn environment(&mut self, node: &Node) -> Result<Value, Diagnostic> {
        let value = match node.as_str() {
            Some(text) if keyword::is_template(text) => Value::String(text.to_string()),
            _ => Value::Object(environment_mapping(node)?),
        };
        self.check_templates(&value, node);
        Ok(value)
    }

    /// A boolean keyword that may be a template.
    fn flag(&mut self, name: &str, node: &Node) -> Result<Keyword<bool>, Diagnostic> {
        self.keyword(node, |n| boolean(name, n))
    }

    fn identifier(&self, keyword: &str, node: &Node) -> Result<String, Diagnostic> {
        let name = text(keyword, node)?;
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if valid {
            Ok(name)
        } else {
            Err(Diagnostic::error(
                node.span.clone(),
                format!("`{name}` is not a valid variable name for `{keyword}`"),
            ))
        }
    }

    /// Finds the module key of a task and its arguments (`args:` merged in).
    fn module_of(&mut self, node: &Node, inherited: &Inherited) -> Option<ModuleCall> {
        let entries = node.as_map().unwrap_or_default();
        let candidates: Vec<&(Node, Node)> = entries
            .iter()
            .filter(|(k, _)| {
                let name = k.as_str().unwrap_or_default();
                !TASK_KEYWORDS.contains(&name) && !is_loop_keyword(name)
            })
            .collect();
        let Some((key, value)) = candidates.first() else {
            self.error(
                Diagnostic::error(node.span.clone(), "this task names no module")
                    .with_help("add a module such as `command:` or `copy:`"),
            );
            return None;
        };
        let local = key.as_str() == Some("local_action");
        let (name, value) = if local {
            let Some(found) = local_action(value) else {
                self.error(Diagnostic::error(
                    value.span.clone(),
                    "`local_action` names no module: write `local_action: MODULE ARGS`",
                ));
                return None;
            };
            found
        } else {
            (key.scalar_text().unwrap_or_default(), (*value).clone())
        };
        let value = &value;
        let not_built_in = || self.not_built_in(&name, key, inherited);
        let Some(module) = modules::lookup(&name).or_else(not_built_in) else {
            let mut d = Diagnostic::error(
                key.span.clone(),
                format!("unknown module or task keyword `{name}`"),
            );
            let mut names: Vec<&str> = modules::names();
            names.extend(TASK_KEYWORDS);
            if let Some(s) = suggest(&name, names) {
                d = d.with_help(format!("did you mean `{s}`?"));
            }
            self.error(d);
            return None;
        };
        for (extra, _) in &candidates[1..] {
            let extra_name = extra.scalar_text().unwrap_or_default();
            self.error(Diagnostic::error(
                extra.span.clone(),
                format!("a task runs one module: found `{extra_name}` besides `{name}`"),
            ));
        }
        let mut args = match self.module_args(module.as_ref(), value) {
            Ok(args) => args,
            Err(d) => {
                self.error(d);
                return None;
            }
        };
        if let Some(extra) = node.get("args") {
            match vars("args", extra) {
                Ok(more) => args.extend(more),
                Err(d) => self.error(d),
            }
        }
        for problem in module.check_args(&args) {
            let span = problem
                .arg
                .as_deref()
                .and_then(|a| {
                    value
                        .as_map()
                        .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some(a)))
                })
                .map_or(key.span.clone(), |(k, _)| k.span.clone());
            // Ansible checks module arguments only when a host runs the task, so a role may
            // carry a task for another platform's version of a module: warn now, fail then.
            self.error(
                Diagnostic::error(span, problem.message)
                    .with_help("the task fails when a host runs it, as in Ansible")
                    .deferred(),
            );
        }
        Some(ModuleCall {
            module,
            key: key.scalar_text().unwrap_or_default(),
            args,
            local,
        })
    }

    /// A module deployer has not built in: Ansible's code for it when the controller has it (a
    /// role's or the playbook's `library/`, ansible-core, the collections), else a deferred error
    /// (ansible-core accepts the task; it fails on a host that runs it).
    fn not_built_in(
        &mut self,
        name: &str,
        key: &Node,
        inherited: &Inherited,
    ) -> Option<Arc<dyn Module>> {
        let library: Vec<_> = (inherited.scope.role_path.iter())
            .chain([&self.play_dir])
            .map(|dir| dir.join("library"))
            .collect();
        if let Some(source) = ansible_code::library_module(&library, name) {
            return Some(Arc::new(AnsibleCode::new(name, source)));
        }
        // A full name Ansible's lists lack may still be a collection installed here.
        let known = not_built_in::ansible_module(name);
        let full_name = known
            .clone()
            .or_else(|| name.contains('.').then(|| name.into()))?;
        let playbook_collections = [self.play_dir.join("collections")];
        let installation = ansible_code::Installation::get();
        let why = match installation.module(&full_name, &playbook_collections) {
            Ok(source) => return Some(Arc::new(AnsibleCode::new(name, source))),
            Err(_) if known.is_none() => return None,
            Err(why) => why,
        };
        self.error(
            Diagnostic::error(key.span.clone(), not_built_in::describe(name, &full_name))
                .with_help(format!(
                    "deployer cannot run Ansible's code for it: {why}; the task fails if a host runs it"
                ))
                .deferred(),
        );
        Some(Arc::new(NotBuiltIn::new(name, full_name)))
    }

    /// A module's arguments from a mapping, or from a `k=v` / free-form string.
    fn module_args(
        &self,
        module: &dyn Module,
        value: &Node,
    ) -> Result<Map<String, Value>, Diagnostic> {
        let spec = module.spec();
        match &value.value {
            NodeValue::Map(_) => {
                let mut args = vars(spec.name, value)?;
                if spec.free_form
                    && spec.arg("cmd").is_none()
                    && let Some(cmd) = args.remove("cmd")
                {
                    args.insert("_raw_params".into(), cmd);
                }
                Ok(args)
            }
            NodeValue::Null => Ok(Map::new()),
            NodeValue::Seq(_) => Err(Diagnostic::error(
                value.span.clone(),
                format!(
                    "arguments of `{}` must be a mapping or a string, not a list",
                    spec.name
                ),
            )),
            _ => {
                let line = value.scalar_text().unwrap_or_default();
                split_kv(&line, spec.free_form, |k| {
                    spec.open || spec.arg(k).is_some()
                })
                .map_err(|message| Diagnostic::error(value.span.clone(), message))
            }
        }
    }
}

/// The module a task runs, the key it was written under, its arguments, and whether it was
/// written as `local_action` (which runs it on the controller).
struct ModuleCall {
    module: Arc<dyn Module>,
    key: String,
    args: Map<String, Value>,
    local: bool,
}

/// The module name and arguments of `local_action: MODULE ARGS` or `local_action: {module:
/// MODULE, ARG: ...}`.
fn local_action(value: &Node) -> Option<(String, Node)> {
    match &value.value {
        NodeValue::Map(entries) => {
            let module = value.get("module")?.scalar_text()?;
            let rest = entries
                .iter()
                .filter(|(k, _)| k.as_str() != Some("module"))
                .cloned()
                .collect();
            let args = Node {
                value: NodeValue::Map(rest),
                span: value.span.clone(),
            };
            Some((module, args))
        }
        _ => {
            let text = value.scalar_text()?;
            let text = text.trim_start();
            let (module, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
            let args = Node {
                value: NodeValue::String(rest.trim().to_string()),
                span: value.span.clone(),
            };
            Some((module.to_string(), args))
        }
    }
}

/// Whether a task key is a loop: `loop`, or `with_<lookup>` for any lookup.
pub fn is_loop_keyword(key: &str) -> bool {
    key == "loop" || key.strip_prefix("with_").is_some_and(|l| !l.is_empty())
}

/// The lookup of a `with_<lookup>` key written at `key`, when there is such a lookup.
fn known_lookup(lookup: &str, key: &Node) -> Result<String, Diagnostic> {
    let bare = lookup.strip_prefix("ansible.builtin.").unwrap_or(lookup);
    if LOOKUPS.contains(&bare) {
        return Ok(lookup.to_string());
    }
    let mut d = Diagnostic::error(
        key.span.clone(),
        format!("unknown lookup `{lookup}` in `with_{lookup}`"),
    );
    if let Some(s) = suggest(bare, LOOKUPS.iter().copied()) {
        d = d.with_help(format!("did you mean `with_{s}`?"));
    }
    Err(d)
}

/// A task's `timeout` or `async`: whole seconds, `0` meaning none, like Ansible.
fn seconds(keyword: &str, node: &Node) -> Result<Option<std::time::Duration>, Diagnostic> {
    let seconds = number(keyword, node)?;
    if seconds < 0.0 || seconds.fract() != 0.0 {
        return Err(Diagnostic::error(
            node.span.clone(),
            format!("`{keyword}` must be a whole number of seconds, not {seconds}"),
        ));
    }
    Ok((seconds > 0.0).then(|| std::time::Duration::from_secs(seconds as u64)))
}

/// Reads `loop_control` into a loop.
fn loop_control(node: &Node, looping: &mut Loop) -> Result<(), Diagnostic> {
    for (key, value) in node.as_map().unwrap_or_default() {
        match key.as_str().unwrap_or_default() {
            "loop_var" => looping.var = text("loop_var", value)?,
            "index_var" => looping.index_var = Some(text("index_var", value)?),
            "label" => looping.label = Some(text("label", value)?),
            "pause" => looping.pause = number("pause", value)?,
            "extended" => looping.extended = boolean("extended", value)?,
            other => {
                return Err(Diagnostic::error(
                    key.span.clone(),
                    format!("unknown loop_control keyword `{other}`"),
                ));
            }
        }
    }
    Ok(())
}

/// `environment`: a mapping, or a list of mappings merged in order (as Ansible takes it).
fn environment_mapping(node: &Node) -> Result<Vars, Diagnostic> {
    match &node.value {
        NodeValue::Seq(items) => items.iter().try_fold(Vars::new(), |mut all, item| {
            all.extend(vars("environment", item)?);
            Ok(all)
        }),
        _ => vars("environment", node),
    }
}
