//! `apt`: installs, upgrades and removes Debian packages with `apt-get`, optionally refreshing the
//! package lists first (`update_cache`, `cache_valid_time`).
//!
//! One probe reads the cache age, `dpkg-query -W` for every named package, and `apt-cache policy`
//! when `state: latest` needs candidates; `apt-get` runs only for packages that differ. `deb`
//! installs a `.deb` file on the host unless dpkg already has its package at its version.
//! `upgrade` runs `apt-get upgrade --with-new-pkgs` (`yes`, `safe`) or `dist-upgrade` (`dist`,
//! `full`), as Ansible does on hosts without aptitude; `clean` and `autoclean` empty the package
//! cache. It does not support `build-dep`, `fixed`, or wildcard package names.

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::probe::{fields, marker, section};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};
use crate::transport::{ExecOutput, quote};

static SPEC: ModuleSpec = ModuleSpec {
    name: "apt",
    aliases: &[],
    args: &[
        ArgSpec::new("name", ArgType::List).aliases(&["package", "pkg"]),
        ArgSpec::new("deb", ArgType::Str),
        ArgSpec::new("state", ArgType::Str).choices(&["present", "absent", "latest"]),
        ArgSpec::new("update_cache", ArgType::Bool).aliases(&["update-cache"]),
        ArgSpec::new("cache_valid_time", ArgType::Int),
        ArgSpec::new("purge", ArgType::Bool),
        ArgSpec::new("autoremove", ArgType::Bool),
        ArgSpec::new("install_recommends", ArgType::Bool).aliases(&["install-recommends"]),
        ArgSpec::new("default_release", ArgType::Str).aliases(&["default-release"]),
        ArgSpec::new("allow_downgrade", ArgType::Bool).aliases(&[
            "allow-downgrade",
            "allow_downgrades",
            "allow-downgrades",
        ]),
        ArgSpec::new("dpkg_options", ArgType::Str),
        ArgSpec::new("upgrade", ArgType::Str),
        ArgSpec::new("clean", ArgType::Bool),
        ArgSpec::new("autoclean", ArgType::Bool),
    ],
    free_form: false,
    one_of: &["name", "deb", "update_cache", "autoremove", "upgrade"],
    open: false,
};

/// The `apt` module.
pub struct Apt;

/// Where a successful `apt-get update` is recorded (and read back for `cache_valid_time`).
const STAMP: &str = "/var/lib/apt/periodic/update-success-stamp";

/// A package as the task names it: `name`, `name:arch`, `name=version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Wanted {
    /// The package name, with `:arch` when given.
    pub name: String,
    /// The exact version pinned with `=`.
    pub version: Option<String>,
}

impl Wanted {
    /// Parses and checks one entry of `name`.
    pub(super) fn parse(spec: &str) -> Result<Self, String> {
        let (name, version) = match spec.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (spec, None),
        };
        let (bare, arch) = name.split_once(':').unwrap_or((name, ""));
        let word = |s: &str, extra: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
        };
        let ok = word(bare, "+.-_")
            && bare.starts_with(|c: char| c.is_ascii_alphanumeric())
            && (arch.is_empty() || word(arch, "-_"))
            && version.is_none_or(|v| word(v, ".+~:-_"));
        if !ok {
            return Err(format!(
                "`{spec}` is not a package name (name[:arch][=version])"
            ));
        }
        Ok(Wanted {
            name: name.to_string(),
            version: version.map(str::to_string),
        })
    }

    /// What to hand `apt-get install`.
    fn install_spec(&self) -> String {
        match &self.version {
            Some(v) => format!("{}={v}", self.name),
            None => self.name.clone(),
        }
    }
}

/// What dpkg knows of one package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Known {
    /// The installed version, when fully installed.
    pub installed: Option<String>,
    /// Removed, but its configuration files remain.
    pub config_files: bool,
    /// The version `apt-get install` would pick (from `apt-cache policy`).
    pub candidate: Option<String>,
}

/// What the task wants done with the packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Goal {
    Present,
    Latest,
    Absent { purge: bool },
}

/// The packages to install and to remove for `goal`, given what the host has.
pub(super) fn decide(
    goal: Goal,
    wanted: &[Wanted],
    known: &HashMap<String, Known>,
) -> Result<(Vec<String>, Vec<String>), String> {
    let mut install = Vec::new();
    let mut remove = Vec::new();
    for pkg in wanted {
        let have = known.get(&pkg.name).cloned().unwrap_or_default();
        let pinned_ok = |v: &String| pkg.version.as_ref().is_none_or(|want| want == v);
        match goal {
            Goal::Present if !have.installed.as_ref().is_some_and(pinned_ok) => {
                install.push(pkg.install_spec());
            }
            Goal::Latest if pkg.version.is_some() => {
                return Err(format!(
                    "version number inconsistent with state=latest: {}",
                    pkg.install_spec()
                ));
            }
            Goal::Latest => match (&have.installed, &have.candidate) {
                (Some(v), Some(c)) if v == c => {}
                (Some(_), None) => {}
                _ => install.push(pkg.name.clone()),
            },
            Goal::Absent { purge } => {
                let installed = have.installed.as_ref().is_some_and(pinned_ok);
                if installed || (purge && have.config_files && pkg.version.is_none()) {
                    remove.push(pkg.name.clone());
                }
            }
            Goal::Present => {}
        }
    }
    Ok((install, remove))
}

/// The probe: cache age, dpkg's view of `names`, and (for `latest`) apt's candidates.
pub(super) fn probe_script(names: &[String], candidates: bool) -> String {
    let mut script = format!(
        "{}\nm=0\nfor f in {STAMP} /var/lib/apt/lists; do\n\
         t=$(stat -c %Y \"$f\" 2>/dev/null) && [ \"$t\" -gt \"$m\" ] && m=$t\ndone\n\
         echo \"Mtime=$m\"; echo \"Now=$(date +%s)\"\n",
        marker("cache")
    );
    if names.is_empty() {
        return script + "exit 0\n";
    }
    let words: Vec<String> = names.iter().map(|n| quote(n)).collect();
    let words = words.join(" ");
    script.push_str(&format!(
        "{}\ndpkg-query -W -f='${{Package}}:${{Architecture}}\\t${{Status}}\\t${{Version}}\\n' \
         -- {words} 2>/dev/null\n",
        marker("dpkg")
    ));
    if candidates {
        script.push_str(&format!(
            "{}\nLC_ALL=C apt-cache policy -- {words} 2>/dev/null\n",
            marker("policy")
        ));
    }
    script.push_str("exit 0\n");
    script
}

/// Reads `dpkg-query` and `apt-cache policy` output, keyed by both `name` and `name:arch`.
pub(super) fn parse_known(output: &str) -> HashMap<String, Known> {
    let mut known: HashMap<String, Known> = HashMap::new();
    for line in section(output, "dpkg").lines() {
        let mut cols = line.split('\t');
        let (Some(full), Some(status), Some(version)) = (cols.next(), cols.next(), cols.next())
        else {
            continue;
        };
        let bare = full.split(':').next().unwrap_or(full);
        let state = status.split(' ').nth(2).unwrap_or_default();
        for key in [full, bare] {
            let entry = known.entry(key.to_string()).or_default();
            if state == "installed" {
                entry.installed = Some(version.to_string());
            } else if state == "config-files" {
                entry.config_files = true;
            }
        }
    }
    let mut current: Option<String> = None;
    for line in section(output, "policy").lines() {
        if !line.starts_with(' ') {
            current = line.strip_suffix(':').map(str::to_string);
        } else if let (Some(name), Some(candidate)) =
            (&current, line.trim().strip_prefix("Candidate: "))
        {
            let candidate = (candidate != "(none)").then(|| candidate.to_string());
            known.entry(name.clone()).or_default().candidate = candidate;
        }
    }
    known
}

/// Whether `apt-get`'s summary line says it changed anything (`None` when there is none).
pub(super) fn summary_changed(stdout: &str) -> Option<bool> {
    let re = regex::Regex::new(r"(\d+) upgraded, (\d+) newly installed, (\d+) to remove")
        .expect("valid regex");
    let caps = re.captures(stdout)?;
    Some((1..=3).any(|i| &caps[i] != "0"))
}

/// The `apt-get` verb for `upgrade`: `None` for `no`, an error for an unknown mode.
pub(super) fn upgrade_verb(mode: &str) -> Result<Option<&'static str>, String> {
    match mode {
        "no" | "false" | "False" => Ok(None),
        "yes" | "true" | "True" | "safe" => Ok(Some("upgrade --with-new-pkgs")),
        "dist" | "full" => Ok(Some("dist-upgrade")),
        other => Err(format!(
            "value of upgrade must be one of: dist, full, no, safe, yes, got: {other}"
        )),
    }
}

/// The `apt-get` command line every install and removal starts with; `-s` simulates.
fn apt_get(args: &Map<String, Value>, simulate: bool) -> String {
    let mode = if simulate { "-s" } else { "-y" };
    let mut line = format!("DEBIAN_FRONTEND=noninteractive apt-get {mode} -q");
    let options = arg_str(args, "dpkg_options").unwrap_or("force-confdef,force-confold");
    for option in options.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        line.push_str(&format!(
            " -o {}",
            quote(&format!("Dpkg::Options::=--{option}"))
        ));
    }
    match args.get("install_recommends").and_then(Value::as_bool) {
        Some(true) => line.push_str(" -o APT::Install-Recommends=true"),
        Some(false) => line.push_str(" --no-install-recommends"),
        None => {}
    }
    if let Some(release) = arg_str(args, "default_release") {
        line.push_str(&format!(" -t {}", quote(release)));
    }
    if arg_bool(args, "allow_downgrade", false) {
        line.push_str(" --allow-downgrades");
    }
    if arg_bool(args, "autoremove", false) {
        line.push_str(" --auto-remove");
    }
    line
}

/// The script that refreshes the package lists and records when.
pub(super) fn update_script() -> String {
    format!(
        "DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null || exit 1\n\
         mkdir -p /var/lib/apt/periodic && touch {STAMP}\n"
    )
}

/// The script that installs and removes packages (or only autoremoves when both are empty).
fn apply_script(
    args: &Map<String, Value>,
    install: &[String],
    remove: &[String],
    simulate: bool,
) -> String {
    let base = apt_get(args, simulate);
    let words = |list: &[String]| list.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
    let mut script = String::new();
    if arg_bool(args, "clean", false) && !simulate {
        script.push_str("apt-get clean || exit 1\n");
    }
    if !install.is_empty() {
        script.push_str(&format!("{base} install -- {} || exit 1\n", words(install)));
    }
    if !remove.is_empty() {
        let verb = if arg_bool(args, "purge", false) {
            "purge"
        } else {
            "remove"
        };
        script.push_str(&format!("{base} {verb} -- {} || exit 1\n", words(remove)));
    }
    if install.is_empty() && remove.is_empty() {
        let purge = if arg_bool(args, "purge", false) {
            " --purge"
        } else {
            ""
        };
        script.push_str(&format!("{base}{purge} autoremove\n"));
    }
    script
}

#[async_trait]
impl Module for Apt {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let goal = match arg_str(args, "state").unwrap_or("present") {
            "latest" => Goal::Latest,
            "absent" => Goal::Absent {
                purge: arg_bool(args, "purge", false),
            },
            _ => Goal::Present,
        };
        let upgrade = match upgrade_verb(arg_str(args, "upgrade").unwrap_or("no")) {
            Ok(verb) => verb,
            Err(msg) => return Ok(ModuleResult::failed(msg)),
        };
        if upgrade.is_some() && (args.contains_key("name") || args.contains_key("deb")) {
            return Ok(ModuleResult::failed(
                "parameters are mutually exclusive: deb|package|upgrade",
            ));
        }
        let deb = arg_str(args, "deb");
        let wanted = match deb {
            Some(path) => deb_package(args, goal, path, ctx).await?.map(|w| vec![w]),
            None => named(args),
        };
        let wanted = match wanted {
            Ok(wanted) => wanted,
            Err(msg) => return Ok(ModuleResult::failed(msg)),
        };
        let names: Vec<String> = wanted.iter().map(|w| w.name.clone()).collect();
        let probe = probe_script(&names, goal == Goal::Latest);
        let (output, mut result) = refresh(args, ctx, &probe).await?;
        if result.failed {
            return Ok(result);
        }
        if let Some(housekeeping) = Housekeeping::of(args, upgrade, ctx.check_mode) {
            return housekeeping.run(ctx, result).await;
        }
        let autoremove = arg_bool(args, "autoremove", false);
        if wanted.is_empty() && !autoremove {
            return Ok(result);
        }
        let (install, remove) = match decide(goal, &wanted, &parse_known(&output)) {
            Ok(lists) => lists,
            Err(msg) => return Ok(ModuleResult::failed(msg)),
        };
        let install = match deb {
            Some(path) if !install.is_empty() => vec![deb_file(path)],
            _ => install,
        };
        if install.is_empty() && remove.is_empty() && !wanted.is_empty() {
            return Ok(result);
        }
        if ctx.check_mode && !wanted.is_empty() {
            result.changed = true;
            return Ok(result);
        }
        let script = apply_script(args, &install, &remove, ctx.check_mode);
        let out = ctx.run(script).await?;
        result.changed = !wanted.is_empty() || summary_changed(&out.stdout_text()).unwrap_or(true);
        Ok(with_apt_get_output(result, &out))
    }
}

/// What a task that only keeps house asks: `clean`, `upgrade` or `autoclean` without packages.
struct Housekeeping {
    /// The script to run.
    script: String,
    /// Whether it cleans the cache (which, as in Ansible, always counts as a change).
    cleans: bool,
}

impl Housekeeping {
    /// `None` when the task names packages or asks none of them.
    fn of(args: &Map<String, Value>, upgrade: Option<&str>, simulate: bool) -> Option<Self> {
        if args.contains_key("name") || args.contains_key("deb") {
            return None;
        }
        let cleans = arg_bool(args, "clean", false);
        let mut script = String::new();
        if cleans && !simulate {
            script.push_str("apt-get clean || exit 1\n");
        }
        if let Some(verb) = upgrade {
            script.push_str(&format!("{} {verb}\n", apt_get(args, simulate)));
        } else if arg_bool(args, "autoclean", false) {
            script.push_str(&format!("{} autoclean\n", apt_get(args, simulate)));
        }
        (cleans || !script.is_empty()).then_some(Housekeeping { script, cleans })
    }

    /// Runs it: changed when `apt-get` upgraded or deleted anything, or the cache was cleaned.
    async fn run(
        self,
        ctx: &ModuleContext<'_>,
        mut result: ModuleResult,
    ) -> Result<ModuleResult, ModuleError> {
        result.changed |= self.cleans;
        if self.script.is_empty() {
            return Ok(result);
        }
        let out = ctx.run(self.script).await?;
        let stdout = out.stdout_text();
        result.changed |= summary_changed(&stdout).unwrap_or(false)
            || stdout.lines().any(|l| l.starts_with("Del "));
        Ok(with_apt_get_output(result, &out))
    }
}

/// `result` with what `apt-get` printed, failed when it exited non-zero.
fn with_apt_get_output(mut result: ModuleResult, out: &ExecOutput) -> ModuleResult {
    if out.exit_code != 0 {
        result.failed = true;
        result.msg = Some(format!("apt-get failed: {}", out.stderr_text().trim()));
    }
    result
        .with("stdout", out.stdout_text())
        .with("stderr", out.stderr_text())
}

/// The packages `name` lists.
fn named(args: &Map<String, Value>) -> Result<Vec<Wanted>, String> {
    args.get("name")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|spec| Wanted::parse(spec.as_str().unwrap_or_default()))
        .collect()
}

/// `deb` as `apt-get install` takes a file: a path, never a bare name.
pub(super) fn deb_file(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("./{path}")
    }
}

/// The package the `.deb` file `path` on the host holds (read with `dpkg-deb -f`), pinned to the
/// file's version so that [`decide`] installs it unless dpkg has exactly that version.
async fn deb_package(
    args: &Map<String, Value>,
    goal: Goal,
    path: &str,
    ctx: &ModuleContext<'_>,
) -> Result<Result<Wanted, String>, ModuleError> {
    if args.contains_key("name") {
        return Ok(Err("parameters are mutually exclusive: deb|name".into()));
    }
    if goal != Goal::Present {
        return Ok(Err("deb only supports state=present".into()));
    }
    if !path.ends_with(".deb") {
        return Ok(Err(format!(
            "deb: `{path}` does not end in .deb (apt-get installs files only by that name)"
        )));
    }
    let file = quote(&deb_file(path));
    let out = ctx
        .run(format!("dpkg-deb -f {file} Package Version"))
        .await?;
    if out.exit_code != 0 {
        return Ok(Err(format!(
            "cannot read {path}: {}",
            out.stderr_text().trim()
        )));
    }
    Ok(deb_fields(&out.stdout_text()))
}

/// The package and version `dpkg-deb -f FILE Package Version` printed.
pub(super) fn deb_fields(text: &str) -> Result<Wanted, String> {
    let field = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix(": "))
            .unwrap_or_default()
    };
    Wanted::parse(&format!("{}={}", field("Package"), field("Version")))
}

/// Runs the probe, refreshing the package lists first when `update_cache` asks and they are older
/// than `cache_valid_time`. Returns the probe's output and a result carrying `cache_updated`
/// (and `changed` when refreshing is all the task does), or a failed result.
async fn refresh(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
    probe: &str,
) -> Result<(String, ModuleResult), ModuleError> {
    let update = arg_bool(args, "update_cache", false);
    let valid = args
        .get("cache_valid_time")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let mut updated = update && valid <= 0 && !ctx.check_mode;
    let first = if updated {
        update_script() + probe
    } else {
        probe.to_string()
    };
    let mut out = ctx.run(first).await?;
    let age = |text: &str| {
        let f = fields(section(text, "cache"));
        let num = |k: &str| f.get(k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        (num("Mtime"), num("Now") - num("Mtime"))
    };
    let stale = update && (valid <= 0 || age(&out.stdout_text()).1 > valid);
    if stale && !updated && !ctx.check_mode && out.exit_code == 0 {
        out = ctx.run(update_script() + probe).await?;
        updated = true;
    }
    if out.exit_code != 0 {
        let msg = format!("Failed to update apt cache: {}", out.stderr_text().trim());
        return Ok((String::new(), ModuleResult::failed(msg)));
    }
    let output = out.stdout_text();
    let mut result = ModuleResult::ok()
        .with("cache_updated", updated)
        .with("cache_update_time", age(&output).0);
    result.changed = stale
        && args
            .get("name")
            .is_none_or(|n| n.as_array().is_some_and(Vec::is_empty));
    Ok((output, result))
}

#[cfg(test)]
mod tests;
