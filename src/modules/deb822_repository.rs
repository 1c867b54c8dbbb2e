//! `deb822_repository`: writes an APT source as a deb822 file,
//! `/etc/apt/sources.list.d/SLUG.sources`, byte for byte as Ansible's module writes it with
//! python-debian (fields in the order of the arguments' names, `yes`/`no` booleans, lists joined
//! by spaces, multi-line values indented on continuation lines), or removes it. A `signed_by` URL
//! is downloaded on the host (`curl`) into `/etc/apt/keyrings/SLUG.asc` (armored) or `.gpg`; a
//! path that is a file on the host, or inline key data, is written as it is. No Python is needed
//! on the host.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::attrs::Attrs;
use super::facts::{FileError, Kind, Probe, finish, probe_all};
use super::http::fetch;
use super::mode::Mode;
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::transfer::{Content, Placement, sync_file};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_str};
use crate::transport::quote;

static SPEC: ModuleSpec = ModuleSpec {
    name: "deb822_repository",
    aliases: &[],
    args: &[
        // The deb822 fields, in the order Ansible writes them (sorted by name).
        ArgSpec::new("allow_downgrade_to_insecure", ArgType::Bool),
        ArgSpec::new("allow_insecure", ArgType::Bool),
        ArgSpec::new("allow_weak", ArgType::Bool),
        ArgSpec::new("architectures", ArgType::List),
        ArgSpec::new("by_hash", ArgType::Bool),
        ArgSpec::new("check_date", ArgType::Bool),
        ArgSpec::new("check_valid_until", ArgType::Bool),
        ArgSpec::new("components", ArgType::List),
        ArgSpec::new("date_max_future", ArgType::Int),
        ArgSpec::new("enabled", ArgType::Bool),
        ArgSpec::new("inrelease_path", ArgType::Str),
        ArgSpec::new("languages", ArgType::List),
        ArgSpec::new("name", ArgType::Str).required(),
        ArgSpec::new("pdiffs", ArgType::Bool),
        ArgSpec::new("signed_by", ArgType::Str),
        ArgSpec::new("suites", ArgType::List),
        ArgSpec::new("targets", ArgType::List),
        ArgSpec::new("trusted", ArgType::Bool),
        ArgSpec::new("types", ArgType::List),
        ArgSpec::new("uris", ArgType::List),
        // The module's own.
        ArgSpec::new("mode", ArgType::Mode),
        ArgSpec::new("state", ArgType::Str).choices(&["present", "absent"]),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The arguments that are not deb822 fields.
const NOT_FIELDS: [&str; 2] = ["mode", "state"];

/// Where downloaded `signed_by` keys go.
const KEYRINGS_DIR: &str = "/etc/apt/keyrings";

/// The `deb822_repository` module.
pub struct Deb822Repository;

#[async_trait]
impl Module for Deb822Repository {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(deb822_repository(args, ctx).await)
    }
}

async fn deb822_repository(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
) -> Result<ModuleResult, FileError> {
    let slug = slug(arg_str(args, "name").unwrap_or_default());
    let dest = format!("/etc/apt/sources.list.d/{slug}.sources");
    if arg_str(args, "state") == Some("absent") {
        return remove(ctx, &slug, dest).await;
    }
    check_types(args)?;
    let mut changed = false;
    let mut key_filename = None;
    let mut fields = Vec::new();
    for spec in SPEC.args.iter().filter(|a| !NOT_FIELDS.contains(&a.name)) {
        let given = match (spec.name, args.get(spec.name)) {
            ("types", None) => Some("deb".to_string()),
            (_, value) => value.and_then(field_value),
        };
        let Some(mut value) = given else {
            continue;
        };
        if spec.name == "signed_by" {
            let key = signed_by(ctx, &value, &slug).await?;
            changed |= key.changed;
            key_filename = key.filename.clone();
            value = key.filename.unwrap_or(value);
        }
        fields.push((field_name(spec.name), value));
    }
    let repo = render(&fields);
    let mode = arg_str(args, "mode").unwrap_or("0644");
    let placement = Placement {
        dest: &dest,
        attrs: Attrs {
            mode: Some(Mode::parse(mode).map_err(|e| FileError::failed(e.to_string()))?),
            ..Attrs::default()
        },
        ..Placement::default()
    };
    let probed = probe_all(ctx, &[Probe::new(&dest)]).await?;
    let content = Content::bytes(repo.clone().into_bytes());
    let synced = sync_file(ctx, &content, &placement, &probed.states[0], &probed, None).await?;
    Ok(ModuleResult {
        changed: changed || synced.changed,
        ..ModuleResult::ok()
    }
    .with("repo", repo)
    .with("dest", dest)
    .with("key_filename", key_filename))
}

/// Ansible's check of `types`' elements.
fn check_types(args: &Map<String, Value>) -> Result<(), FileError> {
    let types = args.get("types").and_then(Value::as_array);
    let bad: Vec<String> = (types.into_iter().flatten())
        .map(|t| t.as_str().map_or_else(|| t.to_string(), str::to_string))
        .filter(|t| t != "deb" && t != "deb-src")
        .collect();
    match bad.is_empty() {
        true => Ok(()),
        false => Err(FileError::failed(format!(
            "value of types must be one or more of: deb, deb-src. Got no match for: {}",
            bad.join(", ")
        ))),
    }
}

/// `state: absent`: removes the sources file and the downloaded keys.
async fn remove(
    ctx: &ModuleContext<'_>,
    slug: &str,
    dest: String,
) -> Result<ModuleResult, FileError> {
    let paths = [
        dest.clone(),
        format!("{KEYRINGS_DIR}/{slug}.asc"),
        format!("{KEYRINGS_DIR}/{slug}.gpg"),
    ];
    let probes: Vec<Probe> = paths.iter().map(Probe::stat_only).collect();
    let probed = probe_all(ctx, &probes).await?;
    let present: Vec<String> = (paths.iter().zip(&probed.states))
        .filter(|(_, state)| state.exists())
        .map(|(path, _)| quote(path))
        .collect();
    if !present.is_empty() && !ctx.check_mode {
        let out = ctx.run(format!("rm -f -- {}", present.join(" "))).await?;
        if out.exit_code != 0 {
            return Err(FileError::failed(out.stderr_text().trim().to_string()));
        }
    }
    Ok(ModuleResult {
        changed: !present.is_empty(),
        ..ModuleResult::ok()
    }
    .with("repo", Value::Null)
    .with("dest", dest)
    .with("key_filename", paths[2].clone()))
}

/// What became of `signed_by`.
struct Key {
    /// The key file the field names, when the value is a file or was downloaded into one.
    filename: Option<String>,
    /// A downloaded key was written (or would have been).
    changed: bool,
}

/// `signed_by` as Ansible reads it: a file on the host is kept as a path, a URL is downloaded
/// into the keyrings folder, anything else (inline key data) is written as it is.
async fn signed_by(ctx: &ModuleContext<'_>, value: &str, slug: &str) -> Result<Key, FileError> {
    let as_is = |filename: Option<String>| Key {
        filename,
        changed: false,
    };
    if !value.contains('\n') {
        let probed = probe_all(ctx, &[Probe::stat_only(value).followed()]).await?;
        if probed.states[0].kind == Kind::File {
            return Ok(as_is(Some(value.to_string())));
        }
    }
    if !has_scheme(value) {
        return Ok(as_is(None));
    }
    let data = fetch(ctx, value, true)
        .await
        .map_err(|e| FileError::failed(format!("Could not fetch signed_by key: {e}")))?;
    if data.is_empty() {
        return Ok(as_is(Some(value.to_string())));
    }
    let armored = (data.windows(36)).any(|w| w == b"-----BEGIN PGP PUBLIC KEY BLOCK-----");
    let filename = format!(
        "{KEYRINGS_DIR}/{slug}.{}",
        if armored { "asc" } else { "gpg" }
    );
    let probed = probe_all(
        ctx,
        &[Probe::stat_only(KEYRINGS_DIR), Probe::new(&filename)],
    )
    .await?;
    let content = Content::bytes(data);
    let differs = probed.states[1].checksum.as_deref() != Some(content.sha256.as_str());
    if differs && !probed.states[0].is_dir() && !ctx.check_mode {
        let dir = quote(KEYRINGS_DIR);
        let out = ctx
            .run(format!(
                "mkdir -m 0755 -- {dir} && chown root:root -- {dir}"
            ))
            .await?;
        if out.exit_code != 0 {
            return Err(FileError::failed(out.stderr_text().trim().to_string()));
        }
    }
    let placement = Placement {
        dest: &filename,
        attrs: Attrs {
            mode: Some(Mode::Octal(0o644)),
            ..Attrs::default()
        },
        ..Placement::default()
    };
    let synced = sync_file(ctx, &content, &placement, &probed.states[1], &probed, None).await?;
    Ok(Key {
        filename: Some(filename),
        changed: synced.changed,
    })
}

/// Whether Python's `urlparse` finds a scheme: letters, digits, `+`, `-`, `.` before a `:`,
/// starting with a letter.
fn has_scheme(value: &str) -> bool {
    value.split_once(':').is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// The file name Ansible derives from `name`: lower case, runs of `_` and whitespace as `-`,
/// anything but `a-z`, `0-9` and `-` dropped.
fn slug(name: &str) -> String {
    let mut slug = String::new();
    let mut in_run = false;
    for c in name.to_lowercase().chars() {
        if c == '_' || c.is_whitespace() {
            if !in_run {
                slug.push('-');
            }
            in_run = true;
            continue;
        }
        in_run = false;
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
            slug.push(c);
        }
    }
    slug
}

/// A field's name: `name` is `X-Repolib-Name`, `uris` is `URIs`, the others title-cased with
/// `-` for `_`.
fn field_name(arg: &str) -> String {
    match arg {
        "name" => "X-Repolib-Name".into(),
        "uris" => "URIs".into(),
        _ => {
            let mut out = String::new();
            let mut start = true;
            for c in arg.chars() {
                let c = if c == '_' { '-' } else { c };
                out.push(if start { c.to_ascii_uppercase() } else { c });
                start = !c.is_ascii_alphabetic();
            }
            out
        }
    }
}

/// An argument's value as field text: `yes`/`no`, numbers, lists joined by spaces; `None` for
/// an argument given as null.
fn field_value(value: &Value) -> Option<String> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        other => other.to_string(),
    };
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(" "),
        other => text(other),
    })
}

/// The file's text, as python-debian's `Deb822.dump` writes the fields: a multi-line value
/// starts on the next line, each of its lines stripped, indented by four spaces, and `.` for an
/// empty one; an empty value has no space after the colon.
fn render(fields: &[(String, String)]) -> String {
    let mut text = String::new();
    for (name, value) in fields {
        if value.contains('\n') {
            text.push_str(name);
            text.push(':');
            for line in value.trim().lines() {
                let line = line.trim();
                text.push_str("\n    ");
                text.push_str(if line.is_empty() { "." } else { line });
            }
            text.push('\n');
        } else if value.is_empty() {
            text.push_str(&format!("{name}:\n"));
        } else {
            text.push_str(&format!("{name}: {value}\n"));
        }
    }
    text
}

#[cfg(test)]
mod tests;
