//! The ownership and permissions a task asks for (`mode`, `owner`, `group`), compared with what a
//! probe found, and the `chown`/`chmod` that close the gap.
//!
//! Shared by every module that creates or edits paths. Symbolic modes are resolved here against
//! the current mode, so the commands sent carry octal modes. Recursive changes are the `file`
//! module's business, not this file's.

use serde_json::{Map, Value};

use super::facts::{FileError, PathState};
use super::mode::{Mode, octal};
use super::spec::{ArgSpec, ArgType};
use super::{Diff, ModuleContext, arg_str};
use crate::transport::quote;

/// The arguments every module that creates files accepts: `mode`, `owner`, `group`.
pub const ATTR_ARGS: [ArgSpec; 3] = [
    ArgSpec::new("mode", ArgType::Mode),
    ArgSpec::new("owner", ArgType::Str),
    ArgSpec::new("group", ArgType::Str),
];

/// The mode, owner and group a task wants; `None` leaves that attribute alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attrs {
    /// The wanted mode.
    pub mode: Option<Mode>,
    /// The wanted owner, a name or a numeric id.
    pub owner: Option<String>,
    /// The wanted group, a name or a numeric id.
    pub group: Option<String>,
}

impl Attrs {
    /// Reads `mode`, `owner` and `group` from a module's arguments.
    pub fn from_args(args: &Map<String, Value>) -> Result<Attrs, FileError> {
        Attrs::from_names(args, "mode", "owner", "group")
    }

    /// Reads the attributes from arguments with other names (`directory_mode`).
    pub fn from_names(
        args: &Map<String, Value>,
        mode: &str,
        owner: &str,
        group: &str,
    ) -> Result<Attrs, FileError> {
        let mode = arg_str(args, mode)
            .map(Mode::parse)
            .transpose()
            .map_err(|e| FileError::failed(e.to_string()))?;
        let named = |name: &str| {
            arg_str(args, name)
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        Ok(Attrs {
            mode,
            owner: named(owner),
            group: named(group),
        })
    }

    /// What must change for an existing path to have these attributes.
    pub fn changes(&self, state: &PathState) -> AttrChanges {
        let mode = self
            .mode
            .as_ref()
            .map(|m| m.resolve(state.mode, state.is_dir()))
            .filter(|&m| m != state.mode);
        let owner = self
            .owner
            .clone()
            .filter(|o| !names(o, state.uid, &state.owner));
        let group = self
            .group
            .clone()
            .filter(|g| !names(g, state.gid, &state.group));
        AttrChanges {
            mode,
            owner,
            group,
            before: state.clone(),
        }
    }
}

/// The `owner:group` argument of `chown` (`owner`, `:group`), or `None` when neither is set.
pub fn chown_spec(owner: Option<&str>, group: Option<&str>) -> Option<String> {
    match (owner, group) {
        (Some(o), Some(g)) => Some(format!("{o}:{g}")),
        (Some(o), None) => Some(o.to_string()),
        (None, Some(g)) => Some(format!(":{g}")),
        (None, None) => None,
    }
}

/// Whether `wanted` (a name or a numeric id) designates the id/name pair found.
fn names(wanted: &str, id: u32, name: &str) -> bool {
    match wanted.parse::<u32>() {
        Ok(n) => n == id,
        Err(_) => wanted == name,
    }
}

/// The attribute changes one path needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrChanges {
    /// The new mode, when it differs.
    pub mode: Option<u32>,
    /// The new owner, when it differs.
    pub owner: Option<String>,
    /// The new group, when it differs.
    pub group: Option<String>,
    before: PathState,
}

impl AttrChanges {
    /// Whether nothing needs to change.
    pub fn is_empty(&self) -> bool {
        self.mode.is_none() && self.owner.is_none() && self.group.is_none()
    }

    /// Shell commands making the changes on `target`, a shell word (a quoted path, or `"$d"`);
    /// `no_deref` changes a symbolic link's own owner rather than its target's. `chown` comes
    /// first since it may clear setuid bits.
    pub fn script(&self, target: &str, no_deref: bool) -> String {
        let path = target;
        let mut script = String::new();
        let flag = if no_deref { "-h " } else { "" };
        if let Some(spec) = chown_spec(self.owner.as_deref(), self.group.as_deref()) {
            script.push_str(&format!("chown {flag}-- {} {path}\n", quote(&spec)));
        }
        if let Some(mode) = self.mode {
            script.push_str(&format!("chmod -- {} {path}\n", octal(mode)));
        }
        script
    }

    /// The before/after of the changed attributes, for `--diff`.
    pub fn diff(&self, path: &str) -> Option<Diff> {
        if self.is_empty() {
            return None;
        }
        let (mut before, mut after) = (String::new(), String::new());
        if let Some(mode) = self.mode {
            before.push_str(&format!("mode: {}\n", octal(self.before.mode)));
            after.push_str(&format!("mode: {}\n", octal(mode)));
        }
        if let Some(owner) = &self.owner {
            before.push_str(&format!("owner: {}\n", self.before.owner));
            after.push_str(&format!("owner: {owner}\n"));
        }
        if let Some(group) = &self.group {
            before.push_str(&format!("group: {}\n", self.before.group));
            after.push_str(&format!("group: {group}\n"));
        }
        Some(Diff {
            label: format!("{path} (attributes)"),
            before,
            after,
        })
    }

    /// Makes the changes on the host.
    pub async fn apply(
        &self,
        ctx: &ModuleContext<'_>,
        path: &str,
        no_deref: bool,
    ) -> Result<(), FileError> {
        if self.is_empty() {
            return Ok(());
        }
        let script = self.script(&quote(path), no_deref);
        let output = ctx.run(format!("set -e\n{script}")).await?;
        if output.exit_code != 0 {
            return Err(FileError::failed(format!(
                "cannot set the attributes of {path}: {}",
                output.stderr_text().trim()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::facts::Kind;

    fn state(mode: u32, uid: u32, owner: &str) -> PathState {
        PathState {
            kind: Kind::File,
            mode,
            uid,
            gid: uid,
            owner: owner.into(),
            group: owner.into(),
            ..PathState::absent()
        }
    }

    fn attrs(mode: Option<&str>, owner: Option<&str>, group: Option<&str>) -> Attrs {
        Attrs {
            mode: mode.map(|m| Mode::parse(m).unwrap()),
            owner: owner.map(String::from),
            group: group.map(String::from),
        }
    }

    #[test]
    fn decides_which_attributes_change() {
        // (wanted, found, expected script)
        let table = [
            (attrs(None, None, None), state(0o644, 0, "root"), ""),
            (attrs(Some("0644"), None, None), state(0o644, 0, "root"), ""),
            (attrs(Some("u+x"), None, None), state(0o744, 0, "root"), ""),
            (
                attrs(Some("0600"), None, None),
                state(0o644, 0, "root"),
                "chmod -- 0600 /p\n",
            ),
            (
                attrs(None, Some("0"), Some("root")),
                state(0o644, 0, "root"),
                "",
            ),
            (
                attrs(None, Some("app"), None),
                state(0o644, 0, "root"),
                "chown -- app /p\n",
            ),
            (
                attrs(Some("g+w"), Some("1000"), Some("web")),
                state(0o4755, 0, "root"),
                "chown -- 1000:web /p\nchmod -- 4775 /p\n",
            ),
            (
                attrs(None, None, Some("a b")),
                state(0o644, 0, "root"),
                "chown -- ':a b' /p\n",
            ),
        ];
        for (wanted, found, script) in table {
            assert_eq!(
                wanted.changes(&found).script("/p", false),
                script,
                "{wanted:?}"
            );
        }
    }

    #[test]
    fn diff_shows_only_what_changes() {
        let changes = attrs(Some("0600"), None, Some("web")).changes(&state(0o644, 0, "root"));
        let diff = changes.diff("/p").unwrap();
        assert_eq!(diff.before, "mode: 0644\ngroup: root\n");
        assert_eq!(diff.after, "mode: 0600\ngroup: web\n");
        assert!(
            attrs(None, None, None)
                .changes(&state(0o644, 0, "root"))
                .diff("/p")
                .is_none()
        );
    }
}
