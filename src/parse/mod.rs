//! Text to syntax: YAML files become [`Node`] trees where every node knows its file, line and column.
//!
//! This stage knows YAML (with Ansible's YAML 1.1 habits: `yes`/`no` booleans, `0644` octals) but
//! nothing of playbooks or inventories; giving the nodes meaning is the compiler's job.

mod node;
mod source;

pub use node::{Node, NodeValue};
pub use source::{Source, Span};

use std::path::Path;
use std::sync::Arc;

use crate::diagnostic::Diagnostic;

/// Largest YAML file we read; bigger ones are refused before parsing.
pub const MAX_YAML_BYTES: u64 = 16 * 1024 * 1024;

/// Reads and parses a YAML file into a located node tree.
pub fn parse_yaml_file(path: &Path) -> Result<Node, Diagnostic> {
    let source = Source::read(path, MAX_YAML_BYTES)?;
    parse_yaml(&Arc::new(source))
}

/// Parses YAML text already held in a [`Source`].
pub fn parse_yaml(source: &Arc<Source>) -> Result<Node, Diagnostic> {
    node::parse(source)
}
