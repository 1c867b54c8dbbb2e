//! `{% include %}`, `{% import %}`, `{% from ... import %}` and `{% extends %}` in template files:
//! a name is looked up next to the template that uses it, then in the task's template folders
//! (the role's `templates/`, the playbook's `templates/`, ...), as Ansible's template search
//! path does.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::machinery::{Instruction, get_compiled_template};
use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, Error, ErrorKind};

use super::chain;

/// `base` with a loader for the templates a template file uses, searching `dirs` in order
/// after the using template's own folder. Each file render gets its own environment, so
/// same-named templates of different roles never share a cache entry.
pub fn file_environment(
    base: &Environment<'static>,
    dirs: &[PathBuf],
    syntax: SyntaxConfig,
) -> Environment<'static> {
    let mut env = base.clone();
    let dirs: Arc<[PathBuf]> = dirs.into();
    let join_dirs = Arc::clone(&dirs);
    // Names become the path of the file found, so relative names inside an included template
    // resolve next to it, and the loader below only reads files.
    env.set_path_join_callback(move |name, parent| {
        match find(name, Path::new(parent).parent(), &join_dirs) {
            Some(path) => Cow::Owned(path.to_string_lossy().into_owned()),
            None => Cow::Borrowed(name),
        }
    });
    env.set_loader(move |name| load(name, &dirs, &syntax));
    env
}

/// The file `name` refers to: an absolute path as is, else the first match in `near` then
/// `dirs`.
fn find(name: &str, near: Option<&Path>, dirs: &[PathBuf]) -> Option<PathBuf> {
    let path = Path::new(name);
    if path.is_absolute() {
        return path.is_file().then(|| path.to_path_buf());
    }
    near.into_iter()
        .chain(dirs.iter().map(PathBuf::as_path))
        .map(|dir| dir.join(path))
        .find(|candidate| candidate.is_file())
}

/// The source of template `name` (`None` when there is no such file), its lookups made
/// chainable like any template's.
fn load(name: &str, dirs: &[PathBuf], syntax: &SyntaxConfig) -> Result<Option<String>, Error> {
    let Some(path) = find(name, None, dirs) else {
        return Ok(None);
    };
    let source = std::fs::read_to_string(&path).map_err(|e| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("cannot read template {}: {e}", path.display()),
        )
    })?;
    Ok(Some(
        chain::template(&source, name, syntax, false).into_owned(),
    ))
}

/// The variables a template file reads, with those of the templates it includes, imports or
/// extends by a constant name (found like the loader finds them; missing ones are skipped).
pub fn file_reads(
    env: &Environment<'static>,
    path: &Path,
    source: &str,
    dirs: &[PathBuf],
) -> BTreeSet<String> {
    let mut reads = BTreeSet::new();
    let mut seen = BTreeSet::from([path.to_path_buf()]);
    let mut pending = vec![(path.to_path_buf(), source.to_string())];
    while let Some((path, source)) = pending.pop() {
        let Ok(template) = env.template_from_str(&source) else {
            continue;
        };
        reads.extend(template.undeclared_variables(false));
        for name in used_templates(&template) {
            if let Some(used) = find(&name, path.parent(), dirs)
                && seen.insert(used.clone())
                && let Ok(text) = std::fs::read_to_string(&used)
            {
                pending.push((used, text));
            }
        }
    }
    reads
}

/// The constant names of the templates `template` includes, imports or extends.
fn used_templates(template: &minijinja::Template<'_, '_>) -> Vec<String> {
    let compiled = get_compiled_template(template);
    std::iter::once(&compiled.instructions)
        .chain(compiled.blocks.values())
        .flat_map(|instructions| {
            (1u32..)
                .map_while(|idx| Some((instructions.get(idx - 1)?, instructions.get(idx)?)))
                .filter_map(|pair| match pair {
                    (
                        Instruction::LoadConst(name),
                        Instruction::Include(_) | Instruction::LoadBlocks,
                    ) => name.as_str().map(str::to_string),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
        .collect()
}
