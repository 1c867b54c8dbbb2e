//! `package_facts`: sets `packages`, the host's installed packages by name (each a list of
//! installed versions), read from `dpkg-query` (manager `apt`) or `rpm -qa` (manager `rpm`).
//! Also under `ansible_facts`. Changes nothing.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use super::setup::facts_result;
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_str};

static SPEC: ModuleSpec = ModuleSpec {
    name: "package_facts",
    aliases: &[],
    args: &[
        ArgSpec::new("manager", ArgType::List),
        ArgSpec::new("strategy", ArgType::Str).choices(&["first", "all"]),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The package managers read, in the order `auto` tries them (Ansible's sorted order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Manager {
    Apt,
    Rpm,
}

impl Manager {
    /// The manager a name stands for (`dnf`, `yum`, `dnf5` and `zypper` read rpm, as in Ansible).
    fn named(name: &str) -> Option<Manager> {
        match name {
            "apt" => Some(Manager::Apt),
            "rpm" | "dnf" | "dnf5" | "yum" | "zypper" => Some(Manager::Rpm),
            _ => None,
        }
    }

    /// Prints nothing when the manager's tool is missing, else the native architecture (apt)
    /// and one tab-separated line per package.
    fn script(self) -> &'static str {
        match self {
            Manager::Apt => {
                "command -v dpkg-query >/dev/null 2>&1 || exit 0\n\
                 dpkg --print-architecture\n\
                 dpkg-query -W -f '${db:Status-Abbrev}\\t${Package}\\t${Version}\\t${Architecture}\\t${Section}\\n'"
            }
            Manager::Rpm => {
                "command -v rpm >/dev/null 2>&1 || exit 0\n\
                 rpm -qa --qf '%{NAME}\\t%{VERSION}\\t%{RELEASE}\\t%{EPOCH}\\t%{ARCH}\\n'"
            }
        }
    }

    fn parse(self, output: &str) -> Map<String, Value> {
        match self {
            Manager::Apt => parse_dpkg(output),
            Manager::Rpm => parse_rpm(output),
        }
    }
}

/// The `package_facts` module.
pub struct PackageFacts;

#[async_trait]
impl Module for PackageFacts {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let named: Vec<String> = args
            .get("manager")
            .and_then(Value::as_array)
            .map(|m| {
                m.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_lowercase)
                    .collect()
            })
            .filter(|m: &Vec<String>| !m.is_empty())
            .unwrap_or_else(|| vec!["auto".into()]);
        let managers = match managers(&named) {
            Ok(managers) => managers,
            Err(msg) => return Ok(ModuleResult::failed(msg)),
        };
        let all = arg_str(args, "strategy") == Some("all");
        let mut packages = Map::new();
        let mut found = false;
        for manager in managers {
            if found && !all {
                break;
            }
            let out = ctx.run(manager.script()).await?;
            let listed = match out.exit_code {
                0 => manager.parse(&out.stdout_text()),
                _ => Map::new(),
            };
            found |= !listed.is_empty();
            for (name, versions) in listed {
                let Value::Array(versions) = versions else {
                    continue;
                };
                for details in versions {
                    add(&mut packages, &name, details);
                }
            }
        }
        if !found {
            return Ok(ModuleResult::failed(format!(
                "Could not detect a supported package manager from the following list: {}, \
                 or the required Python library is not installed. Check warnings for details.",
                python_list(&named)
            )));
        }
        let facts = Map::from_iter([("packages".to_string(), Value::Object(packages))]);
        Ok(facts_result(ctx, &facts))
    }
}

/// The managers to read, in order, without repeats: `auto` adds every known one after those named.
fn managers(named: &[String]) -> Result<Vec<Manager>, String> {
    let mut out = Vec::new();
    let mut unsupported = Vec::new();
    let auto = [Manager::Apt, Manager::Rpm];
    for name in named {
        let these = match name.as_str() {
            "auto" => auto.to_vec(),
            other => match Manager::named(other) {
                Some(manager) => vec![manager],
                None => {
                    unsupported.push(other.to_string());
                    continue;
                }
            },
        };
        for manager in these {
            if !out.contains(&manager) {
                out.push(manager);
            }
        }
    }
    match unsupported.is_empty() {
        true => Ok(out),
        false => Err(format!(
            "Unsupported package managers requested: {} (deployer reads apt and rpm)",
            unsupported.join(", ")
        )),
    }
}

/// A list of names as Python prints it (`['auto']`).
fn python_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    format!("[{}]", quoted.join(", "))
}

/// Adds a package's details under its name.
fn add(packages: &mut Map<String, Value>, name: &str, details: Value) {
    match packages.get_mut(name) {
        Some(Value::Array(list)) => list.push(details),
        _ => {
            packages.insert(name.to_string(), Value::Array(vec![details]));
        }
    }
}

/// `dpkg --print-architecture`'s line, then `dpkg-query` lines: installed packages (not those
/// only configured or removed) as python-apt names them (`name:arch` for a foreign architecture).
fn parse_dpkg(output: &str) -> Map<String, Value> {
    let mut lines = output.lines();
    let native = lines.next().unwrap_or_default().trim();
    let mut packages = Map::new();
    for line in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        let [status, package, version, arch, section] = fields[..] else {
            continue;
        };
        if matches!(status.as_bytes().get(1), None | Some(b'n' | b'c')) {
            continue;
        }
        let name = match arch == native || arch == "all" {
            true => package.to_string(),
            false => format!("{package}:{arch}"),
        };
        let details = json!({
            "name": name, "version": version, "arch": arch, "category": section, "source": "apt",
        });
        add(&mut packages, &name, details);
    }
    packages
}

/// `rpm -qa` lines; an epoch rpm does not have is `None`, as Ansible prints it.
fn parse_rpm(output: &str) -> Map<String, Value> {
    let mut packages = Map::new();
    for line in output.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let [name, version, release, epoch, arch] = fields[..] else {
            continue;
        };
        let epoch = if epoch == "(none)" { "None" } else { epoch };
        let details = json!({
            "name": name, "version": version, "release": release, "epoch": epoch,
            "arch": arch, "source": "rpm",
        });
        add(&mut packages, name, details);
    }
    packages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeHost, args, run_on};

    #[test]
    fn dpkg_lists_installed_packages_and_names_foreign_ones_with_their_arch() {
        let out = "amd64\nii \tbash\t5.2-1\tamd64\tshells\nrc \told\t1\tamd64\tx\n\
                   ii \ttzdata\t2024a\tall\tlocaltime\nii \tlibc6\t2.36\ti386\tlibs\n";
        let packages = parse_dpkg(out);
        assert_eq!(
            Value::Object(packages),
            json!({
                "bash": [{"name": "bash", "version": "5.2-1", "arch": "amd64", "category": "shells", "source": "apt"}],
                "tzdata": [{"name": "tzdata", "version": "2024a", "arch": "all", "category": "localtime", "source": "apt"}],
                "libc6:i386": [{"name": "libc6:i386", "version": "2.36", "arch": "i386", "category": "libs", "source": "apt"}],
            })
        );
    }

    #[test]
    fn rpm_keeps_every_installed_version() {
        let out = "kernel\t6.1\t1.el9\t(none)\tx86_64\nkernel\t6.2\t1.el9\t(none)\tx86_64\n";
        let packages = parse_rpm(out);
        assert_eq!(packages["kernel"].as_array().unwrap().len(), 2);
        assert_eq!(packages["kernel"][0]["epoch"], "None");
    }

    #[test]
    fn managers_resolve_aliases_and_refuse_unknown_ones() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            managers(&names(&["yum", "auto"])),
            Ok(vec![Manager::Rpm, Manager::Apt])
        );
        assert!(managers(&names(&["pacman"])).is_err());
    }

    #[tokio::test]
    async fn the_first_manager_with_packages_wins_and_none_fails() {
        let host = FakeHost::new().reply("dpkg", "amd64\nii \tcurl\t8\tamd64\tweb\n", 0);
        let result = run_on(&PackageFacts, args(json!({})), &host, true).await;
        assert_eq!(result.facts["packages"]["curl"][0]["version"], "8");
        assert_eq!(host.scripts().len(), 1);
        let result = run_on(&PackageFacts, args(json!({})), &FakeHost::new(), false).await;
        assert!(result.failed);
        assert!(result.msg.unwrap().contains("['auto']"));
    }
}
