//! Python requirements as the pip module reads them: the names given (`django>1.1`, `<2`
//! rejoined as Ansible rejoins them), canonical names (PEP 503) and whether an installed version
//! satisfies a requirement's specifiers (the common PEP 440 comparisons).

use std::cmp::Ordering;

/// The comparison operators, longest first (so `==` is not read as `=`).
const OPERATORS: [&str; 8] = ["===", "~=", "==", "!=", "<=", ">=", "<", ">"];

/// One requirement given in `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The text given (passed to pip as it is).
    pub text: String,
    /// The canonical name, when the text is a plain requirement (not a path or URL).
    pub name: Option<String>,
    /// Its specifiers (`>=`, `1.0`).
    pub specs: Vec<(String, String)>,
}

impl Requirement {
    /// Reads a requirement; a path, URL or anything unusual keeps `name` unset.
    pub fn parse(text: &str) -> Requirement {
        let mut requirement = Requirement {
            text: text.to_string(),
            name: None,
            specs: Vec::new(),
        };
        let text = text.trim();
        let end = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)))
            .unwrap_or(text.len());
        let (name, mut rest) = text.split_at(end);
        if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return requirement;
        }
        if let Some(extras) = rest.strip_prefix('[') {
            let Some(close) = extras.find(']') else {
                return requirement;
            };
            rest = &extras[close + 1..];
        }
        let mut specs = Vec::new();
        for spec in rest.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let Some(op) = OPERATORS.iter().find(|op| spec.starts_with(**op)) else {
                return requirement;
            };
            specs.push((op.to_string(), spec[op.len()..].trim().to_string()));
        }
        requirement.name = Some(canonical(name));
        requirement.specs = specs;
        requirement
    }

    /// It names a version (Ansible's `has_version_specifier`).
    pub fn has_specifier(&self) -> bool {
        !self.specs.is_empty()
    }

    /// `version` satisfies every specifier (pre-releases allowed, as Ansible asks).
    pub fn satisfied_by(&self, version: &str) -> bool {
        self.name.is_some()
            && self
                .specs
                .iter()
                .all(|(op, wanted)| matches(op, version, wanted))
    }
}

/// PEP 503's canonical name: runs of `-_.` become `-`, lower case.
pub fn canonical(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if "-_.".contains(c) {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The names given, rejoined as Ansible's `_recover_package_name` does: `['django>1', '<2']`
/// and `['django>1,<2']` are both one requirement.
pub fn recover(names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut in_brackets = false;
    for part in names.iter().flat_map(|n| n.split(',')) {
        let is_name = !OPERATORS
            .iter()
            .chain(&["="])
            .any(|op| part.trim_start().starts_with(op));
        if (is_name && !in_brackets) || out.is_empty() {
            out.push(part.to_string());
        } else if let Some(last) = out.last_mut() {
            last.push(',');
            last.push_str(part);
        }
        if part.contains('[') {
            in_brackets = true;
        }
        if in_brackets && part.contains(']') {
            in_brackets = false;
        }
    }
    out
}

fn matches(op: &str, version: &str, wanted: &str) -> bool {
    if op == "===" {
        return version == wanted;
    }
    if let Some(prefix) = wanted.strip_suffix(".*") {
        let prefixed =
            compare(&release(version, prefix.split('.').count()), prefix) == Ordering::Equal;
        return match op {
            "==" => prefixed,
            "!=" => !prefixed,
            _ => false,
        };
    }
    let order = compare(version, wanted);
    match op {
        "==" => order == Ordering::Equal,
        "!=" => order != Ordering::Equal,
        "<=" => order != Ordering::Greater,
        ">=" => order != Ordering::Less,
        "<" => order == Ordering::Less,
        ">" => order == Ordering::Greater,
        "~=" => {
            let parts: Vec<&str> = wanted.split('.').collect();
            let prefix = parts[..parts.len().saturating_sub(1).max(1)].join(".");
            order != Ordering::Less
                && compare(&release(version, prefix.split('.').count()), &prefix) == Ordering::Equal
        }
        _ => false,
    }
}

/// The first `n` release numbers of `version`.
fn release(version: &str, n: usize) -> String {
    version.split('.').take(n).collect::<Vec<_>>().join(".")
}

/// Compares release numbers, then a pre-release (`1.0rc1`, `1.0.dev1`) before the release.
fn compare(a: &str, b: &str) -> Ordering {
    let (ra, sa) = split(a);
    let (rb, sb) = split(b);
    let len = ra.len().max(rb.len());
    for i in 0..len {
        let order = ra.get(i).unwrap_or(&0).cmp(rb.get(i).unwrap_or(&0));
        if order != Ordering::Equal {
            return order;
        }
    }
    match (sa.is_empty(), sb.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => sa.cmp(&sb),
    }
}

/// The release numbers and whatever follows them.
fn split(version: &str) -> (Vec<u64>, String) {
    let version = version.trim().trim_start_matches(['v', 'V']);
    let mut numbers = Vec::new();
    let mut rest = version;
    loop {
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        numbers.push(rest[..end].parse().unwrap_or(u64::MAX));
        rest = &rest[end..];
        match rest.strip_prefix('.') {
            Some(next) if next.starts_with(|c: char| c.is_ascii_digit()) => rest = next,
            _ => break,
        }
    }
    (numbers, rest.trim_start_matches('.').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_specifiers_are_read_and_matched() {
        let r = Requirement::parse("Django_Rest[x]>=1.2,<2");
        assert_eq!(r.name.as_deref(), Some("django-rest"));
        assert!(r.satisfied_by("1.10") && !r.satisfied_by("2.0") && !r.satisfied_by("1.1"));
        assert!(Requirement::parse("a==1.*").satisfied_by("1.4"));
        assert!(Requirement::parse("a~=1.4").satisfied_by("1.9"));
        assert!(!Requirement::parse("a~=1.4.2").satisfied_by("1.5"));
        assert!(!Requirement::parse("a>=1.0").satisfied_by("1.0rc1"));
        assert!(Requirement::parse("/tmp/x.whl").name.is_none());
        assert!(!Requirement::parse("/tmp/x.whl").satisfied_by("1"));
        let given = [
            "django>1.11.1".to_string(),
            "<1.11.3".into(),
            "ipaddress".into(),
        ];
        assert_eq!(recover(&given), ["django>1.11.1,<1.11.3", "ipaddress"]);
    }
}
