//! The inventory's structure: hosts, groups, memberships and parent/child edges, and the rules
//! Ansible applies once every source is read (`all` adopts orphan groups, hosts in no group go to
//! `ungrouped`, each group's depth is its longest path from `all`).
//!
//! Knows nothing of file formats, variable files, patterns or precedence.

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;
use serde_json::Value;

use super::Vars;
use super::host_range::HostSpec;

/// The group every host belongs to.
pub(super) const ALL: &str = "all";
/// The group of hosts that are in no other group.
pub(super) const UNGROUPED: &str = "ungrouped";
/// The variable that sets a group's priority among groups of the same depth; never stored as a var.
const GROUP_PRIORITY: &str = "ansible_group_priority";
/// A group's priority when none is set (Ansible's).
const DEFAULT_PRIORITY: i64 = 1;

/// A host and the variables written for it in inventory sources.
#[derive(Debug, Default, Clone)]
pub(super) struct Host {
    /// Variables from the inventory sources, in the order set.
    pub vars: Vars,
    /// The groups the host was put in directly, in the order met.
    pub groups: Vec<String>,
    /// The inventory file that first named the host (`inventory_file`).
    pub source: Option<std::path::PathBuf>,
}

/// A group, its direct members and its place in the group tree.
#[derive(Debug, Default, Clone)]
pub(super) struct Group {
    /// Hosts put in this group directly, in the order met.
    pub hosts: Vec<String>,
    /// Child groups, in the order declared.
    pub children: Vec<String>,
    /// Parent groups, in the order declared.
    pub parents: Vec<String>,
    /// Variables from the inventory sources.
    pub vars: Vars,
    /// `ansible_group_priority`: orders groups of the same depth (higher wins).
    pub priority: i64,
    /// Length of the longest path from `all`, set by [`Graph::reconcile`].
    pub depth: usize,
}

/// Every host and group of an inventory, in the order they were first met.
#[derive(Debug, Clone)]
pub(super) struct Graph {
    /// Hosts by name, in definition order.
    pub hosts: IndexMap<String, Host>,
    /// Groups by name: `all`, `ungrouped`, then the others in definition order.
    pub groups: IndexMap<String, Group>,
    /// The inventory file being read, remembered by the hosts first met in it.
    pub source: Option<std::path::PathBuf>,
}

impl Graph {
    /// An inventory with only `all` and its child `ungrouped`, like Ansible starts with.
    pub fn new() -> Self {
        let mut graph = Graph {
            hosts: IndexMap::new(),
            groups: IndexMap::new(),
            source: None,
        };
        graph.add_group(ALL);
        graph.add_group(UNGROUPED);
        graph.link(ALL, UNGROUPED);
        graph
    }

    /// Declares a group; declaring it again changes nothing.
    pub fn add_group(&mut self, name: &str) {
        if !self.groups.contains_key(name) {
            let group = Group {
                priority: DEFAULT_PRIORITY,
                ..Group::default()
            };
            self.groups.insert(name.to_owned(), group);
        }
    }

    /// Puts a host (created on first sight) in a group (declared if new).
    pub fn add_host(&mut self, host: &str, group: &str) {
        self.add_group(group);
        let source = &self.source;
        let entry = self.hosts.entry(host.to_owned()).or_insert_with(|| Host {
            source: source.clone(),
            ..Host::default()
        });
        push_unique(&mut entry.groups, group);
        push_unique(&mut self.groups[group].hosts, host);
    }

    /// Makes `child` a child of `parent`, declaring both; refuses edges that would close a loop.
    pub fn add_child(&mut self, parent: &str, child: &str) -> Result<(), String> {
        if parent == child {
            return Err(format!("group `{child}` cannot be a child of itself"));
        }
        self.add_group(parent);
        self.add_group(child);
        if self.ancestors(parent).contains(&child) {
            return Err(format!(
                "making `{child}` a child of `{parent}` creates a loop: `{parent}` is already \
                 inside `{child}`"
            ));
        }
        self.link(parent, child);
        Ok(())
    }

    /// Sets a group variable; `ansible_group_priority` sets the priority instead.
    pub fn set_group_var(&mut self, group: &str, key: &str, value: Value) -> Result<(), String> {
        self.add_group(group);
        let group = &mut self.groups[group];
        if key != GROUP_PRIORITY {
            group.vars.insert(key.to_owned(), value);
            return Ok(());
        }
        let priority = match &value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        group.priority = priority
            .ok_or_else(|| format!("`{GROUP_PRIORITY}` must be an integer, not {value}"))?;
        Ok(())
    }

    /// Puts the hosts of a written host name in a group, with its port as `ansible_port`, then
    /// `vars`, set on each.
    pub fn add_hosts(&mut self, spec: &HostSpec, group: &str, vars: &Vars) {
        for name in &spec.names {
            self.add_host(name, group);
            let host = &mut self.hosts[name.as_str()];
            if let Some(port) = spec.port {
                host.vars.insert("ansible_port".to_owned(), port.into());
            }
            host.vars.extend(vars.clone());
        }
    }

    /// Applies Ansible's rules once every source is read: groups without a parent become children
    /// of `all`; a host in no group but `all` joins `ungrouped`, and leaves it when it is in
    /// another group; depths are computed.
    pub fn reconcile(&mut self) {
        let orphans: Vec<String> = (self.groups.iter())
            .filter(|(name, group)| *name != ALL && group.parents.is_empty())
            .map(|(name, _)| name.clone())
            .collect();
        for orphan in &orphans {
            self.link(ALL, orphan);
        }
        let names: Vec<String> = self.hosts.keys().cloned().collect();
        for host in &names {
            let groups = self.host_groups(host);
            let lone = groups.iter().all(|g| *g == ALL || *g == UNGROUPED);
            let in_ungrouped = groups.contains(&UNGROUPED);
            if in_ungrouped && !lone {
                self.groups[UNGROUPED].hosts.retain(|h| h != host);
                self.hosts[host.as_str()].groups.retain(|g| g != UNGROUPED);
            } else if !in_ungrouped && lone {
                self.add_host(host, UNGROUPED);
            }
        }
        self.compute_depths();
    }

    /// Every group a host is in, directly or through a parent, `all` included; unordered.
    pub fn host_groups(&self, host: &str) -> Vec<&str> {
        let Some(host) = self.hosts.get(host) else {
            return Vec::new();
        };
        let mut seen: Vec<&str> = Vec::new();
        for group in &host.groups {
            for name in std::iter::once(group.as_str()).chain(self.ancestors(group)) {
                if !seen.contains(&name) {
                    seen.push(name);
                }
            }
        }
        seen
    }

    /// The hosts of a group and of its descendants: its own first, then its children's level by
    /// level, each once (Ansible's order).
    pub fn group_hosts(&self, group: &str) -> Vec<&str> {
        let mut hosts = Vec::new();
        let mut seen = HashSet::new();
        for name in self.walk(group, |g| &g.children) {
            for host in &self.groups[name].hosts {
                if seen.insert(host.as_str()) {
                    hosts.push(host.as_str());
                }
            }
        }
        hosts
    }

    /// The host's groups other than `all`, lowest precedence first: by depth, then
    /// `ansible_group_priority`, then name.
    pub fn ranked_groups(&self, host: &str) -> Vec<&str> {
        let mut groups: Vec<&str> = (self.host_groups(host).into_iter())
            .filter(|g| *g != ALL)
            .collect();
        groups.sort_by_key(|name| {
            let group = &self.groups[*name];
            (group.depth, group.priority, *name)
        });
        groups
    }

    /// The `group_names` magic variable: the host's groups but `all`, sorted.
    pub fn group_names(&self, host: &str) -> Vec<String> {
        let mut names: Vec<String> = (self.host_groups(host).into_iter())
            .filter(|g| *g != ALL)
            .map(str::to_owned)
            .collect();
        names.sort();
        names
    }

    /// A host's variables from the inventory sources alone (no vars files): `all`'s, its other
    /// groups' in precedence order, then its own.
    pub fn source_vars(&self, host: &str) -> Vars {
        let mut vars = self.groups[ALL].vars.clone();
        for group in self.ranked_groups(host) {
            vars.extend(self.groups[group].vars.clone());
        }
        vars.extend(self.hosts[host].vars.clone());
        vars
    }

    /// The parents of a group, their parents and so on, each once (the group itself excluded).
    fn ancestors(&self, group: &str) -> Vec<&str> {
        let mut walk = self.walk(group, |g| &g.parents);
        walk.remove(0);
        walk
    }

    /// Breadth-first walk from `start` along `next` edges, `start` first, each group once.
    fn walk<'a>(&'a self, start: &str, next: fn(&Group) -> &Vec<String>) -> Vec<&'a str> {
        let Some((start, _)) = self.groups.get_key_value(start) else {
            return Vec::new();
        };
        let mut order = vec![start.as_str()];
        let mut seen = HashSet::from([start.as_str()]);
        let mut index = 0;
        while let Some(name) = order.get(index).copied() {
            for other in next(&self.groups[name]) {
                if seen.insert(other.as_str()) {
                    order.push(other);
                }
            }
            index += 1;
        }
        order
    }

    /// Adds the edge without checks; both groups exist.
    fn link(&mut self, parent: &str, child: &str) {
        push_unique(&mut self.groups[parent].children, child);
        push_unique(&mut self.groups[child].parents, parent);
    }

    /// Sets each group's depth to its longest path from `all` (the graph has no loops).
    fn compute_depths(&mut self) {
        let mut depths: HashMap<String, usize> = HashMap::new();
        let names: Vec<String> = self.groups.keys().cloned().collect();
        for name in &names {
            let depth = self.depth_of(name, &mut depths);
            self.groups[name.as_str()].depth = depth;
        }
    }

    fn depth_of(&self, name: &str, memo: &mut HashMap<String, usize>) -> usize {
        if let Some(depth) = memo.get(name) {
            return *depth;
        }
        let parents = &self.groups[name].parents;
        let depth = (parents.iter())
            .map(|p| self.depth_of(p, memo) + 1)
            .max()
            .unwrap_or(0);
        memo.insert(name.to_owned(), depth);
        depth
    }
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|i| i == item) {
        list.push(item.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Graph {
        let mut graph = Graph::new();
        graph.add_host("web1", "web");
        graph.add_host("db1", "db");
        graph.add_host("lone", ALL);
        graph.add_child("prod", "db").unwrap();
        graph.add_child("prod", "web").unwrap();
        graph.add_child("eu", "prod").unwrap();
        graph.reconcile();
        graph
    }

    #[test]
    fn orphan_groups_join_all_and_lone_hosts_join_ungrouped() {
        let graph = sample();
        assert_eq!(graph.groups[ALL].children, ["ungrouped", "eu"]);
        assert_eq!(graph.groups[UNGROUPED].hosts, ["lone"]);
        assert_eq!(graph.group_hosts(ALL), ["lone", "db1", "web1"]);
        assert_eq!(graph.group_hosts("prod"), ["db1", "web1"]);
    }

    #[test]
    fn depth_is_the_longest_path_from_all() {
        let graph = sample();
        let depth = |g: &str| graph.groups[g].depth;
        assert_eq!(
            (depth(ALL), depth("eu"), depth("prod"), depth("web")),
            (0, 1, 2, 3)
        );
    }

    #[test]
    fn a_host_in_a_real_group_leaves_ungrouped() {
        let mut graph = Graph::new();
        graph.add_host("web1", UNGROUPED);
        graph.add_host("web1", "web");
        graph.reconcile();
        assert!(graph.groups[UNGROUPED].hosts.is_empty());
        let mut groups = graph.host_groups("web1");
        groups.sort();
        assert_eq!(groups, ["all", "web"]);
    }

    #[test]
    fn loops_are_refused() {
        let mut graph = sample();
        assert!(graph.add_child("web", "eu").unwrap_err().contains("loop"));
        assert!(
            graph
                .add_child("web", "web")
                .unwrap_err()
                .contains("itself")
        );
    }

    #[test]
    fn group_priority_is_not_a_var() {
        let mut graph = Graph::new();
        graph
            .set_group_var("web", GROUP_PRIORITY, Value::from("7"))
            .unwrap();
        assert_eq!(graph.groups["web"].priority, 7);
        assert!(graph.groups["web"].vars.is_empty());
        let err = graph
            .set_group_var("web", GROUP_PRIORITY, Value::from("high"))
            .unwrap_err();
        assert!(err.contains("integer"), "{err}");
    }
}
