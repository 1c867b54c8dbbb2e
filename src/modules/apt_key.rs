//! `apt_key`: adds an APT signing key to a keyring, or removes it, deciding as Ansible's module
//! does (by the key's long or short id among the keys APT trusts) but without `apt-key` and `gpg`
//! on the host: the keyrings (`keyring`, else `/etc/apt/trusted.gpg` and
//! `/etc/apt/trusted.gpg.d/*.gpg|*.asc`) and a `file` are read in one round trip, the keys are
//! read here ([`openpgp`]), and a keyring is written back atomically. A key added without
//! `keyring` gets its own file, `/etc/apt/trusted.gpg.d/apt_key-ID.gpg`.

mod openpgp;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::attrs::Attrs;
use super::facts::{
    FileError, Probe, cat_files_script, finish, parse_cat_files, probe_all, run_long,
};
use super::http::fetch;
use super::mode::Mode;
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::transfer::{Content, Placement, sync_file};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};
use crate::transport::quote;

static SPEC: ModuleSpec = ModuleSpec {
    name: "apt_key",
    aliases: &[],
    args: &[
        ArgSpec::new("id", ArgType::Str),
        ArgSpec::new("url", ArgType::Str),
        ArgSpec::new("data", ArgType::Str),
        ArgSpec::new("file", ArgType::Str),
        ArgSpec::new("keyring", ArgType::Str),
        ArgSpec::new("validate_certs", ArgType::Bool),
        ArgSpec::new("keyserver", ArgType::Str),
        ArgSpec::new("state", ArgType::Str).choices(&["absent", "present"]),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The keyrings APT trusts when no `keyring` is given.
const TRUSTED: &str = "/etc/apt/trusted.gpg";
const TRUSTED_DIR: &str = "/etc/apt/trusted.gpg.d";

/// The `apt_key` module.
pub struct AptKey;

#[async_trait]
impl Module for AptKey {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(apt_key(args, ctx).await)
    }
}

/// A key id split as Ansible splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeyId {
    /// The last 8 hex digits (what `apt-key del` is given).
    short: String,
    /// The last 16 (or all, when shorter): what the keyrings are searched for.
    fingerprint: String,
    /// All of it, upper case, without `0x`.
    full: String,
}

impl KeyId {
    /// Ansible's `parse_key_id`: 8, 16 or more than 16 hex digits, an optional `0x`.
    fn parse(id: &str) -> Option<KeyId> {
        let full = id.to_ascii_uppercase();
        let full = full.strip_prefix("0X").unwrap_or(&full).to_string();
        let hex = !full.is_empty() && full.chars().all(|c| c.is_ascii_hexdigit());
        if !hex || (full.len() != 8 && full.len() != 16 && full.len() <= 16) {
            return None;
        }
        Some(KeyId {
            short: full[full.len() - 8..].to_string(),
            fingerprint: full[full.len().saturating_sub(16)..].to_string(),
            full,
        })
    }

    /// Whether ids in the short form (8 digits) are compared.
    fn short_format(&self) -> bool {
        self.full.len() == 8
    }
}

/// A keyring file on the host and its keys.
struct Keyring {
    path: String,
    keys: Vec<openpgp::Key>,
}

async fn apt_key(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
) -> Result<ModuleResult, FileError> {
    let given: Vec<&str> = ["data", "file", "keyserver", "url"]
        .into_iter()
        .filter(|a| args.get(*a).is_some_and(|v| !v.is_null()))
        .collect();
    if given.len() > 1 {
        return Err(FileError::failed(format!(
            "parameters are mutually exclusive: {}",
            given.join("|")
        )));
    }
    let keyring = arg_str(args, "keyring");
    let file = arg_str(args, "file");
    let (keyrings, file_data) = read_host(ctx, keyring, file).await?;
    let mut data = arg_str(args, "data").map(|d| d.as_bytes().to_vec());
    let mut id = arg_str(args, "id")
        .filter(|i| !i.is_empty())
        .map(String::from);
    if id.is_none() {
        if arg_str(args, "keyserver").is_some() {
            return Err(FileError::failed(
                "Missing key_id, required with keyserver.",
            ));
        }
        if let Some(url) = arg_str(args, "url") {
            data = Some(download(ctx, args, url).await?);
        }
        let (source, bytes) = match (file, &data) {
            (Some(file), _) => (
                format!("'{file}'"),
                Some(file_data.clone().unwrap_or_default()),
            ),
            (None, Some(bytes)) => ("'inline data'".to_string(), Some(bytes.clone())),
            (None, None) => (String::new(), None),
        };
        if let Some(bytes) = bytes {
            let keys = openpgp::keys(&bytes).ok().filter(|k| !k.is_empty());
            let keys = keys
                .ok_or_else(|| FileError::failed(format!("Unable to extract key from {source}")))?;
            id = keys[0].ids.first().cloned();
        }
    }
    let mut result = ModuleResult::ok().with("id", id.clone());
    let Some(key_id) = id.as_deref().and_then(KeyId::parse) else {
        return Ok(ModuleResult::failed("Invalid key_id").with("id", id));
    };
    result = result
        .with("short_id", key_id.short.as_str())
        .with("fp", key_id.fingerprint.as_str())
        .with("key_id", key_id.full.as_str());
    let before = listed(&keyrings, &key_id);
    result = result.with("before", before.clone());
    let present = arg_str(args, "state") != Some("absent");
    let wanted = match key_id.short_format() {
        true => &key_id.short,
        false => &key_id.fingerprint,
    };
    let changed = match present {
        true => !before.contains(wanted),
        false => before.contains(&key_id.fingerprint),
    };
    result.changed = changed;
    if !changed || ctx.check_mode {
        return Ok(result);
    }
    let after = if present {
        if arg_str(args, "keyserver").is_some() {
            return Ok(ModuleResult {
                failed: true,
                msg: Some(
                    "apt_key: keyserver is not supported by deployer (no gpg on the host); give \
                     the key with data, file or url"
                        .into(),
                ),
                ..result
            });
        }
        let bytes = match (file_data, data, arg_str(args, "url")) {
            (Some(bytes), _, _) | (None, Some(bytes), _) => bytes,
            (None, None, _) if let Some(file) = file => {
                return Err(FileError::failed(format!(
                    "Unable to add a key from file {file}"
                )));
            }
            (None, None, Some(url)) => download(ctx, args, url).await?,
            (None, None, None) => {
                return Err(FileError::failed(
                    "No key to add ... how did i get here?!?!",
                ));
            }
        };
        add(ctx, keyrings, keyring, &bytes, &key_id, wanted).await?
    } else {
        remove(ctx, keyrings, &key_id).await?
    };
    let missing = match present {
        true => !after.contains(wanted),
        false => after.contains(&key_id.fingerprint),
    };
    let result = result.with("after", after);
    if missing {
        let what = if present {
            "failed to add the key"
        } else {
            "the key was not removed"
        };
        return Ok(ModuleResult {
            failed: true,
            msg: Some(format!(
                "apt-key did not return an error, but {what} (check that the id is correct and *not* a subkey)"
            )),
            ..result
        });
    }
    Ok(result)
}

/// The keyrings (and the bytes of `file`, when given), read in one round trip.
async fn read_host(
    ctx: &ModuleContext<'_>,
    keyring: Option<&str>,
    file: Option<&str>,
) -> Result<(Vec<Keyring>, Option<Vec<u8>>), FileError> {
    let rings = match keyring {
        Some(ring) => quote(ring),
        None => format!("{TRUSTED} {TRUSTED_DIR}/*.gpg {TRUSTED_DIR}/*.asc"),
    };
    let words = match file {
        Some(file) => format!("{} {rings}", quote(file)),
        None => rings,
    };
    let out = run_long(ctx, cat_files_script(&words)).await?;
    let mut files = parse_cat_files(&out.stdout).map_err(FileError::failed)?;
    let file_data = match file {
        Some(file) if files.first().is_some_and(|(p, _)| p == file.as_bytes()) => {
            Some(files.remove(0).1)
        }
        _ => None,
    };
    let mut keyrings = Vec::new();
    for (path, bytes) in files {
        let path = String::from_utf8_lossy(&path).into_owned();
        let keys = openpgp::keys(&bytes).map_err(|e| FileError::failed(format!("{path}: {e}")))?;
        keyrings.push(Keyring { path, keys });
    }
    Ok((keyrings, file_data))
}

/// The ids of every key and subkey of the keyrings, short when the task's id is short (as
/// `apt-key adv --list-public-keys` lists them for Ansible).
fn listed(keyrings: &[Keyring], key_id: &KeyId) -> Vec<String> {
    let ids = (keyrings.iter())
        .flat_map(|ring| &ring.keys)
        .flat_map(|key| &key.ids);
    ids.map(|id| match key_id.short_format() {
        true => id[id.len() - 8..].to_string(),
        false => id.clone(),
    })
    .collect()
}

/// `url`'s body, downloaded on the host.
async fn download(
    ctx: &ModuleContext<'_>,
    args: &Map<String, Value>,
    url: &str,
) -> Result<Vec<u8>, FileError> {
    let validate = arg_bool(args, "validate_certs", true);
    (fetch(ctx, url, validate).await)
        .map_err(|e| FileError::failed(format!("Failed to download key at {url}: {e}")))
}

/// Adds the keys of `bytes` to `keyring` (else to a file of their own in `trusted.gpg.d`);
/// returns the ids listed afterwards.
async fn add(
    ctx: &ModuleContext<'_>,
    mut keyrings: Vec<Keyring>,
    keyring: Option<&str>,
    bytes: &[u8],
    key_id: &KeyId,
    wanted: &str,
) -> Result<Vec<String>, FileError> {
    let new = openpgp::keys(bytes)
        .map_err(|e| FileError::failed(format!("Unable to add a key from binary data: {e}")))?;
    let first = new
        .first()
        .and_then(|k| k.ids.first())
        .cloned()
        .unwrap_or_default();
    let path = match keyring {
        Some(ring) => ring.to_string(),
        None => format!("{TRUSTED_DIR}/apt_key-{first}.gpg"),
    };
    let at = match keyrings.iter().position(|r| r.path == path) {
        Some(at) => at,
        None => {
            keyrings.push(Keyring {
                path: path.clone(),
                keys: Vec::new(),
            });
            keyrings.len() - 1
        }
    };
    keyrings[at].keys.extend(new);
    let after = listed(&keyrings, key_id);
    if after.iter().any(|id| id == wanted) {
        write(ctx, &keyrings[at]).await?;
    }
    Ok(after)
}

/// Removes the keys whose ids end with the short id from every keyring holding one (as `apt-key
/// del` does); a keyring left empty is deleted. Returns the ids listed afterwards.
async fn remove(
    ctx: &ModuleContext<'_>,
    mut keyrings: Vec<Keyring>,
    key_id: &KeyId,
) -> Result<Vec<String>, FileError> {
    for ring in &mut keyrings {
        let count = ring.keys.len();
        ring.keys
            .retain(|k| !k.ids.iter().any(|id| id.ends_with(&key_id.short)));
        if ring.keys.len() == count {
            continue;
        }
        if ring.keys.is_empty() {
            let out = ctx.run(format!("rm -f -- {}", quote(&ring.path))).await?;
            if out.exit_code != 0 {
                return Err(FileError::failed(format!(
                    "Unable to remove a key with id {}: {}",
                    key_id.short,
                    out.stderr_text().trim()
                )));
            }
        } else if ring.path.ends_with(".asc") {
            return Err(FileError::failed(format!(
                "Unable to remove a key with id {}: {} is armored and holds other keys",
                key_id.short, ring.path
            )));
        } else {
            write(ctx, ring).await?;
        }
    }
    Ok(listed(&keyrings, key_id))
}

/// Writes a keyring's keys as a binary keyring (mode 0644 when new).
async fn write(ctx: &ModuleContext<'_>, ring: &Keyring) -> Result<(), FileError> {
    let bytes: Vec<u8> = ring.keys.iter().flat_map(|k| k.bytes.clone()).collect();
    let probed = probe_all(ctx, &[Probe::new(&ring.path).followed()]).await?;
    let placement = Placement {
        dest: &ring.path,
        attrs: Attrs {
            mode: (!probed.states[0].exists()).then_some(Mode::Octal(0o644)),
            ..Attrs::default()
        },
        ..Placement::default()
    };
    let content = Content::bytes(bytes);
    sync_file(ctx, &content, &placement, &probed.states[0], &probed, None).await?;
    Ok(())
}

#[cfg(test)]
mod tests;
