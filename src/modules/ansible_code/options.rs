//! The argument names a module of Ansible's code documents: the `options` (and their `aliases`)
//! of its `DOCUMENTATION`, and of the doc fragments it extends, read from the sources on the
//! controller. Used to check a task's argument names before the run, as far as they can be read.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::install::ModuleSource;

/// The names (aliases included) a module's documentation gives its options, or `None` when its
/// documentation, or a fragment it extends, cannot be found or read.
pub fn documented(source: &ModuleSource, core: Option<&Path>) -> Option<BTreeSet<String>> {
    let text = std::fs::read_to_string(&source.file).ok()?;
    let documentation = yaml_string(&text, "DOCUMENTATION")?;
    let mut names = BTreeSet::new();
    add_options(&documentation, &mut names);
    let fragments = match documentation.get("extends_documentation_fragment") {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(many)) => many
            .iter()
            .map(|f| f.as_str().map(str::to_string))
            .collect::<Option<_>>()?,
        Some(_) => return None,
        None => Vec::new(),
    };
    for fragment in fragments {
        let (file, variable) = fragment_source(&fragment, core, &source.collection_roots)?;
        let text = std::fs::read_to_string(file).ok()?;
        add_options(&yaml_string(&text, &variable)?, &mut names);
    }
    Some(names)
}

/// Adds the option names and aliases of a documentation mapping to `names`.
fn add_options(documentation: &Value, names: &mut BTreeSet<String>) {
    let Some(options) = documentation.get("options").and_then(Value::as_object) else {
        return;
    };
    for (name, option) in options {
        names.insert(name.clone());
        let aliases = option.get("aliases").and_then(Value::as_array);
        names.extend(
            aliases
                .into_iter()
                .flatten()
                .filter_map(|a| a.as_str().map(str::to_string)),
        );
    }
}

/// The file of doc fragment `name` and the variable holding its text, as Ansible resolves them:
/// `files` (ansible-core's `files.py`, `DOCUMENTATION`), `action_common_attributes.files` (its
/// `FILES`), `ns.coll.attributes` and `ns.coll.attributes.facts` (a collection's).
fn fragment_source(
    name: &str,
    core: Option<&Path>,
    roots: &[PathBuf],
) -> Option<(PathBuf, String)> {
    let parts: Vec<&str> = name.split('.').collect();
    let (collection, rest) = match parts.as_slice() {
        ["ansible", "builtin" | "legacy", rest @ ..] => (None, rest),
        [_, _, _, ..] => (Some((parts[0], parts[1])), &parts[2..]),
        rest => (None, rest),
    };
    let (file, variable) = match rest {
        [file] => (*file, "DOCUMENTATION".to_string()),
        [file, variable] => (*file, variable.to_uppercase()),
        _ => return None,
    };
    let path = match collection {
        None => core?
            .join("plugins/doc_fragments")
            .join(format!("{file}.py")),
        Some((namespace, collection)) => roots
            .iter()
            .map(|root| {
                root.join("ansible_collections")
                    .join(namespace)
                    .join(collection)
                    .join("plugins/doc_fragments")
                    .join(format!("{file}.py"))
            })
            .find(|path| path.is_file())?,
    };
    Some((path, variable))
}

/// The YAML of the triple-quoted string assigned to `variable` in Python source `text`.
fn yaml_string(text: &str, variable: &str) -> Option<Value> {
    let mut lines = text.lines();
    let (quote, first) = lines.by_ref().find_map(|line| {
        let rest = line.trim_start().strip_prefix(variable)?;
        let rest = rest.trim_start().strip_prefix('=')?.trim_start();
        let rest = rest.trim_start_matches(['r', 'R', 'u', 'U']);
        ["\"\"\"", "'''"]
            .into_iter()
            .find_map(|quote| Some((quote, rest.strip_prefix(quote)?)))
    })?;
    let mut body = String::new();
    for line in std::iter::once(first).chain(lines) {
        if let Some((last, _)) = line.split_once(quote) {
            body.push_str(last);
            return serde_saphyr::from_str(&body).ok();
        }
        body.push_str(line);
        body.push('\n');
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_come_from_the_documentation_and_its_fragments() {
        let dir = tempfile::tempdir().unwrap();
        let core = dir.path().join("ansible");
        std::fs::create_dir_all(core.join("plugins/doc_fragments")).unwrap();
        std::fs::write(
            core.join("plugins/doc_fragments/files.py"),
            "class ModuleDocFragment(object):\n    DOCUMENTATION = r'''\noptions:\n  mode:\n    type: raw\n  owner: {type: str}\n'''\n",
        )
        .unwrap();
        let fragments = dir
            .path()
            .join("cols/ansible_collections/ns/col/plugins/doc_fragments");
        std::fs::create_dir_all(&fragments).unwrap();
        std::fs::write(
            fragments.join("attributes.py"),
            "class ModuleDocFragment(object):\n    DOCUMENTATION = r\"\"\"\noptions: {}\n\"\"\"\n    FACTS = r\"\"\"\noptions:\n  gather: {type: bool}\n\"\"\"\n",
        )
        .unwrap();
        let module = dir.path().join("thing.py");
        std::fs::write(
            &module,
            "#!/usr/bin/python\nDOCUMENTATION = r'''\nmodule: thing\noptions:\n  path:\n    aliases: [dest, name]\n  state: {choices: [present, absent]}\nextends_documentation_fragment:\n  - files\n  - ns.col.attributes\n  - ns.col.attributes.facts\n'''\nEXAMPLES = '''\n'''\n",
        )
        .unwrap();
        let source = ModuleSource {
            file: module.clone(),
            import_name: "thing".into(),
            collection_roots: vec![dir.path().join("cols")],
        };
        let names = documented(&source, Some(&core)).unwrap();
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            ["dest", "gather", "mode", "name", "owner", "path", "state"]
        );

        // A fragment that cannot be found: nothing is known.
        std::fs::write(
            &module,
            "DOCUMENTATION = '''\noptions: {a: {}}\nextends_documentation_fragment: other.col.missing\n'''\n",
        )
        .unwrap();
        assert_eq!(documented(&source, Some(&core)), None);
    }
}
