//! `group`: creates, renumbers and deletes local groups with `groupadd`/`groupmod`/`groupdel`,
//! deciding from one `getent group` probe.
//!
//! Also home of the `getent group` parsing and the argv-to-script helper `user` shares. It does not
//! support `local`, `non_unique` or `gid_min`/`gid_max`.

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::probe::{marker, section};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};
use crate::transport::quote;

static SPEC: ModuleSpec = ModuleSpec {
    name: "group",
    aliases: &[],
    args: &[
        ArgSpec::new("name", ArgType::Str).required(),
        ArgSpec::new("state", ArgType::Str).choices(&["present", "absent"]),
        ArgSpec::new("gid", ArgType::Int),
        ArgSpec::new("system", ArgType::Bool),
        ArgSpec::new("force", ArgType::Bool),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `group` module.
pub struct Group;

/// Reads `getent group` lines (`name:x:gid:members`) into name → gid.
pub(super) fn parse_groups(text: &str) -> HashMap<String, i64> {
    text.lines()
        .filter_map(|line| {
            let mut cols = line.split(':');
            let name = cols.next()?;
            let gid = cols.nth(1)?.parse().ok()?;
            Some((name.to_string(), gid))
        })
        .collect()
}

/// A command line as a script, every word quoted; on failure the script exits non-zero.
pub(super) fn command_script(argv: &[String]) -> String {
    let words: Vec<String> = argv.iter().map(|w| quote(w)).collect();
    format!("{} || exit 1\n", words.join(" "))
}

/// Why a user or group name cannot be used (empty, or holding `:` or a line break).
pub(super) fn bad_name(name: &str) -> Option<String> {
    (name.is_empty() || name.contains([':', '\n', '\r']))
        .then(|| format!("`{name}` is not a valid user or group name"))
}

/// The command that brings the group to the wanted state, if any. `current` is its gid.
fn decide(args: &Map<String, Value>, current: Option<i64>) -> Option<Vec<String>> {
    let name = arg_str(args, "name").unwrap_or_default().to_string();
    let gid = args.get("gid").and_then(Value::as_i64);
    let absent = arg_str(args, "state") == Some("absent");
    let mut argv: Vec<String> = match (absent, current) {
        (true, None) => return None,
        (true, Some(_)) => {
            let force = arg_bool(args, "force", false).then(|| "-f".to_string());
            ["groupdel".to_string()].into_iter().chain(force).collect()
        }
        (false, None) => {
            let mut argv = vec!["groupadd".to_string()];
            if let Some(gid) = gid {
                argv.extend(["-g".to_string(), gid.to_string()]);
            }
            if arg_bool(args, "system", false) {
                argv.push("-r".to_string());
            }
            argv
        }
        (false, Some(have)) => match gid {
            Some(gid) if gid != have => vec!["groupmod".into(), "-g".into(), gid.to_string()],
            _ => return None,
        },
    };
    argv.extend(["--".to_string(), name]);
    Some(argv)
}

#[async_trait]
impl Module for Group {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let name = arg_str(args, "name").unwrap_or_default();
        if let Some(msg) = bad_name(name) {
            return Ok(ModuleResult::failed(msg));
        }
        let lookup = format!(
            "{}\ngetent group -- {}\nexit 0\n",
            marker("group"),
            quote(name)
        );
        let out = ctx.run(lookup.clone()).await?;
        let current = parse_groups(section(&out.stdout_text(), "group"))
            .get(name)
            .copied();
        let state = arg_str(args, "state").unwrap_or("present");
        let mut result = ModuleResult::ok()
            .with("name", name)
            .with("state", state)
            .with("system", arg_bool(args, "system", false));
        let Some(argv) = decide(args, current) else {
            if let Some(gid) = current {
                result = result.with("gid", gid);
            }
            return Ok(result);
        };
        result.changed = true;
        if ctx.check_mode {
            return Ok(result);
        }
        let out = ctx.run(command_script(&argv) + &lookup).await?;
        if out.exit_code != 0 {
            result.failed = true;
            result.msg = Some(out.stderr_text().trim().to_string());
            return Ok(result);
        }
        if let Some(gid) = parse_groups(section(&out.stdout_text(), "group")).get(name) {
            result = result.with("gid", *gid);
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeHost, args, run_on};
    use serde_json::json;

    #[test]
    fn getent_lines_are_read() {
        let groups = parse_groups("sudo:x:27:deploy,ops\nweird\napp:x:1001:\n");
        assert_eq!(groups.len(), 2);
        assert_eq!((groups["sudo"], groups["app"]), (27, 1001));
    }

    #[test]
    fn decision_table() {
        let cases: &[(Value, Option<i64>, Option<&str>)] = &[
            (json!({"name": "app"}), None, Some("groupadd -- app")),
            (
                json!({"name": "app", "gid": 900, "system": true}),
                None,
                Some("groupadd -g 900 -r -- app"),
            ),
            (json!({"name": "app"}), Some(1001), None),
            (json!({"name": "app", "gid": 1001}), Some(1001), None),
            (
                json!({"name": "app", "gid": 900}),
                Some(1001),
                Some("groupmod -g 900 -- app"),
            ),
            (
                json!({"name": "app", "state": "absent"}),
                Some(1001),
                Some("groupdel -- app"),
            ),
            (
                json!({"name": "app", "state": "absent", "force": true}),
                Some(1),
                Some("groupdel -f -- app"),
            ),
            (json!({"name": "app", "state": "absent"}), None, None),
        ];
        for (given, current, expected) in cases {
            let got = decide(&args(given.clone()), *current).map(|argv| argv.join(" "));
            assert_eq!(got.as_deref(), *expected, "{given} with {current:?}");
        }
    }

    #[tokio::test]
    async fn creates_then_reports_the_gid() {
        let host = FakeHost::new().reply("groupadd", "@@group\napp:x:1005:\n", 0);
        let result = run_on(&Group, args(json!({"name": "app"})), &host, false).await;
        assert!(result.changed && !result.failed);
        assert_eq!(result.data["gid"], 1005);
        assert_eq!(host.scripts().len(), 2);
    }

    #[tokio::test]
    async fn existing_group_and_check_mode_change_nothing() {
        let host = FakeHost::new().reply("getent", "@@group\napp:x:1005:\n", 0);
        let result = run_on(&Group, args(json!({"name": "app"})), &host, false).await;
        assert!(!result.changed);
        assert_eq!(result.data["gid"], 1005);
        let result = run_on(
            &Group,
            args(json!({"name": "app", "state": "absent"})),
            &host,
            true,
        )
        .await;
        assert!(result.changed);
        assert_eq!(host.scripts().len(), 2);
    }

    #[tokio::test]
    async fn hostile_names_are_quoted_or_refused() {
        let host = FakeHost::new();
        let result = run_on(&Group, args(json!({"name": "a:b"})), &host, false).await;
        assert!(result.failed && host.scripts().is_empty());
        run_on(&Group, args(json!({"name": "-r$(reboot)"})), &host, false).await;
        assert!(host.scripts()[1].starts_with("groupadd -- '-r$(reboot)' || exit 1\n"));
    }
}
