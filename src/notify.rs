//! Chat notifications: a Slack-compatible webhook (`{"text": ...}` POSTed as JSON) told when a
//! run starts, succeeds, fails, and when hosts were rolled back. Sending happens on a background
//! thread; a webhook that fails is a warning, never a failed deploy.

use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

use crate::compile::{Program, Vars};
use crate::inventory::Inventory;
use crate::outbound::{self, POST_TIMEOUT, Warn};
use crate::report::{Event, Recap, Reporter};
use crate::template::Templater;

/// The variable naming the webhook (in `-e`, play vars, or the inventory's vars).
pub const WEBHOOK_VAR: &str = "deployer_notify_webhook";

/// The webhook configured in the run's variables: `-e` first, then the plays' vars, then the
/// inventory (as its hosts see it: `all` group vars, `group_vars/all`, ...). Templates in it are
/// rendered against the variables of the level it came from.
pub fn webhook_from_vars(
    program: &Program,
    inventory: &Inventory,
    templater: &Templater,
) -> Option<String> {
    let levels = std::iter::once(program.extra_vars.clone())
        .chain(program.plays.iter().map(|p| p.vars.clone()))
        .chain(inventory.hosts().map(|h| inventory.host_vars(h)));
    levels.into_iter().find_map(|vars: Vars| {
        let raw = vars.get(WEBHOOK_VAR)?.as_str()?.to_string();
        let rendered = templater
            .render_str(&raw, &Value::Object(vars))
            .unwrap_or(raw);
        Some(rendered).filter(|url| !url.trim().is_empty())
    })
}

/// A reporter posting the run's start and outcome to a webhook.
pub struct Notifier {
    label: String,
    outbox: Option<Sender<String>>,
    worker: Option<JoinHandle<()>>,
    started: bool,
}

impl Notifier {
    /// Notifies `url` about the run named `label` (playbook and run id, say); `warn` hears of
    /// webhook failures.
    pub fn new(url: String, label: String, warn: Warn) -> Notifier {
        let (outbox, messages) = std::sync::mpsc::channel::<String>();
        let worker = std::thread::spawn(move || {
            for text in messages {
                let body = serde_json::json!({ "text": text }).to_string();
                if let Err(e) = outbound::post(&url, "application/json", body.as_bytes()) {
                    warn(&format!(
                        "could not notify the webhook ({e}); no more notifications for this run"
                    ));
                    return;
                }
            }
        });
        Notifier {
            label,
            outbox: Some(outbox),
            worker: Some(worker),
            started: false,
        }
    }

    fn send(&self, text: String) {
        if let Some(outbox) = &self.outbox {
            let _ = outbox.send(text);
        }
    }

    /// Sends the outcome messages, then waits (bounded) for the webhook to take them.
    fn finish(&mut self, recap: &Recap) {
        for text in outcome_messages(&self.label, recap) {
            self.send(text);
        }
        self.outbox = None;
        if let Some(worker) = self.worker.take() {
            outbound::wait_for(&worker, POST_TIMEOUT + Duration::from_secs(1));
        }
    }
}

impl Reporter for Notifier {
    fn event(&mut self, event: &Event) {
        if !self.started {
            self.started = true;
            self.send(format!("deployer: {} started", self.label));
        }
        if let Event::Recap(recap) = event {
            self.finish(recap);
        }
    }
}

/// The messages a finished run sends: a rollback notice when hosts were rolled back, then
/// success or failure.
fn outcome_messages(label: &str, recap: &Recap) -> Vec<String> {
    let hosts_where = |test: &dyn Fn(&crate::report::HostStats) -> bool| -> Vec<&str> {
        let names = recap.hosts.iter().filter(|(_, s)| test(s));
        names.map(|(h, _)| h.as_str()).collect()
    };
    let mut messages = Vec::new();
    let rolled_back = hosts_where(&|s| s.rolled_back > 0);
    if !rolled_back.is_empty() {
        messages.push(format!(
            "deployer: {label} rolled back {}",
            rolled_back.join(", ")
        ));
    }
    let failed = hosts_where(&|s| s.failed > 0);
    let unreachable = hosts_where(&|s| s.unreachable > 0);
    if failed.is_empty() && unreachable.is_empty() && recap.locked_out.is_empty() {
        let changed = hosts_where(&|s| s.changed > 0).len();
        messages.push(format!(
            "deployer: {label} succeeded on {} host(s), {changed} changed",
            recap.hosts.len()
        ));
    } else {
        let mut parts = Vec::new();
        for (what, hosts) in [
            ("failed", failed),
            ("unreachable", unreachable),
            (
                "locked out",
                recap.locked_out.iter().map(String::as_str).collect(),
            ),
        ] {
            if !hosts.is_empty() {
                parts.push(format!("{what}: {}", hosts.join(", ")));
            }
        }
        messages.push(format!("deployer: {label} FAILED ({})", parts.join("; ")));
    }
    messages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::HostStats;

    fn recap(stats: &[(&str, HostStats)]) -> Recap {
        Recap {
            hosts: stats.iter().map(|(h, s)| (h.to_string(), *s)).collect(),
            ..Recap::default()
        }
    }

    #[test]
    fn outcomes_name_the_hosts_that_failed_or_rolled_back() {
        let ok = HostStats {
            ok: 2,
            changed: 1,
            ..HostStats::default()
        };
        assert_eq!(
            outcome_messages(
                "site.yml",
                &recap(&[("a", ok), ("b", HostStats::default())])
            ),
            ["deployer: site.yml succeeded on 2 host(s), 1 changed"]
        );
        let failed = HostStats {
            failed: 1,
            rolled_back: 1,
            ..HostStats::default()
        };
        let unreachable = HostStats {
            unreachable: 1,
            ..HostStats::default()
        };
        assert_eq!(
            outcome_messages("site.yml", &recap(&[("a", failed), ("b", unreachable)])),
            [
                "deployer: site.yml rolled back a",
                "deployer: site.yml FAILED (failed: a; unreachable: b)"
            ]
        );
    }
}
