//! `--tags` and `--skip-tags`, with Ansible's special tags `always`, `never`, `all`, `tagged`
//! and `untagged`.

/// Which tasks a run selects by tag.
#[derive(Debug, Clone, Default)]
pub struct TagFilter {
    /// `--tags`: when not empty, only tasks with one of these run (plus `always`).
    pub only: Vec<String>,
    /// `--skip-tags`: tasks with one of these never run.
    pub skip: Vec<String>,
}

impl TagFilter {
    /// Whether a task with `tags` runs.
    pub fn selects(&self, tags: &[String]) -> bool {
        let has = |t: &str| tags.iter().any(|x| x == t);
        let matches = |list: &[String]| {
            list.iter().any(|wanted| match wanted.as_str() {
                "all" => !has("never"),
                "tagged" => !tags.is_empty(),
                "untagged" => tags.is_empty(),
                other => has(other),
            })
        };
        if matches(&self.skip) {
            return false;
        }
        if self.only.is_empty() {
            return !has("never");
        }
        has("always") || matches(&self.only)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(only: &[&str], skip: &[&str]) -> TagFilter {
        TagFilter {
            only: only.iter().map(|s| s.to_string()).collect(),
            skip: skip.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn tag_selection_follows_ansible() {
        // (--tags, --skip-tags, the task's tags, selected?)
        type Case<'a> = (&'a [&'a str], &'a [&'a str], &'a [&'a str], bool);
        let cases: &[Case] = &[
            (&[], &[], &[], true),
            (&[], &[], &["never"], false),
            (&["deploy"], &[], &["deploy"], true),
            (&["deploy"], &[], &["config"], false),
            (&["deploy"], &[], &["always"], true),
            (&["deploy"], &["always"], &["always"], false),
            (&[], &["config"], &["config", "x"], false),
            (&["never"], &[], &["never"], true),
            (&["tagged"], &[], &[], false),
            (&["untagged"], &[], &[], true),
            (&["all"], &[], &["never"], false),
        ];
        for (only, skip, task, expected) in cases {
            assert_eq!(
                filter(only, skip).selects(&tags(task)),
                *expected,
                "{only:?} {skip:?} {task:?}"
            );
        }
    }
}
