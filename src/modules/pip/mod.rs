//! `pip`: installs, upgrades and removes Python packages with the host's pip, in a virtualenv
//! it creates when asked, as Ansible's module does. Outside check mode one script creates the
//! virtualenv, runs pip once and reports; `changed` is read from pip's output as Ansible reads it.
//! Check mode lists what is installed (`pip list --format=freeze`) and decides here.

mod requirement;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::facts::{FileError, finish};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};
use crate::transport::quote;
use requirement::{Requirement, canonical, recover};

static SPEC: ModuleSpec = ModuleSpec {
    name: "pip",
    aliases: &[],
    args: &[
        ArgSpec::new("name", ArgType::List),
        ArgSpec::new("version", ArgType::Str),
        ArgSpec::new("requirements", ArgType::Str),
        ArgSpec::new("virtualenv", ArgType::Str),
        ArgSpec::new("virtualenv_site_packages", ArgType::Bool),
        ArgSpec::new("virtualenv_command", ArgType::Str),
        ArgSpec::new("virtualenv_python", ArgType::Str),
        ArgSpec::new("state", ArgType::Str).choices(&[
            "present",
            "absent",
            "latest",
            "forcereinstall",
        ]),
        ArgSpec::new("extra_args", ArgType::Str),
        ArgSpec::new("editable", ArgType::Bool),
        ArgSpec::new("chdir", ArgType::Str),
        ArgSpec::new("executable", ArgType::Str),
        ArgSpec::new("umask", ArgType::Str),
        ArgSpec::new("break_system_packages", ArgType::Bool),
    ],
    free_form: false,
    one_of: &["name", "requirements"],
    open: false,
};

/// The `pip` module.
pub struct Pip;

#[async_trait]
impl Module for Pip {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(pip(args, ctx).await)
    }
}

/// The task, checked, with Ansible's defaults.
struct Request {
    state: String,
    packages: Vec<Requirement>,
    requirements: Option<String>,
    virtualenv: Option<String>,
    extra_args: Option<String>,
    chdir: String,
}

/// Fields the scripts print, NUL-separated, in this order.
#[derive(Debug, Default)]
struct Report {
    /// The virtualenv was missing (and, outside check mode, created).
    created: bool,
    /// The pip command used (words joined by spaces).
    pip: String,
    rc: i32,
    stdout: String,
    stderr: String,
    /// `pip list --format=freeze` changed across the run (asked with `requirements`).
    freeze_changed: bool,
}

async fn pip(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
) -> Result<ModuleResult, FileError> {
    let request = request(args)?;
    let prologue = prologue(args, &request, ctx.check_mode)?;
    if ctx.check_mode {
        return check(ctx, &request, &prologue).await;
    }
    let cmd = command(&request);
    let freeze = request.requirements.is_some() || request.packages.iter().any(|p| is_vcs(&p.text));
    let report = run(ctx, &install_script(&prologue, &cmd, freeze)).await?;
    let absent = request.state == "absent";
    let not_installed =
        report.stdout.contains("not installed") || report.stderr.contains("not installed");
    if report.rc != 0 && !(report.rc == 1 && absent && not_installed) {
        return Err(failure(&report));
    }
    let changed = if absent {
        report.stdout.contains("Successfully uninstalled")
    } else if freeze {
        report.freeze_changed
    } else {
        report.stdout.contains("Successfully installed")
    };
    let mut full = vec![Value::from(report.pip.clone())];
    full.extend(cmd.into_iter().map(Value::from));
    let text = |value: &Option<String>| value.clone().map_or(Value::Null, Value::from);
    let given = |name: &str| args.get(name).cloned().unwrap_or(Value::Null);
    let result = ModuleResult::ok()
        .with("cmd", full)
        .with("name", given("name"))
        .with("version", given("version"))
        .with("state", request.state.as_str())
        .with("requirements", text(&request.requirements))
        .with("virtualenv", text(&request.virtualenv));
    let mut result = with_output(result, &report);
    result.changed = changed || report.created;
    Ok(result)
}

/// pip's arguments: the state's command, `extra_args`, then the packages or `-r FILE`.
fn command(request: &Request) -> Vec<String> {
    let mut cmd: Vec<String> = match request.state.as_str() {
        "absent" => vec!["uninstall", "-y"],
        "latest" => vec!["install", "-U"],
        "forcereinstall" => vec!["install", "-U", "--force-reinstall"],
        _ => vec!["install"],
    }
    .into_iter()
    .map(String::from)
    .collect();
    if let Some(extra) = &request.extra_args {
        cmd.extend(extra.split_whitespace().map(String::from));
    }
    match &request.requirements {
        Some(file) if request.packages.is_empty() => {
            cmd.extend(["-r".to_string(), file.clone()]);
        }
        _ => cmd.extend(request.packages.iter().map(|p| p.text.clone())),
    }
    cmd
}

/// Runs pip once (between two `pip list` when `freeze`) and prints the report.
fn install_script(prologue: &str, cmd: &[String], freeze: bool) -> String {
    let words: Vec<String> = cmd.iter().map(|w| quote(w)).collect();
    let (before, after) = if freeze {
        (
            "before=$(pipc list --format=freeze 2>/dev/null)\n",
            "after=$(pipc list --format=freeze 2>/dev/null)\n[ \"$before\" = \"$after\" ] || changed=1\n",
        )
    } else {
        ("", "")
    };
    format!(
        "{prologue}{before}o=$(mktemp) && e=$(mktemp) || exit 1\n\
         pipc {} >\"$o\" 2>\"$e\"; rc=$?\n{after}{REPORT}printf '\\000%s' \"$changed\"\n\
         rm -f \"$o\" \"$e\"\n",
        words.join(" ")
    )
}

/// Prints `created`, `pip`, `rc`, then the output files `$o` and `$e`, NUL-separated.
const REPORT: &str = "printf '%s\\000%s\\000%s\\000' \"$created\" \"$pip\" \"$rc\"; \
    cat \"$o\"; printf '\\000'; cat \"$e\"\n";

/// Check mode: Ansible's answer without running pip's install or uninstall.
async fn check(
    ctx: &ModuleContext<'_>,
    request: &Request,
    prologue: &str,
) -> Result<ModuleResult, FileError> {
    let names_only = request.extra_args.is_none()
        && request.requirements.is_none()
        && request.state != "latest"
        && !request.packages.is_empty();
    let script = format!(
        "{prologue}o=$(mktemp) && e=$(mktemp) || exit 1\n\
         pipc list --format=freeze >\"$o\" 2>\"$e\"; rc=$?\n\
         {REPORT}printf '\\000'\nrm -f \"$o\" \"$e\"\n"
    );
    let report = run(ctx, &script).await?;
    if report.created || !names_only {
        return Ok(ModuleResult::changed());
    }
    if report.rc != 0 {
        return Err(failure(&report));
    }
    let installed: Vec<(String, &str)> = report
        .stdout
        .lines()
        .filter_map(|l| l.split_once("=="))
        .map(|(name, version)| (canonical(name), version.trim()))
        .collect();
    let present = |p: &Requirement| {
        installed
            .iter()
            .any(|(name, version)| p.name.as_ref() == Some(name) && p.satisfied_by(version))
    };
    let absent = request.state == "absent";
    let listed = ModuleResult::ok().with("cmd", format!("{} list --format=freeze", report.pip));
    let mut result = with_output(listed, &report);
    result.changed = request.packages.iter().any(|p| present(p) == absent);
    Ok(result)
}

fn request(args: &Map<String, Value>) -> Result<Request, FileError> {
    let text = |name: &str| arg_str(args, name).map(str::to_string);
    let state = text("state").unwrap_or_else(|| "present".into());
    let version = text("version");
    let names: Vec<String> = args
        .get("name")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    if !names.is_empty() && args.contains_key("requirements") {
        return Err(FileError::failed(
            "parameters are mutually exclusive: name|requirements",
        ));
    }
    if args.contains_key("executable") && args.contains_key("virtualenv") {
        return Err(FileError::failed(
            "parameters are mutually exclusive: executable|virtualenv",
        ));
    }
    if state == "latest" && version.is_some() {
        return Err(FileError::failed(
            "version is incompatible with state=latest",
        ));
    }
    let mut packages: Vec<Requirement> = recover(&names)
        .iter()
        .map(|n| Requirement::parse(n))
        .collect();
    if let Some(version) = version {
        if packages.len() > 1 {
            return Err(FileError::failed(
                "'version' argument is ambiguous when installing multiple package distributions. \
                 Please specify version restrictions next to each package in 'name' argument.",
            ));
        }
        if packages.first().is_some_and(Requirement::has_specifier) {
            return Err(FileError::failed(
                "The 'version' argument conflicts with any version specifier provided along with \
                 a package name. Please keep the version specifier, but remove the 'version' argument.",
            ));
        }
        if let Some(first) = packages.first_mut() {
            let version = version.trim_start();
            let sep = if version.starts_with(|c: char| c.is_ascii_digit()) {
                "=="
            } else {
                ""
            };
            *first = Requirement::parse(&format!("{}{sep}{version}", first.text));
        }
    }
    let mut extra_args = text("extra_args");
    if arg_bool(args, "editable", false)
        && !extra_args
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .any(|a| a == "-e")
    {
        extra_args = Some(
            format!("{} -e", extra_args.unwrap_or_default())
                .trim()
                .to_string(),
        );
    }
    let chdir = text("chdir");
    let virtualenv = text("virtualenv").map(|env| match &chdir {
        Some(dir) if !env.starts_with('/') => format!("{}/{env}", dir.trim_end_matches('/')),
        _ => env,
    });
    Ok(Request {
        state,
        packages,
        requirements: text("requirements"),
        virtualenv,
        extra_args,
        chdir: chdir.unwrap_or_else(|| "/tmp".into()),
    })
}

/// The script's start: locale, umask, the folder, the virtualenv (created unless in check mode,
/// where a missing one ends the script with `created` set) and `pipc`, which runs the pip found as
/// Ansible finds it (`$pip` names it).
fn prologue(
    args: &Map<String, Value>,
    request: &Request,
    check_mode: bool,
) -> Result<String, FileError> {
    let mut script = String::from("export LANG=C LC_ALL=C LC_MESSAGES=C\ncreated=0; changed=0\n");
    if let Some(umask) = arg_str(args, "umask") {
        if umask.is_empty() || !umask.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            return Err(FileError::failed("umask must be an octal integer"));
        }
        script += &format!("umask {umask}\n");
    }
    if arg_bool(args, "break_system_packages", false) {
        script += "export PIP_BREAK_SYSTEM_PACKAGES=1\n";
    }
    script += &format!("cd {} || exit 1\n", quote(&request.chdir));
    let fail = |msg: &str| format!("{{ printf '%s' {} >&2; exit 1; }}", quote(msg));
    let found = if let Some(env) = &request.virtualenv {
        let bin = format!("{}/bin", env.trim_end_matches('/'));
        let missing = format!(
            "Unable to find pip in the virtualenv, {env}, under any of these names: pip3, pip. \
             Make sure pip is present in the virtualenv."
        );
        let create = if check_mode {
            "printf '1\\000'; exit 0".to_string()
        } else {
            format!(
                "out=$({} {} 2>&1) || {{ printf 'stdout: %s' \"$out\" >&2; exit 1; }}",
                venv_command(args)?,
                quote(env)
            )
        };
        format!(
            "if [ ! -e {env}/bin/activate ]; then created=1\n{create}\nfi\n\
             p=\nfor c in {bin}/pip3 {bin}/pip; do if [ -x \"$c\" ]; then p=$c; break; fi; done\n\
             [ -n \"$p\" ] || {}\nexport PATH={bin}:\"$PATH\"\n",
            fail(&missing),
            env = quote(env),
            bin = quote(&bin),
        )
    } else if let Some(executable) = arg_str(args, "executable") {
        let missing =
            format!("Unable to find any of {executable} to use.  pip needs to be installed.");
        format!(
            "p=$(command -v {}) || {}\n",
            quote(executable),
            fail(&missing)
        )
    } else {
        let missing = "Unable to find any of pip3 to use.  pip needs to be installed.";
        format!(
            "if python3 -c 'import pip' >/dev/null 2>&1; then p=\n\
             else p=$(command -v pip3) || {}; fi\n",
            fail(missing)
        )
    };
    script += &found;
    script += "pip=${p:-python3 -m pip}\n\
               pipc() { if [ -n \"$p\" ]; then \"$p\" \"$@\"; else python3 -m pip \"$@\"; fi; }\n";
    Ok(script)
}

/// The command that creates the virtualenv (without its path), as Ansible builds it.
fn venv_command(args: &Map<String, Value>) -> Result<String, FileError> {
    let command = arg_str(args, "virtualenv_command").unwrap_or("virtualenv");
    let words: Vec<&str> = command.split_whitespace().collect();
    let is_venv = words.first() == Some(&"pyvenv") || words.windows(2).any(|w| w == ["-m", "venv"]);
    let mut create: Vec<String> = words.iter().map(|w| quote(w)).collect();
    if arg_bool(args, "virtualenv_site_packages", false) {
        create.push("--system-site-packages".into());
    }
    match (is_venv, arg_str(args, "virtualenv_python")) {
        (true, Some(_)) => {
            return Err(FileError::failed(
                "virtualenv_python should not be used when using the venv module or pyvenv as \
                 virtualenv_command",
            ));
        }
        (false, Some(python)) => create.push(quote(&format!("-p{python}"))),
        (false, None) => create.push("-p\"$(command -v python3)\"".into()),
        (true, None) => {}
    }
    Ok(create.join(" "))
}

/// Runs a script and reads its report.
async fn run(ctx: &ModuleContext<'_>, script: &str) -> Result<Report, FileError> {
    let out = ctx.run(script).await?;
    if out.exit_code != 0 {
        return Err(FileError::failed(out.stderr_text().trim().to_string()));
    }
    let text = out.stdout_text();
    let mut fields = text.split('\0');
    let mut next = || fields.next().unwrap_or_default().to_string();
    Ok(Report {
        created: next() == "1",
        pip: next(),
        rc: next().trim().parse().unwrap_or(-1),
        stdout: next(),
        stderr: next(),
        freeze_changed: next() == "1",
    })
}

/// Adds pip's output, with the `_lines` lists Ansible's executor adds.
fn with_output(result: ModuleResult, report: &Report) -> ModuleResult {
    let lines = |text: &str| Value::from(text.lines().collect::<Vec<_>>());
    result
        .with("stdout", report.stdout.as_str())
        .with("stdout_lines", lines(&report.stdout))
        .with("stderr", report.stderr.as_str())
        .with("stderr_lines", lines(&report.stderr))
}

/// Ansible's `_fail` message.
fn failure(report: &Report) -> FileError {
    let mut msg = String::new();
    if !report.stdout.is_empty() {
        msg += &format!("stdout: {}", report.stdout);
    }
    if !report.stderr.is_empty() {
        msg += &format!("\n:stderr: {}", report.stderr);
    }
    FileError::failed(msg)
}

/// A version-control URL (`git+https://...`), which pip may reinstall on every run.
fn is_vcs(name: &str) -> bool {
    ["svn+", "git+", "hg+", "bzr+"]
        .iter()
        .any(|prefix| name.trim_start_matches("-e ").starts_with(prefix))
}

#[cfg(test)]
mod tests;
