//! `cron`: manages one named job (`#Ansible: NAME` above its line) or one variable (`env`) in a
//! user's crontab or in a file under `/etc/cron.d`, as Ansible's module does. The crontab is read
//! in one round trip (`crontab -l`, or the file), edited here in Rust ([`CronTab`]), and written
//! back with `crontab -` (installed atomically by `crontab`) or atomically as a file.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::attrs::Attrs;
use super::facts::{FileError, Kind, Probe, finish, probe_with_content};
use super::mode::Mode;
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::transfer::{Content, Placement, sync_file, text_diff};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};
use crate::transport::{Stdin, quote};

static SPEC: ModuleSpec = ModuleSpec {
    name: "cron",
    aliases: &[],
    args: &[
        ArgSpec::new("name", ArgType::Str).required(),
        ArgSpec::new("user", ArgType::Str),
        ArgSpec::new("job", ArgType::Str).aliases(&["value"]),
        ArgSpec::new("cron_file", ArgType::Str),
        ArgSpec::new("state", ArgType::Str).choices(&["present", "absent"]),
        ArgSpec::new("backup", ArgType::Bool),
        ArgSpec::new("minute", ArgType::Str),
        ArgSpec::new("hour", ArgType::Str),
        ArgSpec::new("day", ArgType::Str).aliases(&["dom"]),
        ArgSpec::new("month", ArgType::Str),
        ArgSpec::new("weekday", ArgType::Str).aliases(&["dow"]),
        ArgSpec::new("special_time", ArgType::Str).choices(&[
            "reboot", "yearly", "annually", "monthly", "weekly", "daily", "hourly",
        ]),
        ArgSpec::new("disabled", ArgType::Bool),
        ArgSpec::new("env", ArgType::Bool),
        ArgSpec::new("insertafter", ArgType::Str),
        ArgSpec::new("insertbefore", ArgType::Str),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The comment that names a job.
const MARK: &str = "#Ansible: ";

/// The `cron` module.
pub struct Cron;

#[async_trait]
impl Module for Cron {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(cron(args, ctx).await)
    }
}

/// Where the crontab lives.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A user's crontab (`None`: the login user's), through the `crontab` command.
    User(Option<String>),
    /// A file (under `/etc/cron.d` unless absolute).
    File(String),
}

impl Target {
    fn header(&self) -> String {
        match self {
            Target::File(path) => path.clone(),
            Target::User(Some(user)) => format!("crontab for user \"{user}\""),
            Target::User(None) => "crontab".into(),
        }
    }

    /// `crontab` with `-u USER` unless USER is the login user, followed by `action`.
    fn crontab(user: Option<&str>, action: &str) -> String {
        match user {
            Some(user) => {
                let user = quote(user);
                format!(
                    "if [ \"$(id -un)\" = {user} ]; then crontab {action}; \
                     else crontab -u {user} {action}; fi"
                )
            }
            None => format!("crontab {action}"),
        }
    }
}

/// What the task asks for, checked as Ansible checks it.
struct Wanted<'a> {
    name: &'a str,
    present: bool,
    env: bool,
    /// The job's line, or the variable's `NAME="VALUE"` declaration.
    line: String,
    insertafter: Option<&'a str>,
    insertbefore: Option<&'a str>,
}

fn wanted<'a>(args: &'a Map<String, Value>, target: &Target) -> Result<Wanted<'a>, String> {
    let name = arg_str(args, "name").unwrap_or_default();
    let present = arg_str(args, "state") != Some("absent");
    let env = arg_bool(args, "env", false);
    let job = arg_str(args, "job");
    let user = arg_str(args, "user");
    let insertafter = arg_str(args, "insertafter");
    let insertbefore = arg_str(args, "insertbefore");
    if insertafter.is_some() && insertbefore.is_some() {
        return Err("parameters are mutually exclusive: insertafter|insertbefore".into());
    }
    let times: Vec<&str> = ["minute", "hour", "day", "month", "weekday"]
        .iter()
        .map(|t| arg_str(args, t).unwrap_or("*"))
        .collect();
    let special = arg_str(args, "special_time");
    if special.is_some() && times.iter().any(|t| *t != "*") {
        return Err(
            "You cannot combine special_time with any of the time or day/date parameters.".into(),
        );
    }
    if let Target::File(path) = target
        && path == "/etc/crontab"
    {
        return Err("Will not manage /etc/crontab via cron_file, see documentation.".into());
    }
    if present {
        if matches!(target, Target::File(_)) && user.is_none() {
            return Err("To use cron_file=... parameter you must specify user=... as well".into());
        }
        if job.is_none() {
            return Err("You must specify 'job' to install a new cron job or variable".into());
        }
        if (insertafter.is_some() || insertbefore.is_some()) && !env {
            return Err(
                "Insertafter and insertbefore parameters are valid only with env=yes".into(),
            );
        }
    }
    if env && name.contains(' ') {
        return Err("Invalid name for environment variable".into());
    }
    let job = job.unwrap_or_default();
    let line = match env {
        true => format!("{name}=\"{job}\""),
        false => {
            let disabled = if arg_bool(args, "disabled", false) {
                "#"
            } else {
                ""
            };
            let job = job.trim_matches(|c| c == '\r' || c == '\n');
            let user = match target {
                Target::File(_) => format!("{} ", user.unwrap_or_default()),
                Target::User(_) => String::new(),
            };
            match special {
                Some(special) => format!("{disabled}@{special} {user}{job}"),
                None => format!("{disabled}{} {user}{job}", times.join(" ")),
            }
        }
    };
    Ok(Wanted {
        name,
        present,
        env,
        line,
        insertafter,
        insertbefore,
    })
}

async fn cron(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
) -> Result<ModuleResult, FileError> {
    let user = arg_str(args, "user").map(str::to_string);
    let target = match arg_str(args, "cron_file") {
        Some(file) if file.starts_with('/') => Target::File(file.to_string()),
        Some(file) => Target::File(format!("/etc/cron.d/{file}")),
        None => Target::User(user.clone()),
    };
    let wanted = wanted(args, &target).map_err(FileError::failed)?;
    let (existing, file_state) = match &target {
        Target::User(user) => (read_crontab(ctx, user.as_deref()).await?, None),
        Target::File(path) => {
            let (state, probed, content) = probe_with_content(ctx, Probe::new(path)).await?;
            let text = String::from_utf8_lossy(&content.unwrap_or_default()).into_owned();
            (text, Some((state, probed)))
        }
    };
    let mut tab = CronTab::parse(&existing, matches!(target, Target::User(_)));
    let mut changed = edit(&mut tab, &wanted)?;
    let cron_file = match &target {
        Target::File(_) => arg_str(args, "cron_file"),
        Target::User(_) => None,
    };
    let before_text = tab.existing.clone();
    if !wanted.present
        && !wanted.env
        && changed
        && let (Some((state, _)), true) = (&file_state, tab.is_empty())
    {
        let Target::File(path) = &target else {
            unreachable!("a file state comes with a file target")
        };
        let removed = state.kind == Kind::File;
        if !ctx.check_mode && removed {
            ctx.run(format!("rm -f -- {}", quote(path))).await?;
        }
        let mut result = ModuleResult {
            changed: removed,
            ..ModuleResult::ok()
        }
        .with("cron_file", cron_file.unwrap_or_default())
        .with("state", "absent");
        if ctx.diff {
            result
                .diffs
                .push(text_diff(path, Some(before_text.as_bytes()), Some(b"")));
        }
        return Ok(result);
    }
    if !changed && !tab.existing.is_empty() && !tab.existing.ends_with(['\r', '\n']) {
        changed = true;
    }
    let mut result = ModuleResult {
        changed,
        ..ModuleResult::ok()
    }
    .with("jobs", tab.job_names())
    .with("envs", tab.env_names());
    if changed {
        let rendered = tab.render();
        if ctx.diff {
            let label = target.header();
            let diff = text_diff(
                &label,
                Some(before_text.as_bytes()),
                Some(rendered.as_bytes()),
            );
            result.diffs.push(diff);
        }
        if !ctx.check_mode {
            if arg_bool(args, "backup", false) {
                let backup = backup(ctx, &before_text).await?;
                result = result.with("backup_file", backup);
            }
            match (&target, &file_state) {
                (Target::File(path), Some((state, probed))) => {
                    write_file(ctx, path, rendered, state, probed).await?;
                }
                _ => write_crontab(ctx, user.as_deref(), rendered).await?,
            }
        }
    }
    if let Some(file) = cron_file {
        result = result.with("cron_file", file);
    }
    Ok(result)
}

/// Applies the wanted job or variable; whether the crontab changed.
fn edit(tab: &mut CronTab, wanted: &Wanted<'_>) -> Result<bool, FileError> {
    if wanted.env {
        let old = tab.find_env(wanted.name);
        return Ok(match (wanted.present, old) {
            (true, None) => {
                tab.add_env(&wanted.line, wanted.insertafter, wanted.insertbefore)
                    .map_err(FileError::failed)?;
                true
            }
            (true, Some((_, line))) if line != wanted.line => {
                tab.update_env(wanted.name, Some(&wanted.line));
                true
            }
            (false, Some(_)) => {
                tab.update_env(wanted.name, None);
                true
            }
            _ => false,
        });
    }
    if !wanted.present {
        let found = tab.find_job(wanted.name, None).is_some();
        if found {
            tab.update_job(wanted.name, None);
        }
        return Ok(found);
    }
    Ok(match tab.find_job(wanted.name, Some(&wanted.line)) {
        None => {
            tab.lines.push(format!("{MARK}{}", wanted.name));
            tab.lines.push(wanted.line.clone());
            true
        }
        Some(found) if found.line != wanted.line || found.adopted => {
            tab.update_job(wanted.name, Some(&wanted.line));
            true
        }
        Some(_) => false,
    })
}

/// A crontab's lines, edited as Ansible's `CronTab` edits them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CronTab {
    lines: Vec<String>,
    /// The text as read (without the headers `crontab -l` adds).
    existing: String,
}

/// A job found by name.
struct Found {
    line: String,
    /// The job's line existed without its name comment, which was just added.
    adopted: bool,
}

impl CronTab {
    /// Reads a crontab; from `crontab -l` (`listed`), up to three of its header lines are dropped.
    fn parse(text: &str, listed: bool) -> CronTab {
        let mut existing = text.to_string();
        let mut lines = Vec::new();
        for (count, line) in text.lines().enumerate() {
            let header = count <= 2
                && (line.starts_with("# DO NOT EDIT THIS FILE - edit the master and reinstall.")
                    || (line.starts_with("# (/tmp/") && line.contains("installed on"))
                    || (line.starts_with("# (") && line.contains("version") && line.contains(')')));
            if listed && header {
                for ending in ["\r\n", "\n", "\r", ""] {
                    let with = format!("{line}{ending}");
                    if let Some(at) = existing.find(&with) {
                        existing.replace_range(at..at + with.len(), "");
                        break;
                    }
                }
            } else {
                lines.push(line.to_string());
            }
        }
        CronTab { lines, existing }
    }

    fn is_empty(&self) -> bool {
        self.lines.iter().all(|l| l.trim().is_empty())
    }

    /// The job named `name`; when there is none but `job`'s exact line exists without a name
    /// above it (or under `#Ansible: None`), names it there.
    fn find_job(&mut self, name: &str, job: Option<&str>) -> Option<Found> {
        let mut comment: Option<String> = None;
        for line in &self.lines {
            if let Some(c) = comment.take() {
                if c == name {
                    return Some(Found {
                        line: line.clone(),
                        adopted: false,
                    });
                }
            } else if let Some(rest) = line.strip_prefix(MARK) {
                comment = Some(rest.replace(MARK, ""));
            }
        }
        let job = job?;
        let mark = format!("{MARK}{name}");
        for at in 0..self.lines.len() {
            if self.lines[at] != job {
                continue;
            }
            // Python's `lines[i - 1]`: the last line for the first.
            let previous = at.checked_sub(1).unwrap_or(self.lines.len() - 1);
            if !self.lines[previous].starts_with(MARK) {
                self.lines.insert(at, mark);
            } else if !name.is_empty() && self.lines[previous] == format!("{MARK}None") {
                self.lines[previous] = mark;
            } else {
                continue;
            }
            return Some(Found {
                line: job.to_string(),
                adopted: true,
            });
        }
        None
    }

    /// Replaces (or with `None` removes) every job named `name`.
    fn update_job(&mut self, name: &str, job: Option<&str>) {
        let mark = format!("{MARK}{name}");
        let mut out = Vec::new();
        let mut after_mark = false;
        for line in self.lines.drain(..) {
            if after_mark {
                if let Some(job) = job {
                    out.push(mark.clone());
                    out.push(job.to_string());
                }
                after_mark = false;
            } else if line == mark {
                after_mark = true;
            } else {
                out.push(line);
            }
        }
        self.lines = out;
    }

    /// The first `NAME=` line and its index.
    fn find_env(&self, name: &str) -> Option<(usize, String)> {
        let prefix = format!("{name}=");
        self.lines
            .iter()
            .position(|l| l.starts_with(&prefix))
            .map(|i| (i, self.lines[i].clone()))
    }

    fn add_env(
        &mut self,
        decl: &str,
        after: Option<&str>,
        before: Option<&str>,
    ) -> Result<(), String> {
        let Some(other) = after.or(before) else {
            self.lines.insert(0, decl.to_string());
            return Ok(());
        };
        let (index, _) = self
            .find_env(other)
            .ok_or_else(|| format!("Variable named '{other}' not found."))?;
        let at = if after.is_some() { index + 1 } else { index };
        self.lines.insert(at, decl.to_string());
        Ok(())
    }

    /// Replaces (or with `None` removes) every `NAME=` line.
    fn update_env(&mut self, name: &str, decl: Option<&str>) {
        let prefix = format!("{name}=");
        self.lines = std::mem::take(&mut self.lines)
            .into_iter()
            .filter_map(|l| match l.starts_with(&prefix) {
                true => decl.map(str::to_string),
                false => Some(l),
            })
            .collect();
    }

    fn job_names(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter_map(|l| l.strip_prefix(MARK).map(str::to_string))
            .collect()
    }

    fn env_names(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter_map(|l| {
                let (name, _) = l.split_once('=')?;
                (!name.is_empty() && !name.contains(char::is_whitespace)).then(|| name.to_string())
            })
            .collect()
    }

    fn render(&self) -> String {
        let text = self.lines.join("\n");
        match text.is_empty() {
            true => text,
            false => format!("{}\n", text.trim_end_matches(['\r', '\n'])),
        }
    }
}

/// The user's crontab (empty when there is none).
async fn read_crontab(ctx: &ModuleContext<'_>, user: Option<&str>) -> Result<String, FileError> {
    let out = ctx.run(Target::crontab(user, "-l")).await?;
    match out.exit_code {
        0 | 1 => Ok(out.stdout_text()),
        _ => Err(FileError::failed(format!(
            "Unable to read crontab: {}",
            out.stderr_text().trim()
        ))),
    }
}

async fn write_crontab(
    ctx: &ModuleContext<'_>,
    user: Option<&str>,
    text: String,
) -> Result<(), FileError> {
    let stdin = Stdin::Bytes(std::sync::Arc::new(text.into_bytes()));
    let out = ctx
        .run_with_stdin(Target::crontab(user, "-"), stdin)
        .await?;
    match out.exit_code {
        0 => Ok(()),
        _ => Err(FileError::failed(format!(
            "Failed to install new cronfile: {}",
            out.stderr_text().trim()
        ))),
    }
}

/// Writes a cron file atomically; a new one gets mode 0644 (Ansible's umask 022).
async fn write_file(
    ctx: &ModuleContext<'_>,
    path: &str,
    text: String,
    state: &super::facts::PathState,
    probed: &super::facts::Probed,
) -> Result<(), FileError> {
    let attrs = Attrs {
        mode: (!state.exists()).then_some(Mode::Octal(0o644)),
        ..Attrs::default()
    };
    let placement = Placement {
        dest: path,
        attrs,
        ..Placement::default()
    };
    sync_file(
        ctx,
        &Content::bytes(text.into_bytes()),
        &placement,
        state,
        probed,
        None,
    )
    .await?;
    Ok(())
}

/// Saves the crontab as it was to a new temporary file on the host; returns its path.
async fn backup(ctx: &ModuleContext<'_>, text: &str) -> Result<String, FileError> {
    let stdin = Stdin::Bytes(std::sync::Arc::new(text.as_bytes().to_vec()));
    let script = "f=$(mktemp -t crontabXXXXXXXX) && cat > \"$f\" && printf '%s' \"$f\"";
    let out = ctx.run_with_stdin(script, stdin).await?;
    match out.exit_code {
        0 => Ok(out.stdout_text()),
        _ => Err(FileError::failed(format!(
            "cannot back up the crontab: {}",
            out.stderr_text().trim()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{StubHost, args, run_local, run_on};
    use serde_json::json;

    fn apply(text: &str, given: Value, target: &Target) -> (String, bool) {
        let given = SPEC.normalise(&args(given)).unwrap();
        let wanted = wanted(&given, target).unwrap();
        let mut tab = CronTab::parse(text, matches!(target, Target::User(_)));
        let changed = edit(&mut tab, &wanted).unwrap();
        (tab.render(), changed)
    }

    const USER: Target = Target::User(None);

    #[test]
    fn jobs_are_added_updated_and_removed_by_name() {
        let job = json!({"name": "backup", "job": "/bin/backup", "minute": "5", "hour": "2"});
        let (text, changed) = apply("MAILTO=x\n", job.clone(), &USER);
        assert_eq!(text, "MAILTO=x\n#Ansible: backup\n5 2 * * * /bin/backup\n");
        assert!(changed);
        let (again, changed) = apply(&text, job, &USER);
        assert_eq!((again.as_str(), changed), (text.as_str(), false));
        let moved = json!({"name": "backup", "job": "/bin/backup", "special_time": "daily"});
        let (text, _) = apply(&text, moved, &USER);
        assert_eq!(text, "MAILTO=x\n#Ansible: backup\n@daily /bin/backup\n");
        let (text, changed) = apply(&text, json!({"name": "backup", "state": "absent"}), &USER);
        assert_eq!((text.as_str(), changed), ("MAILTO=x\n", true));
    }

    #[test]
    fn cron_files_name_the_user_and_unnamed_identical_jobs_are_adopted() {
        let file = Target::File("/etc/cron.d/x".into());
        let given = json!({"name": "j", "job": "run", "user": "root", "disabled": true});
        let (text, _) = apply("", given, &file);
        assert_eq!(text, "#Ansible: j\n#* * * * * root run\n");
        let (text, changed) = apply("* * * * * run\n", json!({"name": "j", "job": "run"}), &USER);
        assert_eq!(
            (text.as_str(), changed),
            ("#Ansible: j\n* * * * * run\n", true)
        );
    }

    #[test]
    fn variables_go_first_or_next_to_another_and_are_replaced() {
        let env = |name: &str, job: &str| json!({"name": name, "job": job, "env": true});
        let (text, _) = apply("#Ansible: a\n* * * * * a\n", env("PATH", "/bin"), &USER);
        assert_eq!(text, "PATH=\"/bin\"\n#Ansible: a\n* * * * * a\n");
        let mut after = env("SHELL", "/bin/sh");
        after["insertafter"] = "PATH".into();
        let (text, _) = apply(&text, after, &USER);
        assert!(text.starts_with("PATH=\"/bin\"\nSHELL=\"/bin/sh\"\n"));
        let (text, changed) = apply(&text, env("PATH", "/usr/bin"), &USER);
        assert!(changed && text.starts_with("PATH=\"/usr/bin\"\n"));
    }

    #[test]
    fn listed_headers_are_dropped_and_bad_combinations_fail() {
        let tab = CronTab::parse(
            "# DO NOT EDIT THIS FILE - edit the master and reinstall.\n# (/tmp/x installed on y)\n# (Cron version 3)\nA=1\n",
            true,
        );
        assert_eq!(
            (tab.lines.clone(), tab.existing.as_str()),
            (vec!["A=1".to_string()], "A=1\n")
        );
        let given = SPEC
            .normalise(&args(
                json!({"name": "x", "job": "y", "hour": "1", "special_time": "daily"}),
            ))
            .unwrap();
        assert!(wanted(&given, &USER).is_err());
        let given = SPEC
            .normalise(&args(json!({"name": "x", "job": "y", "cron_file": "f"})))
            .unwrap();
        assert!(wanted(&given, &Target::File("/etc/cron.d/f".into())).is_err());
    }

    #[tokio::test]
    async fn a_user_crontab_is_read_and_installed_through_crontab() {
        let host = StubHost::new()
            .stub("crontab", "-l", "", 1)
            .stub("crontab", "-", "", 0);
        let given = json!({"name": "natives", "job": "true"});
        let result = run_on(&Cron, args(given.clone()), &host, true).await;
        assert!(result.changed);
        assert_eq!(result.data["jobs"], json!(["natives"]));
        assert_eq!(host.calls(), "crontab [-l]\n");
        let result = run_on(&Cron, args(given), &host, false).await;
        assert!(result.changed);
        assert_eq!(host.calls(), "crontab [-l]\ncrontab [-l]\ncrontab [-]\n");
    }

    #[tokio::test]
    async fn a_cron_file_is_written_once_and_removed_when_emptied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("natives").display().to_string();
        let given = json!({"name": "n", "job": "true", "user": "root", "cron_file": path});
        let result = run_local(&Cron, args(given.clone())).await;
        assert!(result.changed, "{result:?}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "#Ansible: n\n* * * * * root true\n"
        );
        assert!(!run_local(&Cron, args(given)).await.changed);
        let gone = json!({"name": "n", "state": "absent", "cron_file": path});
        let result = run_local(&Cron, args(gone)).await;
        assert!(result.changed && !std::path::Path::new(&path).exists());
    }
}
