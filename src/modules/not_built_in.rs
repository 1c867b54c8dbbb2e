//! Modules Ansible has and deployer has not built in yet. A task naming one compiles (with a
//! warning, as ansible-core accepts it), and fails on a host that runs it; a role's branch for
//! another platform (`firewalld` under `when: ansible_os_family == 'RedHat'`) thus runs on the
//! others. The names come from `ansible_modules.txt`, which `scripts/ansible-module-names` writes
//! from an installed `ansible` package.

use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, Mutex};

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult};

/// What `ansible_modules.txt` lists.
struct Known {
    /// Each collection's modules.
    modules: HashMap<&'static str, HashSet<&'static str>>,
    /// Short names ansible-core redirects, and the full name each runs.
    redirects: HashMap<&'static str, String>,
}

static KNOWN: LazyLock<Known> = LazyLock::new(|| {
    let mut known = Known {
        modules: HashMap::new(),
        redirects: HashMap::new(),
    };
    for line in include_str!("ansible_modules.txt").lines() {
        if line.starts_with('#') {
            continue;
        }
        if let Some((short, full)) = line.split_once('=').filter(|(s, _)| !s.is_empty()) {
            known.redirects.insert(short, full.to_string());
            continue;
        }
        let mut words = line.split(' ');
        let Some(first) = words.next() else { continue };
        match first.strip_prefix('=') {
            Some(collection) => known
                .redirects
                .extend(words.map(|short| (short, format!("{collection}.{short}")))),
            None => known.modules.entry(first).or_default().extend(words),
        }
    }
    known
});

/// The full name of the module Ansible runs for `name` (`firewalld`, `ansible.posix.firewalld`,
/// `pip`), when Ansible has one.
pub fn ansible_module(name: &str) -> Option<String> {
    let known = &*KNOWN;
    let builtin = name
        .strip_prefix("ansible.legacy.")
        .or_else(|| name.strip_prefix("ansible.builtin."))
        .or_else(|| (!name.contains('.')).then_some(name));
    if let Some(short) = builtin {
        if known.modules.get("ansible.builtin")?.contains(short) {
            return Some(format!("ansible.builtin.{short}"));
        }
        // Else a redirect of ansible-core's, or a module of a collection the play or role names
        // in `collections:` (the first collection, by name, that has it).
        return known.redirects.get(short).cloned().or_else(|| {
            let collections = known.modules.iter().filter(|(_, m)| m.contains(short));
            let first = collections.map(|(c, _)| *c).min()?;
            Some(format!("{first}.{short}"))
        });
    }
    let (collection, module) = name.rsplit_once('.')?;
    known
        .modules
        .get(collection)
        .is_some_and(|modules| modules.contains(module))
        .then(|| name.to_string())
}

/// What to say of the module a task names as `name`, which Ansible runs as `full_name`.
pub fn describe(name: &str, full_name: &str) -> String {
    if name == full_name {
        format!("module `{name}` is not built into deployer yet")
    } else {
        format!("module `{name}` ({full_name}) is not built into deployer yet")
    }
}

/// A module Ansible has and deployer has not built in.
pub struct NotBuiltIn {
    spec: &'static ModuleSpec,
    full_name: String,
}

impl NotBuiltIn {
    /// The module a task names as `name`, which Ansible runs as `full_name`.
    pub fn new(name: &str, full_name: String) -> Self {
        NotBuiltIn {
            spec: spec_named(name),
            full_name,
        }
    }
}

/// The arguments Ansible takes out of the free-form string of its free-form Windows modules
/// (`win_shell: Get-Item x creates=C:\\y`); the rest of the line is the command.
static FREE_FORM_ARGS: [ArgSpec; 8] = [
    ArgSpec::new("creates", ArgType::Raw),
    ArgSpec::new("removes", ArgType::Raw),
    ArgSpec::new("chdir", ArgType::Raw),
    ArgSpec::new("executable", ArgType::Raw),
    ArgSpec::new("warn", ArgType::Raw),
    ArgSpec::new("stdin", ArgType::Raw),
    ArgSpec::new("stdin_add_newline", ArgType::Raw),
    ArgSpec::new("strip_empty_ends", ArgType::Raw),
];

/// A spec named `name` that takes any argument, or for Ansible's free-form Windows modules
/// (`win_command`, `win_shell`) the free-form command and [`FREE_FORM_ARGS`] only: one per
/// distinct name, kept for the process.
pub(super) fn spec_named(name: &str) -> &'static ModuleSpec {
    let short = name.rsplit('.').next().unwrap_or(name);
    let free_form_only = matches!(short, "win_command" | "win_shell");
    static SPECS: LazyLock<Mutex<HashMap<String, &'static ModuleSpec>>> =
        LazyLock::new(Mutex::default);
    let mut specs = SPECS.lock().expect("module specs lock");
    specs.entry(name.to_string()).or_insert_with(|| {
        Box::leak(Box::new(ModuleSpec {
            name: Box::leak(name.to_string().into_boxed_str()),
            aliases: &[],
            args: if free_form_only { &FREE_FORM_ARGS } else { &[] },
            free_form: true,
            one_of: &[],
            open: !free_form_only,
        }))
    })
}

#[async_trait]
impl Module for NotBuiltIn {
    fn spec(&self) -> &'static ModuleSpec {
        self.spec
    }

    async fn run(
        &self,
        _args: &Map<String, Value>,
        _ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        Ok(ModuleResult::failed(describe(
            self.spec.name,
            &self.full_name,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_like_ansible_core() {
        let full = |name: &str| ansible_module(name);
        assert_eq!(full("pip").as_deref(), Some("ansible.builtin.pip"));
        assert_eq!(
            full("ansible.legacy.pip").as_deref(),
            Some("ansible.builtin.pip")
        );
        assert_eq!(
            full("firewalld").as_deref(),
            Some("ansible.posix.firewalld")
        );
        assert_eq!(
            full("mysql_user").as_deref(),
            Some("community.mysql.mysql_user")
        );
        assert_eq!(
            full("community.general.ufw").as_deref(),
            Some("community.general.ufw")
        );
        assert_eq!(full("comand"), None);
        assert_eq!(
            full("ansible.builtin.firewalld").as_deref(),
            Some("ansible.posix.firewalld")
        );
        assert_eq!(
            full("locale_gen").as_deref(),
            Some("community.general.locale_gen")
        );
        assert_eq!(full("community.general.no_such_module"), None);
    }

    #[test]
    fn one_spec_per_name() {
        let a = NotBuiltIn::new("firewalld", "ansible.posix.firewalld".into());
        let b = NotBuiltIn::new("firewalld", "ansible.posix.firewalld".into());
        assert!(std::ptr::eq(a.spec(), b.spec()));
        assert_eq!(a.spec().name, "firewalld");
    }
}
