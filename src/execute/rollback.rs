//! Automatic rollback: when a host fails after its `release` task switched `current`, deployer
//! switches it back to the previous release, runs the handlers the switch notified (the reload),
//! re-runs the health checks, and counts the host as rolled back (it stays FAILED).
//!
//! A host that fails inside a block with a `rescue` section is not failed, so users who write
//! their own rescue keep full control.

use std::sync::Arc;

use serde_json::Map;

use super::Run;
use super::state::{HostState, SwitchRecord};
use super::task::TaskOutcome;
use super::walk::PlayRun;
use crate::compile::Task;
use crate::modules::ModuleKind;
use crate::report::{Event, Status};

impl Run<'_> {
    /// Notes release switches and the health checks after them, for a later rollback.
    pub fn track_release(&self, host: &HostState, task: &Arc<Task>, outcome: &TaskOutcome) {
        if task.check_mode_or(self.options.check) {
            return;
        }
        let mut switch = host.switch.lock().expect("switch lock");
        if let Some(made) = &outcome.switch {
            *switch = Some(SwitchRecord {
                task: Arc::clone(task),
                switch: made.clone(),
                checks: Vec::new(),
            });
        } else if task.module.kind() == ModuleKind::HealthCheck
            && let Some(record) = switch.as_mut()
        {
            record.checks.push(Arc::clone(task));
        }
    }

    /// Rolls a failed host back to the release it ran before this play's switch, if there was
    /// one, once the other hosts have finished the step it failed at (they wait for it before
    /// the next).
    pub async fn roll_back(&self, play: &PlayRun<'_>, index: usize, host: &HostState) {
        let Some(record) = host.switch.lock().expect("switch lock").take() else {
            return;
        };
        if record.switch.previous.is_empty() {
            self.emitter.emit(Event::Warning {
                message: format!("{}: failed after its first release switch; there is no previous release to roll back to", host.name),
            });
            return;
        }
        play.lockstep.hold_between_steps(index).await;
        let rollback = rollback_task(&record);
        self.emitter.emit(Event::TaskStarted {
            task: rollback.title(),
            location: record.task.span.to_string(),
            handler: false,
            ansible_code: None,
        });
        let outcome = self
            .run_task(&play.ctx, host, &rollback, &Map::new(), false)
            .await;
        if outcome.status == Status::Failed || outcome.status == Status::Unreachable {
            self.emitter.emit(Event::Warning {
                message: format!("{}: the rollback itself failed", host.name),
            });
            return;
        }
        host.count(|s| s.rolled_back += 1);
        for (index, handler) in play.ctx.play.handlers.iter().enumerate() {
            if host.notified.lock().expect("notified lock").remove(&index) {
                self.emitter.emit(Event::TaskStarted {
                    task: handler.title(),
                    location: handler.span.to_string(),
                    handler: true,
                    ansible_code: None,
                });
                self.run_task(&play.ctx, host, handler, &Map::new(), false)
                    .await;
            }
        }
        for check in &record.checks {
            self.emitter.emit(Event::TaskStarted {
                task: check.title(),
                location: check.span.to_string(),
                handler: false,
                ansible_code: None,
            });
            self.run_task(&play.ctx, host, check, &Map::new(), false)
                .await;
        }
    }
}

/// The switch task turned into "switch back to the previous release", with the same connection,
/// become and notifications.
fn rollback_task(record: &SwitchRecord) -> Task {
    let mut task = (*record.task).clone();
    task.name = Some(format!("Roll back to release {}", record.switch.previous));
    task.args = serde_json::json!({"deploy_to": record.switch.deploy_to, "state": "rollback", "release": record.switch.previous});
    task.when.clear();
    task.looping = None;
    task.register = None;
    task.changed_when = None;
    task.failed_when = None;
    task.until = None;
    task.ignore_errors = crate::compile::Keyword::Literal(false);
    task
}
