//! The compiled program: plays and task trees with every keyword resolved and checked.
//! Values that depend on a host (templates, `when`) stay as text and are evaluated at run time.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

pub use super::keyword::Keyword;
use crate::modules::Module;
use crate::parse::Span;
use crate::template::Templater;

/// Variables as a JSON object.
pub type Vars = Map<String, Value>;

/// A whole playbook, validated.
pub struct Program {
    /// The plays, in order (imported playbooks expanded in place).
    pub plays: Vec<Play>,
    /// The variables given with `-e`, which beat every other level.
    pub extra_vars: Vars,
}

/// How many hosts a `serial` batch takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BatchSize {
    /// This many hosts.
    Count(usize),
    /// This percentage of the play's hosts (at least one).
    Percent(f64),
}

/// How hosts move through a play's tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Every host finishes a task before any host starts the next (Ansible's default).
    Linear,
    /// Each host runs through its tasks as fast as it can.
    Free,
}

/// One play.
pub struct Play {
    /// Its name (the host pattern when none was given).
    pub name: String,
    /// Where it starts.
    pub span: Span,
    /// The host pattern.
    pub hosts: String,
    /// `vars` then `vars_files`, merged in that order.
    pub vars: Vars,
    /// `serial`: batch sizes; the last repeats. Empty means all hosts at once.
    pub serial: Vec<BatchSize>,
    /// Abort when more than this percentage of a batch failed.
    pub max_fail_percentage: Option<f64>,
    /// Abort the play for all hosts when any host fails (its tasks inherit it, templated).
    pub any_errors_fatal: Keyword<bool>,
    /// Linear or free.
    pub strategy: Strategy,
    /// Whether `gather_facts` was asked for (facts are gathered with a small shell probe).
    pub gather_facts: bool,
    /// Tags of the play itself (inherited by its tasks).
    pub tags: Vec<String>,
    /// The play's `remote_user`, `port` and `connection` (for gathering facts).
    pub connection: ConnectionKeywords,
    /// `pre_tasks`, then roles and `tasks`, then `post_tasks`: handlers are flushed after each.
    pub sections: Vec<Vec<TaskNode>>,
    /// The play's handlers (role handlers included).
    pub handlers: Vec<Arc<Task>>,
    /// The folder of the playbook file (`playbook_dir`).
    pub dir: PathBuf,
}

/// `dir` (a playbook's folder) made absolute, as Ansible's `playbook_dir` is (a playbook named
/// without a folder lives in the current one).
pub fn playbook_dir(dir: &std::path::Path) -> PathBuf {
    if dir.as_os_str().is_empty() {
        std::env::current_dir().unwrap_or_default()
    } else {
        std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
    }
}

/// A node of a task tree.
pub enum TaskNode {
    /// A single task.
    Task(Arc<Task>),
    /// A block with its rescue and always sections.
    Block(Block),
    /// A dynamic include (`include_tasks`, `include_role`).
    Include(Include),
}

/// `block`/`rescue`/`always`.
pub struct Block {
    /// Its name, when given.
    pub name: Option<String>,
    /// Where it starts.
    pub span: Span,
    /// The tasks tried first.
    pub block: Vec<TaskNode>,
    /// Run when a task in `block` failed; a success here rescues the host.
    pub rescue: Vec<TaskNode>,
    /// Run in every case.
    pub always: Vec<TaskNode>,
}

/// A dynamic include: a step of its own (counted, reported `included`, skipped once when its
/// `when` is false), then its tasks, once per loop item with the loop variable bound. Its own
/// keywords apply to the include step only, as in Ansible; its `vars` (and `apply`) reach its
/// tasks.
pub struct Include {
    /// The include step: its title, `when`, loop, tags and variables. Its `include` argument is
    /// the file or role name, rendered for each host (and item).
    pub step: Arc<Task>,
    /// The included tasks by file or role name, as rendered before the run: one entry, or one
    /// per loop item when the name depends on the item.
    pub bodies: Vec<(String, Vec<TaskNode>)>,
    /// The first error found in the file or role of a name, with its location: a host that
    /// includes it fails, as in Ansible, which loads it only then.
    pub problems: Vec<(String, String)>,
}

impl Include {
    /// The error found before the run in what `name` includes, if any.
    pub fn problem(&self, name: &str) -> Option<&str> {
        self.problems
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p.as_str())
    }
}

/// A loop over items (`loop`, `with_items`, `with_dict`, ...).
#[derive(Debug, Clone)]
pub struct Loop {
    /// The items: a list, or a template producing one.
    pub items: Value,
    /// How the raw items are turned into loop items.
    pub kind: LoopKind,
    /// The name of the loop variable (`item`).
    pub var: String,
    /// The name of the index variable, when wanted.
    pub index_var: Option<String>,
    /// A template for the item's label in output.
    pub label: Option<String>,
    /// Seconds to wait between items.
    pub pause: f64,
    /// Whether items see `ansible_loop` (`loop_control.extended`).
    pub extended: bool,
}

impl Loop {
    /// A loop over `items` with the default `loop_control`.
    pub fn new(items: Value, kind: LoopKind) -> Self {
        Loop {
            items,
            kind,
            var: "item".into(),
            index_var: None,
            label: None,
            pause: 0.0,
            extended: false,
        }
    }

    /// The loop items: `items` rendered with `vars`, then given to the `with_` lookup, or
    /// checked to be a list. `action` is the task's module (`with_first_found` searches by it).
    pub fn items(
        &self,
        templater: &Templater,
        vars: &Value,
        action: &str,
    ) -> Result<Vec<Value>, String> {
        let rendered = templater
            .render_value(&self.items, vars)
            .map_err(|e| e.to_string())?;
        match (&self.kind, rendered) {
            (LoopKind::Lookup(name), terms) => templater
                .loop_lookup(name, terms, vars, action)
                .map_err(|e| format!("with_{name}: {e}")),
            (LoopKind::List, Value::Array(items)) => Ok(items),
            (LoopKind::List, other) => Err(format!(
                "the loop must be given a list, not {}",
                crate::modules::spec::kind(&other)
            )),
        }
    }

    /// The variables item `index` of `items` binds: the loop variable, `ansible_loop_var`,
    /// the index variable and `ansible_index_var` when wanted, and `ansible_loop` when
    /// `extended`.
    pub fn bind(&self, index: usize, items: &[Value]) -> Vars {
        let mut vars = Vars::new();
        let item = items.get(index).cloned().unwrap_or(Value::Null);
        vars.insert(self.var.clone(), item);
        vars.insert("ansible_loop_var".into(), Value::from(self.var.clone()));
        if let Some(index_var) = &self.index_var {
            vars.insert(index_var.clone(), Value::from(index));
            vars.insert("ansible_index_var".into(), Value::from(index_var.clone()));
        }
        if self.extended {
            let length = items.len();
            let mut info = serde_json::json!({
                "allitems": items,
                "index": index + 1,
                "index0": index,
                "revindex": length - index,
                "revindex0": length - index - 1,
                "first": index == 0,
                "last": index + 1 == length,
                "length": length,
            });
            if let Some(previous) = index.checked_sub(1).and_then(|i| items.get(i)) {
                info["previtem"] = previous.clone();
            }
            if let Some(next) = items.get(index + 1) {
                info["nextitem"] = next.clone();
            }
            vars.insert("ansible_loop".into(), info);
        }
        vars
    }
}

/// The flavours of Ansible loops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoopKind {
    /// `loop:`: the items as given, a list.
    List,
    /// `with_<lookup>:`: the items the lookup gives for the terms (`with_items` flattens
    /// lists one level, `with_dict` makes `{key, value}` items, ...).
    Lookup(String),
}

/// Privilege escalation wanted by a task.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BecomeSpec {
    /// Whether to become another user.
    pub enabled: Keyword<bool>,
    /// The user to become (`root` when not given; a template is rendered per host).
    pub user: Option<String>,
}

/// Connection keywords in force (`remote_user`, `port`, `connection`), each as written (maybe
/// a template). The matching variable (`ansible_user`, ...) wins over a keyword, as in Ansible.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionKeywords {
    /// `remote_user`: the login user.
    pub remote_user: Option<String>,
    /// `port`: the SSH port.
    pub port: Option<String>,
    /// `connection`: `ssh` or `local`.
    pub connection: Option<String>,
}

impl ConnectionKeywords {
    /// Each keyword given, with the variables that override it (the first is the one it sets).
    pub fn given(&self) -> impl Iterator<Item = (&str, &'static [&'static str])> {
        [
            (&self.remote_user, &["ansible_user", "ansible_ssh_user"][..]),
            (&self.port, &["ansible_port", "ansible_ssh_port"][..]),
            (&self.connection, &["ansible_connection"][..]),
        ]
        .into_iter()
        .filter_map(|(value, vars)| Some((value.as_deref()?, vars)))
    }
}

/// One task, with every inherited keyword already folded in.
#[derive(Clone)]
pub struct Task {
    /// Its name as written, when written.
    pub name: Option<String>,
    /// The role it comes from, shown as `role : name`.
    pub role: Option<String>,
    /// Where the task starts.
    pub span: Span,
    /// The module to run.
    pub module: Arc<dyn Module>,
    /// The module's arguments, still templated.
    pub args: Value,
    /// Conditions that must all hold (the block's, then the task's own).
    pub when: Vec<String>,
    /// The loop, when there is one.
    pub looping: Option<Loop>,
    /// The variable to store the result in.
    pub register: Option<String>,
    /// Handler names or topics to notify when changed.
    pub notify: Vec<String>,
    /// Topics this handler listens to (handlers only).
    pub listen: Vec<String>,
    /// Conditions that say the task changed something.
    pub changed_when: Option<Vec<String>>,
    /// Conditions that say the task failed.
    pub failed_when: Option<Vec<String>>,
    /// Keep going when the task fails.
    pub ignore_errors: Keyword<bool>,
    /// Keep going when the host is unreachable.
    pub ignore_unreachable: Keyword<bool>,
    /// Retry until this condition holds.
    pub until: Option<String>,
    /// How many times to retry with `until`.
    pub retries: Keyword<u32>,
    /// Seconds between retries.
    pub delay: Keyword<f64>,
    /// Fail the task (each attempt) when it runs longer than this (the `timeout` keyword).
    pub timeout: Keyword<Option<std::time::Duration>>,
    /// `async`: fail the task when it runs longer than this, with Ansible's message.
    pub async_limit: Keyword<Option<std::time::Duration>>,
    /// `poll`: seconds between Ansible's checks of an `async` task (`0`: do not wait; deployer
    /// runs it to its end all the same).
    pub poll: Keyword<u32>,
    /// Run on the first host only and share the result.
    pub run_once: Keyword<bool>,
    /// Run on at most this many hosts at a time (`0`: as many as `forks` allows).
    pub throttle: Keyword<u32>,
    /// Run on another host (a template).
    pub delegate_to: Option<String>,
    /// Tags, inherited ones included.
    pub tags: Vec<String>,
    /// Hide arguments and results from every output (a template counts as hidden until it is
    /// rendered).
    pub no_log: Keyword<bool>,
    /// Variable layers in effect for this task, lowest first.
    pub scope: Arc<Scope>,
    /// `become` and `become_user`.
    pub become_spec: BecomeSpec,
    /// `remote_user`, `port` and `connection`.
    pub connection: ConnectionKeywords,
    /// Environment variables for remote commands: mappings (their values templated) or
    /// templates of one, outermost first.
    pub environment: Vec<Value>,
    /// Force check mode on or off for this task.
    pub check_mode: Option<Keyword<bool>>,
    /// Force diff output on or off for this task.
    pub diff: Option<Keyword<bool>>,
    /// Abort the play for every host when this task fails.
    pub any_errors_fatal: Keyword<bool>,
    /// Where relative files and templates are looked up, in order.
    pub search_paths: Arc<Vec<PathBuf>>,
    /// The variables its templates and conditions read (so the executor resolves only those, and
    /// builds `hostvars` only when read).
    pub reads: BTreeSet<String>,
}

impl Task {
    /// The task's title as Ansible shows it: `role : name`, or the module name.
    pub fn title(&self) -> String {
        let name = self
            .name
            .clone()
            .unwrap_or_else(|| self.module.spec().name.to_string());
        match &self.role {
            Some(role) => format!("{role} : {name}"),
            None => name,
        }
    }

    /// Whether it runs in check mode when the run's mode is `run`: its own `check_mode` when set
    /// and rendered, else the run's.
    pub fn check_mode_or(&self, run: bool) -> bool {
        self.check_mode.as_ref().map_or(run, |k| k.or(run))
    }

    /// Whether it shows differences when the run's `--diff` is `run` (as for `check_mode`).
    pub fn diff_or(&self, run: bool) -> bool {
        self.diff.as_ref().map_or(run, |k| k.or(run))
    }

    /// The templates among its keywords (those rendered per host when it runs).
    pub fn keyword_templates(&self) -> impl Iterator<Item = &str> {
        [
            self.ignore_errors.template(),
            self.ignore_unreachable.template(),
            self.retries.template(),
            self.delay.template(),
            self.timeout.template(),
            self.async_limit.template(),
            self.poll.template(),
            self.run_once.template(),
            self.throttle.template(),
            self.no_log.template(),
            self.become_spec.enabled.template(),
            self.become_spec
                .user
                .as_deref()
                .filter(|u| super::keyword::is_template(u)),
            self.check_mode.as_ref().and_then(Keyword::template),
            self.diff.as_ref().and_then(Keyword::template),
            self.any_errors_fatal.template(),
        ]
        .into_iter()
        .flatten()
    }

    /// Whether this handler answers a `notify` of `name`: by its name, its title or a topic it
    /// listens to.
    pub fn answers(&self, name: &str) -> bool {
        self.name.as_deref() == Some(name)
            || self.title() == name
            || self.listen.iter().any(|topic| topic == name)
    }
}

/// Variable layers that come from where a task was written: its role, its blocks, itself.
/// Each is placed at its own level of Ansible's precedence by the executor.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// The role's `defaults/` (lowest of all).
    pub role_defaults: Vars,
    /// The role's `vars/` (above play vars).
    pub role_vars: Vars,
    /// Block and task `vars` (above role vars).
    pub task_vars: Vars,
    /// Parameters given to the role or include (above registered variables).
    pub params: Vars,
    /// `role_path` and similar facts about where the task lives.
    pub role_path: Option<PathBuf>,
}
