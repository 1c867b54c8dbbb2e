//! One host's walk through a play's task tree: blocks with rescue and always, handler flushes
//! at the end of each section and on `meta: flush_handlers`, and the lockstep of the linear
//! strategy.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use super::Run;
use super::context::PlayContext;
use super::lockstep::{Lockstep, Position};
use super::state::HostState;
use crate::compile::Task;
use crate::modules::{Control, ModuleKind};
use crate::plan::{Step as PlanStep, StepId};
use crate::report::{Event, Status};

/// How a walk through a list of tasks ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Every task ran (or was skipped); go on.
    Continue,
    /// A task failed.
    Failed,
    /// The host could not be reached.
    Unreachable,
    /// `meta: end_host`: this host is done with the play.
    EndHost,
    /// The play is over for every host.
    EndPlay,
}

/// What every host's walk through one play (or batch) shares.
pub struct PlayRun<'a> {
    /// The play and its hosts.
    pub ctx: PlayContext<'a>,
    /// The barrier of the linear strategy.
    pub lockstep: Lockstep,
    /// The planned steps of each section.
    pub sections: &'a [Vec<PlanStep<'a>>],
    /// Positions already announced with `TaskStarted`.
    pub announced: std::sync::Mutex<std::collections::HashSet<Position>>,
    /// Set when the batch must stop for every host.
    pub abort: AtomicBool,
    /// Set when the play is over (`meta: end_play`): no further batch runs.
    pub ended: AtomicBool,
    /// Set when the whole run must stop (`any_errors_fatal`, `max_fail_percentage`).
    pub fatal: AtomicBool,
    /// Results of `run_once` steps by position, shared by the hosts of the batch.
    pub run_once: tokio::sync::Mutex<HashMap<Position, super::task::TaskOutcome>>,
    /// Wakes the hosts waiting for a `run_once` step's outcome.
    pub run_once_done: tokio::sync::Notify,
    /// The slots of `throttle`d steps by position, shared by the hosts of the batch.
    pub throttles: std::sync::Mutex<HashMap<Position, Arc<tokio::sync::Semaphore>>>,
}

/// Where a host's walk stands in the dynamic includes around the tasks it walks.
#[derive(Default)]
pub struct Frame {
    /// The position of the include iteration walked; `None` at the play's top level.
    pub at: Option<Position>,
    /// The loop variables bound by the includes around.
    pub bound: Map<String, Value>,
}

impl Frame {
    /// The position of step `id` in this frame.
    pub fn position(&self, id: &StepId) -> Position {
        match &self.at {
            Some(at) => at.within(id.order()),
            None => Position::step(id.order(), 0),
        }
    }
}

/// How a host took part in a `run_once` step.
enum RunOnce {
    /// This host ran it.
    Ran(super::task::TaskOutcome),
    /// Another host ran it; this is its outcome.
    Shared(super::task::TaskOutcome),
    /// The play stopped before the step ran.
    Aborted,
}

/// Takes on the outcome of a `run_once` step another host ran: its facts and registered result,
/// and its failure (like Ansible, a failed `run_once` step fails every host of the batch).
fn adopt(host: &HostState, task: &Task, first: &super::task::TaskOutcome) -> Flow {
    host.remember(task, &first.facts, &first.registered);
    if first.status == Status::Failed {
        Flow::Failed
    } else {
        Flow::Continue
    }
}

impl PlayRun<'_> {
    /// Stops the play for every host, and the run after it.
    pub fn stop_run(&self) {
        self.fatal.store(true, Ordering::SeqCst);
        self.end_play();
    }

    /// Ends the play for every host: this batch and the batches after it.
    pub fn end_play(&self) {
        self.ended.store(true, Ordering::SeqCst);
        self.end_batch();
    }

    /// Ends this batch for every host, waking the hosts waiting for a `run_once` step.
    pub fn end_batch(&self) {
        self.abort.store(true, Ordering::SeqCst);
        self.run_once_done.notify_waiters();
    }

    /// A slot of the `throttle`d step at `position`, at most `limit` hosts holding one at a
    /// time (the first host there sets the limit).
    async fn throttle(&self, position: &Position, limit: u32) -> tokio::sync::OwnedSemaphorePermit {
        let slots = Arc::clone(
            self.throttles
                .lock()
                .expect("throttles lock")
                .entry(position.clone())
                .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(limit as usize))),
        );
        slots
            .acquire_owned()
            .await
            .expect("a throttle semaphore is never closed")
    }

    /// What a failed step means for the host: the run stops when the failure is fatal.
    pub fn failed(&self, task: &Task) -> Flow {
        if task.any_errors_fatal.or(false) || self.ctx.play.any_errors_fatal.or(false) {
            self.stop_run();
        }
        Flow::Failed
    }
}

impl Run<'_> {
    /// Walks every section of the play for one host, then leaves the lockstep.
    pub async fn walk_play(&self, play: &PlayRun<'_>, index: usize, host: &Arc<HostState>) -> Flow {
        host.switch.lock().expect("switch lock").take();
        if let Some(flow) = self.take_lock(&play.ctx, host).await {
            play.lockstep.leave(index);
            return flow;
        }
        let mut flow = Flow::Continue;
        for (section, steps) in play.sections.iter().enumerate() {
            flow = self
                .walk(play, index, host, steps, false, &Frame::default())
                .await;
            if flow == Flow::Continue {
                let end = Position::step(StepId::section_end(section), 0);
                flow = self.flush(play, index, host, &end).await;
            }
            if flow != Flow::Continue {
                break;
            }
        }
        if flow == Flow::Failed {
            self.roll_back(play, index, host).await;
        }
        play.lockstep.leave(index);
        flow
    }

    /// Walks a list of steps in `frame`. Boxed because blocks and includes recurse.
    pub fn walk<'s>(
        &'s self,
        play: &'s PlayRun<'_>,
        index: usize,
        host: &'s HostState,
        nodes: &'s [PlanStep<'s>],
        rescuable: bool,
        frame: &'s Frame,
    ) -> BoxFuture<'s, Flow> {
        Box::pin(async move {
            for node in nodes {
                let flow = match node {
                    PlanStep::Task(planned) => {
                        let step = Step {
                            task: planned.task,
                            position: frame.position(&planned.id),
                            bound: &frame.bound,
                        };
                        self.step(play, index, host, step, rescuable).await
                    }
                    PlanStep::Block(block) => {
                        let mut flow = self
                            .walk(
                                play,
                                index,
                                host,
                                &block.body,
                                rescuable || !block.block.rescue.is_empty(),
                                frame,
                            )
                            .await;
                        if flow == Flow::Failed && !block.block.rescue.is_empty() {
                            host.count(|s| s.rescued += 1);
                            flow = self
                                .walk(play, index, host, &block.rescue, rescuable, frame)
                                .await;
                        }
                        if matches!(flow, Flow::Continue | Flow::Failed | Flow::EndHost) {
                            let after = self
                                .walk(play, index, host, &block.always, rescuable, frame)
                                .await;
                            if after != Flow::Continue {
                                flow = after;
                            }
                        }
                        flow
                    }
                    PlanStep::Include(include) => {
                        self.include(play, index, host, include, rescuable, frame)
                            .await
                    }
                };
                if flow != Flow::Continue {
                    return flow;
                }
            }
            Flow::Continue
        })
    }

    /// Waits for the step at `position` (every host there, in the linear strategy) and announces
    /// it; `None` when the play stops meanwhile, else whether this host leads the step.
    pub async fn enter(
        &self,
        play: &PlayRun<'_>,
        index: usize,
        task: &Task,
        position: &Position,
    ) -> Option<bool> {
        let stopping = || play.abort.load(Ordering::SeqCst) || self.options.stop.is_stopped();
        if stopping() {
            return None;
        }
        let leads = play.lockstep.arrive(index, position.clone()).await;
        if stopping() {
            return None;
        }
        self.announce(play, task, position, position.is_sub_step());
        Some(leads)
    }

    /// Runs one task (or handler) at its lockstep position.
    async fn step(
        &self,
        play: &PlayRun<'_>,
        index: usize,
        host: &HostState,
        step: Step<'_>,
        rescuable: bool,
    ) -> Flow {
        let Some(leads) = self.enter(play, index, step.task, &step.position).await else {
            return Flow::EndPlay;
        };
        let task = &self.step_keywords(&play.ctx, host, step.task, step.bound);
        let (position, bound) = (&step.position, step.bound);
        let run_once = task.run_once.or(false);
        // Like Ansible's `BYPASS_HOST_LOOP`: the other hosts take nothing from it (no result,
        // no count), unlike `run_once`.
        let bypass = !run_once && task.module.kind() == ModuleKind::OncePerBatch;
        let outcome = if run_once || bypass {
            match self.run_once(play, host, &step, rescuable, leads).await {
                RunOnce::Ran(outcome) => outcome,
                RunOnce::Shared(_) if bypass => return Flow::Continue,
                RunOnce::Shared(first) => return adopt(host, task, &first),
                RunOnce::Aborted => return Flow::EndPlay,
            }
        } else {
            let _slot = match task.throttle.or(0) {
                0 => None,
                limit => Some(play.throttle(position, limit).await),
            };
            let _permit = self
                .forks
                .acquire()
                .await
                .expect("the forks semaphore is never closed");
            self.run_task(&play.ctx, host, task, bound, rescuable).await
        };
        self.track_release(host, task, &outcome);
        match (outcome.status, outcome.control) {
            (Status::Failed, _) => play.failed(task),
            (Status::Unreachable, _) if task.ignore_unreachable.or(false) => Flow::Continue,
            (Status::Unreachable, _) => Flow::Unreachable,
            (_, Some(Control::FlushHandlers)) => self.flush(play, index, host, position).await,
            (_, Some(Control::EndHost)) => Flow::EndHost,
            (_, Some(Control::EndPlay)) => {
                play.end_play();
                Flow::EndPlay
            }
            (_, Some(Control::EndBatch)) => {
                play.end_batch();
                Flow::EndPlay
            }
            (_, Some(Control::ClearFacts)) => {
                host.clear_facts();
                Flow::Continue
            }
            (_, Some(Control::ClearHostErrors)) => {
                self.clear_down(&host.name);
                Flow::Continue
            }
            _ => Flow::Continue,
        }
    }

    /// A `run_once` step: the leading host runs it (once per batch); the others wait for its
    /// outcome.
    async fn run_once(
        &self,
        play: &PlayRun<'_>,
        host: &HostState,
        step: &Step<'_>,
        rescuable: bool,
        leads: bool,
    ) -> RunOnce {
        let (task, key) = (step.task, &step.position);
        if leads {
            let mut shared = play.run_once.lock().await;
            if let Some(first) = shared.get(key) {
                return RunOnce::Shared(first.clone());
            }
            let outcome = self
                .run_task(&play.ctx, host, task, step.bound, rescuable)
                .await;
            shared.insert(key.clone(), outcome.clone());
            play.run_once_done.notify_waiters();
            return RunOnce::Ran(outcome);
        }
        loop {
            let done = play.run_once_done.notified();
            if let Some(first) = play.run_once.lock().await.get(key) {
                return RunOnce::Shared(first.clone());
            }
            if play.abort.load(Ordering::SeqCst) || self.options.stop.is_stopped() {
                return RunOnce::Aborted;
            }
            // Woken when the step has run, the play ended, or the run was asked to stop: the
            // leader may stop without running the step.
            tokio::select! {
                () = done => {}
                () = self.options.stop.stopped() => {}
            }
        }
    }

    /// Runs this host's notified handlers, in the order they are defined, as sub-steps of `at`.
    async fn flush(
        &self,
        play: &PlayRun<'_>,
        index: usize,
        host: &HostState,
        at: &Position,
    ) -> Flow {
        for (i, handler) in play.ctx.play.handlers.iter().enumerate() {
            let pending = host.notified.lock().expect("notified lock").remove(&i);
            if !pending {
                continue;
            }
            // Boxed: a handler may itself flush handlers.
            let step = Step {
                task: handler,
                position: at.sub_step(1 + i as u32),
                bound: &Map::new(),
            };
            let flow = Box::pin(self.step(play, index, host, step, false)).await;
            if flow != Flow::Continue {
                return flow;
            }
        }
        Flow::Continue
    }

    /// Emits `TaskStarted` once per position, when the first host gets there.
    fn announce(&self, play: &PlayRun<'_>, task: &Task, position: &Position, handler: bool) {
        if play
            .announced
            .lock()
            .expect("announced lock")
            .insert(position.clone())
        {
            self.emitter.emit(Event::TaskStarted {
                task: task.title(),
                location: task.span.to_string(),
                handler,
                ansible_code: task
                    .module
                    .ansible_code()
                    .map(|file| file.display().to_string()),
            });
        }
    }
}

/// A step as one host meets it: the task, where, and the loop variables of the includes around.
struct Step<'t> {
    task: &'t Arc<Task>,
    position: Position,
    bound: &'t Map<String, Value>,
}
