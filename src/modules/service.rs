//! `service`: the init-system-neutral service module. On hosts booted with systemd it decides and
//! acts exactly like `systemd`; elsewhere it drives SysV init scripts (`service NAME start`, or
//! `/etc/init.d/NAME start`) and boot links (`update-rc.d`, or `chkconfig`).
//!
//! One probe script detects the init system and reads the service. It does not support Ansible's
//! `pattern`, `runlevel`, `sleep` or `arguments`, nor OpenRC, upstart or BSD init.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::probe::{fields, marker, section};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::systemd::{self, Action, Observed, STATE_ARG, Wanted, decide};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_str};
use crate::transport::quote;

static SPEC: ModuleSpec = ModuleSpec {
    name: "service",
    aliases: &[],
    args: &[
        ArgSpec::new("name", ArgType::Str).required(),
        STATE_ARG,
        ArgSpec::new("enabled", ArgType::Bool),
        ArgSpec::new("use", ArgType::Str).choices(&["auto", "systemd", "sysvinit", "service"]),
    ],
    free_form: false,
    one_of: &["state", "enabled"],
    open: false,
};

/// The `service` module.
pub struct Service;

/// Runs an init script: through `service` when the host has it, else directly.
const SVC_FUNCTION: &str = "svc() { if command -v service >/dev/null 2>&1; then service \"$1\" \"$2\"; \
                            else \"/etc/init.d/$1\" \"$2\"; fi; }\n";

/// The probe: which init system runs, then what it says about the service.
fn probe_script(name: &str, force: Option<&str>) -> String {
    let sysv = sysv_probe(name);
    let systemd = format!(
        "echo Init=systemd\n{}",
        systemd::probe_script(Some(name), false, false)
    );
    let test = match force {
        Some("systemd") => "true".to_string(),
        Some(_) => "false".to_string(),
        None => "[ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1".to_string(),
    };
    format!(
        "{}\nif {test}; then\n{systemd}else\n{sysv}fi\n",
        marker("init")
    )
}

/// What a SysV host says about the service: script present, status exit code, boot links.
fn sysv_probe(name: &str) -> String {
    let n = quote(name);
    format!(
        "echo Init=sysv\n{SVC_FUNCTION}{}\n\
         if [ -x /etc/init.d/{n} ]; then echo Found=yes; else echo Found=no; fi\n\
         if svc {n} status >/dev/null 2>&1; then echo Running=yes; else echo Running=no; fi\n\
         set -- /etc/rc[2-5].d/S[0-9][0-9]{n}\n\
         if [ -e \"$1\" ]; then echo Enabled=yes; else echo Enabled=no; fi\n",
        marker("sysv")
    )
}

/// Reads the SysV probe's answers.
fn parse_sysv(output: &str) -> Observed {
    let f = fields(section(output, "sysv"));
    let yes = |key: &str| f.get(key) == Some(&"yes");
    Observed {
        found: yes("Found"),
        running: yes("Running"),
        stopping: false,
        enabled: yes("Enabled"),
        masked: false,
    }
}

/// The script that performs `actions` through init scripts and boot-link tools.
fn sysv_apply_script(name: &str, actions: &[Action]) -> String {
    let n = quote(name);
    let mut script = SVC_FUNCTION.to_string();
    for action in actions {
        let verb = action.verb();
        let line = match action {
            Action::Enable => format!(
                "if command -v update-rc.d >/dev/null 2>&1; then update-rc.d {n} defaults && \
                 update-rc.d {n} enable; elif command -v chkconfig >/dev/null 2>&1; then \
                 chkconfig {n} on; else echo 'neither update-rc.d nor chkconfig found' >&2; false; fi"
            ),
            Action::Disable => format!(
                "if command -v update-rc.d >/dev/null 2>&1; then update-rc.d {n} disable; \
                 elif command -v chkconfig >/dev/null 2>&1; then chkconfig {n} off; \
                 else echo 'neither update-rc.d nor chkconfig found' >&2; false; fi"
            ),
            _ => format!("svc {n} {verb}"),
        };
        script.push_str(&format!("{line} || {{ echo failed={verb}; exit 1; }}\n"));
    }
    script
}

#[async_trait]
impl Module for Service {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let name = arg_str(args, "name").unwrap_or_default();
        if name.is_empty() || name.contains('/') {
            return Ok(ModuleResult::failed(format!(
                "`{name}` is not a service name"
            )));
        }
        let force = arg_str(args, "use").filter(|u| *u != "auto");
        let out = ctx.run(probe_script(name, force)).await?;
        let stdout = out.stdout_text();
        if out.exit_code != 0 {
            return Ok(ModuleResult::failed(out.stderr_text().trim().to_string()));
        }
        let wanted = Wanted::from_args(args);
        let on_systemd = fields(section(&stdout, "init")).get("Init") == Some(&"systemd");
        let (status, observed) = if on_systemd {
            systemd::parse_probe(&stdout)
        } else {
            (Map::new(), parse_sysv(&stdout))
        };
        let result = systemd::report(name, &wanted, status);
        let actions = match decide(&wanted, observed) {
            Ok(actions) => actions,
            Err(refusal) => {
                return Ok(ModuleResult {
                    failed: true,
                    msg: Some(refusal.message(name)),
                    ..result
                });
            }
        };
        if actions.is_empty() {
            return Ok(result);
        }
        let script = if on_systemd {
            systemd::apply_script(name, &actions, false)
        } else {
            sysv_apply_script(name, &actions)
        };
        systemd::apply(ctx, name, script, result).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeHost, StubHost, args, run_on};
    use serde_json::json;

    const SYSV_STOPPED: &str = "@@init\nInit=sysv\n@@sysv\nFound=yes\nRunning=no\nEnabled=no\n";

    #[tokio::test]
    async fn systemd_hosts_get_systemctl() {
        let probe = "@@init\nInit=systemd\n@@show\nLoadState=loaded\nActiveState=active\n\
                     @@enabled\nIsEnabled=enabled\nIsEnabledRc=0\n";
        let host = FakeHost::new().reply("Init=", probe, 0);
        let result = run_on(
            &Service,
            args(json!({"name": "cron", "state": "restarted"})),
            &host,
            false,
        )
        .await;
        assert!(result.changed && !result.failed);
        assert_eq!(result.data["status"]["ActiveState"], "active");
        assert_eq!(
            host.changes(),
            ["systemctl restart -- cron || { echo failed=restart; exit 1; }\n"]
        );
    }

    #[tokio::test]
    async fn sysv_hosts_get_init_scripts_and_boot_links() {
        let host = FakeHost::new().reply("Init=", SYSV_STOPPED, 0);
        let result = run_on(
            &Service,
            args(json!({"name": "cron", "state": "started", "enabled": true})),
            &host,
            false,
        )
        .await;
        assert!(result.changed && !result.failed, "{result:?}");
        let changes = host.changes();
        assert_eq!(changes.len(), 1);
        assert!(changes[0].contains("update-rc.d cron defaults && update-rc.d cron enable"));
        assert!(changes[0].ends_with("svc cron start || { echo failed=start; exit 1; }\n"));
    }

    #[tokio::test]
    async fn sysv_decisions_follow_the_probe() {
        let running = "@@init\nInit=sysv\n@@sysv\nFound=yes\nRunning=yes\nEnabled=yes\n";
        let host = FakeHost::new().reply("Init=", running, 0);
        let result = run_on(
            &Service,
            args(json!({"name": "cron", "state": "started", "enabled": true})),
            &host,
            false,
        )
        .await;
        assert!(!result.changed);
        let missing = "@@init\nInit=sysv\n@@sysv\nFound=no\nRunning=no\nEnabled=no\n";
        let host = FakeHost::new().reply("Init=", missing, 0);
        let result = run_on(
            &Service,
            args(json!({"name": "x", "state": "stopped"})),
            &host,
            true,
        )
        .await;
        assert_eq!(
            result.msg.as_deref(),
            Some("Could not find the requested service x")
        );
    }

    #[tokio::test]
    async fn use_forces_the_init_system() {
        let host = FakeHost::new().reply("Init=", SYSV_STOPPED, 0);
        run_on(
            &Service,
            args(json!({"name": "cron", "state": "started", "use": "sysvinit"})),
            &host,
            true,
        )
        .await;
        assert!(host.scripts()[0].contains("if false; then"));
    }

    #[tokio::test]
    async fn slashes_are_refused_before_anything_runs() {
        let host = FakeHost::new().reply("Init=", SYSV_STOPPED, 0);
        let result = run_on(
            &Service,
            args(json!({"name": "../../bin/sh", "state": "started"})),
            &host,
            false,
        )
        .await;
        assert!(result.failed);
        assert!(host.scripts().is_empty());
    }

    #[tokio::test]
    async fn real_shell_probes_both_init_systems() {
        let show = "LoadState=loaded\nActiveState=active\n";
        let host = StubHost::new()
            .stub("systemctl", "show", show, 0)
            .stub("systemctl", "is-enabled", "enabled\n", 0)
            .stub("service", "", "", 3);
        let on_systemd =
            json!({"name": "web", "state": "started", "enabled": true, "use": "systemd"});
        let result = run_on(&Service, args(on_systemd), &host, false).await;
        assert!(!result.changed && !result.failed, "{result:?}");
        let name = "no-such-service-$(id)";
        let on_sysv = json!({"name": name, "state": "stopped", "use": "sysvinit"});
        let result = run_on(&Service, args(on_sysv), &host, false).await;
        let msg = format!("Could not find the requested service {name}");
        assert_eq!(result.msg, Some(msg));
        assert!(
            host.calls()
                .ends_with(&format!("service [{name}] [status]\n"))
        );
    }
}
