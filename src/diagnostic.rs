//! Located messages about bad input, and their rendering with a caret under the spot.
//!
//! The compiler collects these instead of stopping at the first; the CLI renders them once.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::parse::{Source, Span};

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The input cannot run.
    Error,
    /// The input runs, but probably not as meant.
    Warning,
    /// An error in a file Ansible loads only at run time (a dynamic include): a warning before
    /// the run, an error for a host that reaches it, and for `validate --strict`.
    Deferred,
}

/// A message about a place in an input file.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Where the problem is.
    pub span: Span,
    /// What is wrong, in one line.
    pub message: String,
    /// What to do about it, when we know.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            span,
            message: message.into(),
            help: None,
        }
    }

    /// A warning at `span`.
    pub fn warning(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(span, message)
        }
    }

    /// This error deferred to run time (see [`Severity::Deferred`]).
    pub fn deferred(mut self) -> Self {
        self.severity = Severity::Deferred;
        self
    }

    /// This deferred error as an error, for `validate --strict`.
    pub fn strict(mut self) -> Self {
        if self.severity == Severity::Deferred {
            self.severity = Severity::Error;
        }
        self
    }

    /// An error about a whole file that could not be read.
    pub fn file(path: &Path, message: impl Into<String>) -> Self {
        let source = Arc::new(Source::inline(&path.display().to_string(), ""));
        Diagnostic::error(Span::start_of(&source), message)
    }

    /// Adds a hint on how to fix the problem.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Whether this stops the run.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// Renders like rustc: the message, `--> file:line:column`, the line, and a caret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning | Severity::Deferred => "warning",
        };
        writeln!(f, "{label}: {}", self.message)?;
        if self.span.source.text.is_empty() {
            write!(f, "  --> {}", self.span.source.path.display())?;
        } else {
            write!(f, "  --> {}", self.span)?;
        }
        if let Some(line) = self.span.source.line_text(self.span.line) {
            let number = self.span.line.to_string();
            let pad = " ".repeat(number.len());
            let indent: String = line
                .chars()
                .take(self.span.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(f, "\n{pad} |\n{number} | {line}\n{pad} | {indent}^")?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

/// Every diagnostic of a failed compile, errors and warnings, in the order found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Whether any of them is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        let errors = self.0.iter().filter(|d| d.is_error()).count();
        if errors > 0 {
            let s = if errors == 1 { "" } else { "s" };
            write!(f, "\n\nerror: {errors} problem{s} found; nothing was run")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_caret_under_the_column() {
        let source = Arc::new(Source::inline("site.yml", "- hosts: web\n  taks: []\n"));
        let d = Diagnostic::error(Span::new(&source, 2, 3), "unknown play keyword `taks`")
            .with_help("did you mean `tasks`?");
        assert_eq!(
            d.to_string(),
            "error: unknown play keyword `taks`\n  --> site.yml:2:3\n  |\n2 |   taks: []\n  |   ^\n  = help: did you mean `tasks`?"
        );
    }
}
