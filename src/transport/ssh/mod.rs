//! The `ssh` connection: commands run over SSH (russh), directly or through bastions.
//!
//! [`SshConnector`] resolves a host's target from its variables (`target.rs`, `args.rs`), and
//! hands out [`SshTransport`]s that share one [`Pool`](pool::Pool) of connections: one per
//! bastion chain, with each host's session tunnelled through it (`session.rs`). Keys and the
//! agent are `auth.rs`, known_hosts is `host_keys.rs`, running a command is `exec.rs`.
//!
//! Not here: file transfer as such (it is a command fed on stdin), SFTP, passwords, port
//! forwarding, ControlMaster-style sharing with the OpenSSH client.

mod args;
mod auth;
mod exec;
mod host_keys;
mod pool;
mod session;
mod target;
mod tunnel;

#[cfg(test)]
mod fleet_tests;
#[cfg(test)]
mod host_key_tests;
#[cfg(test)]
mod target_tests;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

pub use args::HostKeyChecking;
pub use auth::Credentials;
pub use target::{Endpoint, SshTarget};

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::{ConnectOptions, ExecOutput, ExecRequest, Pipes, Transport, TransportError};
use auth::Authenticator;
use pool::Pool;
use session::{HostKeyPolicy, Opener};
use target::SshEnvironment;

/// Opens SSH transports for hosts; all of them share this connector's connections.
pub(crate) struct SshConnector {
    environment: Result<SshEnvironment, String>,
    options: ConnectOptions,
    pool: Arc<Pool>,
}

impl SshConnector {
    /// A connector for a run; reads the ssh config now and reports a bad one on first use.
    pub(crate) fn new(options: &ConnectOptions) -> SshConnector {
        let environment = SshEnvironment::load(options.ssh_dir.as_deref());
        let ssh_dir = match &environment {
            Ok(env) => env.ssh_dir.clone(),
            Err(_) => options.ssh_dir.clone().unwrap_or_default(),
        };
        let opener = Opener {
            timeout: options.connect_timeout,
            keepalive: options.keepalive_interval,
            auth: Authenticator::new(options.credentials.clone(), &ssh_dir),
            known_hosts: Default::default(),
        };
        SshConnector {
            environment,
            options: options.clone(),
            pool: Arc::new(Pool::new(opener)),
        }
    }

    /// Resolves `host`'s target, opens its session (and its bastions') and returns a transport.
    pub(crate) async fn connect(
        &self,
        host: &str,
        vars: &Map<String, Value>,
    ) -> Result<Arc<SshTransport>, TransportError> {
        let environment = self
            .environment
            .as_ref()
            .map_err(|e| TransportError::Config(e.clone()))?;
        let target = target::resolve(host, vars, environment)
            .map_err(|e| TransportError::Config(format!("host {host}: {e}")))?;
        let policy = self.policy(host, &target);
        let transport = SshTransport {
            pool: self.pool.clone(),
            description: describe(&target),
            target,
            policy,
        };
        transport
            .pool
            .session(&transport.target, &transport.policy)
            .await?;
        Ok(Arc::new(transport))
    }

    /// Disconnects every connection.
    pub(crate) async fn shutdown(&self) {
        self.pool.shutdown().await;
    }

    fn policy(&self, host: &str, target: &SshTarget) -> HostKeyPolicy {
        let accept_new = match target.host_key_checking {
            None => self.options.accept_new_host_keys,
            Some(HostKeyChecking::Strict) => false,
            Some(HostKeyChecking::AcceptNew) => true,
            Some(HostKeyChecking::Off) => {
                tracing::warn!(
                    host,
                    "StrictHostKeyChecking=no is treated as accept-new: changed keys are still refused"
                );
                true
            }
        };
        HostKeyPolicy {
            files: target.known_hosts_files.clone(),
            accept_new,
            ignore: self.options.insecure_ignore_host_keys,
        }
    }
}

/// `user@host:port via user@bastion:port`.
fn describe(target: &SshTarget) -> String {
    let mut text = target.endpoint.label();
    for jump in target.jumps.iter().rev() {
        text.push_str(" via ");
        text.push_str(&jump.label());
    }
    text
}

/// Runs commands on one host over SSH. Cheap to clone; the connection belongs to the pool and
/// is reopened on the next command if it has dropped.
#[derive(Clone)]
pub struct SshTransport {
    pool: Arc<Pool>,
    target: SshTarget,
    policy: HostKeyPolicy,
    description: String,
}

impl SshTransport {
    /// Where this transport goes.
    pub fn target(&self) -> &SshTarget {
        &self.target
    }
}

#[async_trait]
impl Transport for SshTransport {
    async fn exec(&self, request: ExecRequest) -> Result<ExecOutput, TransportError> {
        let session = self.pool.session(&self.target, &self.policy).await?;
        exec::run(&session, request).await
    }

    async fn spawn(&self, line: String) -> Result<Option<Pipes>, TransportError> {
        let session = self.pool.session(&self.target, &self.policy).await?;
        Ok(Some(exec::spawn(&session, line).await?))
    }

    async fn reset(&self) {
        self.pool.close(&self.target).await
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    fn bastion(&self) -> Option<Arc<dyn Transport>> {
        let outermost = self.target.jumps.first()?;
        Some(Arc::new(SshTransport {
            pool: self.pool.clone(),
            description: outermost.label(),
            target: SshTarget {
                endpoint: outermost.clone(),
                jumps: Vec::new(),
                ..self.target.clone()
            },
            policy: self.policy.clone(),
        }))
    }
}
