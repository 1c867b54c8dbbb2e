//! Encrypted vars files: the Ansible Vault format ([`format`]) and the [`Vault`] that loading goes
//! through, which decrypts vault files transparently and remembers every value read from them as
//! a secret to redact.

pub mod format;

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use zeroize::Zeroizing;

use crate::diagnostic::Diagnostic;
use crate::parse::{MAX_YAML_BYTES, Node, Source, parse_yaml};
use crate::secrets::Secrets;

/// Asks for the vault password when a vault file is first met (a terminal prompt, say).
pub type PasswordPrompt = Box<dyn Fn() -> Option<String> + Send + Sync>;

/// The vault password (given, asked for lazily, or absent) and the secrets read with it.
#[derive(Default)]
pub struct Vault {
    given: OnceLock<Option<Zeroizing<String>>>,
    prompt: Option<PasswordPrompt>,
    secrets: Mutex<Secrets>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault { .. }")
    }
}

impl Vault {
    /// A vault with this password.
    pub fn with_password(password: String) -> Self {
        let vault = Vault::default();
        let _ = vault.given.set(Some(Zeroizing::new(password)));
        vault
    }

    /// A vault whose password is asked for (once) when first needed.
    pub fn with_prompt(prompt: PasswordPrompt) -> Self {
        Vault {
            prompt: Some(prompt),
            ..Vault::default()
        }
    }

    /// Wraps the vault for sharing.
    pub fn shared(self) -> Arc<Vault> {
        Arc::new(self)
    }

    /// The password, asking for it now if it has to be asked for; `None` when there is none.
    pub fn password(&self) -> Option<&str> {
        self.given
            .get_or_init(|| {
                self.prompt
                    .as_ref()
                    .and_then(|ask| ask())
                    .map(Zeroizing::new)
            })
            .as_deref()
            .map(String::as_str)
    }

    /// Reads and parses a YAML file, decrypting it first when it is a vault file; every value of a
    /// decrypted file becomes a secret.
    pub fn parse_yaml_file(&self, path: &Path) -> Result<Node, Diagnostic> {
        let source = Source::read(path, MAX_YAML_BYTES)?;
        if !format::is_vault(&source.text) {
            return parse_yaml(&Arc::new(source));
        }
        let Some(password) = self.password() else {
            return Err(Diagnostic::file(
                path,
                "this file is vault-encrypted and no vault password was given",
            )
            .with_help("pass --vault-password-file FILE or set DEPLOYER_VAULT_PASSWORD"));
        };
        let plaintext = format::decrypt(&source.text, password)
            .map_err(|e| Diagnostic::file(path, format!("cannot decrypt this vault file: {e}")))?;
        let text = String::from_utf8(plaintext.to_vec())
            .map_err(|_| Diagnostic::file(path, "the decrypted vault file is not UTF-8"))?;
        let decrypted = Arc::new(Source {
            path: path.to_path_buf(),
            text,
        });
        // A syntax error must not quote the decrypted text: only say where it is.
        let node = parse_yaml(&decrypted).map_err(|d| {
            Diagnostic::file(
                path,
                format!("in the decrypted text, line {}: {}", d.span.line, d.message),
            )
        })?;
        self.secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .add_all(&node.to_json());
        Ok(node)
    }

    /// The values read from vault files so far.
    pub fn secrets(&self) -> Secrets {
        self.secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault_file(dir: &Path, plaintext: &str) -> std::path::PathBuf {
        let path = dir.join("secret.yml");
        let text = format::encrypt(plaintext.as_bytes(), "pw").unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn vault_files_are_decrypted_and_their_values_become_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let path = vault_file(dir.path(), "db_password: hunter2-x\nport: 5432\n");
        let vault = Vault::with_password("pw".into());
        let node = vault.parse_yaml_file(&path).unwrap();
        assert_eq!(node.to_json()["db_password"], "hunter2-x");
        assert_eq!(
            vault.secrets().redact("hunter2-x on 5432"),
            "******** on ********"
        );
    }

    #[test]
    fn a_missing_or_wrong_password_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = vault_file(dir.path(), "a: b\n");
        let none = Vault::default().parse_yaml_file(&path).unwrap_err();
        assert!(none.to_string().contains("secret.yml"), "{none}");
        assert!(none.to_string().contains("no vault password"), "{none}");
        let wrong = Vault::with_password("nope".into())
            .parse_yaml_file(&path)
            .unwrap_err();
        assert!(wrong.to_string().contains("secret.yml"), "{wrong}");
        assert!(
            wrong.to_string().contains("wrong vault password"),
            "{wrong}"
        );
    }

    #[test]
    fn the_prompt_is_asked_once_and_only_when_needed() {
        let asked = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counter = Arc::clone(&asked);
        let vault = Vault::with_prompt(Box::new(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Some("pw".into())
        }));
        assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 0);
        assert_eq!(vault.password(), Some("pw"));
        assert_eq!(vault.password(), Some("pw"));
        assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
