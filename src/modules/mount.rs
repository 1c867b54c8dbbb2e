//! `mount` (ansible.posix): keeps a mount point's line in fstab and mounts, unmounts or remounts
//! it, as ansible.posix's module does on Linux. One round trip reads the fstab, whether the path
//! exists and `/proc/self/mountinfo`; the fstab is edited here in Rust ([`Fstab`]) exactly as
//! Ansible edits it, and written back atomically; `mount`/`umount` run on the host.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::facts::{FileError, Kind, Probe, finish, parent, probe_then};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::transfer::{Content, Placement, sync_file};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};
use crate::transport::quote;

static SPEC: ModuleSpec = ModuleSpec {
    name: "mount",
    aliases: &["ansible.posix.mount"],
    args: &[
        ArgSpec::new("path", ArgType::Str)
            .required()
            .aliases(&["name"]),
        ArgSpec::new("src", ArgType::Str),
        ArgSpec::new("fstype", ArgType::Str),
        ArgSpec::new("opts", ArgType::Str),
        ArgSpec::new("opts_no_log", ArgType::Bool),
        ArgSpec::new("dump", ArgType::Str),
        ArgSpec::new("passno", ArgType::Str),
        ArgSpec::new("fstab", ArgType::Str),
        ArgSpec::new("boot", ArgType::Bool),
        ArgSpec::new("backup", ArgType::Bool),
        ArgSpec::new("state", ArgType::Str).required().choices(&[
            "absent",
            "absent_from_fstab",
            "mounted",
            "present",
            "unmounted",
            "remounted",
            "ephemeral",
        ]),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `mount` module.
pub struct Mount;

#[async_trait]
impl Module for Mount {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(mount(args, ctx).await)
    }
}

/// One fstab entry as the task wants it (Ansible's `args`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    name: String,
    src: Option<String>,
    fstype: Option<String>,
    opts: String,
    dump: String,
    passno: String,
}

impl Entry {
    fn read(args: &Map<String, Value>) -> Entry {
        let text = |name, default: &str| arg_str(args, name).unwrap_or(default).to_string();
        let mut opts = text("opts", "defaults");
        if !arg_bool(args, "boot", true) {
            opts.push_str(",noauto");
        }
        Entry {
            name: text("path", ""),
            src: arg_str(args, "src").map(String::from),
            fstype: arg_str(args, "fstype").map(String::from),
            opts,
            dump: text("dump", "0"),
            passno: text("passno", "0"),
        }
    }

    /// The entry's fstab line, its fields escaped.
    fn line(&self) -> String {
        let field = |v: &Option<String>| escape(v.as_deref().unwrap_or_default());
        format!(
            "{} {} {} {} {} {}\n",
            field(&self.src),
            escape(&self.name),
            field(&self.fstype),
            escape(&self.opts),
            escape(&self.dump),
            escape(&self.passno)
        )
    }

    /// Whether an fstab line's fields name this entry's mount point (for swap, also its source).
    fn names(&self, name: &str, fstype: &str, src: &str) -> bool {
        let other_swap =
            name == "none" && fstype == "swap" && self.src.as_ref().is_some_and(|s| s != src);
        name == escape(&self.name) && !other_swap
    }
}

/// A value as fstab holds it: space, `&` and `\` as octal escapes.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\134")
        .replace(' ', "\\040")
        .replace('&', "\\046")
}

/// An fstab's text, edited as ansible.posix edits it.
struct Fstab;

impl Fstab {
    /// The text with the entry set: matching lines are brought to the entry (once one line
    /// changed, every later matching line is rewritten too), else the entry is appended. Lines
    /// get a final newline. Returns the text and whether it changed.
    fn set(text: &str, entry: &Entry) -> (String, bool) {
        let mut out = String::new();
        let mut exists = false;
        let mut changed = false;
        for line in text.split_inclusive('\n') {
            let line = match line.ends_with('\n') {
                true => line.to_string(),
                false => format!("{line}\n"),
            };
            let fields: Vec<&str> = line
                .split('#')
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .collect();
            let trimmed = line.trim();
            let entry_line = !trimmed.is_empty()
                && !trimmed.starts_with('#')
                && (4..=6).contains(&fields.len())
                && entry.names(fields[1], fields[2], fields[0]);
            if !entry_line {
                out.push_str(&line);
                continue;
            }
            exists = true;
            let wanted = [
                escape(entry.src.as_deref().unwrap_or_default()),
                escape(entry.fstype.as_deref().unwrap_or_default()),
                escape(&entry.opts),
                escape(&entry.dump),
                escape(&entry.passno),
            ];
            // A line without dump or passno never matches (Ansible compares the number 0 it
            // assumes with the text it wants).
            let found = [
                fields.first(),
                fields.get(2),
                fields.get(3),
                fields.get(4),
                fields.get(5),
            ];
            changed |= (found.iter().zip(&wanted)).any(|(f, w)| f.is_none_or(|f| f != w));
            match changed {
                true => out.push_str(&format!(
                    "{} {} {} {} {} {}\n",
                    wanted[0], fields[1], wanted[1], wanted[2], wanted[3], wanted[4]
                )),
                false => out.push_str(&line),
            }
        }
        if !exists {
            out.push_str(&entry.line());
            changed = true;
        }
        (out, changed)
    }

    /// The text without the entry's lines (only six-field lines count, as in Ansible).
    fn unset(text: &str, entry: &Entry) -> (String, bool) {
        let mut out = String::new();
        let mut changed = false;
        for line in text.split_inclusive('\n') {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let trimmed = line.trim();
            let entry_line = !trimmed.is_empty()
                && !trimmed.starts_with('#')
                && fields.len() == 6
                && entry.names(fields[1], fields[2], fields[0]);
            match entry_line {
                true => changed = true,
                false => out.push_str(line),
            }
        }
        (out, changed)
    }
}

/// What the probe learned.
struct Host {
    fstab_exists: bool,
    fstab: String,
    path_exists: bool,
    /// `(mount point, source)` of each mount, as `/proc/self/mountinfo` has them (escaped).
    mounts: Vec<(String, String)>,
}

impl Host {
    fn mount_of(&self, name: &str) -> Option<&(String, String)> {
        let escaped = name.replace('\\', "\\134").replace(' ', "\\040");
        self.mounts.iter().find(|(dst, _)| *dst == escaped)
    }
}

async fn probe(ctx: &ModuleContext<'_>, fstab: &str, path: &str) -> Result<Host, FileError> {
    let tail = format!(
        "cat /proc/self/mountinfo 2>/dev/null; printf '\\000'\n\
         if [ -f {f} ]; then cat -- {f}; fi\n",
        f = quote(fstab)
    );
    let probes = [Probe::new(fstab).followed(), Probe::stat_only(path)];
    let (probed, rest) = probe_then(ctx, &probes, &tail).await?;
    let text = String::from_utf8_lossy(&rest);
    let (mountinfo, fstab_text) = text.split_once('\0').unwrap_or((&text, ""));
    let mounts = mountinfo
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let dst = fields.get(4)?;
            let src = fields.get(fields.len().checked_sub(2)?)?;
            Some((dst.to_string(), src.to_string()))
        })
        .collect();
    Ok(Host {
        fstab_exists: probed.states[0].kind == Kind::File,
        fstab: fstab_text.to_string(),
        path_exists: probed.states[1].exists(),
        mounts,
    })
}

async fn mount(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
) -> Result<ModuleResult, FileError> {
    let state = arg_str(args, "state").unwrap_or_default();
    let entry = Entry::read(args);
    if matches!(state, "mounted" | "present" | "ephemeral") {
        let missing: Vec<&str> = ["src", "fstype"]
            .into_iter()
            .filter(|a| arg_str(args, a).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(FileError::failed(format!(
                "state is {state} but all of the following are missing: {}",
                missing.join(", ")
            )));
        }
    }
    let fstab = arg_str(args, "fstab").unwrap_or("/etc/fstab");
    let host = probe(ctx, fstab, &entry.name).await?;
    let cmd = Commands {
        ctx,
        entry: &entry,
        fstab,
        state,
    };
    if state != "ephemeral" && !host.fstab_exists && !ctx.check_mode {
        cmd.create_fstab().await?;
    }
    let mounted = host.mount_of(&entry.name).is_some();
    let name = &entry.name;
    let mut backup_file = None;
    let changed = match state {
        "absent" | "absent_from_fstab" => {
            let (text, changed) = Fstab::unset(&host.fstab, &entry);
            if changed && !ctx.check_mode {
                backup_file = cmd.write_fstab(args, text).await?;
                if state == "absent" {
                    if mounted {
                        cmd.umount()
                            .await
                            .map_err(|m| fail("Error unmounting", name, &m))?;
                    }
                    if host.path_exists {
                        cmd.rmdir().await?;
                    }
                }
            }
            changed
        }
        "unmounted" => {
            if mounted && !ctx.check_mode {
                cmd.umount()
                    .await
                    .map_err(|m| fail("Error unmounting", name, &m))?;
            }
            mounted
        }
        "present" => {
            let (text, changed) = Fstab::set(&host.fstab, &entry);
            if changed && !ctx.check_mode {
                backup_file = cmd.write_fstab(args, text).await?;
            }
            changed
        }
        "remounted" => {
            if !ctx.check_mode {
                cmd.remount()
                    .await
                    .map_err(|m| fail("Error remounting", name, &m))?;
            }
            true
        }
        _ => {
            let (changed, backup) = mount_now(args, &cmd, &host, mounted).await?;
            backup_file = backup;
            changed
        }
    };
    let mut result = ModuleResult {
        changed,
        ..ModuleResult::ok()
    }
    .with("name", entry.name.as_str())
    .with("opts", entry.opts.as_str())
    .with("dump", entry.dump.as_str())
    .with("passno", entry.passno.as_str())
    .with("fstab", fstab)
    .with(
        "boot",
        if arg_bool(args, "boot", true) {
            "yes"
        } else {
            "no"
        },
    )
    .with("backup_file", backup_file.unwrap_or_default());
    for key in ["src", "fstype"] {
        if let Some(value) = arg_str(args, key) {
            result = result.with(key, value);
        }
    }
    Ok(result)
}

/// `mounted` and `ephemeral`: creates the mount point, sets the fstab line (`mounted`), then
/// mounts, or remounts a mounted path whose line changed; a failed mount puts the fstab back.
async fn mount_now(
    args: &Map<String, Value>,
    cmd: &Commands<'_>,
    host: &Host,
    mounted: bool,
) -> Result<(bool, Option<String>), FileError> {
    let ctx = cmd.ctx;
    let name = &cmd.entry.name;
    let created = match !host.path_exists && !ctx.check_mode {
        true => Some(cmd.mkdir().await?),
        false => None,
    };
    let (mut changed, mut backup) = (false, None);
    if cmd.state == "mounted" {
        let (text, line_changed) = Fstab::set(&host.fstab, cmd.entry);
        changed = line_changed;
        if changed && !ctx.check_mode {
            backup = cmd.write_fstab(args, text).await?;
        }
    }
    let outcome = if mounted {
        if cmd.state == "ephemeral" {
            let source = host.mount_of(name).map(|(_, src)| src.as_str());
            if source != cmd.entry.src.as_deref() {
                return Err(FileError::failed(
                    "Ephemeral mount point is already mounted with a different source than the \
                     specified one. Failing in order to prevent an unwanted unmount or override \
                     operation. Try replacing this command with a \"state: unmounted\" followed \
                     by a \"state: ephemeral\", or use a different destination path.",
                ));
            }
            changed = true;
        }
        match changed && !ctx.check_mode {
            true => cmd.remount().await,
            false => Ok(()),
        }
    } else {
        changed = true;
        match ctx.check_mode {
            true => Ok(()),
            false => cmd.mount().await,
        }
    };
    if let Err(msg) = outcome {
        if cmd.state == "mounted" {
            cmd.write_fstab(&Map::new(), host.fstab.clone()).await?;
        }
        if let Some(top) = created {
            cmd.remove_created(&top).await?;
        }
        return Err(fail("Error mounting", name, &msg));
    }
    Ok((changed, backup))
}

fn fail(what: &str, name: &str, msg: &str) -> FileError {
    FileError::failed(format!("{what} {name}: {msg}"))
}

/// The commands the module runs on the host.
struct Commands<'a> {
    ctx: &'a ModuleContext<'a>,
    entry: &'a Entry,
    fstab: &'a str,
    state: &'a str,
}

impl Commands<'_> {
    /// Runs a command; `Err` holds its output when it fails.
    async fn run(&self, command: String) -> Result<Result<(), String>, FileError> {
        let out = self.ctx.run(command).await?;
        Ok(match out.exit_code {
            0 => Ok(()),
            _ => Err(format!("{}{}", out.stdout_text(), out.stderr_text())),
        })
    }

    /// `-T FSTAB` for a fstab other than `/etc/fstab`.
    fn fstab_args(&self) -> String {
        match self.fstab {
            "/etc/fstab" | "" => String::new(),
            other => format!(" -T {}", quote(other)),
        }
    }

    /// `-t FSTYPE [-o OPTS] SRC` of an ephemeral mount, else the fstab's.
    fn source_args(&self) -> String {
        if self.state != "ephemeral" {
            return self.fstab_args();
        }
        let entry = self.entry;
        let mut args = format!(" -t {}", quote(entry.fstype.as_deref().unwrap_or_default()));
        if entry.opts != "defaults" {
            args.push_str(&format!(" -o {}", quote(&entry.opts)));
        }
        args.push_str(&format!(
            " {}",
            quote(entry.src.as_deref().unwrap_or_default())
        ));
        args
    }

    async fn mount(&self) -> Result<(), String> {
        let command = format!("mount{} {}", self.source_args(), quote(&self.entry.name));
        self.run(command)
            .await
            .unwrap_or_else(|e| Err(e.to_string()))
    }

    async fn umount(&self) -> Result<(), String> {
        let command = format!("umount {}", quote(&self.entry.name));
        self.run(command)
            .await
            .unwrap_or_else(|e| Err(e.to_string()))
    }

    /// `mount -o remount`, else unmount and mount again (not when `remounted` gives options).
    async fn remount(&self) -> Result<(), String> {
        let with_opts = self.state == "remounted" && self.entry.opts != "defaults";
        let opts = match with_opts {
            true => format!("remount,{}", self.entry.opts),
            false => "remount".to_string(),
        };
        let command = format!(
            "mount -o {}{} {}",
            quote(&opts),
            self.source_args(),
            quote(&self.entry.name)
        );
        if self
            .run(command)
            .await
            .unwrap_or_else(|e| Err(e.to_string()))
            .is_ok()
        {
            return Ok(());
        }
        if with_opts {
            return Err(
                "Options were specified with remounted, but the remount command failed. \
                        Failing in order to prevent an unexpected mount result. Try replacing \
                        this command with a \"state: unmounted\" followed by a \"state: \
                        mounted\" using the full desired mount options instead."
                    .into(),
            );
        }
        self.umount().await?;
        self.mount().await
    }

    /// Makes the mount point and its missing parents; returns the topmost folder it made.
    async fn mkdir(&self) -> Result<String, FileError> {
        let name = &self.entry.name;
        let script = format!(
            "p={path}; top=$p\n\
             while [ ! -e \"$p\" ] && [ ! -L \"$p\" ]; do top=$p; p=$(dirname -- \"$p\"); done\n\
             mkdir -p -- {path} && printf '%s' \"$top\"",
            path = quote(name)
        );
        let out = self.ctx.run(script).await?;
        match out.exit_code {
            0 => Ok(out.stdout_text()),
            _ => Err(fail("Error making dir", name, out.stderr_text().trim())),
        }
    }

    /// Removes the folders [`Commands::mkdir`] made, from the mount point up to `top`.
    async fn remove_created(&self, top: &str) -> Result<(), FileError> {
        let script = format!(
            "d={}; while rmdir -- \"$d\" 2>/dev/null && [ \"$d\" != {} ]; do d=$(dirname -- \"$d\"); done; :",
            quote(&self.entry.name),
            quote(top)
        );
        self.ctx.run(script).await?;
        Ok(())
    }

    async fn rmdir(&self) -> Result<(), FileError> {
        let name = &self.entry.name;
        let out = self.ctx.run(format!("rmdir -- {}", quote(name))).await?;
        match out.exit_code {
            0 => Ok(()),
            _ => Err(fail("Error rmdir", name, out.stderr_text().trim())),
        }
    }

    /// An empty fstab (and its folder), as Ansible makes one before any state but `ephemeral`.
    async fn create_fstab(&self) -> Result<(), FileError> {
        let (dir, file) = (quote(&parent(self.fstab)), quote(self.fstab));
        let out = self
            .ctx
            .run(format!("mkdir -p -- {dir} && : >> {file}"))
            .await?;
        match out.exit_code {
            0 => Ok(()),
            _ => Err(FileError::failed(format!(
                "Failed to open {} due to {}",
                self.fstab,
                out.stderr_text().trim()
            ))),
        }
    }

    /// Writes the fstab (with `backup` when `args` asks); returns the backup's path.
    async fn write_fstab(
        &self,
        args: &Map<String, Value>,
        text: String,
    ) -> Result<Option<String>, FileError> {
        let placement = Placement {
            dest: self.fstab,
            backup: arg_bool(args, "backup", false),
            ..Placement::default()
        };
        let probed =
            super::facts::probe_all(self.ctx, &[Probe::new(self.fstab).followed()]).await?;
        let content = Content::bytes(text.into_bytes());
        let synced = sync_file(
            self.ctx,
            &content,
            &placement,
            &probed.states[0],
            &probed,
            None,
        )
        .await?;
        Ok(synced.backup_file)
    }
}

#[cfg(test)]
mod tests;
