//! Inventory sources on disk: one file, or a directory read like Ansible reads it (entries in
//! sorted order, subdirectories recursed, hidden files, `group_vars/`, `host_vars/` and backup or
//! documentation files skipped), and the choice of parser for each file.
//!
//! A file is YAML when its extension says so (`.yml`, `.yaml`, `.json`), INI when it says `.ini`,
//! and otherwise when its first meaningful line looks like YAML (`---`, `{`, or a `key:` line).
//! An executable program (`#!` or a binary) is run as a dynamic inventory ([`script`]); a YAML
//! file with `plugin:` configures an inventory plugin (`constructed`, `amazon.aws.aws_ec2`); a Terraform state is read
//! for its instances ([`terraform`]). TOML inventories are refused with a located error.

use std::path::Path;
use std::sync::Arc;

use super::constructed::Constructed;
use super::graph::Graph;
use super::{aws_ec2, host_range, ini, script, terraform, yaml};
use crate::diagnostic::Diagnostic;
use crate::parse::{Node, Source, Span, parse_yaml};

/// Largest inventory file read; bigger ones are refused before parsing.
const MAX_INVENTORY_BYTES: u64 = 64 * 1024 * 1024;
/// Directory entries that are never inventory files (Ansible's `IGNORED_ALWAYS`).
const IGNORED_NAMES: [&str; 3] = ["group_vars", "host_vars", "vars_plugins"];
/// Endings of files skipped in a directory (Ansible's default `INVENTORY_IGNORE_EXTS`).
const IGNORED_ENDINGS: [&str; 12] = [
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry",
];

/// The two inventory dialects.
#[derive(Debug, PartialEq)]
enum Format {
    Yaml,
    Ini,
}

/// Whether `path` is a host list rather than a file: like Ansible's `host_list` source, a name
/// with a comma that is not an existing path (`-i web1,web2:2222,` or `-i localhost,`).
pub(super) fn is_host_list(path: &Path) -> bool {
    !path.exists() && path.to_string_lossy().contains(',')
}

/// Reads the inventory file, directory or host list at `path` into `graph`.
pub(super) fn read(path: &Path, graph: &mut Graph, errors: &mut Vec<Diagnostic>) {
    if is_host_list(path) {
        read_host_list(&path.to_string_lossy(), graph, errors);
    } else if path.is_dir() {
        read_dir(path, graph, errors);
    } else {
        read_file(path, graph, errors);
    }
}

/// Puts each host of a comma-separated list (`name[:port]`, ranges expanded) in `ungrouped`.
fn read_host_list(list: &str, graph: &mut Graph, errors: &mut Vec<Diagnostic>) {
    let source = Arc::new(Source::inline("<host list>", list));
    for written in list.split(',').map(str::trim).filter(|h| !h.is_empty()) {
        match host_range::expand(written) {
            Ok(spec) => graph.add_hosts(&spec, "ungrouped", &Default::default()),
            Err(message) => errors.push(Diagnostic::error(Span::start_of(&source), message)),
        }
    }
}

fn read_dir(dir: &Path, graph: &mut Graph, errors: &mut Vec<Diagnostic>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(Diagnostic::file(dir, format!("cannot read directory: {e}")));
            return;
        }
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned());
        let ignored = name.starts_with('.')
            || IGNORED_NAMES.contains(&name.as_str())
            || IGNORED_ENDINGS.iter().any(|ending| name.ends_with(ending));
        if !ignored {
            read(&path, graph, errors);
        }
    }
}

fn read_file(path: &Path, graph: &mut Graph, errors: &mut Vec<Diagnostic>) {
    if script::is_executable(path) && is_program(path) {
        return script::read(path, graph, errors);
    }
    let source = match Source::read(path, MAX_INVENTORY_BYTES) {
        Ok(source) => Arc::new(source),
        Err(error) => return errors.push(error),
    };
    graph.source = Some(std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()));
    match detect(path, &source) {
        Ok(Format::Ini) => ini::parse(&source, graph, errors),
        Ok(Format::Yaml) => match parse_yaml(&source) {
            Ok(root) => read_yaml(&root, graph, errors),
            Err(error) => errors.push(error),
        },
        Err(error) => errors.push(error),
    }
}

/// Whether a file starts like a program: `#!` or an ELF header (an executable YAML or INI file
/// is still read as one).
fn is_program(path: &Path) -> bool {
    use std::io::Read;
    let mut start = [0u8; 4];
    let read = std::fs::File::open(path).and_then(|mut f| f.read(&mut start));
    read.is_ok_and(|n| start[..n].starts_with(b"#!") || start[..n].starts_with(b"\x7fELF"))
}

/// A YAML (or JSON) document: an inventory plugin's options, a Terraform state, or an inventory.
fn read_yaml(root: &Node, graph: &mut Graph, errors: &mut Vec<Diagnostic>) {
    let Some(plugin) = root.get("plugin") else {
        let json = root.to_json();
        if terraform::is_state(&json) {
            if let Err(message) = terraform::read(&json, graph) {
                errors.push(Diagnostic::error(root.span.clone(), message));
            }
        } else {
            yaml::parse(root, graph, errors);
        }
        return;
    };
    let options = root.to_json();
    let result = match plugin.scalar_text().as_deref() {
        Some("constructed" | "ansible.builtin.constructed") => {
            serde_json::from_value::<Constructed>(options)
                .map_err(|e| format!("constructed: {e}"))
                .and_then(|constructed| constructed.apply(graph))
        }
        Some("amazon.aws.aws_ec2" | "aws_ec2") => aws_ec2::read(options, graph),
        _ => Err(
            "this inventory plugin is not supported (deployer knows `constructed` and \
             `amazon.aws.aws_ec2`)"
                .into(),
        ),
    };
    if let Err(message) = result {
        errors.push(Diagnostic::error(plugin.span.clone(), message));
    }
}

/// Which parser reads `source`, or why none can.
fn detect(path: &Path, source: &Arc<Source>) -> Result<Format, Diagnostic> {
    let start = Span::start_of(source);
    if source.text.starts_with("#!") {
        return Err(
            Diagnostic::error(start, "this inventory script is not executable")
                .with_help("make it executable (chmod +x) to run it as a dynamic inventory"),
        );
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("yml" | "yaml" | "json" | "tfstate") => return Ok(Format::Yaml),
        Some("ini") => return Ok(Format::Ini),
        Some("toml") => {
            return Err(
                Diagnostic::error(start, "TOML inventories are not supported")
                    .with_help("write the hosts into a YAML or INI inventory file"),
            );
        }
        _ => {}
    }
    let first = (source.text.lines())
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with(['#', ';']));
    let yaml_like = first.is_some_and(|line| {
        line.starts_with("---") || line.starts_with('{') || line.ends_with(':')
    });
    Ok(if yaml_like { Format::Yaml } else { Format::Ini })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_format_from_extension_then_content() {
        let cases = [
            ("hosts.yml", "[web]\n", Format::Yaml),
            ("hosts.ini", "all:\n", Format::Ini),
            ("hosts", "# comment\n\nall:\n  hosts:\n", Format::Yaml),
            ("hosts", "---\nall: {}\n", Format::Yaml),
            ("hosts", "{\"all\": {}}\n", Format::Yaml),
            ("hosts", "; comment\n[web]\nweb1\n", Format::Ini),
            ("hosts", "localhost ansible_connection=local\n", Format::Ini),
            ("hosts", "", Format::Ini),
        ];
        for (name, text, expected) in cases {
            let source = Arc::new(Source::inline(name, text));
            assert_eq!(
                detect(Path::new(name), &source).unwrap(),
                expected,
                "{name}: {text}"
            );
        }
    }

    #[test]
    fn scripts_and_toml_are_refused() {
        let script = Arc::new(Source::inline("ec2.py", "#!/usr/bin/env python\n"));
        let err = detect(Path::new("ec2.py"), &script).unwrap_err();
        assert!(err.message.contains("not executable"), "{}", err.message);
        let toml = Arc::new(Source::inline("hosts.toml", "[web]\n"));
        let err = detect(Path::new("hosts.toml"), &toml).unwrap_err();
        assert!(err.message.contains("TOML"), "{}", err.message);
    }
}
