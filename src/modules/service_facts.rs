//! `service_facts`: sets `services`, the host's services by name with their `state`, `status`
//! and `source`, read from `service --status-all` (SysV) and `systemctl` (systemd) as Ansible
//! reads them. Also under `ansible_facts`. Changes nothing; one round trip.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use super::setup::facts_result;
use super::spec::ModuleSpec;
use super::{Module, ModuleContext, ModuleError, ModuleResult};

static SPEC: ModuleSpec = ModuleSpec {
    name: "service_facts",
    aliases: &[],
    args: &[],
    free_form: false,
    one_of: &[],
    open: false,
};

/// Prints `@sysv`, `@units`, `@files` and `@states` sections; the last holds each unit file's
/// `ActiveState`, which Ansible asks for when a unit is not loaded. The `sbin` folders are searched
/// as Ansible's `get_bin_path` searches them.
const SCRIPT: &str = r#"LC_ALL=C; PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin; export LC_ALL PATH
if command -v service >/dev/null 2>&1 && [ -d /etc/init.d ]; then
  echo @sysv; service --status-all 2>/dev/null
fi
if command -v systemctl >/dev/null 2>&1 && { [ -e /run/systemd/system/ ] || [ -e /dev/.run/systemd/ ] || [ -e /dev/.systemd/ ] || [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; }; then
  echo @units; systemctl list-units --no-pager --type service --all --plain 2>/dev/null
  echo @files; files=$(systemctl list-unit-files --no-pager --type service --all 2>/dev/null)
  printf '%s\n' "$files"
  echo @states
  printf '%s\n' "$files" | while read -r unit rest; do
    case $unit in *.service) ;; *) continue ;; esac
    s=$(systemctl show "$unit" --property=ActiveState 2>/dev/null) || s=
    printf '%s\t%s\n' "$unit" "${s#ActiveState=}"
  done
fi
exit 0
"#;

/// The `service_facts` module.
pub struct ServiceFacts;

#[async_trait]
impl Module for ServiceFacts {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        _args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let out = ctx.run(SCRIPT).await?;
        let services = parse(&out.stdout_text());
        if services.is_empty() {
            return Ok(ModuleResult {
                skipped: true,
                ..ModuleResult::ok().with_msg(
                    "Failed to find any services. This can be due to privileges or some other \
                     configuration issue.",
                )
            });
        }
        let facts = Map::from_iter([("services".to_string(), Value::Object(services))]);
        Ok(facts_result(ctx, &facts))
    }
}

/// States systemd may print in any column that Ansible reports as the status.
const BAD_STATES: [&str; 3] = ["not-found", "masked", "failed"];

/// The script's sections as Ansible's `services` mapping.
fn parse(output: &str) -> Map<String, Value> {
    let mut services = Map::new();
    let mut section = "";
    let mut states: Vec<(&str, &str)> = Vec::new();
    let mut files: Vec<(&str, &str)> = Vec::new();
    for line in output.lines() {
        if let Some(name) = line.strip_prefix('@') {
            section = name;
            continue;
        }
        match section {
            "sysv" => sysv_line(&mut services, line),
            "units" => unit_line(&mut services, line),
            "files" if line.contains(".service") => {
                let mut fields = line.split_whitespace();
                if let (Some(name), Some(status)) = (fields.next(), fields.next()) {
                    files.push((name, status));
                }
            }
            "states" => states.extend(line.split_once('\t')),
            _ => {}
        }
    }
    for (name, status) in files {
        match services.get_mut(name).and_then(Value::as_object_mut) {
            Some(known) => {
                let bad = known["status"]
                    .as_str()
                    .is_some_and(|s| BAD_STATES.contains(&s));
                if !bad {
                    known.insert("status".into(), status.into());
                }
            }
            None => {
                let state = states
                    .iter()
                    .find(|(unit, _)| *unit == name)
                    .map(|(_, s)| *s)
                    .filter(|s| !s.is_empty())
                    .unwrap_or("unknown");
                let entry =
                    json!({"name": name, "state": state, "status": status, "source": "systemd"});
                services.insert(name.to_string(), entry);
            }
        }
    }
    services
}

/// A `service --status-all` line: ` [ + ]  cron`.
fn sysv_line(services: &mut Map<String, Value>, line: &str) {
    let Some(rest) = line.trim_start().strip_prefix("[ ") else {
        return;
    };
    let (mark, name) = match (rest.get(..1), rest.get(1..)) {
        (Some(mark @ ("+" | "-")), Some(tail)) => match tail.strip_prefix(" ]") {
            Some(name) if name.starts_with(char::is_whitespace) => (mark, name.trim_start()),
            _ => return,
        },
        _ => return,
    };
    if name.is_empty() {
        return;
    }
    let state = if mark == "+" { "running" } else { "stopped" };
    let entry = json!({"name": name, "state": state, "source": "sysv"});
    services.insert(name.to_string(), entry);
}

/// A `systemctl list-units --plain` line: unit, load, active, sub, description.
fn unit_line(services: &mut Map<String, Value>, line: &str) {
    if !line.contains(".service") {
        return;
    }
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.len() < 4 {
        return;
    }
    let head = &fields[..fields.len() - 1];
    let status = BAD_STATES
        .iter()
        .find(|bad| head.contains(bad))
        .copied()
        .unwrap_or(fields[2]);
    let state = if fields[3] == "running" {
        "running"
    } else {
        "stopped"
    };
    let name = fields[0];
    let entry = json!({"name": name, "state": state, "status": status, "source": "systemd"});
    services.insert(name.to_string(), entry);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeHost, args, run_on};

    const OUTPUT: &str = "@sysv\n [ + ]  cron\n [ - ]  procps\n\
        @units\n\
        cron.service loaded active running Regular background program processing daemon\n\
        auditd.service not-found inactive dead auditd.service\n\
        ssh.service loaded failed failed OpenBSD Secure Shell server\n\
        @files\nUNIT FILE STATE VENDOR PRESET\ncron.service enabled enabled\n\
        ssh.service enabled enabled\ngetty@.service enabled enabled\n\
        \n2 unit files listed.\n\
        @states\ncron.service\tactive\nssh.service\tfailed\ngetty@.service\t\n";

    #[test]
    fn units_unit_files_and_sysv_scripts_combine_like_ansible() {
        let services = Value::Object(parse(OUTPUT));
        assert_eq!(
            services,
            json!({
                "cron": {"name": "cron", "state": "running", "source": "sysv"},
                "procps": {"name": "procps", "state": "stopped", "source": "sysv"},
                "cron.service": {"name": "cron.service", "state": "running", "status": "enabled", "source": "systemd"},
                "auditd.service": {"name": "auditd.service", "state": "stopped", "status": "not-found", "source": "systemd"},
                "ssh.service": {"name": "ssh.service", "state": "stopped", "status": "failed", "source": "systemd"},
                "getty@.service": {"name": "getty@.service", "state": "unknown", "status": "enabled", "source": "systemd"},
            })
        );
    }

    #[tokio::test]
    async fn no_services_skips_and_services_become_facts() {
        let result = run_on(&ServiceFacts, args(json!({})), &FakeHost::new(), true).await;
        assert!(result.skipped && !result.failed);
        let host = FakeHost::new().reply("systemctl", OUTPUT, 0);
        let result = run_on(&ServiceFacts, args(json!({})), &host, true).await;
        assert_eq!(
            result.facts["ansible_facts"]["services"]["cron"]["state"],
            "running"
        );
        assert_eq!(result.facts["services"]["ssh.service"]["status"], "failed");
    }
}
