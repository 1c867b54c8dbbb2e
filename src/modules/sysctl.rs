//! `sysctl` (ansible.posix): sets or removes one `name=value` entry in a sysctl file, then
//! reloads the file (`sysctl -p`) and, with `sysctl_set`, sets the live value (`sysctl -w`), as
//! ansible.posix's module does. The file is edited here in Rust and written back atomically.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::attrs::Attrs;
use super::facts::{FileError, Probe, finish, probe_with_content};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::transfer::{Content, Placement, sync_file};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};
use crate::transport::quote;

static SPEC: ModuleSpec = ModuleSpec {
    name: "sysctl",
    aliases: &["ansible.posix.sysctl"],
    args: &[
        ArgSpec::new("name", ArgType::Str)
            .required()
            .aliases(&["key"]),
        ArgSpec::new("value", ArgType::Str).aliases(&["val"]),
        ArgSpec::new("state", ArgType::Str).choices(&["present", "absent"]),
        ArgSpec::new("ignoreerrors", ArgType::Bool),
        ArgSpec::new("reload", ArgType::Bool),
        ArgSpec::new("sysctl_file", ArgType::Str),
        ArgSpec::new("sysctl_set", ArgType::Bool),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `sysctl` module.
pub struct Sysctl;

#[async_trait]
impl Module for Sysctl {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(sysctl(args, ctx).await)
    }
}

async fn sysctl(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
) -> Result<ModuleResult, FileError> {
    let name = arg_str(args, "name")
        .unwrap_or_default()
        .trim()
        .replace('/', ".");
    let present = arg_str(args, "state") != Some("absent");
    let value = match (arg_str(args, "value"), present) {
        (Some(v), _) => Some(normalise(v)),
        (None, true) => return Err(FileError::failed("value cannot be None")),
        (None, false) => None,
    };
    let file = arg_str(args, "sysctl_file").unwrap_or("/etc/sysctl.conf");
    let ignore = arg_bool(args, "ignoreerrors", false);
    let (state, probed, content) = probe_with_content(ctx, Probe::new(file).followed()).await?;
    let text = String::from_utf8_lossy(&content.unwrap_or_default()).into_owned();
    let fixed = fix_lines(&text, &name, value.as_deref());
    let file_changed = fixed != text;
    let mut changed = file_changed;
    if arg_bool(args, "sysctl_set", false)
        && let Some(value) = &value
    {
        let flag = if ignore { "-e " } else { "" };
        let out = ctx.run(format!("sysctl {flag}-n {}", quote(&name))).await?;
        let live = normalise(&out.stdout_text());
        if live != *value {
            changed = true;
            if !ctx.check_mode {
                let set = format!("sysctl {flag}-w {}", quote(&format!("{name}={value}")));
                let out = ctx.run(set).await?;
                if out.exit_code != 0 {
                    return Err(FileError::failed(format!(
                        "setting {name} failed: {}",
                        out.stderr_text().trim()
                    )));
                }
            }
        }
    }
    if file_changed && !ctx.check_mode {
        let placement = Placement {
            dest: file,
            attrs: Attrs::default(),
            ..Placement::default()
        };
        let content = Content::bytes(fixed.into_bytes());
        sync_file(ctx, &content, &placement, &state, &probed, None).await?;
    }
    if changed && arg_bool(args, "reload", true) && !ctx.check_mode {
        let flag = if ignore { "-e " } else { "" };
        let out = ctx.run(format!("sysctl {flag}-p {}", quote(file))).await?;
        if out.exit_code != 0 || (!ignore && !out.stderr.is_empty()) {
            return Err(FileError::failed(format!(
                "Failed to reload sysctl: {}{}",
                out.stdout_text(),
                out.stderr_text()
            )));
        }
    }
    Ok(ModuleResult {
        changed,
        ..ModuleResult::ok()
    })
}

/// A value as ansible.posix compares it: boolean words as `1`/`0`, whitespace runs as one space.
fn normalise(value: &str) -> String {
    match value.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" => "1".into(),
        "no" | "false" | "off" => "0".into(),
        _ => value.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// The file with `name` set to `value` (or removed for `None`): entries are rewritten as
/// `key=value`, repeated keys keep their first entry, a missing key is appended.
fn fix_lines(text: &str, name: &str, value: Option<&str>) -> String {
    let mut out = String::new();
    let mut seen: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let entry = line
            .split_once('=')
            .filter(|_| !line.starts_with(['#', ';']));
        let Some((key, current)) = entry else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let key = key.trim();
        if seen.iter().any(|k| k == key) {
            continue;
        }
        seen.push(key.to_string());
        match (key == name, value) {
            (true, Some(value)) => out.push_str(&format!("{key}={value}\n")),
            (true, None) => {}
            (false, _) => out.push_str(&format!("{key}={}\n", current.trim())),
        }
    }
    if let (false, Some(value)) = (seen.iter().any(|k| k == name), value) {
        out.push_str(&format!("{name}={value}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{args, run_local};
    use serde_json::json;

    #[test]
    fn entries_are_set_appended_and_removed_in_ansibles_form() {
        let text = "# comment\n  vm.swappiness = 60\nnet.ipv4.ip_forward=0\n\nvm.swappiness=1\n";
        assert_eq!(
            fix_lines(text, "vm.swappiness", Some("10")),
            "# comment\nvm.swappiness=10\nnet.ipv4.ip_forward=0\n\n"
        );
        assert_eq!(
            fix_lines("", "kernel.pid_max", Some("65536")),
            "kernel.pid_max=65536\n"
        );
        assert_eq!(fix_lines("a=1\nb=2\n", "a", None), "b=2\n");
        assert_eq!(normalise("yes"), "1");
        assert_eq!(normalise(" 4096  87380\t6291456 "), "4096 87380 6291456");
    }

    #[tokio::test]
    async fn a_file_is_changed_once_and_a_value_is_required() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("99-natives.conf").display().to_string();
        let given =
            json!({"name": "vm.swappiness", "value": "10", "sysctl_file": file, "reload": false});
        assert!(run_local(&Sysctl, args(given.clone())).await.changed);
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "vm.swappiness=10\n"
        );
        assert!(!run_local(&Sysctl, args(given)).await.changed);
        let missing = json!({"name": "vm.swappiness", "sysctl_file": file});
        assert!(run_local(&Sysctl, args(missing)).await.failed);
    }
}
