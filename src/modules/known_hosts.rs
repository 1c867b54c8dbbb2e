//! `known_hosts`: adds, replaces or removes a host's key in an SSH `known_hosts` file, as
//! Ansible's module does: `ssh-keygen -F` on the host finds the host's entries (hashed ones too),
//! the decision and the new text are made here in Rust, and the file is written atomically.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use serde_json::{Map, Value};

use super::facts::{FileError, finish};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::transfer::{Content, Placement, ensure_file, text_diff};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};
use crate::transport::quote;

static SPEC: ModuleSpec = ModuleSpec {
    name: "known_hosts",
    aliases: &[],
    args: &[
        ArgSpec::new("name", ArgType::Str)
            .required()
            .aliases(&["host"]),
        ArgSpec::new("key", ArgType::Str),
        ArgSpec::new("path", ArgType::Str),
        ArgSpec::new("hash_host", ArgType::Bool),
        ArgSpec::new("state", ArgType::Str).choices(&["absent", "present"]),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `known_hosts` module.
pub struct KnownHosts;

#[async_trait]
impl Module for KnownHosts {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(known_hosts(args, ctx).await)
    }
}

/// What the read script learned.
#[derive(Debug, Default, PartialEq, Eq)]
struct Read {
    /// The path with `~` expanded.
    path: String,
    /// `ssh-keygen -F` on the given key alone printed something (the key is for the host).
    key_matches: bool,
    /// The file exists.
    exists: bool,
    /// `ssh-keygen -F HOST -f PATH`'s exit code, output and errors.
    search: (i32, String, String),
    /// The file's text.
    text: String,
}

/// Where the entry is and whether it must change (Ansible's `search_for_host_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Search {
    found: bool,
    replace_or_add: bool,
    /// 1-based line of the entry with the same key type.
    found_line: Option<usize>,
}

async fn known_hosts(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
) -> Result<ModuleResult, FileError> {
    let host = arg_str(args, "name").unwrap_or_default().to_lowercase();
    let present = arg_str(args, "state") != Some("absent");
    let hash_host = arg_bool(args, "hash_host", false);
    let mut key = arg_str(args, "key")
        .filter(|k| !k.is_empty())
        .map(str::to_string);
    if key.is_none() && present {
        return Err(FileError::failed("No key specified when adding a host"));
    }
    if hash_host && let Some(k) = &key {
        key = Some(hash_host_key(&host, k)?);
    }
    let key = key.map(|k| {
        if k.ends_with('\n') {
            k
        } else {
            format!("{k}\n")
        }
    });
    if key.is_some() && comma_list(&host) {
        return Err(FileError::failed(
            "Comma separated list of names is not supported. Please pass a single name to \
             lookup in the known_hosts file.",
        ));
    }
    let path = arg_str(args, "path").unwrap_or("~/.ssh/known_hosts");
    let out = ctx.run(read_script(&host, path, key.as_deref())).await?;
    let read = parse_read(&out.stdout).map_err(FileError::failed)?;
    if key.is_some() && !read.key_matches {
        return Err(FileError::failed(
            "Host parameter does not match hashed host field in supplied key",
        ));
    }
    let search = search(&read, key.as_deref()).map_err(FileError::failed)?;
    let after = new_text(&read.text, search, present, key.as_deref());
    let mut result = ModuleResult::ok()
        .with("name", host.as_str())
        .with("key", key.clone().map_or(Value::Null, Value::from))
        .with("path", read.path.as_str())
        .with("hash_host", hash_host)
        .with("state", if present { "present" } else { "absent" });
    if ctx.diff {
        let diff = text_diff(
            &read.path,
            Some(read.text.as_bytes()),
            Some(after.as_bytes()),
        );
        result.diffs.push(diff);
    }
    if !present && search.found_line.is_none() && key.is_some() {
        return Ok(result);
    }
    result.changed = search.replace_or_add || present != search.found;
    if ctx.check_mode || !result.changed {
        return Ok(result);
    }
    if search.found && key.is_none() && !present {
        let script = format!("ssh-keygen -R {} -f {}", quote(&host), quote(&read.path));
        let out = ctx.run(script).await?;
        if out.exit_code != 0 {
            return Err(FileError::failed(out.stderr_text().trim().to_string()));
        }
        return Ok(result);
    }
    let placement = Placement {
        dest: &read.path,
        ..Placement::default()
    };
    ensure_file(ctx, &Content::bytes(after.into_bytes()), &placement).await?;
    Ok(result)
}

/// Ansible's check for `a,b` host lists.
fn comma_list(host: &str) -> bool {
    host.trim_start()
        .find(',')
        .is_some_and(|at| at > 0 && !host.trim_start()[..at].trim().is_empty())
}

/// The key with its host field replaced by `|1|SALT|HMAC-SHA1(SALT, host)`.
fn hash_host_key(host: &str, key: &str) -> Result<String, FileError> {
    let mut salt = [0u8; 20];
    getrandom::fill(&mut salt).map_err(|e| FileError::failed(e.to_string()))?;
    let mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&salt)
        .expect("HMAC takes any key")
        .chain_update(host.as_bytes())
        .finalize()
        .into_bytes();
    let mut parts: Vec<String> = key.split_whitespace().map(str::to_string).collect();
    let at = usize::from(parts.first().is_some_and(|p| p.starts_with('@')));
    let Some(field) = parts.get_mut(at) else {
        return Err(FileError::failed("the key has no host field"));
    };
    *field = format!("|1|{}|{}", STANDARD.encode(salt), STANDARD.encode(mac));
    Ok(parts.join(" "))
}

/// The script: the expanded path, the key check, whether the file exists, the search's code,
/// output and errors, then the file's text; NUL-separated.
fn read_script(host: &str, path: &str, key: Option<&str>) -> String {
    let word = match path.strip_prefix("~/") {
        Some(rest) => format!("\"$HOME\"/{}", quote(rest)),
        None => quote(path),
    };
    let host = quote(host);
    let check = match key {
        Some(key) => format!(
            "k=$(mktemp) || exit 1\nprintf '%s' {} > \"$k\"\n\
             s=$(ssh-keygen -F {host} -f \"$k\" 2>/dev/null); rm -f \"$k\"\n\
             if [ -n \"$s\" ]; then printf 1; fi\n",
            quote(key)
        ),
        None => String::new(),
    };
    format!(
        "p={word}\nprintf '%s\\000' \"$p\"\n{check}printf '\\000'\n\
         if [ -e \"$p\" ]; then\n\
         e=$(mktemp) || exit 1\n\
         o=$(ssh-keygen -F {host} -f \"$p\" 2>\"$e\"); rc=$?\n\
         printf '1\\000%s\\000%s\\000%s\\000' \"$rc\" \"$o\" \"$(cat \"$e\")\"; rm -f \"$e\"\n\
         cat -- \"$p\"\n\
         else printf '\\000\\000\\000\\000'; fi\n"
    )
}

fn parse_read(stdout: &[u8]) -> Result<Read, String> {
    let text = String::from_utf8_lossy(stdout);
    let mut fields = text.splitn(7, '\0');
    let mut next = || fields.next().ok_or("the known_hosts probe ended early");
    let path = next()?.to_string();
    let key_matches = next()? == "1";
    let exists = next()? == "1";
    let rc = next()?.trim().parse().unwrap_or(0);
    let (out, err) = (next()?.to_string(), next()?.to_string());
    let text = next().unwrap_or_default().to_string();
    Ok(Read {
        path,
        key_matches,
        exists,
        search: (rc, out, err),
        text,
    })
}

/// A key line's fields: marker, host, type and key (Ansible's `normalize_known_hosts_key`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeyLine {
    options: Option<String>,
    host: String,
    kind: String,
    key: String,
}

fn normalise(line: &str) -> Option<KeyLine> {
    let k: Vec<&str> = line.split_whitespace().collect();
    let (options, rest) = match k.first()?.starts_with('@') {
        true => (Some(k[0].to_string()), &k[1..]),
        false => (None, &k[..]),
    };
    Some(KeyLine {
        options,
        host: rest.first()?.to_string(),
        kind: rest.get(1)?.to_string(),
        key: rest.get(2)?.to_string(),
    })
}

/// Ansible's `search_for_host_key` on `ssh-keygen -F`'s output.
fn search(read: &Read, key: Option<&str>) -> Result<Search, String> {
    let none = Search {
        found: false,
        replace_or_add: false,
        found_line: None,
    };
    if !read.exists {
        return Ok(none);
    }
    let (rc, out, err) = &read.search;
    if out.is_empty() && err.is_empty() && (*rc == 0 || *rc == 1) {
        return Ok(none);
    }
    if *rc != 0 {
        return Err(format!(
            "ssh-keygen failed (rc={rc}, stdout='{out}',stderr='{err}')"
        ));
    }
    let Some(key) = key else {
        return Ok(Search {
            found: true,
            ..none
        });
    };
    let mut wanted = normalise(key).ok_or("the key is not a known_hosts line")?;
    let mut found_line = None;
    for line in out.split('\n').filter(|l| !l.is_empty()) {
        if line.starts_with('#') {
            let number = line
                .split("found: line ")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok());
            found_line = Some(number.ok_or_else(|| {
                format!("failed to parse output of ssh-keygen for line number: '{line}'")
            })?);
            continue;
        }
        let Some(found) = normalise(line) else {
            continue;
        };
        let marked = found
            .options
            .as_deref()
            .is_some_and(|o| o.starts_with("@cert-authority") || o.starts_with("@revoke"));
        if !marked && wanted.host.starts_with("|1|") && found.host.starts_with("|1|") {
            wanted.host = found.host.clone();
        }
        if wanted == found {
            return Ok(Search {
                found: true,
                replace_or_add: false,
                found_line,
            });
        }
        if !marked && wanted.kind == found.kind {
            return Ok(Search {
                found: true,
                replace_or_add: true,
                found_line,
            });
        }
    }
    Ok(Search {
        found: true,
        replace_or_add: true,
        found_line: None,
    })
}

/// The file's text afterwards (also the diff's `after`).
fn new_text(text: &str, search: Search, present: bool, key: Option<&str>) -> String {
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    if let Some(n) = search.found_line
        && (search.replace_or_add || !present)
        && (1..=lines.len()).contains(&n)
    {
        lines.remove(n - 1);
    }
    let mut out: String = lines.concat();
    if present && (search.replace_or_add || search.found_line.is_none()) {
        out.push_str(key.unwrap_or_default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{args, run_local};
    use serde_json::json;

    fn read(out: &str, text: &str) -> Read {
        Read {
            path: "/k".into(),
            key_matches: true,
            exists: true,
            search: (0, out.into(), String::new()),
            text: text.into(),
        }
    }

    #[test]
    fn a_same_key_is_kept_and_another_key_of_its_type_replaced() {
        let text = "a ssh-ed25519 AAA\nb ssh-ed25519 BBB\n";
        let out = "# Host b found: line 2\nb ssh-ed25519 BBB\n";
        let same = search(&read(out, text), Some("b ssh-ed25519 BBB comment\n")).unwrap();
        assert_eq!(
            (same.found, same.replace_or_add, same.found_line),
            (true, false, Some(2))
        );
        let other = search(&read(out, text), Some("b ssh-ed25519 CCC\n")).unwrap();
        assert!(other.replace_or_add);
        assert_eq!(
            new_text(text, other, true, Some("b ssh-ed25519 CCC\n")),
            "a ssh-ed25519 AAA\nb ssh-ed25519 CCC\n"
        );
        assert_eq!(new_text(text, same, false, None), "a ssh-ed25519 AAA\n");
    }

    #[test]
    fn hashed_hosts_verify_and_comma_lists_are_refused() {
        let hashed = hash_host_key("example.org", "example.org ssh-rsa AAAA").unwrap();
        let host = hashed.split(' ').next().unwrap();
        let parts: Vec<&str> = host.split('|').collect();
        let salt = STANDARD.decode(parts[2]).unwrap();
        let mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&salt)
            .unwrap()
            .chain_update(b"example.org");
        assert!(
            mac.verify_slice(&STANDARD.decode(parts[3]).unwrap())
                .is_ok()
        );
        assert!(comma_list("a, b") && !comma_list("a"));
    }

    #[tokio::test]
    async fn keys_are_added_once_and_removed_locally() {
        if std::process::Command::new("ssh-keygen")
            .arg("-?")
            .output()
            .is_err()
        {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts").display().to_string();
        let key = "natives.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
        let given = json!({"name": "natives.example", "key": key, "path": path});
        let result = run_local(&KnownHosts, args(given.clone())).await;
        assert!(result.changed && !result.failed, "{result:?}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{key}\n"));
        assert!(!run_local(&KnownHosts, args(given)).await.changed);
        let gone = json!({"name": "natives.example", "path": path, "state": "absent"});
        assert!(run_local(&KnownHosts, args(gone)).await.changed);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    }
}
