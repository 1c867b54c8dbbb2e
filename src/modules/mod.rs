//! What should be: one file per module, each implementing [`Module`].
//!
//! A module reads the host's current state, decides what must change, and (unless in check mode)
//! changes only that, reporting `changed` truthfully. Modules reach hosts only through
//! [`ModuleContext`], never a transport directly, and never print.

mod add_host;
pub mod ansible_code;
mod apt;
mod apt_key;
mod apt_repository;
mod assemble;
mod assert;
pub mod attrs;
mod blockinfile;
mod command;
mod copy;
mod cron;
mod deb822_repository;
mod debug;
mod dnf;
mod edit;
pub mod facts;
mod fail;
mod fetch;
mod file;
mod find;
mod get_url;
mod getent;
mod git;
mod group;
mod group_by;
mod health_check;
mod hostname;
mod http;
mod include;
mod include_vars;
mod known_hosts;
mod lineinfile;
mod meta;
pub mod mode;
mod mount;
pub mod not_built_in;
mod package;
mod package_facts;
mod pause;
mod ping;
mod pip;
mod probe;
mod raw;
mod reboot;
mod release;
mod replace;
mod script;
mod service;
mod service_facts;
mod set_fact;
pub mod setup;
mod shell;
mod slurp;
pub mod spec;
mod stat;
mod synchronize;
mod sysctl;
mod systemd;
mod tempfile;
mod template;
pub mod transfer;
mod tree;
mod unarchive;
mod uri;
mod user;
mod wait_for;
mod wait_for_connection;

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::template::Templater;
use crate::transport::{Become, ExecOutput, ExecRequest, Stdin, Transport, TransportError};
pub use include::Include;
pub use spec::{ArgError, ArgSpec, ArgType, ModuleSpec};

/// Something the executor must do after a module ran (the `meta` module's actions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Run the notified handlers now.
    FlushHandlers,
    /// Stop the play for every host.
    EndPlay,
    /// Stop the current batch of the play for every host of it; the next batch runs.
    EndBatch,
    /// Stop the play for this host.
    EndHost,
    /// Forget this host's failures so it continues.
    ClearHostErrors,
    /// Forget this host's gathered facts.
    ClearFacts,
}

/// A before/after pair for `--diff`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    /// What the diff is about (a path, or `mode`).
    pub label: String,
    /// The old text.
    pub before: String,
    /// The new text.
    pub after: String,
}

/// What a module did on one host.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModuleResult {
    /// It changed the host (or, in check mode, would have).
    pub changed: bool,
    /// It failed.
    pub failed: bool,
    /// It did nothing because it did not apply (e.g. `creates` exists in check mode).
    pub skipped: bool,
    /// A message for people.
    pub msg: Option<String>,
    /// Module-specific return values (`rc`, `stdout`, `dest`, ...), as Ansible names them.
    pub data: Map<String, Value>,
    /// Diffs to show with `--diff`.
    pub diffs: Vec<Diff>,
    /// Variables to set on the host (`set_fact`).
    pub facts: Map<String, Value>,
    /// An action for the executor (`meta`).
    pub control: Option<Control>,
    /// The release switch it made (`release`), which a failed host is rolled back from.
    pub switch: Option<ReleaseSwitch>,
    /// A change to the run's inventory (`add_host`, `group_by`).
    pub inventory: Option<InventoryChange>,
}

/// A change to the run's in-memory inventory, seen by the plays and tasks after it.
#[derive(Debug, Clone, PartialEq)]
pub enum InventoryChange {
    /// Add a host, or update it: its groups and variables.
    AddHost {
        /// The inventory name.
        name: String,
        /// Groups to put it in.
        groups: Vec<String>,
        /// Variables to set on it.
        vars: Map<String, Value>,
    },
    /// Put the task's host in a group.
    GroupBy {
        /// The group.
        group: String,
        /// Groups the group becomes a child of.
        parents: Vec<String>,
    },
}

/// A release switch a `release` task made on a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseSwitch {
    /// The folder the releases live in.
    pub deploy_to: String,
    /// The release that was current before the switch (empty on a first deploy).
    pub previous: String,
}

/// What the executor must know of a module beyond its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleKind {
    /// An ordinary task.
    Task,
    /// `meta`: steers the run and is not counted in the recap.
    Meta,
    /// `include_vars`: its variables rank below facts and registered results.
    VarsLoader,
    /// `template`: renders a controller file named by `src`, whose variables may read `hostvars`.
    Template,
    /// `health_check`: run again after a failed host is rolled back.
    HealthCheck,
    /// `add_host`: runs once per batch, for the first host, like `run_once` (Ansible's
    /// `BYPASS_HOST_LOOP`).
    OncePerBatch,
}

impl ModuleResult {
    /// A result that changed nothing.
    pub fn ok() -> Self {
        ModuleResult::default()
    }

    /// A result that changed the host.
    pub fn changed() -> Self {
        ModuleResult {
            changed: true,
            ..ModuleResult::default()
        }
    }

    /// A failure with a message.
    pub fn failed(msg: impl Into<String>) -> Self {
        ModuleResult {
            failed: true,
            msg: Some(msg.into()),
            ..ModuleResult::default()
        }
    }

    /// Adds a return value.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.data.insert(key.to_string(), value.into());
        self
    }

    /// Sets the message.
    pub fn with_msg(mut self, msg: impl Into<String>) -> Self {
        self.msg = Some(msg.into());
        self
    }

    /// The result as a registered variable has it in Ansible (`changed`, `failed`, `rc`, ...).
    pub fn to_registered(&self) -> Value {
        let mut map = self.data.clone();
        map.insert("changed".into(), Value::Bool(self.changed));
        map.insert("failed".into(), Value::Bool(self.failed));
        if self.skipped {
            map.insert("skipped".into(), Value::Bool(true));
        }
        if let Some(msg) = &self.msg {
            map.insert("msg".into(), Value::String(msg.clone()));
        }
        if !self.facts.is_empty() {
            map.insert("ansible_facts".into(), Value::Object(self.facts.clone()));
        }
        Value::Object(map)
    }
}

/// Why a module could not do its work at all (as opposed to reporting a failure).
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    /// The host could not be reached or the command could not be run.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// An argument, once rendered, is not acceptable.
    #[error("bad argument: {0}")]
    Args(#[from] ArgError),
}

/// Everything a module may use while it runs on one host.
pub struct ModuleContext<'a> {
    /// The inventory name of the host.
    pub host: &'a str,
    /// How to reach the host.
    pub transport: &'a dyn Transport,
    /// Run commands through sudo as this user.
    pub become_user: Option<Become>,
    /// Environment for remote commands (the `environment` keyword).
    pub env: Vec<(String, String)>,
    /// Decide only; change nothing.
    pub check_mode: bool,
    /// Collect diffs.
    pub diff: bool,
    /// The task's variables, for modules that render or evaluate (`template`, `debug var=`).
    pub vars: &'a Value,
    /// The template engine.
    pub templater: &'a Templater,
    /// Where relative `src` files are looked up, in order (role `files/`, `templates/`, playbook dir).
    pub search_paths: &'a [PathBuf],
}

impl ModuleContext<'_> {
    /// Runs a shell script on the host with the task's become and environment.
    pub async fn run(&self, script: impl Into<String>) -> Result<ExecOutput, TransportError> {
        self.run_with_stdin(script, Stdin::Null).await
    }

    /// Runs a shell script on the host, feeding it `stdin`.
    pub async fn run_with_stdin(
        &self,
        script: impl Into<String>,
        stdin: Stdin,
    ) -> Result<ExecOutput, TransportError> {
        let request = ExecRequest {
            script: script.into(),
            stdin,
            become_user: self.become_user.clone(),
            env: self.env.clone(),
            timeout: None,
        };
        self.transport.exec(request).await
    }
}

/// A module: its argument spec, and how it brings a host to the wanted state.
#[async_trait]
pub trait Module: Send + Sync {
    /// The arguments it accepts; the compiler checks tasks against it.
    fn spec(&self) -> &'static ModuleSpec;

    /// What the executor must know of it.
    fn kind(&self) -> ModuleKind {
        ModuleKind::Task
    }

    /// What is wrong with a task's arguments, as far as is known before the run.
    fn check_args(&self, args: &Map<String, Value>) -> Vec<spec::ArgError> {
        self.spec().validate(args)
    }

    /// The file of Ansible's module code it runs, for a module deployer has not built in.
    fn ansible_code(&self) -> Option<&std::path::Path> {
        None
    }

    /// Decides what must change and, unless `ctx.check_mode`, applies it. `args` are rendered and
    /// normalised (canonical names, declared types).
    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError>;

    /// Whether the module runs on the controller against the host, as Ansible's action plugins
    /// such as `synchronize` do: `delegate_to` the controller is then where it runs anyway, and
    /// its context's transport stays the host's own connection.
    fn runs_on_controller(&self) -> bool {
        false
    }
}

/// Every built-in module, built once.
static MODULES: LazyLock<Vec<Arc<dyn Module>>> = LazyLock::new(|| {
    vec![
        Arc::new(add_host::AddHost),
        Arc::new(apt::Apt),
        Arc::new(apt_key::AptKey),
        Arc::new(apt_repository::AptRepository),
        Arc::new(assemble::Assemble),
        Arc::new(assert::Assert),
        Arc::new(blockinfile::BlockInFile),
        Arc::new(command::Command),
        Arc::new(copy::Copy),
        Arc::new(cron::Cron),
        Arc::new(deb822_repository::Deb822Repository),
        Arc::new(debug::Debug),
        Arc::new(dnf::Dnf),
        Arc::new(fail::Fail),
        Arc::new(fetch::Fetch),
        Arc::new(file::File),
        Arc::new(find::Find),
        Arc::new(get_url::GetUrl),
        Arc::new(getent::Getent),
        Arc::new(group_by::GroupBy),
        Arc::new(git::Git),
        Arc::new(group::Group),
        Arc::new(health_check::HealthCheck),
        Arc::new(hostname::Hostname),
        Arc::new(include_vars::IncludeVars),
        Arc::new(known_hosts::KnownHosts),
        Arc::new(lineinfile::LineInFile),
        Arc::new(meta::Meta),
        Arc::new(mount::Mount),
        Arc::new(package::Package),
        Arc::new(package_facts::PackageFacts),
        Arc::new(pause::Pause),
        Arc::new(pip::Pip),
        Arc::new(ping::Ping),
        Arc::new(raw::Raw),
        Arc::new(reboot::Reboot),
        Arc::new(release::Release),
        Arc::new(replace::Replace),
        Arc::new(script::Script),
        Arc::new(service::Service),
        Arc::new(service_facts::ServiceFacts),
        Arc::new(set_fact::SetFact),
        Arc::new(setup::Setup),
        Arc::new(shell::Shell),
        Arc::new(slurp::Slurp),
        Arc::new(stat::Stat),
        Arc::new(synchronize::Synchronize),
        Arc::new(sysctl::Sysctl),
        Arc::new(systemd::Systemd),
        Arc::new(template::Template),
        Arc::new(tempfile::TempFile),
        Arc::new(unarchive::Unarchive),
        Arc::new(uri::Uri),
        Arc::new(user::User),
        Arc::new(wait_for::WaitFor),
        Arc::new(wait_for_connection::WaitForConnection),
    ]
});

/// Finds a module by any of its names: `copy`, `ansible.builtin.copy`, `ansible.legacy.copy`.
pub fn lookup(name: &str) -> Option<Arc<dyn Module>> {
    let short = name
        .strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
        .unwrap_or(name);
    MODULES
        .iter()
        .find(|m| {
            let spec = m.spec();
            spec.name == short || spec.aliases.contains(&short)
        })
        .cloned()
}

/// The short names of every module, sorted, for messages and docs.
pub fn names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = MODULES.iter().map(|m| m.spec().name).collect();
    names.sort_unstable();
    names
}

/// Reads a string argument that the spec declared.
pub fn arg_str<'a>(args: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    args.get(name).and_then(Value::as_str)
}

/// Reads a whole number of seconds that the spec declared, with its default.
pub fn arg_seconds(args: &Map<String, Value>, name: &str, default: u64) -> std::time::Duration {
    let seconds = args.get(name).and_then(Value::as_u64).unwrap_or(default);
    std::time::Duration::from_secs(seconds)
}

/// Reads a boolean argument that the spec declared, with its default.
pub fn arg_bool(args: &Map<String, Value>, name: &str, default: bool) -> bool {
    args.get(name).and_then(Value::as_bool).unwrap_or(default)
}

#[cfg(test)]
pub(crate) mod testing;
