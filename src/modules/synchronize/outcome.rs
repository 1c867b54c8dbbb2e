//! What rsync's output means, as ansible.posix reads it: a change is any line rsync itemized
//! (marked with [`CHANGED_MARKER`]), or with `link_dest` any such line not starting with `.`.

use super::command::CHANGED_MARKER;

/// rsync's stdout, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Something was (or, with `--dry-run`, would be) transferred, deleted or changed.
    pub changed: bool,
    /// The output without the markers (Ansible's `msg`).
    pub msg: String,
    /// Its non-empty lines (Ansible's `stdout_lines`).
    pub stdout_lines: Vec<String>,
}

/// Reads rsync's stdout; `link_dest` says whether hard links to another tree were asked for
/// (rsync then itemizes unchanged files too, with a leading `.`).
pub fn read(stdout: &str, link_dest: bool) -> Outcome {
    let changed = if link_dest {
        !stdout.contains(&format!("{CHANGED_MARKER}."))
    } else {
        stdout.contains(CHANGED_MARKER)
    };
    let msg = stdout.replace(CHANGED_MARKER, "");
    let stdout_lines = msg
        .split('\n')
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect();
    Outcome {
        changed,
        msg,
        stdout_lines,
    }
}
