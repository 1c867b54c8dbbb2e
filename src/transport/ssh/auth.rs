//! Logging in with public keys: a key given as text (`DEPLOYER_SSH_PRIVATE_KEY`, for CI), the
//! key files the inventory or ssh config names, ssh-agent identities (`SSH_AUTH_SOCK`), and
//! OpenSSH's default key files when nothing is named. Encrypted keys are opened with the
//! passphrase in `DEPLOYER_SSH_KEY_PASSPHRASE`.
//!
//! Each key file is read and decrypted once per run, however many hosts use it (decryption
//! costs a bcrypt run). Passwords and keyboard-interactive logins are not supported. Key material
//! and passphrases are never logged or shown by `Debug`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use russh::client::{Handle, Handler};
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg};
use tokio::sync::OnceCell;
use zeroize::Zeroizing;

use super::session::ConnectError;
use super::target::Endpoint;

/// Where keys come from besides key files: a key given as text, a passphrase, an ssh-agent.
#[derive(Clone, Default)]
pub struct Credentials {
    private_key: Option<Arc<Zeroizing<String>>>,
    passphrase: Option<Arc<Zeroizing<String>>>,
    agent: Option<PathBuf>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field(
                "private_key",
                &self.private_key.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "passphrase",
                &self.passphrase.as_ref().map(|_| "<redacted>"),
            )
            .field("agent", &self.agent)
            .finish()
    }
}

impl Credentials {
    /// Reads `DEPLOYER_SSH_PRIVATE_KEY`, `DEPLOYER_SSH_KEY_PASSPHRASE` and `SSH_AUTH_SOCK`.
    pub fn from_env() -> Credentials {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        Credentials {
            private_key: var("DEPLOYER_SSH_PRIVATE_KEY").map(|k| Arc::new(Zeroizing::new(k))),
            passphrase: var("DEPLOYER_SSH_KEY_PASSPHRASE").map(|p| Arc::new(Zeroizing::new(p))),
            agent: var("SSH_AUTH_SOCK").map(PathBuf::from),
        }
    }

    /// Offers this private key (OpenSSH or PEM text) before any key file.
    pub fn with_private_key(mut self, text: impl Into<String>) -> Credentials {
        self.private_key = Some(Arc::new(Zeroizing::new(text.into())));
        self
    }

    /// Decrypts encrypted keys with this passphrase.
    pub fn with_passphrase(mut self, passphrase: impl Into<String>) -> Credentials {
        self.passphrase = Some(Arc::new(Zeroizing::new(passphrase.into())));
        self
    }

    /// Asks the ssh-agent listening on this socket (`None`: no agent).
    pub fn with_agent(mut self, socket: Option<PathBuf>) -> Credentials {
        self.agent = socket;
        self
    }
}

/// A decrypted key, or why it could not be had; shared by every login that offers it.
type KeySlot = Arc<OnceCell<Result<Arc<PrivateKey>, String>>>;

/// Logs sessions in; holds the run's credentials and the keys decrypted so far.
pub(crate) struct Authenticator {
    credentials: Credentials,
    default_keys: Vec<PathBuf>,
    keys: Mutex<HashMap<PathBuf, KeySlot>>,
}

/// What a login attempt came to, for the error message when none worked.
struct Attempts {
    tried: Vec<String>,
}

impl Authenticator {
    /// An authenticator; `ssh_dir` holds the default key files (`id_ed25519`, ...).
    pub(crate) fn new(credentials: Credentials, ssh_dir: &Path) -> Authenticator {
        Authenticator {
            credentials,
            default_keys: ["id_ed25519", "id_ecdsa", "id_rsa"]
                .iter()
                .map(|name| ssh_dir.join(name))
                .collect(),
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Logs `handle` in as `endpoint.user`, trying each key source in turn.
    pub(crate) async fn login<H: Handler>(
        &self,
        handle: &mut Handle<H>,
        endpoint: &Endpoint,
    ) -> Result<(), ConnectError> {
        let mut attempts = Attempts { tried: Vec::new() };
        let explicit =
            self.credentials.private_key.is_some() || !endpoint.identity_files.is_empty();
        if let Some(text) = &self.credentials.private_key {
            let key = self.inline_key(text).await.map_err(ConnectError::Auth)?;
            if offer_key(
                handle,
                endpoint,
                key,
                "DEPLOYER_SSH_PRIVATE_KEY",
                &mut attempts,
            )
            .await?
            {
                return Ok(());
            }
        }
        for path in &endpoint.identity_files {
            let key = self.key_file(path).await.map_err(ConnectError::Config)?;
            if offer_key(
                handle,
                endpoint,
                key,
                &path.display().to_string(),
                &mut attempts,
            )
            .await?
            {
                return Ok(());
            }
        }
        if self.agent_login(handle, endpoint, &mut attempts).await? {
            return Ok(());
        }
        if !explicit && self.default_login(handle, endpoint, &mut attempts).await? {
            return Ok(());
        }
        let tried = match attempts.tried.as_slice() {
            [] => "no key to offer: name one with ansible_ssh_private_key_file, or start ssh-agent"
                .to_string(),
            tried => format!("tried {}", tried.join(", ")),
        };
        Err(ConnectError::Auth(format!(
            "{} refused every key ({tried})",
            endpoint.label()
        )))
    }

    async fn agent_login<H: Handler>(
        &self,
        handle: &mut Handle<H>,
        endpoint: &Endpoint,
        attempts: &mut Attempts,
    ) -> Result<bool, ConnectError> {
        let Some(socket) = &self.credentials.agent else {
            return Ok(false);
        };
        let mut agent = match AgentClient::connect_uds(socket).await {
            Ok(agent) => agent,
            Err(e) => {
                tracing::debug!(socket = %socket.display(), "ssh-agent unavailable: {e}");
                return Ok(false);
            }
        };
        let identities = agent.request_identities().await.unwrap_or_default();
        for identity in identities {
            let label = format!(
                "agent key {}",
                identity.public_key().fingerprint(HashAlg::Sha256)
            );
            let hash = rsa_hash(handle, identity.public_key().algorithm().is_rsa()).await;
            let result = match identity {
                AgentIdentity::PublicKey { key, .. } => {
                    handle
                        .authenticate_publickey_with(&endpoint.user, key, hash, &mut agent)
                        .await
                }
                AgentIdentity::Certificate { certificate, .. } => {
                    handle
                        .authenticate_certificate_with(
                            &endpoint.user,
                            certificate,
                            hash,
                            &mut agent,
                        )
                        .await
                }
            };
            match result {
                Ok(outcome) if outcome.success() => return Ok(true),
                Ok(_) => attempts.tried.push(label),
                Err(e) => tracing::debug!("{label}: the agent did not sign: {e}"),
            }
        }
        Ok(false)
    }

    async fn default_login<H: Handler>(
        &self,
        handle: &mut Handle<H>,
        endpoint: &Endpoint,
        attempts: &mut Attempts,
    ) -> Result<bool, ConnectError> {
        for path in self.default_keys.iter().filter(|p| p.exists()) {
            match self.key_file(path).await {
                Ok(key) => {
                    let label = path.display().to_string();
                    if offer_key(handle, endpoint, key, &label, attempts).await? {
                        return Ok(true);
                    }
                }
                Err(e) => tracing::debug!("skipping a default key: {e}"),
            }
        }
        Ok(false)
    }

    /// The key in `path`, read and decrypted once per run.
    async fn key_file(&self, path: &Path) -> Result<Arc<PrivateKey>, String> {
        let slot = self
            .keys
            .lock()
            .expect("the key cache lock is never poisoned")
            .entry(path.to_path_buf())
            .or_default()
            .clone();
        let passphrase = self.credentials.passphrase.clone();
        let path = path.to_path_buf();
        slot.get_or_init(|| async move {
            let text = std::fs::read_to_string(&path)
                .map(Zeroizing::new)
                .map_err(|e| format!("cannot read key file {}: {e}", path.display()))?;
            decode(text, passphrase, &path.display().to_string()).await
        })
        .await
        .clone()
    }

    async fn inline_key(&self, text: &Arc<Zeroizing<String>>) -> Result<Arc<PrivateKey>, String> {
        let slot = self
            .keys
            .lock()
            .expect("the key cache lock is never poisoned")
            .entry(PathBuf::from("<DEPLOYER_SSH_PRIVATE_KEY>"))
            .or_default()
            .clone();
        let text = Zeroizing::new(text.as_str().to_owned());
        let passphrase = self.credentials.passphrase.clone();
        slot.get_or_init(|| decode(text, passphrase, "DEPLOYER_SSH_PRIVATE_KEY"))
            .await
            .clone()
    }
}

/// Decodes (and decrypts) a private key off the async threads: bcrypt takes a while.
async fn decode(
    text: Zeroizing<String>,
    passphrase: Option<Arc<Zeroizing<String>>>,
    source: &str,
) -> Result<Arc<PrivateKey>, String> {
    let decoded = tokio::task::spawn_blocking(move || {
        russh::keys::decode_secret_key(&text, passphrase.as_ref().map(|p| p.as_str()))
    })
    .await
    .map_err(|e| format!("{source}: {e}"))?;
    match decoded {
        Ok(key) => Ok(Arc::new(key)),
        Err(russh::keys::Error::KeyIsEncrypted) => Err(format!(
            "{source} is encrypted: set DEPLOYER_SSH_KEY_PASSPHRASE or load it into ssh-agent"
        )),
        Err(e) => Err(format!("{source}: cannot use this key: {e}")),
    }
}

/// Offers one key; `Ok(true)` when the server accepted it.
async fn offer_key<H: Handler>(
    handle: &mut Handle<H>,
    endpoint: &Endpoint,
    key: Arc<PrivateKey>,
    label: &str,
    attempts: &mut Attempts,
) -> Result<bool, ConnectError> {
    let hash = rsa_hash(handle, key.algorithm().is_rsa()).await;
    let outcome = handle
        .authenticate_publickey(&endpoint.user, PrivateKeyWithHashAlg::new(key, hash))
        .await
        .map_err(|e| {
            ConnectError::Unreachable(format!("{}: login failed: {e}", endpoint.label()))
        })?;
    tracing::debug!(endpoint = %endpoint.label(), key = label, accepted = outcome.success(), "offered a key");
    attempts.tried.push(label.to_string());
    Ok(outcome.success())
}

/// The signature hash for an RSA key: the best one the server announces.
async fn rsa_hash<H: Handler>(handle: &Handle<H>, is_rsa: bool) -> Option<HashAlg> {
    if !is_rsa {
        return None;
    }
    handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten()
}
