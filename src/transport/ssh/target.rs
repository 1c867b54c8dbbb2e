//! Where and how to reach one host over SSH: an [`SshTarget`] resolved from the host's merged
//! inventory variables and the user's `~/.ssh/config`.
//!
//! Precedence, highest first: `ansible_*` variables, then `ansible_ssh_common_args` /
//! `ansible_ssh_extra_args` (and the `bastion:` mapping), then ssh config, then defaults (port 22,
//! the local user name). This file opens no connection and reads no key; it only decides.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use ssh2_config::{HostParams, ParseRule, SshConfig};

use super::args::{
    HostKeyChecking, JumpSpec, SshArgs, parse_host_key_checking, parse_jump, parse_port,
    parse_proxy_jump,
};

/// One SSH server on the way: where it listens and whom to log in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or address to connect to (for a hop after a bastion: as the bastion resolves it).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Login name.
    pub user: String,
    /// Private key files to offer, in order (none: the agent, then the default key files).
    pub identity_files: Vec<PathBuf>,
}

impl Endpoint {
    /// `user@host:port`, for messages.
    pub fn label(&self) -> String {
        format!("{}@{}:{}", self.user, self.host, self.port)
    }
}

/// Everything needed to open a session to one inventory host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    /// The host itself.
    pub endpoint: Endpoint,
    /// Bastions to pass through, outermost first (empty: connect directly).
    pub jumps: Vec<Endpoint>,
    /// known_hosts files to consult, in order; new keys are recorded in the first.
    pub known_hosts_files: Vec<PathBuf>,
    /// `StrictHostKeyChecking` from the inventory or ssh config, if set.
    pub host_key_checking: Option<HostKeyChecking>,
}

impl SshTarget {
    /// The endpoints from the outermost bastion to the host.
    pub fn route(&self) -> impl Iterator<Item = &Endpoint> {
        self.jumps.iter().chain(std::iter::once(&self.endpoint))
    }
}

/// What resolution needs from the controller: the ssh config, the ssh directory, the user name.
#[derive(Debug, Clone, Default)]
pub struct SshEnvironment {
    /// The parsed ssh config (`None`: there is none).
    pub config: Option<SshConfig>,
    /// The directory holding `known_hosts` (normally `~/.ssh`).
    pub ssh_dir: PathBuf,
    /// The home directory, for `~` in paths.
    pub home: PathBuf,
    /// The login name used when nothing else names one.
    pub local_user: String,
    /// ansible.cfg's `ssh_args`, `remote_user` and `private_key_file`, as ssh options: below the
    /// inventory's, above ssh config's.
    pub configured: SshArgs,
}

impl SshEnvironment {
    /// Reads `<ssh_dir>/config` (default `~/.ssh`); a missing file is no config.
    pub fn load(ssh_dir: Option<&Path>) -> Result<SshEnvironment, String> {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/"), PathBuf::from);
        let ssh_dir = ssh_dir.map_or_else(|| home.join(".ssh"), Path::to_path_buf);
        let config = read_config(&ssh_dir.join("config"), &home)?;
        let local_user = ["USER", "LOGNAME"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|u| !u.is_empty()))
            .unwrap_or_else(|| "root".to_string());
        Ok(SshEnvironment {
            config,
            ssh_dir,
            home,
            local_user,
            configured: configured_args(crate::config::settings())?,
        })
    }

    /// `path` with a leading `~` replaced by the home directory.
    fn expand(&self, path: impl AsRef<Path>) -> PathBuf {
        let path = path.as_ref();
        match path.strip_prefix("~") {
            Ok(rest) => self.home.join(rest),
            Err(_) => path.to_path_buf(),
        }
    }
}

/// ansible.cfg's connection settings as ssh options.
fn configured_args(settings: &crate::config::Settings) -> Result<SshArgs, String> {
    let mut args = match &settings.ssh_args {
        Some(text) => SshArgs::parse(text).map_err(|e| format!("ansible.cfg ssh_args: {e}"))?,
        None => SshArgs::default(),
    };
    args.user = settings.remote_user.clone().or(args.user);
    args.identity_files
        .splice(0..0, settings.private_key_file.iter().cloned());
    Ok(args)
}

/// Reads an ssh config file; a missing file is no config.
fn read_config(path: &Path, home: &Path) -> Result<Option<SshConfig>, String> {
    match std::fs::File::open(path) {
        Ok(file) => parse_config(&mut std::io::BufReader::new(file), home)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Parses ssh config text the way deployer reads it (unknown and unsupported keywords kept).
pub fn parse_config(reader: &mut impl std::io::BufRead, home: &Path) -> Result<SshConfig, String> {
    SshConfig::default()
        .home_dir(home)
        .parse(
            reader,
            ParseRule::ALLOW_UNKNOWN_FIELDS | ParseRule::ALLOW_UNSUPPORTED_FIELDS,
        )
        .map_err(|e| e.to_string())
}

/// Resolves the SSH target for inventory host `name` from its merged variables.
pub fn resolve(
    name: &str,
    vars: &Map<String, Value>,
    env: &SshEnvironment,
) -> Result<SshTarget, String> {
    let alias = string_var(vars, &["ansible_host", "ansible_ssh_host"])?;
    let alias = alias.as_deref().unwrap_or(name);
    let mut args = inventory_args(vars)?;
    let config_file = (args.config_file.as_ref()).or(env.configured.config_file.as_ref());
    let own_config = match config_file {
        Some(path) => Some(
            read_config(&env.expand(path), &env.home)?
                .ok_or_else(|| format!("ssh config file {} not found", path.display()))?,
        ),
        None => None,
    };
    let ssh_config = own_config.as_ref().or(env.config.as_ref());
    let params = ssh_config.map(|config| config.query(alias));
    let mut below = env.configured.clone();
    below.merge(
        params
            .as_ref()
            .map(config_args)
            .transpose()?
            .unwrap_or_default(),
    );
    let jumps = jump_specs(vars.get("bastion"), &args, &below)?;
    args.merge(below);
    let port = match string_var(vars, &["ansible_port", "ansible_ssh_port"])? {
        Some(port) => Some(parse_port(&port).map_err(|e| format!("ansible_port: {e}"))?),
        None => args.port,
    };
    let key = string_var(
        vars,
        &["ansible_ssh_private_key_file", "ansible_private_key_file"],
    )?;
    let identity_files = key
        .map(PathBuf::from)
        .iter()
        .chain(&args.identity_files)
        .map(|path| env.expand(path))
        .collect();
    let endpoint = Endpoint {
        host: params
            .and_then(|p| p.host_name)
            .unwrap_or_else(|| alias.to_string()),
        port: port.unwrap_or(22),
        user: string_var(vars, &["ansible_user", "ansible_ssh_user"])?
            .or(args.user.clone())
            .unwrap_or_else(|| env.local_user.clone()),
        identity_files,
    };
    let jumps = jumps
        .iter()
        .map(|spec| resolve_jump(spec, ssh_config, env, &endpoint.identity_files))
        .collect::<Result<_, _>>()?;
    Ok(SshTarget {
        known_hosts_files: known_hosts_files(vars, &args, env)?,
        host_key_checking: args.host_key_checking,
        endpoint,
        jumps,
    })
}

/// The options in `ansible_ssh_common_args` and then `ansible_ssh_extra_args`.
fn inventory_args(vars: &Map<String, Value>) -> Result<SshArgs, String> {
    let mut args = SshArgs::default();
    for key in ["ansible_ssh_common_args", "ansible_ssh_extra_args"] {
        if let Some(text) = string_var(vars, &[key])? {
            args.merge(SshArgs::parse(&text).map_err(|e| format!("{key}: {e}"))?);
        }
    }
    Ok(args)
}

/// The jump hosts: the `bastion:` variable or a ProxyJump in the inventory's ssh args (both
/// only when they name the same host), else the ssh config's ProxyJump.
fn jump_specs(
    bastion: Option<&Value>,
    inventory: &SshArgs,
    config: &SshArgs,
) -> Result<Vec<JumpSpec>, String> {
    match (bastion.filter(|b| !b.is_null()), &inventory.proxy_jump) {
        (Some(bastion), Some(jumps)) => {
            let spec = bastion_spec(bastion)?;
            match jumps.as_slice() {
                [jump] if same_host(jump, &spec) => Ok(vec![JumpSpec {
                    user: spec.user.clone().or(jump.user.clone()),
                    ..spec
                }]),
                _ => Err(format!(
                    "`bastion` ({bastion}) and the ProxyJump in ansible_ssh_*_args name \
                     different hosts; keep one"
                )),
            }
        }
        (Some(bastion), None) => bastion_spec(bastion).map(|spec| vec![spec]),
        (None, Some(jumps)) => Ok(jumps.clone()),
        (None, None) => Ok(config.proxy_jump.clone().unwrap_or_default()),
    }
}

/// Whether two jump specs name the same server (and login, where both name one).
fn same_host(a: &JumpSpec, b: &JumpSpec) -> bool {
    let users_agree = match (&a.user, &b.user) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    };
    a.host.eq_ignore_ascii_case(&b.host)
        && a.port.unwrap_or(22) == b.port.unwrap_or(22)
        && users_agree
}

/// Reads the `bastion:` variable: `user@host:port`, or a mapping with host, port, user and key.
fn bastion_spec(value: &Value) -> Result<JumpSpec, String> {
    let bad =
        || format!("bastion: expected `user@host:port` or a mapping with `host`, got {value}");
    match value {
        Value::String(spec) => parse_jump(spec).map_err(|e| format!("bastion: {e}")),
        Value::Object(map) => {
            let host = string_var(map, &["host"])?.ok_or_else(bad)?;
            let port = string_var(map, &["port"])?
                .map(|p| parse_port(&p).map_err(|e| format!("bastion: {e}")))
                .transpose()?;
            Ok(JumpSpec {
                user: string_var(map, &["user"])?,
                host,
                port,
                identity_files: string_var(map, &["key"])?
                    .map(PathBuf::from)
                    .into_iter()
                    .collect(),
            })
        }
        _ => Err(bad()),
    }
}

/// A jump host gets its own ssh config lookup, like OpenSSH does; it falls back to the target's
/// key files when neither the spec nor the config names one.
fn resolve_jump(
    spec: &JumpSpec,
    ssh_config: Option<&SshConfig>,
    env: &SshEnvironment,
    target_keys: &[PathBuf],
) -> Result<Endpoint, String> {
    let params = ssh_config.map(|config| config.query(&spec.host));
    let config = params
        .as_ref()
        .map(config_args)
        .transpose()?
        .unwrap_or_default();
    let mut keys: Vec<PathBuf> = spec.identity_files.iter().map(|p| env.expand(p)).collect();
    if keys.is_empty() {
        keys = config.identity_files.clone();
    }
    if keys.is_empty() {
        keys = target_keys.to_vec();
    }
    Ok(Endpoint {
        host: params
            .and_then(|p| p.host_name)
            .unwrap_or_else(|| spec.host.clone()),
        port: spec.port.or(config.port).unwrap_or(22),
        user: spec
            .user
            .clone()
            .or(config.user)
            .unwrap_or_else(|| env.local_user.clone()),
        identity_files: keys,
    })
}

/// The ssh config settings for one host, in the shape of command-line options.
fn config_args(params: &HostParams) -> Result<SshArgs, String> {
    let unsupported = |key: &str| params.unsupported_fields.get(key);
    let mut args = SshArgs {
        port: params.port,
        user: params.user.clone(),
        identity_files: params.identity_file.clone().unwrap_or_default(),
        known_hosts_files: unsupported("userknownhostsfile")
            .cloned()
            .unwrap_or_default(),
        ..SshArgs::default()
    };
    if let Some(jumps) = &params.proxy_jump {
        args.proxy_jump = Some(parse_proxy_jump(&jumps.join(","))?);
    }
    if let Some(value) = unsupported("stricthostkeychecking").and_then(|v| v.first()) {
        args.host_key_checking = Some(parse_host_key_checking(value)?);
    }
    Ok(args)
}

/// known_hosts files: `deployer_known_hosts`, then `UserKnownHostsFile` (or else
/// `<ssh_dir>/known_hosts`), then the system-wide `/etc/ssh/ssh_known_hosts`.
fn known_hosts_files(
    vars: &Map<String, Value>,
    args: &SshArgs,
    env: &SshEnvironment,
) -> Result<Vec<PathBuf>, String> {
    let mut files = match vars.get("deployer_known_hosts") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(path)) => vec![env.expand(path)],
        Some(Value::Array(paths)) => paths
            .iter()
            .map(|p| p.as_str().map(|p| env.expand(p)))
            .collect::<Option<_>>()
            .ok_or("deployer_known_hosts: expected a path or a list of paths")?,
        Some(other) => {
            return Err(format!(
                "deployer_known_hosts: expected a path, got {other}"
            ));
        }
    };
    if args.known_hosts_files.is_empty() {
        files.push(env.ssh_dir.join("known_hosts"));
    } else {
        files.extend(args.known_hosts_files.iter().map(|p| env.expand(p)));
    }
    files.push(PathBuf::from("/etc/ssh/ssh_known_hosts"));
    Ok(files)
}

/// The first of `keys` set in `vars`, as text (numbers are accepted and printed).
fn string_var(vars: &Map<String, Value>, keys: &[&str]) -> Result<Option<String>, String> {
    let Some((key, value)) = keys.iter().find_map(|k| vars.get(*k).map(|v| (k, v))) else {
        return Ok(None);
    };
    match value {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(text.clone())),
        Value::Number(number) => Ok(Some(number.to_string())),
        other => Err(format!("{key}: expected a string, got {other}")),
    }
}
