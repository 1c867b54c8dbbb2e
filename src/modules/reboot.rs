//! `reboot`: reboots the host and waits until it is back, as Ansible's action plugin does. The
//! host's boot id is read (`boot_time_command`), the reboot command is run (a connection that
//! drops under it is what a reboot does), the host's connection is closed, and after
//! `post_reboot_delay` the boot id is read again, each try limited to `connect_timeout`, until it
//! differs; then `test_command` must succeed. All of it within `reboot_timeout`. In check mode
//! nothing runs and the task reports a change, as in Ansible.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_seconds, arg_str};
use crate::transport::{ExecOutput, quote};

static SPEC: ModuleSpec = ModuleSpec {
    name: "reboot",
    aliases: &[],
    args: &[
        ArgSpec::new("boot_time_command", ArgType::Str),
        ArgSpec::new("connect_timeout", ArgType::Int),
        ArgSpec::new("msg", ArgType::Str),
        ArgSpec::new("post_reboot_delay", ArgType::Int),
        ArgSpec::new("pre_reboot_delay", ArgType::Int),
        ArgSpec::new("reboot_command", ArgType::Str),
        ArgSpec::new("reboot_timeout", ArgType::Int),
        ArgSpec::new("search_paths", ArgType::List),
        ArgSpec::new("test_command", ArgType::Str),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// Where `shutdown` is looked for when `search_paths` is not given (Ansible's list).
const SEARCH_PATHS: [&str; 5] = ["/sbin", "/bin", "/usr/sbin", "/usr/bin", "/usr/local/sbin"];

/// How long the reboot command may run before the host counts as going down under it.
const REBOOT_COMMAND_LIMIT: Duration = Duration::from_secs(30);

/// The longest pause between two tries to reach the host again.
const MAX_PAUSE: Duration = Duration::from_secs(10);

/// The `reboot` module.
pub struct Reboot;

#[async_trait]
impl Module for Reboot {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        if ctx.check_mode {
            return Ok(ModuleResult::changed()
                .with("rebooted", true)
                .with("elapsed", 0));
        }
        let boot_id_command =
            arg_str(args, "boot_time_command").unwrap_or("cat /proc/sys/kernel/random/boot_id");
        let connect_timeout = arg_seconds(args, "connect_timeout", 10);
        let reboot_timeout = arg_seconds(args, "reboot_timeout", 600);
        let started = Instant::now();

        let before = ctx.run(boot_id_command).await?;
        if before.exit_code != 0 {
            return Ok(ModuleResult::failed(format!(
                "failed to get host boot time info, rc: {}, stdout: {}, stderr: {}",
                before.exit_code,
                before.stdout_text(),
                before.stderr_text()
            )));
        }
        let boot_id = before.stdout_text().trim().to_string();

        let command = reboot_command(args);
        match tokio::time::timeout(REBOOT_COMMAND_LIMIT, ctx.run(command)).await {
            Ok(Ok(out)) if out.exit_code != 0 => {
                return Ok(ModuleResult::failed(format!(
                    "Reboot command failed. Error was: '{}, {}'",
                    out.stdout_text().trim(),
                    out.stderr_text().trim()
                ))
                .with("rebooted", false));
            }
            // Ended, or the connection went down with the host, or the host stopped answering.
            Ok(_) | Err(_) => {}
        }
        ctx.transport.reset().await;
        tokio::time::sleep(arg_seconds(args, "post_reboot_delay", 0)).await;

        let deadline = started + reboot_timeout;
        let back = |out: &ExecOutput| out.exit_code == 0 && out.stdout_text().trim() != boot_id;
        if !until(ctx, boot_id_command, connect_timeout, deadline, back).await {
            return Ok(timed_out("last boot time check", reboot_timeout, started));
        }
        let test_command = arg_str(args, "test_command").unwrap_or("whoami");
        if !until(ctx, test_command, connect_timeout, deadline, |out| {
            out.exit_code == 0
        })
        .await
        {
            return Ok(timed_out(
                "post-reboot test command",
                reboot_timeout,
                started,
            ));
        }
        Ok(ModuleResult::changed()
            .with("rebooted", true)
            .with("elapsed", started.elapsed().as_secs()))
    }
}

/// The command that reboots the host: `reboot_command`, else `shutdown -r` with
/// `pre_reboot_delay` in whole minutes and `msg`. A program named without a path is looked for
/// in `search_paths`, as Ansible does.
fn reboot_command(args: &Map<String, Value>) -> String {
    let (program, arguments) = match arg_str(args, "reboot_command") {
        Some(command) => {
            let command = command.trim();
            command.split_once(' ').unwrap_or((command, ""))
        }
        None => ("shutdown", ""),
    };
    let arguments = match arg_str(args, "reboot_command") {
        Some(_) => arguments.to_string(),
        None => {
            let minutes = arg_seconds(args, "pre_reboot_delay", 0).as_secs() / 60;
            let msg = arg_str(args, "msg").unwrap_or("Reboot initiated by Ansible");
            format!("-r {minutes} {}", quote(msg))
        }
    };
    if program.starts_with('/') {
        return format!("{} {arguments}", quote(program));
    }
    let paths: Vec<String> = match args.get("search_paths").and_then(Value::as_array) {
        Some(list) => list.iter().filter_map(Value::as_str).map(quote).collect(),
        None => SEARCH_PATHS.iter().map(|p| p.to_string()).collect(),
    };
    let program = quote(program);
    format!(
        "for d in {paths}; do if [ -x \"$d\"/{program} ]; then exec \"$d\"/{program} {arguments}; fi; done\n\
         echo 'Unable to find command '{program}' in search paths: {paths}' >&2; exit 127",
        paths = paths.join(" "),
    )
}

/// Runs `command` until `done` holds for its output, each try limited to `limit`, pausing 1 s,
/// then 2, 4, ... up to [`MAX_PAUSE`] between tries; `false` when `deadline` comes first. A try
/// that fails closes the host's connection, so that the next logs in afresh.
async fn until(
    ctx: &ModuleContext<'_>,
    command: &str,
    limit: Duration,
    deadline: Instant,
    done: impl Fn(&ExecOutput) -> bool,
) -> bool {
    let mut pause = Duration::from_secs(1);
    loop {
        match tokio::time::timeout(limit, ctx.run(command)).await {
            Ok(Ok(out)) if done(&out) => return true,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::debug!(host = ctx.host, "not back yet: {e}");
                ctx.transport.reset().await;
            }
            Err(_) => ctx.transport.reset().await,
        }
        if Instant::now() + pause >= deadline {
            return false;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// Ansible's failure when the host did not come back in time.
fn timed_out(what: &str, timeout: Duration, started: Instant) -> ModuleResult {
    ModuleResult::failed(format!(
        "Timed out waiting for {what} (timeout={})",
        timeout.as_secs()
    ))
    .with("rebooted", true)
    .with("elapsed", started.elapsed().as_secs())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::modules::testing::args;

    #[test]
    fn the_command_is_looked_for_in_the_search_paths_unless_it_has_a_path() {
        let command = reboot_command(&args(json!({
            "pre_reboot_delay": 130,
            "msg": "it's time",
            "search_paths": ["/opt/my bin"],
        })));
        assert_eq!(
            command,
            "for d in '/opt/my bin'; do if [ -x \"$d\"/shutdown ]; then exec \"$d\"/shutdown -r 2 'it'\\''s time'; fi; done\n\
             echo 'Unable to find command 'shutdown' in search paths: '/opt/my bin'' >&2; exit 127"
        );
        assert!(reboot_command(&args(json!({}))).starts_with(
            "for d in /sbin /bin /usr/sbin /usr/bin /usr/local/sbin; do if [ -x \"$d\"/shutdown ]; then exec \"$d\"/shutdown -r 0 'Reboot initiated by Ansible'; fi"
        ));
        assert!(
            reboot_command(&args(json!({"reboot_command": "systemctl kexec"})))
                .contains("exec \"$d\"/systemctl kexec; fi")
        );
        assert_eq!(
            reboot_command(&args(json!({"reboot_command": "/sbin/reboot -f"}))),
            "/sbin/reboot -f"
        );
    }
}
