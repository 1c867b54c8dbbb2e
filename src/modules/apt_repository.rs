//! `apt_repository`: adds or removes an APT source line (`deb URL SUITE COMPONENTS`) in
//! `/etc/apt/sources.list` or `/etc/apt/sources.list.d/*.list`, as Ansible's module does, and
//! refreshes the package lists after a change. The files are read in one round trip, edited here
//! in Rust ([`SourcesList`]) and written back atomically.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::attrs::Attrs;
use super::facts::{FileError, finish, run_long};
use super::mode::Mode;
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::transfer::{Content, Placement, ensure_file, text_diff};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};
use crate::transport::quote;

static SPEC: ModuleSpec = ModuleSpec {
    name: "apt_repository",
    aliases: &[],
    args: &[
        ArgSpec::new("repo", ArgType::Str).required(),
        ArgSpec::new("state", ArgType::Str).choices(&["absent", "present"]),
        ArgSpec::new("mode", ArgType::Mode),
        ArgSpec::new("update_cache", ArgType::Bool).aliases(&["update-cache"]),
        ArgSpec::new("update_cache_retries", ArgType::Int),
        ArgSpec::new("update_cache_retry_max_delay", ArgType::Int),
        ArgSpec::new("filename", ArgType::Str),
        ArgSpec::new("install_python_apt", ArgType::Bool),
        ArgSpec::new("validate_certs", ArgType::Bool),
        ArgSpec::new("codename", ArgType::Str),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The main sources file and the folder of the others.
const SOURCES_LIST: &str = "/etc/apt/sources.list";
const SOURCES_DIR: &str = "/etc/apt/sources.list.d";

/// The script that prints, per sources file: its path, its link target (empty unless a link)
/// and its text, each NUL-terminated.
fn read_script() -> String {
    format!(
        "for f in {SOURCES_LIST} {SOURCES_DIR}/*.list; do\n\
         [ -f \"$f\" ] || continue\n\
         printf '%s\\000' \"$f\"; if [ -L \"$f\" ]; then readlink -- \"$f\"; fi; printf '\\000'\n\
         cat -- \"$f\"; printf '\\000'\n\
         done\n"
    )
}

/// The `apt_repository` module.
pub struct AptRepository;

#[async_trait]
impl Module for AptRepository {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(apt_repository(args, ctx).await)
    }
}

async fn apt_repository(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
) -> Result<ModuleResult, FileError> {
    let repo = arg_str(args, "repo").unwrap_or_default();
    if repo.is_empty() {
        return Err(FileError::failed(
            "Please set argument 'repo' to a non-empty value",
        ));
    }
    if repo.starts_with("ppa:") {
        return Err(FileError::failed(
            "apt_repository: PPAs are not supported by deployer; give the PPA's deb line \
             and its key (apt_key or get_url) instead",
        ));
    }
    let present = arg_str(args, "state") != Some("absent");
    let out = run_long(ctx, read_script()).await?;
    let mut sources = SourcesList::parse(&out.stdout).map_err(FileError::failed)?;
    let before = sources.dump();
    let invalid = |line: &str| FileError::failed(format!("Invalid repository string: {line}"));
    match present {
        true => sources
            .add(repo, arg_str(args, "filename"))
            .map_err(|l| invalid(&l))?,
        false => sources.remove(repo).map_err(|l| invalid(&l))?,
    }
    let after = sources.dump();
    let changed = before != after;
    let names = |from: &[(String, String)], other: &[(String, String)]| -> Vec<Value> {
        from.iter()
            .filter(|(f, _)| !other.iter().any(|(o, _)| o == f))
            .map(|(f, _)| Value::from(f.as_str()))
            .collect()
    };
    let added = names(&after, &before);
    let removed = names(&before, &after);
    let mut result = ModuleResult {
        changed,
        ..ModuleResult::ok()
    };
    if changed && ctx.diff {
        for file in added.iter().chain(&removed).filter_map(Value::as_str) {
            let text = |dump: &[(String, String)]| {
                dump.iter()
                    .find(|(f, _)| f == file)
                    .map(|(_, t)| t.clone())
                    .unwrap_or_default()
            };
            let diff = text_diff(
                file,
                Some(text(&before).as_bytes()),
                Some(text(&after).as_bytes()),
            );
            result.diffs.push(diff);
        }
    }
    if changed && !ctx.check_mode {
        let mode = args
            .get("mode")
            .and_then(Value::as_str)
            .map(Mode::parse)
            .transpose()
            .map_err(|e| FileError::failed(e.to_string()))?
            .unwrap_or(Mode::Octal(0o644));
        save(ctx, &sources, &before, &after, &mode).await?;
        if arg_bool(args, "update_cache", true)
            && let Err(e) = update_cache(ctx, args).await
        {
            revert(ctx, &sources, &after).await?;
            return Err(e);
        }
    }
    Ok(result
        .with("repo", repo)
        .with("state", if present { "present" } else { "absent" })
        .with("sources_added", added)
        .with("sources_removed", removed))
}

/// Writes the files whose text changed (new ones with `mode`) and removes those left empty.
async fn save(
    ctx: &ModuleContext<'_>,
    sources: &SourcesList,
    before: &[(String, String)],
    after: &[(String, String)],
    mode: &Mode,
) -> Result<(), FileError> {
    for (file, text) in after {
        if before.iter().any(|(f, t)| f == file && t == text) {
            continue;
        }
        let attrs = Attrs {
            mode: sources.new_files.contains(file).then(|| mode.clone()),
            ..Attrs::default()
        };
        let placement = Placement {
            dest: sources.real_path(file),
            attrs,
            ..Placement::default()
        };
        ensure_file(ctx, &Content::bytes(text.clone().into_bytes()), &placement).await?;
    }
    for (file, _) in before {
        if !after.iter().any(|(f, _)| f == file) {
            let out = ctx.run(format!("rm -f -- {}", quote(file))).await?;
            if out.exit_code != 0 {
                return Err(FileError::failed(format!(
                    "cannot remove {file}: {}",
                    out.stderr_text().trim()
                )));
            }
        }
    }
    Ok(())
}

/// Puts the files back as they were after a failed cache update.
async fn revert(
    ctx: &ModuleContext<'_>,
    sources: &SourcesList,
    after: &[(String, String)],
) -> Result<(), FileError> {
    let unchanged = SourcesList {
        new_files: Vec::new(),
        ..sources.clone()
    };
    save(
        ctx,
        &unchanged,
        after,
        &sources.originals,
        &Mode::Octal(0o644),
    )
    .await
}

/// `apt-get update`, retried with Ansible's backoff (2^n seconds, at most the maximum delay).
async fn update_cache(ctx: &ModuleContext<'_>, args: &Map<String, Value>) -> Result<(), FileError> {
    let retries = args
        .get("update_cache_retries")
        .and_then(Value::as_u64)
        .unwrap_or(5)
        .max(1);
    let max_delay = args
        .get("update_cache_retry_max_delay")
        .and_then(Value::as_u64)
        .unwrap_or(12);
    let mut err = String::new();
    for retry in 0..retries {
        let out = ctx.run(super::apt::update_script()).await?;
        if out.exit_code == 0 {
            return Ok(());
        }
        err = out.stderr_text().trim().to_string();
        if retry + 1 < retries {
            let delay = 2u64.saturating_pow(retry as u32).min(max_delay);
            tokio::time::sleep(std::time::Duration::from_secs(delay)).await;
        }
    }
    Err(FileError::failed(format!(
        "Failed to update apt cache after {retries} retries: {}",
        if err.is_empty() {
            "unknown reason"
        } else {
            &err
        }
    )))
}

/// One line of a sources file as Ansible parses it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    valid: bool,
    enabled: bool,
    source: String,
    comment: String,
}

impl Line {
    fn parse(line: &str) -> Line {
        let mut line = line.trim();
        let enabled = !line.starts_with('#');
        if !enabled {
            line = &line[1..];
        }
        let mut comment = "";
        if let Some(at) = line.find('#').filter(|at| *at > 0) {
            comment = line[at + 1..].trim();
            line = &line[..at];
        }
        let mut source = line.trim().to_string();
        let chunks: Vec<&str> = source.split_whitespace().collect();
        let valid = chunks
            .first()
            .is_some_and(|c| *c == "deb" || *c == "deb-src");
        if valid {
            source = chunks.join(" ");
        }
        Line {
            valid,
            enabled,
            source,
            comment: comment.to_string(),
        }
    }

    fn render(&self) -> String {
        let mut text = String::new();
        if !self.enabled {
            text.push_str("# ");
        }
        text.push_str(&self.source);
        if !self.comment.is_empty() {
            text.push_str(" # ");
            text.push_str(&self.comment);
        }
        text.push('\n');
        text
    }
}

/// Every sources file, parsed, in the order read.
#[derive(Debug, Clone, Default)]
struct SourcesList {
    files: Vec<(String, Vec<Line>)>,
    /// Where a file that is a link points.
    links: Vec<(String, String)>,
    /// The files as read.
    originals: Vec<(String, String)>,
    /// Files a source was appended to (they get `mode`).
    new_files: Vec<String>,
}

impl SourcesList {
    fn parse(output: &[u8]) -> Result<SourcesList, String> {
        let mut list = SourcesList::default();
        let mut fields = output.split(|&b| b == 0);
        while let Some(path) = fields.next().filter(|p| !p.is_empty()) {
            let path = String::from_utf8_lossy(path).into_owned();
            let link = fields.next().ok_or("the sources listing ended early")?;
            let text = fields.next().ok_or("the sources listing ended early")?;
            let text = String::from_utf8_lossy(text).into_owned();
            let link = String::from_utf8_lossy(link)
                .trim_end_matches('\n')
                .to_string();
            if !link.is_empty() {
                let target = match link.starts_with('/') {
                    true => link,
                    false => format!("{SOURCES_DIR}/{link}"),
                };
                list.links.push((path.clone(), target));
            }
            list.files
                .push((path.clone(), text.lines().map(Line::parse).collect()));
            list.originals.push((path, text));
        }
        Ok(list)
    }

    /// Each file that has lines, with its text as Ansible would write it.
    fn dump(&self) -> Vec<(String, String)> {
        self.files
            .iter()
            .filter(|(_, lines)| !lines.is_empty())
            .map(|(file, lines)| (file.clone(), lines.iter().map(Line::render).collect()))
            .collect()
    }

    /// Where a file's text is written: a link's target.
    fn real_path<'a>(&'a self, file: &'a str) -> &'a str {
        self.links
            .iter()
            .find(|(f, _)| f == file)
            .map_or(file, |(_, target)| target)
    }

    /// The source a task's line stands for, or the line when it is not an enabled source.
    fn source_of(line: &str) -> Result<String, String> {
        let parsed = Line::parse(line);
        match parsed.valid && parsed.enabled {
            true => Ok(parsed.source),
            false => Err(line.to_string()),
        }
    }

    /// Enables every copy of the source, or appends it to its own file.
    fn add(&mut self, line: &str, filename: Option<&str>) -> Result<(), String> {
        let source = Self::source_of(line)?;
        let mut found = false;
        for (_, lines) in &mut self.files {
            for l in lines.iter_mut().filter(|l| l.valid && l.source == source) {
                l.enabled = true;
                found = true;
            }
        }
        if found {
            return Ok(());
        }
        let name = suggest_filename(&source, filename);
        let file = match name.contains('/') {
            true => name,
            false => format!("{SOURCES_DIR}/{name}"),
        };
        let new = Line {
            valid: true,
            enabled: true,
            source,
            comment: String::new(),
        };
        match self.files.iter_mut().find(|(f, _)| *f == file) {
            Some((_, lines)) => lines.push(new),
            None => self.files.push((file.clone(), vec![new])),
        }
        self.new_files.push(file);
        Ok(())
    }

    /// Removes every enabled copy of the source.
    fn remove(&mut self, line: &str) -> Result<(), String> {
        let source = Self::source_of(line)?;
        for (_, lines) in &mut self.files {
            lines.retain(|l| !(l.valid && l.enabled && l.source == source));
        }
        Ok(())
    }
}

/// Ansible's file name for a new source: `filename.list`, or the source's host and path with
/// every other character as `_` (`deb https://u:p@x.org/a stable` → `x_org_a.list`).
fn suggest_filename(source: &str, filename: Option<&str>) -> String {
    if let Some(name) = filename {
        return format!("{name}.list");
    }
    let options = regex::Regex::new(r"\[[^\]]+\]").expect("a valid pattern");
    let scheme = regex::Regex::new(r"\w+://").expect("a valid pattern");
    let line = options.replace_all(source, "");
    let line = scheme.replace_all(&line, "");
    let first = line
        .split_whitespace()
        .find(|p| *p != "deb" && *p != "deb-src")
        .unwrap_or_default();
    let first = first.split_once('@').map_or(first, |(_, host)| host);
    let cleaned: String = first
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    format!(
        "{}.list",
        cleaned.split_whitespace().collect::<Vec<_>>().join("_")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(files: &[(&str, &str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (path, link, text) in files {
            out.extend_from_slice(format!("{path}\0{link}\0{text}\0").as_bytes());
        }
        out
    }

    #[test]
    fn file_names_follow_the_source_like_ansible() {
        let line = "deb [arch=amd64 signed-by=/k.gpg] https://user:pw@download.docker.com/linux/debian bookworm stable";
        assert_eq!(
            suggest_filename(line, None),
            "download_docker_com_linux_debian.list"
        );
        assert_eq!(suggest_filename(line, Some("docker")), "docker.list");
    }

    #[test]
    fn adding_enables_a_disabled_copy_or_appends_a_new_file() {
        let out = listing(&[(
            SOURCES_LIST,
            "",
            "deb http://deb.debian.org/debian bookworm main\n# deb http://x.org/y  z main # old\n",
        )]);
        let mut list = SourcesList::parse(&out).unwrap();
        let before = list.dump();
        list.add("deb http://x.org/y z main", None).unwrap();
        let after = list.dump();
        assert_eq!(
            after,
            [(
                SOURCES_LIST.to_string(),
                "deb http://deb.debian.org/debian bookworm main\ndeb http://x.org/y z main # old\n"
                    .to_string()
            )]
        );
        assert_ne!(before, after);
        list.add("deb http://new.org/repo  stable main", Some("natives"))
            .unwrap();
        let file = format!("{SOURCES_DIR}/natives.list");
        assert!(
            list.dump()
                .contains(&(file.clone(), "deb http://new.org/repo stable main\n".into()))
        );
        assert_eq!(list.new_files, [file]);
    }

    #[test]
    fn removing_drops_enabled_copies_and_empty_files_and_bad_lines_fail() {
        let file = format!("{SOURCES_DIR}/x.list");
        let out = listing(&[(&file, "", "deb http://x.org/y z main\n")]);
        let mut list = SourcesList::parse(&out).unwrap();
        list.remove("deb http://x.org/y z main").unwrap();
        assert!(list.dump().is_empty());
        assert!(list.add("# deb http://x z", None).is_err());
        assert!(list.remove("http://x z").is_err());
    }

    #[test]
    fn links_are_written_through() {
        let file = format!("{SOURCES_DIR}/l.list");
        let out = listing(&[(&file, "../real.list\n", "")]);
        let list = SourcesList::parse(&out).unwrap();
        assert_eq!(
            list.real_path(&file),
            "/etc/apt/sources.list.d/../real.list"
        );
    }
}
