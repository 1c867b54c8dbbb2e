//! Lookups that ask the controller's environment: `env`, `pipe`, `lines` and `url`.

use std::process::Command;
use std::time::Duration;

use minijinja::value::Kwargs;
use minijinja::{Error, State, Value};

use super::{failure, folder, term_text};

/// `env`: the controller's environment variable, or `default` (empty text) when unset.
pub fn env(terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
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

/// `pipe`: the output of each shell command, trailing whitespace stripped.
pub fn pipe(state: &State, terms: &[Value]) -> Result<Vec<Value>, Error> {
    terms
        .iter()
        .map(|term| Ok(Value::from(shell(state, "pipe", term)?.trim_end())))
        .collect()
}

/// `lines`: the lines each shell command prints, one result per line.
pub fn lines(state: &State, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for term in terms {
        out.extend(shell(state, "lines", term)?.lines().map(Value::from));
    }
    Ok(out)
}

/// The output of a shell command run on the controller in the playbook's folder; a non-zero
/// exit is an error.
fn shell(state: &State, lookup: &str, term: &Value) -> Result<String, Error> {
    let command = term_text(term)?;
    let mut shell = Command::new("/bin/sh");
    shell.arg("-c").arg(command);
    for name in crate::secrets::SECRET_ENV {
        shell.env_remove(name);
    }
    if let Some(dir) = folder(state, "playbook_dir").filter(|d| d.is_dir()) {
        shell.current_dir(dir);
    }
    let output = shell.output().map_err(|e| {
        failure(format!(
            "lookup_plugin.{lookup}({command}) could not run: {e}"
        ))
    })?;
    if !output.status.success() {
        return Err(failure(format!(
            "lookup_plugin.{lookup}({command}) returned {}",
            output.status.code().unwrap_or(-1)
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// How long a `url` lookup may take, like Ansible's default `timeout`.
const URL_TIMEOUT: Duration = Duration::from_secs(10);

/// `url(split_lines=True, timeout=10, validate_certs=True)`: the body of a GET of each URL,
/// split into lines unless told not to. Only fetched when a template asks for it.
pub fn url(terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let split_lines = kwargs.get::<Option<bool>>("split_lines")?.unwrap_or(true);
    let timeout = kwargs
        .get::<Option<f64>>("timeout")?
        .map_or(URL_TIMEOUT, Duration::from_secs_f64);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .build()
        .into();
    let mut out = Vec::new();
    for term in terms {
        let url = term_text(term)?;
        let body = agent
            .get(url)
            .call()
            .and_then(|mut response| response.body_mut().read_to_string())
            .map_err(|e| failure(format!("Received HTTP error for {url} : {e}")))?;
        match split_lines {
            true => out.extend(body.lines().map(Value::from)),
            false => out.push(Value::from(body)),
        }
    }
    Ok(out)
}
