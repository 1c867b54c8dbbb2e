//! `user`: creates, changes and deletes local accounts with `useradd`/`usermod`/`userdel`.
//!
//! One probe reads the account (`getent passwd`, `id -gn`/`id -Gn`), its password hash when one is
//! wanted (`getent shadow`), and the groups the task names (`getent group`); [`decide`] turns that
//! into at most one command, whose script also reads the account back for the return values. It
//! does not support SSH keys, expiry, password locking, `local` or non-Linux hosts.

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::group::{bad_name, command_script, parse_groups};
use super::probe::{marker, section};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};
use crate::transport::quote;

static SPEC: ModuleSpec = ModuleSpec {
    name: "user",
    aliases: &[],
    args: &[
        ArgSpec::new("name", ArgType::Str)
            .required()
            .aliases(&["user"]),
        ArgSpec::new("state", ArgType::Str).choices(&["present", "absent"]),
        ArgSpec::new("uid", ArgType::Int),
        ArgSpec::new("group", ArgType::Str),
        ArgSpec::new("groups", ArgType::List),
        ArgSpec::new("append", ArgType::Bool),
        ArgSpec::new("shell", ArgType::Str),
        ArgSpec::new("home", ArgType::Str),
        ArgSpec::new("move_home", ArgType::Bool),
        ArgSpec::new("create_home", ArgType::Bool).aliases(&["createhome"]),
        ArgSpec::new("system", ArgType::Bool),
        ArgSpec::new("password", ArgType::Str),
        ArgSpec::new("update_password", ArgType::Str).choices(&["always", "on_create"]),
        ArgSpec::new("comment", ArgType::Str),
        ArgSpec::new("remove", ArgType::Bool),
        ArgSpec::new("force", ArgType::Bool),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `user` module.
pub struct User;

/// An existing account as the probe saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Account {
    pub uid: i64,
    pub gid: i64,
    pub comment: String,
    pub home: String,
    pub shell: String,
    /// Supplementary groups (the primary group left out).
    pub groups: Vec<String>,
    /// The password hash, when it was read.
    pub hash: Option<String>,
}

/// Everything the probe found: the account, if any, and the named groups that exist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Found {
    pub account: Option<Account>,
    pub groups: HashMap<String, i64>,
}

/// A `getent passwd` line as an account (groups and hash not filled in).
fn parse_passwd(line: &str) -> Option<Account> {
    let cols: Vec<&str> = line.trim_end().split(':').collect();
    let [_, _, uid, gid, comment, home, shell] = cols[..] else {
        return None;
    };
    Some(Account {
        uid: uid.parse().ok()?,
        gid: gid.parse().ok()?,
        comment: comment.to_string(),
        home: home.to_string(),
        shell: shell.to_string(),
        ..Account::default()
    })
}

/// The probe for `name`: passwd entry, primary and all group names, the hash when `shadow`, and
/// the `groups` named.
fn probe_script(name: &str, shadow: bool, groups: &[&str]) -> String {
    let n = quote(name);
    let mut script = format!(
        "{}\ngetent passwd -- {n}\n{}\nid -gn -- {n} 2>/dev/null\n{}\nid -Gn -- {n} 2>/dev/null\n",
        marker("passwd"),
        marker("primary"),
        marker("all"),
    );
    if shadow {
        script.push_str(&format!(
            "{}\ngetent shadow -- {n} | cut -d: -f2\n",
            marker("shadow")
        ));
    }
    if !groups.is_empty() {
        let words: Vec<String> = groups.iter().map(|g| quote(g)).collect();
        script.push_str(&format!(
            "{}\ngetent group -- {}\n",
            marker("groups"),
            words.join(" ")
        ));
    }
    script + "exit 0\n"
}

/// Reads the probe's output.
pub(super) fn parse_probe(output: &str) -> Found {
    let account = section(output, "passwd")
        .lines()
        .next()
        .and_then(parse_passwd)
        .map(|mut a| {
            let primary = section(output, "primary").trim();
            a.groups = section(output, "all")
                .split_whitespace()
                .filter(|g| *g != primary)
                .map(str::to_string)
                .collect();
            a.hash = section(output, "shadow").lines().next().map(str::to_string);
            a
        });
    Found {
        account,
        groups: parse_groups(section(output, "groups")),
    }
}

/// The groups named by `group` and `groups`, for the probe.
fn named_groups(args: &Map<String, Value>) -> Vec<&str> {
    let listed = args
        .get("groups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    arg_str(args, "group")
        .into_iter()
        .chain(listed.filter_map(Value::as_str))
        .filter(|g| !g.is_empty())
        .collect()
}

/// Whether `group` (a name or a gid) is among the groups the probe found.
fn group_exists(group: &str, groups: &HashMap<String, i64>) -> bool {
    groups.contains_key(group)
        || group
            .parse::<i64>()
            .is_ok_and(|gid| groups.values().any(|v| *v == gid))
}

/// Pushes `flag value` when `wanted` is given and differs from `have`.
fn differs(argv: &mut Vec<String>, flag: &str, wanted: Option<&str>, have: Option<&str>) {
    if let Some(want) = wanted
        && Some(want) != have
    {
        argv.extend([flag.to_string(), want.to_string()]);
    }
}

/// The command that brings the account to the wanted state, if any, or why it cannot be done.
pub(super) fn decide(
    args: &Map<String, Value>,
    found: &Found,
) -> Result<Option<Vec<String>>, String> {
    let name = arg_str(args, "name").unwrap_or_default().to_string();
    let mut argv = if arg_str(args, "state") == Some("absent") {
        if found.account.is_none() {
            return Ok(None);
        }
        let mut argv = vec!["userdel".to_string()];
        for (arg, flag) in [("remove", "-r"), ("force", "-f")] {
            if arg_bool(args, arg, false) {
                argv.push(flag.to_string());
            }
        }
        argv
    } else {
        if let Some(group) = named_groups(args)
            .into_iter()
            .find(|g| !group_exists(g, &found.groups))
        {
            return Err(format!("Group {group} does not exist"));
        }
        match &found.account {
            None => useradd(args),
            Some(account) => match usermod(args, account, &found.groups) {
                Some(argv) => argv,
                None => return Ok(None),
            },
        }
    };
    argv.extend(["--".to_string(), name]);
    Ok(Some(argv))
}

/// `useradd` with every given attribute.
fn useradd(args: &Map<String, Value>) -> Vec<String> {
    let mut argv = vec!["useradd".to_string()];
    let uid = args
        .get("uid")
        .and_then(Value::as_i64)
        .map(|u| u.to_string());
    differs(&mut argv, "-u", uid.as_deref(), None);
    for (arg, flag) in [
        ("group", "-g"),
        ("shell", "-s"),
        ("home", "-d"),
        ("comment", "-c"),
        ("password", "-p"),
    ] {
        differs(&mut argv, flag, arg_str(args, arg), None);
    }
    if let Some(groups) = wanted_groups(args)
        && !groups.is_empty()
    {
        argv.extend(["-G".to_string(), groups.join(",")]);
    }
    if arg_bool(args, "system", false) {
        argv.push("-r".to_string());
    }
    argv.push(
        if arg_bool(args, "create_home", true) {
            "-m"
        } else {
            "-M"
        }
        .to_string(),
    );
    argv
}

/// The `groups` argument, empty entries dropped.
fn wanted_groups(args: &Map<String, Value>) -> Option<Vec<String>> {
    let list = args.get("groups")?.as_array()?;
    Some(
        list.iter()
            .filter_map(Value::as_str)
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .collect(),
    )
}

/// The `usermod` options that set the supplementary groups, when they must change: `-a -G` adds
/// the missing ones with `append`, `-G` sets exactly the wanted ones otherwise.
fn supplementary_change(
    args: &Map<String, Value>,
    have: &Account,
    groups: &HashMap<String, i64>,
) -> Vec<String> {
    let Some(wanted) = wanted_groups(args) else {
        return Vec::new();
    };
    let primary = |g: &String| groups.get(g) == Some(&have.gid);
    let missing = wanted
        .iter()
        .any(|g| !have.groups.contains(g) && !primary(g));
    let append = arg_bool(args, "append", false);
    let extra = !append && have.groups.iter().any(|g| !wanted.contains(g));
    match (missing || extra, append) {
        (false, _) => Vec::new(),
        (true, true) => vec!["-a".into(), "-G".into(), wanted.join(",")],
        (true, false) => vec!["-G".into(), wanted.join(",")],
    }
}

/// `usermod` with only the attributes that differ, or `None` when none does.
fn usermod(
    args: &Map<String, Value>,
    have: &Account,
    groups: &HashMap<String, i64>,
) -> Option<Vec<String>> {
    let mut argv = vec!["usermod".to_string()];
    let uid = args
        .get("uid")
        .and_then(Value::as_i64)
        .map(|u| u.to_string());
    differs(
        &mut argv,
        "-u",
        uid.as_deref(),
        Some(have.uid.to_string().as_str()),
    );
    if let Some(group) = arg_str(args, "group") {
        let gid = groups.get(group).copied().or_else(|| group.parse().ok());
        if gid != Some(have.gid) {
            argv.extend(["-g".to_string(), group.to_string()]);
        }
    }
    argv.extend(supplementary_change(args, have, groups));
    for (arg, flag, current) in [
        ("shell", "-s", &have.shell),
        ("comment", "-c", &have.comment),
    ] {
        differs(&mut argv, flag, arg_str(args, arg), Some(current.as_str()));
    }
    let before = argv.len();
    differs(
        &mut argv,
        "-d",
        arg_str(args, "home"),
        Some(have.home.as_str()),
    );
    if argv.len() > before && arg_bool(args, "move_home", false) {
        argv.push("-m".to_string());
    }
    if arg_str(args, "update_password") != Some("on_create") {
        differs(
            &mut argv,
            "-p",
            arg_str(args, "password"),
            have.hash.as_deref(),
        );
    }
    (argv.len() > 1).then_some(argv)
}

/// The return values Ansible gives for an account.
fn describe(
    mut result: ModuleResult,
    account: Option<&Account>,
    args: &Map<String, Value>,
) -> ModuleResult {
    if let Some(a) = account {
        result = result
            .with("uid", a.uid)
            .with("group", a.gid)
            .with("home", a.home.clone())
            .with("shell", a.shell.clone())
            .with("comment", a.comment.clone())
            .with("groups", a.groups.join(","));
    }
    if args.contains_key("password") {
        result = result.with("password", "NOT_LOGGING_PASSWORD");
    }
    result
}

#[async_trait]
impl Module for User {
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
        let probe = probe_script(name, args.contains_key("password"), &named_groups(args));
        let found = parse_probe(&ctx.run(probe.clone()).await?.stdout_text());
        let state = arg_str(args, "state").unwrap_or("present");
        let mut result = ModuleResult::ok().with("name", name).with("state", state);
        let argv = match decide(args, &found) {
            Ok(Some(argv)) => argv,
            Ok(None) => return Ok(describe(result, found.account.as_ref(), args)),
            // Like Ansible: check mode reports a missing account as one to create without
            // looking at its groups, which an earlier task of the same run may create.
            Err(_) if ctx.check_mode && found.account.is_none() => {
                result.changed = true;
                return Ok(result);
            }
            Err(msg) => {
                return Ok(ModuleResult {
                    failed: true,
                    msg: Some(msg),
                    ..result
                });
            }
        };
        result.changed = true;
        if ctx.check_mode {
            return Ok(describe(result, found.account.as_ref(), args));
        }
        let out = ctx.run(command_script(&argv) + &probe).await?;
        if out.exit_code != 0 {
            result.failed = true;
            result.msg = Some(out.stderr_text().trim().to_string());
            return Ok(result);
        }
        let after = parse_probe(&out.stdout_text());
        Ok(describe(result, after.account.as_ref(), args))
    }
}

#[cfg(test)]
mod tests;
