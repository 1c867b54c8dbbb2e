//! Lookups that read (or write) the controller's files: `file`, `fileglob`, `first_found`,
//! `template` and `password`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Error, State, Value};
use serde_json::Value as Data;

use super::lists::template_nested;
use super::{WITH_ACTION, failure, find_file, folder, search_folders, term_text};
use crate::template::filters::to_data;
use crate::template::{crypt, random};

/// `file`: a controller file's text, trailing whitespace stripped (`rstrip`, `lstrip`).
pub fn file(state: &State, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let rstrip = kwargs.get::<Option<bool>>("rstrip")?.unwrap_or(true);
    let lstrip = kwargs.get::<Option<bool>>("lstrip")?.unwrap_or(false);
    terms
        .iter()
        .map(|term| {
            let name = term_text(term)?;
            let text = read(state, "files", name, "could not locate file in lookup")?.1;
            let text = if rstrip { text.trim_end() } else { &text };
            let text = if lstrip { text.trim_start() } else { text };
            Ok(Value::from(text))
        })
        .collect()
}

/// A file found under `kind/` and its text; `missing` starts the error when not found.
fn read(state: &State, kind: &str, name: &str, missing: &str) -> Result<(PathBuf, String), Error> {
    let path = find_file(state, kind, name)
        .filter(|p| p.is_file())
        .ok_or_else(|| failure(format!("{missing}: {name}")))?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| failure(format!("could not read {}: {e}", path.display())))?;
    Ok((path, text))
}

/// `fileglob`: the files matching a pattern in the last part of each term, searched in the
/// term's folder (found like `file` does) or in each search folder's `files/` and the folder
/// itself; the first folder with matches wins. Paths are absolute and sorted.
pub fn fileglob(state: &State, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for term in terms {
        let term = Path::new(term_text(term)?);
        let Some(pattern) = term.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let dirs: Vec<PathBuf> = match term.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(dir) => find_file(state, "files", &dir.to_string_lossy())
                .into_iter()
                .collect(),
            None => search_folders(state)
                .into_iter()
                .flat_map(|f| [f.join("files"), f])
                .collect(),
        };
        let matcher = globset::Glob::new(pattern)
            .map_err(|e| failure(format!("bad pattern {pattern}: {e}")))?
            .compile_matcher();
        for dir in dirs {
            let found = matching_files(&dir, pattern, &matcher);
            if !found.is_empty() {
                out.extend(found.into_iter().map(Value::from));
                break;
            }
        }
    }
    Ok(out)
}

/// The files in `dir` whose name matches, hidden ones only for a pattern starting with `.`
/// (like Python's `glob`).
fn matching_files(dir: &Path, pattern: &str, matcher: &globset::GlobMatcher) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<String> = entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            (pattern.starts_with('.') || !name.starts_with('.'))
                && matcher.is_match(name.as_ref())
                && e.path().is_file()
        })
        .map(|e| {
            let path = e.path();
            std::path::absolute(&path)
                .unwrap_or(path)
                .display()
                .to_string()
        })
        .collect();
    found.sort();
    found
}

/// The `files`, `paths` and `skip` options of `first_found`.
#[derive(Default, Clone)]
struct FirstFound {
    files: Vec<String>,
    paths: Vec<String>,
    skip: bool,
}

impl FirstFound {
    /// The options given in a mapping (term or keyword arguments); unset ones are defaults.
    fn from_map(map: &serde_json::Map<String, Data>) -> Result<Self, Error> {
        let list = |key: &str| match map.get(key) {
            None | Some(Data::Null) => Ok(Vec::new()),
            Some(Data::String(s)) => Ok(vec![s.clone()]),
            Some(Data::Array(items)) => {
                Ok(items.iter().map(crate::template::python::str).collect())
            }
            Some(other) => Err(failure(format!(
                "first_found: `{key}` must be a list, not {other}"
            ))),
        };
        Ok(FirstFound {
            files: list("files")?,
            paths: list("paths")?,
            skip: map.get("skip").is_some_and(|s| s == &Data::Bool(true)),
        })
    }

    /// The candidate names of `files` under `paths` (split at `,;` and `,:;` as Ansible does).
    fn candidates(&self, files: &[String], out: &mut Vec<String>) {
        let split = |items: &[String], seps: &[char]| -> Vec<String> {
            items
                .iter()
                .flat_map(|i| i.split(seps).map(str::to_string).collect::<Vec<_>>())
                .collect()
        };
        let files = split(files, &[',', ';']);
        let paths = split(&self.paths, &[',', ':', ';']);
        if paths.is_empty() {
            out.extend(files);
            return;
        }
        for path in &paths {
            out.extend(
                files
                    .iter()
                    .map(|f| Path::new(path).join(f).display().to_string()),
            );
        }
    }
}

/// `first_found`: the first file that exists among the terms (names, lists, or mappings with
/// `files`, `paths` and `skip`); none when `skip` is set, else an error. A `with_first_found`
/// loop searches `templates/`, `vars/` or `files/` by its task's module, as Ansible does.
pub fn first_found(state: &State, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let mut given = serde_json::Map::new();
    for key in ["files", "paths", "skip"] {
        if let Some(v) = kwargs.get::<Option<Value>>(key)? {
            given.insert(key.into(), to_data(&v));
        }
    }
    let mut options = FirstFound::from_map(&given)?;
    let mut search = Vec::new();
    let terms: Vec<Data> = match terms.is_empty() {
        true => vec![Data::Object(given)],
        false => terms.iter().map(to_data).collect(),
    };
    collect_first_found(&terms, &mut options, &mut search)?;
    let kind = state
        .lookup(WITH_ACTION)
        .and_then(|a| a.as_str().map(str::to_string))
        .map_or("", |action| {
            ["template", "var", "file"]
                .into_iter()
                .find(|k| action.contains(k))
                .map_or("files", |k| match k {
                    "template" => "templates",
                    "var" => "vars",
                    _ => "files",
                })
        });
    for name in search {
        if let Some(path) = find_file(state, kind, &name) {
            return Ok(vec![Value::from(path.display().to_string())]);
        }
    }
    match options.skip {
        true => Ok(Vec::new()),
        false => Err(failure("No file was found when using first_found.")),
    }
}

fn collect_first_found(
    terms: &[Data],
    options: &mut FirstFound,
    out: &mut Vec<String>,
) -> Result<(), Error> {
    for term in terms {
        match term {
            Data::Object(map) => {
                *options = FirstFound::from_map(map)?;
                let files = options.files.clone();
                options.candidates(&files, out);
            }
            Data::String(name) => options.candidates(std::slice::from_ref(name), out),
            Data::Array(items) => collect_first_found(items, options, out)?,
            other => {
                return Err(failure(format!(
                    "Invalid term supplied. A string, dict or list is required, not {other}"
                )));
            }
        }
    }
    Ok(())
}

/// `template(template_vars={})`: each template file (found under `templates/`) rendered with
/// the variables the caller sees, plus `template_path`, `template_fullpath` and `template_vars`.
pub fn template(state: &State, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let extra = kwargs.get::<Option<Value>>("template_vars")?;
    let env = state.env();
    terms
        .iter()
        .map(|term| {
            let name = term_text(term)?;
            let missing = "the template file could not be found for the lookup";
            let (path, source) = read(state, "templates", name, missing)?;
            let reads = env.template_from_str(&source)?.undeclared_variables(false);
            let mut vars: BTreeMap<String, Value> = BTreeMap::new();
            for var in reads {
                if let Some(value) = state.lookup(&var).filter(|v| !v.is_undefined()) {
                    vars.insert(var, template_nested(state, value)?);
                }
            }
            vars.insert("template_path".into(), Value::from(name));
            let full = path.display().to_string();
            vars.insert("template_fullpath".into(), Value::from(full.clone()));
            vars.entry("ansible_managed".into())
                .or_insert_with(|| Value::from("Ansible managed"));
            if let Some(extra) = extra.as_ref().filter(|e| e.kind() == ValueKind::Map) {
                for key in extra.try_iter()? {
                    let value = extra.get_item(&key)?;
                    vars.insert(key.to_string(), value);
                }
            }
            Ok(Value::from(crate::template::render_in(
                env,
                &full,
                &source,
                Value::from(vars),
                false,
            )?))
        })
        .collect()
}

/// Serialises password files: hosts run lookups at the same time, and the first must write
/// the file the others then read.
static PASSWORD_FILES: Mutex<()> = Mutex::new(());

/// The characters of a `chars` name (Python's `string` module), or the text itself.
fn char_set(name: &str) -> String {
    let lower = "abcdefghijklmnopqrstuvwxyz";
    let upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let digits = "0123456789";
    let punctuation = r##"!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~"##;
    match name {
        "ascii_letters" => format!("{lower}{upper}"),
        "ascii_lowercase" => lower.into(),
        "ascii_uppercase" => upper.into(),
        "digits" => digits.into(),
        "hexdigits" => format!("{digits}abcdefABCDEF"),
        "octdigits" => "01234567".into(),
        "punctuation" => punctuation.into(),
        "whitespace" => " \t\n\r\x0b\x0c".into(),
        "printable" => format!("{digits}{lower}{upper}{punctuation} \t\n\r\x0b\x0c"),
        other => other.into(),
    }
}

/// The options of one `password` term: `path [length=N] [chars=...] [encrypt=...] [seed=...]`,
/// keyword arguments filling in what the term does not say.
struct PasswordSpec {
    path: PathBuf,
    length: usize,
    chars: Vec<char>,
    encrypt: Option<String>,
    seed: Option<String>,
}

fn password_spec(state: &State, term: &str, kwargs: &Kwargs) -> Result<PasswordSpec, Error> {
    let mut words: Vec<&str> = term.split(' ').collect();
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    while let Some((key, value)) = words.last().and_then(|w| w.split_once('='))
        && words.len() > 1
    {
        if !["length", "chars", "encrypt", "seed", "ident"].contains(&key) {
            return Err(failure(format!(
                "Unrecognized parameter(s) given to password lookup: {key}"
            )));
        }
        params.insert(key.into(), value.into());
        words.pop();
    }
    for key in ["length", "chars", "encrypt", "seed", "ident"] {
        if !params.contains_key(key)
            && let Some(value) = kwargs.get::<Option<Value>>(key)?
        {
            let text = match value.kind() {
                ValueKind::Seq => value
                    .try_iter()?
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                _ => value.to_string(),
            };
            params.insert(key.into(), text);
        }
    }
    let relative = PathBuf::from(words.join(" "));
    let path = match folder(state, "playbook_dir") {
        Some(base) if relative.is_relative() => base.join(relative),
        _ => relative,
    };
    let length = match params.get("length") {
        Some(l) => l
            .parse()
            .map_err(|_| failure(format!("password lookup: length={l} is not a number")))?,
        None => 20,
    };
    let chars_spec = params
        .get("chars")
        .cloned()
        .unwrap_or_else(|| "ascii_letters,digits,.,:-_".into());
    let mut names: Vec<String> = Vec::new();
    if chars_spec.contains(",,") {
        names.push(",".into());
    }
    names.extend(
        chars_spec
            .replace(",,", ",")
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_string),
    );
    let chars: Vec<char> = names
        .iter()
        .map(|n| char_set(n))
        .collect::<String>()
        .chars()
        .filter(|c| *c != '"' && *c != '\'')
        .collect();
    if chars.is_empty() {
        return Err(failure("password lookup: no characters to pick from"));
    }
    Ok(PasswordSpec {
        path,
        length,
        chars,
        encrypt: params.get("encrypt").cloned(),
        seed: params.get("seed").cloned(),
    })
}

/// `password`: the password stored in a controller file, generated and written there (mode
/// 0600) when the file does not exist yet; `/dev/null` gives a new one each time. With
/// `encrypt`, the salt is stored next to it and the password comes back hashed.
pub fn password(state: &State, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let _guard = PASSWORD_FILES.lock().unwrap_or_else(|p| p.into_inner());
    terms
        .iter()
        .map(|term| {
            let spec = password_spec(state, term_text(term)?, kwargs)?;
            let null = spec.path == Path::new("/dev/null");
            let stored = match null {
                true => None,
                false => std::fs::read_to_string(&spec.path)
                    .ok()
                    .map(|c| c.trim_end().to_string()),
            };
            let mut source = random::Source::new(spec.seed.as_deref());
            let (plain, mut salt, mut changed) = match stored {
                Some(content) => {
                    let (plain, salt) = match content.rsplit_once(" salt=") {
                        Some((p, s)) => (p.to_string(), Some(s.to_string())),
                        None => (content, None),
                    };
                    (plain, salt, false)
                }
                None => (source.text(&spec.chars, spec.length), None, true),
            };
            if spec.encrypt.is_some() && salt.is_none() {
                salt = Some(crypt::salt(&mut source));
                changed = true;
            }
            if changed && !null {
                let content = match &salt {
                    Some(s) => format!("{plain} salt={s}\n"),
                    None => format!("{plain}\n"),
                };
                write_secret(&spec.path, &content)?;
            }
            Ok(Value::from(match &spec.encrypt {
                Some(scheme) => crypt::hash(&plain, scheme, salt.as_deref(), None)?,
                None => plain,
            }))
        })
        .collect()
}

/// Writes a file only its owner can read, creating its folder (mode 0700).
fn write_secret(path: &Path, content: &str) -> Result<(), Error> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let fail = |e: std::io::Error| failure(format!("cannot write {}: {e}", path.display()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(fail)?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(content.as_bytes()))
        .map_err(fail)
}
