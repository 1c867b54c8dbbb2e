//! `group_vars/` and `host_vars/`: the variable files Ansible reads next to an inventory and next
//! to a playbook. For a name it reads `NAME`, else `NAME.yml`, `NAME.yaml` or `NAME.json` (the
//! first that exists, like Ansible); a directory `NAME/` contributes every file in it, in sorted
//! order, later files overriding earlier ones.
//!
//! Only finds and parses the files; which directory wins over which is decided by
//! [`Inventory::host_vars`](super::Inventory::host_vars).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::Vars;
use crate::diagnostic::Diagnostic;
use crate::vault::Vault;

/// Extensions of vars files, tried after the bare name.
const EXTENSIONS: [&str; 3] = ["yml", "yaml", "json"];

/// The group and host variables found under one directory.
#[derive(Debug, Default, Clone)]
pub(super) struct VarsDir {
    groups: HashMap<String, Vars>,
    hosts: HashMap<String, Vars>,
}

impl VarsDir {
    /// Reads `dir/group_vars/` for `groups` and `dir/host_vars/` for `hosts`, pushing every
    /// unreadable or malformed file onto `errors`.
    pub fn load<'a>(
        dir: &Path,
        groups: impl IntoIterator<Item = &'a str>,
        hosts: impl IntoIterator<Item = &'a str>,
        vault: &Vault,
        errors: &mut Vec<Diagnostic>,
    ) -> VarsDir {
        VarsDir {
            groups: load_kind_and_others(&dir.join("group_vars"), groups, vault, errors),
            hosts: load_kind_and_others(&dir.join("host_vars"), hosts, vault, errors),
        }
    }

    /// Whether no file was found.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.hosts.is_empty()
    }

    /// The variables from `group_vars/` for a group.
    pub fn group(&self, name: &str) -> Option<&Vars> {
        self.groups.get(name)
    }

    /// The variables from `host_vars/` for a host.
    pub fn host(&self, name: &str) -> Option<&Vars> {
        self.hosts.get(name)
    }
}

/// The variables of `names` (problems pushed onto `errors`), and those of the other names with
/// files under `dir`, for groups and hosts made at run time (`group_by`, `add_host`): like
/// Ansible, which reads their files only once they exist, a problem in them is not an error
/// before then, and an encrypted one is not decrypted.
fn load_kind_and_others<'a>(
    dir: &Path,
    names: impl IntoIterator<Item = &'a str>,
    vault: &Vault,
    errors: &mut Vec<Diagnostic>,
) -> HashMap<String, Vars> {
    let names: Vec<&str> = names.into_iter().collect();
    let mut found = load_kind(dir, names.iter().copied(), vault, errors);
    let others = other_names(dir, &names);
    found.extend(load_kind(
        dir,
        others.iter().map(String::as_str),
        &Vault::default(),
        &mut Vec::new(),
    ));
    found
}

/// The names with files or folders under `dir` (extensions stripped) that are not in `known`.
fn other_names(dir: &Path, known: &[&str]) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let stem = match path.extension().and_then(|e| e.to_str()) {
                Some(ext) if EXTENSIONS.contains(&ext) => path.file_stem(),
                _ => path.file_name(),
            }?;
            Some(stem.to_string_lossy().into_owned())
        })
        .filter(|name| !name.starts_with('.') && !known.contains(&name.as_str()))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The variables of every name that has files under `dir`.
fn load_kind<'a>(
    dir: &Path,
    names: impl IntoIterator<Item = &'a str>,
    vault: &Vault,
    errors: &mut Vec<Diagnostic>,
) -> HashMap<String, Vars> {
    let mut found = HashMap::new();
    if !dir.is_dir() {
        return found;
    }
    // Like Ansible, names that look like absolute paths (chroot hosts) have no vars files.
    for name in names
        .into_iter()
        .filter(|n| !n.is_empty() && !n.starts_with('/'))
    {
        let mut vars = Vars::new();
        for file in files_for(dir, name, errors) {
            match read_vars_file(&file, vault) {
                Ok(more) => vars.extend(more),
                Err(error) => errors.push(error),
            }
        }
        if !vars.is_empty() {
            found.insert(name.to_owned(), vars);
        }
    }
    found
}

/// The files holding `name`'s variables, in the order they apply.
fn files_for(dir: &Path, name: &str, errors: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let bare = dir.join(name);
    let candidates = std::iter::once(bare.clone()).chain(
        EXTENSIONS
            .iter()
            .map(|ext| PathBuf::from(format!("{}.{ext}", bare.display()))),
    );
    for path in candidates {
        if path.is_dir() {
            let mut files = Vec::new();
            collect_dir(&path, &mut files, errors);
            return files;
        }
        if path.exists() {
            return vec![path];
        }
    }
    Vec::new()
}

/// Every vars file under `dir`, sorted by name, recursing into subdirectories without an
/// extension, skipping hidden files, backups (`~`) and files with other extensions.
fn collect_dir(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<Diagnostic>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(Diagnostic::file(dir, format!("cannot read directory: {e}")));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned());
        if name.starts_with('.') || name.ends_with('~') {
            continue;
        }
        let extension = path.extension().map(|e| e.to_string_lossy().into_owned());
        match extension {
            None if path.is_dir() => collect_dir(&path, files, errors),
            None => files.push(path),
            Some(ext) if EXTENSIONS.contains(&ext.as_str()) && path.is_file() => files.push(path),
            Some(_) => {}
        }
    }
}

/// One vars file (decrypted when vault-encrypted): a mapping, or nothing at all.
fn read_vars_file(path: &Path, vault: &Vault) -> Result<Vars, Diagnostic> {
    let root = vault.parse_yaml_file(path)?;
    match root.to_json() {
        Value::Object(vars) => Ok(vars),
        Value::Null => Ok(Vars::new()),
        _ => {
            let message = format!(
                "a vars file must be a mapping of variables, not {}",
                root.kind()
            );
            Err(Diagnostic::error(root.span.clone(), message))
        }
    }
}
