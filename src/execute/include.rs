//! A dynamic include on one host, as Ansible runs it: the include is a step of its own (its
//! `when` checked for each loop item, each included item reported `included` and counted ok, a
//! step that includes nothing counted skipped once), then the included tasks are walked once per
//! included item with the loop variable bound. Each iteration is a sub-step of the include's
//! lockstep position, so hosts with different numbers of items stay in order.

use std::time::Instant;

use serde_json::{Map, Value};

use super::Run;
use super::context::PlayContext;
use super::lockstep::Position;
use super::state::HostState;
use super::task::TaskOutcome;
use super::walk::{Flow, Frame, PlayRun};
use crate::compile::{Include, Task};
use crate::modules::ModuleResult;
use crate::plan::{IncludeStep, Step};
use crate::report::Status;
use crate::template::insert_data;

/// The tasks an include step included on a host, with the loop variables each item binds.
type Included<'i> = Vec<(Map<String, Value>, &'i [Step<'i>])>;

impl Run<'_> {
    /// Runs a dynamic include on one host at its lockstep position, then the tasks it included.
    pub async fn include(
        &self,
        play: &PlayRun<'_>,
        index: usize,
        host: &HostState,
        planned: &IncludeStep<'_>,
        rescuable: bool,
        frame: &Frame,
    ) -> Flow {
        let include = planned.include;
        let position = frame.position(&planned.id);
        let Some(leads) = self.enter(play, index, &include.step, &position).await else {
            return Flow::EndPlay;
        };
        let step = &self.step_keywords(&play.ctx, host, &include.step, &frame.bound);
        if step.run_once.or(false) && !self.claim(play, include, &position, leads).await {
            return Flow::Continue;
        }
        let Some(included) = self
            .run_include(&play.ctx, host, (planned, step), &frame.bound, rescuable)
            .await
        else {
            return play.failed(step);
        };
        for (iteration, (bound, body)) in included.into_iter().enumerate() {
            let mut inner = Frame {
                at: Some(position.sub_step(iteration as u32 + 1)),
                bound: frame.bound.clone(),
            };
            inner.bound.extend(bound);
            let flow = self.walk(play, index, host, body, rescuable, &inner).await;
            if flow != Flow::Continue {
                return flow;
            }
        }
        Flow::Continue
    }

    /// The include step on `host` (`step`, its keywords rendered for the host): reported and
    /// counted, it returns what it included, or `None` when it failed.
    async fn run_include<'i>(
        &self,
        play: &PlayContext<'_>,
        host: &HostState,
        (include, step): (&'i IncludeStep<'i>, &Task),
        bound: &Map<String, Value>,
        rescuable: bool,
    ) -> Option<Included<'i>> {
        let started = Instant::now();
        let failed = |message: String| self.outcome(step, ModuleResult::failed(message), 1, false);
        let mut vars = match self.resolved_vars(play, host, step, bound) {
            Ok(vars) => vars,
            Err(message) => {
                let outcome = failed(message);
                self.record(play, host, step, &outcome, rescuable, started.elapsed());
                return None;
            }
        };
        let items = step.looping.as_ref().map(|_| self.loop_items(step, &vars));
        let items = match items.transpose() {
            Ok(items) => items,
            // As for a task: a loop that cannot be rendered fails only when `when` holds.
            Err(message) => {
                let outcome = self
                    .unless_when_holds(step, &Value::Object(vars))
                    .unwrap_or_else(|| failed(message));
                self.record(play, host, step, &outcome, rescuable, started.elapsed());
                return (outcome.status != Status::Failed).then(Vec::new);
            }
        };
        let (Some(looping), Some(items)) = (&step.looping, items) else {
            let (outcome, body) = self.include_item(host, (include, step), &vars).await;
            self.record(play, host, step, &outcome, rescuable, started.elapsed());
            return (outcome.status != Status::Failed)
                .then(|| body.map(|b| (Map::new(), b)).into_iter().collect());
        };
        let mut included = Vec::new();
        let mut failed = false;
        for (index, item) in items.iter().cloned().enumerate() {
            let binds = looping.bind(index, &items);
            insert_data(&mut vars, binds.clone());
            let item_started = Instant::now();
            let (outcome, body) = self.include_item(host, (include, step), &vars).await;
            let label = self.item_label(step, &vars, &item);
            let took = item_started.elapsed();
            self.report(
                host,
                step,
                outcome.status,
                Some(label),
                &outcome.registered,
                took,
            );
            failed |= matches!(outcome.status, Status::Failed | Status::Ignored);
            included.extend(body.map(|b| (binds, b)));
        }
        if failed || included.is_empty() {
            let result = if failed {
                ModuleResult::failed("One or more items failed")
            } else {
                ModuleResult {
                    skipped: true,
                    ..ModuleResult::ok().with_msg("All items skipped")
                }
            };
            let outcome = self.outcome(step, result, 1, false);
            self.record(play, host, step, &outcome, rescuable, started.elapsed());
            if outcome.status == Status::Failed {
                return None;
            }
        }
        // Like Ansible: each included item counts as ok.
        host.count(|s| s.ok += included.len() as u32);
        Some(included)
    }

    /// Whether this host runs a `run_once` include: the leading host does, once per batch.
    async fn claim(
        &self,
        play: &PlayRun<'_>,
        include: &Include,
        position: &Position,
        leads: bool,
    ) -> bool {
        if !leads {
            return false;
        }
        let mut shared = play.run_once.lock().await;
        if shared.contains_key(position) {
            return false;
        }
        let claimed = self.outcome(&include.step, ModuleResult::ok(), 1, false);
        shared.insert(position.clone(), claimed);
        true
    }

    /// The include step for one item (or without a loop): its `when`, then the tasks of the file
    /// or role it names.
    async fn include_item<'i>(
        &self,
        host: &HostState,
        (include, step): (&'i IncludeStep<'i>, &Task),
        vars: &Map<String, Value>,
    ) -> (TaskOutcome, Option<&'i [Step<'i>]>) {
        let outcome = self.run_single(host, step, vars).await;
        if outcome.status != Status::Ok {
            return (outcome, None);
        }
        let name = outcome.registered["include"].as_str().unwrap_or_default();
        let problem = match (include.body(name), include.include.problem(name)) {
            (Some(_), Some(problem)) => problem.to_string(),
            (Some(body), None) => return (outcome, Some(body)),
            (None, _) => {
                let known: Vec<&str> = include.bodies.iter().map(|(n, _)| *n).collect();
                let known = match known.join(", ") {
                    none if none.is_empty() => {
                        "nothing (its loop items were not known before the run)".to_string()
                    }
                    names => names,
                };
                format!("could not find or access `{name}`; compiled before the run: {known}")
            }
        };
        (
            self.outcome(step, ModuleResult::failed(problem), 1, false),
            None,
        )
    }
}
