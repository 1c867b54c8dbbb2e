//! One authenticated SSH connection ([`Session`]): opening it directly over TCP or through a
//! direct-tcpip channel of a bastion's session, checking the host key on the way, logging in.
//!
//! Also the client settings every connection shares (keepalive every 15 s unless set otherwise,
//! given up after 3 unanswered; no inactivity timeout)
//! and the error type of connection set-up. Which connections exist and who shares them is
//! `pool.rs`; running commands is `exec.rs`.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::{Algorithm, HashAlg, PublicKeyOrCertificate};
use tokio::sync::Semaphore;

use super::auth::Authenticator;
use super::host_keys::{self, KnownHosts, KnownHostsCache, Verdict};
use super::target::Endpoint;
use super::tunnel::{Acknowledging, Tunnel};
use crate::transport::{KEEPALIVE_MAX, TransportError};

/// OpenSSH's default `MaxSessions` is 10; a slot is freed only after the server's next
/// garbage-collection pass, so one less keeps every channel open from being refused.
const CHANNELS_PER_CONNECTION: usize = 9;

/// Why a connection could not be opened. Cloneable, so that hosts waiting on the same failed
/// bastion all get its error.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum ConnectError {
    /// Nothing answered, the connection broke, or the bastion could not reach the host.
    #[error("{0}")]
    Unreachable(String),
    /// The host key could not be verified.
    #[error("{0}")]
    HostKey(String),
    /// The server refused every key.
    #[error("{0}")]
    Auth(String),
    /// The settings are unusable (unreadable key file, ...).
    #[error("{0}")]
    Config(String),
}

impl From<ConnectError> for TransportError {
    fn from(error: ConnectError) -> TransportError {
        match error {
            ConnectError::Unreachable(m) => TransportError::Unreachable(m),
            ConnectError::HostKey(m) => TransportError::HostKey(m),
            ConnectError::Auth(m) => TransportError::Auth(m),
            ConnectError::Config(m) => TransportError::Config(m),
        }
    }
}

/// How host keys are checked for one connection.
#[derive(Debug, Clone)]
pub(crate) struct HostKeyPolicy {
    /// known_hosts files, in order; new keys go to the first.
    pub files: Vec<PathBuf>,
    /// Record unknown keys instead of refusing them.
    pub accept_new: bool,
    /// Skip verification altogether (the loud opt-out).
    pub ignore: bool,
}

/// Settings for opening connections, shared by the whole pool.
pub(crate) struct Opener {
    /// How long TCP connect plus handshake, and then login, may each take.
    pub timeout: Duration,
    /// The keepalive interval: a connection silent this long is pinged, and dropped after
    /// [`KEEPALIVE_MAX`] unanswered pings.
    pub keepalive: Duration,
    /// Logs sessions in.
    pub auth: Authenticator,
    /// The known_hosts files, parsed once for all the sessions.
    pub known_hosts: KnownHostsCache,
}

/// An open, authenticated connection and its channel budget.
pub(crate) struct Session {
    handle: Handle<Verifier>,
    /// Session channels in flight on this connection.
    pub channels: Arc<Semaphore>,
    /// `user@host:port`.
    pub label: String,
    /// The bastion session this one is tunnelled through, kept alive as long as this one.
    _via: Option<Arc<Session>>,
    /// Whether a keepalive is on its way, for the hosts tunnelled through this session.
    pub(super) acknowledging: Acknowledging,
}

impl Session {
    /// The russh handle, to open channels on.
    pub fn handle(&self) -> &Handle<Verifier> {
        &self.handle
    }

    /// Whether the connection has ended (it is then replaced on next use).
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// Says goodbye to the server.
    pub async fn disconnect(&self) {
        let bye = self
            .handle
            .disconnect(russh::Disconnect::ByApplication, "", "en");
        if let Err(e) = bye.await {
            tracing::debug!(session = %self.label, "disconnect: {e}");
        }
    }
}

impl Opener {
    /// Opens a session to `endpoint`, directly or tunnelled through `via`.
    pub async fn open(
        &self,
        endpoint: &Endpoint,
        via: Option<Arc<Session>>,
        policy: &HostKeyPolicy,
    ) -> Result<Session, ConnectError> {
        let label = match &via {
            Some(bastion) => format!("{} via {}", endpoint.label(), bastion.label),
            None => endpoint.label(),
        };
        let known = self.known_hosts.get(&policy.files);
        let (algorithms, authority) = known.known_algorithms(&endpoint.host, endpoint.port);
        let config = Arc::new(client_config(&algorithms, authority, self.keepalive));
        let verifier = Verifier {
            host: endpoint.host.clone(),
            port: endpoint.port,
            known,
            policy: policy.clone(),
        };
        let handshake = handshake(endpoint, via.clone(), config, verifier);
        let mut handle = tokio::time::timeout(self.timeout, handshake)
            .await
            .map_err(|_| {
                ConnectError::Unreachable(format!("{label}: no answer within {:?}", self.timeout))
            })?
            .map_err(|e| e.into_connect_error(&label, via.is_some()))?;
        tokio::time::timeout(self.timeout, self.auth.login(&mut handle, endpoint))
            .await
            .map_err(|_| {
                ConnectError::Unreachable(format!(
                    "{label}: login took longer than {:?}",
                    self.timeout
                ))
            })??;
        tracing::debug!(session = %label, "connected");
        Ok(Session {
            handle,
            channels: Arc::new(Semaphore::new(CHANNELS_PER_CONNECTION)),
            label,
            _via: via,
            acknowledging: Acknowledging::default(),
        })
    }
}

/// Runs the SSH handshake with `endpoint`, over TCP or over a direct-tcpip channel of `via`.
async fn handshake(
    endpoint: &Endpoint,
    via: Option<Arc<Session>>,
    config: Arc<client::Config>,
    verifier: Verifier,
) -> Result<Handle<Verifier>, HandshakeError> {
    match via {
        None => {
            let address = (endpoint.host.as_str(), endpoint.port);
            client::connect(config, address, verifier).await
        }
        Some(bastion) => {
            let port = endpoint.port.into();
            let channel = bastion
                .handle
                .channel_open_direct_tcpip(&endpoint.host, port, "127.0.0.1", 0)
                .await?;
            let tunnel = Tunnel::new(channel.into_stream(), bastion);
            client::connect_stream(config, tunnel, verifier).await
        }
    }
}

/// Client settings: keepalive like `ServerAliveInterval` (`keepalive`) x [`KEEPALIVE_MAX`], no
/// inactivity timeout, and the host key types known for this host asked for first (certificates
/// when an authority is known).
fn client_config(known: &[Algorithm], authority: bool, keepalive: Duration) -> client::Config {
    let mut preferred = russh::Preferred::default();
    let defaults = preferred.key.to_vec();
    let rsa = |a: &Algorithm| matches!(a, Algorithm::Rsa { .. });
    let is_known = |a: &Algorithm| known.iter().any(|k| k == a || (rsa(k) && rsa(a)));
    let (mut keys, rest): (Vec<_>, Vec<_>) = defaults.iter().cloned().partition(is_known);
    keys.extend(rest);
    preferred.key = Cow::Owned(keys);
    if authority {
        preferred.host_key_certificates = Cow::Owned(defaults);
    }
    client::Config {
        keepalive_interval: Some(keepalive),
        keepalive_max: KEEPALIVE_MAX,
        inactivity_timeout: None,
        nodelay: true,
        preferred,
        ..client::Config::default()
    }
}

/// The russh event handler: it verifies the server's host key.
pub(crate) struct Verifier {
    host: String,
    port: u16,
    known: Arc<KnownHosts>,
    policy: HostKeyPolicy,
}

/// What can go wrong inside a russh session: its own errors, or our host key verdict.
#[derive(Debug)]
pub(crate) enum HandshakeError {
    /// russh failed (I/O, protocol, a refused channel).
    Ssh(russh::Error),
    /// The host key was refused, and why.
    HostKey(String),
}

impl From<russh::Error> for HandshakeError {
    fn from(error: russh::Error) -> HandshakeError {
        HandshakeError::Ssh(error)
    }
}

impl HandshakeError {
    fn into_connect_error(self, label: &str, tunnelled: bool) -> ConnectError {
        match self {
            HandshakeError::HostKey(message) => ConnectError::HostKey(message),
            HandshakeError::Ssh(russh::Error::ChannelOpenFailure(reason)) if tunnelled => {
                ConnectError::Unreachable(format!(
                    "{label}: the bastion could not connect ({reason:?})"
                ))
            }
            HandshakeError::Ssh(russh::Error::IO(e)) => {
                ConnectError::Unreachable(format!("{label}: {e}"))
            }
            HandshakeError::Ssh(e) => ConnectError::Unreachable(format!("{label}: {e}")),
        }
    }
}

impl client::Handler for Verifier {
    type Error = HandshakeError;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let name = host_keys::host_name(&self.host, self.port);
        let fingerprint = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.fingerprint(HashAlg::Sha256),
            PublicKeyOrCertificate::Certificate(cert) => {
                cert.public_key().fingerprint(HashAlg::Sha256)
            }
        };
        if self.policy.ignore {
            tracing::warn!(host = %name, %fingerprint, "host key NOT verified: insecure_ignore_host_keys is set");
            return Ok(true);
        }
        let offered = format!("{fingerprint}");
        match self.known.check(&self.host, self.port, key) {
            Verdict::Trusted => Ok(true),
            Verdict::Unknown if self.policy.accept_new => self.learn(&name, key, &offered),
            Verdict::Unknown => Err(HandshakeError::HostKey(format!(
                "{name} offered an unknown host key ({offered}); it is in none of {}. Check the \
                 fingerprint and add it (ssh-keyscan), or allow recording new keys (accept-new)",
                self.files_list()
            ))),
            Verdict::Changed(place) => Err(HandshakeError::HostKey(format!(
                "the host key of {name} has CHANGED: it offered {offered}, but {place} records a \
                 different key of that type. Someone may be intercepting the connection, or the host \
                 was rebuilt; if you trust the new key, remove that line"
            ))),
            Verdict::Revoked(place) => Err(HandshakeError::HostKey(format!(
                "{name} offered a REVOKED key ({offered}, @revoked at {place})"
            ))),
            Verdict::BadCertificate(reason) => Err(HandshakeError::HostKey(format!(
                "{name} offered a host certificate that cannot be trusted: {reason}"
            ))),
        }
    }
}

impl Verifier {
    fn learn(
        &self,
        name: &str,
        key: &PublicKeyOrCertificate,
        offered: &str,
    ) -> Result<bool, HandshakeError> {
        let (PublicKeyOrCertificate::PublicKey { key, .. }, Some(file)) =
            (key, self.policy.files.first())
        else {
            return Err(HandshakeError::HostKey(format!(
                "{name}: no known_hosts file to record its key in"
            )));
        };
        host_keys::learn(file, &self.host, self.port, key).map_err(|e| {
            HandshakeError::HostKey(format!(
                "{name}: cannot record its key in {}: {e}",
                file.display()
            ))
        })?;
        tracing::info!(host = %name, key = %offered, file = %file.display(), "recorded a new host key (accept-new)");
        Ok(true)
    }

    fn files_list(&self) -> String {
        let names: Vec<String> = self
            .policy
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect();
        names.join(", ")
    }
}
