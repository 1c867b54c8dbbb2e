//! What is on the host: probes that file modules share, each one round trip.
//!
//! [`probe_all`] learns the state of any number of paths at once (type, mode, owner, size,
//! checksum, link target) with `stat`, `readlink` and `sha256sum`, plus the remote umask;
//! [`probe_with_content`] adds one file's bytes. Output is NUL-separated and never contains the
//! path itself, so names with spaces, quotes or newlines cannot confuse the parser. This file
//! decides nothing and changes nothing.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::{ModuleContext, ModuleError, ModuleResult};
use crate::transport::{ExecOutput, Stdin, TransportError, quote};

/// Why a file operation could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The host could not be reached.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A remote command failed, or the task asks for something impossible; the message says why.
    #[error("{0}")]
    Failed(String),
    /// A local file could not be read or written.
    #[error("{}: {source}", path.display())]
    Local {
        /// The local path concerned.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
}

impl FileError {
    /// A failure with a message.
    pub fn failed(message: impl Into<String>) -> Self {
        FileError::Failed(message.into())
    }

    /// How a module reports this error: transport problems make the host unreachable, every other
    /// problem fails the task with a message.
    pub fn into_result(self) -> Result<ModuleResult, ModuleError> {
        match self {
            FileError::Transport(e) => Err(ModuleError::Transport(e)),
            other => Ok(ModuleResult::failed(other.to_string())),
        }
    }
}

/// Turns a file operation's outcome into what [`super::Module::run`] returns.
pub fn finish(outcome: Result<ModuleResult, FileError>) -> Result<ModuleResult, ModuleError> {
    outcome.or_else(FileError::into_result)
}

/// What kind of thing a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Nothing is there.
    Absent,
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link (when not followed).
    Link,
    /// A device, FIFO or socket.
    Other,
}

/// The checksum a probe computes for regular files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    /// No checksum.
    None,
    /// MD5 (`md5sum`).
    Md5,
    /// SHA-1 (`sha1sum`), Ansible's default.
    Sha1,
    /// SHA-224 (`sha224sum`).
    Sha224,
    /// SHA-256 (`sha256sum`), what deployer compares content with.
    Sha256,
    /// SHA-384 (`sha384sum`).
    Sha384,
    /// SHA-512 (`sha512sum`).
    Sha512,
}

impl Checksum {
    /// The algorithm for an Ansible `checksum_algorithm` name.
    pub fn from_name(name: &str) -> Option<Checksum> {
        Some(match name {
            "md5" => Checksum::Md5,
            "sha1" => Checksum::Sha1,
            "sha224" => Checksum::Sha224,
            "sha256" => Checksum::Sha256,
            "sha384" => Checksum::Sha384,
            "sha512" => Checksum::Sha512,
            _ => return None,
        })
    }

    pub fn command(self) -> &'static str {
        match self {
            Checksum::None => "",
            Checksum::Md5 => "md5sum",
            Checksum::Sha1 => "sha1sum",
            Checksum::Sha224 => "sha224sum",
            Checksum::Sha256 => "sha256sum",
            Checksum::Sha384 => "sha384sum",
            Checksum::Sha512 => "sha512sum",
        }
    }
}

/// One path to probe, and how.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The remote path.
    pub path: String,
    /// Report what a symbolic link points to rather than the link itself.
    pub follow: bool,
    /// The checksum to compute when the path is a regular file.
    pub checksum: Checksum,
}

impl Probe {
    /// A probe of `path` that does not follow links and computes SHA-256.
    pub fn new(path: impl Into<String>) -> Self {
        Probe {
            path: path.into(),
            follow: false,
            checksum: Checksum::Sha256,
        }
    }

    /// A probe of `path` that does not follow links and computes no checksum (for paths whose
    /// content does not matter: directories, `file`'s targets, `creates`).
    pub fn stat_only(path: impl Into<String>) -> Self {
        Probe {
            checksum: Checksum::None,
            ..Probe::new(path)
        }
    }

    /// The same probe, following a symbolic link to what it points to.
    pub fn followed(mut self) -> Self {
        self.follow = true;
        self
    }
}

/// The state of one path on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathState {
    /// What the path is.
    pub kind: Kind,
    /// The file type bits of `st_mode` (`0o100000` for a regular file), 0 when absent.
    pub type_bits: u32,
    /// Permission bits, setuid/setgid/sticky included.
    pub mode: u32,
    /// Owner id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Owner name (`UNKNOWN` when the id has no name).
    pub owner: String,
    /// Group name (`UNKNOWN` when the id has no name).
    pub group: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification, access and change times (seconds since the epoch).
    pub times: [i64; 3],
    /// Inode number, number of hard links and device number.
    pub inode: [u64; 3],
    /// The checksum, when asked for and the path is a readable regular file.
    pub checksum: Option<String>,
    /// Where a symbolic link points.
    pub link_target: Option<String>,
}

impl PathState {
    /// The state of a path that does not exist.
    pub fn absent() -> Self {
        PathState {
            kind: Kind::Absent,
            type_bits: 0,
            mode: 0,
            uid: 0,
            gid: 0,
            owner: String::new(),
            group: String::new(),
            size: 0,
            times: [0; 3],
            inode: [0; 3],
            checksum: None,
            link_target: None,
        }
    }

    /// Whether anything is at the path.
    pub fn exists(&self) -> bool {
        self.kind != Kind::Absent
    }

    /// Whether the path is a directory.
    pub fn is_dir(&self) -> bool {
        self.kind == Kind::Directory
    }

    /// `path`, `mode`, `uid`, `gid`, `owner`, `group`, `size` and `state` as Ansible's file
    /// modules return them.
    pub fn returned(&self, path: &str) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("path".into(), path.into());
        let state = match self.kind {
            Kind::Absent => "absent",
            Kind::File => "file",
            Kind::Directory => "directory",
            Kind::Link => "link",
            Kind::Other => "file",
        };
        map.insert("state".into(), state.into());
        if self.exists() {
            map.insert("mode".into(), super::mode::octal(self.mode).into());
            map.insert("uid".into(), self.uid.into());
            map.insert("gid".into(), self.gid.into());
            map.insert("owner".into(), self.owner.clone().into());
            map.insert("group".into(), self.group.clone().into());
            map.insert("size".into(), self.size.into());
        }
        map
    }
}

/// The states of several paths and what else the probe learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probed {
    /// The remote umask of the user the module runs as.
    pub umask: u32,
    /// One state per probe, in order.
    pub states: Vec<PathState>,
}

impl Probed {
    /// The mode a new regular file gets from this umask.
    pub fn new_file_mode(&self) -> u32 {
        0o666 & !self.umask
    }

    /// The mode a new directory gets from this umask.
    pub fn new_dir_mode(&self) -> u32 {
        0o777 & !self.umask
    }
}

/// The `stat -c` format [`parse_stat`] reads: numbers first, owner and group names last, never
/// the path.
pub const STAT_FORMAT: &str = "%f %u %g %s %Y %X %Z %i %h %d %U %G";

/// The shell function the probe script calls per path: three NUL-terminated fields (stat line or
/// `absent`, checksum, link target). A path probed again right after itself is not stat'ed
/// again unless it is a symbolic link: followed or not, the state of anything else is the same
/// (the `file` module probes every path both ways).
const PROBE_FUNCTION: &str = r#"probe() {
  if [ -e "$1" ] || [ -L "$1" ]; then
    if [ "$1" != "$P" ] || [ -L "$1" ]; then
      P=$1
      if [ "$2" = 1 ] && [ -e "$1" ]; then S=$(stat -L -c "$F" -- "$1"); else S=$(stat -c "$F" -- "$1"); fi
    fi
    printf '%s\n' "$S"
  else
    printf absent
  fi
  printf '\000'
  if [ -n "$3" ] && [ -f "$1" ] && [ -r "$1" ] && { [ "$2" = 1 ] || [ ! -L "$1" ]; }; then
    "$3" < "$1"
  fi
  printf '\000'
  if [ -L "$1" ]; then readlink -- "$1"; fi
  printf '\000'
}
"#;

/// The script that probes `probes`, then runs `tail` (which prints what the caller reads after
/// the probes' output).
pub fn probe_script(probes: &[Probe], tail: &str) -> String {
    let mut script = probe_header();
    push_probes(&mut script, probes);
    script.push_str(tail);
    script.push_str("exit 0\n");
    script
}

/// The script that probes `guard`, and then `probes` only when `guard` does not exist.
fn guarded_probe_script(guard: &Probe, probes: &[Probe]) -> String {
    let mut script = probe_header();
    push_probes(&mut script, std::slice::from_ref(guard));
    let path = quote(&guard.path);
    script.push_str(&format!(
        "if [ -e {path} ] || [ -L {path} ]; then exit 0; fi\n"
    ));
    push_probes(&mut script, probes);
    script.push_str("exit 0\n");
    script
}

/// The probe function and the umask, which every probe script starts with.
fn probe_header() -> String {
    format!(
        "F={}\n{PROBE_FUNCTION}umask; printf '\\000'\n",
        quote(STAT_FORMAT)
    )
}

fn push_probes(script: &mut String, probes: &[Probe]) {
    for probe in probes {
        script.push_str(&format!(
            "probe {} {} {}\n",
            quote(&probe.path),
            u8::from(probe.follow),
            quote(probe.checksum.command())
        ));
    }
}

/// Reads a probe's output: the umask, `count` states, then whatever follows (a file's bytes).
pub fn parse_probe(stdout: &[u8], count: usize) -> Result<(Probed, &[u8]), String> {
    let mut rest = stdout;
    let mut field = || -> Result<&[u8], String> {
        let end = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or("the probe's output ended early")?;
        let (head, tail) = rest.split_at(end);
        rest = &tail[1..];
        Ok(head)
    };
    let umask_text = text(field()?);
    let umask = u32::from_str_radix(umask_text.trim(), 8)
        .map_err(|_| format!("unexpected umask `{}`", umask_text.trim()))?;
    let mut states = Vec::with_capacity(count);
    for _ in 0..count {
        let stat = text(field()?);
        // The sum program's own line, `HASH  -`: its first word, cut here rather than by one
        // more process on the host.
        let sum = text(field()?);
        let checksum = sum
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        let link = text(field()?);
        let mut state = parse_stat(stat.trim())?;
        state.checksum = (!checksum.is_empty()).then_some(checksum);
        let link = link.strip_suffix('\n').unwrap_or(&link);
        state.link_target = (!link.is_empty()).then(|| link.to_string());
        states.push(state);
    }
    Ok((Probed { umask, states }, rest))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Reads one line printed by `stat -c STAT_FORMAT` (or `absent`).
pub fn parse_stat(line: &str) -> Result<PathState, String> {
    if line == "absent" {
        return Ok(PathState::absent());
    }
    let bad = || format!("unexpected stat output `{line}`");
    let fields: Vec<&str> = line.split(' ').collect();
    if fields.len() != 12 {
        return Err(bad());
    }
    let raw = u32::from_str_radix(fields[0], 16).map_err(|_| bad())?;
    let number = |i: usize| fields[i].parse::<i64>().map_err(|_| bad());
    let unsigned = |i: usize| fields[i].parse::<u64>().map_err(|_| bad());
    let type_bits = raw & 0o170000;
    let kind = match type_bits {
        0o100000 => Kind::File,
        0o040000 => Kind::Directory,
        0o120000 => Kind::Link,
        _ => Kind::Other,
    };
    Ok(PathState {
        kind,
        type_bits,
        mode: raw & 0o7777,
        uid: u32::try_from(unsigned(1)?).map_err(|_| bad())?,
        gid: u32::try_from(unsigned(2)?).map_err(|_| bad())?,
        size: unsigned(3)?,
        times: [number(4)?, number(5)?, number(6)?],
        inode: [unsigned(7)?, unsigned(8)?, unsigned(9)?],
        owner: fields[10].to_string(),
        group: fields[11].to_string(),
        checksum: None,
        link_target: None,
    })
}

/// Scripts longer than this are fed to `sh` on stdin: a command line has a size limit (one
/// argument may not exceed 128 KiB on Linux), and a probe of a large tree can pass it.
const INLINE_SCRIPT_LIMIT: usize = 64 * 1024;

/// Runs a script that may be long (one line per path of a tree): inline when short, otherwise
/// as `sh`'s stdin.
pub async fn run_long(ctx: &ModuleContext<'_>, script: String) -> Result<ExecOutput, FileError> {
    if script.len() <= INLINE_SCRIPT_LIMIT {
        return Ok(ctx.run(script).await?);
    }
    let stdin = Stdin::Bytes(Arc::new(script.into_bytes()));
    Ok(ctx.run_with_stdin("exec sh -s", stdin).await?)
}

/// Probes every path in one round trip.
pub async fn probe_all(ctx: &ModuleContext<'_>, probes: &[Probe]) -> Result<Probed, FileError> {
    let output = run_long(ctx, probe_script(probes, "")).await?;
    let (probed, _) = parse_probe(&output.stdout, probes.len())
        .map_err(|e| probe_failed(&e, &output.stderr_text()))?;
    Ok(probed)
}

/// Probes `guard` (a `creates` path) and, only when it does not exist, `probes`, in one round
/// trip: when the guard exists nothing else matters, so no checksum is computed for nothing.
/// Returns `None` when the guard exists, else the probes' states.
pub async fn probe_unless_exists(
    ctx: &ModuleContext<'_>,
    guard: Probe,
    probes: &[Probe],
) -> Result<Option<Probed>, FileError> {
    let output = run_long(ctx, guarded_probe_script(&guard, probes)).await?;
    let failed = |e: String| probe_failed(&e, &output.stderr_text());
    let (first, _) = parse_probe(&output.stdout, 1).map_err(failed)?;
    if first.states[0].exists() {
        return Ok(None);
    }
    let (mut all, _) = parse_probe(&output.stdout, 1 + probes.len()).map_err(failed)?;
    all.states.remove(0);
    Ok(Some(all))
}

/// Probes `probe` and reads its bytes in the same round trip (`None` unless a regular file).
pub async fn probe_with_content(
    ctx: &ModuleContext<'_>,
    probe: Probe,
) -> Result<(PathState, Probed, Option<Vec<u8>>), FileError> {
    let path = quote(&probe.path);
    let tail = format!("if [ -f {path} ]; then cat -- {path}; fi\n");
    let (probed, rest) = probe_then(ctx, std::slice::from_ref(&probe), &tail).await?;
    let state = probed.states[0].clone();
    let content = (state.kind == Kind::File).then_some(rest);
    Ok((state, probed, content))
}

/// Probes `probes`, then runs the shell `tail` in the same round trip; returns the states and
/// what `tail` printed.
pub async fn probe_then(
    ctx: &ModuleContext<'_>,
    probes: &[Probe],
    tail: &str,
) -> Result<(Probed, Vec<u8>), FileError> {
    let output = run_long(ctx, probe_script(probes, tail)).await?;
    let (probed, rest) = parse_probe(&output.stdout, probes.len())
        .map_err(|e| probe_failed(&e, &output.stderr_text()))?;
    Ok((probed, rest.to_vec()))
}

/// A remote file's bytes.
pub async fn read(ctx: &ModuleContext<'_>, path: &str) -> Result<Vec<u8>, FileError> {
    let output = ctx.run(format!("cat -- {}", quote(path))).await?;
    if output.exit_code != 0 {
        return Err(FileError::failed(format!(
            "cannot read {path}: {}",
            output.stderr_text().trim()
        )));
    }
    Ok(output.stdout)
}

fn probe_failed(problem: &str, stderr: &str) -> FileError {
    FileError::failed(format!(
        "cannot read the state of the path: {problem}; {}",
        stderr.trim()
    ))
}

/// A file's path (or name) and bytes.
pub type HostFile = (Vec<u8>, Vec<u8>);

/// The shell that prints, per regular file among `words` (shell words, globs allowed), its path,
/// its size and its bytes (path and size NUL-terminated; the size is `unreadable` for a file
/// that cannot be read). [`parse_cat_files`] reads it.
pub fn cat_files_script(words: &str) -> String {
    format!(
        "for f in {words}; do\n\
         [ -f \"$f\" ] || continue\n\
         if [ ! -r \"$f\" ]; then printf '%s\\000unreadable\\000' \"$f\"; continue; fi\n\
         printf '%s\\000%s\\000' \"$f\" \"$(wc -c < \"$f\")\"\n\
         cat -- \"$f\"\n\
         done\n"
    )
}

/// Reads [`cat_files_script`]'s output: each file's path and bytes, in the order printed.
pub fn parse_cat_files(mut output: &[u8]) -> Result<Vec<HostFile>, String> {
    let ended = || "the files changed while being read".to_string();
    let mut files = Vec::new();
    while !output.is_empty() {
        let mut fields = output.splitn(3, |&b| b == 0);
        let (Some(path), Some(size), Some(tail)) = (fields.next(), fields.next(), fields.next())
        else {
            return Err(ended());
        };
        if size == b"unreadable" {
            return Err(format!(
                "Permission denied: {}",
                String::from_utf8_lossy(path)
            ));
        }
        let size: usize = (String::from_utf8_lossy(size).trim().parse()).map_err(|_| ended())?;
        let bytes = tail.get(..size).ok_or_else(ended)?;
        files.push((path.to_vec(), bytes.to_vec()));
        output = &tail[size..];
    }
    Ok(files)
}

/// The directory part of a remote path, as `dirname` gives it (`.` for a bare name).
pub fn parent(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(0) => "/".to_string(),
        Some(i) => trimmed[..i].trim_end_matches('/').to_string(),
        None if path.starts_with('/') => "/".to_string(),
        None => ".".to_string(),
    }
}

/// `name` inside the remote directory `dir`.
pub fn join(dir: &str, name: &str) -> String {
    format!("{}/{name}", dir.trim_end_matches('/'))
}

/// The last part of a path, as `basename` gives it.
pub fn basename(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

#[cfg(test)]
mod tests;
