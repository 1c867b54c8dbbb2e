//! `unarchive`: unpacks a `.tar`, `.tar.gz`/`.tgz` (any compression GNU tar recognises) or
//! `.zip` archive into an existing directory on the host, with the host's `tar` or `unzip`. A
//! controller archive is streamed into a private temp file on the host first, all in the same
//! round trip as the extraction.
//!
//! Idempotence: `creates`, or else a marker file `dest/.deployer-unarchive.<archive name>` that
//! records the SHA-256 of the archive last unpacked there; the archive is unpacked again only when
//! it changed. Unlike Ansible, the files already in `dest` are not compared with the archive's,
//! and `mode`/`owner`/`group`, `list_files`, `include`/`exclude` and URLs are not supported.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::facts::{
    FileError, Kind, Probe, basename, finish, join, probe_all, probe_unless_exists,
};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::transfer::{Content, Source, find_local, sha256_hex};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};
use crate::transport::{Stdin, quote};

static SPEC: ModuleSpec = ModuleSpec {
    name: "unarchive",
    aliases: &[],
    args: &[
        ArgSpec::new("src", ArgType::Str).required(),
        ArgSpec::new("dest", ArgType::Str).required(),
        ArgSpec::new("remote_src", ArgType::Bool),
        // Deprecated in Ansible, still accepted: `copy: false` is `remote_src: true`.
        ArgSpec::new("copy", ArgType::Bool),
        ArgSpec::new("creates", ArgType::Str),
        ArgSpec::new("extra_opts", ArgType::List),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `unarchive` module.
pub struct Unarchive;

#[async_trait]
impl Module for Unarchive {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(unarchive(args, ctx).await)
    }
}

/// How an archive is unpacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Tar,
    Zip,
}

impl Format {
    /// Zip for a `.zip` name or zip magic bytes, else whatever `tar` recognises.
    fn of(name: &str, head: &[u8]) -> Format {
        if name.to_ascii_lowercase().ends_with(".zip") || head.starts_with(b"PK\x03\x04") {
            Format::Zip
        } else {
            Format::Tar
        }
    }

    fn handler(self) -> &'static str {
        match self {
            Format::Tar => "TarArchive",
            Format::Zip => "ZipArchive",
        }
    }
}

async fn unarchive(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
) -> Result<ModuleResult, FileError> {
    let src = arg_str(args, "src").unwrap_or_default();
    let dest = arg_str(args, "dest").unwrap_or_default();
    if args.contains_key("copy") && args.contains_key("remote_src") {
        return Err(FileError::failed(
            "parameters are mutually exclusive: ('copy', 'remote_src')",
        ));
    }
    let remote = arg_bool(args, "remote_src", !arg_bool(args, "copy", true));
    let marker = join(dest, &format!(".deployer-unarchive.{}", basename(src)));
    let mut probes = vec![Probe::stat_only(dest), Probe::new(&marker)];
    if remote {
        probes.push(Probe::new(src).followed());
    }
    let probed = match arg_str(args, "creates") {
        None => probe_all(ctx, &probes).await?,
        Some(creates) => {
            match probe_unless_exists(ctx, Probe::stat_only(creates), &probes).await? {
                Some(probed) => probed,
                None => {
                    return Ok(ModuleResult::ok()
                        .with("dest", dest)
                        .with_msg(format!("skipped, since {creates} exists")));
                }
            }
        }
    };
    let states = &probed.states;
    if states[0].kind != Kind::Directory {
        return Err(FileError::failed(format!(
            "dest '{dest}' must be an existing dir"
        )));
    }
    let (archive, head) = if remote {
        (Content::remote(src, &states[2])?, Vec::new())
    } else {
        let local = find_local(ctx.search_paths, src, "files")?;
        let head = read_head(&local);
        (Content::file(&local).await?, head)
    };
    let format = Format::of(src, &head);
    let marker_text = format!("{}\n", archive.sha256);
    let changed =
        states[1].checksum.as_deref() != Some(sha256_hex(marker_text.as_bytes()).as_str());
    if changed && !ctx.check_mode {
        extract(ctx, &archive, format, dest, &marker, &marker_text, args).await?;
    }
    Ok(ModuleResult {
        changed,
        ..ModuleResult::ok()
    }
    .with("dest", dest)
    .with("src", src)
    .with("handler", format.handler()))
}

/// The first bytes of a local file (for its magic number); empty when unreadable.
fn read_head(path: &std::path::Path) -> Vec<u8> {
    use std::io::Read;
    let mut head = Vec::new();
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.take(4).read_to_end(&mut head);
    }
    head
}

async fn extract(
    ctx: &ModuleContext<'_>,
    archive: &Content,
    format: Format,
    dest: &str,
    marker: &str,
    marker_text: &str,
    args: &Map<String, Value>,
) -> Result<(), FileError> {
    let script = extract_script(
        archive,
        format,
        dest,
        marker,
        marker_text,
        &extra_opts(args),
    );
    let stdin = match &archive.source {
        Source::File(path) => Stdin::File(path.clone()),
        Source::Bytes(bytes) => Stdin::Bytes(bytes.clone()),
        Source::Remote(_) => Stdin::Null,
    };
    let output = ctx.run_with_stdin(script, stdin).await?;
    if output.exit_code != 0 {
        return Err(FileError::failed(format!(
            "failed to unpack {} into {dest}: {}",
            arg_str(args, "src").unwrap_or_default(),
            output.stderr_text().trim()
        )));
    }
    Ok(())
}

fn extra_opts(args: &Map<String, Value>) -> Vec<String> {
    args.get("extra_opts")
        .and_then(Value::as_array)
        .map(|opts| {
            opts.iter()
                .map(|o| o.as_str().map_or_else(|| o.to_string(), str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The script that (receives and) unpacks the archive, then records its checksum.
fn extract_script(
    archive: &Content,
    format: Format,
    dest: &str,
    marker: &str,
    marker_text: &str,
    extra: &[String],
) -> String {
    let mut script = String::from("set -e\n");
    match &archive.source {
        Source::Remote(src) => script.push_str(&format!("archive={}\n", quote(src))),
        Source::File(_) | Source::Bytes(_) => script.push_str(
            "archive=$(umask 077; mktemp \"${TMPDIR:-/tmp}/deployer-archive.XXXXXXXXXX\")\n\
             trap 'rm -f -- \"$archive\"' EXIT\n\
             cat > \"$archive\"\n",
        ),
    }
    let extra: String = extra.iter().map(|o| format!(" {}", quote(o))).collect();
    let dest = quote(dest);
    script.push_str(&match format {
        Format::Tar => format!("tar -x -f \"$archive\" -C {dest}{extra}\n"),
        Format::Zip => format!("unzip -o -q{extra} \"$archive\" -d {dest}\n"),
    });
    script.push_str(&format!(
        "printf '%s' {} > {}\n",
        quote(marker_text),
        quote(marker)
    ));
    script
}

#[cfg(test)]
mod tests;
