//! `wait_for`: waits, on the target host, until a TCP port opens, closes or drains, or a file
//! appears (optionally holding a regex match) or disappears; with neither, it just sleeps.
//!
//! The whole wait loop is one remote POSIX-sh script bounded by `timeout`: ports are tried with
//! `nc -z` (or bash's `/dev/tcp`), files with `test -e` and `grep -P` (`grep -E` where grep has no
//! PCRE), drains with `ss`. It changes nothing, so check mode waits too. No `exclude_hosts` or
//! `active_connection_states`; `search_regex` matches within single lines.

use std::time::Instant;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::probe::{fields, marker, section};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_str};
use crate::transport::quote;

static SPEC: ModuleSpec = ModuleSpec {
    name: "wait_for",
    aliases: &[],
    args: &[
        ArgSpec::new("host", ArgType::Str),
        ArgSpec::new("port", ArgType::Int),
        ArgSpec::new("path", ArgType::Str),
        ArgSpec::new("state", ArgType::Str)
            .choices(&["started", "stopped", "present", "absent", "drained"]),
        ArgSpec::new("search_regex", ArgType::Str),
        ArgSpec::new("delay", ArgType::Int),
        ArgSpec::new("timeout", ArgType::Int),
        ArgSpec::new("sleep", ArgType::Int),
        ArgSpec::new("connect_timeout", ArgType::Int),
        ArgSpec::new("msg", ArgType::Str),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `wait_for` module.
pub struct WaitFor;

/// What to wait for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// Nothing: sleep for the timeout.
    Nothing,
    /// A TCP port on a host (as the target host sees it).
    Port { host: String, port: u16 },
    /// A file on the target host.
    Path(String),
}

/// Defines `g`, a grep for Python-like regexes: `grep -P` when the host's grep has it.
const GREP: &str = "if printf 'a1\\n' | grep -qP 'a\\d' 2>/dev/null; then g() { grep -P \"$@\"; }; \
                    else g() { grep -E \"$@\"; }; fi\n";

/// Defines `tcp HOST PORT [read]`: connects (and, with `read`, prints what the peer sends).
fn tcp_function(connect_timeout: i64) -> String {
    format!(
        "tcp() {{\n\
         if command -v nc >/dev/null 2>&1; then\n\
         if [ \"${{3:-}}\" = read ]; then timeout {ct} nc -w {ct} \"$1\" \"$2\" </dev/null 2>/dev/null;\n\
         else timeout {ct} nc -z -w {ct} \"$1\" \"$2\" >/dev/null 2>&1; fi\n\
         elif command -v bash >/dev/null 2>&1; then\n\
         timeout {ct} bash -c 'exec 3<>\"/dev/tcp/$0/$1\" || exit 1; if [ \"$2\" = read ]; then cat <&3; fi' \
         \"$1\" \"$2\" \"${{3:-}}\" 2>/dev/null\n\
         else echo 'wait_for needs nc or bash on the host' >&2; exit 2; fi\n}}\n",
        ct = connect_timeout.max(1)
    )
}

/// The shell condition that is true once the wait is over; a match is printed to stdout.
pub(super) fn condition(target: &Target, state: &str, regex: Option<&str>) -> String {
    let re = regex.map(quote);
    match (target, state) {
        (Target::Nothing, _) => "false".to_string(),
        (Target::Port { host, port }, "stopped" | "absent") => {
            format!("! tcp {} {port}", quote(host))
        }
        (Target::Port { port, .. }, "drained") => format!(
            "[ -z \"$(ss -Htn state established state syn-sent state syn-recv state fin-wait-1 \
             state fin-wait-2 state time-wait '( sport = :{port} )')\" ]"
        ),
        (Target::Port { host, port }, _) => match re {
            Some(re) => format!("tcp {} {port} read | g -m1 -e {re}", quote(host)),
            None => format!("tcp {} {port}", quote(host)),
        },
        (Target::Path(path), "stopped" | "absent") => format!("[ ! -e {} ]", quote(path)),
        (Target::Path(path), _) => match re {
            Some(re) => format!(
                "[ -e {p} ] && g -m1 -e {re} -- {p} 2>/dev/null",
                p = quote(path)
            ),
            None => format!("[ -e {} ]", quote(path)),
        },
    }
}

/// The timing of the wait, in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Timing {
    pub delay: i64,
    pub timeout: i64,
    pub sleep: i64,
    pub connect_timeout: i64,
}

/// The one remote script: wait `delay`, then test `condition` every `sleep` seconds until it holds
/// or `timeout` (counted from the start) passes. Prints `Outcome=ok` or `Outcome=timeout`.
pub(super) fn wait_script(target: &Target, state: &str, regex: Option<&str>, t: Timing) -> String {
    let mut script = String::new();
    if regex.is_some() {
        script.push_str(GREP);
    }
    if matches!(target, Target::Port { .. }) {
        script.push_str(&tcp_function(t.connect_timeout));
    }
    if state == "drained" {
        script.push_str("command -v ss >/dev/null 2>&1 || { echo 'drained needs ss on the host' >&2; exit 2; }\n");
    }
    if *target == Target::Nothing {
        return format!(
            "sleep {}\n{}\necho Outcome=ok\n",
            t.delay + t.timeout,
            marker("result")
        );
    }
    script.push_str(&format!(
        "end=$(( $(date +%s) + {timeout} ))\nsleep {delay}\n{match_marker}\n\
         while :; do\n\
         if {cond}; then {result}; echo Outcome=ok; exit 0; fi\n\
         now=$(date +%s); [ \"$now\" -ge \"$end\" ] && {{ {result}; echo Outcome=timeout; exit 0; }}\n\
         left=$(( end - now )); [ \"$left\" -gt {sleep} ] && left={sleep}\n\
         sleep \"$left\"\n\
         done\n",
        timeout = t.timeout,
        delay = t.delay,
        sleep = t.sleep.max(1),
        match_marker = marker("match"),
        result = marker("result"),
        cond = condition(target, state, regex),
    ));
    script
}

/// Ansible's message when the wait times out.
pub(super) fn timeout_message(target: &Target, state: &str, regex: Option<&str>) -> String {
    let gone = matches!(state, "stopped" | "absent");
    match (target, regex) {
        (Target::Port { host, port }, _) if state == "drained" => {
            format!("Timeout when waiting for {host}:{port} to drain")
        }
        (Target::Port { host, port }, _) if gone => {
            format!("Timeout when waiting for {host}:{port} to stop.")
        }
        (Target::Port { host, port }, Some(re)) => {
            format!("Timeout when waiting for search string {re} in {host}:{port}")
        }
        (Target::Port { host, port }, None) => format!("Timeout when waiting for {host}:{port}"),
        (Target::Path(path), _) if gone => format!("Timeout when waiting for {path} to be absent."),
        (Target::Path(path), Some(re)) => {
            format!("Timeout when waiting for search string {re} in {path}")
        }
        (Target::Path(path), None) => format!("Timeout when waiting for file {path}"),
        (Target::Nothing, _) => "Timeout".to_string(),
    }
}

/// The target the arguments name, or why they are unusable.
fn target(args: &Map<String, Value>) -> Result<Target, String> {
    let port = args.get("port").and_then(Value::as_i64);
    match (port, arg_str(args, "path")) {
        (Some(_), Some(_)) => {
            Err("port and path parameter can not both be passed to wait_for".into())
        }
        (Some(port), None) => {
            let port = u16::try_from(port)
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("`{port}` is not a TCP port"))?;
            let host = arg_str(args, "host").unwrap_or("127.0.0.1");
            if host.is_empty() || host.starts_with('-') {
                return Err(format!("`{host}` is not a host name"));
            }
            Ok(Target::Port {
                host: host.to_string(),
                port,
            })
        }
        (None, Some("")) => Err("`path` is empty".into()),
        (None, Some(path)) => Ok(Target::Path(path.to_string())),
        (None, None) => Ok(Target::Nothing),
    }
}

/// `match_groups` and `match_groupdict` for a matched line, like Python's `re.search`.
fn match_values(result: ModuleResult, regex: &str, line: &str) -> ModuleResult {
    let Ok(re) = regex::Regex::new(regex) else {
        return result;
    };
    let Some(caps) = re.captures(line) else {
        return result;
    };
    let groups: Vec<Value> = caps
        .iter()
        .skip(1)
        .map(|m| m.map_or(Value::Null, |m| m.as_str().into()))
        .collect();
    let named: Map<String, Value> = re
        .capture_names()
        .flatten()
        .map(|n| {
            (
                n.to_string(),
                caps.name(n).map_or(Value::Null, |m| m.as_str().into()),
            )
        })
        .collect();
    result
        .with("match_groups", groups)
        .with("match_groupdict", Value::Object(named))
}

#[async_trait]
impl Module for WaitFor {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let target = match target(args) {
            Ok(target) => target,
            Err(msg) => return Ok(ModuleResult::failed(msg)),
        };
        let num = |name: &str, default: i64| {
            args.get(name)
                .and_then(Value::as_i64)
                .unwrap_or(default)
                .max(0)
        };
        let timing = Timing {
            delay: num("delay", 0),
            timeout: num("timeout", 300),
            sleep: num("sleep", 1),
            connect_timeout: num("connect_timeout", 5),
        };
        let state = arg_str(args, "state").unwrap_or("started");
        let regex = arg_str(args, "search_regex");
        let started = Instant::now();
        let out = ctx.run(wait_script(&target, state, regex, timing)).await?;
        let stdout = out.stdout_text();
        let mut result = ModuleResult::ok()
            .with("elapsed", started.elapsed().as_secs())
            .with("state", state);
        result = match &target {
            Target::Port { port, .. } => result.with("port", *port),
            Target::Path(path) => result.with("path", path.clone()),
            Target::Nothing => result,
        };
        match fields(section(&stdout, "result")).get("Outcome") {
            Some(&"ok") => {}
            Some(_) => {
                result.failed = true;
                let msg = arg_str(args, "msg").map(str::to_string);
                result.msg = Some(msg.unwrap_or_else(|| timeout_message(&target, state, regex)));
                return Ok(result);
            }
            None => {
                result.failed = true;
                result.msg = Some(format!(
                    "wait_for could not run: {}",
                    out.stderr_text().trim()
                ));
                return Ok(result);
            }
        }
        if let Some(regex) = regex {
            let line = section(&stdout, "match").lines().next().unwrap_or_default();
            result = match_values(result.with("search_regex", regex), regex, line);
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests;
