//! Choosing and opening the transport for a host from its connection variables
//! (`ansible_connection`, `ansible_host`, ...): `local` runs on the controller, `ssh` (the
//! default) goes through [`ssh`](super::ssh), sharing connections between hosts.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value};

use super::ssh::{Credentials, SshConnector};
use super::{HostShells, LocalTransport, ResidentTransport, Transport, TransportError};

/// The host variables that say how to reach a host. Ansible reads them per task, so a task whose
/// variables give other values than the inventory's (play `vars`, `set_fact`, ...) connects with
/// those.
pub const CONNECTION_VARS: &[&str] = &[
    "ansible_connection",
    "ansible_host",
    "ansible_ssh_host",
    "ansible_port",
    "ansible_ssh_port",
    "ansible_user",
    "ansible_ssh_user",
    "ansible_ssh_private_key_file",
    "ansible_private_key_file",
    "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
    "deployer_known_hosts",
    "bastion",
];

/// Unanswered keepalives in a row after which a connection is given up (like OpenSSH's
/// `ServerAliveCountMax`).
pub const KEEPALIVE_MAX: usize = 3;

/// Settings that apply to every connection of a run.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Record unknown host keys instead of refusing them (OpenSSH's `accept-new`). A changed key
    /// is refused all the same.
    pub accept_new_host_keys: bool,
    /// Skip host key verification altogether. Insecure: anyone on the path can impersonate the
    /// hosts. Every connection made so logs a warning.
    pub insecure_ignore_host_keys: bool,
    /// How long to wait for a connection to open (and, separately, for the login).
    pub connect_timeout: Duration,
    /// How long a connection may stay silent before a keepalive is sent; one that answers none
    /// of [`KEEPALIVE_MAX`] keepalives in a row is dropped, and its hosts are unreachable.
    pub keepalive_interval: Duration,
    /// The directory with the user's ssh `config`, `known_hosts` and default keys
    /// (`None`: `~/.ssh`).
    pub ssh_dir: Option<PathBuf>,
    /// Keys given other than as files, and the ssh-agent.
    pub credentials: Credentials,
    /// Run a host's commands in one long-lived shell (per become user) rather than in an SSH
    /// session each, so that its login is paid once.
    pub persistent_shell: bool,
}

impl Default for ConnectOptions {
    /// Verified host keys, a 10 s connect timeout, keepalives every 15 s, `~/.ssh`, and
    /// credentials from the environment ([`Credentials::from_env`]), a persistent shell per host.
    fn default() -> Self {
        ConnectOptions {
            accept_new_host_keys: false,
            insecure_ignore_host_keys: false,
            connect_timeout: Duration::from_secs(10),
            keepalive_interval: Duration::from_secs(15),
            ssh_dir: None,
            credentials: Credentials::from_env(),
            persistent_shell: true,
        }
    }
}

/// The connection type a host's variables choose (`ansible_connection`, else ansible.cfg's,
/// else `ssh`).
pub fn connection_kind(vars: &Map<String, Value>) -> &str {
    let configured = crate::config::settings().connection.as_deref();
    vars.get("ansible_connection")
        .and_then(Value::as_str)
        .or(configured)
        .unwrap_or("ssh")
}

/// Opens transports for hosts, sharing connections where hosts share a path.
pub struct Connector {
    ssh: SshConnector,
    persistent_shell: bool,
    /// Each SSH host's long-lived shells, by the transport's description.
    shells: Mutex<HashMap<String, Arc<HostShells>>>,
}

impl Connector {
    /// A connector with the run's settings.
    pub fn new(options: ConnectOptions) -> Self {
        Connector {
            ssh: SshConnector::new(&options),
            persistent_shell: options.persistent_shell,
            shells: Mutex::default(),
        }
    }

    /// Opens (or reuses) the transport for `host`, given its merged variables.
    pub async fn connect(
        &self,
        host: &str,
        vars: &Map<String, Value>,
    ) -> Result<Arc<dyn Transport>, TransportError> {
        match connection_kind(vars) {
            "local" => Ok(Arc::new(LocalTransport)),
            "ssh" | "smart" => {
                let transport = self.ssh.connect(host, vars).await?;
                if !self.persistent_shell {
                    return Ok(transport);
                }
                let shells = self
                    .lock_shells()
                    .entry(transport.describe())
                    .or_default()
                    .clone();
                Ok(Arc::new(ResidentTransport::new(transport, shells)))
            }
            other => Err(TransportError::Config(format!(
                "host {host}: connection `{other}` is not supported (use ssh or local)"
            ))),
        }
    }

    /// Closes every connection this connector opened. Transports handed out before reconnect
    /// on their next command.
    pub async fn shutdown(&self) {
        self.lock_shells().clear();
        self.ssh.shutdown().await;
    }

    fn lock_shells(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<HostShells>>> {
        self.shells.lock().unwrap_or_else(|e| e.into_inner())
    }
}
