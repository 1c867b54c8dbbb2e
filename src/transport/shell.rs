//! Turning an [`ExecRequest`] into the one shell line every transport runs: environment,
//! `sudo` for become, and quoting. Shared so that local and SSH runs behave the same.

use super::{Become, ExecRequest};

/// Quotes a string for a POSIX shell so that it stays one word, whatever it holds.
pub fn quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./-_".contains(&b))
    {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Quotes the first word of a command line: also when it holds `=`, so that a shell runs it as a
/// command rather than taking it for a variable assignment (as Ansible's exec does).
pub fn quote_command(word: &str) -> String {
    match word.contains('=') {
        true => format!("'{}'", word.replace('\'', r"'\''")),
        false => quote(word),
    }
}

/// Quotes a glob pattern for a POSIX shell so that the shell expands its wildcards (`*`, `?` and
/// closed `[...]` sets, `!` negating) as Python's `glob.glob` does and takes every other character
/// literally. A leading `~` alone or before `/` is `$HOME`. Unexpanded, the word is the pattern.
pub fn quote_glob(pattern: &str) -> String {
    let mut word = String::new();
    let mut literal = String::new();
    let mut rest = pattern;
    if rest == "~" || rest.starts_with("~/") {
        word.push_str("\"$HOME\"");
        rest = &rest[1..];
    }
    let mut set_end = 0;
    for (at, c) in rest.char_indices() {
        if at < set_end {
            continue;
        }
        let set = (c == '[').then(|| bracket_len(&rest[at..])).flatten();
        if c != '*' && c != '?' && set.is_none() {
            literal.push(c);
            continue;
        }
        if !literal.is_empty() {
            word.push_str(&quote(&literal));
            literal.clear();
        }
        match set {
            Some(len) => {
                set_end = at + len;
                word.push_str(&bracket(&rest[at..set_end]));
            }
            None => word.push(c),
        }
    }
    if !literal.is_empty() || word.is_empty() {
        word.push_str(&quote(&literal));
    }
    word
}

/// The length in bytes of the `[...]` set `text` starts with, as `fnmatch` reads one (a `]` right
/// after `[` or `[!` belongs to the set), or `None` when it is never closed.
fn bracket_len(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut end = 1;
    if bytes.get(end) == Some(&b'!') {
        end += 1;
    }
    if bytes.get(end) == Some(&b']') {
        end += 1;
    }
    let close = bytes[end..].iter().position(|&b| b == b']')?;
    Some(end + close + 1)
}

/// A `[...]` set for the shell: letters, digits, ranges' `-` and a leading `!` stay as they are;
/// every other character is escaped, so it is a member of the set and nothing else.
fn bracket(set: &str) -> String {
    let inner = &set[1..set.len() - 1];
    let (negate, members) = match inner.strip_prefix('!') {
        Some(members) => ("!", members),
        None => ("", inner),
    };
    let mut out = format!("[{negate}");
    for c in members.chars() {
        if c.is_ascii_alphanumeric() || c == '-' {
            out.push(c);
        } else if c.is_ascii_graphic() || c == ' ' {
            out.push('\\');
            out.push(c);
        } else {
            out.push_str(&quote(&c.to_string()));
        }
    }
    out.push(']');
    out
}

/// Whether `name` can be exported by a shell: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The command line to hand to a shell on the host for `request`, and the bytes to write to its
/// stdin before the request's own stdin (the sudo password, when there is one).
pub fn remote_command(request: &ExecRequest) -> (String, Option<String>) {
    as_user(request.become_user.as_ref(), &script_with_env(request))
}

/// The request's script preceded by the exports of its environment.
pub(crate) fn script_with_env(request: &ExecRequest) -> String {
    let mut script = String::new();
    for (name, value) in &request.env {
        script.push_str(&format!("export {name}={}; ", quote(value)));
    }
    script.push_str(&request.script);
    script
}

/// The command line that runs `script` with `sh`, through sudo when there is a user to become,
/// and the bytes to write to its stdin first (the sudo password, when there is one).
pub(crate) fn as_user(become_user: Option<&Become>, script: &str) -> (String, Option<String>) {
    match become_user {
        None => (format!("sh -c {}", quote(script)), None),
        Some(Become {
            user,
            password: None,
        }) => (
            format!("sudo -n -H -u {} -- sh -c {}", quote(user), quote(script)),
            None,
        ),
        Some(Become {
            user,
            password: Some(password),
        }) => (
            sudo_with_password(user, script),
            Some(format!("{password}\n")),
        ),
    }
}

/// The request with its script run under `timeout -s KILL` (when the host has it), so that the
/// host kills the whole command one second after the limit, even if the connection is gone.
pub(crate) fn with_remote_deadline(mut request: ExecRequest) -> ExecRequest {
    if let Some(limit) = request.timeout {
        let seconds = limit.as_secs() + u64::from(limit.subsec_nanos() > 0) + 1;
        request.script = format!(
            "if command -v timeout >/dev/null 2>&1; then exec timeout -s KILL {seconds} sh -c {}; fi\n{}",
            quote(&request.script),
            request.script
        );
    }
    request
}

/// sudo with a password that is the first line of stdin: the line is always read off stdin
/// first, then handed to sudo only when `sudo -n` says it needs one, so the password never
/// becomes the start of the command's own stdin (NOPASSWD, cached credentials, root).
fn sudo_with_password(user: &str, script: &str) -> String {
    let user = quote(user);
    format!(
        "s={}; IFS= read -r p; \
         if sudo -n -u {user} true 2>/dev/null; then unset p; exec sudo -n -H -u {user} -- sh -c \"$s\"; fi; \
         {{ printf '%s\\n' \"$p\"; unset p; exec cat; }} | sudo -S -p '' -H -u {user} -- sh -c \"$s\"",
        quote(script)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_hostile_values_one_word() {
        assert_eq!(quote("plain/path-1.txt"), "plain/path-1.txt");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("it's $(rm -rf /)"), r"'it'\''s $(rm -rf /)'");
        assert_eq!(quote("a\nb"), "'a\nb'");
        assert_eq!(quote("-rf"), "-rf");
    }

    #[test]
    fn glob_patterns_keep_only_their_wildcards_unquoted() {
        for (pattern, word) in [
            ("/tmp/x/*.done", "/tmp/x/*.done"),
            ("/srv/my dir/*.done", "'/srv/my dir/'*.done"),
            ("/a/it's?", r"'/a/it'\''s'?"),
            ("/a/$(reboot)*", "'/a/$(reboot)'*"),
            ("/a/f[0-9]", "/a/f[0-9]"),
            ("/a/[!]x]", r"/a/[!\]x]"),
            ("/a/[^ ]", r"/a/[\^\ ]"),
            ("/a/[\n]", "/a/['\n']"),
            ("/a/[unclosed", "'/a/[unclosed'"),
            ("~/x*", "\"$HOME\"/x*"),
            ("~", "\"$HOME\""),
            ("~user/x", "'~user/x'"),
            ("", "''"),
        ] {
            assert_eq!(quote_glob(pattern), word, "{pattern:?}");
        }
    }

    #[test]
    fn glob_words_expand_like_python_glob() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let root = dir.path().join("my dir");
        std::fs::create_dir(&root).expect("a folder");
        for name in ["a.done", "it's [1].done", "f5", "]x", ".hidden.done"] {
            std::fs::write(root.join(name), "").expect("a file");
        }
        std::os::unix::fs::symlink("/nonexistent", root.join("dangling.link")).expect("a link");
        let root = root.display().to_string();
        let expand = |pattern: &str| {
            let script = format!("for f in {}; do echo \"$f\"; done", quote_glob(pattern));
            let out = std::process::Command::new("sh")
                .args(["-c", &script])
                .output()
                .expect("sh runs");
            String::from_utf8(out.stdout).expect("UTF-8")
        };
        assert_eq!(
            expand(&format!("{root}/*.done")),
            format!("{root}/a.done\n{root}/it's [1].done\n")
        );
        assert_eq!(
            expand(&format!("{root}/it's [[]1].done")),
            format!("{root}/it's [1].done\n")
        );
        assert_eq!(expand(&format!("{root}/f[0-9]")), format!("{root}/f5\n"));
        assert_eq!(expand(&format!("{root}/[!a-z]x")), format!("{root}/]x\n"));
        assert_eq!(
            expand(&format!("{root}/*.link")),
            format!("{root}/dangling.link\n")
        );
        assert_eq!(
            expand(&format!("{root}/*.none")),
            format!("{root}/*.none\n")
        );
    }

    #[test]
    fn become_wraps_the_script_in_sudo() {
        let mut request = ExecRequest::new("id -u");
        request.env.push(("LANG".into(), "C".into()));
        assert_eq!(remote_command(&request).0, "sh -c 'export LANG=C; id -u'");
        request.become_user = Some(Become {
            user: "root".into(),
            password: None,
        });
        assert_eq!(
            remote_command(&request),
            (
                "sudo -n -H -u root -- sh -c 'export LANG=C; id -u'".into(),
                None
            )
        );
        request.become_user = Some(Become {
            user: "app".into(),
            password: Some("pw".into()),
        });
        let (line, preamble) = remote_command(&request);
        assert!(line.contains("if sudo -n -u app true 2>/dev/null; then"));
        assert!(line.contains("| sudo -S -p '' -H -u app -- sh -c \"$s\""));
        assert_eq!(preamble.as_deref(), Some("pw\n"));
    }
}
