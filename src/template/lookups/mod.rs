//! `lookup()` and `query()`/`q()`, and the lookups Ansible ships, all run on the controller
//! (see docs/templating.md). A `with_<name>:` loop runs lookup `name` over its terms
//! ([`Templater::loop_lookup`](super::Templater::loop_lookup)).
//!
//! Files are searched like Ansible does, from the variables the template sees: the role's
//! `<kind>/` folder and the role's own folder (`role_path`), then the same in the playbook's
//! folder (`playbook_dir`), then the current directory.

mod commands;
mod files;
mod lists;

pub(super) use lists::subelements;

use std::path::{Path, PathBuf};

use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, State, Value};

use super::filters::failure;

/// The variable holding the module of the task whose `with_` loop runs a lookup
/// (`first_found` searches `templates/`, `vars/` or `files/` by it, as Ansible does).
pub const WITH_ACTION: &str = "__deployer_with_action";

/// The lookups there are (also as `ansible.builtin.NAME`), for `with_NAME` loops.
pub const LOOKUPS: &[&str] = &[
    "env",
    "pipe",
    "lines",
    "url",
    "file",
    "fileglob",
    "first_found",
    "template",
    "password",
    "items",
    "list",
    "dict",
    "indexed_items",
    "nested",
    "together",
    "subelements",
    "sequence",
    "random_choice",
    "varnames",
    "vars",
];

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

/// Runs lookup `name` (or `ansible.builtin.name`) over `terms`; `None` when it failed and
/// `errors` says to carry on.
fn run(
    state: &State,
    name: &str,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Option<Vec<Value>>, Error> {
    let errors = kwargs
        .get::<Option<String>>("errors")?
        .unwrap_or_else(|| "strict".into());
    let flat = || flatten_terms(terms);
    let outcome = match name.strip_prefix("ansible.builtin.").unwrap_or(name) {
        "env" => commands::env(&flat(), kwargs),
        "pipe" => commands::pipe(state, &flat()),
        "lines" => commands::lines(state, &flat()),
        "url" => commands::url(&flat(), kwargs),
        "file" => files::file(state, &flat(), kwargs),
        "fileglob" => files::fileglob(state, &flat()),
        "first_found" => files::first_found(state, terms, kwargs),
        "template" => files::template(state, &flat(), kwargs),
        "password" => files::password(state, &flat(), kwargs),
        "items" => Ok(flat()),
        "list" => Ok(terms.to_vec()),
        "dict" => lists::dict(terms),
        "indexed_items" => Ok(lists::indexed(flat())),
        "nested" => lists::nested(terms),
        "together" => lists::together(terms),
        "subelements" => lists::subelements(terms),
        "sequence" => lists::sequence(terms, kwargs),
        "random_choice" => Ok(lists::random_choice(terms)),
        "varnames" => lists::varnames(state, &flat()),
        "vars" => lists::vars(state, &flat(), kwargs),
        other => Err(failure(format!("lookup plugin ({other}) not found"))),
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

/// The terms, with list terms spread out one level (Ansible's `_flatten`).
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

/// A folder named by a variable the template sees (`role_path`, `playbook_dir`).
fn folder(state: &State, var: &str) -> Option<PathBuf> {
    state
        .lookup(var)
        .and_then(|v| v.as_str().map(PathBuf::from))
}

/// The folders lookups search, in order: the role's, then the playbook's.
fn search_folders(state: &State) -> Vec<PathBuf> {
    ["role_path", "playbook_dir"]
        .into_iter()
        .filter_map(|var| folder(state, var))
        .collect()
}

/// Where `name` is, looked up like Ansible's `find_file_in_search_path`: in each search
/// folder's `kind/` (unless `name` starts with it) and the folder itself, then the current
/// directory. The path is absolute.
fn find_file(state: &State, kind: &str, name: &str) -> Option<PathBuf> {
    let path = Path::new(name);
    if path.is_absolute() {
        return path.exists().then(|| path.to_path_buf());
    }
    let mut candidates = Vec::new();
    for base in search_folders(state) {
        if path.iter().next() != Some(kind.as_ref()) {
            candidates.push(base.join(kind).join(path));
        }
        candidates.push(base.join(path));
    }
    candidates.push(path.to_path_buf());
    candidates
        .into_iter()
        .find(|c| c.exists())
        .map(|c| std::path::absolute(&c).unwrap_or(c))
}

#[cfg(test)]
mod tests {
    use crate::template::Templater;
    use crate::template::filters::tests::{eval, render, render_error};
    use serde_json::{Value, json};

    /// The items of a `with_<name>` loop over `terms` (already rendered).
    fn with(name: &str, terms: Value, vars: Value) -> Result<Value, String> {
        Templater::new()
            .loop_lookup(name, terms, &vars, "debug")
            .map(Value::Array)
            .map_err(|e| e.message)
    }

    #[test]
    fn lookups_lists_every_lookup_there_is() {
        let missing = |name: &str| {
            with(name, json!([]), json!({}))
                .is_err_and(|e| e.contains(&format!("lookup plugin ({name}) not found")))
        };
        for name in super::LOOKUPS {
            assert!(!missing(name), "{name}");
        }
        assert!(missing("nosuch"));
    }

    #[test]
    fn with_loops_run_their_lookup_like_ansible() {
        let none = || json!({});
        let items = with("items", json!([[1, 2], 3, [4, [5]]]), none());
        assert_eq!(items.unwrap(), json!([1, 2, 3, 4, [5]]));
        assert_eq!(with("items", json!("a"), none()).unwrap(), json!(["a"]));
        assert_eq!(
            with("list", json!([[1, 2], 3]), none()).unwrap(),
            json!([[1, 2], 3])
        );
        assert_eq!(
            with("dict", json!({"a": 1, "b": 2}), none()).unwrap(),
            json!([{"key": "a", "value": 1}, {"key": "b", "value": 2}])
        );
        assert_eq!(
            with("nested", json!([["a", "b"], [1, 2], ["x"]]), none()).unwrap(),
            json!([["a", 1, "x"], ["a", 2, "x"], ["b", 1, "x"], ["b", 2, "x"]])
        );
        assert_eq!(
            with("together", json!([["a", "b", "c"], [1, 2]]), none()).unwrap(),
            json!([["a", 1], ["b", 2], ["c", null]])
        );
        assert_eq!(
            with("indexed_items", json!(["a", "b"]), none()).unwrap(),
            json!([[0, "a"], [1, "b"]])
        );
        let users = json!([
            {"name": "alice", "keys": ["k1", "k2"], "mysql": {"hosts": ["h1"]}},
            {"name": "bob", "mysql": {"hosts": []}}
        ]);
        assert_eq!(
            with("subelements", json!([users, "mysql.hosts"]), none()).unwrap(),
            json!([[{"name": "alice", "keys": ["k1", "k2"], "mysql": {}}, "h1"]])
        );
        assert_eq!(
            with(
                "subelements",
                json!([users, "keys", {"skip_missing": true}]),
                none()
            )
            .unwrap(),
            json!([[{"name": "alice", "mysql": {"hosts": ["h1"]}}, "k1"],
                   [{"name": "alice", "mysql": {"hosts": ["h1"]}}, "k2"]])
        );
        let missing = with("subelements", json!([users, "keys"]), none()).unwrap_err();
        assert!(missing.contains("could not find 'keys' key"), "{missing}");
        assert!(
            with("nope", json!([]), none())
                .unwrap_err()
                .contains("(nope) not found")
        );
    }

    #[test]
    fn sequence_follows_both_forms() {
        let seq = |terms: Value| with("sequence", terms, json!({}));
        assert_eq!(
            seq(json!("start=1 end=10 stride=3 format=host%02d")).unwrap(),
            json!(["host01", "host04", "host07", "host10"])
        );
        assert_eq!(seq(json!("2-6/2")).unwrap(), json!(["2", "4", "6"]));
        assert_eq!(seq(json!("count=3")).unwrap(), json!(["1", "2", "3"]));
        assert_eq!(
            seq(json!("4:web%d")).unwrap(),
            json!(["web1", "web2", "web3", "web4"])
        );
        assert_eq!(
            seq(json!("start=5 end=1 stride=-2")).unwrap(),
            json!(["5", "3", "1"])
        );
        assert_eq!(seq(json!("count=0")).unwrap(), json!([]));
        assert!(
            seq(json!("start=3"))
                .unwrap_err()
                .contains("must specify count or end")
        );
        assert!(
            seq(json!("end=1 start=3"))
                .unwrap_err()
                .contains("stride negative")
        );
        assert_eq!(
            eval("query('sequence', start=1, end=2)", json!({})),
            json!(["1", "2"])
        );
    }

    #[test]
    fn file_lookups_search_the_role_and_playbook_folders() {
        let dir = tempfile::tempdir().unwrap();
        let play = dir.path();
        for (path, text) in [
            ("files/a.txt", "a"),
            ("files/b.txt", "b"),
            ("files/.hidden.txt", "h"),
            ("vars/default.yml", "k: 1"),
            ("templates/t.j2", "v={{ v }}\n{{ extra }}\n"),
        ] {
            std::fs::create_dir_all(play.join(path).parent().unwrap()).unwrap();
            std::fs::write(play.join(path), text).unwrap();
        }
        let vars = json!({"playbook_dir": play, "v": 42, "extra": "{{ v + 1 }}"});
        let at = |name: &str| play.join(name).display().to_string();
        assert_eq!(
            with("fileglob", json!("*.txt"), vars.clone()).unwrap(),
            json!([at("files/a.txt"), at("files/b.txt")])
        );
        assert_eq!(
            with("first_found", json!(["nope.yml", "a.txt"]), vars.clone()).unwrap(),
            json!([at("files/a.txt")])
        );
        let vars_file = Templater::new()
            .loop_lookup("first_found", json!(["default.yml"]), &vars, "include_vars")
            .unwrap();
        assert_eq!(vars_file, vec![json!(at("vars/default.yml"))]);
        assert_eq!(
            eval(
                "lookup('first_found', files=['nope', 'b.txt'], paths=['files'])",
                vars.clone()
            ),
            at("files/b.txt")
        );
        assert_eq!(
            eval(
                "query('first_found', {'files': ['x', 'y'], 'skip': true})",
                vars.clone()
            ),
            json!([])
        );
        assert!(
            render_error("{{ lookup('first_found', 'a.txt') }}", vars.clone())
                .contains("No file was found when using first_found.")
        );
        assert_eq!(
            eval("lookup('template', 't.j2')", vars.clone()),
            "v=42\n43\n"
        );
        assert_eq!(
            eval(
                "lookup('template', 't.j2', template_vars={'v': 1})",
                vars.clone()
            ),
            "v=1\n43\n"
        );
    }

    #[test]
    fn password_lookup_writes_the_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let vars = json!({"playbook_dir": dir.path()});
        let first = eval(
            "lookup('password', 'creds/db length=12 chars=digits')",
            vars.clone(),
        );
        let first = first.as_str().unwrap().to_string();
        assert_eq!(first.len(), 12);
        assert!(first.chars().all(|c| c.is_ascii_digit()), "{first}");
        let file = dir.path().join("creds/db");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            format!("{first}\n")
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(eval("lookup('password', 'creds/db')", vars.clone()), first);
        let hashed = eval(
            "lookup('password', 'creds/h encrypt=sha512_crypt')",
            vars.clone(),
        );
        let stored = std::fs::read_to_string(dir.path().join("creds/h")).unwrap();
        let (plain, salt) = stored.trim_end().split_once(" salt=").unwrap();
        assert_eq!(
            hashed,
            crate::template::crypt::hash(plain, "sha512", Some(salt), None).unwrap()
        );
        let seeded = "lookup('password', '/dev/null seed=s length=8')";
        assert_eq!(eval(seeded, vars.clone()), eval(seeded, vars.clone()));
    }

    #[test]
    fn varnames_lines_and_url_lookups() {
        let vars = json!({"user_a": 1, "user_b": 2, "other": 3});
        assert_eq!(
            eval("query('varnames', '^user_')", vars),
            json!(["user_a", "user_b"])
        );
        assert_eq!(
            eval("query('lines', 'printf \"x\\ny\"')", json!({})),
            json!(["x", "y"])
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request).unwrap();
            let body = "one\ntwo\n";
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(reply.as_bytes()).unwrap();
        });
        assert_eq!(
            eval(
                &format!("query('url', 'http://127.0.0.1:{port}/')"),
                json!({})
            ),
            json!(["one", "two"])
        );
        server.join().unwrap();
    }

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
