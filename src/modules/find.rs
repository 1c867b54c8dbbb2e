//! `find`: lists the files under folders that match names, age, size, mode and content, as
//! Ansible's `os.walk`-based module does (files before folders in each folder, shallowest first).
//! Changes nothing.
//!
//! One round trip lists every entry with GNU `find -printf` (NUL-separated, the path last); the
//! filtering happens here in Rust. When `contains` is given, a second round trip reads the
//! candidate files; when `get_checksum` is, one more computes the checksums of the matches.
//! With `follow`, entries are described as their targets (`find -L`), not as links.

use std::collections::HashMap;

use async_trait::async_trait;
use regex::Regex;
use serde_json::{Map, Value};

use super::facts::{Checksum, FileError, finish, run_long};
use super::mode::{Mode, octal};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};
use crate::inventory::pattern::glob_to_regex;
use crate::transport::quote;

static SPEC: ModuleSpec = ModuleSpec {
    name: "find",
    aliases: &[],
    args: &[
        ArgSpec::new("paths", ArgType::List)
            .required()
            .aliases(&["name", "path"]),
        ArgSpec::new("patterns", ArgType::List).aliases(&["pattern"]),
        ArgSpec::new("excludes", ArgType::List).aliases(&["exclude"]),
        ArgSpec::new("contains", ArgType::Str),
        ArgSpec::new("read_whole_file", ArgType::Bool),
        ArgSpec::new("file_type", ArgType::Str).choices(&["any", "directory", "file", "link"]),
        ArgSpec::new("age", ArgType::Str),
        ArgSpec::new("age_stamp", ArgType::Str).choices(&["atime", "ctime", "mtime"]),
        ArgSpec::new("size", ArgType::Str),
        ArgSpec::new("recurse", ArgType::Bool),
        ArgSpec::new("hidden", ArgType::Bool),
        ArgSpec::new("follow", ArgType::Bool),
        ArgSpec::new("get_checksum", ArgType::Bool),
        ArgSpec::new("checksum_algorithm", ArgType::Str)
            .aliases(&["checksum", "checksum_algo"])
            .choices(&["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]),
        ArgSpec::new("use_regex", ArgType::Bool),
        ArgSpec::new("depth", ArgType::Int),
        ArgSpec::new("mode", ArgType::Str),
        ArgSpec::new("exact_mode", ArgType::Bool),
        ArgSpec::new("encoding", ArgType::Str),
        ArgSpec::new("limit", ArgType::Int),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `find` module.
pub struct Find;

#[async_trait]
impl Module for Find {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(find(args, ctx).await)
    }
}

/// What kind of file an entry is (`find`'s `%y` letter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    File,
    Directory,
    Link,
    Other(char),
}

/// One entry `find` listed.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    /// Depth below the searched folder (1 for its own entries).
    depth: usize,
    kind: FileKind,
    /// Whether `os.walk` takes it for a folder (a folder, or a link to one).
    walks_as_dir: bool,
    mode: u32,
    uid: u64,
    gid: u64,
    size: u64,
    /// Access, modification and change times.
    times: [f64; 3],
    inode: u64,
    nlink: u64,
    dev: u64,
    owner: String,
    group: String,
    /// The normalised path.
    path: String,
}

/// The filters, parsed from the arguments.
struct Filters {
    patterns: Vec<Regex>,
    excludes: Vec<Regex>,
    file_type: String,
    /// Seconds; negative means "at most this old".
    age: Option<i64>,
    /// 0, 1 or 2: which of [`Entry::times`].
    age_stamp: usize,
    /// Bytes; negative means "at most this big".
    size: Option<i64>,
    mode: Option<(u32, bool)>,
    contains: Option<Regex>,
    read_whole_file: bool,
    hidden: bool,
    recurse: bool,
    depth: Option<usize>,
    limit: Option<usize>,
}

/// The listing of one searched path: its entries, or why it was skipped.
type Listing = Result<Vec<Entry>, String>;

async fn find(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
) -> Result<ModuleResult, FileError> {
    let filters = Filters::from_args(args).map_err(FileError::failed)?;
    let paths: Vec<String> = list(args, "paths");
    let follow = arg_bool(args, "follow", false);
    let output = run_long(ctx, listing_script(&paths, follow, &filters)).await?;
    let listings = parse_listings(&output.stdout, paths.len()).map_err(FileError::failed)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let contents = match &filters.contains {
        Some(_) => {
            let all = walk(&paths, &listings, &filters, now, None);
            let candidates: Vec<&str> = all
                .files
                .iter()
                .filter(|e| e.kind == FileKind::File && filters.file_type == "file")
                .map(|e| e.path.as_str())
                .collect();
            read_files(ctx, &candidates).await?
        }
        None => HashMap::new(),
    };
    let walked = walk(&paths, &listings, &filters, now, Some(&contents));
    let checksums = match arg_bool(args, "get_checksum", false) {
        true => {
            let name = arg_str(args, "checksum_algorithm").unwrap_or("sha1");
            let sum = Checksum::from_name(name).unwrap_or(Checksum::Sha1);
            let regular: Vec<&str> = walked
                .files
                .iter()
                .filter(|e| e.kind == FileKind::File)
                .map(|e| e.path.as_str())
                .collect();
            checksums(ctx, sum, &regular).await?
        }
        false => HashMap::new(),
    };
    let files: Vec<Value> = walked
        .files
        .iter()
        .map(|e| {
            let mut info = statinfo(e);
            if let Some(sum) = checksums.get(&e.path) {
                info.insert("checksum".into(), sum.clone().into());
            }
            Value::Object(info)
        })
        .collect();
    let msg = if !walked.skipped.is_empty() {
        "Not all paths examined, check warnings for details"
    } else if walked.limited {
        "Limit of matches reached"
    } else {
        "All paths examined"
    };
    Ok(ModuleResult::ok()
        .with_msg(msg)
        .with("matched", files.len())
        .with("files", files)
        .with("examined", walked.examined)
        .with("skipped_paths", Value::Object(walked.skipped)))
}

fn list(args: &Map<String, Value>, name: &str) -> Vec<String> {
    args.get(name)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

impl Filters {
    fn from_args(args: &Map<String, Value>) -> Result<Filters, String> {
        let use_regex = arg_bool(args, "use_regex", false);
        let compile = |p: &str| -> Result<Regex, String> {
            let source = match use_regex {
                true => format!("^(?:{p})"),
                false => format!("(?s)^(?:{})$", glob_to_regex(p)),
            };
            Regex::new(&source).map_err(|e| format!("invalid pattern `{p}`: {e}"))
        };
        let mut patterns = list(args, "patterns");
        if patterns.is_empty() {
            patterns.push(if use_regex { ".*" } else { "*" }.into());
        }
        let patterns = patterns
            .iter()
            .map(|p| compile(p))
            .collect::<Result<_, _>>()?;
        let excludes = list(args, "excludes")
            .iter()
            .map(|p| compile(p))
            .collect::<Result<_, _>>()?;
        let age = arg_str(args, "age")
            .map(|a| {
                scaled(
                    a,
                    &[
                        ('s', 1),
                        ('m', 60),
                        ('h', 3600),
                        ('d', 86400),
                        ('w', 604800),
                    ],
                )
            })
            .transpose()
            .map_err(|_| "failed to process age".to_string())?;
        let kib = 1024_i64;
        let size = arg_str(args, "size")
            .map(|s| {
                let units = [('b', 1), ('k', kib), ('m', kib.pow(2)), ('g', kib.pow(3))];
                scaled(s, &units).or_else(|_| scaled(s, &[('t', kib.pow(4))]))
            })
            .transpose()
            .map_err(|_| "failed to process size".to_string())?;
        let mode = arg_str(args, "mode")
            .filter(|m| !m.is_empty())
            .map(|m| Mode::parse(m).map(|mode| mode.resolve(0, false) & 0o7777))
            .transpose()
            .map_err(|e| e.to_string())?
            .map(|bits| (bits, arg_bool(args, "exact_mode", true)));
        let contains = arg_str(args, "contains")
            .map(|c| {
                let source = match arg_bool(args, "read_whole_file", false) {
                    true => c.to_string(),
                    false => format!("^(?:{c})"),
                };
                Regex::new(&source).map_err(|e| format!("invalid pattern `{c}`: {e}"))
            })
            .transpose()?;
        let limit = match args.get("limit").and_then(Value::as_i64) {
            Some(n) if n <= 0 => {
                return Err(format!("limit cannot be {n} (use None for unlimited)"));
            }
            other => other.map(|n| n as usize),
        };
        Ok(Filters {
            patterns,
            excludes,
            file_type: arg_str(args, "file_type").unwrap_or("file").to_string(),
            age,
            age_stamp: match arg_str(args, "age_stamp") {
                Some("atime") => 0,
                Some("ctime") => 2,
                _ => 1,
            },
            size,
            mode,
            contains,
            read_whole_file: arg_bool(args, "read_whole_file", false),
            hidden: arg_bool(args, "hidden", false),
            recurse: arg_bool(args, "recurse", false),
            depth: args
                .get("depth")
                .and_then(Value::as_u64)
                .filter(|d| *d > 0)
                .map(|d| d as usize),
            limit,
        })
    }

    /// How deep `find` must list: one level without `recurse`, one below `depth` with it (Ansible
    /// counts the entries of the deepest folders it opens as examined).
    fn max_depth(&self) -> Option<usize> {
        match (self.recurse, self.depth) {
            (false, _) => Some(1),
            (true, Some(depth)) => Some(depth + 1),
            (true, None) => None,
        }
    }

    fn name_matches(&self, name: &str) -> bool {
        self.patterns.iter().any(|p| p.is_match(name))
            && !self.excludes.iter().any(|e| e.is_match(name))
    }

    /// Whether an entry passes every filter but `contains` (which needs the file's text).
    fn matches(&self, entry: &Entry, now: f64) -> bool {
        let wanted = match self.file_type.as_str() {
            "any" => true,
            "directory" => entry.kind == FileKind::Directory,
            "link" => entry.kind == FileKind::Link,
            _ => entry.kind == FileKind::File,
        };
        let size_applies = entry.kind == FileKind::File;
        wanted
            && self.name_matches(basename(&entry.path))
            && self.age.is_none_or(|age| {
                let elapsed = now - entry.times[self.age_stamp];
                match age >= 0 {
                    true => elapsed >= age as f64,
                    false => elapsed <= age.unsigned_abs() as f64,
                }
            })
            && (!size_applies
                || self.size.is_none_or(|size| match size >= 0 {
                    true => entry.size >= size as u64,
                    false => entry.size <= size.unsigned_abs(),
                }))
            && self.mode.is_none_or(|(bits, exact)| match exact {
                true => entry.mode == bits,
                false => entry.mode & bits != 0,
            })
    }

    /// Whether a regular file's text matches `contains` (line by line unless `read_whole_file`).
    fn content_matches(&self, text: Option<&String>) -> bool {
        let (Some(re), Some(text)) = (&self.contains, text) else {
            return self.contains.is_none();
        };
        match self.read_whole_file {
            true => re.is_match(text),
            false => text.split_inclusive('\n').any(|line| re.is_match(line)),
        }
    }
}

/// A number with an optional unit letter (`10d`, `-2k`), in the unit's multiple.
fn scaled(text: &str, units: &[(char, i64)]) -> Result<i64, ()> {
    let text = text.trim().to_ascii_lowercase();
    let (digits, factor) = match text.chars().last() {
        Some(c) if c.is_ascii_alphabetic() => {
            let factor = units.iter().find(|(u, _)| *u == c).ok_or(())?.1;
            (&text[..text.len() - 1], factor)
        }
        _ => (text.as_str(), 1),
    };
    let number: i64 = digits.parse().map_err(|_| ())?;
    number.checked_mul(factor).ok_or(())
}

/// The script listing every searched folder: per path, `D` and its entries then `E`, or `N` when
/// it is not a folder. Each entry is its fields line and its path, both NUL-terminated.
fn listing_script(paths: &[String], follow: bool, filters: &Filters) -> String {
    let depth = filters
        .max_depth()
        .map(|d| format!(" -maxdepth {d}"))
        .unwrap_or_default();
    let mut script = String::new();
    for path in paths {
        let word = home_path(path);
        script.push_str(&format!(
            "if [ -d {word} ]; then printf 'D\\000'; find{} {word} -mindepth 1{depth} \
             -printf '%d %y %Y %m %U %G %s %A@ %T@ %C@ %i %n %D %u %g\\000%p\\000' 2>/dev/null; \
             printf 'E\\000'; else printf 'N\\000'; fi\n",
            if follow { " -L" } else { "" },
        ));
    }
    script
}

/// A path as one shell word, a leading `~/` being the remote `$HOME`.
fn home_path(path: &str) -> String {
    match path.strip_prefix("~/") {
        Some(rest) => format!("\"$HOME\"/{}", quote(rest)),
        None if path == "~" => "\"$HOME\"".into(),
        None => quote(path),
    }
}

/// Reads the listing script's output: one listing per searched path.
fn parse_listings(stdout: &[u8], count: usize) -> Result<Vec<Listing>, String> {
    let mut fields = stdout.split(|&b| b == 0).map(String::from_utf8_lossy);
    let mut listings = Vec::with_capacity(count);
    for _ in 0..count {
        match fields.next().as_deref() {
            Some("N") => listings.push(Err("is not a directory".to_string())),
            Some("D") => {
                let mut entries = Vec::new();
                loop {
                    let line = fields.next().ok_or("the listing ended early")?;
                    if line == "E" {
                        break;
                    }
                    let path = fields.next().ok_or("the listing ended early")?;
                    entries.push(parse_entry(&line, &path)?);
                }
                listings.push(Ok(entries));
            }
            other => return Err(format!("unexpected listing output {other:?}")),
        }
    }
    Ok(listings)
}

/// One entry: `find`'s fields line and the entry's path.
fn parse_entry(line: &str, path: &str) -> Result<Entry, String> {
    let bad = || format!("unexpected find output `{line}`");
    let f: Vec<&str> = line.split(' ').collect();
    if f.len() != 15 {
        return Err(bad());
    }
    let int = |i: usize| f[i].parse::<u64>().map_err(|_| bad());
    let float = |i: usize| f[i].parse::<f64>().map_err(|_| bad());
    let letter = |i: usize| f[i].chars().next().unwrap_or('?');
    let kind = match letter(1) {
        'f' => FileKind::File,
        'd' => FileKind::Directory,
        'l' => FileKind::Link,
        other => FileKind::Other(other),
    };
    Ok(Entry {
        depth: int(0)? as usize,
        kind,
        walks_as_dir: letter(2) == 'd',
        mode: u32::from_str_radix(f[3], 8).map_err(|_| bad())?,
        uid: int(4)?,
        gid: int(5)?,
        size: int(6)?,
        times: [float(7)?, float(8)?, float(9)?],
        inode: int(10)?,
        nlink: int(11)?,
        dev: int(12)?,
        owner: f[13].to_string(),
        group: f[14].to_string(),
        path: normpath(path),
    })
}

/// Python's `os.path.normpath` for absolute and relative paths.
fn normpath(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if absolute => {}
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// What the walk found.
struct Walked<'a> {
    files: Vec<&'a Entry>,
    examined: usize,
    limited: bool,
    skipped: Map<String, Value>,
}

/// Ansible's walk over the listings: in each folder its files, then its folders, then each
/// folder's own walk; matches in that order, up to `limit`. Without `contents`, `contains` is not
/// applied and there is no limit (the candidates whose text must be read).
fn walk<'a>(
    paths: &[String],
    listings: &'a [Listing],
    filters: &Filters,
    now: f64,
    contents: Option<&HashMap<String, String>>,
) -> Walked<'a> {
    let mut walked = Walked {
        files: Vec::new(),
        examined: 0,
        limited: false,
        skipped: Map::new(),
    };
    let limit = contents.and(filters.limit);
    for (path, listing) in paths.iter().zip(listings) {
        let entries = match listing {
            Ok(entries) => entries,
            Err(why) => {
                let message = format!("'{path}' {why}");
                walked.skipped.insert(path.clone(), message.into());
                continue;
            }
        };
        let tree = Tree::new(entries);
        let mut stack = vec![None];
        'folders: while let Some(folder) = stack.pop() {
            let children = tree.children(folder);
            let (dirs, files): (Vec<usize>, Vec<usize>) =
                children.iter().partition(|&&i| entries[i].walks_as_dir);
            walked.examined += children.len();
            let mut descend = true;
            for &i in files.iter().chain(&dirs) {
                let entry = &entries[i];
                if filters.depth.is_some_and(|d| entry.depth > d) {
                    descend = false;
                    continue;
                }
                if basename(&entry.path).starts_with('.') && !filters.hidden {
                    continue;
                }
                let text_ok = entry.kind != FileKind::File
                    || filters.file_type != "file"
                    || contents.is_none_or(|c| filters.content_matches(c.get(&entry.path)));
                if filters.matches(entry, now) && text_ok {
                    walked.files.push(entry);
                }
                if limit == Some(walked.files.len()) {
                    walked.limited = true;
                    break 'folders;
                }
            }
            if !filters.recurse {
                break;
            }
            if descend {
                stack.extend(dirs.iter().rev().map(|&i| Some(i)));
            }
        }
    }
    walked
}

/// The listing as a tree: `find` lists depth first, so an entry's parent is the last entry
/// listed one level up.
struct Tree {
    roots: Vec<usize>,
    children: HashMap<usize, Vec<usize>>,
}

impl Tree {
    fn new(entries: &[Entry]) -> Tree {
        let mut tree = Tree {
            roots: Vec::new(),
            children: HashMap::new(),
        };
        let mut open: Vec<usize> = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            open.truncate(entry.depth.saturating_sub(1));
            match open.last() {
                Some(&parent) if entry.depth > 1 => {
                    tree.children.entry(parent).or_default().push(i)
                }
                _ => tree.roots.push(i),
            }
            open.push(i);
        }
        tree
    }

    fn children(&self, folder: Option<usize>) -> &[usize] {
        match folder {
            None => &self.roots,
            Some(i) => self.children.get(&i).map_or(&[], Vec::as_slice),
        }
    }
}

/// Ansible's description of a found file.
fn statinfo(entry: &Entry) -> Map<String, Value> {
    let bit = |mask: u32| Value::Bool(entry.mode & mask != 0);
    let is = |kind: FileKind| Value::Bool(entry.kind == kind);
    let pairs: [(&str, Value); 31] = [
        ("path", entry.path.clone().into()),
        ("mode", octal(entry.mode).into()),
        ("isdir", is(FileKind::Directory)),
        ("ischr", is(FileKind::Other('c'))),
        ("isblk", is(FileKind::Other('b'))),
        ("isreg", is(FileKind::File)),
        ("isfifo", is(FileKind::Other('p'))),
        ("islnk", is(FileKind::Link)),
        ("issock", is(FileKind::Other('s'))),
        ("uid", entry.uid.into()),
        ("gid", entry.gid.into()),
        ("size", entry.size.into()),
        ("inode", entry.inode.into()),
        ("dev", entry.dev.into()),
        ("nlink", entry.nlink.into()),
        ("atime", entry.times[0].into()),
        ("mtime", entry.times[1].into()),
        ("ctime", entry.times[2].into()),
        ("gr_name", name_or_empty(&entry.group, entry.gid)),
        ("pw_name", name_or_empty(&entry.owner, entry.uid)),
        ("wusr", bit(0o200)),
        ("rusr", bit(0o400)),
        ("xusr", bit(0o100)),
        ("wgrp", bit(0o020)),
        ("rgrp", bit(0o040)),
        ("xgrp", bit(0o010)),
        ("woth", bit(0o002)),
        ("roth", bit(0o004)),
        ("xoth", bit(0o001)),
        ("isuid", bit(0o4000)),
        ("isgid", bit(0o2000)),
    ];
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// `find` prints the id when it has no name; Ansible gives an empty name.
fn name_or_empty(name: &str, id: u64) -> Value {
    match name == id.to_string() {
        true => "".into(),
        false => name.into(),
    }
}

/// The text of each readable file (lossily decoded), in one round trip: per file its size line,
/// then its bytes.
async fn read_files(
    ctx: &ModuleContext<'_>,
    paths: &[&str],
) -> Result<HashMap<String, String>, FileError> {
    if paths.is_empty() {
        return Ok(HashMap::new());
    }
    let script = per_file_script(
        paths,
        "if [ -r \"$f\" ]; then wc -c < \"$f\"; cat -- \"$f\"; else echo -1; fi",
    );
    let output = run_long(ctx, script).await?;
    let mut rest = output.stdout.as_slice();
    let mut texts = HashMap::new();
    for path in paths {
        let end = rest.iter().position(|&b| b == b'\n').ok_or_else(short)?;
        let size: i64 = String::from_utf8_lossy(&rest[..end])
            .trim()
            .parse()
            .map_err(|_| short())?;
        rest = &rest[end + 1..];
        if size < 0 {
            continue;
        }
        let size = (size as usize).min(rest.len());
        texts.insert(
            path.to_string(),
            String::from_utf8_lossy(&rest[..size]).into_owned(),
        );
        rest = &rest[size..];
    }
    Ok(texts)
}

fn short() -> FileError {
    FileError::failed("find: the files' contents ended early")
}

/// The checksum of each regular file, in one round trip.
async fn checksums(
    ctx: &ModuleContext<'_>,
    sum: Checksum,
    paths: &[&str],
) -> Result<HashMap<String, String>, FileError> {
    if paths.is_empty() {
        return Ok(HashMap::new());
    }
    let body = format!("{} < \"$f\" 2>/dev/null; printf '\\000'", sum.command());
    let output = run_long(ctx, per_file_script(paths, &body)).await?;
    let sums = output.stdout.split(|&b| b == 0).map(|field| {
        let text = String::from_utf8_lossy(field);
        text.split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    });
    Ok(paths
        .iter()
        .zip(sums)
        .filter(|(_, sum)| !sum.is_empty())
        .map(|(path, sum)| (path.to_string(), sum))
        .collect())
}

/// A script running `body` with `$f` set to each path in turn.
fn per_file_script(paths: &[&str], body: &str) -> String {
    let words: Vec<String> = paths.iter().map(|p| quote(p)).collect();
    format!("for f in {}; do {body}; done\n", words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{args, run_local};
    use serde_json::json;

    fn entry(depth: usize, y: &str, path: &str) -> Entry {
        let line = format!("{depth} {y} {y} 644 0 4242 10 1.5 2.5 3.5 7 1 9 root 4242");
        parse_entry(&line, path).unwrap()
    }

    #[test]
    fn entries_parse_and_nameless_groups_are_empty() {
        let e = entry(1, "f", "/a//b/./c");
        assert_eq!(e.path, "/a/b/c");
        let info = statinfo(&e);
        assert_eq!(info["mode"], "0644");
        assert_eq!(info["mtime"], 2.5);
        assert_eq!(info["pw_name"], "root");
        assert_eq!(info["gr_name"], "");
        assert_eq!(info["isreg"], true);
    }

    #[test]
    fn sizes_and_ages_take_units() {
        assert_eq!(scaled("2k", &[('k', 1024)]), Ok(2048));
        assert_eq!(scaled("-3D", &[('d', 86400)]), Ok(-259200));
        assert_eq!(scaled("10", &[]), Ok(10));
        assert!(scaled("1x", &[('d', 1)]).is_err());
    }

    #[test]
    fn the_walk_lists_files_before_folders_and_honours_depth() {
        let entries = vec![
            entry(1, "d", "/r/sub"),
            entry(2, "f", "/r/sub/deep"),
            entry(2, "d", "/r/sub/more"),
            entry(3, "f", "/r/sub/more/deepest"),
            entry(1, "f", "/r/top"),
            entry(1, "f", "/r/.hidden"),
        ];
        let listings = vec![Ok(entries)];
        let given = args(json!({"paths": "/r", "recurse": true, "file_type": "any", "depth": 2}));
        let given = SPEC.normalise(&given).unwrap();
        let filters = Filters::from_args(&given).unwrap();
        let walked = walk(
            &["/r".into()],
            &listings,
            &filters,
            10.0,
            Some(&HashMap::new()),
        );
        let found: Vec<&str> = walked.files.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(found, ["/r/top", "/r/sub", "/r/sub/deep", "/r/sub/more"]);
        assert_eq!(walked.examined, 6);
    }

    #[test]
    fn patterns_are_globs_or_anchored_regexes_and_excludes_win() {
        let parse = |v: Value| Filters::from_args(&SPEC.normalise(&args(v)).unwrap()).unwrap();
        let globs = parse(json!({"paths": "/", "patterns": "*.log,*.txt", "excludes": "keep*"}));
        assert!(globs.name_matches("a.log") && !globs.name_matches("keep.log"));
        assert!(!globs.name_matches("a.conf"));
        let regex = parse(json!({"paths": "/", "patterns": ["app\\d"], "use_regex": true}));
        assert!(regex.name_matches("app1.log") && !regex.name_matches("my-app1"));
        let bad = Filters::from_args(&args(json!({"paths": ["/"], "limit": 0})));
        assert!(bad.is_err());
    }

    #[tokio::test]
    async fn finds_files_by_pattern_size_content_and_limit_locally() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().display().to_string();
        std::fs::create_dir(dir.path().join("sub dir")).unwrap();
        std::fs::write(dir.path().join("a.log"), "x\nerror here\n").unwrap();
        std::fs::write(dir.path().join("b.log"), "fine\n").unwrap();
        std::fs::write(dir.path().join("sub dir/c.log"), "error\n").unwrap();
        let given =
            json!({"paths": base, "patterns": "*.log", "recurse": true, "contains": "error"});
        let result = run_local(&Find, args(given)).await;
        let mut found: Vec<&str> = result.data["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        found.sort();
        assert_eq!(
            found,
            [format!("{base}/a.log"), format!("{base}/sub dir/c.log")]
        );
        assert_eq!(result.data["matched"], 2);
        assert_eq!(result.data["examined"], 4);
        assert!(!result.changed);
        let given =
            json!({"paths": [base, "/nonexistent-natives"], "limit": 1, "get_checksum": true});
        let result = run_local(&Find, args(given)).await;
        assert_eq!(result.data["matched"], 1);
        assert_eq!(
            result.data["files"][0]["checksum"].as_str().unwrap().len(),
            40
        );
        assert_eq!(
            result.data["skipped_paths"],
            json!({"/nonexistent-natives": "'/nonexistent-natives' is not a directory"})
        );
    }
}
