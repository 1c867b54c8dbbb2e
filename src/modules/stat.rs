//! `stat`: reports what is at a path, in Ansible's `stat` dictionary (exists, isdir, isreg,
//! islnk, mode, uid, gid, pw_name, gr_name, size, times, checksum, lnk_target, ...).
//!
//! One round trip; never changes anything. The checksum defaults to SHA-256 here (Ansible's
//! default is SHA-1; `checksum_algorithm: sha1` gives Ansible's). MIME types, file attributes,
//! `lnk_source` and the `readable`/`writeable`/`executable` flags are not reported; `get_mime`
//! and `get_attributes` are accepted and ignored.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::facts::{Checksum, FileError, Kind, PathState, Probe, finish, probe_all};
use super::mode::octal;
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};

static SPEC: ModuleSpec = ModuleSpec {
    name: "stat",
    aliases: &[],
    args: &[
        ArgSpec::new("path", ArgType::Str)
            .required()
            .aliases(&["dest", "name"]),
        ArgSpec::new("follow", ArgType::Bool),
        ArgSpec::new("get_checksum", ArgType::Bool),
        ArgSpec::new("checksum_algorithm", ArgType::Str)
            .aliases(&["checksum", "checksum_algo"])
            .choices(&["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]),
        ArgSpec::new("get_mime", ArgType::Bool).aliases(&["mime", "mime_type", "mime-type"]),
        ArgSpec::new("get_attributes", ArgType::Bool).aliases(&["attr", "attributes"]),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// The `stat` module.
pub struct Stat;

#[async_trait]
impl Module for Stat {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(stat(args, ctx).await)
    }
}

async fn stat(
    args: &Map<String, Value>,
    ctx: &ModuleContext<'_>,
) -> Result<ModuleResult, FileError> {
    let path = arg_str(args, "path").unwrap_or_default();
    let checksum = if arg_bool(args, "get_checksum", true) {
        let name = arg_str(args, "checksum_algorithm").unwrap_or("sha256");
        Checksum::from_name(name).unwrap_or(Checksum::Sha256)
    } else {
        Checksum::None
    };
    let probe = Probe {
        path: path.to_string(),
        follow: arg_bool(args, "follow", false),
        checksum,
    };
    let probed = probe_all(ctx, &[probe]).await?;
    Ok(ModuleResult::ok().with("stat", dictionary(path, &probed.states[0])))
}

/// Ansible's `stat` dictionary for a probed path.
fn dictionary(path: &str, state: &PathState) -> Value {
    let mut map = Map::new();
    map.insert("exists".into(), state.exists().into());
    if !state.exists() {
        return Value::Object(map);
    }
    let bit = |mask: u32| Value::Bool(state.mode & mask != 0);
    let is = |bits: u32| Value::Bool(state.type_bits == bits);
    let entries: [(&str, Value); 32] = [
        ("path", path.into()),
        ("mode", octal(state.mode).into()),
        ("isdir", (state.kind == Kind::Directory).into()),
        ("isreg", (state.kind == Kind::File).into()),
        ("islnk", (state.kind == Kind::Link).into()),
        ("ischr", is(0o020000)),
        ("isblk", is(0o060000)),
        ("isfifo", is(0o010000)),
        ("issock", is(0o140000)),
        ("uid", state.uid.into()),
        ("gid", state.gid.into()),
        ("pw_name", state.owner.clone().into()),
        ("gr_name", state.group.clone().into()),
        ("size", state.size.into()),
        ("mtime", state.times[0].into()),
        ("atime", state.times[1].into()),
        ("ctime", state.times[2].into()),
        ("inode", state.inode[0].into()),
        ("nlink", state.inode[1].into()),
        ("dev", state.inode[2].into()),
        ("rusr", bit(0o400)),
        ("wusr", bit(0o200)),
        ("xusr", bit(0o100)),
        ("rgrp", bit(0o040)),
        ("wgrp", bit(0o020)),
        ("xgrp", bit(0o010)),
        ("roth", bit(0o004)),
        ("woth", bit(0o002)),
        ("xoth", bit(0o001)),
        ("isuid", bit(0o4000)),
        ("isgid", bit(0o2000)),
        ("issticky", bit(0o1000)),
    ];
    map.extend(entries.into_iter().map(|(k, v)| (k.to_string(), v)));
    if let Some(checksum) = &state.checksum {
        map.insert("checksum".into(), checksum.clone().into());
    }
    if let Some(target) = &state.link_target {
        map.insert("lnk_target".into(), target.clone().into());
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use serde_json::json;

    use super::*;
    use crate::modules::testing::{LocalRun, args, run_local};

    #[test]
    fn describes_a_probed_path() {
        let state = PathState {
            kind: Kind::File,
            type_bits: 0o100000,
            mode: 0o4750,
            uid: 0,
            owner: "root".into(),
            size: 3,
            checksum: Some("abc".into()),
            ..PathState::absent()
        };
        let stat = dictionary("/bin/x", &state);
        let expected = [
            ("exists", json!(true)),
            ("mode", json!("4750")),
            ("isreg", json!(true)),
            ("isdir", json!(false)),
            ("xgrp", json!(true)),
            ("roth", json!(false)),
            ("isuid", json!(true)),
            ("pw_name", json!("root")),
            ("checksum", json!("abc")),
        ];
        for (key, value) in expected {
            assert_eq!(stat[key], value, "{key}");
        }
        assert!(stat.get("lnk_target").is_none());
        assert_eq!(
            dictionary("/x", &PathState::absent()),
            json!({"exists": false})
        );
    }

    #[tokio::test]
    async fn stats_links_with_and_without_follow() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a \"file\"");
        fs::write(&file, "abc").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let plain = run_local(&Stat, args(json!({"path": link}))).await;
        assert!(!plain.changed && !plain.failed);
        assert_eq!(plain.data["stat"]["islnk"], true);
        assert_eq!(plain.data["stat"]["lnk_target"], json!(file));
        let followed = LocalRun::check()
            .run(
                &Stat,
                args(json!({"path": link, "follow": true, "checksum_algorithm": "sha1"})),
            )
            .await;
        assert_eq!(followed.data["stat"]["isreg"], true);
        assert_eq!(followed.data["stat"]["size"], 3);
        assert_eq!(
            followed.data["stat"]["checksum"],
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        let missing = run_local(&Stat, args(json!({"path": dir.path().join("no")}))).await;
        assert_eq!(missing.data["stat"], json!({"exists": false}));
    }
}
