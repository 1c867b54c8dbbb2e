//! `ansible.cfg`, found and read the way Ansible does: the file named by `ANSIBLE_CONFIG`, else
//! `./ansible.cfg`, `~/.ansible.cfg`, `/etc/ansible/ansible.cfg`; the first found wins, and the
//! matching `ANSIBLE_*` environment variables override its settings. Command-line flags override
//! both (in `main.rs`).
//!
//! Only the settings that change a run's meaning are read into [`Settings`]; every other one is
//! listed in [`Settings::ignored`] (shown at `-v`). The parsed settings are installed once per
//! process ([`install`]) and read where they apply ([`settings`]).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use configparser::ini::Ini;

use crate::compile::BecomeSpec;

/// Why `ansible.cfg` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or parsed.
    #[error("{path}: {message}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A setting has a value deployer cannot use.
    #[error("{origin}: {key}: {message}")]
    Value {
        /// `the file` or the environment variable it came from.
        origin: String,
        /// `section.key`.
        key: String,
        /// What is wrong with it.
        message: String,
    },
}

/// The settings deployer honours, after the environment's overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// The config file read, if any.
    pub file: Option<PathBuf>,
    /// `[defaults] inventory` / `ANSIBLE_INVENTORY`.
    pub inventory: Vec<PathBuf>,
    /// `[defaults] roles_path` / `ANSIBLE_ROLES_PATH`.
    pub roles_path: Vec<PathBuf>,
    /// `[defaults] collections_path` / `ANSIBLE_COLLECTIONS_PATH`.
    pub collections_path: Vec<PathBuf>,
    /// `[defaults] remote_user` / `ANSIBLE_REMOTE_USER`.
    pub remote_user: Option<String>,
    /// `[defaults] private_key_file` / `ANSIBLE_PRIVATE_KEY_FILE`.
    pub private_key_file: Option<PathBuf>,
    /// `[defaults] forks` / `ANSIBLE_FORKS`.
    pub forks: Option<usize>,
    /// `[defaults] host_key_checking` / `ANSIBLE_HOST_KEY_CHECKING`.
    pub host_key_checking: Option<bool>,
    /// `[defaults] vault_password_file` / `ANSIBLE_VAULT_PASSWORD_FILE`.
    pub vault_password_file: Option<PathBuf>,
    /// `[defaults] timeout` / `ANSIBLE_TIMEOUT`, in seconds.
    pub timeout: Option<u64>,
    /// `[privilege_escalation] become` / `ANSIBLE_BECOME`.
    pub become_: Option<bool>,
    /// `[defaults] transport` / `ANSIBLE_TRANSPORT`: the connection of hosts that name none.
    pub connection: Option<String>,
    /// `[privilege_escalation] become_user` / `ANSIBLE_BECOME_USER`.
    pub become_user: Option<String>,
    /// `[privilege_escalation] become_method` / `ANSIBLE_BECOME_METHOD` (only `sudo`).
    pub become_method: Option<String>,
    /// `[ssh_connection] ssh_args` / `ANSIBLE_SSH_ARGS`.
    pub ssh_args: Option<String>,
    /// `[ssh_connection] pipelining` / `ANSIBLE_PIPELINING`: accepted, without effect.
    pub pipelining: Option<bool>,
    /// Settings in the file that deployer does not act on, as `section.key`.
    pub ignored: Vec<String>,
}

/// How a setting's value is read.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Path,
    /// Paths separated by `:` (`,` for the inventory).
    Paths(char),
    Bool,
    Int,
}

/// One honoured setting: where it lives in the file, its environment variables, its kind.
struct Spec {
    section: &'static str,
    key: &'static str,
    env: &'static [&'static str],
    kind: Kind,
}

const fn spec(
    section: &'static str,
    key: &'static str,
    env: &'static [&'static str],
    kind: Kind,
) -> Spec {
    Spec {
        section,
        key,
        env,
        kind,
    }
}

/// Every setting deployer honours (Ansible's section, key and variable names).
const SPECS: &[Spec] = &[
    spec(
        "defaults",
        "inventory",
        &["ANSIBLE_INVENTORY"],
        Kind::Paths(','),
    ),
    spec(
        "defaults",
        "roles_path",
        &["ANSIBLE_ROLES_PATH"],
        Kind::Paths(':'),
    ),
    spec(
        "defaults",
        "collections_path",
        &["ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS"],
        Kind::Paths(':'),
    ),
    spec(
        "defaults",
        "remote_user",
        &["ANSIBLE_REMOTE_USER"],
        Kind::Text,
    ),
    spec(
        "defaults",
        "private_key_file",
        &["ANSIBLE_PRIVATE_KEY_FILE"],
        Kind::Path,
    ),
    spec("defaults", "forks", &["ANSIBLE_FORKS"], Kind::Int),
    spec("defaults", "transport", &["ANSIBLE_TRANSPORT"], Kind::Text),
    spec(
        "defaults",
        "host_key_checking",
        &["ANSIBLE_HOST_KEY_CHECKING"],
        Kind::Bool,
    ),
    spec(
        "defaults",
        "vault_password_file",
        &["ANSIBLE_VAULT_PASSWORD_FILE"],
        Kind::Path,
    ),
    spec("defaults", "timeout", &["ANSIBLE_TIMEOUT"], Kind::Int),
    spec(
        "privilege_escalation",
        "become",
        &["ANSIBLE_BECOME"],
        Kind::Bool,
    ),
    spec(
        "privilege_escalation",
        "become_user",
        &["ANSIBLE_BECOME_USER"],
        Kind::Text,
    ),
    spec(
        "privilege_escalation",
        "become_method",
        &["ANSIBLE_BECOME_METHOD"],
        Kind::Text,
    ),
    spec(
        "ssh_connection",
        "ssh_args",
        &["ANSIBLE_SSH_ARGS"],
        Kind::Text,
    ),
    spec(
        "ssh_connection",
        "pipelining",
        &["ANSIBLE_PIPELINING"],
        Kind::Bool,
    ),
];

/// A setting's value once read.
enum Value {
    Text(String),
    Paths(Vec<PathBuf>),
    Bool(bool),
    Int(u64),
}

impl Settings {
    /// Finds the config file, reads it, and applies the environment's overrides.
    pub fn load() -> Result<Settings, ConfigError> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let home = env("HOME").map(PathBuf::from);
        let cwd = std::env::current_dir().unwrap_or_default();
        let file = find(
            env("ANSIBLE_CONFIG").map(PathBuf::from),
            &cwd,
            home.as_deref(),
        );
        Settings::read(file.as_deref(), &env, home.as_deref(), &cwd)
    }

    /// Reads `file` (when given), then lets `env` override it; relative paths are taken from
    /// the file's folder (from `cwd` for environment values), `~` from `home`.
    pub fn read(
        file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
        home: Option<&Path>,
        cwd: &Path,
    ) -> Result<Settings, ConfigError> {
        let mut settings = Settings {
            file: file.map(Path::to_path_buf),
            ..Settings::default()
        };
        let ini = match file {
            Some(path) => Some(parse(path)?),
            None => None,
        };
        if let Some((path, ini)) = file.zip(ini.as_ref()) {
            let base = path.parent().unwrap_or(Path::new("."));
            for (section, keys) in ini.get_map_ref() {
                for (key, value) in keys {
                    let Some(spec) = SPECS.iter().find(|s| s.section == section && s.key == key)
                    else {
                        settings.ignored.push(format!("{section}.{key}"));
                        continue;
                    };
                    let raw = interpolate(value.as_deref().unwrap_or(""));
                    let origin = path.display().to_string();
                    settings.set(spec, value_of(spec, &raw, base, home, &origin)?);
                }
            }
        }
        settings.ignored.sort();
        for spec in SPECS {
            if let Some((name, raw)) = spec.env.iter().find_map(|n| env(n).map(|v| (*n, v))) {
                settings.set(spec, value_of(spec, &raw, cwd, home, name)?);
            }
        }
        if let Some(method) = settings.become_method.as_deref().filter(|m| *m != "sudo") {
            return Err(ConfigError::Value {
                origin: settings.origin(),
                key: "privilege_escalation.become_method".into(),
                message: format!("`{method}`: deployer becomes another user with sudo only"),
            });
        }
        Ok(settings)
    }

    fn origin(&self) -> String {
        self.file
            .as_ref()
            .map_or_else(|| "the environment".into(), |f| f.display().to_string())
    }

    fn set(&mut self, spec: &Spec, value: Value) {
        let text = |v: Value| match v {
            Value::Text(t) => Some(t),
            _ => None,
        };
        let paths = |v: Value| match v {
            Value::Paths(p) => p,
            _ => Vec::new(),
        };
        let flag = |v: Value| match v {
            Value::Bool(b) => Some(b),
            _ => None,
        };
        let int = |v: Value| match v {
            Value::Int(n) => Some(n),
            _ => None,
        };
        match spec.key {
            "inventory" => self.inventory = paths(value),
            "roles_path" => self.roles_path = paths(value),
            "collections_path" => self.collections_path = paths(value),
            "remote_user" => self.remote_user = text(value),
            "private_key_file" => self.private_key_file = paths(value).pop(),
            "forks" => self.forks = int(value).map(|n| n as usize),
            "transport" => self.connection = text(value),
            "host_key_checking" => self.host_key_checking = flag(value),
            "vault_password_file" => self.vault_password_file = paths(value).pop(),
            "timeout" => self.timeout = int(value),
            "become" => self.become_ = flag(value),
            "become_user" => self.become_user = text(value),
            "become_method" => self.become_method = text(value),
            "ssh_args" => self.ssh_args = text(value),
            _ => self.pipelining = flag(value),
        }
    }

    /// The inventory to read: the one `given` on the command line (see
    /// [`crate::resolve_inventory`]), else the configured one, else Ansible's `/etc/ansible/hosts`
    /// when it exists.
    pub fn inventory(&self, given: Option<&str>) -> Result<PathBuf, String> {
        if let Some(name) = given {
            return Ok(crate::resolve_inventory(name));
        }
        match self.inventory.as_slice() {
            [one] => Ok(one.clone()),
            [] => Some(PathBuf::from("/etc/ansible/hosts"))
                .filter(|p| p.exists())
                .ok_or_else(|| "no inventory: pass -i INVENTORY, or set `inventory` in ansible.cfg's [defaults]".to_string()),
            many => Err(format!(
                "{}: deployer reads one inventory, the configuration names {}; pass -i",
                self.origin(),
                many.len()
            )),
        }
    }

    /// The `become` settings a play starts from.
    pub fn become_spec(&self) -> BecomeSpec {
        BecomeSpec {
            enabled: crate::compile::Keyword::Literal(self.become_.unwrap_or(false)),
            user: self.become_user.clone(),
        }
    }

    /// The folder of a collection's role `namespace.collection.role` under `collections_path`.
    pub fn collection_role(&self, name: &str) -> Option<PathBuf> {
        let mut parts = name.splitn(3, '.');
        let (namespace, collection, role) = (parts.next()?, parts.next()?, parts.next()?);
        (self.collections_path.iter())
            .map(|root| {
                let root = root.join("ansible_collections");
                root.join(namespace)
                    .join(collection)
                    .join("roles")
                    .join(role)
            })
            .find(|dir| dir.is_dir())
    }
}

/// The config file Ansible would read: `ANSIBLE_CONFIG` (a file, or a folder holding
/// `ansible.cfg`), `./ansible.cfg` (unless the folder is world-writable, which Ansible refuses),
/// `~/.ansible.cfg`, `/etc/ansible/ansible.cfg`.
fn find(named: Option<PathBuf>, cwd: &Path, home: Option<&Path>) -> Option<PathBuf> {
    let named = named.map(|p| if p.is_dir() { p.join("ansible.cfg") } else { p });
    if let Some(named) = named.filter(|p| p.is_file()) {
        return Some(named);
    }
    // Relative, so that paths in it stay relative to the current folder in messages.
    if !world_writable(cwd) && cwd.join("ansible.cfg").is_file() {
        return Some(PathBuf::from("ansible.cfg"));
    }
    [
        home.map(|h| h.join(".ansible.cfg")),
        Some(PathBuf::from("/etc/ansible/ansible.cfg")),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.is_file())
}

fn world_writable(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o002 != 0)
}

/// Parses an `ansible.cfg` as Python's `configparser` does for Ansible: `=` or `:`, `#` and `;`
/// comment lines, `;` inline comments, indented continuation lines, keys lower-cased.
fn parse(path: &Path) -> Result<Ini, ConfigError> {
    let mut ini = Ini::new();
    ini.set_comment_symbols(&['#', ';']);
    ini.set_inline_comment_symbols(Some(&[';']));
    ini.set_multiline(true);
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    ini.read(text).map_err(|message| ConfigError::Read {
        path: path.to_path_buf(),
        message,
    })?;
    Ok(ini)
}

/// Undoes `configparser`'s interpolation escape: `%%` is a literal `%`.
fn interpolate(raw: &str) -> String {
    raw.replace("%%", "%")
}

/// Reads `raw` as `spec` wants it; `origin` names the file or variable for errors.
fn value_of(
    spec: &Spec,
    raw: &str,
    base: &Path,
    home: Option<&Path>,
    origin: &str,
) -> Result<Value, ConfigError> {
    let bad = |message: String| ConfigError::Value {
        origin: origin.to_string(),
        key: format!("{}.{}", spec.section, spec.key),
        message,
    };
    let raw = raw.trim();
    Ok(match spec.kind {
        Kind::Text => Value::Text(raw.to_string()),
        Kind::Path => Value::Paths(vec![path(raw, base, home)]),
        Kind::Paths(separator) => Value::Paths(
            (raw.split(separator).map(str::trim))
                .filter(|p| !p.is_empty())
                .map(|p| path(p, base, home))
                .collect(),
        ),
        Kind::Bool => {
            Value::Bool(boolean(raw).ok_or_else(|| bad(format!("`{raw}` is not a boolean")))?)
        }
        Kind::Int => Value::Int(
            raw.parse()
                .map_err(|_| bad(format!("`{raw}` is not a number")))?,
        ),
    })
}

/// A path setting: `~` expanded, relative paths taken from `base`.
fn path(raw: &str, base: &Path, home: Option<&Path>) -> PathBuf {
    let expanded = match (raw.strip_prefix('~'), home) {
        (Some(rest), Some(home)) => home.join(rest.trim_start_matches('/')),
        _ => PathBuf::from(raw),
    };
    if expanded.is_absolute() {
        expanded
    } else {
        base.join(expanded.strip_prefix(".").unwrap_or(&expanded))
    }
}

/// Ansible's boolean words.
fn boolean(raw: &str) -> Option<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" | "y" | "t" => Some(true),
        "0" | "false" | "no" | "off" | "n" | "f" | "" => Some(false),
        _ => None,
    }
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Makes `settings` the process's settings (the first call wins).
pub fn install(settings: Settings) {
    let _ = SETTINGS.set(settings);
}

/// The process's settings: those installed, else none.
pub fn settings() -> &'static Settings {
    SETTINGS.get_or_init(Settings::default)
}

#[cfg(test)]
mod tests;
