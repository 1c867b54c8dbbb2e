//! Host names as written in inventory files: an optional `:port`, and Ansible's ranges
//! (`web[01:03]`, `db-[a:c]`, `node[1:10:2]`, several in one name) expanded into the hosts they
//! stand for.
//!
//! Does not check that the names are valid DNS names or addresses; Ansible does not either.

use std::net::IpAddr;

/// The most hosts one written name may expand to; more is surely a typo.
const MAX_HOSTS: usize = 100_000;
/// The letters an alphabetic range walks through, in Python's `string.ascii_letters` order.
const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// What one written host name stands for.
#[derive(Debug, PartialEq)]
pub(super) struct HostSpec {
    /// The host names, ranges expanded, in order.
    pub names: Vec<String>,
    /// The port written after the name (`web1:2222`), which becomes `ansible_port`.
    pub port: Option<u16>,
}

/// Splits off a port and expands the ranges of a written host name.
pub(super) fn expand(written: &str) -> Result<HostSpec, String> {
    let (name, port) = split_port(written);
    let port = match port {
        Some(port) => Some(
            port.parse::<u16>()
                .map_err(|_| format!("port {port} of `{written}` is not between 0 and 65535"))?,
        ),
        None if name.ends_with(':') => {
            return Err(format!(
                "host `{written}` ends with `:`, which is reserved for a port number"
            ));
        }
        None => None,
    };
    let names = expand_ranges(name)?;
    if names.len() > MAX_HOSTS {
        return Err(format!(
            "`{written}` expands to more than {MAX_HOSTS} hosts"
        ));
    }
    Ok(HostSpec { names, port })
}

/// Splits `host:port` and `[address]:port`; an IPv6 address without brackets keeps its colons.
fn split_port(written: &str) -> (&str, Option<&str>) {
    let is_port = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some((inner, port)) = written
        .strip_prefix('[')
        .and_then(|rest| rest.rsplit_once("]:"))
        && is_port(port)
        && (inner.parse::<IpAddr>().is_ok() || !inner.contains(':'))
    {
        return (inner, Some(port));
    }
    let mut depth = 0;
    let mut colons = Vec::new();
    for (i, c) in written.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ':' if depth == 0 => colons.push(i),
            _ => {}
        }
    }
    match colons[..] {
        [i] if i > 0 && is_port(&written[i + 1..]) => (&written[..i], Some(&written[i + 1..])),
        _ => (written, None),
    }
}

/// Expands every `[begin:end(:step)]` in a name, leftmost first (Ansible's order).
fn expand_ranges(name: &str) -> Result<Vec<String>, String> {
    let Some(open) = name.find('[') else {
        return Ok(vec![name.to_owned()]);
    };
    let close = (name[open..].find(']').map(|i| open + i))
        .ok_or_else(|| format!("the range in `{name}` has no closing `]`"))?;
    let (head, range, tail) = (&name[..open], &name[open + 1..close], &name[close + 1..]);
    let items = range_items(range).map_err(|e| format!("bad host range `[{range}]`: {e}"))?;
    let tails = expand_ranges(tail)?;
    if items.len().saturating_mul(tails.len()) > MAX_HOSTS {
        return Err(format!("`{name}` expands to more than {MAX_HOSTS} hosts"));
    }
    let mut names = Vec::with_capacity(items.len() * tails.len());
    for item in &items {
        for rest in &tails {
            names.push(format!("{head}{item}{rest}"));
        }
    }
    Ok(names)
}

/// The values of one range: numbers (zero-padded when `begin` is) or single letters.
fn range_items(range: &str) -> Result<Vec<String>, String> {
    let (begin, end, step) = match range.split(':').collect::<Vec<_>>()[..] {
        [begin, end] => (begin, end, "1"),
        [begin, end, step] => (begin, end, step),
        _ => return Err("a range is [begin:end] or [begin:end:step]".into()),
    };
    let begin = if begin.is_empty() { "0" } else { begin };
    if end.is_empty() {
        return Err("the range has no end".into());
    }
    let step = (step.parse::<usize>().ok().filter(|s| *s > 0))
        .ok_or_else(|| format!("step `{step}` is not a positive integer"))?;
    if let (Some(b), Some(e)) = (letter_index(begin), letter_index(end)) {
        if b > e {
            return Err(format!("`{begin}` comes after `{end}`"));
        }
        let letters = LETTERS[b..=e].chars().step_by(step);
        return Ok(letters.map(String::from).collect());
    }
    let number = |s: &str| {
        s.parse::<u64>()
            .map_err(|_| format!("`{s}` is neither a number nor a single letter"))
    };
    let (first, last) = (number(begin)?, number(end)?);
    if first > last {
        return Err(format!("`{begin}` is greater than `{end}`"));
    }
    let width = if begin.len() > 1 && begin.starts_with('0') {
        if begin.len() != end.len() {
            return Err("a zero-padded range needs begin and end of the same length".into());
        }
        begin.len()
    } else {
        0
    };
    if (last - first) / step as u64 >= MAX_HOSTS as u64 {
        return Err(format!("it stands for more than {MAX_HOSTS} hosts"));
    }
    let numbers = (first..=last).step_by(step);
    Ok(numbers.map(|n| format!("{n:0width$}")).collect())
}

fn letter_index(s: &str) -> Option<usize> {
    (s.len() == 1).then(|| LETTERS.find(s)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_like_ansible() {
        let cases: &[(&str, &[&str], Option<u16>)] = &[
            ("web1", &["web1"], None),
            (
                "web[01:03].example.com",
                &[
                    "web01.example.com",
                    "web02.example.com",
                    "web03.example.com",
                ],
                None,
            ),
            ("db-[a:c]", &["db-a", "db-b", "db-c"], None),
            ("n[1:10:4]", &["n1", "n5", "n9"], None),
            ("n[:2]", &["n0", "n1", "n2"], None),
            ("r[1:2]c[a:b]", &["r1ca", "r1cb", "r2ca", "r2cb"], None),
            ("x[y:B]", &["xy", "xz", "xA", "xB"], None),
            ("web1:2222", &["web1"], Some(2222)),
            ("web[1:2]:22", &["web1", "web2"], Some(22)),
            ("[fe80::1]:22", &["fe80::1"], Some(22)),
            ("fe80::1", &["fe80::1"], None),
            ("10.0.0.[1:2]", &["10.0.0.1", "10.0.0.2"], None),
        ];
        for (written, names, port) in cases {
            let spec = expand(written).unwrap_or_else(|e| panic!("{written}: {e}"));
            assert_eq!(spec.names, *names, "{written}");
            assert_eq!(spec.port, *port, "{written}");
        }
    }

    #[test]
    fn bad_ranges_say_why() {
        let cases = [
            ("web[1]", "[begin:end]"),
            ("web[1:]", "no end"),
            ("web[1:3", "no closing"),
            ("web[01:100]", "same length"),
            ("web[3:1]", "greater than"),
            ("web[c:a]", "comes after"),
            ("web[1:3:0]", "positive"),
            ("web[a:5]", "neither a number"),
            ("web1:", "reserved for a port"),
            ("web1:99999", "between 0 and 65535"),
            ("w[0:999999]", "more than"),
            ("w[0:999]x[0:999]", "more than"),
        ];
        for (written, expected) in cases {
            let err = expand(written).unwrap_err();
            assert!(err.contains(expected), "{written}: {err}");
        }
    }
}
