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

/// The command line to hand to a shell on the host for `request`, and the bytes to write to its
/// stdin before the request's own stdin (the sudo password, when there is one).
pub fn remote_command(request: &ExecRequest) -> (String, Option<String>) {
    let mut script = String::new();
    for (name, value) in &request.env {
        script.push_str(&format!("export {name}={}; ", quote(value)));
    }
    script.push_str(&request.script);
    match &request.become_user {
        None => (format!("sh -c {}", quote(&script)), None),
        Some(Become { user, password }) => {
            let (flags, preamble) = match password {
                Some(p) => ("-S -p ''", Some(format!("{p}\n"))),
                None => ("-n", None),
            };
            let line = format!(
                "sudo {flags} -H -u {} -- sh -c {}",
                quote(user),
                quote(&script)
            );
            (line, preamble)
        }
    }
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
        assert!(line.starts_with("sudo -S -p '' -H -u app -- sh -c"));
        assert_eq!(preamble.as_deref(), Some("pw\n"));
    }
}
