//! `lookup()` and `query()`/`q()`: Ansible's `env`, `file`, `pipe` and `vars` lookups, run on
//! the controller.
//!
//! Files are searched like Ansible does, from the variables the template sees: the role's
//! `files/` and folder (`role_path`), then the playbook's `files/` and folder
//! (`playbook_dir`), then the current directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, State, Value};

use super::filters::failure;

/// Adds `lookup`, `query` and `q` to `env`.
pub fn register(env: &mut Environment<'static>) {
    env.add_function("lookup", lookup);
    env.add_function("query", query);
    env.add_function("q", query);
}

/// `lookup(name, *terms, wantlist=False, errors='strict', **options)`: the results joined by
/// commas when they are all text, the lone result, or the list.
fn lookup(state: &State, name: &str, terms: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let wantlist = kwargs.get::<Option<bool>>("wantlist")?.unwrap_or(false);
    let Some(results) = run(state, name, &terms, &kwargs)? else {
        return Ok(Value::from(()));
    };
    if wantlist {
        return Ok(Value::from(results));
    }
    if results.iter().all(|r| r.kind() == ValueKind::String) {
        let texts: Vec<&str> = results.iter().filter_map(Value::as_str).collect();
        return Ok(Value::from(texts.join(",")));
    }
    Ok(match <[Value; 1]>::try_from(results) {
        Ok([single]) => single,
        Err(results) => Value::from(results),
    })
}

/// `query(name, *terms, errors='strict', **options)`: the results as a list.
fn query(state: &State, name: &str, terms: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    Ok(Value::from(
        run(state, name, &terms, &kwargs)?.unwrap_or_default(),
    ))
}

/// Runs lookup `name` over `terms`; `None` when it failed and `errors` says to carry on.
fn run(
    state: &State,
    name: &str,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Option<Vec<Value>>, Error> {
    let errors = kwargs
        .get::<Option<String>>("errors")?
        .unwrap_or_else(|| "strict".into());
    let terms = flatten_terms(terms);
    let outcome = match name {
        "env" => env(&terms, kwargs),
        "file" => file(state, &terms, kwargs),
        "pipe" => pipe(state, &terms),
        "vars" => vars(state, &terms, kwargs),
        _ => Err(failure(format!("lookup plugin ({name}) not found"))),
    };
    match (outcome, errors.as_str()) {
        (Ok(results), _) => {
            kwargs.assert_all_used()?;
            Ok(Some(results))
        }
        (Err(_), "ignore" | "warn") => Ok(None),
        (Err(e), _) => Err(e),
    }
}

/// The terms, with list terms spread out as Ansible does.
fn flatten_terms(terms: &[Value]) -> Vec<Value> {
    terms
        .iter()
        .flat_map(|t| match t.kind() {
            ValueKind::Seq => t.try_iter().map(Iterator::collect).unwrap_or_default(),
            _ => vec![t.clone()],
        })
        .collect()
}

fn term_text(term: &Value) -> Result<&str, Error> {
    term.as_str()
        .ok_or_else(|| failure(format!("lookup terms must be strings, got {term}")))
}

/// `env`: the controller's environment variable, or `default` (empty text) when unset.
fn env(terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let default = kwargs
        .get::<Option<Value>>("default")?
        .unwrap_or(Value::from(""));
    terms
        .iter()
        .map(|term| {
            Ok(std::env::var(term_text(term)?).map_or_else(|_| default.clone(), Value::from))
        })
        .collect()
}

/// `file`: a controller file's text, trailing whitespace stripped (`rstrip`, `lstrip`).
fn file(state: &State, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let rstrip = kwargs.get::<Option<bool>>("rstrip")?.unwrap_or(true);
    let lstrip = kwargs.get::<Option<bool>>("lstrip")?.unwrap_or(false);
    terms
        .iter()
        .map(|term| {
            let name = term_text(term)?;
            let path = find_file(state, name)
                .ok_or_else(|| failure(format!("could not locate file in lookup: {name}")))?;
            let text = std::fs::read_to_string(&path)
                .map_err(|e| failure(format!("could not read {}: {e}", path.display())))?;
            let text = if rstrip { text.trim_end() } else { &text };
            let text = if lstrip { text.trim_start() } else { text };
            Ok(Value::from(text))
        })
        .collect()
}

/// Where `name` is, looked up in the role's and the playbook's folders.
fn find_file(state: &State, name: &str) -> Option<PathBuf> {
    let path = Path::new(name);
    if path.is_absolute() {
        return path.is_file().then(|| path.to_path_buf());
    }
    let folder = |var: &str| {
        state
            .lookup(var)
            .and_then(|v| v.as_str().map(PathBuf::from))
    };
    let mut candidates = Vec::new();
    for base in [folder("role_path"), folder("playbook_dir")]
        .into_iter()
        .flatten()
    {
        candidates.push(base.join("files").join(path));
        candidates.push(base.join(path));
    }
    candidates.push(path.to_path_buf());
    candidates.into_iter().find(|c| c.is_file())
}

/// `pipe`: the output of a shell command run on the controller in the playbook's folder,
/// trailing whitespace stripped.
fn pipe(state: &State, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let folder = state
        .lookup("playbook_dir")
        .and_then(|v| v.as_str().map(PathBuf::from))
        .filter(|d| d.is_dir());
    terms
        .iter()
        .map(|term| {
            let command = term_text(term)?;
            let mut shell = Command::new("/bin/sh");
            shell.arg("-c").arg(command);
            for name in crate::secrets::SECRET_ENV {
                shell.env_remove(name);
            }
            if let Some(dir) = &folder {
                shell.current_dir(dir);
            }
            let output = shell.output().map_err(|e| {
                failure(format!("lookup_plugin.pipe({command}) could not run: {e}"))
            })?;
            if !output.status.success() {
                return Err(failure(format!(
                    "lookup_plugin.pipe({command}) returned {}",
                    output.status.code().unwrap_or(-1)
                )));
            }
            Ok(Value::from(
                String::from_utf8_lossy(&output.stdout).trim_end(),
            ))
        })
        .collect()
}

/// `vars`: the value of the named variables, templated when they hold templates.
fn vars(state: &State, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let default = kwargs.get::<Option<Value>>("default")?;
    terms
        .iter()
        .map(|term| {
            let name = term_text(term)?;
            match state.lookup(name).filter(|v| !v.is_undefined()) {
                Some(value) => template_nested(state, value),
                None => default
                    .clone()
                    .ok_or_else(|| failure(format!("No variable found with this name: {name}"))),
            }
        })
        .collect()
}

/// A variable's value rendered when it is a template itself, with the variables it reads.
fn template_nested(state: &State, value: Value) -> Result<Value, Error> {
    let Some(source) = value
        .as_str()
        .filter(|s| s.contains("{{") || s.contains("{%"))
    else {
        return Ok(value);
    };
    let env = state.env();
    let names = env.template_from_str(source)?.undeclared_variables(false);
    let context: std::collections::BTreeMap<String, Value> = names
        .into_iter()
        .filter_map(|name| state.lookup(&name).map(|v| (name, v)))
        .collect();
    Ok(Value::from(env.render_str(source, context)?))
}

#[cfg(test)]
mod tests {
    use crate::template::filters::tests::{eval, render, render_error};
    use serde_json::json;

    #[test]
    fn env_lookup_reads_the_controller_environment() {
        // PATH is always set for the test process; the other name is not.
        let path = std::env::var("PATH").unwrap();
        assert_eq!(render("{{ lookup('env', 'PATH') }}", json!({})), path);
        assert_eq!(
            render(
                "{{ lookup('env', 'DEPLOYER_SURELY_UNSET_VAR') }}",
                json!({})
            ),
            ""
        );
        assert_eq!(
            render(
                "{{ lookup('env', 'DEPLOYER_SURELY_UNSET_VAR', default='dflt') }}",
                json!({})
            ),
            "dflt"
        );
        assert_eq!(
            eval(
                "query('env', 'PATH', 'DEPLOYER_SURELY_UNSET_VAR')",
                json!({})
            ),
            json!([path, ""])
        );
        assert_eq!(
            eval(
                "lookup('env', 'PATH', 'DEPLOYER_SURELY_UNSET_VAR')",
                json!({})
            ),
            format!("{path},")
        );
    }

    #[test]
    fn file_lookup_searches_role_then_playbook_folders() {
        let dir = tempfile::tempdir().unwrap();
        let (role, play) = (dir.path().join("role"), dir.path().join("play"));
        std::fs::create_dir_all(role.join("files")).unwrap();
        std::fs::create_dir_all(play.join("files")).unwrap();
        std::fs::write(role.join("files/a.txt"), "from role\n\n").unwrap();
        std::fs::write(play.join("files/a.txt"), "from play files\n").unwrap();
        std::fs::write(play.join("b.txt"), "  from play\n").unwrap();
        let vars = json!({"role_path": role, "playbook_dir": play});
        assert_eq!(
            render("{{ lookup('file', 'a.txt') }}", vars.clone()),
            "from role"
        );
        assert_eq!(
            render("{{ lookup('file', 'b.txt') }}", vars.clone()),
            "  from play"
        );
        assert_eq!(
            render("{{ lookup('file', 'b.txt', lstrip=true) }}", vars.clone()),
            "from play"
        );
        assert_eq!(
            eval("lookup('file', 'b.txt', rstrip=false)", vars.clone()),
            "  from play\n"
        );
        let play_only = json!({"playbook_dir": play});
        assert_eq!(
            render("{{ lookup('file', 'a.txt') }}", play_only.clone()),
            "from play files"
        );
        assert_eq!(
            eval("query('file', 'a.txt')", play_only.clone()),
            json!(["from play files"])
        );
        let absolute = play.join("b.txt").display().to_string();
        assert_eq!(
            eval(&format!("lookup('file', '{absolute}')"), json!({})),
            "  from play"
        );
        assert!(
            render_error("{{ lookup('file', 'nope.txt') }}", play_only.clone())
                .contains("could not locate file in lookup: nope.txt")
        );
        assert_eq!(
            eval("lookup('file', 'nope.txt', errors='ignore')", play_only),
            json!(null)
        );
    }

    #[test]
    fn pipe_lookup_runs_a_controller_command() {
        assert_eq!(
            render("{{ lookup('pipe', 'echo hi; echo there') }}", json!({})),
            "hi\nthere"
        );
        assert!(
            render_error("{{ lookup('pipe', 'exit 3') }}", json!({}))
                .contains("lookup_plugin.pipe(exit 3) returned 3")
        );
    }

    #[test]
    fn vars_lookup_reads_and_templates_variables() {
        let vars =
            json!({"port": 80, "url": "http://h:{{ port }}", "list": [1, 2], "which": "port"});
        assert_eq!(eval("lookup('vars', 'port')", vars.clone()), 80);
        assert_eq!(eval("lookup('vars', which)", vars.clone()), 80);
        assert_eq!(eval("lookup('vars', 'url')", vars.clone()), "http://h:80");
        assert_eq!(eval("lookup('vars', 'list')", vars.clone()), json!([1, 2]));
        assert_eq!(
            eval("q('vars', 'port', 'list')", vars.clone()),
            json!([80, [1, 2]])
        );
        assert_eq!(
            eval("lookup('vars', 'nope', default='d')", vars.clone()),
            "d"
        );
        assert!(
            render_error("{{ lookup('vars', 'nope') }}", vars.clone())
                .contains("No variable found with this name: nope")
        );
        assert!(
            render_error("{{ lookup('nope', 'x') }}", vars)
                .contains("lookup plugin (nope) not found")
        );
    }
}
