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
use super::tags::TagFilter;
use crate::compile::{Task, TaskNode};
use crate::modules::Control;
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
    /// Each task's (and include step's) sequence number (by address), to order lockstep
    /// positions.
    pub sequence: HashMap<usize, u32>,
    /// The sequence number of the end of each section.
    pub section_ends: Vec<u32>,
    /// Which tasks to run.
    pub tags: TagFilter,
    /// Positions already announced with `TaskStarted`.
    pub announced: std::sync::Mutex<std::collections::HashSet<Position>>,
    /// Set when the play must stop for every host.
    pub abort: AtomicBool,
    /// Set when the whole run must stop (`any_errors_fatal`, `max_fail_percentage`).
    pub fatal: AtomicBool,
    /// Results of `run_once` steps by position, shared by the hosts of the batch.
    pub run_once: tokio::sync::Mutex<HashMap<Position, super::task::TaskOutcome>>,
    /// Wakes the hosts waiting for a `run_once` step's outcome.
    pub run_once_done: tokio::sync::Notify,
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
    /// The position of the step numbered `sequence` in this frame.
    pub fn position(&self, sequence: u32) -> Position {
        match &self.at {
            Some(at) => at.within(sequence),
            None => Position::step(sequence, 0),
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
        self.abort.store(true, Ordering::SeqCst);
    }

    /// The position of `task` (a task or an include step) walked in `frame`.
    pub fn position(&self, task: &Task, frame: &Frame) -> Position {
        frame.position(self.sequence[&(task as *const Task as usize)])
    }

    /// What a failed step means for the host: the run stops when the failure is fatal.
    pub fn failed(&self, task: &Task) -> Flow {
        if task.any_errors_fatal || self.ctx.play.any_errors_fatal {
            self.stop_run();
        }
        Flow::Failed
    }
}

impl Run<'_> {
    /// Walks every section of the play for one host, then leaves the lockstep.
    pub async fn walk_play(&self, play: &PlayRun<'_>, index: usize, host: &HostState) -> Flow {
        host.switch.lock().expect("switch lock").take();
        if let Some(flow) = self.take_lock(&play.ctx, host).await {
            play.lockstep.leave(index);
            return flow;
        }
        let mut flow = Flow::Continue;
        for (section, tasks) in play.ctx.play.sections.iter().enumerate() {
            flow = self
                .walk(play, index, host, tasks, false, &Frame::default())
                .await;
            if flow == Flow::Continue {
                let end = Position::step(play.section_ends[section], 0);
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

    /// Walks a list of task nodes in `frame`. Boxed because blocks and includes recurse.
    pub fn walk<'s>(
        &'s self,
        play: &'s PlayRun<'_>,
        index: usize,
        host: &'s HostState,
        nodes: &'s [TaskNode],
        rescuable: bool,
        frame: &'s Frame,
    ) -> BoxFuture<'s, Flow> {
        Box::pin(async move {
            for node in nodes {
                let flow = match node {
                    TaskNode::Task(task) => {
                        if !play.tags.selects(&task.tags) {
                            continue;
                        }
                        let step = Step {
                            task,
                            position: play.position(task, frame),
                            bound: &frame.bound,
                        };
                        self.step(play, index, host, step, rescuable).await
                    }
                    TaskNode::Block(block) => {
                        let mut flow = self
                            .walk(
                                play,
                                index,
                                host,
                                &block.block,
                                rescuable || !block.rescue.is_empty(),
                                frame,
                            )
                            .await;
                        if flow == Flow::Failed && !block.rescue.is_empty() {
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
                    TaskNode::Include(include) => {
                        if !play.tags.selects(&include.step.tags) {
                            continue;
                        }
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
        let Step {
            task,
            ref position,
            bound,
        } = step;
        let outcome = if task.run_once {
            match self.run_once(play, host, &step, rescuable, leads).await {
                RunOnce::Ran(outcome) => outcome,
                RunOnce::Shared(first) => return adopt(host, task, &first),
                RunOnce::Aborted => return Flow::EndPlay,
            }
        } else {
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
            (Status::Unreachable, _) if task.ignore_unreachable => Flow::Continue,
            (Status::Unreachable, _) => Flow::Unreachable,
            (_, Some(Control::FlushHandlers)) => self.flush(play, index, host, position).await,
            (_, Some(Control::EndHost)) => Flow::EndHost,
            (_, Some(Control::EndPlay)) => {
                play.abort.store(true, Ordering::SeqCst);
                Flow::EndPlay
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
            // The leader may stop without running the step (the play was aborted): look again
            // now and then rather than trusting a single wake-up.
            let _ = tokio::time::timeout(std::time::Duration::from_millis(200), done).await;
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

/// Numbers every task of a play in walking order, and the end of each section.
pub fn sequence(sections: &[Vec<TaskNode>]) -> (HashMap<usize, u32>, Vec<u32>) {
    fn number(nodes: &[TaskNode], next: &mut u32, out: &mut HashMap<usize, u32>) {
        for node in nodes {
            match node {
                TaskNode::Task(task) => {
                    *next += 1;
                    out.insert(Arc::as_ptr(task) as usize, *next);
                }
                TaskNode::Block(block) => {
                    number(&block.block, next, out);
                    number(&block.rescue, next, out);
                    number(&block.always, next, out);
                }
                TaskNode::Include(include) => {
                    *next += 1;
                    out.insert(Arc::as_ptr(&include.step) as usize, *next);
                    for (_, body) in &include.bodies {
                        number(body, next, out);
                    }
                }
            }
        }
    }
    let mut out = HashMap::new();
    let mut ends = Vec::new();
    let mut next = 0;
    for section in sections {
        number(section, &mut next, &mut out);
        next += 1;
        ends.push(next);
    }
    (out, ends)
}
