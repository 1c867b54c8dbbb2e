//! The inventory as `ansible-inventory` prints it: `--list` JSON (groups with their direct hosts
//! and children, `_meta.hostvars` with every host's merged vars, keys sorted) and `--graph` text.
//!
//! Builds values and strings only; printing them is the caller's job.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::Inventory;
use super::graph::ALL;

impl Inventory {
    /// The `ansible-inventory --list` document: one entry per non-empty group (`hosts`: direct
    /// members, `children`), and `_meta.hostvars` with each host's merged variables.
    pub fn to_list_json(&self) -> Value {
        let mut list = Map::new();
        self.list_group(ALL, &mut list, &mut HashSet::new());
        let hostvars: Map<String, Value> = (self.graph.group_hosts(ALL).into_iter())
            .map(|host| (host.to_owned(), self.host_vars(host)))
            .filter(|(_, vars)| !vars.is_empty())
            .map(|(host, vars)| (host, Value::Object(vars)))
            .collect();
        let meta = Map::from_iter([("hostvars".to_owned(), Value::Object(hostvars))]);
        list.insert("_meta".to_owned(), Value::Object(meta));
        sort_keys(Value::Object(list))
    }

    /// The `ansible-inventory --graph` tree from `group` (`all` when `None`), or `None` when there
    /// is no such group. Lines are `@group:` and host names, indented by `  |` per level.
    pub fn to_graph(&self, group: Option<&str>) -> Option<String> {
        let group = group.unwrap_or(ALL);
        self.graph.groups.contains_key(group).then(|| {
            let mut lines = Vec::new();
            self.graph_lines(group, 0, &mut lines);
            lines.join("\n")
        })
    }

    fn list_group(&self, name: &str, list: &mut Map<String, Value>, seen: &mut HashSet<String>) {
        let group = &self.graph.groups[name];
        let mut entry = Map::new();
        let names = |names: &[String]| Value::from(names.to_vec());
        if name != ALL && !group.hosts.is_empty() {
            entry.insert("hosts".to_owned(), names(&group.hosts));
        }
        if !group.children.is_empty() {
            entry.insert("children".to_owned(), names(&group.children));
        }
        for child in &group.children {
            if seen.insert(child.clone()) {
                self.list_group(child, list, seen);
            }
        }
        if !entry.is_empty() {
            list.insert(name.to_owned(), Value::Object(entry));
        }
    }

    fn graph_lines(&self, name: &str, depth: usize, lines: &mut Vec<String>) {
        let line = |text: &str, depth: usize| match depth {
            0 => text.to_owned(),
            _ => format!("{}--{text}", "  |".repeat(depth)),
        };
        lines.push(line(&format!("@{name}:"), depth));
        let group = &self.graph.groups[name];
        for child in &group.children {
            self.graph_lines(child, depth + 1, lines);
        }
        if name != ALL {
            lines.extend(group.hosts.iter().map(|host| line(host, depth + 1)));
        }
    }
}

/// The value with every object's keys in sorted order, like Python's `json.dumps(sort_keys=True)`.
fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::inventory::tests::sample;

    /// What `ansible-inventory --list` prints for the sample (without 2.19's `profile`).
    #[test]
    fn list_json_has_ansible_inventory_shape() {
        let db = json!({"env": "prod", "num": 42, "w": "0644", "x": [1, 2], "ok": true});
        let web = json!({"env": "prod", "http_port": 80, "msg": "hello world", "num": 42});
        let proxy = json!({"ansible_port": 2222, "env": "all"});
        let expected = json!({
            "_meta": {"hostvars": {
                "db-a": db, "db-b": db, "db-c": db,
                "lone1": {"a": 1, "ansible_host": "10.0.0.9", "env": "all"},
                "proxy1": proxy, "proxy3": proxy, "proxy5": proxy,
                "web01.example.com": web, "web02.example.com": web, "web03.example.com": web,
            }},
            "all": {"children": ["ungrouped", "eu"]},
            "db": {"hosts": ["db-a", "db-b", "db-c"]},
            "edge": {"hosts": ["proxy1", "proxy3", "proxy5"]},
            "eu": {"children": ["prod", "edge"]},
            "prod": {"children": ["web", "db"]},
            "ungrouped": {"hosts": ["lone1"]},
            "web": {"hosts": ["web01.example.com", "web02.example.com", "web03.example.com", "db-a"]}
        });
        let list = sample().to_list_json();
        assert_eq!(list, expected);
        let keys: Vec<&String> = list.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "_meta",
                "all",
                "db",
                "edge",
                "eu",
                "prod",
                "ungrouped",
                "web"
            ]
        );
        let db_a: Vec<&String> = list["_meta"]["hostvars"]["db-a"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(db_a, ["env", "num", "ok", "w", "x"]);
    }

    /// What `ansible-inventory --graph` prints for the sample.
    #[test]
    fn graph_has_ansible_inventory_shape() {
        let expected = "\
@all:
  |--@ungrouped:
  |  |--lone1
  |--@eu:
  |  |--@prod:
  |  |  |--@web:
  |  |  |  |--web01.example.com
  |  |  |  |--web02.example.com
  |  |  |  |--web03.example.com
  |  |  |  |--db-a
  |  |  |--@db:
  |  |  |  |--db-a
  |  |  |  |--db-b
  |  |  |  |--db-c
  |  |--@edge:
  |  |  |--proxy1
  |  |  |--proxy3
  |  |  |--proxy5";
        let inventory = sample();
        assert_eq!(inventory.to_graph(None).unwrap(), expected);
        let edge = "@edge:\n  |--proxy1\n  |--proxy3\n  |--proxy5";
        assert_eq!(inventory.to_graph(Some("edge")).unwrap(), edge);
        assert_eq!(inventory.to_graph(Some("nosuch")), None);
    }
}
