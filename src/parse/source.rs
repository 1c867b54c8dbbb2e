//! Source files held in memory, and the spans that point into them.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::Diagnostic;

/// A file's path and text, shared by every span that points into it.
#[derive(Debug, PartialEq, Eq)]
pub struct Source {
    /// The path as the user would recognise it (relative when it was given relative).
    pub path: PathBuf,
    /// The whole text of the file.
    pub text: String,
}

impl Source {
    /// Wraps text that did not come from a file (tests, `-e` values, inline templates).
    pub fn inline(name: &str, text: impl Into<String>) -> Self {
        Source {
            path: PathBuf::from(name),
            text: text.into(),
        }
    }

    /// Reads a file as UTF-8, refusing files larger than `max_bytes`.
    pub fn read(path: &Path, max_bytes: u64) -> Result<Self, Diagnostic> {
        let file_error = |message: String| Diagnostic::file(path, message);
        let metadata =
            std::fs::metadata(path).map_err(|e| file_error(format!("cannot read file: {e}")))?;
        if metadata.is_dir() {
            return Err(file_error("expected a file, found a directory".into()));
        }
        if metadata.len() > max_bytes {
            return Err(file_error(format!(
                "file is {} bytes, more than the {max_bytes} bytes allowed",
                metadata.len()
            )));
        }
        let bytes =
            std::fs::read(path).map_err(|e| file_error(format!("cannot read file: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let offset = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(&e.into_bytes()[..offset]).into_owned();
            let line = text.matches('\n').count() + 1;
            let column = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let source = Arc::new(Source::inline(&path.display().to_string(), text));
            Diagnostic::error(
                Span::new(&source, line, column),
                "file is not valid UTF-8 (invalid byte here)",
            )
        })?;
        Ok(Source {
            path: path.to_path_buf(),
            text,
        })
    }

    /// The text of a 1-based line, without its newline.
    pub fn line_text(&self, line: usize) -> Option<&str> {
        self.text.lines().nth(line.checked_sub(1)?)
    }
}

/// A position in a source file: 1-based line and column (in characters).
#[derive(Clone, PartialEq, Eq)]
pub struct Span {
    /// The file this position is in.
    pub source: Arc<Source>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
}

impl Span {
    /// A position in `source`.
    pub fn new(source: &Arc<Source>, line: usize, column: usize) -> Self {
        Span {
            source: Arc::clone(source),
            line,
            column,
        }
    }

    /// The start of a file, for errors about the file as a whole.
    pub fn start_of(source: &Arc<Source>) -> Self {
        Span::new(source, 1, 1)
    }

    /// The same span moved by a line/column offset inside a scalar (for template errors).
    /// `line` is 1-based within the scalar; on its first line the column is relative to this span.
    pub fn offset_by(&self, line: usize, column: usize) -> Span {
        if line <= 1 {
            Span::new(
                &self.source,
                self.line,
                self.column + column.saturating_sub(1),
            )
        } else {
            Span::new(&self.source, self.line + line - 1, column)
        }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.source.path.display(),
            self.line,
            self.column
        )
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
