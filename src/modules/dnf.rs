//! `dnf` (also `yum` and `dnf5`, which ansible-core runs as `dnf` too): installs, upgrades and
//! removes RPM packages with the host's `dnf5`, `dnf` or `yum` command.
//!
//! One probe finds the package manager, asks `rpm -q` (by name, then by what a package provides)
//! for every named package, and for `state: latest` asks `check-update` which have updates; the
//! package manager then runs only for what differs. On a host without dnf or yum it fails with
//! the message Ansible's dnf action gives. Groups (`@name`) and `list` are not
//! supported.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::probe::{fields, marker, section};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};
use crate::transport::quote;

static SPEC: ModuleSpec = ModuleSpec {
    name: "dnf",
    aliases: &["yum", "dnf5"],
    args: &[
        ArgSpec::new("name", ArgType::List).aliases(&["pkg"]),
        ArgSpec::new("state", ArgType::Str).choices(&[
            "absent",
            "installed",
            "latest",
            "present",
            "removed",
        ]),
        ArgSpec::new("allow_downgrade", ArgType::Bool),
        ArgSpec::new("allowerasing", ArgType::Bool),
        ArgSpec::new("autoremove", ArgType::Bool),
        ArgSpec::new("best", ArgType::Bool),
        ArgSpec::new("bugfix", ArgType::Bool),
        ArgSpec::new("cacheonly", ArgType::Bool),
        ArgSpec::new("conf_file", ArgType::Str),
        ArgSpec::new("disable_excludes", ArgType::Str),
        ArgSpec::new("disable_gpg_check", ArgType::Bool),
        ArgSpec::new("disable_plugin", ArgType::List),
        ArgSpec::new("disablerepo", ArgType::List),
        ArgSpec::new("download_only", ArgType::Bool),
        ArgSpec::new("download_dir", ArgType::Str),
        ArgSpec::new("enable_plugin", ArgType::List),
        ArgSpec::new("enablerepo", ArgType::List),
        ArgSpec::new("exclude", ArgType::List),
        ArgSpec::new("installroot", ArgType::Str),
        ArgSpec::new("install_repoquery", ArgType::Bool),
        ArgSpec::new("install_weak_deps", ArgType::Bool),
        ArgSpec::new("list", ArgType::Str),
        ArgSpec::new("nobest", ArgType::Bool),
        ArgSpec::new("releasever", ArgType::Str),
        ArgSpec::new("security", ArgType::Bool),
        ArgSpec::new("skip_broken", ArgType::Bool),
        ArgSpec::new("update_cache", ArgType::Bool).aliases(&["expire-cache"]),
        ArgSpec::new("update_only", ArgType::Bool),
        ArgSpec::new("validate_certs", ArgType::Bool),
        ArgSpec::new("sslverify", ArgType::Bool),
        ArgSpec::new("lock_timeout", ArgType::Int),
        ArgSpec::new("use_backend", ArgType::Str)
            .choices(&["auto", "dnf", "yum", "yum4", "dnf4", "dnf5"]),
        ArgSpec::new("use", ArgType::Str),
    ],
    free_form: false,
    one_of: &["name", "list", "update_cache"],
    open: false,
};

/// Ansible's failure when no dnf backend is found (its message is a pair of sentences).
const NO_BACKEND: &str = "Could not detect which major revision of dnf is in use, which is \
required to determine module backend. You should manually specify use_backend to tell the \
module whether to use the dnf4 or dnf5 backend})";

/// The `dnf` module.
pub struct Dnf;

/// What the task wants done with the packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    Present,
    Latest,
    Absent,
}

/// The commands to run, decided from the probe.
#[derive(Debug, Default, PartialEq, Eq)]
struct Plan {
    install: Vec<String>,
    upgrade: Vec<String>,
    remove: Vec<String>,
    upgrade_all: bool,
}

impl Plan {
    fn is_empty(&self) -> bool {
        self.install.is_empty()
            && self.upgrade.is_empty()
            && self.remove.is_empty()
            && !self.upgrade_all
    }

    /// Ansible's `results` lines.
    fn results(&self) -> Vec<String> {
        let lines = |verb: &str, list: &[String]| {
            list.iter()
                .map(|p| format!("{verb}: {p}"))
                .collect::<Vec<_>>()
        };
        let mut all = lines("Installed", &self.install);
        all.extend(lines("Upgraded", &self.upgrade));
        all.extend(lines("Removed", &self.remove));
        if self.upgrade_all {
            all.push("Upgraded: *".into());
        }
        all
    }
}

#[async_trait]
impl Module for Dnf {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        if args.contains_key("use") && args.contains_key("use_backend") {
            return Ok(ModuleResult::failed(
                "parameters are mutually exclusive: ('use', 'use_backend')",
            ));
        }
        if args.contains_key("name") && args.contains_key("list") {
            return Ok(ModuleResult::failed(
                "parameters are mutually exclusive: name|list",
            ));
        }
        let names = names(args);
        if let Some(group) = names.iter().find(|n| n.starts_with('@')) {
            return Ok(ModuleResult::failed(format!(
                "`{group}`: groups and modules are not supported by deployer's dnf"
            )));
        }
        let goal = goal(args, &names);
        let backend = arg_str(args, "use")
            .or_else(|| arg_str(args, "use_backend"))
            .unwrap_or("auto");
        let probe = probe_script(backend, &names, goal == Goal::Latest, &options(args));
        let out = ctx.run(probe).await?.stdout_text();
        let found = fields(section(&out, "mgr"));
        let Some(tool) = found.get("Tool").map(|t| t.to_string()) else {
            return Ok(ModuleResult::failed(NO_BACKEND));
        };
        if args.contains_key("list") {
            return Ok(ModuleResult::failed(
                "`list` is not supported by deployer's dnf; use `command: dnf list ...`",
            ));
        }
        let updates = section(&out, "updates");
        if fields(updates).get("Rc").is_some_and(|rc| *rc == "1") {
            return Ok(ModuleResult::failed(format!(
                "{tool} check-update failed: {}",
                updates.trim()
            )));
        }
        let plan = decide(goal, &names, &installed(&out), updates, args);
        run_plan(args, ctx, &tool, plan).await
    }
}

/// The packages `name` lists.
fn names(args: &Map<String, Value>) -> Vec<String> {
    args.get("name")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

/// `state`, with Ansible's default: `absent` for a lone `autoremove`, else `present`.
fn goal(args: &Map<String, Value>, names: &[String]) -> Goal {
    match arg_str(args, "state") {
        Some("latest") => Goal::Latest,
        Some("absent" | "removed") => Goal::Absent,
        None if names.is_empty() && arg_bool(args, "autoremove", false) => Goal::Absent,
        _ => Goal::Present,
    }
}

/// The package-manager options the task's arguments ask for, quoted.
fn options(args: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    let flag = |name: &str| arg_bool(args, name, false);
    for (name, option) in [
        ("disablerepo", "--disablerepo="),
        ("enablerepo", "--enablerepo="),
        ("exclude", "--exclude="),
        ("disable_plugin", "--disableplugin="),
        ("enable_plugin", "--enableplugin="),
    ] {
        for value in args
            .get(name)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.push(quote(&format!(
                "{option}{}",
                value.as_str().unwrap_or_default()
            )));
        }
    }
    for (name, option) in [
        ("conf_file", "--config="),
        ("disable_excludes", "--disableexcludes="),
        ("installroot", "--installroot="),
        ("releasever", "--releasever="),
        ("download_dir", "--downloaddir="),
    ] {
        if let Some(value) = arg_str(args, name) {
            out.push(quote(&format!("{option}{value}")));
        }
    }
    for (name, option) in [
        ("cacheonly", "--cacheonly"),
        ("disable_gpg_check", "--nogpgcheck"),
        ("skip_broken", "--skip-broken"),
        ("allowerasing", "--allowerasing"),
        ("best", "--best"),
        ("nobest", "--nobest"),
        ("download_only", "--downloadonly"),
        ("security", "--security"),
        ("bugfix", "--bugfix"),
    ] {
        if flag(name) {
            out.push(option.into());
        }
    }
    if !arg_bool(args, "install_weak_deps", true) {
        out.push("--setopt=install_weak_deps=False".into());
    }
    if !arg_bool(args, "validate_certs", true) || !arg_bool(args, "sslverify", true) {
        out.push("--setopt=sslverify=False".into());
    }
    out
}

/// The probe: the package manager (`Tool`, the first the backend allows), each
/// package installed (`I=spec`) or not (`N=spec`), and for `latest` the `check-update` listing.
fn probe_script(backend: &str, names: &[String], latest: bool, options: &[String]) -> String {
    let tools = match backend {
        "dnf5" => "dnf5",
        "dnf" | "dnf4" | "yum4" => "dnf",
        "yum" => "dnf yum",
        _ => "dnf5 dnf yum",
    };
    let mut script = format!(
        "{}\nt=\nfor m in {tools}; do\n\
         command -v $m >/dev/null 2>&1 && {{ t=$m; echo \"Tool=$m\"; break; }}\ndone\n\
         [ -n \"$t\" ] || exit 0\n{}\n",
        marker("mgr"),
        marker("rpm")
    );
    let words: Vec<String> = names.iter().map(|n| quote(n)).collect();
    let words = words.join(" ");
    if !names.is_empty() {
        script.push_str(&format!(
            "for p in {words}; do\n\
             case $p in\n\
             *.rpm) n=$(rpm -qp --qf '%{{NAME}}-%{{VERSION}}-%{{RELEASE}}.%{{ARCH}}' -- \"$p\" \
             2>/dev/null) && rpm -q --quiet -- \"$n\" ;;\n\
             *) rpm -q --quiet -- \"$p\" || rpm -q --quiet --whatprovides -- \"$p\" ;;\n\
             esac >/dev/null 2>&1 && echo \"I=$p\" || echo \"N=$p\"\ndone\n"
        ));
    }
    if latest {
        let which = if names.iter().any(|n| n == "*") {
            String::new()
        } else {
            format!(" -- {words}")
        };
        script.push_str(&format!(
            "{}\nLC_ALL=C \"$t\" -q check-update {}{which} 2>&1\necho \"Rc=$?\"\n",
            marker("updates"),
            options.join(" ")
        ));
    }
    script + "exit 0\n"
}

/// The packages the probe found installed.
fn installed(output: &str) -> Vec<String> {
    section(output, "rpm")
        .lines()
        .filter_map(|line| line.strip_prefix("I="))
        .map(str::to_string)
        .collect()
}

/// The names `check-update` lists (`name.arch  version  repo`, the arch dropped).
fn with_updates(listing: &str) -> Vec<&str> {
    listing
        .lines()
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let [package, _, _] = cols.as_slice() else {
                return None;
            };
            package.rsplit_once('.').map(|(name, _)| name)
        })
        .collect()
}

/// What to install, upgrade and remove.
fn decide(
    goal: Goal,
    names: &[String],
    installed: &[String],
    updates: &str,
    args: &Map<String, Value>,
) -> Plan {
    let mut plan = Plan::default();
    let update_only = arg_bool(args, "update_only", false);
    let outdated = with_updates(updates);
    for name in names {
        let have = installed.contains(name);
        match goal {
            Goal::Latest if name == "*" => plan.upgrade_all = !outdated.is_empty(),
            Goal::Present | Goal::Latest if !have && !update_only => {
                plan.install.push(name.clone())
            }
            Goal::Latest if have && outdated.contains(&name.as_str()) => {
                plan.upgrade.push(name.clone())
            }
            Goal::Absent if have => plan.remove.push(name.clone()),
            _ => {}
        }
    }
    plan
}

/// Runs the plan (unless in check mode), with `update_cache` before and `autoremove` after.
async fn run_plan(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
    tool: &str,
    plan: Plan,
) -> Result<ModuleResult, ModuleError> {
    let autoremove = arg_bool(args, "autoremove", false);
    let mut result = ModuleResult {
        changed: !plan.is_empty(),
        ..ModuleResult::ok().with("results", plan.results())
    };
    if plan.is_empty() && !autoremove {
        result.msg = Some("Nothing to do".into());
    }
    let mut script = match ctx.check_mode {
        true => String::new(),
        false => apply_script(args, tool, &plan),
    };
    if autoremove {
        // `--assumeno` lists what would go and stops; "Nothing to do" means nothing would.
        let answer = if ctx.check_mode { "--assumeno" } else { "-y" };
        script.push_str(&format!(
            "echo @@autoremove\nLC_ALL=C {tool} {answer} autoremove 2>&1\n"
        ));
    }
    if script.is_empty() {
        return Ok(result);
    }
    let out = ctx.run(script).await?;
    let stdout = out.stdout_text();
    result.changed |= autoremove && !section(&stdout, "autoremove").contains("Nothing to do");
    if out.exit_code != 0 && !(ctx.check_mode && autoremove) {
        result.failed = true;
        result.msg = Some(format!("{tool} failed: {}", out.stderr_text().trim()));
    }
    Ok(result
        .with("rc", out.exit_code)
        .with("stdout", stdout)
        .with("stderr", out.stderr_text()))
}

/// The commands that refresh the metadata (`update_cache`) and carry out the plan.
fn apply_script(args: &Map<String, Value>, tool: &str, plan: &Plan) -> String {
    let mut base = vec![format!("LC_ALL=C {tool} -y")];
    base.extend(options(args));
    let base = base.join(" ");
    let words = |list: &[String]| list.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
    let mut script = String::new();
    if arg_bool(args, "update_cache", false) {
        script.push_str(&format!("{base} makecache || exit 1\n"));
    }
    let steps = [
        ("install", &plan.install),
        ("upgrade", &plan.upgrade),
        ("remove", &plan.remove),
    ];
    for (verb, list) in steps.iter().filter(|(_, list)| !list.is_empty()) {
        script.push_str(&format!("{base} {verb} -- {} || exit 1\n", words(list)));
    }
    if plan.upgrade_all {
        script.push_str(&format!("{base} upgrade || exit 1\n"));
    }
    script
}

#[cfg(test)]
mod tests;
