//! `get_url`: downloads a file on the target host with `curl` into a temporary file beside
//! `dest`, verifies its checksum, and renames it into place only when its content differs; then
//! sets `mode`/`owner`/`group`.
//!
//! One probe decides (exists? checksum? attributes?); an existing `dest` with the wanted checksum,
//! or any existing `dest` without `checksum` and `force`, is not downloaded again. A directory
//! `dest` means `dest/<last URL segment>`. No checksum URLs, `backup`, `tmp_dest` or SELinux
//! attributes. The attribute helper here is small and local on purpose (see `modules.md`).

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::http::{Request, curl_script, parse_response, status_message};
use super::probe::{fields, marker, section};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};
use crate::transport::{Stdin, quote};

static SPEC: ModuleSpec = ModuleSpec {
    name: "get_url",
    aliases: &[],
    args: &[
        ArgSpec::new("url", ArgType::Str).required(),
        ArgSpec::new("dest", ArgType::Str).required(),
        ArgSpec::new("mode", ArgType::Mode),
        ArgSpec::new("owner", ArgType::Str),
        ArgSpec::new("group", ArgType::Str),
        ArgSpec::new("checksum", ArgType::Str),
        ArgSpec::new("force", ArgType::Bool),
        ArgSpec::new("timeout", ArgType::Int),
        ArgSpec::new("headers", ArgType::Dict),
        ArgSpec::new("validate_certs", ArgType::Bool),
        ArgSpec::new("url_username", ArgType::Str).aliases(&["username"]),
        ArgSpec::new("url_password", ArgType::Str).aliases(&["password"]),
        ArgSpec::new("force_basic_auth", ArgType::Bool),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `get_url` module.
pub struct GetUrl;

/// A `checksum` argument: `algorithm:hex`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Checksum {
    /// The coreutils program that computes it (`sha256sum`).
    pub program: &'static str,
    /// The expected digest, lower case.
    pub digest: String,
}

impl Checksum {
    /// Parses `sha256:abc...`.
    pub(super) fn parse(text: &str) -> Result<Self, String> {
        let (algorithm, digest) = text
            .split_once(':')
            .ok_or_else(|| format!("checksum `{text}` is not of the form algorithm:digest"))?;
        let program = match algorithm.to_ascii_lowercase().as_str() {
            "md5" => "md5sum",
            "sha1" => "sha1sum",
            "sha224" => "sha224sum",
            "sha256" => "sha256sum",
            "sha384" => "sha384sum",
            "sha512" => "sha512sum",
            other => return Err(format!("unsupported checksum algorithm `{other}`")),
        };
        if digest.is_empty() || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "checksum digest `{digest}` is not hexadecimal (checksum URLs are not supported)"
            ));
        }
        Ok(Checksum {
            program,
            digest: digest.to_ascii_lowercase(),
        })
    }
}

/// The wanted attributes of the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Attributes {
    pub mode: Option<String>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

impl Attributes {
    /// Shell lines that apply the attributes to the file named by the shell word `file`.
    pub(super) fn apply_script(&self, file: &str) -> String {
        let mut script = String::new();
        if let Some(mode) = &self.mode {
            script.push_str(&format!("chmod {} {file} || exit 1\n", quote(mode)));
        }
        let owner = self.owner.as_deref().unwrap_or_default();
        match &self.group {
            Some(group) => script.push_str(&format!(
                "chown -- {} {file} || exit 1\n",
                quote(&format!("{owner}:{group}"))
            )),
            None if !owner.is_empty() => {
                script.push_str(&format!("chown -- {} {file} || exit 1\n", quote(owner)))
            }
            None => {}
        }
        script
    }

    /// Probe lines printing `Mode`, `WantMode`, `Owner`, `Uid`, `Group`, `Gid` of the file `$f`.
    /// `WantMode` is what `chmod` would make of the mode, found on a scratch copy of the bits.
    fn probe_script(&self) -> String {
        let mut script =
            "stat -c 'Mode=%a\nOwner=%U\nUid=%u\nGroup=%G\nGid=%g' \"$f\"\n".to_string();
        if let Some(mode) = &self.mode {
            script.push_str(&format!(
                "x=$(mktemp) && chmod \"$(stat -c %a \"$f\")\" \"$x\" && chmod {} \"$x\" && \
                 echo \"WantMode=$(stat -c %a \"$x\")\"; rm -f \"$x\"\n",
                quote(mode)
            ));
        }
        script
    }

    /// Whether the probed file (its `fields`) differs from these attributes.
    pub(super) fn differ(&self, found: &std::collections::HashMap<&str, &str>) -> bool {
        let get = |k: &str| found.get(k).copied().unwrap_or_default();
        let mode = self.mode.is_some() && get("WantMode") != get("Mode");
        let owner = self
            .owner
            .as_deref()
            .is_some_and(|o| o != get("Owner") && o != get("Uid"));
        let group = self
            .group
            .as_deref()
            .is_some_and(|g| g != get("Group") && g != get("Gid"));
        mode || owner || group
    }
}

/// `path` made safe as a command operand: a leading `-` gets `./` so no tool reads an option.
pub(super) fn operand(path: &str) -> String {
    if path.starts_with('-') {
        format!("./{path}")
    } else {
        path.to_string()
    }
}

/// The file a URL lands in when `dest` is a directory: the URL's last path segment.
pub(super) fn url_file_name(url: &str) -> Option<&str> {
    let path = url.split(['?', '#']).next()?;
    let path = path.split_once("://").map_or(path, |(_, rest)| rest);
    let name = path.split_once('/')?.1.rsplit('/').next()?;
    (!name.is_empty() && name != "." && name != "..").then_some(name)
}

/// The probe: resolve `dest`, then say whether it exists, its checksum and attributes.
fn probe_script(
    dest: &str,
    name: Option<&str>,
    checksum: Option<&Checksum>,
    attrs: &Attributes,
) -> String {
    let dir_case = match name {
        Some(name) => format!("f=\"$f\"/{}", quote(name)),
        None => "echo 'dest is a directory and the URL names no file' >&2; exit 1".to_string(),
    };
    let mut script = format!(
        "{}\nf={}\nif [ -d \"$f\" ]; then {dir_case}; fi\nprintf 'Path=%s\\n' \"$f\"\n\
         [ -e \"$f\" ] || {{ echo Exists=no; exit 0; }}\necho Exists=yes\n",
        marker("dest"),
        quote(dest)
    );
    if let Some(sum) = checksum {
        script.push_str(&format!(
            "echo \"Sum=$({} <\"$f\" | cut -d' ' -f1)\"\n",
            sum.program
        ));
    }
    script.push_str(&attrs.probe_script());
    script
}

/// The download script for the resolved path `$f`: curl into a temp file beside it, check the
/// status and checksum, keep the old file when identical, else set attributes and rename.
fn download_script(path: &str, checksum: Option<&Checksum>, attrs: &Attributes) -> String {
    let verify = checksum.map_or(String::new(), |sum| {
        format!(
            "got=$({} <\"$t\" | cut -d' ' -f1)\n\
             [ \"$got\" = {} ] || {{ printf 'Outcome=checksum\\nGot=%s\\n' \"$got\"; exit 0; }}\n",
            sum.program,
            quote(&sum.digest)
        )
    });
    format!(
        "f={}\ns=$(mktemp -d) || exit 1\nt=$(mktemp -- \"$(dirname -- \"$f\")/.deployer-get_url.XXXXXX\") || exit 1\n\
         trap 'rm -rf \"$s\" \"$t\"' EXIT\n{}{}\n\
         [ \"$rc\" = 0 ] || exit 0\n\
         case \"$(cut -d' ' -f1 \"$s/w\")\" in 2??) ;; *) echo Outcome=http; exit 0;; esac\n{verify}\
         src=$(sha1sum <\"$t\" | cut -d' ' -f1); echo \"Src=$src\"; echo \"Size=$(wc -c <\"$t\")\"\n\
         if [ -f \"$f\" ] && [ \"$(sha1sum <\"$f\" | cut -d' ' -f1)\" = \"$src\" ]; then echo Outcome=same; exit 0; fi\n\
         if [ -e \"$f\" ]; then chmod \"$(stat -c %a \"$f\")\" \"$t\"; \
         else chmod \"$(printf '%o' $(( 0666 & ~$(umask) )))\" \"$t\"; fi\n\
         {}mv -f -- \"$t\" \"$f\" || exit 1\necho Outcome=replaced\n",
        quote(path),
        curl_script("\"$t\""),
        marker("get"),
        attrs.apply_script("\"$t\""),
    )
}

#[async_trait]
impl Module for GetUrl {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let url = arg_str(args, "url").unwrap_or_default();
        let dest = operand(arg_str(args, "dest").unwrap_or_default());
        let checksum = arg_str(args, "checksum").filter(|c| !c.is_empty());
        let checksum = match checksum.map(Checksum::parse).transpose() {
            Ok(checksum) => checksum,
            Err(msg) => return Ok(ModuleResult::failed(msg)),
        };
        let attrs = Attributes {
            mode: arg_str(args, "mode").map(str::to_string),
            owner: arg_str(args, "owner").map(str::to_string),
            group: arg_str(args, "group").map(str::to_string),
        };
        let probe = probe_script(&dest, url_file_name(url), checksum.as_ref(), &attrs);
        let out = ctx.run(probe).await?;
        if out.exit_code != 0 {
            return Ok(ModuleResult::failed(out.stderr_text().trim().to_string()));
        }
        let stdout = out.stdout_text();
        let found = fields(section(&stdout, "dest"));
        let path = found.get("Path").copied().unwrap_or(&dest).to_string();
        let fetch = found.get("Exists") != Some(&"yes")
            || match &checksum {
                Some(sum) => found.get("Sum") != Some(&sum.digest.as_str()),
                None => arg_bool(args, "force", false),
            };
        let result = ModuleResult::ok()
            .with("url", url)
            .with("dest", path.clone());
        let attrs_differ = attrs.differ(&found);
        if !fetch {
            let result = result.with_msg("file already exists");
            return set_attributes(ctx, &path, &attrs, attrs_differ, result).await;
        }
        if ctx.check_mode {
            return Ok(ModuleResult {
                changed: true,
                ..result
            });
        }
        let request = match Request::from_args(args, 10) {
            Ok(request) => request,
            Err(msg) => return Ok(ModuleResult::failed(msg)),
        };
        let download = Download {
            path: &path,
            checksum: checksum.as_ref(),
            attrs: &attrs,
        };
        let result = download.run(ctx, &request, result).await?;
        if result.failed || result.changed {
            return Ok(result);
        }
        set_attributes(ctx, &path, &attrs, attrs_differ, result).await
    }
}

/// Applies `attrs` to `path` when they differ (only deciding in check mode).
async fn set_attributes(
    ctx: &ModuleContext<'_>,
    path: &str,
    attrs: &Attributes,
    differ: bool,
    mut result: ModuleResult,
) -> Result<ModuleResult, ModuleError> {
    result.changed = differ;
    if differ && !ctx.check_mode {
        let out = ctx
            .run(format!(
                "f={}\n{}",
                quote(path),
                attrs.apply_script("\"$f\"")
            ))
            .await?;
        if out.exit_code != 0 {
            result.failed = true;
            result.msg = Some(out.stderr_text().trim().to_string());
        }
    }
    Ok(result)
}

/// One download into a resolved path.
struct Download<'a> {
    path: &'a str,
    checksum: Option<&'a Checksum>,
    attrs: &'a Attributes,
}

impl Download<'_> {
    /// Downloads, verifies and renames; `changed` is set when the file was replaced.
    async fn run(
        &self,
        ctx: &ModuleContext<'_>,
        request: &Request,
        mut result: ModuleResult,
    ) -> Result<ModuleResult, ModuleError> {
        let config = Stdin::Bytes(Arc::new(request.config().into_bytes()));
        let started = Instant::now();
        let script = download_script(self.path, self.checksum, self.attrs);
        let out = ctx.run_with_stdin(script, config).await?;
        result = result.with("elapsed", started.elapsed().as_secs());
        let stderr = out.stderr_text().trim().to_string();
        let Some((response, rest)) = parse_response(&out.stdout) else {
            return Ok(ModuleResult {
                failed: true,
                msg: Some(format!("get_url could not run curl: {stderr}")),
                ..result
            });
        };
        let status = if response.curl_rc == 0 {
            response.status
        } else {
            -1
        };
        result = result.with("status_code", status);
        let text = String::from_utf8_lossy(rest);
        let got = fields(section(&text, "get"));
        for (key, name) in [("Src", "checksum_src"), ("Src", "checksum_dest")] {
            if let Some(sum) = got.get(key) {
                result = result.with(name, *sum);
            }
        }
        if let Some(size) = got.get("Size").and_then(|s| s.trim().parse::<u64>().ok()) {
            result = result.with("size", size);
        }
        let (failed, msg) = match got.get("Outcome").copied() {
            _ if status == -1 => (true, format!("Request failed: {stderr}")),
            Some("http") => (
                true,
                format!("Request failed: {}", status_message(&response)),
            ),
            Some("checksum") => (
                true,
                format!(
                    "The checksum for {} did not match {}; it was {}.",
                    self.path,
                    self.checksum.map_or("", |c| c.digest.as_str()),
                    got.get("Got").copied().unwrap_or_default()
                ),
            ),
            Some("same") => (false, status_message(&response)),
            Some(_) => {
                result.changed = true;
                (false, status_message(&response))
            }
            None => (true, stderr),
        };
        result.failed = failed;
        result.msg = Some(msg);
        Ok(result)
    }
}

#[cfg(test)]
mod tests;
