//! The variables a task sees on a host, layered in Ansible's precedence order (lowest first),
//! plus the magic variables (`inventory_hostname`, `groups`, `hostvars`, ...).

use std::path::Path;

use serde_json::{Map, Value};

use super::Run;
use super::connection::connection_defaults;
use super::state::HostState;

use crate::compile::{Play, Task, playbook_dir};
use crate::modules::ModuleKind;
use crate::template::Layers;

/// The value `{{ omit }}` renders to; arguments holding it are dropped before the module runs.
pub const OMIT: &str = "__omit_place_holder__deployer";

/// What the context needs to know about the play in progress.
pub struct PlayContext<'a> {
    /// The play.
    pub play: &'a Play,
    /// Every host the play targets.
    pub all_hosts: &'a [String],
    /// The hosts of the current batch.
    pub batch: &'a [String],
}

impl Run<'_> {
    /// The variables of `task` on `host`, lowest precedence first:
    /// role defaults < inventory < play vars/vars_files < role vars < block/task vars <
    /// the loop variables of the includes around (`bound`) < `include_vars` < facts, `set_fact`
    /// and registered <
    /// role/include params < extra vars < magic variables.
    pub fn task_vars(
        &self,
        play: &PlayContext<'_>,
        host: &HostState,
        task: Option<&Task>,
        bound: &Map<String, Value>,
    ) -> Map<String, Value> {
        // Only the author's variables are templates; facts, results and the rest are data.
        let mut vars = Layers::new();
        vars.data(connection_defaults());
        if let Some(task) = task {
            vars.author(&task.scope.role_defaults);
        }
        vars.author(&host.inventory_vars.lock().expect("vars lock"));
        vars.author(&play.play.vars);
        if let Some(task) = task {
            vars.author(&task.scope.role_vars);
            vars.author(&task.scope.task_vars);
        }
        vars.data(bound.clone());
        vars.author(&host.included.lock().expect("included lock"));
        vars.data(host.facts.lock().expect("facts lock").clone());
        if let Some(task) = task {
            vars.author(&task.scope.params);
            if let Some(path) = &task.scope.role_path {
                let mut role = Map::new();
                role.insert(
                    "role_path".into(),
                    Value::String(path.display().to_string()),
                );
                if let Some(name) = &task.role {
                    role.insert("role_name".into(), Value::String(name.clone()));
                }
                vars.data(role);
            }
        }
        vars.author(&self.program.extra_vars);
        vars.data(self.magic(
            play,
            host,
            task.is_some_and(|t| t.reads.contains("hostvars") || renders_files(t)),
        ));
        vars.finish()
    }

    fn magic(
        &self,
        play: &PlayContext<'_>,
        host: &HostState,
        hostvars: bool,
    ) -> Map<String, Value> {
        let up = |hosts: &[String]| -> Vec<Value> {
            hosts
                .iter()
                .filter(|h| !self.is_down(h))
                .map(|h| Value::String(h.clone()))
                .collect()
        };
        let active = up(play.batch);
        let source = self
            .inventory()
            .source_of(&host.name)
            .map(Path::to_path_buf);
        let source_var = |path: Option<&Path>| {
            path.map_or(Value::Null, |p| Value::String(p.display().to_string()))
        };
        let short = host
            .name
            .split('.')
            .next()
            .unwrap_or(&host.name)
            .to_string();
        let entries = [
            ("inventory_hostname", Value::String(host.name.clone())),
            ("inventory_hostname_short", Value::String(short)),
            (
                "group_names",
                Value::from(self.inventory().groups_of(&host.name)),
            ),
            ("groups", Value::Object(self.inventory().groups_map())),
            (
                "ansible_play_hosts_all",
                Value::from(play.all_hosts.to_vec()),
            ),
            ("ansible_play_hosts", Value::Array(up(play.all_hosts))),
            ("play_hosts", Value::Array(active.clone())),
            ("ansible_play_batch", Value::Array(active)),
            ("ansible_play_name", Value::String(play.play.name.clone())),
            (
                "playbook_dir",
                Value::String(playbook_dir(&play.play.dir).display().to_string()),
            ),
            ("inventory_file", source_var(source.as_deref())),
            (
                "inventory_dir",
                source_var(source.as_deref().and_then(Path::parent)),
            ),
            ("ansible_version", ansible_version()),
            ("ansible_check_mode", Value::Bool(self.options.check)),
            ("ansible_diff_mode", Value::Bool(self.options.diff)),
            ("ansible_forks", Value::from(self.options.forks)),
            ("ansible_verbosity", Value::from(self.options.verbosity)),
            ("ansible_run_tags", Value::from(self.options.tags.clone())),
            (
                "ansible_skip_tags",
                Value::from(self.options.skip_tags.clone()),
            ),
            ("omit", Value::String(OMIT.into())),
        ];
        let mut vars: Map<String, Value> = entries
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect();
        if hostvars {
            vars.insert("hostvars".into(), Value::Object(self.hostvars(play)));
        }
        vars
    }

    /// `hostvars`: every host's inventory and run-time variables, the author's rendered for
    /// that host (those that cannot be are left as written).
    fn hostvars(&self, play: &PlayContext<'_>) -> Map<String, Value> {
        let hosts = self.hosts.lock().expect("hosts lock");
        let mut all = Map::new();
        for (name, state) in hosts.iter() {
            let mut layers = Layers::new();
            layers.author(&state.inventory_vars.lock().expect("vars lock"));
            layers.author(&play.play.vars);
            layers.author(&state.included.lock().expect("included lock"));
            layers.data(state.facts.lock().expect("facts lock").clone());
            layers.data([("inventory_hostname".into(), Value::String(name.clone()))]);
            let mut vars = layers.finish();
            self.templater.resolve_all(&mut vars);
            all.insert(name.clone(), Value::Object(vars));
        }
        all
    }
}

/// Whether a task renders template files, whose variables are only known when it runs (so
/// they may read `hostvars`).
fn renders_files(task: &Task) -> bool {
    task.module.kind() == ModuleKind::Template
}

/// The ansible-core release deployer behaves like, as `ansible_version` gives it.
const ANSIBLE_VERSION: (u64, u64, u64) = (2, 19, 14);

/// `ansible_version`: `{full, major, minor, revision, string}`, like ansible-core's.
fn ansible_version() -> Value {
    let (major, minor, revision) = ANSIBLE_VERSION;
    let full = format!("{major}.{minor}.{revision}");
    serde_json::json!({
        "full": full,
        "major": major,
        "minor": minor,
        "revision": revision,
        "string": full,
    })
}

/// Drops arguments whose value is `{{ omit }}`.
pub fn strip_omitted(args: &mut Map<String, Value>) {
    args.retain(|_, v| v.as_str() != Some(OMIT));
}
