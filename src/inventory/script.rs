//! Executable inventories, read like Ansible's `script` plugin: the program is run with `--list`
//! and prints JSON, a mapping of groups (each a list of hosts, or a mapping with `hosts`, `vars`
//! and `children`) and `_meta.hostvars`. Without `_meta`, each host's variables come from
//! `--host NAME`.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::Vars;
use super::graph::Graph;
use crate::diagnostic::Diagnostic;

/// Whether `path` is a file this user may execute.
pub(super) fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs the inventory program at `path` and adds what it prints to `graph`.
pub(super) fn read(path: &Path, graph: &mut Graph, errors: &mut Vec<Diagnostic>) {
    let list = match run(path, &["--list"]) {
        Ok(list) => list,
        Err(message) => return errors.push(Diagnostic::file(path, message)),
    };
    let Value::Object(groups) = list else {
        return errors.push(Diagnostic::file(
            path,
            "--list: expected a JSON object of groups",
        ));
    };
    let meta = groups.get("_meta").and_then(|m| m.get("hostvars")).cloned();
    for (name, body) in groups.iter().filter(|(name, _)| *name != "_meta") {
        if let Err(message) = add_group(graph, name, body) {
            errors.push(Diagnostic::file(
                path,
                format!("--list: group `{name}`: {message}"),
            ));
        }
    }
    let hosts: Vec<String> = graph.hosts.keys().cloned().collect();
    for host in hosts {
        let vars = match &meta {
            Some(hostvars) => hostvars.get(&host).cloned().unwrap_or_default(),
            None => match run(path, &["--host", &host]) {
                Ok(vars) => vars,
                Err(message) => return errors.push(Diagnostic::file(path, message)),
            },
        };
        match vars {
            Value::Object(vars) => graph.hosts[host.as_str()].vars.extend(vars),
            Value::Null => {}
            other => errors.push(Diagnostic::file(
                path,
                format!("variables of `{host}`: expected an object, got {other}"),
            )),
        }
    }
}

/// Adds one group of the `--list` output: a list of hosts, or `hosts`, `vars` and `children`.
fn add_group(graph: &mut Graph, name: &str, body: &Value) -> Result<(), String> {
    graph.add_group(name);
    let (hosts, vars, children) = match body {
        Value::Array(hosts) => (Some(hosts), None, None),
        Value::Object(map) => (
            map.get("hosts").and_then(Value::as_array),
            map.get("vars").and_then(Value::as_object),
            map.get("children").and_then(Value::as_array),
        ),
        other => return Err(format!("expected a list or an object, got {other}")),
    };
    for host in hosts.into_iter().flatten() {
        graph.add_host(host.as_str().ok_or("a host name must be a string")?, name);
    }
    for (key, value) in vars.cloned().unwrap_or_else(Vars::new) {
        graph.set_group_var(name, &key, value)?;
    }
    for child in children.into_iter().flatten() {
        graph.add_child(name, child.as_str().ok_or("a child name must be a string")?)?;
    }
    Ok(())
}

/// Runs the program with `args` and parses what it prints as JSON.
fn run(path: &Path, args: &[&str]) -> Result<Value, String> {
    let what = format!("{} {}", path.display(), args.join(" "));
    // A bare name would be looked up on PATH.
    let program = std::path::absolute(path).map_err(|e| format!("{what}: {e}"))?;
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `{what}`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`{what}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("`{what}` printed something that is not JSON: {e}"))
}
