//! Filters on text: Jinja2's `truncate`, Ansible's `strftime`, regular expressions (Python's `re` semantics as far as Rust's `regex`
//! allows), POSIX paths, shell quoting and comment blocks.

use minijinja::value::{Kwargs, Rest};
use minijinja::{Environment, Error, Value};
use regex::{Captures, Regex, RegexBuilder};

use super::filters::failure;

/// Adds the text filters to `env`.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("truncate", truncate);
    env.add_filter("strftime", strftime);
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_search", regex_search);
    env.add_filter("regex_findall", regex_findall);
    env.add_filter("basename", basename);
    env.add_filter("dirname", dirname);
    env.add_filter("splitext", splitext);
    env.add_filter("quote", quote);
    env.add_filter("comment", comment);
    env.add_filter("regex_escape", regex_escape);
    env.add_filter("path_join", path_join);
    env.add_filter("expanduser", expanduser);
    env.add_filter("realpath", realpath);
}

/// The parts of a `comment` style: (beginning, decoration, end).
fn comment_style(style: &str) -> Result<(&'static str, &'static str, &'static str), Error> {
    Ok(match style {
        "plain" => ("", "# ", ""),
        "erlang" => ("", "% ", ""),
        "c" => ("", "// ", ""),
        "cblock" => ("/*", " * ", " */"),
        "xml" => ("<!--", " - ", "-->"),
        other => {
            return Err(failure(format!(
                "Invalid style '{other}'. Available styles: plain, erlang, c, cblock, xml"
            )));
        }
    })
}

/// `comment(style='plain', decoration=..., prefix=..., postfix=..., beginning=..., end=...,
/// prefix_count=1, postfix_count=1, newline='\n')`: the text as a comment block.
fn comment(text: &str, style: Option<&str>, kwargs: Kwargs) -> Result<String, Error> {
    let (beginning, decoration, end) = comment_style(style.unwrap_or("plain"))?;
    let text_of = |key: &str, default: &str| -> Result<String, Error> {
        Ok(kwargs
            .get::<Option<String>>(key)?
            .unwrap_or_else(|| default.to_string()))
    };
    let given = kwargs.get::<Option<String>>("decoration")?;
    let prepostfix = given.clone().unwrap_or_else(|| decoration.to_string());
    let newline = text_of("newline", "\n")?;
    let beginning = text_of("beginning", beginning)?;
    let end = text_of("end", end)?;
    let prefix = text_of("prefix", prepostfix.trim_end())?;
    let postfix = text_of("postfix", prepostfix.trim_end())?;
    let decoration = given.unwrap_or_else(|| decoration.to_string());
    let prefix_count = kwargs.get::<Option<usize>>("prefix_count")?.unwrap_or(1);
    let postfix_count = kwargs.get::<Option<usize>>("postfix_count")?.unwrap_or(1);
    kwargs.assert_all_used()?;
    let mut out = String::new();
    if !beginning.is_empty() {
        out.push_str(&format!("{beginning}{newline}"));
    }
    if !prefix.is_empty() {
        let line = match prefix == newline {
            true => newline.clone(),
            false => format!("{prefix}{newline}"),
        };
        out.push_str(&line.repeat(prefix_count));
    }
    let body = format!(
        "{decoration}{}",
        text.replace(&newline, &format!("{newline}{decoration}"))
    );
    out.push_str(&body.replace(
        &format!("{decoration}{newline}"),
        &format!("{}{newline}", decoration.trim_end()),
    ));
    for _ in 0..postfix_count {
        out.push_str(&format!("{newline}{postfix}"));
    }
    if !end.is_empty() {
        out.push_str(&format!("{newline}{end}"));
    }
    Ok(out)
}

/// `regex_escape(re_type='python')`: Python's `re.escape` (or POSIX basic escaping).
fn regex_escape(value: &str, re_type: Option<&str>) -> Result<String, Error> {
    let special: &[char] = match re_type.unwrap_or("python") {
        "python" => &[
            '(', ')', '[', ']', '{', '}', '?', '*', '+', '-', '|', '^', '$', '\\', '.', '&', '~',
            '#', ' ', '\t', '\n', '\r', '\x0b', '\x0c',
        ],
        "posix_basic" => &[']', '.', '[', '^', '$', '*', '\\'],
        other => return Err(failure(format!("Invalid regex type ({other})"))),
    };
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if special.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(out)
}

/// `path_join`: Python's `os.path.join` of a list (an absolute part restarts the path).
fn path_join(value: &Value) -> Result<String, Error> {
    if let Some(single) = value.as_str() {
        return Ok(single.to_string());
    }
    let mut joined = String::new();
    for part in value
        .try_iter()
        .map_err(|_| failure("|path_join expects string or sequence"))?
    {
        let part = part.to_string();
        if part.starts_with('/') || joined.is_empty() {
            joined = part;
        } else if joined.ends_with('/') {
            joined.push_str(&part);
        } else {
            joined = format!("{joined}/{part}");
        }
    }
    Ok(joined)
}

/// `expanduser`: a leading `~` replaced by the controller user's home.
fn expanduser(path: &str) -> String {
    match (path.strip_prefix('~'), std::env::var("HOME")) {
        (Some(rest), Ok(home)) if rest.is_empty() || rest.starts_with('/') => {
            format!("{home}{rest}")
        }
        _ => path.to_string(),
    }
}

/// `realpath`: the controller path with links resolved (as it is when it does not exist).
fn realpath(path: &str) -> String {
    std::fs::canonicalize(path).map_or_else(|_| path.to_string(), |p| p.display().to_string())
}

/// Compiles `pattern` with the `ignorecase`/`multiline` keyword flags.
pub(super) fn compile(pattern: &str, kwargs: &Kwargs) -> Result<Regex, Error> {
    let ignorecase = kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
    let multiline = kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false);
    RegexBuilder::new(pattern)
        .case_insensitive(ignorecase)
        .multi_line(multiline)
        .build()
        .map_err(|e| failure(format!("invalid regular expression {pattern:?}: {e}")))
}

/// `regex_replace(pattern, replacement, ignorecase=False, multiline=False, count=0)`:
/// `\1`, `\g<1>` and `\g<name>` in the replacement refer to groups.
fn regex_replace(
    value: &str,
    pattern: &str,
    replacement: Option<&str>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let regex = compile(pattern, &kwargs)?;
    let count = kwargs.get::<Option<usize>>("count")?.unwrap_or(0);
    kwargs.assert_all_used()?;
    let template = python_replacement(replacement.unwrap_or(""));
    Ok(regex.replacen(value, count, template.as_str()).into_owned())
}

/// A Python `re.sub` replacement written in `regex`'s syntax (`$` escaped, groups as `${n}`).
fn python_replacement(replacement: &str) -> String {
    static GROUP: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r"\\(?:g<(\w+)>|(\d{1,2})|(.))|\$").expect("the group pattern is valid")
    });
    GROUP
        .replace_all(replacement, |caps: &Captures| {
            if let Some(group) = caps.get(1).or_else(|| caps.get(2)) {
                format!("${{{}}}", group.as_str())
            } else if let Some(escaped) = caps.get(3) {
                match escaped.as_str() {
                    "n" => "\n".into(),
                    "t" => "\t".into(),
                    "r" => "\r".into(),
                    "\\" => "\\".into(),
                    other => format!("\\{}", other.replace('$', "$$")),
                }
            } else {
                "$$".into()
            }
        })
        .into_owned()
}

/// `regex_search(pattern, '\\1', '\\g<name>', ignorecase=False, multiline=False)`: the
/// first match, the listed groups of it, or none.
fn regex_search(
    value: &str,
    pattern: &str,
    groups: Rest<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let regex = compile(pattern, &kwargs)?;
    kwargs.assert_all_used()?;
    let Some(caps) = regex.captures(value) else {
        return Ok(Value::from(()));
    };
    if groups.is_empty() {
        return Ok(Value::from(&caps[0]));
    }
    let mut picked = Vec::new();
    for group in groups.iter() {
        let found = if let Some(name) = group.strip_prefix("\\g<").and_then(|g| g.strip_suffix('>'))
        {
            match name.parse::<usize>() {
                Ok(index) => caps.get(index),
                Err(_) => caps.name(name),
            }
        } else if let Some(index) = group
            .strip_prefix('\\')
            .and_then(|g| g.parse::<usize>().ok())
        {
            caps.get(index)
        } else {
            return Err(failure("Unknown argument"));
        };
        picked.push(found.map_or(Value::from(()), |m| Value::from(m.as_str())));
    }
    Ok(Value::from(picked))
}

/// `regex_findall(pattern, ignorecase=False, multiline=False)`: every match; the group's text
/// with one group, a list of the groups' texts with several.
fn regex_findall(value: &str, pattern: &str, kwargs: Kwargs) -> Result<Value, Error> {
    let regex = compile(pattern, &kwargs)?;
    kwargs.assert_all_used()?;
    let groups = regex.captures_len() - 1;
    let text = |m: Option<regex::Match>| Value::from(m.map_or("", |m| m.as_str()));
    Ok(Value::from(
        regex
            .captures_iter(value)
            .map(|caps| match groups {
                0 => text(caps.get(0)),
                1 => text(caps.get(1)),
                n => Value::from((1..=n).map(|i| text(caps.get(i))).collect::<Vec<_>>()),
            })
            .collect::<Vec<_>>(),
    ))
}

/// Python's `os.path.basename`.
fn basename(path: &str) -> String {
    path.rsplit('/').next().unwrap_or_default().to_string()
}

/// Python's `os.path.dirname`: trailing slashes dropped unless the head is only slashes.
fn dirname(path: &str) -> String {
    let head = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    if !head.is_empty() && head.chars().any(|c| c != '/') {
        head.trim_end_matches('/').to_string()
    } else {
        head.to_string()
    }
}

/// Python's `os.path.splitext`: `[root, ext]`, where a leading dot does not start an extension.
fn splitext(path: &str) -> Vec<String> {
    let name_start = path.rfind('/').map_or(0, |i| i + 1);
    let name = &path[name_start..];
    match name.rfind('.') {
        Some(dot) if name[..dot].chars().any(|c| c != '.') => {
            let dot = name_start + dot;
            vec![path[..dot].to_string(), path[dot..].to_string()]
        }
        _ => vec![path.to_string(), String::new()],
    }
}

/// `quote`: POSIX shell quoting like Python's `shlex.quote`; none quotes as `''`.
fn quote(value: &Value) -> String {
    let text = if value.is_none() || value.is_undefined() {
        String::new()
    } else {
        super::python::str(&super::filters::to_data(value))
    };
    let safe = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c);
    if text.is_empty() {
        "''".into()
    } else if text.chars().all(safe) {
        text
    } else {
        format!("'{}'", text.replace('\'', "'\"'\"'"))
    }
}

/// Jinja2's `truncate(length=255, killwords=False, end='...', leeway=5)`: text longer than
/// `length + leeway` cut to `length` characters, `end` included, at a space unless `killwords`.
fn truncate(text: String, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    let arg = |at: usize, name: &str| -> Result<Option<Value>, Error> {
        Ok(kwargs
            .get::<Option<Value>>(name)?
            .or_else(|| args.get(at).cloned()))
    };
    let number = |value: Option<Value>, default: usize| -> Result<usize, Error> {
        value.map_or(Ok(default), |v| {
            usize::try_from(v).map_err(|_| failure("truncate: length and leeway must be numbers"))
        })
    };
    let length = number(arg(0, "length")?, 255)?;
    let killwords = arg(1, "killwords")?.is_some_and(|v| v.is_true());
    let end = arg(2, "end")?.map_or("...".to_string(), |v| v.to_string());
    let leeway = number(arg(3, "leeway")?, 5)?;
    kwargs.assert_all_used()?;
    let chars: Vec<char> = text.chars().collect();
    let end_len = end.chars().count();
    if end_len > length {
        return Err(failure(format!(
            "expected length >= {end_len}, got {length}"
        )));
    }
    if chars.len() <= length + leeway {
        return Ok(text);
    }
    let kept: String = chars[..length - end_len].iter().collect();
    let kept = match killwords {
        true => kept,
        false => kept
            .rsplit_once(' ')
            .map_or(kept.clone(), |(head, _)| head.to_string()),
    };
    Ok(kept + &end)
}

/// Ansible's `strftime(second=None, utc=False)`: the time (now, or `second` since the epoch)
/// formatted with the text as a C `strftime` format, in local time or UTC.
fn strftime(format: String, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    use chrono::format::{Item, StrftimeItems};
    use chrono::{DateTime, Local, Utc};
    let second = kwargs
        .get::<Option<Value>>("second")?
        .or_else(|| args.first().cloned())
        .filter(|v| !v.is_none() && !v.is_undefined());
    let utc = kwargs
        .get::<Option<Value>>("utc")?
        .or_else(|| args.get(1).cloned())
        .is_some_and(|v| v.is_true());
    kwargs.assert_all_used()?;
    let items: Vec<Item> = StrftimeItems::new(&format).collect();
    if items.iter().any(|item| matches!(item, Item::Error)) {
        return Err(failure(format!(
            "strftime: `{format}` is not a valid format"
        )));
    }
    let moment: DateTime<Utc> = match second {
        None => Utc::now(),
        Some(value) => {
            let seconds = f64::try_from(value)
                .map_err(|_| failure("strftime: `second` must be a number of seconds"))?;
            DateTime::from_timestamp(seconds.trunc() as i64, (seconds.fract() * 1e9) as u32)
                .ok_or_else(|| failure("strftime: `second` is out of range"))?
        }
    };
    Ok(match utc {
        true => moment.format_with_items(items.into_iter()).to_string(),
        false => moment
            .with_timezone(&Local)
            .format_with_items(items.into_iter())
            .to_string(),
    })
}

#[cfg(test)]
mod tests {
    use crate::template::filters::tests::{eval, render, render_error};
    use serde_json::json;

    #[test]
    fn truncate_and_strftime_as_jinja2_and_ansible_give_them() {
        // Expected values printed by Jinja2 3.1 for the same expressions.
        let vars = json!({"sha": "0123456789abcdef", "s": "the quick brown fox jumps over"});
        assert_eq!(eval("sha | truncate(7, True, '')", vars.clone()), "0123456");
        assert_eq!(eval("s | truncate(12)", vars.clone()), "the...");
        assert_eq!(
            eval("'the quick brown fox jumps' | truncate(20)", vars.clone()),
            "the quick brown fox jumps"
        );
        assert_eq!(
            eval(
                "'abcdefghij' | truncate(5, killwords=true, leeway=0)",
                vars.clone()
            ),
            "ab..."
        );
        assert_eq!(
            eval(
                "'%Y-%m-%d %H:%M:%S' | strftime(86400, utc=true)",
                vars.clone()
            ),
            "1970-01-02 00:00:00"
        );
        assert_eq!(eval("'%Y' | strftime | length", vars.clone()), 4);
        assert!(render_error("{{ '%Q%' | strftime }}", json!({})).contains("not a valid format"));
    }

    #[test]
    fn regex_replace_with_python_backreferences() {
        let vars = json!({"s": "host-01.example.com"});
        assert_eq!(
            eval(
                r"s | regex_replace('^(\w+)-(\d+).*$', '\2:\1')",
                vars.clone()
            ),
            "01:host"
        );
        assert_eq!(
            eval(r"s | regex_replace('(?P<n>\d+)', '<\g<n>>')", vars.clone()),
            "host-<01>.example.com"
        );
        assert_eq!(
            eval(r"s | regex_replace('(\d)', '\g<1>$0')", vars.clone()),
            "host-0$01$0.example.com"
        );
        assert_eq!(
            eval("s | regex_replace('\\.', '_', count=1)", vars.clone()),
            "host-01_example.com"
        );
        assert_eq!(
            eval(
                "'ABC' | regex_replace('b', 'x', ignorecase=true)",
                vars.clone()
            ),
            "AxC"
        );
        assert_eq!(
            eval(
                "'a\nb' | regex_replace('^', '# ', multiline=true)",
                vars.clone()
            ),
            "# a\n# b"
        );
        assert_eq!(eval("'abc' | regex_replace('b')", vars.clone()), "ac");
        assert!(
            render_error("{{ 'a' | regex_replace('(', '') }}", vars)
                .contains("invalid regular expression")
        );
    }

    #[test]
    fn regex_search_returns_match_groups_or_none() {
        let vars = json!({"s": "version: 1.22.3"});
        assert_eq!(eval(r"s | regex_search('\d+\.\d+')", vars.clone()), "1.22");
        assert_eq!(
            eval(
                r"s | regex_search('(\d+)\.(?P<minor>\d+)', '\1', '\g<minor>')",
                vars.clone()
            ),
            json!(["1", "22"])
        );
        assert_eq!(eval("s | regex_search('nope')", vars.clone()), json!(null));
        assert_eq!(
            render("{{ s | regex_search('VERSION', ignorecase=true) }}", vars),
            "version"
        );
    }

    #[test]
    fn regex_findall_lists_matches() {
        let vars = json!({"s": "a=1 b=2"});
        assert_eq!(
            eval(r"s | regex_findall('\d')", vars.clone()),
            json!(["1", "2"])
        );
        assert_eq!(
            eval(r"s | regex_findall('(\w)=\d')", vars.clone()),
            json!(["a", "b"])
        );
        assert_eq!(
            eval(r"s | regex_findall('(\w)=(\d)')", vars),
            json!([["a", "1"], ["b", "2"]])
        );
    }

    #[test]
    fn paths_split_like_python_os_path() {
        let cases = [
            ("/etc/app/conf.yml", "conf.yml", "/etc/app"),
            ("/etc/app/", "", "/etc/app"),
            ("conf", "conf", ""),
            ("/conf", "conf", "/"),
            ("//conf", "conf", "//"),
        ];
        for (path, base, dir) in cases {
            assert_eq!(
                eval(&format!("'{path}' | basename"), json!(null)),
                base,
                "{path}"
            );
            assert_eq!(
                eval(&format!("'{path}' | dirname"), json!(null)),
                dir,
                "{path}"
            );
        }
        assert_eq!(
            eval("'a/b.tar.gz' | splitext", json!(null)),
            json!(["a/b.tar", ".gz"])
        );
        assert_eq!(
            eval("'.bashrc' | splitext", json!(null)),
            json!([".bashrc", ""])
        );
        assert_eq!(
            eval("'a.d/file' | splitext", json!(null)),
            json!(["a.d/file", ""])
        );
        assert_eq!(
            eval("'x/..a.b' | splitext", json!(null)),
            json!(["x/..a", ".b"])
        );
    }

    #[test]
    fn quote_matches_shlex_quote() {
        assert_eq!(
            eval("'plain-word_1.2/x@y%z+=:,' | quote", json!(null)),
            "plain-word_1.2/x@y%z+=:,"
        );
        assert_eq!(eval("'' | quote", json!(null)), "''");
        assert_eq!(eval("none | quote", json!(null)), "''");
        assert_eq!(eval("'a b' | quote", json!(null)), "'a b'");
        assert_eq!(eval("\"it's\" | quote", json!(null)), "'it'\"'\"'s'");
        assert_eq!(eval("'$(id)' | quote", json!(null)), "'$(id)'");
        assert_eq!(eval("'é' | quote", json!(null)), "'é'");
    }

    #[test]
    fn comment_styles_match_ansible() {
        let e = |expr: &str| eval(expr, json!({}));
        assert_eq!(e("'a\nb' | comment"), "#\n# a\n# b\n#");
        assert_eq!(
            e("'a' | comment('c') ~ '|' ~ 'a' | comment('cblock') ~ '|' ~ 'a' | comment('erlang')"),
            "//\n// a\n//|/*\n *\n * a\n *\n */|%\n% a\n%"
        );
        assert_eq!(e("'a' | comment('xml')"), "<!--\n -\n - a\n -\n-->");
        assert_eq!(e("'a' | comment(decoration='// ')"), "//\n// a\n//");
        assert_eq!(
            e("'a' | comment('plain', prefix='#!', postfix='#')"),
            "#!\n# a\n#"
        );
        assert_eq!(e("'a\n\nb' | comment"), "#\n# a\n#\n# b\n#");
    }

    #[test]
    fn escapes_and_paths() {
        let e = |expr: &str| eval(expr, json!({}));
        assert_eq!(e("'a.b*c' | regex_escape"), "a\\.b\\*c");
        assert_eq!(e("'a.b' | regex_escape('posix_basic')"), "a\\.b");
        assert_eq!(
            e("['/etc', 'app', 'x.conf'] | path_join"),
            "/etc/app/x.conf"
        );
        assert_eq!(e("['a/', '/b', 'c'] | path_join"), "/b/c");
        assert_eq!(e("'/nope/x' | realpath"), "/nope/x");
    }
}
