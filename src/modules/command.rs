//! `command`: runs a program with arguments, no shell features (pipes, redirects) involved.
//! Also the shared runner behind `shell` (`creates`, `removes`, `chdir`, `stdin`).

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};
use crate::transport::{Stdin, quote, quote_command, quote_glob};

/// The arguments `command` and `shell` share.
pub(super) const COMMON_ARGS: [ArgSpec; 6] = [
    ArgSpec::new("cmd", ArgType::Str),
    ArgSpec::new("chdir", ArgType::Str),
    ArgSpec::new("creates", ArgType::Str),
    ArgSpec::new("removes", ArgType::Str),
    ArgSpec::new("stdin", ArgType::Str),
    ArgSpec::new("stdin_add_newline", ArgType::Bool),
];

static SPEC: ModuleSpec = ModuleSpec {
    name: "command",
    aliases: &[],
    args: &[
        COMMON_ARGS[0],
        COMMON_ARGS[1],
        COMMON_ARGS[2],
        COMMON_ARGS[3],
        COMMON_ARGS[4],
        COMMON_ARGS[5],
        ArgSpec::new("argv", ArgType::List),
        ArgSpec::new("strip_empty_ends", ArgType::Bool),
    ],
    free_form: true,
    one_of: &["_raw_params", "cmd", "argv"],
    open: false,
};

/// The `command` module.
pub struct Command;

#[async_trait]
impl Module for Command {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let words: Vec<String> = match args.get("argv").and_then(Value::as_array) {
            Some(argv) => argv
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect(),
            None => {
                let line = command_line(args);
                match shlex::split(&line) {
                    Some(words) => words,
                    None => {
                        return Ok(ModuleResult::failed(format!(
                            "cannot parse command `{line}`"
                        )));
                    }
                }
            }
        };
        if words.is_empty() {
            return Ok(ModuleResult::failed("no command given"));
        }
        let script: Vec<String> = (words.iter().enumerate())
            .map(|(i, w)| if i == 0 { quote_command(w) } else { quote(w) })
            .collect();
        run_guarded(args, ctx, script.join(" "), Value::from(words)).await
    }
}

/// The command text from `cmd` or the free-form part.
pub(super) fn command_line(args: &Map<String, Value>) -> String {
    arg_str(args, "cmd")
        .or_else(|| arg_str(args, "_raw_params"))
        .unwrap_or_default()
        .to_string()
}

/// Runs `script` unless `creates`/`removes` say it is not needed, and reports it like Ansible.
pub(super) async fn run_guarded(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
    script: String,
    cmd: Value,
) -> Result<ModuleResult, ModuleError> {
    match guard(args, ctx).await? {
        Some(Guarded::Skip(reason)) => {
            return Ok(ModuleResult::ok()
                .with("cmd", cmd)
                .with("rc", 0)
                .with_msg(reason));
        }
        Some(Guarded::Failed(msg)) => return Ok(ModuleResult::failed(msg).with("cmd", cmd)),
        None => {}
    }
    if ctx.check_mode {
        // Like Ansible: with `creates`/`removes` the guard has decided, so the command would run
        // and is reported as a change; without them nothing can be known and the task is skipped.
        if arg_str(args, "creates").is_some() || arg_str(args, "removes").is_some() {
            return Ok(ModuleResult::changed()
                .with("cmd", cmd)
                .with("rc", 0)
                .with_msg("Command would have run if not in check mode"));
        }
        return Ok(ModuleResult {
            skipped: true,
            ..ModuleResult::ok().with_msg("skipped in check mode: command would run")
        });
    }
    let mut full = String::new();
    if let Some(dir) = arg_str(args, "chdir") {
        full.push_str(&format!("cd {} || exit 1\n", quote(dir)));
    }
    full.push_str(&script);
    let stdin = match arg_str(args, "stdin") {
        Some(text) => {
            let mut bytes = text.as_bytes().to_vec();
            if arg_bool(args, "stdin_add_newline", true) {
                bytes.push(b'\n');
            }
            Stdin::Bytes(Arc::new(bytes))
        }
        None => Stdin::Null,
    };
    let started = Instant::now();
    let output = ctx.run_with_stdin(full, stdin).await?;
    let strip = arg_bool(args, "strip_empty_ends", true);
    let stdout = trim_end(output.stdout_text(), strip);
    let stderr = trim_end(output.stderr_text(), strip);
    let mut result = ModuleResult::changed()
        .with("cmd", cmd)
        .with("rc", output.exit_code)
        .with("stdout_lines", lines(&stdout))
        .with("stderr_lines", lines(&stderr))
        .with("stdout", stdout)
        .with("stderr", stderr)
        .with("delta", format!("{:?}", started.elapsed()));
    if output.exit_code != 0 {
        result.failed = true;
        result.msg = Some("non-zero return code".into());
    }
    Ok(result)
}

/// `creates`/`removes`: the reason to skip the command, if one applies. Each is a glob pattern,
/// expanded on the host in `chdir` as Ansible's `glob.glob` does: `creates` skips the command when
/// anything matches, `removes` when nothing does.
async fn guard(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
) -> Result<Option<Guarded>, ModuleError> {
    for (arg, skip_if_exists) in [("creates", true), ("removes", false)] {
        let Some(pattern) = arg_str(args, arg) else {
            continue;
        };
        let out = ctx
            .run(guard_script(arg_str(args, "chdir"), pattern))
            .await?;
        if out.exit_code == NO_CHDIR {
            let dir = arg_str(args, "chdir").unwrap_or_default();
            return Ok(Some(Guarded::Failed(format!(
                "Unable to change directory before execution: {dir}: {}",
                out.stderr_text().trim()
            ))));
        }
        let exists = out.exit_code == 0;
        if exists == skip_if_exists {
            let state = if exists { "exists" } else { "does not exist" };
            return Ok(Some(Guarded::Skip(format!(
                "skipped, since {pattern} {state}"
            ))));
        }
    }
    Ok(None)
}

/// What `creates`/`removes` decided instead of running the command.
enum Guarded {
    /// Skip it, for this reason.
    Skip(String),
    /// `chdir` could not be entered.
    Failed(String),
}

/// The exit code of [`guard_script`] when it cannot enter `chdir`.
const NO_CHDIR: i32 = 3;

/// The script that exits 0 when `pattern` matches a path (a dangling link counts, as for
/// `glob.glob`), 1 when none, and [`NO_CHDIR`] when it cannot enter `chdir`.
pub(super) fn guard_script(chdir: Option<&str>, pattern: &str) -> String {
    let mut script = String::new();
    if let Some(dir) = chdir {
        script.push_str(&format!("cd {} || exit {NO_CHDIR}\n", quote(dir)));
    }
    script.push_str(&format!(
        "for f in {}; do {{ [ -e \"$f\" ] || [ -L \"$f\" ]; }} && exit 0; done\nexit 1\n",
        quote_glob(pattern)
    ));
    script
}

fn trim_end(text: String, strip: bool) -> String {
    if strip {
        text.trim_end_matches(['\n', '\r']).to_string()
    } else {
        text
    }
}

fn lines(text: &str) -> Value {
    Value::from(text.lines().collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{LocalRun, args, run_local};
    use serde_json::json;

    #[tokio::test]
    async fn runs_without_a_shell() {
        let result = run_local(
            &Command,
            args(json!({"_raw_params": "echo 'a b' $HOME | x"})),
        )
        .await;
        assert!(result.changed && !result.failed);
        assert_eq!(result.data["stdout"], "a b $HOME | x");
        assert_eq!(result.data["rc"], 0);
    }

    #[tokio::test]
    async fn non_zero_exit_fails_with_rc() {
        let result = run_local(
            &Command,
            args(json!({"argv": ["sh", "-c", "echo no >&2; exit 3"]})),
        )
        .await;
        assert!(result.failed);
        assert_eq!(result.data["rc"], 3);
        assert_eq!(result.data["stderr_lines"], json!(["no"]));
    }

    #[tokio::test]
    async fn creates_skips_when_the_path_exists() {
        let result = run_local(&Command, args(json!({"cmd": "false", "creates": "/"}))).await;
        assert!(!result.changed && !result.failed);
        assert_eq!(result.msg.as_deref(), Some("skipped, since / exists"));
        let result = run_local(
            &Command,
            args(json!({"cmd": "true", "removes": "/nonexistent-x"})),
        )
        .await;
        assert!(!result.changed);
    }

    #[tokio::test]
    async fn creates_and_removes_are_globs_like_ansible() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let spaced = dir.path().join("my dir");
        std::fs::create_dir(&spaced).expect("a folder");
        let done = format!("{}/*.done", spaced.display());
        let run = |guard: &str, pattern: &str| {
            let task = json!({"cmd": "true", guard: pattern, "chdir": spaced});
            async move { run_local(&Command, args(task)).await }
        };
        let ran = run("creates", &done).await;
        assert!(ran.changed, "{ran:?}");
        let skipped = run("removes", &done).await;
        assert_eq!(
            skipped.msg,
            Some(format!("skipped, since {done} does not exist"))
        );

        std::fs::write(spaced.join("it's 1.done"), "").expect("a file");
        let skipped = run("creates", &done).await;
        assert!(!skipped.changed && !skipped.failed);
        assert_eq!(skipped.msg, Some(format!("skipped, since {done} exists")));
        assert!(run("removes", &done).await.changed);
        // Relative patterns are read in `chdir`, as Ansible changes directory first.
        assert!(!run("creates", "*.done").await.changed);
        assert!(run("creates", "*.none").await.changed);
        // Only the wildcards are expanded: `$`, quotes and spaces are literal.
        std::fs::write(spaced.join("$HOME 'q'"), "").expect("a file");
        assert!(!run("creates", "$HOME 'q'").await.changed);
        assert!(!run("creates", "$HOME '?'").await.changed);
    }

    #[test]
    fn guard_scripts_quote_all_but_the_wildcards() {
        assert_eq!(
            guard_script(Some("/srv/my app"), "/srv/my app/$(id)*.done"),
            "cd '/srv/my app' || exit 3\n\
             for f in '/srv/my app/$(id)'*.done; do { [ -e \"$f\" ] || [ -L \"$f\" ]; } && exit 0; done\n\
             exit 1\n"
        );
    }

    #[tokio::test]
    async fn a_guard_that_cannot_enter_chdir_fails() {
        let result = run_local(
            &Command,
            args(json!({"cmd": "true", "creates": "x", "chdir": "/nonexistent-x"})),
        )
        .await;
        assert!(result.failed && !result.changed);
        let msg = result.msg.unwrap_or_default();
        assert!(
            msg.starts_with("Unable to change directory before execution: /nonexistent-x: "),
            "{msg}"
        );
    }

    #[tokio::test]
    async fn chdir_and_stdin() {
        let result = run_local(
            &Command,
            args(json!({"cmd": "cat", "chdir": "/", "stdin": "hi"})),
        )
        .await;
        assert_eq!(result.data["stdout"], "hi");
    }

    #[tokio::test]
    async fn check_mode_reports_a_guarded_command_as_changed_and_skips_the_others() {
        let guarded = LocalRun::check()
            .run(
                &Command,
                args(json!({"cmd": "false", "creates": "/nonexistent-x"})),
            )
            .await;
        assert!(guarded.changed && !guarded.skipped && !guarded.failed);
        assert_eq!(
            guarded.msg.as_deref(),
            Some("Command would have run if not in check mode")
        );
        let unguarded = LocalRun::check()
            .run(&Command, args(json!({"cmd": "false"})))
            .await;
        assert!(unguarded.skipped && !unguarded.changed && !unguarded.failed);
    }
}
