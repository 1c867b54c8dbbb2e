//! `gather_facts`: the `setup` module's probe on every host of a batch, counted as one task.

use std::sync::Arc;
use std::time::Instant;

use serde_json::Map;

use super::Run;
use super::context::PlayContext;
use super::state::HostState;
use crate::modules::ModuleError;
use crate::modules::setup::{PROBE, facts_from, with_namespace};
use crate::report::{Event, HostResult, Status};
use crate::transport::{ExecRequest, Transport, TransportError};

impl Run<'_> {
    /// Gathers facts on every host of the batch, in parallel, counted as one `ok` task.
    pub async fn gather_facts(&self, play: &PlayContext<'_>, hosts: &[Arc<HostState>]) {
        self.emitter.emit(Event::TaskStarted {
            task: "Gathering Facts".into(),
            location: play.play.span.to_string(),
            handler: false,
            ansible_code: None,
        });
        let probes = hosts.iter().map(|host| async move {
            let _permit = self
                .forks
                .acquire()
                .await
                .expect("the forks semaphore is never closed");
            let started = Instant::now();
            let output = match self.play_connection(play, host).await {
                Ok(Some(own)) => own.exec(ExecRequest::new(PROBE)).await,
                Ok(None) => host.connection.exec(ExecRequest::new(PROBE)).await,
                Err(ModuleError::Transport(e)) => Err(e),
                Err(ModuleError::Args(e)) => Err(TransportError::Config(e.message)),
            };
            let (status, result) = match output {
                Ok(out) if out.exit_code == 0 => {
                    let facts = facts_from(&out.stdout_text());
                    host.set_facts(with_namespace(&facts, &Map::new()));
                    host.count(|s| s.ok += 1);
                    (Status::Ok, serde_json::json!({"changed": false}))
                }
                Ok(out) => {
                    host.count(|s| s.failed += 1);
                    self.mark_down(&host.name);
                    (
                        Status::Failed,
                        serde_json::json!({"failed": true, "msg": out.stderr_text()}),
                    )
                }
                Err(e) => {
                    host.count(|s| s.unreachable += 1);
                    self.mark_down(&host.name);
                    (
                        Status::Unreachable,
                        serde_json::json!({"unreachable": true, "msg": e.to_string()}),
                    )
                }
            };
            self.emitter.emit(Event::HostResult(HostResult {
                host: host.name.clone(),
                delegated_to: None,
                task: "Gathering Facts".into(),
                location: play.play.span.to_string(),
                module: "setup".into(),
                status,
                item: None,
                result,
                diffs: Vec::new(),
                duration: started.elapsed(),
            }));
        });
        futures::future::join_all(probes).await;
    }
}
