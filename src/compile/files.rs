//! Template files a task names literally (`template`'s `src`, `lookup('template', 'x.j2')`)
//! found and compiled ahead, their errors located in the file itself.

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use regex::Regex;
use serde_json::Value;

use super::program::Task;
use super::{Compiler, collect_strings, find_scalar};
use crate::diagnostic::Diagnostic;
use crate::modules::ModuleKind;
use crate::modules::transfer::{find_local, search_order};
use crate::parse::{MAX_YAML_BYTES, Node, Source, Span};

/// `lookup('template', 'name')` with a constant name.
static TEMPLATE_LOOKUP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"lookup\(\s*['"](?:ansible\.builtin\.)?template['"]\s*,\s*['"]([^'"{}]+)['"]"#)
        .expect("a valid pattern")
});

impl Compiler<'_> {
    /// Finds and compiles every template file `task` names literally; `args_node` is where its
    /// arguments are written.
    pub(super) fn check_template_files(&mut self, task: &Task, args_node: &Node) {
        let mut names: Vec<String> = Vec::new();
        if task.module.kind() == ModuleKind::Template
            && let Some(Value::String(src)) = task.args.get("src")
            && !src.contains("{{")
            && !src.contains("{%")
        {
            names.push(src.clone());
        }
        let mut strings = Vec::new();
        collect_strings(&task.args, &mut strings);
        for s in &strings {
            names.extend(TEMPLATE_LOOKUP.captures_iter(s).map(|c| c[1].to_string()));
        }
        for name in names {
            let at = find_scalar(args_node, &name)
                .unwrap_or(args_node)
                .span
                .clone();
            self.check_template_file(&name, &task.search_paths, at);
        }
    }

    /// Compiles the template file `name` found in `search_paths`; problems are recorded, at
    /// `at` when the file is missing, else in the file. Each file is checked once.
    fn check_template_file(&mut self, name: &str, search_paths: &[PathBuf], at: Span) {
        let Ok(path) = find_local(search_paths, name, "templates") else {
            let mut looked: Vec<String> = Vec::new();
            for dir in search_order(search_paths, "templates") {
                let candidate = dir.join(name).display().to_string();
                if !looked.contains(&candidate) {
                    looked.push(candidate);
                }
            }
            self.error(
                Diagnostic::error(at, format!("template file `{name}` not found"))
                    .with_help(format!("looked for {}", looked.join(", "))),
            );
            return;
        };
        if !self.checked_files.insert(path.clone()) {
            return;
        }
        let source = match Source::read(&path, MAX_YAML_BYTES) {
            Ok(source) => Arc::new(source),
            Err(d) => return self.error(d),
        };
        if let Err(e) = self.templater.check_template(&source.text) {
            let span = Span::new(&source, e.line.unwrap_or(1), e.column.unwrap_or(1));
            self.error(Diagnostic::error(
                span,
                format!("template syntax error: {}", e.message),
            ));
        }
    }
}
