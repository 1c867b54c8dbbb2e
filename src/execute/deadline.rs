//! A task's time limit (`timeout`, `async`) on every command it runs: each is given the time
//! left, so that the host kills a command still running at the deadline, and a long-lived shell
//! stays to run the next task.

use async_trait::async_trait;
use tokio::time::Instant;

use crate::transport::{ExecOutput, ExecRequest, Pipes, Transport, TransportError};

/// A transport whose commands end at a task's deadline.
pub struct Deadlined<'a> {
    /// The transport that runs the commands.
    pub inner: &'a dyn Transport,
    /// When the task's time is up.
    pub deadline: Instant,
}

#[async_trait]
impl Transport for Deadlined<'_> {
    async fn exec(&self, mut request: ExecRequest) -> Result<ExecOutput, TransportError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        request.timeout = Some(request.timeout.map_or(left, |limit| limit.min(left)));
        self.inner.exec(request).await
    }

    async fn spawn(&self, line: String) -> Result<Option<Pipes>, TransportError> {
        self.inner.spawn(line).await
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn bastion(&self) -> Option<std::sync::Arc<dyn Transport>> {
        self.inner.bastion()
    }

    async fn reset(&self) {
        self.inner.reset().await
    }
}
