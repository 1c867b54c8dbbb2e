//! Run logs, log shipping and notifications: every run leaves a log `deployer log` reads back;
//! sinks and webhooks get their lines and messages, and when they are down the deploy still
//! succeeds, with a warning, and the log lines wait on disk for the next run.

use crate::support::{Project, Recorder, dead_url, local_inventory};

const PLAYBOOK: &str = "- hosts: app\n  gather_facts: false\n  tasks:\n    - name: greet\n      command: echo hello-from-task\n";

fn project() -> Project {
    Project::local(&["localhost"], PLAYBOOK)
}

fn run(p: &Project, env: &[(&str, &str)]) -> crate::support::Output {
    let out = p.site_env(&[], env);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    out
}

#[test]
fn every_run_is_logged_and_deployer_log_shows_the_latest_or_a_given_one() {
    let p = project();
    run(&p, &[]);
    run(&p, &[]);
    let latest = std::fs::read_to_string(p.join(".deployer/runs/latest")).unwrap();
    let latest = latest.trim();
    let events =
        std::fs::read_to_string(p.join(".deployer/runs").join(latest).join("events.jsonl"))
            .unwrap();
    let lines: Vec<serde_json::Value> = events
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let result = lines.iter().find(|l| l["event"] == "host_result").unwrap();
    assert_eq!(result["result"]["stdout"], "hello-from-task");
    assert!(result["duration"].is_number());
    assert_eq!(result["run_id"], latest);
    assert_eq!(lines.first().unwrap()["event"], "run_started");
    assert_eq!(lines[lines.len() - 2]["event"], "recap");
    assert_eq!(lines.last().unwrap()["event"], "run_finished");

    let text = p.run(&["log"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(text.stdout.contains(latest), "{}", text.stdout);
    assert!(text.stdout.contains("  TASK [greet]  "), "{}", text.stdout);
    assert!(
        text.stdout.contains("    changed     localhost  "),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("RECAP\n  localhost  ok=1 changed=1"),
        "{}",
        text.stdout
    );
    let json = p.run(&["log", latest, "--format", "json"]);
    assert_eq!(json.stdout, events);

    let runs: Vec<_> = std::fs::read_dir(p.join(".deployer/runs"))
        .unwrap()
        .flatten()
        .collect();
    let first = runs
        .iter()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|name| name != "latest" && name != latest)
        .expect("the first run's folder");
    assert!(p.run(&["log", &first]).stdout.contains(&first));
    let unknown = p.run(&["log", "nope"]);
    assert_eq!(unknown.code, 4, "{}", unknown.stderr);
}

#[test]
fn the_runs_folder_can_be_moved_with_deployer_run_dir() {
    let p = project();
    let elsewhere = p.join("logs").display().to_string();
    run(&p, &[("DEPLOYER_RUN_DIR", &elsewhere)]);
    assert!(p.join("logs/latest").is_file());
    assert!(!p.join(".deployer").exists());
    let log = p.run(&["log", "--runs-dir", &elsewhere]);
    assert!(log.stdout.contains("TASK [greet]"), "{}", log.stdout);
}

#[test]
fn lines_are_shipped_to_an_http_sink() {
    let p = project();
    let sink = Recorder::start();
    run(&p, &[("DEPLOYER_LOG_SINK", &sink.url)]);
    let shipped: String = sink.bodies().concat();
    let latest = std::fs::read_to_string(p.join(".deployer/runs/latest")).unwrap();
    let events = p
        .join(".deployer/runs")
        .join(latest.trim())
        .join("events.jsonl");
    let events = std::fs::read_to_string(events).unwrap();
    assert_eq!(shipped, events);
}

#[test]
fn a_down_sink_is_a_warning_and_its_lines_are_sent_by_the_next_run() {
    let p = project();
    let down = run(&p, &[("DEPLOYER_LOG_SINK", &dead_url())]);
    assert!(
        down.stderr.contains("[WARNING]: log sink"),
        "{}",
        down.stderr
    );
    let first = std::fs::read_to_string(p.join(".deployer/runs/latest")).unwrap();
    let spool = p
        .join(".deployer/runs")
        .join(first.trim())
        .join("unsent.jsonl");
    let kept = std::fs::read_to_string(&spool).unwrap();
    assert!(kept.contains("hello-from-task"), "{kept}");

    let sink = Recorder::start();
    let up = run(&p, &[("DEPLOYER_LOG_SINK", &sink.url)]);
    assert!(!up.stderr.contains("WARNING"), "{}", up.stderr);
    let second = std::fs::read_to_string(p.join(".deployer/runs/latest")).unwrap();
    let events = p
        .join(".deployer/runs")
        .join(second.trim())
        .join("events.jsonl");
    let events = std::fs::read_to_string(events).unwrap();
    assert_eq!(
        sink.bodies().concat(),
        kept + &events,
        "the kept lines go first"
    );
    assert!(!spool.exists());
}

#[test]
fn the_webhook_from_inventory_vars_hears_start_and_success() {
    let hook = Recorder::start();
    let p = Project::new()
        .file(
            "inv.yml",
            &format!(
                "{}  vars:\n    deployer_notify_webhook: {}\n",
                local_inventory(&["localhost"]),
                hook.url
            ),
        )
        .file("site.yml", PLAYBOOK);
    run(&p, &[]);
    let texts: Vec<String> = hook
        .bodies()
        .iter()
        .map(|b| serde_json::from_str::<serde_json::Value>(b).unwrap()["text"].to_string())
        .collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[0].contains("site.yml (run ") && texts[0].ends_with(" started\""),
        "{texts:?}"
    );
    assert!(
        texts[1].contains("succeeded on 1 host(s), 1 changed"),
        "{texts:?}"
    );
}

#[test]
fn a_failed_run_is_notified_as_a_failure() {
    let hook = Recorder::start();
    let p = Project::new()
        .file("inv.yml", &local_inventory(&["localhost"]))
        .file(
            "site.yml",
            "- hosts: app\n  gather_facts: false\n  tasks:\n    - fail: msg=no\n",
        );
    let out = p.site_env(&[], &[("DEPLOYER_NOTIFY_WEBHOOK", &hook.url)]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let bodies = hook.bodies();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert!(
        bodies[1].contains("FAILED (failed: localhost)"),
        "{bodies:?}"
    );
}

#[test]
fn a_down_webhook_is_a_warning_and_the_deploy_still_succeeds() {
    let p = project();
    let out = run(&p, &[("DEPLOYER_NOTIFY_WEBHOOK", &dead_url())]);
    assert!(
        out.stderr
            .contains("[WARNING]: could not notify the webhook"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("PLAY RECAP"), "{}", out.stdout);
}

/// Two local hosts: `marker` writes `<host>.done` in the project, after a check that fails on
/// a host whose `healthy` variable is false.
fn retry_project(app2_healthy: bool) -> Project {
    let inventory = format!(
        "all:\n  children:\n    app:\n      hosts:\n        app1:\n          ansible_connection: local\n          healthy: true\n        app2:\n          ansible_connection: local\n          healthy: {app2_healthy}\n"
    );
    Project::new().file("inv.yml", &inventory).file(
        "site.yml",
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - name: check\n      command: \"test {{ healthy }} = True\"\n    - name: marker\n      command: \"touch {{ playbook_dir }}/{{ inventory_hostname }}.done\"\n",
    )
}

#[test]
fn retry_failed_runs_only_the_hosts_the_last_run_left_failed() {
    let p = retry_project(false);
    let none = p.site(&["--retry-failed"]);
    assert_eq!(none.code, 4, "{}{}", none.stdout, none.stderr);
    assert!(
        none.stderr.contains("--retry-failed: no run log in "),
        "{}",
        none.stderr
    );

    let first = p.site(&[]);
    assert_eq!(first.code, 2, "{}{}", first.stdout, first.stderr);
    assert!(p.join("app1.done").exists() && !p.join("app2.done").exists());
    std::fs::remove_file(p.join("app1.done")).unwrap();

    // The variable is fixed; the retry runs app2 only.
    let p = p.file(
        "inv.yml",
        &std::fs::read_to_string(retry_project(true).join("inv.yml")).unwrap(),
    );
    let retry = p.site(&["--retry-failed"]);
    assert_eq!(retry.code, 0, "{}{}", retry.stdout, retry.stderr);
    assert!(
        retry
            .stderr
            .contains("retrying the hosts that failed or were unreachable in run "),
        "{}",
        retry.stderr
    );
    assert!(p.join("app2.done").exists(), "{}", retry.stdout);
    assert!(
        !p.join("app1.done").exists(),
        "app1 ran again:\n{}",
        retry.stdout
    );
    assert_eq!(
        retry.recap("app2"),
        "ok=2 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert!(!retry.stdout.contains("app1"), "{}", retry.stdout);

    // Nothing failed in the retry: nothing to do, and nothing runs.
    let again = p.site(&["--retry-failed"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    assert!(
        again
            .stderr
            .contains("nothing to retry: no host failed or was unreachable in run "),
        "{}",
        again.stderr
    );
    assert!(again.stdout.is_empty(), "{}", again.stdout);
}

#[test]
fn the_recap_ends_with_the_run_time_and_the_log_and_deployer_log_finds_it_from_above() {
    let p = Project::new()
        .file("deploy/inv.yml", &local_inventory(&["localhost"]))
        .file("deploy/site.yml", PLAYBOOK);
    let out = p.run(&["run", "deploy/site.yml", "-i", "deploy/inv.yml"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let latest = std::fs::read_to_string(p.join("deploy/.deployer/runs/latest")).unwrap();
    let events = format!("deploy/.deployer/runs/{}/events.jsonl", latest.trim());
    let last = out.stdout.lines().last().unwrap_or_default();
    assert!(last.starts_with("run took "), "{}", out.stdout);
    assert!(last.ends_with(&format!("s; run log: {events}")), "{last}");

    let log = p.run(&["log"]);
    assert_eq!(log.code, 0, "{}", log.stderr);
    let first = log.stdout.lines().next().unwrap_or_default();
    assert_eq!(first, format!("run log ./{events}"), "{}", log.stdout);
    assert!(log.stdout.contains("TASK [greet]"), "{}", log.stdout);
}
