//! Modules deployer has not built in, run with Ansible's own code: the module's Python source,
//! found in the ansible-core and collections installed on the controller or in a `library/`
//! folder (`install.rs`), is packed with the code it imports (`package.rs`) and run by the host's
//! Python over the task's connection; its JSON result is read back. Check mode and diff are
//! passed as Ansible passes them (a module without check mode support skips itself).
//!
//! The first time a host runs a packed module, the runner keeps the zip's files in a folder of
//! the user's (`~/.cache/deployer/ansible/<the zip's SHA-256>`, mode 0700), where Python also
//! keeps their compiled code; later tasks send only the request and run from there. A task tries
//! the kept folder first and sends the whole zip when it is not there, or is a link, or is not
//! owned by the user the module runs as (whose `HOME` may be another user's under `become`).

mod install;
mod options;
mod package;

pub use install::{Installation, ModuleSource, Unavailable, library_module};

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::not_built_in::spec_named;
use super::setup::facts_result;
use super::spec::{ArgError, ModuleSpec};
use super::{Diff, Module, ModuleContext, ModuleError, ModuleResult};
use crate::transport::{ExecOutput, Stdin, quote};

/// Keys of a module's result that deployer reads itself; the rest is the module's data.
const OWN_KEYS: &[&str] = &[
    "changed",
    "failed",
    "skipped",
    "msg",
    "diff",
    "ansible_facts",
    "invocation",
];

/// What the script prints when the host does not keep the module's files (yet).
const NOT_KEPT: &str = "deployer-ansible-code-not-kept";

/// A module run with Ansible's code.
pub struct AnsibleCode {
    spec: &'static ModuleSpec,
    source: ModuleSource,
    /// The argument names its documentation gives (`None`: not known).
    documented: Option<BTreeSet<String>>,
}

impl AnsibleCode {
    /// The module a task names as `name`, whose code is `source`.
    pub fn new(name: &str, source: ModuleSource) -> Self {
        let documented = options::documented(&source, Installation::get().core.as_deref());
        AnsibleCode {
            spec: spec_named(name),
            source,
            documented,
        }
    }
}

#[async_trait]
impl Module for AnsibleCode {
    fn spec(&self) -> &'static ModuleSpec {
        self.spec
    }

    fn ansible_code(&self) -> Option<&std::path::Path> {
        Some(&self.source.file)
    }

    /// Names its documentation does not give, as Ansible's check of the module's
    /// `argument_spec` finds them on the host ("Unsupported parameters").
    fn check_args(&self, args: &Map<String, Value>) -> Vec<ArgError> {
        let Some(documented) = &self.documented else {
            return Vec::new();
        };
        // A value that may render to `omit` leaves its argument out, as in Ansible.
        let may_be_omitted = |value: &Value| value.as_str().is_some_and(|v| v.contains("omit"));
        args.iter()
            .filter(|(name, value)| {
                !documented.contains(name.as_str())
                    && name.as_str() != "_raw_params"
                    && !may_be_omitted(value)
            })
            .map(|(name, _)| name)
            .map(|name| ArgError {
                arg: Some(name.clone()),
                message: format!(
                    "Unsupported parameters for ({}) module: {name}. Supported parameters include: {}",
                    self.spec.name,
                    documented.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            })
            .collect()
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let packed = match package::packed(Installation::get(), &self.source) {
            Ok(packed) => packed,
            Err(e) => return Ok(ModuleResult::failed(e.to_string())),
        };
        let mut request = args.clone();
        for (name, value) in [
            ("_ansible_check_mode", Value::Bool(ctx.check_mode)),
            ("_ansible_diff", Value::Bool(ctx.diff)),
            ("_ansible_module_name", Value::from(self.spec.name)),
        ] {
            request.insert(name.into(), value);
        }
        let request = package::request(&self.source.import_name, &request, &packed.digest);
        let python = interpreter(ctx.vars);
        let kept = format!(
            "d=\"$HOME\"/.cache/deployer/ansible/{}\n\
             [ ! -L \"$d\" ] && [ -O \"$d\" ] && [ -f \"$d/__main__.py\" ] || {{ echo {NOT_KEPT} >&2; exit 75; }}\n\
             {python} \"$d/__main__.py\"",
            packed.digest
        );
        let output = ctx
            .run_with_stdin(kept, Stdin::Bytes(Arc::new(request.clone())))
            .await?;
        if output.exit_code != 75 || output.stderr_text().trim() != NOT_KEPT {
            return Ok(result_of(&output, ctx));
        }
        let bundle = match package::with_request(&packed, &request) {
            Ok(bundle) => bundle,
            Err(e) => return Ok(ModuleResult::failed(e.to_string())),
        };
        let script = format!(
            "f=$(mktemp) || exit 1\ntrap 'rm -f \"$f\"' EXIT\ncat > \"$f\" && {python} \"$f\""
        );
        let output = ctx
            .run_with_stdin(script, Stdin::Bytes(Arc::new(bundle)))
            .await?;
        Ok(result_of(&output, ctx))
    }
}

/// The host's Python: `ansible_python_interpreter`, else the first of the usual ones found.
fn interpreter(vars: &Value) -> String {
    let named = vars
        .get("ansible_python_interpreter")
        .and_then(Value::as_str);
    // A `#!` line's words, as Ansible takes them (`/usr/bin/env python3`).
    let words = named
        .filter(|n| !n.starts_with("auto"))
        .and_then(shlex::split);
    match words.filter(|w| !w.is_empty()) {
        Some(words) => words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" "),
        _ => "\"$(command -v python3 || command -v /usr/libexec/platform-python || command -v python || echo python3)\""
            .into(),
    }
}

/// The module's JSON result as deployer's, or Ansible's `MODULE FAILURE` when there is none.
fn result_of(output: &ExecOutput, ctx: &ModuleContext<'_>) -> ModuleResult {
    let stdout = output.stdout_text();
    let Some(Value::Object(mut reply)) = json_in(&stdout) else {
        let mut result = ModuleResult::failed("MODULE FAILURE: the module printed no result");
        result.data.insert("rc".into(), output.exit_code.into());
        result.data.insert("module_stdout".into(), stdout.into());
        result
            .data
            .insert("module_stderr".into(), output.stderr_text().into());
        return result;
    };
    let truthy = |value: Option<&Value>| value.is_some_and(|v| v.as_bool().unwrap_or(false));
    let mut result = match reply.get("ansible_facts").and_then(Value::as_object) {
        Some(facts) => facts_result(ctx, facts),
        None => ModuleResult::ok(),
    };
    result.changed = truthy(reply.get("changed"));
    result.failed = truthy(reply.get("failed"));
    result.skipped = truthy(reply.get("skipped"));
    result.msg = reply.get("msg").map(|m| match m {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    });
    result.diffs = diffs(reply.get("diff"));
    reply.retain(|key, _| !OWN_KEYS.contains(&key.as_str()));
    result.data = reply;
    result
}

/// The first JSON value in `stdout` that starts a line (modules may print before it).
fn json_in(stdout: &str) -> Option<Value> {
    let start = stdout
        .match_indices('{')
        .map(|(at, _)| at)
        .find(|&at| at == 0 || stdout.as_bytes()[at - 1] == b'\n')?;
    let mut values = serde_json::Deserializer::from_str(&stdout[start..]).into_iter::<Value>();
    values.next()?.ok()
}

/// A module's `diff` (one or a list of `before`/`after` mappings) as deployer's diffs.
fn diffs(diff: Option<&Value>) -> Vec<Diff> {
    let items = match diff {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item @ Value::Object(_)) => vec![item],
        _ => Vec::new(),
    };
    let text = |value: Option<&Value>| match value {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => serde_json::to_string_pretty(other).unwrap_or_default() + "\n",
    };
    items
        .into_iter()
        .filter(|item| item.get("before").is_some() || item.get("after").is_some())
        .map(|item| Diff {
            label: text(item.get("after_header").or(item.get("before_header"))),
            before: text(item.get("before")),
            after: text(item.get("after")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_result_is_the_first_json_line_after_any_noise() {
        let text = "warning: noise\n{\"changed\": true, \"a\": {\"b\": 1}}\ntrailing";
        assert_eq!(json_in(text), Some(json!({"changed": true, "a": {"b": 1}})));
        assert_eq!(json_in("no json here"), None);
    }

    #[test]
    fn diffs_come_one_or_many_with_their_headers() {
        let one = diffs(Some(
            &json!({"before": "a\n", "after": "b\n", "after_header": "/etc/x"}),
        ));
        assert_eq!(one.len(), 1);
        assert_eq!(
            (one[0].label.as_str(), one[0].after.as_str()),
            ("/etc/x", "b\n")
        );
        let many = diffs(Some(
            &json!([{"before": {"k": 1}, "after": {"k": 2}}, {"prepared": "x"}]),
        ));
        assert_eq!(many.len(), 1);
        assert!(many[0].after.contains("\"k\": 2"));
    }

    #[test]
    fn the_interpreter_is_the_hosts_python_unless_named() {
        assert_eq!(
            interpreter(&json!({"ansible_python_interpreter": "'/opt/py bin/python'"})),
            "'/opt/py bin/python'"
        );
        assert_eq!(
            interpreter(&json!({"ansible_python_interpreter": "/usr/bin/env python3"})),
            "/usr/bin/env python3"
        );
        assert!(
            interpreter(&json!({"ansible_python_interpreter": "auto_silent"}))
                .contains("command -v python3")
        );
        assert!(interpreter(&json!({})).contains("command -v python3"));
    }
}
