//! What the executor keeps per host across the run: its variables learned at run time
//! (facts, `set_fact`, `register`), its counts, its notified handlers, and its connection.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Map, Value};
use tokio::sync::OnceCell;

use crate::compile::Task;
use crate::modules::{ModuleKind, ReleaseSwitch};
use crate::report::HostStats;
use crate::transport::{Connector, ExecOutput, ExecRequest, Pipes, Transport, TransportError};

/// One host's run-time state.
pub struct HostState {
    /// The inventory name.
    pub name: String,
    /// Inventory variables (already merged by precedence; read again when `group_by` or
    /// `add_host` changes the host's groups or variables).
    pub inventory_vars: Mutex<Map<String, Value>>,
    /// Variables loaded by `include_vars` (below `facts` in precedence, as in Ansible).
    pub included: Mutex<Map<String, Value>>,
    /// Facts, `set_fact` values and registered results: Ansible's host-level run-time variables.
    pub facts: Mutex<Map<String, Value>>,
    /// The recap counts.
    pub stats: Mutex<HostStats>,
    /// Indices of handlers notified and not yet run.
    pub notified: Mutex<BTreeSet<usize>>,
    /// The connection, opened on first use.
    pub connection: LazyConnection,
    /// The release switch made in the current play, for automatic rollback.
    pub switch: Mutex<Option<SwitchRecord>>,
}

/// A release switch made on a host, and the health checks run since.
#[derive(Clone)]
pub struct SwitchRecord {
    /// The `release` task that switched.
    pub task: Arc<Task>,
    /// Where it switched, and from which release.
    pub switch: ReleaseSwitch,
    /// `health_check` tasks run after the switch.
    pub checks: Vec<Arc<Task>>,
}

impl HostState {
    /// Fresh state for a host.
    pub fn new(name: &str, inventory_vars: Map<String, Value>, connector: Arc<Connector>) -> Self {
        HostState {
            name: name.to_string(),
            connection: LazyConnection {
                host: name.to_string(),
                vars: inventory_vars.clone(),
                connector,
                cell: OnceCell::new(),
            },
            inventory_vars: Mutex::new(inventory_vars),
            included: Mutex::new(Map::new()),
            facts: Mutex::new(Map::new()),
            stats: Mutex::new(HostStats::default()),
            notified: Mutex::new(BTreeSet::new()),
            switch: Mutex::new(None),
        }
    }

    /// Changes the counts.
    pub fn count(&self, change: impl FnOnce(&mut HostStats)) {
        change(&mut self.stats.lock().expect("stats lock"));
    }

    /// Keeps what `task` set on this host: its variables (those of `include_vars` below facts and
    /// registered results, as in Ansible) and its registered result.
    pub fn remember(&self, task: &Task, facts: &Map<String, Value>, registered: &Value) {
        if task.module.kind() == ModuleKind::VarsLoader {
            let mut included = self.included.lock().expect("included lock");
            included.extend(facts.clone());
        } else {
            self.set_facts(facts.clone());
        }
        if let Some(name) = &task.register {
            self.set_facts([(name.clone(), registered.clone())]);
        }
    }

    /// Forgets the facts gathered for the host (`meta: clear_facts`): `ansible_facts` and the
    /// `ansible_*` variables it set. `set_fact` values and registered results stay, as in
    /// Ansible.
    pub fn clear_facts(&self) {
        let mut facts = self.facts.lock().expect("facts lock");
        if let Some(Value::Object(gathered)) = facts.remove("ansible_facts") {
            for name in gathered.keys() {
                facts.remove(&format!("ansible_{name}"));
            }
        }
    }

    /// Sets run-time variables (facts, registered results).
    pub fn set_facts(&self, values: impl IntoIterator<Item = (String, Value)>) {
        self.facts.lock().expect("facts lock").extend(values);
    }
}

/// A transport that connects the first time a command is run, so that tasks which never touch
/// the host (`debug`, `set_fact`) never open a connection.
pub struct LazyConnection {
    host: String,
    vars: Map<String, Value>,
    connector: Arc<Connector>,
    cell: OnceCell<Result<Arc<dyn Transport>, String>>,
}

impl LazyConnection {
    /// The opened transport, connecting now if this is the first use.
    pub async fn get(&self) -> Result<&Arc<dyn Transport>, TransportError> {
        let opened = self
            .cell
            .get_or_init(|| async {
                self.connector
                    .connect(&self.host, &self.vars)
                    .await
                    .map_err(|e| e.to_string())
            })
            .await;
        opened
            .as_ref()
            .map_err(|message| TransportError::Unreachable(message.clone()))
    }
}

#[async_trait]
impl Transport for LazyConnection {
    async fn exec(&self, request: ExecRequest) -> Result<ExecOutput, TransportError> {
        self.get().await?.exec(request).await
    }

    async fn spawn(&self, line: String) -> Result<Option<Pipes>, TransportError> {
        self.get().await?.spawn(line).await
    }

    fn describe(&self) -> String {
        match self.cell.get() {
            Some(Ok(transport)) => transport.describe(),
            _ => self.host.clone(),
        }
    }

    fn bastion(&self) -> Option<Arc<dyn Transport>> {
        self.cell.get()?.as_ref().ok()?.bastion()
    }

    async fn reset(&self) {
        if let Some(Ok(transport)) = self.cell.get() {
            transport.reset().await;
        }
    }
}
