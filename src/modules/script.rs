//! `script`: runs a script from the controller on the host. The free form is the local script's
//! path (looked up in the role's `files/` first) followed by its arguments, passed to the shell as
//! written (like Ansible). The script is streamed into a private temp file under `$HOME`, made
//! executable, run (through `executable` if given) and removed, in one round trip.
//!
//! `creates`, `removes` and `chdir` behave as for `command`, whose runner this module shares; in
//! check mode the script is skipped. Scripts must be UTF-8 text.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::command::{command_line, run_guarded};
use super::facts::FileError;
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::transfer::find_local;
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_str};
use crate::transport::quote;

static SPEC: ModuleSpec = ModuleSpec {
    name: "script",
    aliases: &[],
    args: &[
        ArgSpec::new("cmd", ArgType::Str),
        ArgSpec::new("creates", ArgType::Str),
        ArgSpec::new("removes", ArgType::Str),
        ArgSpec::new("chdir", ArgType::Str),
        ArgSpec::new("executable", ArgType::Str),
    ],
    free_form: true,
    one_of: &["_raw_params", "cmd"],
    open: false,
};

/// The `script` module.
pub struct Script;

#[async_trait]
impl Module for Script {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let line = command_line(args);
        match prepare(&line, args, ctx) {
            Ok((script, source)) => {
                // The script reaches the host as the command's stdin, fed by the shared runner.
                let mut with_stdin = args.clone();
                with_stdin.insert("stdin".into(), Value::String(source));
                with_stdin.insert("stdin_add_newline".into(), Value::Bool(false));
                run_guarded(&with_stdin, ctx, script, Value::String(line)).await
            }
            Err(e) => e.into_result(),
        }
    }
}

/// The remote script that receives, runs and removes the local script, and the script's text.
fn prepare(
    line: &str,
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
) -> Result<(String, String), FileError> {
    let (path, rest) =
        split_first_word(line).ok_or_else(|| FileError::failed("no script given"))?;
    let local = find_local(ctx.search_paths, &path, "files")?;
    let source = std::fs::read_to_string(&local).map_err(|source| FileError::Local {
        path: local,
        source,
    })?;
    let run = match arg_str(args, "executable") {
        Some(exe) => format!("{} \"$tmp\"", quote(exe)),
        None => "\"$tmp\"".to_string(),
    };
    let script = format!(
        "tmp=$(umask 077; mktemp \"${{HOME:-/tmp}}/.deployer-script.XXXXXXXXXX\") || exit 1\n\
         trap 'rm -f -- \"$tmp\"' EXIT\n\
         cat > \"$tmp\" || exit 1\n\
         chmod 700 \"$tmp\" || exit 1\n\
         {run} {rest}\n"
    );
    Ok((script, source))
}

/// The first shell word of `line` (unquoted) and the rest of the line as written.
fn split_first_word(line: &str) -> Option<(String, &str)> {
    let line = line.trim_start();
    let mut quote_char = None;
    let mut escaped = false;
    let mut end = line.len();
    for (i, c) in line.char_indices() {
        match (quote_char, c) {
            _ if escaped => escaped = false,
            (None | Some('"'), '\\') => escaped = true,
            (None, '\'' | '"') => quote_char = Some(c),
            (Some(q), c) if c == q => quote_char = None,
            (None, c) if c.is_whitespace() => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    let word = shlex::split(&line[..end])?.into_iter().next()?;
    Some((word, line[end..].trim_start()))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use serde_json::json;

    use super::*;
    use crate::modules::testing::{LocalRun, args};

    #[test]
    fn splits_the_script_from_its_arguments() {
        let table = [
            ("run.sh", Some(("run.sh", ""))),
            ("run.sh a 'b c' $HOME", Some(("run.sh", "a 'b c' $HOME"))),
            ("'my script.sh'  --x", Some(("my script.sh", "--x"))),
            ("my\\ script.sh y", Some(("my script.sh", "y"))),
            ("   ", None),
        ];
        for (line, expected) in table {
            let got = split_first_word(line);
            let got = got.as_ref().map(|(w, r)| (w.as_str(), *r));
            assert_eq!(got, expected, "{line}");
        }
    }

    #[tokio::test]
    async fn uploads_runs_and_removes_the_script() {
        let dir = tempfile::tempdir().unwrap();
        let files = dir.path().join("files");
        fs::create_dir(&files).unwrap();
        fs::write(
            files.join("hello world.sh"),
            "#!/bin/sh\necho \"hi $1|$2\"; echo \"$0\" > \"$3\"\n",
        )
        .unwrap();
        let record = dir.path().join("path");
        let line = format!(
            "'hello world.sh' 'a b' \"$(echo c)\" {}",
            quote(record.to_str().unwrap())
        );
        let run = LocalRun::default().searching(&files);
        let result = run.run(&Script, args(json!({"_raw_params": line}))).await;
        assert!(result.changed && !result.failed, "{result:?}");
        assert_eq!(result.data["stdout"], "hi a b|c");
        let uploaded = fs::read_to_string(&record).unwrap();
        assert!(
            !std::path::Path::new(uploaded.trim()).exists(),
            "the temp script is gone"
        );
        let guarded = json!({"_raw_params": "'hello world.sh'", "creates": dir.path()});
        assert!(!run.run(&Script, args(guarded)).await.changed);
        let checked = LocalRun::check()
            .searching(&files)
            .run(&Script, args(json!({"cmd": "'hello world.sh'"})))
            .await;
        assert!(checked.skipped);
        let python = json!({"cmd": "'hello world.sh' x y /dev/null", "executable": "sh"});
        assert_eq!(
            run.run(&Script, args(python)).await.data["stdout"],
            "hi x|y"
        );
    }
}
