//! Tests for `systemd`: the decision table, probe parsing, and whole runs on a fake host.

use super::*;
use crate::modules::testing::{FakeHost, StubHost, args, run_on};
use serde_json::json;

const STOPPED_DISABLED: &str = "@@show\nId=nginx.service\nDescription=web\nLoadState=loaded\n\
ActiveState=inactive\nSubState=dead\nUnitFileState=disabled\nMainPID=0\n@@enabled\n\
IsEnabled=disabled\nIsEnabledRc=1\n";
const RUNNING_ENABLED: &str = "@@show\nId=nginx.service\nLoadState=loaded\nActiveState=active\n\
SubState=running\nUnitFileState=enabled\nMainPID=42\n@@enabled\nIsEnabled=enabled\nIsEnabledRc=0\n";
const NOT_FOUND: &str = "@@show\nId=nope.service\nLoadState=not-found\nActiveState=inactive\n\
@@enabled\nIsEnabled=\nIsEnabledRc=4\n";
const MASKED: &str = "@@show\nId=nginx.service\nLoadState=masked\nActiveState=inactive\n\
UnitFileState=masked\n@@enabled\nIsEnabled=masked\nIsEnabledRc=1\n";

fn wanted(state: Option<&str>, enabled: Option<bool>, masked: Option<bool>) -> Wanted {
    Wanted {
        state: state.map(str::to_string),
        enabled,
        masked,
    }
}

#[test]
fn decision_table() {
    use Action::*;
    let stopped = parse_probe(STOPPED_DISABLED).1;
    let running = parse_probe(RUNNING_ENABLED).1;
    let masked = parse_probe(MASKED).1;
    type Case = (Wanted, Observed, Result<Vec<Action>, Refusal>);
    let cases: &[Case] = &[
        (
            wanted(Some("started"), None, None),
            stopped,
            Ok(vec![Start]),
        ),
        (wanted(Some("started"), None, None), running, Ok(vec![])),
        (wanted(Some("stopped"), None, None), running, Ok(vec![Stop])),
        (wanted(Some("stopped"), None, None), stopped, Ok(vec![])),
        (
            wanted(Some("restarted"), None, None),
            running,
            Ok(vec![Restart]),
        ),
        (
            wanted(Some("restarted"), None, None),
            stopped,
            Ok(vec![Start]),
        ),
        (
            wanted(Some("reloaded"), None, None),
            running,
            Ok(vec![Reload]),
        ),
        (
            wanted(Some("reloaded"), None, None),
            stopped,
            Ok(vec![Start]),
        ),
        (
            wanted(Some("started"), Some(true), None),
            stopped,
            Ok(vec![Enable, Start]),
        ),
        (wanted(None, Some(true), None), running, Ok(vec![])),
        (wanted(None, Some(false), None), running, Ok(vec![Disable])),
        (wanted(None, None, Some(true)), stopped, Ok(vec![Mask])),
        (wanted(None, None, Some(true)), masked, Ok(vec![])),
        (
            wanted(Some("started"), Some(true), Some(false)),
            masked,
            Ok(vec![Unmask, Enable, Start]),
        ),
        (
            wanted(Some("stopped"), None, Some(true)),
            running,
            Ok(vec![Mask, Stop]),
        ),
        (
            wanted(Some("started"), None, None),
            masked,
            Err(Refusal::Masked),
        ),
        (
            wanted(None, Some(true), Some(true)),
            stopped,
            Err(Refusal::Masked),
        ),
        (
            wanted(Some("started"), None, None),
            Observed::default(),
            Err(Refusal::NotFound),
        ),
        (
            wanted(None, None, Some(true)),
            Observed::default(),
            Ok(vec![Mask]),
        ),
    ];
    for (wanted, observed, expected) in cases {
        assert_eq!(
            &decide(wanted, *observed),
            expected,
            "{wanted:?} on {observed:?}"
        );
    }
}

#[test]
fn probe_output_becomes_status_and_observation() {
    let (status, observed) = parse_probe(RUNNING_ENABLED);
    assert_eq!(status["SubState"], "running");
    assert_eq!(status["MainPID"], "42");
    assert_eq!(
        observed,
        Observed {
            found: true,
            running: true,
            stopping: false,
            enabled: true,
            masked: false
        }
    );
    let indirect = "@@show\nLoadState=loaded\n@@enabled\nIsEnabled=indirect\nIsEnabledRc=0\n";
    assert!(!parse_probe(indirect).1.enabled);
    let static_unit = "@@show\nLoadState=loaded\n@@enabled\nIsEnabled=static\nIsEnabledRc=0\n";
    assert!(parse_probe(static_unit).1.enabled);
    assert!(parse_probe(MASKED).1.masked);
    assert!(!parse_probe(NOT_FOUND).1.found);
}

#[tokio::test]
async fn starts_and_enables_only_what_differs() {
    let host = FakeHost::new().reply("systemctl show", STOPPED_DISABLED, 0);
    let result = run_on(
        &Systemd,
        args(json!({"name": "nginx", "state": "started", "enabled": true, "daemon_reload": true})),
        &host,
        false,
    )
    .await;
    assert!(result.changed && !result.failed, "{result:?}");
    assert_eq!(result.data["state"], "started");
    assert_eq!(result.data["enabled"], true);
    assert_eq!(result.data["status"]["ActiveState"], "inactive");
    let scripts = host.scripts();
    assert_eq!(scripts.len(), 2);
    assert!(scripts[0].starts_with("systemctl daemon-reload"));
    assert_eq!(
        scripts[1],
        "systemctl enable -- nginx || { echo failed=enable; exit 1; }\n\
         systemctl start -- nginx || { echo failed=start; exit 1; }\n"
    );
}

#[tokio::test]
async fn a_unit_already_in_state_is_ok_with_one_probe() {
    let host = FakeHost::new().reply("systemctl show", RUNNING_ENABLED, 0);
    let result = run_on(
        &Systemd,
        args(json!({"name": "nginx", "state": "started", "enabled": "yes"})),
        &host,
        false,
    )
    .await;
    assert!(!result.changed && !result.failed);
    assert_eq!(host.scripts().len(), 1);
}

#[tokio::test]
async fn check_mode_reports_the_change_and_runs_nothing_else() {
    let host = FakeHost::new().reply("systemctl show", RUNNING_ENABLED, 0);
    let result = run_on(
        &Systemd,
        args(json!({"name": "nginx", "state": "restarted", "daemon_reload": true})),
        &host,
        true,
    )
    .await;
    assert!(result.changed);
    let scripts = host.scripts();
    assert_eq!(scripts.len(), 1);
    assert!(!scripts[0].contains("daemon-reload"));
}

#[tokio::test]
async fn failures_carry_ansible_messages() {
    let host = FakeHost::new().reply("systemctl show", NOT_FOUND, 0);
    let result = run_on(
        &Systemd,
        args(json!({"name": "nope", "state": "started"})),
        &host,
        false,
    )
    .await;
    assert_eq!(
        result.msg.as_deref(),
        Some("Could not find the requested service nope")
    );
    let host = FakeHost::new()
        .reply("systemctl show", STOPPED_DISABLED, 0)
        .reply("systemctl start", "failed=start\n", 1);
    let result = run_on(
        &Systemd,
        args(json!({"name": "nginx", "state": "started"})),
        &host,
        false,
    )
    .await;
    assert!(result.failed && result.changed);
    assert_eq!(
        result.msg.as_deref(),
        Some("Unable to start service nginx: boom")
    );
}

#[tokio::test]
async fn daemon_reload_alone_needs_no_name() {
    let host = FakeHost::new();
    let result = run_on(&Systemd, args(json!({"daemon_reload": true})), &host, false).await;
    assert!(!result.failed && !result.changed);
    assert_eq!(
        host.scripts(),
        ["systemctl daemon-reload || { echo 'failure during daemon-reload' >&2; exit 1; }\n"]
    );
}

#[tokio::test]
async fn hostile_names_stay_one_word() {
    let name = "-x'; touch /tmp/pwned; $(id)\nreboot";
    let host = FakeHost::new().reply("systemctl show", STOPPED_DISABLED, 0);
    run_on(
        &Systemd,
        args(json!({"name": name, "state": "started"})),
        &host,
        false,
    )
    .await;
    let quoted = quote(name);
    for script in host.scripts() {
        assert!(script.contains(&format!("-- {quoted}")), "{script}");
    }
}

#[tokio::test]
async fn real_shell_runs_with_stubbed_systemctl() {
    let show = "Id=web.service\nLoadState=loaded\nActiveState=inactive\nSubState=dead\n";
    let host = StubHost::new()
        .stub("systemctl", "show", show, 0)
        .stub("systemctl", "is-enabled", "disabled\n", 1)
        .stub("systemctl", "", "", 0);
    let name = format!(
        "web'; touch {}; echo '$(id)",
        host.scratch("pwned").display()
    );
    let result = run_on(
        &Systemd,
        args(json!({"name": name, "state": "started", "enabled": true, "daemon_reload": true})),
        &host,
        false,
    )
    .await;
    assert!(result.changed && !result.failed, "{result:?}");
    assert_eq!(result.data["status"]["SubState"], "dead");
    let unit = format!("[--] [{name}]");
    assert_eq!(
        host.calls(),
        format!(
            "systemctl [daemon-reload]\n\
             systemctl [show] [--no-pager] [-p] [{PROPERTIES}] {unit}\n\
             systemctl [is-enabled] {unit}\n\
             systemctl [enable] {unit}\n\
             systemctl [start] {unit}\n"
        )
    );
    assert!(!host.scratch("pwned").exists());
}
