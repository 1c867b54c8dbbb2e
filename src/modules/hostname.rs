//! `hostname`: sets a host's name the way Ansible's module does. One probe reads everything a
//! strategy may need (whether systemd runs, the distribution, `hostnamectl`'s names and the
//! hostname files); the strategy (`use`, else systemd when it runs, else the distribution's) is
//! chosen here, and one script changes only the names that differ.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::facts::{FileError, finish};
use super::setup::facts_result;
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Diff, Module, ModuleContext, ModuleError, ModuleResult, arg_str};
use crate::transport::quote;

static SPEC: ModuleSpec = ModuleSpec {
    name: "hostname",
    aliases: &[],
    args: &[
        ArgSpec::new("name", ArgType::Str).required(),
        ArgSpec::new("use", ArgType::Str).choices(&[
            "alpine", "debian", "freebsd", "generic", "macos", "macosx", "darwin", "openbsd",
            "openrc", "redhat", "sles", "solaris", "systemd",
        ]),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `hostname` module.
pub struct Hostname;

#[async_trait]
impl Module for Hostname {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(hostname(args, ctx).await)
    }
}

/// How the names are read and written (Ansible's strategy classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    /// `hostnamectl`: the transient (current) and static (permanent) names.
    Systemd,
    /// A file holding the name alone (`/etc/hostname`, `/etc/HOSTNAME` on SLES).
    File(&'static str),
    /// `/etc/hostname`, then `hostname -F /etc/hostname`.
    Alpine,
    /// The `HOSTNAME=` line of `/etc/sysconfig/network`.
    RedHat,
    /// The `hostname="..."` line of `/etc/conf.d/hostname`.
    OpenRc,
}

const NETWORK: &str = "/etc/sysconfig/network";
const CONF_D: &str = "/etc/conf.d/hostname";
/// The files the probe reads, in its output's order.
const FILES: [&str; 4] = ["/etc/hostname", "/etc/HOSTNAME", NETWORK, CONF_D];

/// A command's exit code, output and errors.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Run {
    rc: i32,
    out: String,
    err: String,
}

/// What the probe learned.
#[derive(Debug, Default, PartialEq, Eq)]
struct Read {
    /// `systemctl` is installed and systemd booted the host.
    systemd: bool,
    /// `/etc/os-release`'s `ID` and `VERSION_ID`.
    id: String,
    version: String,
    /// `hostnamectl --transient status` and `--static status` (when systemd may be used).
    transient: Run,
    permanent: Run,
    /// The text of each of [`FILES`], `None` when it is not a file.
    files: [Option<String>; 4],
    /// `hostname -f` (the fully qualified name, before any change).
    fqdn: String,
}

async fn hostname(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
) -> Result<ModuleResult, FileError> {
    let name = arg_str(args, "name").unwrap_or_default();
    let wanted = arg_str(args, "use");
    let ask_hostnamectl = wanted.is_none_or(|u| u == "systemd" || u == "debian");
    let out = ctx.run(probe_script(ask_hostnamectl)).await?;
    if out.exit_code != 0 {
        return Err(FileError::failed(out.stderr_text().trim().to_string()));
    }
    let read = parse(&out.stdout_text()).map_err(FileError::failed)?;
    let strategy = match wanted {
        Some(name) => by_use(name)?,
        None if read.systemd => Strategy::Systemd,
        None => by_distribution(&read)?,
    };
    let current = strategy.current(&read)?;
    let permanent = strategy.permanent(&read)?;
    let set_permanent = permanent != name;
    let set_current = current != name;
    let changed = set_permanent || set_current;
    if changed && strategy == Strategy::Systemd && name.chars().count() > 64 {
        return Err(FileError::failed(
            "name cannot be longer than 64 characters on systemd servers, try a shorter name",
        ));
    }
    let mut fqdn = read.fqdn.clone();
    if changed && !ctx.check_mode {
        if strategy == Strategy::OpenRc && read.files[file_index(CONF_D)].is_none() {
            return Err(FileError::failed(format!(
                "failed to update hostname: {CONF_D} does not exist"
            )));
        }
        let script = strategy.apply_script(name, &read, set_current, set_permanent);
        let out = ctx.run(script).await?;
        if out.exit_code != 0 {
            return Err(FileError::failed(format!(
                "Command failed rc={}, out={}, err={}",
                out.exit_code,
                out.stdout_text(),
                out.stderr_text()
            )));
        }
        fqdn = out.stdout_text().trim().to_string();
    }
    let mut facts = Map::new();
    let short = name.split('.').next().unwrap_or_default();
    facts.insert("ansible_hostname".into(), short.into());
    facts.insert("ansible_nodename".into(), name.into());
    let domain = fqdn.split_once('.').map_or("", |(_, d)| d).to_string();
    facts.insert("ansible_fqdn".into(), fqdn.into());
    facts.insert("ansible_domain".into(), domain.into());
    let mut result = facts_result(ctx, &facts).with("name", name);
    result.changed = changed;
    if changed {
        let before = if current != name { current } else { permanent };
        result.diffs.push(Diff {
            label: "hostname".into(),
            before: format!("hostname = {before}\n"),
            after: format!("hostname = {name}\n"),
        });
    }
    Ok(result)
}

/// The strategy `use` names (Ansible's `STRATS`: `debian` means systemd there too).
fn by_use(name: &str) -> Result<Strategy, FileError> {
    Ok(match name {
        "systemd" | "debian" => Strategy::Systemd,
        "alpine" => Strategy::Alpine,
        "redhat" => Strategy::RedHat,
        "openrc" => Strategy::OpenRc,
        "sles" => Strategy::File("/etc/HOSTNAME"),
        "generic" => {
            return Err(FileError::failed(
                "use=generic cannot read the hostname (ansible-core fails there too)",
            ));
        }
        other => {
            return Err(FileError::failed(format!(
                "hostname: use={other} (a BSD, macOS or Solaris strategy) is not supported by deployer"
            )));
        }
    })
}

/// The strategy of a host without systemd, from its distribution as Ansible names it.
fn by_distribution(read: &Read) -> Result<Strategy, FileError> {
    let id = match read.id.as_str() {
        "ol" => "oracle",
        "opensuse-leap" => "opensuse",
        other => other,
    };
    Ok(match id {
        "debian" | "ubuntu" | "kali" | "parrot" | "linuxmint" | "raspbian" | "devuan" | "pop"
        | "deepin" | "uos" | "kylin" | "linaro" | "neon" | "void" | "cumulus-linux" => {
            Strategy::File("/etc/hostname")
        }
        "rhel" | "centos" | "amzn" | "oracle" | "scientific" | "virtuozzo" | "cloudlinux"
        | "cloudlinuxserver" | "alinux" | "anolis" | "eurolinux" | "altlinux" => Strategy::RedHat,
        "alpine" => Strategy::Alpine,
        "gentoo" => Strategy::OpenRc,
        "sles"
            if read
                .version
                .parse::<f64>()
                .is_ok_and(|v| (10.0..=12.0).contains(&v)) =>
        {
            Strategy::File("/etc/HOSTNAME")
        }
        _ => {
            let mut distribution = id.to_string();
            if let Some(first) = distribution.get_mut(..1) {
                first.make_ascii_uppercase();
            }
            return Err(FileError::failed(format!(
                "hostname module cannot be used on platform Linux ({distribution})"
            )));
        }
    })
}

impl Strategy {
    /// The name the host runs with now.
    fn current(self, read: &Read) -> Result<String, FileError> {
        match self {
            Strategy::Systemd => command_output(&read.transient),
            _ => self.permanent(read),
        }
    }

    /// The name the host boots with.
    fn permanent(self, read: &Read) -> Result<String, FileError> {
        let text = |path: &str| read.files[file_index(path)].clone();
        match self {
            Strategy::Systemd => command_output(&read.permanent),
            Strategy::File(path) => Ok(text(path).unwrap_or_default().trim().to_string()),
            Strategy::Alpine => Ok(text(FILES[0]).unwrap_or_default().trim().to_string()),
            Strategy::RedHat => text(NETWORK)
                .unwrap_or_default()
                .lines()
                .map(str::trim)
                .find(|l| l.starts_with("HOSTNAME"))
                .and_then(|l| l.split_once('='))
                .map(|(_, v)| v.trim().to_string())
                .ok_or_else(|| {
                    FileError::failed(format!("Unable to locate HOSTNAME entry in {NETWORK}"))
                }),
            Strategy::OpenRc => Ok(text(CONF_D)
                .unwrap_or_default()
                .lines()
                .map(str::trim)
                .find_map(|l| l.strip_prefix("hostname="))
                .map(|v| v.trim().trim_matches('"').to_string())
                .unwrap_or_default()),
        }
    }

    /// The script that sets the names that differ, then prints the fully qualified name.
    fn apply_script(self, name: &str, read: &Read, current: bool, permanent: bool) -> String {
        let q = quote(name);
        let mut script = String::from("set -e\n");
        match self {
            Strategy::Systemd => {
                if permanent {
                    script += &format!("hostnamectl --pretty --static set-hostname {q} >&2\n");
                }
                if current {
                    script += &format!("hostnamectl --transient set-hostname {q} >&2\n");
                }
            }
            Strategy::File(path) => script += &write(path, &format!("{name}\n")),
            Strategy::Alpine => {
                script += &write(FILES[0], &format!("{name}\n"));
                script += "hostname -F /etc/hostname >&2\n";
            }
            Strategy::RedHat => {
                let old = read.files[file_index(NETWORK)].as_deref();
                let text = with_line(
                    old.unwrap_or_default(),
                    "HOSTNAME",
                    &format!("HOSTNAME={name}"),
                );
                script += &write(NETWORK, &text);
            }
            Strategy::OpenRc => {
                let old = read.files[file_index(CONF_D)].as_deref();
                let line = format!("hostname=\"{name}\"");
                script += &write(
                    CONF_D,
                    &with_line(old.unwrap_or_default(), "hostname=", &line),
                );
            }
        }
        script + "hostname -f 2>/dev/null || uname -n\n"
    }
}

/// A command's output, or Ansible's failure when it failed.
fn command_output(run: &Run) -> Result<String, FileError> {
    if run.rc != 0 {
        return Err(FileError::failed(format!(
            "Command failed rc={}, out={}, err={}",
            run.rc, run.out, run.err
        )));
    }
    Ok(run.out.trim().to_string())
}

fn file_index(path: &str) -> usize {
    FILES
        .iter()
        .position(|f| *f == path)
        .expect("a probed file")
}

/// Writes `text` into `path` in place (as Ansible does: `/etc/hostname` may be a bind mount,
/// which a rename cannot replace).
fn write(path: &str, text: &str) -> String {
    format!("printf '%s' {} > {}\n", quote(text), quote(path))
}

/// `text` with every line starting with `prefix` (after blanks) replaced by `line`, or `line`
/// appended when there is none.
fn with_line(text: &str, prefix: &str, line: &str) -> String {
    let mut found = false;
    let mut out = String::new();
    for old in text.lines() {
        if old.trim().starts_with(prefix) {
            found = true;
            out += line;
        } else {
            out += old;
        }
        out.push('\n');
    }
    if !found {
        out += line;
        out.push('\n');
    }
    out
}

/// The probe: systemd, ID, VERSION_ID, the two `hostnamectl` runs (code, output, errors) when
/// `ask_hostnamectl`, each file (`1` and its text, or empty), `hostname -f`; NUL-separated.
fn probe_script(ask_hostnamectl: bool) -> String {
    let mut script = String::from(
        "sd=0\nif command -v systemctl >/dev/null 2>&1; then\n\
         for c in /run/systemd/system/ /dev/.run/systemd/ /dev/.systemd/; do\n\
         if [ -e \"$c\" ]; then sd=1; fi; done; fi\n\
         ID=; VERSION_ID=\nif [ -r /etc/os-release ]; then . /etc/os-release; fi\n\
         printf '%s\\000%s\\000%s\\000' \"$sd\" \"$ID\" \"$VERSION_ID\"\n\
         e=$(mktemp) || exit 1\n",
    );
    for which in ["--transient", "--static"] {
        if ask_hostnamectl {
            script += &format!(
                "o=$(hostnamectl {which} status 2>\"$e\"); rc=$?\n\
                 printf '%s\\000%s\\000%s\\000' \"$rc\" \"$o\" \"$(cat \"$e\")\"\n"
            );
        } else {
            script += "printf '0\\000\\000\\000'\n";
        }
    }
    script += "rm -f \"$e\"\n";
    for file in FILES {
        script += &format!("if [ -f {file} ]; then printf '1'; cat {file}; fi; printf '\\000'\n");
    }
    script + "hostname -f 2>/dev/null || uname -n\n"
}

fn parse(stdout: &str) -> Result<Read, String> {
    let mut fields = stdout.split('\0');
    let mut next = || {
        fields
            .next()
            .map(str::to_string)
            .ok_or("the hostname probe ended early")
    };
    let systemd = next()? == "1";
    let (id, version) = (next()?, next()?);
    let mut run = || -> Result<Run, String> {
        Ok(Run {
            rc: next()?.trim().parse().unwrap_or(-1),
            out: next()?,
            err: next()?,
        })
    };
    let (transient, permanent) = (run()?, run()?);
    let mut files: [Option<String>; 4] = Default::default();
    for file in &mut files {
        *file = next()?.strip_prefix('1').map(str::to_string);
    }
    let fqdn = next()?.trim().to_string();
    Ok(Read {
        systemd,
        id,
        version,
        transient,
        permanent,
        files,
        fqdn,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeHost, args, run_on};
    use serde_json::json;

    fn probe(systemd: bool, id: &str, files: [&str; 4]) -> String {
        let sd = if systemd { "1" } else { "0" };
        let files: Vec<String> = files
            .iter()
            .map(|f| {
                if f.is_empty() {
                    String::new()
                } else {
                    format!("1{f}")
                }
            })
            .collect();
        format!(
            "{sd}\0{id}\012\00\0old\0\00\0old\0\0{}\0web.example.org\n",
            files.join("\0")
        )
    }

    #[test]
    fn the_probe_is_parsed_and_the_strategy_chosen_as_ansible_does() {
        let read = parse(&probe(false, "debian", ["old\n", "", "", ""])).unwrap();
        assert_eq!(
            by_distribution(&read).unwrap(),
            Strategy::File("/etc/hostname")
        );
        assert_eq!(
            Strategy::File("/etc/hostname").permanent(&read).unwrap(),
            "old"
        );
        assert_eq!(read.fqdn, "web.example.org");
        let fedora = Read {
            id: "fedora".into(),
            ..Read::default()
        };
        let error = by_distribution(&fedora).unwrap_err().to_string();
        assert_eq!(
            error,
            "hostname module cannot be used on platform Linux (Fedora)"
        );
        assert_eq!(by_use("debian").unwrap(), Strategy::Systemd);
        let network = parse(&probe(false, "rhel", ["", "", "NETWORKING=yes\n", ""])).unwrap();
        assert!(Strategy::RedHat.permanent(&network).is_err());
    }

    #[test]
    fn lines_are_replaced_or_appended() {
        assert_eq!(
            with_line("NETWORKING=yes\n HOSTNAME=a\n", "HOSTNAME", "HOSTNAME=b"),
            "NETWORKING=yes\nHOSTNAME=b\n"
        );
        assert_eq!(
            with_line("", "hostname=", "hostname=\"b\""),
            "hostname=\"b\"\n"
        );
    }

    #[tokio::test]
    async fn a_systemd_host_gets_the_static_name_first_and_the_diff_ansible_shows() {
        let host = FakeHost::new()
            .reply(
                "hostnamectl --transient status",
                &probe(true, "debian", ["old\n", "", "", ""]),
                0,
            )
            .reply("set-hostname", "new.example.org\n", 0);
        let result = run_on(
            &Hostname,
            args(json!({"name": "new.example.org"})),
            &host,
            false,
        )
        .await;
        assert!(result.changed && !result.failed, "{result:?}");
        let scripts = host.scripts();
        let apply = &scripts[1];
        let permanent = apply.find("--static set-hostname").unwrap();
        assert!(permanent < apply.find("--transient set-hostname").unwrap());
        assert_eq!(result.diffs[0].before, "hostname = old\n");
        assert_eq!(result.facts["ansible_hostname"], "new");
        assert_eq!(result.facts["ansible_facts"]["domain"], "example.org");
        let same = FakeHost::new().reply("status", &probe(true, "debian", ["", "", "", ""]), 0);
        let result = run_on(&Hostname, args(json!({"name": "old"})), &same, false).await;
        assert!(!result.changed && same.scripts().len() == 1);
    }
}
