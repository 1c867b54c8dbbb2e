//! Inventories: which hosts exist, how they are grouped, and the variables the inventory gives
//! them, read from Ansible's YAML and INI dialects, executable inventories, Terraform states and
//! `constructed` options, and from `group_vars/` and `host_vars/`.
//!
//! Answers the questions the compiler asks: which hosts a pattern selects ([`Inventory::select`],
//! [`Inventory::limit`]), what a host's inventory variables are after Ansible's precedence
//! ([`Inventory::host_vars`]), and the `group_names` and `groups` magic variables. Does not
//! template values (only `constructed` expressions are evaluated); vault-encrypted vars files are
//! decrypted through a [`Vault`].

mod aws_ec2;
mod constructed;
mod graph;
mod host_range;
mod ini;
mod literal;
pub(crate) mod pattern;
mod render;
mod script;
mod sources;
mod terraform;
mod vars_dirs;
mod yaml;

pub use pattern::PatternError;

use std::path::Path;

use serde_json::Value;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::vault::Vault;
use graph::{ALL, Graph};
use vars_dirs::VarsDir;

/// Names that stand for this machine even when the inventory does not list them (Ansible's
/// `C.LOCALHOST`): patterns find them, and they get `ansible_connection: local`.
const LOCALHOST_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Variables by name, in the order they were first set.
pub type Vars = serde_json::Map<String, Value>;

/// Hosts and groups with their variables, as read from an inventory and its vars directories.
#[derive(Debug, Clone)]
pub struct Inventory {
    graph: Graph,
    /// `group_vars/`+`host_vars/` roots: the inventory's first, then each added playbook's.
    vars_dirs: Vec<VarsDir>,
}

impl Inventory {
    /// Loads an inventory file (YAML or INI, told apart by extension, then by content) or a
    /// directory of them (read like Ansible: sorted, recursive), with the `group_vars/` and
    /// `host_vars/` beside the file or inside the directory. Reports every problem found.
    pub fn load(path: &Path) -> Result<Inventory, Diagnostics> {
        Inventory::load_with_vault(path, &Vault::default())
    }

    /// Like [`Inventory::load`], decrypting vault-encrypted `group_vars/` and `host_vars/` files
    /// with `vault` (without a password, such a file is an error naming it).
    pub fn load_with_vault(path: &Path, vault: &Vault) -> Result<Inventory, Diagnostics> {
        let mut errors = Vec::new();
        let mut graph = Graph::new();
        sources::read(path, &mut graph, &mut errors);
        graph.reconcile();
        let mut inventory = Inventory {
            graph,
            vars_dirs: Vec::new(),
        };
        if !sources::is_host_list(path) {
            let vars_root = if path.is_dir() {
                path
            } else {
                path.parent().unwrap_or(Path::new(""))
            };
            inventory.read_vars_dir(vars_root, vault, &mut errors);
        }
        into_result(errors).map(|()| inventory)
    }

    /// Adds the `group_vars/` and `host_vars/` found in `dir` (the playbook's directory); they
    /// override those beside the inventory, as in Ansible.
    pub fn add_vars_dir(&mut self, dir: &Path, vault: &Vault) -> Result<(), Diagnostics> {
        let mut errors = Vec::new();
        self.read_vars_dir(dir, vault, &mut errors);
        into_result(errors)
    }

    /// The hosts an Ansible host pattern selects, in inventory order, without repeats. A name
    /// that matches nothing adds nothing (the caller may warn); `localhost` (or `127.0.0.1`,
    /// `::1`) is found even when not listed, as an implicit local host outside `all`.
    pub fn select(&self, pattern: &str) -> Result<Vec<String>, PatternError> {
        pattern::evaluate(&self.graph, &pattern::split(pattern))
    }

    /// The hosts a `--limit` selects: a host pattern whose `@file` terms are replaced by the
    /// file's lines, one pattern per line. The caller intersects it with each play's hosts.
    pub fn limit(&self, limit: &str) -> Result<Vec<String>, PatternError> {
        pattern::evaluate(&self.graph, &pattern::limit_terms(limit)?)
    }

    /// Every host listed in the inventory, in the order first defined (implicit `localhost`
    /// excluded).
    pub fn hosts(&self) -> impl Iterator<Item = &str> {
        self.graph.hosts.keys().map(String::as_str)
    }

    /// A host's inventory variables merged in Ansible's order, lowest first: the `all` group's
    /// inventory vars, the host's other groups' inventory vars (by depth, then
    /// `ansible_group_priority`, then name), `group_vars/all` (inventory's, then playbooks'),
    /// the other groups' `group_vars/` (same order), the host's inventory vars, then its
    /// `host_vars/`. Empty for a host the inventory does not know, except implicit `localhost`,
    /// which has `ansible_connection: local`.
    pub fn host_vars(&self, host: &str) -> Vars {
        let own = match self.graph.hosts.get(host) {
            Some(found) => found.vars.clone(),
            None if LOCALHOST_NAMES.contains(&host) => {
                Vars::from_iter([("ansible_connection".to_owned(), Value::from("local"))])
            }
            None => return Vars::new(),
        };
        let groups = self.graph.ranked_groups(host);
        let mut vars = self.graph.groups[ALL].vars.clone();
        let mut merge = |more: Option<&Vars>| vars.extend(more.cloned().unwrap_or_default());
        for group in &groups {
            merge(Some(&self.graph.groups[*group].vars));
        }
        for dir in &self.vars_dirs {
            merge(dir.group(ALL));
        }
        for dir in &self.vars_dirs {
            groups.iter().for_each(|group| merge(dir.group(group)));
        }
        merge(Some(&own));
        for dir in &self.vars_dirs {
            merge(dir.host(host));
        }
        vars
    }

    /// The inventory file that first named `host` (Ansible's `inventory_file`), absolute.
    pub fn source_of(&self, host: &str) -> Option<&Path> {
        self.graph.hosts.get(host)?.source.as_deref()
    }

    /// The `group_names` magic variable: the host's groups, direct or inherited, sorted, without
    /// `all` (`ungrouped` included when the host is in it, as in Ansible).
    pub fn groups_of(&self, host: &str) -> Vec<String> {
        self.graph.group_names(host)
    }

    /// The `groups` magic variable: every group (`all` and `ungrouped` first) to its hosts,
    /// children's hosts included, in inventory order.
    pub fn groups_map(&self) -> Vars {
        (self.graph.groups.keys())
            .map(|name| (name.clone(), Value::from(self.graph.group_hosts(name))))
            .collect()
    }

    /// Adds a host at run time (`add_host`): made in `all` when new, `vars` merged into its own,
    /// put in `groups` (made when new). Returns whether anything changed, as Ansible counts it.
    pub fn add_dynamic_host(&mut self, name: &str, groups: &[String], vars: &Vars) -> bool {
        let mut changed = !self.graph.hosts.contains_key(name);
        if changed {
            self.graph.add_host(name, ALL);
        }
        let own = &mut self.graph.hosts[name].vars;
        for (key, value) in vars {
            if own.get(key) != Some(value) {
                own.insert(key.clone(), value.clone());
                changed = true;
            }
        }
        for group in groups {
            if !self.in_group(name, group) {
                self.graph.add_host(name, group);
                changed = true;
            }
        }
        if changed {
            self.graph.reconcile();
        }
        changed
    }

    /// Puts `host` in `group` at run time (`group_by`), making the group, and `parents` with it
    /// as a child, when new. Returns whether anything changed.
    pub fn add_dynamic_group(
        &mut self,
        host: &str,
        group: &str,
        parents: &[String],
    ) -> Result<bool, String> {
        let mut changed = false;
        for parent in parents {
            let linked = self
                .graph
                .groups
                .get(parent)
                .is_some_and(|p| p.children.iter().any(|c| c == group));
            if !linked {
                self.graph.add_child(parent, group)?;
                changed = true;
            }
        }
        if !self.in_group(host, group) {
            self.graph.add_host(host, group);
            changed = true;
        }
        if changed {
            self.graph.reconcile();
        }
        Ok(changed)
    }

    /// Whether `host` was put in `group` directly.
    fn in_group(&self, host: &str, group: &str) -> bool {
        (self.graph.hosts.get(host)).is_some_and(|h| h.groups.iter().any(|g| g == group))
    }

    /// Reads `dir/group_vars/` and `dir/host_vars/` for every known group and host.
    fn read_vars_dir(&mut self, dir: &Path, vault: &Vault, errors: &mut Vec<Diagnostic>) {
        let groups = self.graph.groups.keys().map(String::as_str);
        let hosts = (self.graph.hosts.keys().map(String::as_str)).chain(LOCALHOST_NAMES);
        let vars = VarsDir::load(dir, groups, hosts, vault, errors);
        if !vars.is_empty() {
            self.vars_dirs.push(vars);
        }
    }
}

fn into_result(errors: Vec<Diagnostic>) -> Result<(), Diagnostics> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Diagnostics(errors))
    }
}

#[cfg(test)]
mod tests;
