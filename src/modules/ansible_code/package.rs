//! A module packed for the host, as Ansible's AnsiballZ packs one: a zip that the host's Python
//! runs as a program. It holds deployer's runner (`__main__.py`), ansible-core's whole
//! `module_utils` (some of it is imported by name at run time), the module, and the collection
//! code the module imports (followed through `import` statements), with `__init__.py` files for
//! the namespace packages. Each task appends its request (module and arguments) to a copy, or,
//! where the host keeps the zip's files from an earlier task, sends only the request.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use serde_json::{Map, Value};
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use super::install::{Installation, ModuleSource};
use crate::modules::transfer::sha256_hex;

/// The runner, run as the zip's `__main__.py`.
const RUNNER: &str = include_str!("runner.py");
/// The name of the request in the zip.
const REQUEST: &str = "deployer_request.json";

/// Why a module could not be packed.
#[derive(Debug, thiserror::Error)]
#[error("cannot pack the module's code: {0}")]
pub struct PackError(String);

impl From<std::io::Error> for PackError {
    fn from(e: std::io::Error) -> Self {
        PackError(e.to_string())
    }
}

impl From<zip::result::ZipError> for PackError {
    fn from(e: zip::result::ZipError) -> Self {
        PackError(e.to_string())
    }
}

/// A module packed for the host.
pub struct Packed {
    /// The zip.
    pub zip: Vec<u8>,
    /// The zip's SHA-256 (hex): the name of the folder where a host keeps its files.
    pub digest: String,
}

/// The packed module of `source`, packed once per run.
pub fn packed(install: &Installation, source: &ModuleSource) -> Result<Arc<Packed>, PackError> {
    static PACKED: LazyLock<Mutex<HashMap<PathBuf, Arc<Packed>>>> = LazyLock::new(Mutex::default);
    if let Some(packed) = PACKED.lock().expect("packed lock").get(&source.file) {
        return Ok(packed.clone());
    }
    let zip = pack(install, source)?;
    let digest = sha256_hex(&zip);
    let packed = Arc::new(Packed { zip, digest });
    PACKED
        .lock()
        .expect("packed lock")
        .insert(source.file.clone(), packed.clone());
    Ok(packed)
}

/// The request to run module `import_name` with `args`, the runner's input. `keep` names the
/// folder the runner keeps the zip's files in, when it runs from the zip.
pub fn request(import_name: &str, args: &Map<String, Value>, keep: &str) -> Vec<u8> {
    serde_json::json!({"module": import_name, "args": args, "keep": keep})
        .to_string()
        .into_bytes()
}

/// A copy of `packed` with `request` in it.
pub fn with_request(packed: &Packed, request: &[u8]) -> Result<Vec<u8>, PackError> {
    let mut zip = ZipWriter::new_append(Cursor::new(packed.zip.clone()))?;
    zip.start_file(REQUEST, options())?;
    zip.write_all(request)?;
    Ok(zip.finish()?.into_inner())
}

fn options() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated)
}

fn pack(install: &Installation, source: &ModuleSource) -> Result<Vec<u8>, PackError> {
    let core = install
        .core
        .as_ref()
        .ok_or_else(|| PackError("ansible-core is not installed".into()))?;
    let mut files: BTreeMap<String, PathBuf> = BTreeMap::new();
    add_tree(
        &core.join("module_utils"),
        "ansible/module_utils",
        &mut files,
    )?;
    let module_path = format!("{}.py", source.import_name.replace('.', "/"));
    files.insert(module_path.clone(), source.file.clone());
    follow_imports(source, &source.import_name, &source.file, false, &mut files)?;

    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file("__main__.py", options())?;
    zip.write_all(RUNNER.as_bytes())?;
    let mut packages: BTreeSet<String> = BTreeSet::new();
    for path in files.keys() {
        let mut parts: Vec<&str> = path.split('/').collect();
        parts.pop();
        for depth in 1..=parts.len() {
            packages.insert(parts[..depth].join("/"));
        }
    }
    // Namespace packages get an empty `__init__.py` (zipimport needs one), and so does `ansible`,
    // whose own imports the controller's code.
    for package in &packages {
        files.entry(format!("{package}/__init__.py")).or_default();
    }
    for (path, file) in &files {
        zip.start_file(path.as_str(), options())?;
        if !file.as_os_str().is_empty() {
            zip.write_all(&std::fs::read(file)?)?;
        }
    }
    Ok(zip.finish()?.into_inner())
}

/// Adds every `.py` file under `dir` as `prefix/...`, skipping caches and other languages' code.
fn add_tree(
    dir: &Path,
    prefix: &str,
    files: &mut BTreeMap<String, PathBuf>,
) -> Result<(), PackError> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            if !matches!(name.as_str(), "__pycache__" | "csharp" | "powershell") {
                add_tree(&path, &format!("{prefix}/{name}"), files)?;
            }
        } else if name.ends_with(".py") {
            files.insert(format!("{prefix}/{name}"), path);
        }
    }
    Ok(())
}

/// Adds the collection code `file` (imported as `import_name`) imports, and what that imports.
fn follow_imports(
    module: &ModuleSource,
    import_name: &str,
    file: &Path,
    is_package: bool,
    files: &mut BTreeMap<String, PathBuf>,
) -> Result<(), PackError> {
    let source = std::fs::read_to_string(file)?;
    let package = match is_package {
        true => import_name.to_string(),
        false => import_name
            .rsplit_once('.')
            .map_or(String::new(), |(p, _)| p.to_string()),
    };
    for name in imported(&source, &package) {
        if !name.starts_with("ansible_collections.") {
            continue;
        }
        for root in &module.collection_roots {
            let base = root.join(name.replace('.', "/"));
            let found = [
                (base.with_extension("py"), false),
                (base.join("__init__.py"), true),
            ]
            .into_iter()
            .find(|(candidate, _)| candidate.is_file());
            if let Some((candidate, is_package)) = found {
                let key = candidate
                    .strip_prefix(root)
                    .expect("found under the root")
                    .to_string_lossy()
                    .into_owned();
                if files.insert(key, candidate.clone()).is_none() {
                    follow_imports(module, &name, &candidate, is_package, files)?;
                }
                break;
            }
        }
    }
    Ok(())
}

/// The absolute names a Python source may import: for `import a.b` `a.b`, for
/// `from P import x, y` `P`, `P.x` and `P.y` (any of which may be a module). Relative imports are
/// resolved against `package`. Statements inside functions and `try` blocks count too.
fn imported(source: &str, package: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        let mut statement = code_of(line).trim().to_string();
        if !statement.starts_with("from ") && !statement.starts_with("import ") {
            continue;
        }
        while statement.ends_with('\\') || (statement.contains('(') && !statement.contains(')')) {
            statement = statement.trim_end_matches('\\').to_string();
            let Some(next) = lines.next() else { break };
            statement.push(' ');
            statement.push_str(code_of(next).trim());
        }
        let statement = statement.replace(['(', ')'], " ");
        let first_word = |part: &str| part.split_whitespace().next().map(str::to_string);
        if let Some(modules) = statement.strip_prefix("import ") {
            names.extend(modules.split(',').filter_map(first_word));
        } else if let Some((from, imports)) = statement
            .strip_prefix("from ")
            .and_then(|rest| rest.split_once(" import "))
        {
            let Some(base) = absolute(from.trim(), package) else {
                continue;
            };
            for name in imports.split(',').filter_map(first_word) {
                if name != "*" {
                    names.push(format!("{base}.{name}"));
                }
            }
            names.push(base);
        }
    }
    names
}

/// A line without its comment (a `#` outside quotes).
fn code_of(line: &str) -> &str {
    let mut quote = None;
    for (at, c) in line.char_indices() {
        match (c, quote) {
            ('#', None) => return &line[..at],
            ('\'' | '"', None) => quote = Some(c),
            (c, Some(q)) if c == q => quote = None,
            _ => {}
        }
    }
    line
}

/// `from` of an import made absolute: `..utils` in package `a.b.c` is `a.b.utils`.
fn absolute(from: &str, package: &str) -> Option<String> {
    let level = from.chars().take_while(|&c| c == '.').count();
    if level == 0 {
        return Some(from.to_string());
    }
    let mut parts: Vec<&str> = package.split('.').filter(|p| !p.is_empty()).collect();
    if level - 1 > parts.len() {
        return None;
    }
    parts.truncate(parts.len() - (level - 1));
    let rest = &from[level..];
    if !rest.is_empty() {
        parts.push(rest);
    }
    Some(parts.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_read_as_python_reads_them() {
        let source = "import os, sys as system\n\
            from ansible.module_utils.basic import AnsibleModule  # comment\n\
            try:\n    from ansible_collections.ns.col.plugins.module_utils import (\n        one,\n        two as deux,\n    )\nexcept ImportError:\n    pass\n\
            from ..module_utils.x import y\n\
            from . import z\n\
            text = 'from fake import nothing'\n";
        let names = imported(source, "ansible_collections.ns.col.plugins.modules");
        for expected in [
            "os",
            "sys",
            "ansible.module_utils.basic",
            "ansible.module_utils.basic.AnsibleModule",
            "ansible_collections.ns.col.plugins.module_utils",
            "ansible_collections.ns.col.plugins.module_utils.one",
            "ansible_collections.ns.col.plugins.module_utils.two",
            "ansible_collections.ns.col.plugins.module_utils.x.y",
            "ansible_collections.ns.col.plugins.modules.z",
        ] {
            assert!(
                names.contains(&expected.to_string()),
                "{expected} in {names:?}"
            );
        }
        assert!(!names.iter().any(|n| n.contains("fake")), "{names:?}");
    }

    #[test]
    fn a_packed_module_carries_its_collection_imports_and_a_request() {
        let dir = tempfile::tempdir().unwrap();
        let core = dir.path().join("ansible");
        std::fs::create_dir_all(core.join("module_utils/common/__pycache__")).unwrap();
        std::fs::write(core.join("module_utils/__init__.py"), "").unwrap();
        std::fs::write(core.join("module_utils/basic.py"), "X = 1\n").unwrap();
        std::fs::write(core.join("module_utils/common/__pycache__/x.pyc"), "").unwrap();
        let col = dir.path().join("cols/ansible_collections/ns/col/plugins");
        std::fs::create_dir_all(col.join("modules")).unwrap();
        std::fs::create_dir_all(col.join("module_utils")).unwrap();
        std::fs::write(
            col.join("modules/thing.py"),
            "from ..module_utils.helper import H\n",
        )
        .unwrap();
        std::fs::write(
            col.join("module_utils/helper.py"),
            "from .deeper import D\n",
        )
        .unwrap();
        std::fs::write(col.join("module_utils/deeper.py"), "D = 2\n").unwrap();
        std::fs::write(col.join("module_utils/unused.py"), "").unwrap();
        let install = Installation {
            core: Some(core),
            collection_roots: vec![dir.path().join("cols")],
        };
        let source = install.module("ns.col.thing", &[]).unwrap();
        let zip = pack(&install, &source).unwrap();
        let packed = Packed {
            digest: sha256_hex(&zip),
            zip,
        };
        let args = Map::from_iter([("name".to_string(), Value::from("x"))]);
        let request = request(&source.import_name, &args, &packed.digest);
        let bundle = with_request(&packed, &request).unwrap();
        let mut zip = zip::ZipArchive::new(Cursor::new(bundle)).unwrap();
        let names: BTreeSet<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
        for expected in [
            "__main__.py",
            "ansible/__init__.py",
            "ansible/module_utils/basic.py",
            "ansible_collections/__init__.py",
            "ansible_collections/ns/col/plugins/__init__.py",
            "ansible_collections/ns/col/plugins/modules/thing.py",
            "ansible_collections/ns/col/plugins/module_utils/helper.py",
            "ansible_collections/ns/col/plugins/module_utils/deeper.py",
            "deployer_request.json",
        ] {
            assert!(names.contains(expected), "{expected} in {names:?}");
        }
        assert!(
            !names
                .iter()
                .any(|n| n.contains("unused") || n.contains("pycache"))
        );
        let mut request = String::new();
        std::io::Read::read_to_string(&mut zip.by_name(REQUEST).unwrap(), &mut request).unwrap();
        assert_eq!(
            request,
            format!(
                r#"{{"module":"ansible_collections.ns.col.plugins.modules.thing","args":{{"name":"x"}},"keep":"{}"}}"#,
                packed.digest
            )
        );
    }
}
