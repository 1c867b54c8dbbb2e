//! `include_vars`: loads variables from YAML/JSON files on the controller, as Ansible's action
//! plugin does: one file (found like Ansible finds it: the role's `vars/`, the role, then the
//! playbook's `vars/` and folder) or every matching file of a folder (`dir`, `depth`,
//! `files_matching`, `ignore_files`, `extensions`). The values become host variables at
//! Ansible's `include_vars` precedence (above task vars, below `set_fact` and registered
//! results); the executor puts them there. Runs nothing on the host and never changes it.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use regex::Regex;
use serde_json::{Map, Value};

use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleKind, ModuleResult, arg_bool, arg_str};

/// Arguments that only make sense with `dir`.
const DIR_ARGS: &[&str] = &[
    "dir",
    "depth",
    "files_matching",
    "ignore_files",
    "extensions",
    "ignore_unknown_extensions",
];

static SPEC: ModuleSpec = ModuleSpec {
    name: "include_vars",
    aliases: &[],
    args: &[
        ArgSpec::new("file", ArgType::Str),
        ArgSpec::new("dir", ArgType::Str),
        ArgSpec::new("name", ArgType::Str),
        ArgSpec::new("depth", ArgType::Int),
        ArgSpec::new("files_matching", ArgType::Str),
        ArgSpec::new("ignore_files", ArgType::List),
        ArgSpec::new("extensions", ArgType::List),
        ArgSpec::new("ignore_unknown_extensions", ArgType::Bool),
        ArgSpec::new("hash_behaviour", ArgType::Str).choices(&["replace", "merge"]),
    ],
    free_form: true,
    one_of: &["file", "dir", "_raw_params"],
    open: false,
};

/// The `include_vars` module.
pub struct IncludeVars;

#[async_trait]
impl Module for IncludeVars {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn kind(&self) -> ModuleKind {
        ModuleKind::VarsLoader
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let mut loaded = Loaded::default();
        if let Err(message) = load(args, ctx, &mut loaded) {
            return Ok(ModuleResult::failed(message.clone())
                .with("message", message)
                .with("ansible_included_var_files", loaded.files));
        }
        let mut vars = loaded.vars;
        if let Some(name) = arg_str(args, "name") {
            vars = Map::from_iter([(name.to_string(), Value::Object(vars))]);
        }
        if arg_str(args, "hash_behaviour") == Some("merge") {
            vars = merge_with_existing(vars, ctx.vars);
        }
        Ok(ModuleResult {
            facts: vars,
            ..ModuleResult::ok().with("ansible_included_var_files", loaded.files)
        })
    }
}

/// The variables read so far and the files they came from.
#[derive(Default)]
struct Loaded {
    vars: Map<String, Value>,
    files: Vec<String>,
}

fn load(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
    loaded: &mut Loaded,
) -> Result<(), String> {
    let file = arg_str(args, "file").or_else(|| arg_str(args, "_raw_params"));
    let dir_args = DIR_ARGS.iter().any(|a| args.contains_key(*a));
    if dir_args && file.is_some() {
        return Err(
            "You are mixing file only and dir only arguments, these are incompatible".into(),
        );
    }
    if let Some(dir) = arg_str(args, "dir") {
        return load_dir(&DirOptions::new(args)?, &dir_root(dir, ctx), loaded);
    }
    let file = file.unwrap_or_default().trim_end_matches('\n');
    let path = find_vars_file(file, ctx.search_paths)?;
    load_file(&path, None, loaded)
}

/// Finds `name` as Ansible's `_find_needle('vars', name)` does: absolute as is; else in each
/// search root (the role, then the playbook's folder), under `vars/` first.
fn find_vars_file(name: &str, search_paths: &[PathBuf]) -> Result<PathBuf, String> {
    let path = Path::new(name);
    if path.is_absolute() {
        return match path.exists() {
            true => Ok(path.to_path_buf()),
            false => Err(not_found(name, &[path.to_path_buf()])),
        };
    }
    let in_vars = path.iter().next().is_some_and(|first| first == "vars");
    let mut candidates = Vec::new();
    for root in search_paths
        .iter()
        .filter(|d| !d.ends_with("files") && !d.ends_with("templates") && !d.ends_with("tasks"))
    {
        if !in_vars {
            candidates.push(root.join("vars").join(path));
        }
        candidates.push(root.join(path));
    }
    candidates
        .iter()
        .find(|c| c.exists())
        .cloned()
        .ok_or_else(|| not_found(name, &candidates))
}

fn not_found(name: &str, searched: &[PathBuf]) -> String {
    let searched: Vec<String> = searched
        .iter()
        .map(|p| format!("\t{}", p.display()))
        .collect();
    format!(
        "Could not find or access '{name}'\nSearched in:\n{}",
        searched.join("\n")
    )
}

/// The folder `dir` names: under the role's `vars/` (or the role, when it starts with `vars/`)
/// in a role, else beside the playbook.
fn dir_root(dir: &str, ctx: &ModuleContext<'_>) -> PathBuf {
    let role = ctx.vars.get("role_path").and_then(Value::as_str);
    match role {
        Some(role) if dir.split('/').next() == Some("vars") => {
            let candidate = Path::new(role).join(dir);
            if candidate.exists() {
                candidate
            } else {
                PathBuf::from(dir)
            }
        }
        Some(role) => Path::new(role).join("vars").join(dir),
        None => {
            let base = ctx
                .search_paths
                .first()
                .cloned()
                .unwrap_or_else(|| PathBuf::from("."));
            base.join(dir)
        }
    }
}

/// The options of a `dir` load.
struct DirOptions {
    depth: usize,
    matcher: Option<Regex>,
    ignore: Vec<Regex>,
    extensions: Vec<String>,
    ignore_unknown: bool,
}

impl DirOptions {
    fn new(args: &Map<String, Value>) -> Result<Self, String> {
        let regex = |pattern: String| {
            Regex::new(&pattern).map_err(|_| format!("Invalid regular expression: {pattern}"))
        };
        let texts = |name: &str| -> Vec<String> {
            args.get(name)
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(DirOptions {
            depth: args.get("depth").and_then(Value::as_u64).unwrap_or(0) as usize,
            matcher: arg_str(args, "files_matching")
                .map(|p| regex(p.to_string()))
                .transpose()?,
            ignore: texts("ignore_files")
                .into_iter()
                .map(|p| regex(format!("{p}$")))
                .collect::<Result<_, _>>()?,
            extensions: match args.contains_key("extensions") {
                true => texts("extensions"),
                false => ["yaml", "yml", "json"].map(String::from).to_vec(),
            },
            ignore_unknown: arg_bool(args, "ignore_unknown_extensions", false),
        })
    }

    fn wants(&self, name: &str) -> bool {
        self.matcher.as_ref().is_none_or(|m| m.is_match(name))
            && !self.ignore.iter().any(|r| r.is_match(name))
            && (!self.ignore_unknown || self.known_extension(name))
    }

    fn known_extension(&self, name: &str) -> bool {
        Path::new(name)
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| self.extensions.iter().any(|x| x == e))
    }
}

/// Loads every wanted file under `root`, folders in sorted order, files sorted within each, no
/// deeper than `depth` (0: no limit), as Ansible walks them.
fn load_dir(options: &DirOptions, root: &Path, loaded: &mut Loaded) -> Result<(), String> {
    if !root.exists() {
        return Err(format!("{} directory does not exist", root.display()));
    }
    if !root.is_dir() {
        return Err(format!("{} is not a directory", root.display()));
    }
    let mut folders = Vec::new();
    walk(root, 1, options.depth, &mut folders);
    folders.sort_by(|a, b| a.0.cmp(&b.0));
    for (folder, mut names) in folders {
        names.sort();
        for name in names.into_iter().filter(|n| options.wants(n)) {
            load_file(&folder.join(&name), Some(options), loaded)?;
        }
    }
    Ok(())
}

/// Collects `(folder, file names)` under `dir` (following links), `level` being its depth.
fn walk(dir: &Path, level: usize, depth: usize, out: &mut Vec<(PathBuf, Vec<String>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files = Vec::new();
    let mut subdirs = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            subdirs.push(path);
        } else {
            files.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    if depth == 0 || level <= depth {
        out.push((dir.to_path_buf(), files));
    }
    for sub in subdirs {
        walk(&sub, level + 1, depth, out);
    }
}

/// Loads one file into `loaded`; with `options` (a `dir` load) its extension must be known.
fn load_file(path: &Path, options: Option<&DirOptions>, loaded: &mut Loaded) -> Result<(), String> {
    if let Some(options) = options
        && !options.known_extension(&path.to_string_lossy())
    {
        return Err(format!(
            "{} does not have a valid extension: {}",
            path.display(),
            options.extensions.join(", ")
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("Could not read {}: {e}", path.display()))?;
    if crate::vault::format::is_vault(&text) {
        return Err(format!(
            "{} is vault-encrypted; include_vars cannot decrypt it yet (use vars_files)",
            path.display()
        ));
    }
    let node = crate::parse::parse_yaml_file(path).map_err(|d| d.to_string())?;
    match node.to_json() {
        Value::Null => {}
        Value::Object(map) => loaded.vars.extend(map),
        _ => {
            return Err(format!(
                "{} must be stored as a dictionary/hash",
                path.display()
            ));
        }
    }
    loaded.files.push(path.display().to_string());
    Ok(())
}

/// `hash_behaviour: merge`: each loaded mapping merged recursively into the value the task
/// already sees under that name.
fn merge_with_existing(vars: Map<String, Value>, existing: &Value) -> Map<String, Value> {
    vars.into_iter()
        .map(|(name, value)| {
            let merged = match (existing.get(&name), value) {
                (Some(Value::Object(old)), Value::Object(new)) => {
                    Value::Object(crate::template::merge_hash(old.clone(), new))
                }
                (_, value) => value,
            };
            (name, merged)
        })
        .collect()
}

#[cfg(test)]
mod tests;
