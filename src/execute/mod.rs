//! Runs a [`Plan`]: plays, `serial` batches, hosts in parallel (bounded by `forks`), failure
//! accounting, handlers and the recap. Reaches hosts only through the [`Connector`]; never
//! names SSH and never prints (it emits [`Event`]s).

mod connection;
mod context;
mod deadline;
mod facts;
mod include;
mod keywords;
mod lock;
pub use lock::{BASTION_LOCK, DEFAULT_LOCK_PATH, HOST_LOCK, LockKind, force_release};
mod lockstep;
mod rollback;
mod state;
mod task;
mod traced;
mod walk;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use futures::future::join_all;
use tokio::sync::{Notify, Semaphore};

use crate::compile::{Program, Strategy};
use crate::inventory::Inventory;
use crate::modules::InventoryChange;
use crate::plan::{Limit, Plan, PlayPlan, batches, exceeds, play_hosts};
use crate::report::{Emitter, Event, Recap, RunId};
use crate::template::Templater;
use crate::transport::Connector;
use context::PlayContext;
use lockstep::Lockstep;
use state::HostState;
use walk::{Flow, PlayRun};

/// Settings of one run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Decide only; change nothing.
    pub check: bool,
    /// Show diffs of what changes.
    pub diff: bool,
    /// At most this many hosts run a task at the same time.
    pub forks: usize,
    /// Restrict every play to hosts matching this pattern.
    pub limit: Option<String>,
    /// `--tags`.
    pub tags: Vec<String>,
    /// `--skip-tags`.
    pub skip_tags: Vec<String>,
    /// This run's id, made once per run.
    pub run_id: RunId,
    /// Asks the run to stop after the tasks already running (Ctrl-C).
    pub stop: StopSignal,
    /// The sudo password for hosts whose variables give none (`DEPLOYER_BECOME_PASSWORD`).
    pub become_password: BecomePassword,
    /// Who runs deployer (`$USER`, else `$GITHUB_ACTOR`), named in the deploy locks it takes.
    pub user: String,
    /// How many `-v` were given (`ansible_verbosity`).
    pub verbosity: u8,
}

/// A sudo password given to the controller; `Debug` never shows it.
#[derive(Clone, Default)]
pub struct BecomePassword(pub Option<String>);

impl std::fmt::Debug for BecomePassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Some(***)"
        } else {
            "None"
        })
    }
}

/// A flag that asks a run to stop after the tasks already running (Ctrl-C); cheap to clone and
/// share with a signal handler, and awaitable.
#[derive(Debug, Clone, Default)]
pub struct StopSignal(Arc<StopFlag>);

#[derive(Debug, Default)]
struct StopFlag {
    stopped: AtomicBool,
    wake: Notify,
}

impl StopSignal {
    /// Asks the run to stop.
    pub fn stop(&self) {
        self.0.stopped.store(true, Ordering::SeqCst);
        self.0.wake.notify_waiters();
    }

    /// Whether the run was asked to stop.
    pub fn is_stopped(&self) -> bool {
        self.0.stopped.load(Ordering::SeqCst)
    }

    /// Returns once the run is asked to stop.
    pub async fn stopped(&self) {
        loop {
            let woken = self.0.wake.notified();
            if self.is_stopped() {
                return;
            }
            woken.await;
        }
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            check: false,
            diff: false,
            forks: 25,
            limit: None,
            tags: Vec::new(),
            skip_tags: Vec::new(),
            run_id: RunId::generate(),
            stop: StopSignal::default(),
            become_password: BecomePassword::default(),
            user: "unknown".into(),
            verbosity: 0,
        }
    }
}

/// The state of one run across its plays.
pub struct Run<'a> {
    program: &'a Program,
    /// The inventory, changed during the run by `add_host` and `group_by`.
    inventory: RwLock<Inventory>,
    options: &'a RunOptions,
    connector: Arc<Connector>,
    templater: &'a Templater,
    emitter: Emitter,
    forks: Semaphore,
    /// Every host seen so far, by name.
    hosts: Mutex<BTreeMap<String, Arc<HostState>>>,
    /// Hosts that failed or were unreachable: they take no further part in the run.
    down: Mutex<HashSet<String>>,
    /// The deploy locks.
    locks: lock::LockService<'a>,
}

/// Runs a plan against the inventory it was built with and returns the recap (also emitted
/// last).
pub async fn execute(
    plan: &Plan<'_>,
    inventory: &Inventory,
    options: &RunOptions,
    connector: Arc<Connector>,
    templater: &Templater,
    emitter: Emitter,
) -> Recap {
    let run = Run {
        program: plan.program,
        inventory: RwLock::new(inventory.clone()),
        options,
        connector,
        templater,
        locks: lock::LockService::new(
            lock::LockOwner::current(&options.run_id, &options.user),
            templater,
            emitter.clone(),
        ),
        emitter,
        forks: Semaphore::new(options.forks.max(1)),
        hosts: Mutex::new(BTreeMap::new()),
        down: Mutex::new(HashSet::new()),
    };
    for play in &plan.plays {
        if options.stop.is_stopped() || !run.play(play).await {
            break;
        }
    }
    run.locks.release_all().await;
    let interrupted = options.stop.is_stopped();
    if interrupted {
        run.emitter.emit(Event::Warning {
            message: "interrupted: stopped after the tasks that were running".into(),
        });
    }
    let recap = Recap {
        interrupted,
        locked_out: run.locks.locked_out(),
        hosts: run
            .hosts
            .lock()
            .expect("hosts lock")
            .iter()
            .map(|(name, state)| (name.clone(), *state.stats.lock().expect("stats lock")))
            .collect(),
    };
    run.emitter.emit(Event::Recap(recap.clone()));
    recap
}

/// How a batch ended.
struct BatchOutcome {
    /// The whole run must stop (`any_errors_fatal`, `max_fail_percentage`).
    fatal: bool,
    /// The play is over (`meta: end_play`).
    ended: bool,
    /// How many of its hosts failed or were unreachable.
    failed: usize,
}

impl Run<'_> {
    /// Runs one play, batch by batch. Returns false when the run must stop.
    async fn play(&self, planned: &PlayPlan<'_>) -> bool {
        let play = planned.play;
        // Selected again: `add_host` and `group_by` may have changed the inventory since the
        // plan was made.
        let hosts: Vec<String> = {
            let inventory = self.inventory();
            let limit = Limit::new(&inventory, self.options.limit.as_deref());
            play_hosts(&inventory, play, &limit)
        };
        let hosts: Vec<String> = hosts.into_iter().filter(|h| !self.is_down(h)).collect();
        self.emitter.emit(Event::PlayStarted {
            name: play.name.clone(),
            hosts: hosts.clone(),
        });
        if hosts.is_empty() {
            self.emitter.emit(Event::Warning {
                message: format!(
                    "play `{}`: no hosts matched `{}`, skipping",
                    play.name, play.hosts
                ),
            });
            return true;
        }
        for batch in batches(&hosts, &play.serial) {
            if self.options.stop.is_stopped() {
                return false;
            }
            let batch: Vec<String> = batch.into_iter().filter(|h| !self.is_down(h)).collect();
            if batch.is_empty() {
                continue;
            }
            let outcome = self.batch(planned, &hosts, &batch).await;
            let failed = outcome.failed;
            let all_failed = !play.serial.is_empty() && failed == batch.len();
            if outcome.fatal || all_failed || exceeds(failed, batch.len(), play.max_fail_percentage)
            {
                self.emitter.emit(Event::Warning {
                    message: format!(
                        "play `{}`: {failed} of {} hosts in the batch failed; stopping the rollout",
                        play.name,
                        batch.len()
                    ),
                });
                return false;
            }
            if outcome.ended {
                break;
            }
        }
        true
    }

    /// Runs one batch.
    async fn batch(
        &self,
        planned: &PlayPlan<'_>,
        all_hosts: &[String],
        batch: &[String],
    ) -> BatchOutcome {
        let play = planned.play;
        let run = PlayRun {
            ctx: PlayContext {
                play,
                all_hosts,
                batch,
            },
            lockstep: Lockstep::new(batch.len(), play.strategy == Strategy::Linear),
            sections: &planned.sections,
            announced: Mutex::new(HashSet::new()),
            abort: AtomicBool::new(false),
            ended: AtomicBool::new(false),
            fatal: AtomicBool::new(false),
            run_once: tokio::sync::Mutex::new(HashMap::new()),
            run_once_done: tokio::sync::Notify::new(),
            throttles: Mutex::new(HashMap::new()),
        };
        let states: Vec<Arc<HostState>> = batch.iter().map(|h| self.host_state(h)).collect();
        if play.gather_facts {
            self.gather_facts(&run.ctx, &states).await;
        }
        let walks = states.iter().enumerate().map(|(index, host)| {
            let run = &run;
            async move {
                if self.is_down(&host.name) {
                    run.lockstep.leave(index);
                    return Flow::Continue;
                }
                let flow = self.walk_play(run, index, host).await;
                if matches!(flow, Flow::Failed | Flow::Unreachable) {
                    self.mark_down(&host.name);
                    if let Some(max) = play.max_fail_percentage {
                        let failed = batch.iter().filter(|h| self.is_down(h)).count();
                        if exceeds(failed, batch.len(), Some(max)) {
                            run.stop_run();
                        }
                    }
                }
                flow
            }
        });
        join_all(walks).await;
        BatchOutcome {
            fatal: run.fatal.load(Ordering::SeqCst),
            ended: run.ended.load(Ordering::SeqCst),
            failed: batch.iter().filter(|h| self.is_down(h)).count(),
        }
    }

    /// The state of a host, created on first use.
    fn host_state(&self, name: &str) -> Arc<HostState> {
        let mut hosts = self.hosts.lock().expect("hosts lock");
        Arc::clone(hosts.entry(name.to_string()).or_insert_with(|| {
            Arc::new(HostState::new(
                name,
                self.inventory().host_vars(name),
                Arc::clone(&self.connector),
            ))
        }))
    }

    /// The inventory as the run has changed it so far.
    fn inventory(&self) -> RwLockReadGuard<'_, Inventory> {
        self.inventory.read().expect("inventory lock")
    }

    /// Applies a task's change to the inventory (for `host`, the host it ran for); returns
    /// whether it changed anything, as Ansible counts it.
    fn change_inventory(&self, host: &str, change: &InventoryChange) -> Result<bool, String> {
        // The inventory's lock is let go before the hosts' is taken: `host_state` takes them the
        // other way round.
        let (changed, host, vars) = {
            let mut inventory = self.inventory.write().expect("inventory lock");
            let (changed, host) = match change {
                InventoryChange::AddHost { name, groups, vars } => (
                    inventory.add_dynamic_host(name, groups, vars),
                    name.as_str(),
                ),
                InventoryChange::GroupBy { group, parents } => {
                    (inventory.add_dynamic_group(host, group, parents)?, host)
                }
            };
            (changed, host, inventory.host_vars(host))
        };
        if let Some(state) = self.hosts.lock().expect("hosts lock").get(host) {
            *state.inventory_vars.lock().expect("vars lock") = vars;
        }
        Ok(changed)
    }

    fn is_down(&self, host: &str) -> bool {
        self.down.lock().expect("down lock").contains(host)
    }

    fn mark_down(&self, host: &str) {
        self.down
            .lock()
            .expect("down lock")
            .insert(host.to_string());
    }

    fn clear_down(&self, host: &str) {
        self.down.lock().expect("down lock").remove(host);
    }
}
