//! `-vv`: every command a task runs, and what it printed, logged at debug level. Only tasks
//! that are not `no_log` are traced, so a hidden task's commands and output never show.

use async_trait::async_trait;

use crate::transport::{ExecOutput, ExecRequest, Pipes, Transport, TransportError};

/// A transport that logs each command of one host and its outcome.
pub struct Traced<'a> {
    /// The transport that runs the commands.
    pub inner: &'a dyn Transport,
    /// The host's inventory name.
    pub host: &'a str,
}

#[async_trait]
impl Transport for Traced<'_> {
    async fn exec(&self, request: ExecRequest) -> Result<ExecOutput, TransportError> {
        let host = self.host;
        tracing::debug!(host, command = %request.script, "running");
        let outcome = self.inner.exec(request).await;
        match &outcome {
            Ok(out) => tracing::debug!(
                host,
                rc = out.exit_code,
                stdout = %out.stdout_text().trim_end(),
                stderr = %out.stderr_text().trim_end(),
                "finished"
            ),
            Err(e) => tracing::debug!(host, "could not run: {e}"),
        }
        outcome
    }

    async fn spawn(&self, line: String) -> Result<Option<Pipes>, TransportError> {
        tracing::debug!(host = self.host, command = %line, "starting");
        self.inner.spawn(line).await
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn bastion(&self) -> Option<std::sync::Arc<dyn Transport>> {
        self.inner.bastion()
    }

    async fn reset(&self) {
        tracing::debug!(host = self.host, "closing the connection");
        self.inner.reset().await
    }
}
