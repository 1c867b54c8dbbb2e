//! Reading the OpenSSH command-line options that inventories carry in `ansible_ssh_common_args`
//! and `ansible_ssh_extra_args`: `-o Key=Value`, `-J`, `-i`, `-p`, `-l`, and ProxyJump specs
//! (`user@host:port,next`). A `ProxyCommand` of the usual `ssh -W %h:%p user@bastion` shape is
//! read as a jump host too.
//!
//! This file only parses text into [`SshArgs`]; it does not look at ssh config, variables or the
//! file system (that is `target.rs`). Options deployer has no use for are skipped.

use std::path::PathBuf;

/// A jump host as written in a ProxyJump spec: `[user@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JumpSpec {
    /// The login name, when the spec names one.
    pub user: Option<String>,
    /// The host name or address.
    pub host: String,
    /// The port, when the spec names one.
    pub port: Option<u16>,
    /// Key files given for this hop (`-i` inside a ProxyCommand).
    pub identity_files: Vec<PathBuf>,
}

/// OpenSSH's `StrictHostKeyChecking` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKeyChecking {
    /// `yes` or `ask`: only keys already in known_hosts are accepted.
    Strict,
    /// `accept-new`: unknown keys are recorded, changed keys refused.
    AcceptNew,
    /// `no` or `off`. deployer treats it as `accept-new` and says so: a changed key is never
    /// accepted by an inventory setting.
    Off,
}

/// The options found in one or more ssh argument strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshArgs {
    /// `ProxyJump`/`-J`/`ProxyCommand`: `Some(vec![])` for `ProxyJump none`.
    pub proxy_jump: Option<Vec<JumpSpec>>,
    /// `UserKnownHostsFile` (may list several files).
    pub known_hosts_files: Vec<String>,
    /// `StrictHostKeyChecking`.
    pub host_key_checking: Option<HostKeyChecking>,
    /// `-i` / `IdentityFile`.
    pub identity_files: Vec<PathBuf>,
    /// `-p` / `Port`.
    pub port: Option<u16>,
    /// `-l` / `User`.
    pub user: Option<String>,
    /// `-F`: an ssh config file to read instead of `~/.ssh/config`.
    pub config_file: Option<PathBuf>,
    /// The first word that is not an option (the destination of an `ssh` command line).
    pub destination: Option<String>,
}

/// ssh options that take an argument (from `ssh(1)`); the rest are flags.
const OPTIONS_WITH_ARGUMENT: &str = "BbcDEeFIiJLlmOopQRSWw";

impl SshArgs {
    /// Parses a shell-quoted argument string such as `-o ProxyJump=admin@bastion:2222 -q`.
    pub fn parse(text: &str) -> Result<SshArgs, String> {
        let words = shlex::split(text).ok_or_else(|| format!("unbalanced quotes in `{text}`"))?;
        let mut args = SshArgs::default();
        let mut words = words.into_iter();
        while let Some(word) = words.next() {
            let Some(flags) = word.strip_prefix('-').filter(|f| !f.is_empty()) else {
                args.destination.get_or_insert(word);
                continue;
            };
            for (index, flag) in flags.char_indices() {
                if !OPTIONS_WITH_ARGUMENT.contains(flag) {
                    continue;
                }
                let rest = &flags[index + flag.len_utf8()..];
                let value = match rest {
                    "" => words
                        .next()
                        .ok_or_else(|| format!("`-{flag}` needs a value in `{text}`"))?,
                    attached => attached.to_string(),
                };
                args.apply_flag(flag, &value)?;
                break;
            }
        }
        Ok(args)
    }

    /// Adds the options of `later` that this one does not set (OpenSSH: the first value wins).
    pub fn merge(&mut self, later: SshArgs) {
        self.proxy_jump = self.proxy_jump.take().or(later.proxy_jump);
        if self.known_hosts_files.is_empty() {
            self.known_hosts_files = later.known_hosts_files;
        }
        self.host_key_checking = self.host_key_checking.or(later.host_key_checking);
        self.identity_files.extend(later.identity_files);
        self.port = self.port.or(later.port);
        self.user = self.user.take().or(later.user);
        self.config_file = self.config_file.take().or(later.config_file);
        self.destination = self.destination.take().or(later.destination);
    }

    fn apply_flag(&mut self, flag: char, value: &str) -> Result<(), String> {
        match flag {
            'o' => self.apply_option(value)?,
            'J' => self.set_jumps(parse_proxy_jump(value)?),
            'i' => self.identity_files.push(PathBuf::from(value)),
            'p' => self.set_port(value)?,
            'l' => self.set_user(value),
            'F' => {
                self.config_file.get_or_insert_with(|| PathBuf::from(value));
            }
            _ => {}
        }
        Ok(())
    }

    /// Applies one `-o` option, `Key=Value` or `Key Value`.
    fn apply_option(&mut self, option: &str) -> Result<(), String> {
        let (key, value) = option
            .split_once(['=', ' ', '\t'])
            .map(|(k, v)| (k.trim(), v.trim().trim_start_matches('=').trim()))
            .ok_or_else(|| format!("`-o {option}` has no value"))?;
        match key.to_ascii_lowercase().as_str() {
            "proxyjump" => self.set_jumps(parse_proxy_jump(value)?),
            "proxycommand" => self.set_jumps(parse_proxy_command(value)?),
            "userknownhostsfile" if self.known_hosts_files.is_empty() => {
                self.known_hosts_files = value.split_whitespace().map(String::from).collect();
            }
            "stricthostkeychecking" => {
                let checking = parse_host_key_checking(value)?;
                self.host_key_checking = self.host_key_checking.or(Some(checking));
            }
            "identityfile" => self.identity_files.push(PathBuf::from(value)),
            "port" => self.set_port(value)?,
            "user" => self.set_user(value),
            other => tracing::debug!(
                option = other,
                "ignoring an ssh option deployer does not use"
            ),
        }
        Ok(())
    }

    fn set_jumps(&mut self, jumps: Vec<JumpSpec>) {
        self.proxy_jump.get_or_insert(jumps);
    }

    fn set_port(&mut self, value: &str) -> Result<(), String> {
        let port = parse_port(value)?;
        self.port.get_or_insert(port);
        Ok(())
    }

    fn set_user(&mut self, value: &str) {
        self.user.get_or_insert_with(|| value.to_string());
    }
}

/// Parses a ProxyJump value: `none`, or comma-separated `[user@]host[:port]` hops in order.
pub fn parse_proxy_jump(value: &str) -> Result<Vec<JumpSpec>, String> {
    if value.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    value.split(',').map(|hop| parse_jump(hop.trim())).collect()
}

/// Parses one `[user@]host[:port]` (also `ssh://user@host:port` and `[v6addr]:port`).
pub fn parse_jump(spec: &str) -> Result<JumpSpec, String> {
    let bare = spec.strip_prefix("ssh://").unwrap_or(spec);
    let (user, host_port) = match bare.rsplit_once('@') {
        Some((user, rest)) => (Some(user.to_string()), rest),
        None => (None, bare),
    };
    let (host, port) = split_host_port(host_port)?;
    if host.is_empty() || user.as_deref() == Some("") {
        return Err(format!(
            "bad jump host `{spec}`: expected [user@]host[:port]"
        ));
    }
    Ok(JumpSpec {
        user,
        host: host.to_string(),
        port,
        identity_files: Vec::new(),
    })
}

fn split_host_port(text: &str) -> Result<(&str, Option<u16>), String> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("missing `]` in `{text}`"))?;
        return match after.strip_prefix(':') {
            Some(port) => Ok((host, Some(parse_port(port)?))),
            None if after.is_empty() => Ok((host, None)),
            None => Err(format!("unexpected `{after}` after `]` in `{text}`")),
        };
    }
    match text.split_once(':') {
        Some((host, port)) if !port.contains(':') => Ok((host, Some(parse_port(port)?))),
        _ => Ok((text, None)),
    }
}

/// Parses a port number, refusing 0 and anything past 65535.
pub fn parse_port(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(format!("bad port `{text}`")),
    }
}

/// Parses a `StrictHostKeyChecking` value.
pub fn parse_host_key_checking(value: &str) -> Result<HostKeyChecking, String> {
    match value.to_ascii_lowercase().as_str() {
        "yes" | "ask" => Ok(HostKeyChecking::Strict),
        "accept-new" => Ok(HostKeyChecking::AcceptNew),
        "no" | "off" => Ok(HostKeyChecking::Off),
        other => Err(format!("bad StrictHostKeyChecking value `{other}`")),
    }
}

/// Reads `ssh [options] -W %h:%p [user@]bastion` as one jump host; other commands are refused.
fn parse_proxy_command(command: &str) -> Result<Vec<JumpSpec>, String> {
    if command.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let unsupported = || {
        format!("ProxyCommand `{command}` is not supported; use ProxyJump (or `ssh -W %h:%p host`)")
    };
    let (program, rest) = command
        .trim()
        .split_once(char::is_whitespace)
        .ok_or_else(unsupported)?;
    let forwards = rest.contains("-W %h:%p") || rest.contains("-W%h:%p");
    if !(program == "ssh" || program.ends_with("/ssh")) || !forwards {
        return Err(unsupported());
    }
    let inner = SshArgs::parse(rest)?;
    let destination = inner.destination.as_deref().ok_or_else(unsupported)?;
    let mut jump = parse_jump(destination)?;
    jump.user = jump.user.or(inner.user);
    jump.port = jump.port.or(inner.port);
    jump.identity_files = inner.identity_files;
    Ok(vec![jump])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jump(user: Option<&str>, host: &str, port: Option<u16>) -> JumpSpec {
        JumpSpec {
            user: user.map(String::from),
            host: host.to_string(),
            port,
            identity_files: Vec::new(),
        }
    }

    #[test]
    fn jump_specs() {
        let cases: &[(&str, JumpSpec)] = &[
            ("bastion", jump(None, "bastion", None)),
            ("admin@bastion", jump(Some("admin"), "bastion", None)),
            (
                "admin@10.0.0.1:2222",
                jump(Some("admin"), "10.0.0.1", Some(2222)),
            ),
            (
                "ssh://ops@b.example:22",
                jump(Some("ops"), "b.example", Some(22)),
            ),
            ("[::1]:2200", jump(None, "::1", Some(2200))),
            ("a@b@host", jump(Some("a@b"), "host", None)),
            ("fe80::1", jump(None, "fe80::1", None)),
        ];
        for (spec, want) in cases {
            assert_eq!(&parse_jump(spec).unwrap(), want, "{spec}");
        }
        for bad in ["", "@host", "host:0", "host:99999", "[::1", "host:port"] {
            assert!(parse_jump(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn multi_hop_and_none() {
        let hops = parse_proxy_jump("a@one:2201, two").unwrap();
        assert_eq!(
            hops,
            vec![jump(Some("a"), "one", Some(2201)), jump(None, "two", None)]
        );
        assert_eq!(parse_proxy_jump("none").unwrap(), vec![]);
    }

    #[test]
    fn option_strings() {
        let cases: &[(&str, SshArgs)] = &[
            (
                "-o ProxyJump=admin@127.0.0.1:2222 -o StrictHostKeyChecking=accept-new",
                SshArgs {
                    proxy_jump: Some(vec![jump(Some("admin"), "127.0.0.1", Some(2222))]),
                    host_key_checking: Some(HostKeyChecking::AcceptNew),
                    ..SshArgs::default()
                },
            ),
            (
                "-J b1,b2:2 -oUserKnownHostsFile='/tmp/a b' -o 'StrictHostKeyChecking no'",
                SshArgs {
                    proxy_jump: Some(vec![jump(None, "b1", None), jump(None, "b2", Some(2))]),
                    known_hosts_files: vec!["/tmp/a".into(), "b".into()],
                    host_key_checking: Some(HostKeyChecking::Off),
                    ..SshArgs::default()
                },
            ),
            (
                "-qT -C -i ~/.ssh/deploy -p2200 -l ops -o ForwardAgent=yes -o UserKnownHostsFile=/kh -F /cfg",
                SshArgs {
                    config_file: Some("/cfg".into()),
                    identity_files: vec!["~/.ssh/deploy".into()],
                    port: Some(2200),
                    user: Some("ops".into()),
                    known_hosts_files: vec!["/kh".into()],
                    ..SshArgs::default()
                },
            ),
            (
                r#"-o ProxyCommand="ssh -W %h:%p -q -i /k/b -p 2222 ops@bastion""#,
                SshArgs {
                    proxy_jump: Some(vec![JumpSpec {
                        identity_files: vec!["/k/b".into()],
                        ..jump(Some("ops"), "bastion", Some(2222))
                    }]),
                    ..SshArgs::default()
                },
            ),
            ("", SshArgs::default()),
        ];
        for (text, want) in cases {
            assert_eq!(&SshArgs::parse(text).unwrap(), want, "{text}");
        }
    }

    #[test]
    fn bad_option_strings_are_refused() {
        for bad in [
            "-o ProxyJump",
            "-J",
            "-o 'unbalanced",
            "-o StrictHostKeyChecking=maybe",
            "-o ProxyCommand='nc %h %p'",
            "-p 0",
        ] {
            assert!(SshArgs::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn first_value_wins_when_merging() {
        let mut common = SshArgs::parse("-o StrictHostKeyChecking=yes -i /a").unwrap();
        common.merge(SshArgs::parse("-o StrictHostKeyChecking=no -i /b -J j").unwrap());
        assert_eq!(common.host_key_checking, Some(HostKeyChecking::Strict));
        assert_eq!(
            common.identity_files,
            vec![PathBuf::from("/a"), PathBuf::from("/b")]
        );
        assert_eq!(common.proxy_jump, Some(vec![jump(None, "j", None)]));
    }
}
