//! `package`: the package-manager-neutral module. It finds `apt-get` on the host and hands the
//! task to `apt`; on hosts without apt it fails with a clear message (no other manager yet).
//!
//! Every argument but `use` is passed on, like Ansible: arguments of other managers' modules
//! (`enablerepo`, `allow_downgrade`, ...) are accepted at compile time and refused at run time by
//! the module that does not know them.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::apt::Apt;
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_str};

static SPEC: ModuleSpec = ModuleSpec {
    name: "package",
    aliases: &[],
    args: &[
        ArgSpec::new("name", ArgType::List).required(),
        ArgSpec::new("state", ArgType::Str).choices(&["present", "absent", "latest"]),
        ArgSpec::new("use", ArgType::Str).choices(&["auto", "apt"]),
    ],
    free_form: false,
    one_of: &[],
    open: true,
};

/// The `package` module.
pub struct Package;

#[async_trait]
impl Module for Package {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        if arg_str(args, "use").is_none_or(|u| u == "auto") {
            let found = ctx.run("command -v apt-get >/dev/null 2>&1").await?;
            if found.exit_code != 0 {
                return Ok(ModuleResult::failed(format!(
                    "package: no supported package manager on {}: only apt (Debian family) \
                     is supported",
                    ctx.host
                )));
            }
        }
        let mut passed = args.clone();
        passed.remove("use");
        match Apt.spec().normalise(&passed) {
            Ok(apt_args) => Apt.run(&apt_args, ctx).await,
            Err(e) => Ok(ModuleResult::failed(format!("package: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeHost, args, run_on};
    use serde_json::json;

    #[tokio::test]
    async fn dispatches_to_apt_where_apt_get_exists() {
        let host = FakeHost::new().reply(
            "dpkg-query",
            "@@dpkg\ncurl:amd64\tinstall ok installed\t7.88\n",
            0,
        );
        let result = run_on(&Package, args(json!({"name": "curl"})), &host, false).await;
        assert!(!result.changed && !result.failed, "{result:?}");
        assert_eq!(host.scripts()[0], "command -v apt-get >/dev/null 2>&1");
    }

    #[tokio::test]
    async fn fails_clearly_elsewhere() {
        let host = FakeHost::new().reply("command -v apt-get", "", 1);
        let result = run_on(&Package, args(json!({"name": "curl"})), &host, false).await;
        assert_eq!(
            result.msg.as_deref(),
            Some(
                "package: no supported package manager on localhost: only apt (Debian family) \
                 is supported"
            )
        );
        assert_eq!(host.scripts().len(), 1);
    }

    #[tokio::test]
    async fn passes_arguments_on_and_apt_refuses_those_it_does_not_know() {
        let problems = SPEC.validate(&args(json!({"name": "x", "enablerepo": "epel"})));
        assert!(problems.is_empty(), "{problems:?}");
        let host = FakeHost::new().reply("command -v apt-get", "", 0);
        let result = run_on(
            &Package,
            args(json!({"name": "curl", "enablerepo": "epel"})),
            &host,
            false,
        )
        .await;
        assert_eq!(
            result.msg.as_deref(),
            Some("package: module `apt` has no argument `enablerepo`")
        );
    }
}
