//! Syntax to a validated [`Program`]: plays, roles and includes resolved, module arguments
//! checked, templates parsed, handlers bound. Reads files; never touches a host.
//!
//! Every problem found is collected as a located [`Diagnostic`]; compilation fails when any of
//! them is an error, so a playbook runs only when all of it is sound.

mod files;
mod includes;
mod keyword;
mod kv;
mod play;
pub mod program;
mod roles;
mod task;
mod values;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub use keyword::{to_bool, to_count, to_seconds, to_text, to_timeout};
pub use program::{
    BatchSize, BecomeSpec, Block, ConnectionKeywords, Include, Keyword, Loop, LoopKind, Play,
    Program, Scope, Strategy, Task, TaskNode, Vars, playbook_dir,
};

pub use kv::split_kv;

use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::modules::ArgType;
use crate::parse::{Node, Span};
use crate::template::{TemplateError, Templater};
use crate::transport::CONNECTION_VARS;
use crate::vault::Vault;

/// Compiles a playbook file, decrypting vault-encrypted files with `vault`. On success also returns the warnings found.
pub fn compile(
    playbook: &Path,
    extra_vars: Vars,
    templater: &Templater,
    vault: &Vault,
) -> Result<(Program, Vec<Diagnostic>), Diagnostics> {
    let mut compiler = Compiler {
        templater,
        vault,
        diagnostics: Vec::new(),
        notified: Vec::new(),
        include_stack: Vec::new(),
        extra_vars: &extra_vars,
        roles_seen: Vec::new(),
        role_handlers: Vec::new(),
        play_dir: PathBuf::new(),
        checked_files: BTreeSet::new(),
    };
    let plays = compiler.playbook(playbook);
    // A file compiled twice (included from two places) reports each problem once.
    let mut diagnostics = Diagnostics(Vec::new());
    for d in compiler.diagnostics {
        if !diagnostics.0.contains(&d) {
            diagnostics.0.push(d);
        }
    }
    if diagnostics.has_errors() {
        return Err(diagnostics);
    }
    Ok((Program { plays, extra_vars }, diagnostics.0))
}

/// The state of one compilation.
pub(crate) struct Compiler<'a> {
    templater: &'a Templater,
    /// Decrypts vault-encrypted files as they are read.
    vault: &'a Vault,
    diagnostics: Vec<Diagnostic>,
    /// Handler names notified in the current play, with where, to bind once the play is read.
    notified: Vec<(String, Span)>,
    /// Files being included, outermost first, to refuse include cycles.
    include_stack: Vec<PathBuf>,
    extra_vars: &'a Vars,
    /// Roles already run in this play, with their parameters (a role runs once per play).
    roles_seen: Vec<(String, Vars)>,
    /// Handlers of roles used in this play.
    role_handlers: Vec<std::sync::Arc<Task>>,
    /// The folder of the play's playbook.
    play_dir: PathBuf,
    /// Template files already compiled, so each is reported once.
    checked_files: BTreeSet<PathBuf>,
}

impl Compiler<'_> {
    /// Records a problem.
    fn error(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Defers the errors recorded since `start` to run time (see [`Severity::Deferred`]);
    /// the first of them, located, when there was one.
    fn defer_since(&mut self, start: usize) -> Option<String> {
        let mut first = None;
        for d in self.diagnostics[start..]
            .iter_mut()
            .filter(|d| d.is_error())
        {
            first.get_or_insert_with(|| format!("{}: {}", d.span, d.message));
            d.severity = Severity::Deferred;
        }
        first
    }

    /// Checks a `when`-style condition's syntax.
    fn check_condition(&mut self, condition: &str, node: &Node) {
        if let Err(e) = self.templater.check_expression(strip_braces(condition)) {
            self.template_error(e, node, "condition");
        }
    }

    /// Checks the syntax of every template inside a value written at `node`.
    fn check_templates(&mut self, value: &Value, node: &Node) {
        match value {
            Value::String(s) if s.contains("{{") || s.contains("{%") => {
                if let Err(e) = self.templater.check_template(s) {
                    let at = find_scalar(node, s).unwrap_or(node);
                    self.template_error(e, at, "template");
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.check_templates(v, node)),
            Value::Object(map) => map.values().for_each(|v| self.check_templates(v, node)),
            _ => {}
        }
    }

    fn template_error(&mut self, error: TemplateError, node: &Node, what: &str) {
        let span = match (error.line, error.column) {
            (Some(line), Some(column)) if node.as_str().is_some() => {
                node.span.offset_by(line, column)
            }
            _ => node.span.clone(),
        };
        self.error(Diagnostic::error(
            span,
            format!("{what} syntax error: {}", error.message),
        ));
    }

    /// The names of the variables the task's templates and conditions read.
    fn reads(&self, task: &Task) -> BTreeSet<String> {
        let mut sources: Vec<String> = Vec::new();
        collect_strings(&task.args, &mut sources);
        sources.extend(expressions(task).map(|e| format!("{{{{ {e} }}}}")));
        let conditions = task
            .when
            .iter()
            .chain(task.changed_when.iter().flatten())
            .chain(task.failed_when.iter().flatten())
            .chain(task.until.iter());
        sources.extend(conditions.map(|c| format!("{{{{ {} }}}}", strip_braces(c))));
        if let Some(l) = &task.looping {
            collect_strings(&l.items, &mut sources);
            sources.extend(l.label.iter().cloned());
        }
        sources.extend(task.delegate_to.iter().cloned());
        sources.extend(task.keyword_templates().map(str::to_string));
        sources.extend(
            task.connection
                .given()
                .map(|(template, _)| template.to_string()),
        );
        task.environment
            .iter()
            .for_each(|v| collect_strings(v, &mut sources));
        sources
            .iter()
            .filter_map(|s| self.templater.undeclared_variables(s).ok())
            .flatten()
            .chain(CONNECTION_VARS.iter().map(|v| v.to_string()))
            .collect()
    }
}

/// The bare expressions among a task's arguments (those of type `Expr`/`ExprList`).
fn expressions(task: &Task) -> impl Iterator<Item = String> + '_ {
    let spec = task.module.spec();
    task.args
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(name, _)| {
            spec.arg(name)
                .is_some_and(|a| matches!(a.kind, ArgType::Expr | ArgType::ExprList))
        })
        .flat_map(|(_, value)| match value {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        })
        .filter_map(|v| v.as_str().map(|s| strip_braces(s).to_string()))
}

/// A condition without the `{{ }}` Ansible tolerates around it.
pub fn strip_braces(condition: &str) -> &str {
    let trimmed = condition.trim();
    trimmed
        .strip_prefix("{{")
        .and_then(|s| s.strip_suffix("}}"))
        .map_or(trimmed, str::trim)
}

/// Every string holding a template inside a value.
fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.contains("{{") || s.contains("{%") => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// The scalar node under `node` whose text is `text`, to point errors at the exact value.
fn find_scalar<'n>(node: &'n Node, text: &str) -> Option<&'n Node> {
    if node.as_str() == Some(text) {
        return Some(node);
    }
    if let Some(items) = node.as_seq() {
        return items.iter().find_map(|n| find_scalar(n, text));
    }
    node.as_map()?
        .iter()
        .find_map(|(_, v)| find_scalar(v, text))
}
