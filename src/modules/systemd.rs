//! `systemd` (alias `systemd_service`): starts, stops, restarts, reloads, enables and masks system
//! units through `systemctl`, after an optional `daemon-reload`/`daemon-reexec`.
//!
//! One probe (`systemctl show` + `is-enabled`) reads the unit; [`decide`] turns it and the wanted
//! state into [`Action`]s; one script applies them. Only the system scope is supported. The
//! decision and [`Observed`] are shared with `service`, which also drives SysV init scripts.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::probe::{fields, marker, section};
use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult, arg_bool, arg_str};
use crate::transport::quote;

static SPEC: ModuleSpec = ModuleSpec {
    name: "systemd",
    aliases: &["systemd_service"],
    args: &[
        ArgSpec::new("name", ArgType::Str).aliases(&["service", "unit"]),
        STATE_ARG,
        ArgSpec::new("enabled", ArgType::Bool),
        ArgSpec::new("masked", ArgType::Bool),
        ArgSpec::new("daemon_reload", ArgType::Bool).aliases(&["daemon-reload"]),
        ArgSpec::new("daemon_reexec", ArgType::Bool).aliases(&["daemon-reexec"]),
        ArgSpec::new("scope", ArgType::Str).choices(&["system"]),
        ArgSpec::new("no_block", ArgType::Bool),
    ],
    free_form: false,
    one_of: &[
        "state",
        "enabled",
        "masked",
        "daemon_reload",
        "daemon_reexec",
    ],
    open: false,
};

/// The `state` argument `systemd` and `service` share.
pub(super) const STATE_ARG: ArgSpec =
    ArgSpec::new("state", ArgType::Str).choices(&["started", "stopped", "restarted", "reloaded"]);

/// The unit properties the probe reads; they become the `status` return value.
const PROPERTIES: &str = "Id,Description,LoadState,ActiveState,SubState,UnitFileState,MainPID,FragmentPath,ExecMainStatus";

/// The `systemd` module.
pub struct Systemd;

/// One change to a service, in the order [`decide`] lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Mask,
    Unmask,
    Enable,
    Disable,
    Start,
    Stop,
    Restart,
    Reload,
}

impl Action {
    /// The verb `systemctl` and `service` both use for it.
    pub(super) fn verb(self) -> &'static str {
        match self {
            Action::Mask => "mask",
            Action::Unmask => "unmask",
            Action::Enable => "enable",
            Action::Disable => "disable",
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Restart => "restart",
            Action::Reload => "reload",
        }
    }
}

/// What the task asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Wanted {
    /// `started`, `stopped`, `restarted` or `reloaded`.
    pub state: Option<String>,
    /// Start at boot.
    pub enabled: Option<bool>,
    /// Masked (systemd only).
    pub masked: Option<bool>,
}

impl Wanted {
    /// Reads `state`, `enabled` and `masked` from normalised arguments.
    pub(super) fn from_args(args: &Map<String, Value>) -> Self {
        Wanted {
            state: arg_str(args, "state").map(str::to_string),
            enabled: args.get("enabled").and_then(Value::as_bool),
            masked: args.get("masked").and_then(Value::as_bool),
        }
    }

    /// The `state` Ansible reports back: `started` for restarted and reloaded.
    pub(super) fn reported_state(&self) -> Option<&'static str> {
        self.state.as_deref().map(|s| match s {
            "stopped" => "stopped",
            _ => "started",
        })
    }
}

/// What the probe found out about a service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Observed {
    /// The service is known to the init system.
    pub found: bool,
    /// It is running (or starting).
    pub running: bool,
    /// It is stopping.
    pub stopping: bool,
    /// It starts at boot.
    pub enabled: bool,
    /// It is masked.
    pub masked: bool,
}

/// Why the wanted state cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The init system does not know the service.
    NotFound,
    /// The service is (or is to be) masked, yet it should start or be enabled.
    Masked,
}

impl Refusal {
    /// Ansible's message for it.
    pub(super) fn message(self, name: &str) -> String {
        match self {
            Refusal::NotFound => format!("Could not find the requested service {name}"),
            Refusal::Masked => {
                format!("Service {name} is masked; it cannot be started or enabled (masked: false)")
            }
        }
    }
}

/// The actions that bring `observed` to `wanted`: masking first, then boot, then the run state.
/// Restarted and reloaded always act.
pub(super) fn decide(wanted: &Wanted, observed: Observed) -> Result<Vec<Action>, Refusal> {
    let mut actions = Vec::new();
    match wanted.masked {
        Some(true) if !observed.masked => actions.push(Action::Mask),
        Some(false) if observed.masked => actions.push(Action::Unmask),
        _ => {}
    }
    let masked = wanted.masked.unwrap_or(observed.masked);
    let starts = matches!(
        wanted.state.as_deref(),
        Some("started" | "restarted" | "reloaded")
    );
    let acts = wanted.enabled.is_some() || wanted.state.is_some();
    if acts && !observed.found && !masked {
        return Err(Refusal::NotFound);
    }
    if masked && (starts || wanted.enabled == Some(true)) {
        return Err(Refusal::Masked);
    }
    match wanted.enabled {
        Some(true) if !observed.enabled => actions.push(Action::Enable),
        Some(false) if observed.enabled => actions.push(Action::Disable),
        _ => {}
    }
    let run = match wanted.state.as_deref() {
        Some("started") if !observed.running => Some(Action::Start),
        Some("stopped") if observed.running || observed.stopping => Some(Action::Stop),
        Some("restarted") if observed.running => Some(Action::Restart),
        Some("reloaded") if observed.running => Some(Action::Reload),
        Some("restarted" | "reloaded") => Some(Action::Start),
        _ => None,
    };
    actions.extend(run);
    Ok(actions)
}

/// The probe for a systemd unit: optional daemon-reexec/reload, then `systemctl show` and
/// `is-enabled`, each after its marker.
pub(super) fn probe_script(name: Option<&str>, reexec: bool, reload: bool) -> String {
    let mut script = String::new();
    for (wanted, verb) in [(reexec, "daemon-reexec"), (reload, "daemon-reload")] {
        if wanted {
            script.push_str(&format!(
                "systemctl {verb} || {{ echo 'failure during {verb}' >&2; exit 1; }}\n"
            ));
        }
    }
    let Some(name) = name else {
        return script;
    };
    let unit = quote(name);
    script.push_str(&format!(
        "{}\nsystemctl show --no-pager -p {PROPERTIES} -- {unit} || exit 1\n{}\n\
         e=$(systemctl is-enabled -- {unit} 2>/dev/null); rc=$?\n\
         printf 'IsEnabled=%s\\nIsEnabledRc=%s\\n' \"$(printf '%s' \"$e\" | head -n 1)\" \"$rc\"\n",
        marker("show"),
        marker("enabled"),
    ));
    script
}

/// Reads the probe's output into the `status` map and what the decision needs.
pub(super) fn parse_probe(output: &str) -> (Map<String, Value>, Observed) {
    let show = fields(section(output, "show"));
    let enabled = fields(section(output, "enabled"));
    let mut keys: Vec<&&str> = show.keys().collect();
    keys.sort();
    let status: Map<String, Value> = keys
        .into_iter()
        .map(|k| (k.to_string(), Value::from(show[*k])))
        .collect();
    let get = |key: &str| show.get(key).copied().unwrap_or_default();
    let is_enabled = enabled.get("IsEnabled").copied().unwrap_or_default();
    let masked = get("LoadState") == "masked" || is_enabled.starts_with("masked");
    let observed = Observed {
        found: !matches!(get("LoadState"), "" | "not-found"),
        running: matches!(get("ActiveState"), "active" | "activating" | "reloading"),
        stopping: get("ActiveState") == "deactivating",
        enabled: enabled.get("IsEnabledRc") == Some(&"0")
            && !matches!(is_enabled, "indirect" | "alias"),
        masked,
    };
    (status, observed)
}

/// The script that performs `actions` on a unit; on failure it prints `failed=VERB`.
pub(super) fn apply_script(name: &str, actions: &[Action], no_block: bool) -> String {
    let flag = if no_block { " --no-block" } else { "" };
    actions
        .iter()
        .map(|action| {
            let verb = action.verb();
            let flag = match action {
                Action::Start | Action::Stop | Action::Restart | Action::Reload => flag,
                _ => "",
            };
            format!(
                "systemctl{flag} {verb} -- {} || {{ echo failed={verb}; exit 1; }}\n",
                quote(name)
            )
        })
        .collect()
}

/// The result every run reports, before `changed` and failures are filled in.
pub(super) fn report(name: &str, wanted: &Wanted, status: Map<String, Value>) -> ModuleResult {
    let mut result = ModuleResult::ok().with("name", name);
    if let Some(state) = wanted.reported_state() {
        result = result.with("state", state);
    }
    if let Some(enabled) = wanted.enabled {
        result = result.with("enabled", enabled);
    }
    result.with("status", Value::Object(status))
}

/// Runs an apply script and turns a `failed=VERB` line into Ansible's message.
pub(super) async fn apply(
    ctx: &ModuleContext<'_>,
    name: &str,
    script: String,
    mut result: ModuleResult,
) -> Result<ModuleResult, ModuleError> {
    result.changed = true;
    if ctx.check_mode {
        return Ok(result);
    }
    let out = ctx.run(script).await?;
    if out.exit_code != 0 {
        let stdout = out.stdout_text();
        let verb = fields(&stdout).get("failed").copied().unwrap_or("change");
        result.failed = true;
        result.msg = Some(format!(
            "Unable to {verb} service {name}: {}",
            out.stderr_text().trim()
        ));
    }
    Ok(result)
}

#[async_trait]
impl Module for Systemd {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let wanted = Wanted::from_args(args);
        let name = arg_str(args, "name");
        if name.is_none() && wanted != Wanted::default() {
            return Ok(ModuleResult::failed(
                "systemd needs `name` with state, enabled or masked",
            ));
        }
        let live = !ctx.check_mode;
        let script = probe_script(
            name,
            live && arg_bool(args, "daemon_reexec", false),
            live && arg_bool(args, "daemon_reload", false),
        );
        let out = ctx.run(script).await?;
        if out.exit_code != 0 {
            return Ok(ModuleResult::failed(out.stderr_text().trim().to_string()));
        }
        let Some(name) = name else {
            return Ok(ModuleResult::ok());
        };
        let (status, observed) = parse_probe(&out.stdout_text());
        let result = report(name, &wanted, status);
        match decide(&wanted, observed) {
            Err(refusal) => Ok(ModuleResult {
                failed: true,
                msg: Some(refusal.message(name)),
                ..result
            }),
            Ok(actions) if actions.is_empty() => Ok(result),
            Ok(actions) => {
                let no_block = arg_bool(args, "no_block", false);
                apply(ctx, name, apply_script(name, &actions, no_block), result).await
            }
        }
    }
}

#[cfg(test)]
mod tests;
