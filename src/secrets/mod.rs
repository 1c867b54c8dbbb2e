//! Secret values and their redaction. A value is secret when it came from a vault-encrypted file,
//! or when it is the value of a variable whose name ends in `_password`, `_token` or `_secret`, or
//! is listed in `deployer_secret_vars` (see docs/secrets.md). [`Redacting`] scrubs every secret
//! from every run event once, before any reporter (terminal, JSON, run log, notifications) sees it.

mod logs;
mod redacting;

pub use logs::{MaskedLogs, mask_logs};
pub use redacting::Redacting;

use std::collections::BTreeSet;

use serde_json::Value;

use crate::compile::Vars;
use crate::template::Templater;

/// What a secret is replaced with.
pub const MASK: &str = "********";
/// Values shorter than this are not redacted: masking `yes` or `80` everywhere would garble output
/// without protecting anything.
pub const MIN_SECRET_LEN: usize = 4;
/// The variable listing more secret variable names.
pub const SECRET_VARS_LIST: &str = "deployer_secret_vars";
/// Name endings that make a variable secret.
const SECRET_SUFFIXES: [&str; 3] = ["_password", "_token", "_secret"];
/// Ansible's secret variables whose names do not end in one of those.
const SECRET_NAMES: [&str; 4] = [
    "ansible_become_pass",
    "ansible_sudo_pass",
    "ansible_ssh_pass",
    "ansible_sudo_password",
];
/// deployer's own secret environment variables: masked in every output, and never passed to
/// the commands deployer runs on the controller (`delegate_to: localhost`, `pipe`).
pub const SECRET_ENV: [&str; 4] = [
    "DEPLOYER_VAULT_PASSWORD",
    "DEPLOYER_BECOME_PASSWORD",
    "DEPLOYER_SSH_KEY_PASSPHRASE",
    "DEPLOYER_SSH_PRIVATE_KEY",
];

/// A set of secret strings, and the scrubbing of them out of text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    values: BTreeSet<String>,
}

impl Secrets {
    /// Adds one secret value; a multi-line value also adds each of its lines, so a diff or a
    /// line-by-line output of it is scrubbed too.
    pub fn add(&mut self, value: &str) {
        for candidate in std::iter::once(value).chain(value.lines().map(str::trim)) {
            if candidate.chars().count() >= MIN_SECRET_LEN {
                self.values.insert(candidate.to_string());
            }
        }
    }

    /// Adds every string and number inside `value` (a whole vault file's variables, say).
    pub fn add_all(&mut self, value: &Value) {
        match value {
            Value::String(s) => self.add(s),
            Value::Number(n) => self.add(&n.to_string()),
            Value::Array(items) => items.iter().for_each(|v| self.add_all(v)),
            Value::Object(map) => map.values().for_each(|v| self.add_all(v)),
            Value::Bool(_) | Value::Null => {}
        }
    }

    /// Adds the values of the secret-named variables in `vars` (rendered against `vars` when they
    /// are templates, e.g. `lookup('env', ...)`; the raw text when they cannot be rendered yet).
    /// `listed` are the names from `deployer_secret_vars`.
    pub fn add_named(&mut self, vars: &Vars, listed: &BTreeSet<String>, templater: &Templater) {
        let context = Value::Object(vars.clone());
        for (name, value) in vars {
            if is_secret_name(name) || listed.contains(name) {
                self.add_all(value);
                if let Ok(rendered) = templater.render_value(value, &context) {
                    self.add_all(&rendered);
                }
            }
        }
    }

    /// Adds the values of deployer's secret environment variables ([`SECRET_ENV`]).
    pub fn add_env(&mut self) {
        for name in SECRET_ENV {
            if let Ok(value) = std::env::var(name) {
                self.add(&value);
            }
        }
    }

    /// Merges another set in.
    pub fn extend(&mut self, other: Secrets) {
        self.values.extend(other.values);
    }

    /// Whether there is nothing to redact.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every secret replaced by [`MASK`] (longest secrets first, so a secret that
    /// contains another is masked whole).
    pub fn redact(&self, text: &str) -> String {
        let mut by_length: Vec<&String> = self.values.iter().collect();
        by_length.sort_by_key(|s| std::cmp::Reverse(s.len()));
        by_length.into_iter().fold(text.to_string(), |out, secret| {
            out.replace(secret.as_str(), MASK)
        })
    }

    /// Redacts every string inside a JSON value, keys included.
    pub fn redact_value(&self, value: &mut Value) {
        match value {
            Value::String(s) => *s = self.redact(s),
            Value::Number(n) if self.values.contains(&n.to_string()) => {
                *value = Value::from(MASK);
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_value(v)),
            Value::Object(map) => {
                *map = std::mem::take(map)
                    .into_iter()
                    .map(|(k, mut v)| {
                        self.redact_value(&mut v);
                        (self.redact(&k), v)
                    })
                    .collect();
            }
            _ => {}
        }
    }
}

/// Whether a variable name marks its value as secret by itself.
pub fn is_secret_name(name: &str) -> bool {
    SECRET_SUFFIXES.iter().any(|suffix| name.ends_with(suffix)) || SECRET_NAMES.contains(&name)
}

/// The names listed in `deployer_secret_vars` (a list, or one name) in `vars`.
pub fn listed_names(vars: &Vars) -> BTreeSet<String> {
    match vars.get(SECRET_VARS_LIST) {
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(name)) => BTreeSet::from([name.clone()]),
        _ => BTreeSet::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_masked_in_text_and_json_longest_first() {
        let mut secrets = Secrets::default();
        secrets.add("hunter2-long");
        secrets.add("hunter2");
        secrets.add("ab");
        assert_eq!(
            secrets.redact("pw hunter2-long or hunter2, ab"),
            "pw ******** or ********, ab"
        );
        let mut value = json!({"stdout": "x hunter2 y", "list": ["hunter2"], "hunter2": 1});
        secrets.redact_value(&mut value);
        assert_eq!(
            value,
            json!({"stdout": "x ******** y", "list": ["********"], "********": 1})
        );
    }

    #[test]
    fn multi_line_secrets_are_also_masked_line_by_line() {
        let mut secrets = Secrets::default();
        secrets.add("-----BEGIN KEY-----\nAAAAsecretline\n-----END KEY-----\n");
        assert_eq!(secrets.redact("+AAAAsecretline\n"), "+********\n");
    }

    #[test]
    fn names_and_lists_decide_which_variables_are_secret() {
        let vars: Vars = serde_json::from_value(json!({
            "db_password": "pw-from-vars",
            "api_token": "{{ 'tok' ~ 'en-value' }}",
            "plain": "visible",
            "custom": "listed-value",
            "deployer_secret_vars": ["custom"],
        }))
        .unwrap();
        let mut secrets = Secrets::default();
        secrets.add_named(&vars, &listed_names(&vars), &Templater::new());
        let shown = secrets.redact("pw-from-vars token-value visible listed-value");
        assert_eq!(shown, "******** ******** visible ********");
        assert!(is_secret_name("ansible_become_password"));
        assert!(is_secret_name("ansible_become_pass") && is_secret_name("ansible_sudo_pass"));
        assert!(!is_secret_name("password_policy"));
    }
}
