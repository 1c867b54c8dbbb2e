//! Ansible's `k=v k2="v 2"` argument strings, split as its `split_args` and `parse_kv` do: at
//! spaces, except inside quotes and inside `{{ }}`, `{% %}` and `{# #}`.

use serde_json::{Map, Value};

/// Splits an argument string into `k=v` arguments. For free-form modules, words whose key is not
/// a known argument (`is_arg`) stay in `_raw_params`, in order.
pub fn split_kv(
    line: &str,
    free_form: bool,
    is_arg: impl Fn(&str) -> bool,
) -> Result<Map<String, Value>, String> {
    let mut args = Map::new();
    let mut raw: Vec<String> = Vec::new();
    for word in split_args(line)? {
        let decoded = decode_escapes(&word);
        let Some(pos) = unescaped_equals(&decoded) else {
            if decoded.contains('=') {
                raw.push(decoded.replace("\\=", "="));
            } else {
                raw.push(word);
            }
            continue;
        };
        let key = decoded[..pos].trim();
        if is_arg(key) || (!free_form && !key.is_empty()) {
            let value = unquote(decoded[pos + 1..].trim());
            args.insert(key.to_string(), Value::String(value.to_string()));
        } else {
            raw.push(word);
        }
    }
    if !raw.is_empty() {
        if !free_form {
            return Err(format!(
                "expected `key=value` arguments, found `{}`",
                raw[0]
            ));
        }
        args.insert("_raw_params".into(), Value::String(join_args(&raw)));
    }
    Ok(args)
}

/// The first `=` after the first character that no backslash escapes.
fn unescaped_equals(word: &str) -> Option<usize> {
    word.char_indices()
        .skip(1)
        .find(|&(i, c)| c == '=' && !word[..i].ends_with('\\'))
        .map(|(i, _)| i)
}

/// Joins words back with single spaces, none after a newline.
fn join_args(words: &[String]) -> String {
    let mut out = String::new();
    for word in words {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Splits at spaces and newlines, rejoining the pieces of a quoted string or a Jinja block;
/// spacing inside them is kept. Fails on an unclosed quote or block.
pub fn split_args(line: &str) -> Result<Vec<String>, String> {
    let mut params: Vec<String> = Vec::new();
    let mut quote: Option<char> = None;
    // Depths of `{{ }}`, `{% %}` and `{# #}`.
    let mut depths = [0usize; 3];
    const DELIMITERS: [(&str, &str); 3] = [("{{", "}}"), ("{%", "%}"), ("{#", "#}")];
    let lines: Vec<&str> = line.split('\n').collect();
    for (line_index, item) in lines.iter().enumerate() {
        let mut continued = false;
        for (index, token) in item.split(' ').enumerate() {
            if token.is_empty() && index != 0 {
                last(&mut params).push(' ');
                continue;
            }
            if token == "\\" && quote.is_none() {
                continued = true;
                continue;
            }
            let was_quoted = quote.is_some();
            quote = quote_state(token, quote);
            let quoted = quote.is_some();
            let in_jinja = depths.iter().any(|d| *d > 0);
            let mut appended = false;
            if quoted && !was_quoted && !in_jinja {
                params.push(token.to_string());
                appended = true;
            } else if in_jinja || quoted || was_quoted {
                let last = last(&mut params);
                if index > 0 {
                    last.push(' ');
                }
                last.push_str(token);
                appended = true;
            }
            for (depth, (open, close)) in depths.iter_mut().zip(DELIMITERS) {
                let opened = token.matches(open).count();
                let closed = token.matches(close).count();
                if opened != closed {
                    *depth = (*depth + opened).saturating_sub(closed);
                    if !appended {
                        params.push(token.to_string());
                        appended = true;
                    }
                }
            }
            if depths == [0; 3] && !quoted && !appended && !token.is_empty() {
                params.push(token.to_string());
            }
        }
        if line_index + 1 < lines.len() && !continued {
            last(&mut params).push('\n');
        }
    }
    if depths != [0; 3] || quote.is_some() {
        return Err(format!(
            "cannot split the arguments: an unbalanced Jinja block or quote in `{line}`"
        ));
    }
    Ok(params)
}

/// The last word, created empty when there is none yet.
fn last(params: &mut Vec<String>) -> &mut String {
    if params.is_empty() {
        params.push(String::new());
    }
    params.last_mut().expect("just ensured")
}

/// The quote still open after `token`, given the one open before it.
fn quote_state(token: &str, mut quote: Option<char>) -> Option<char> {
    let mut previous = None;
    for c in token.chars() {
        if (c == '"' || c == '\'') && previous != Some('\\') {
            match quote {
                Some(open) if open == c => quote = None,
                Some(_) => {}
                None => quote = Some(c),
            }
        }
        previous = Some(c);
    }
    quote
}

/// Python's backslash escapes (`\n`, `\t`, `\x41`, `\u00e9`, `\\`, `\"`, ...) decoded.
fn decode_escapes(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut rest = word;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (decoded, used) = escape(after);
        match decoded {
            Some(c) => out.push(c),
            None => out.push('\\'),
        }
        rest = &after[used..];
    }
    out.push_str(rest);
    out
}

/// The character an escape (the text after its backslash) stands for, and the bytes it used.
fn escape(after: &str) -> (Option<char>, usize) {
    let hex = |digits: usize| {
        after
            .get(1..=digits)
            .filter(|h| h.chars().all(|c| c.is_ascii_hexdigit()))
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32)
            .map_or((None, 0), |c| (Some(c), 1 + digits))
    };
    let simple = match after.chars().next() {
        Some('x') => return hex(2),
        Some('u') => return hex(4),
        Some('U') => return hex(8),
        Some(c @ ('\\' | '\'' | '"')) => c,
        Some('a') => '\x07',
        Some('b') => '\x08',
        Some('f') => '\x0c',
        Some('n') => '\n',
        Some('r') => '\r',
        Some('t') => '\t',
        Some('v') => '\x0b',
        _ => return (None, 0),
    };
    (Some(simple), 1)
}

/// A value without the matching quotes around it, as Ansible's `unquote`.
fn unquote(value: &str) -> &str {
    let bytes = value.as_bytes();
    let quoted = bytes.len() >= 2
        && (bytes[0] == b'"' || bytes[0] == b'\'')
        && bytes[0] == bytes[bytes.len() - 1]
        && bytes[bytes.len() - 2] != b'\\';
    if quoted {
        &value[1..value.len() - 1]
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn split(line: &str, free_form: bool) -> Value {
        Value::Object(split_kv(line, free_form, |k| k == "chdir" || k == "creates").unwrap())
    }

    #[test]
    fn kv_strings_split_like_ansible() {
        let args = split_kv("path=/tmp/x state=directory mode='0755'", false, |_| true).unwrap();
        assert_eq!(
            Value::Object(args),
            json!({"path": "/tmp/x", "state": "directory", "mode": "0755"})
        );
        assert_eq!(
            split("echo 'a b' chdir=/tmp > out x=1", true),
            json!({"chdir": "/tmp", "_raw_params": "echo 'a b' > out x=1"})
        );
        assert!(split_kv("path=/x oops", false, |_| true).is_err());
    }

    #[test]
    fn jinja_blocks_keep_their_spaces() {
        assert_eq!(
            split("path={{ d }} state=directory", false),
            json!({"path": "{{ d }}", "state": "directory"})
        );
        assert_eq!(
            split("ls chdir={{ d }}", true),
            json!({"chdir": "{{ d }}", "_raw_params": "ls"})
        );
        assert_eq!(
            split("echo {{ a }}  b creates=/x", true),
            json!({"creates": "/x", "_raw_params": "echo {{ a }}  b"})
        );
        assert_eq!(
            split(
                "msg=\"{{ 'x' if a else 'y' }} z\" creates={% if a %}1{% endif %}",
                false
            ),
            json!({"msg": "{{ 'x' if a else 'y' }} z", "creates": "{% if a %}1{% endif %}"})
        );
        assert!(split_kv("msg={{ a", false, |_| true).is_err());
        assert!(split_kv("msg='a", false, |_| true).is_err());
    }

    #[test]
    fn escapes_and_newlines() {
        assert_eq!(split("msg=a\\nb", false), json!({"msg": "a\nb"}));
        assert_eq!(
            split("echo a\necho b \\\n c", true),
            json!({"_raw_params": "echo a\necho b c"})
        );
    }
}
