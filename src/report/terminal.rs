//! Ansible-style lines for people: `PLAY [..]`, `TASK [..]`, one line per host result, and the
//! `PLAY RECAP`. Colour only on a terminal and never when `NO_COLOR` is set.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::{Event, HostResult, Recap, Reporter, Status};

/// Writes Ansible-like lines to a writer.
pub struct TerminalReporter<W: Write> {
    out: W,
    colour: bool,
    verbosity: u8,
    run_log: Option<PathBuf>,
}

impl<W: Write> TerminalReporter<W> {
    /// A reporter writing to `out`; `colour` adds ANSI colours; `verbosity` is the `-v` count.
    pub fn new(out: W, colour: bool, verbosity: u8) -> Self {
        TerminalReporter {
            out,
            colour,
            verbosity,
            run_log: None,
        }
    }

    /// Names the run log (when the run has one) in the line that ends the run.
    pub fn with_run_log(mut self, events: Option<PathBuf>) -> Self {
        self.run_log = events;
        self
    }

    /// The last line: how long the run took and where its log is, as Ansible's profile callbacks
    /// and pyinfra end a run.
    fn finished(&mut self, duration: Duration) {
        let took = format!("{:.1}s", duration.as_secs_f64());
        let _ = match &self.run_log {
            Some(events) => writeln!(self.out, "\nrun took {took}; run log: {}", events.display()),
            None => writeln!(self.out, "\nrun took {took}"),
        };
    }

    fn paint(&self, status: Status, text: &str) -> String {
        if !self.colour {
            return text.to_string();
        }
        let code = match status {
            Status::Ok => "32",
            Status::Changed => "33",
            Status::Skipped => "36",
            Status::Failed | Status::Unreachable => "31",
            Status::Ignored => "35",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    fn banner(&mut self, title: &str) {
        let stars = "*".repeat(79usize.saturating_sub(title.len() + 1).max(3));
        let _ = writeln!(self.out, "\n{title} {stars}");
    }

    fn host_result(&mut self, r: &HostResult) {
        let host = match &r.delegated_to {
            Some(to) => format!("{} -> {to}", r.host),
            None => r.host.clone(),
        };
        let item = r
            .item
            .as_ref()
            .map(|i| format!(" => (item={i})"))
            .unwrap_or_default();
        let included = r.status == Status::Ok && r.module.starts_with("include_");
        let line = match r.status {
            Status::Ok if included => {
                let name = r.result.get("include").and_then(Value::as_str);
                format!("included: {} for {host}{item}", name.unwrap_or_default())
            }
            Status::Ok => format!("ok: [{host}]{item}"),
            Status::Changed => format!("changed: [{host}]{item}"),
            Status::Skipped => format!("skipping: [{host}]{item}"),
            Status::Failed | Status::Ignored => {
                format!("fatal: [{host}]: FAILED!{item} => {}", compact(&r.result))
            }
            Status::Unreachable => {
                format!("fatal: [{host}]: UNREACHABLE! => {}", compact(&r.result))
            }
        };
        let shows_result = matches!(r.status, Status::Ok | Status::Changed)
            && !included
            && (self.verbosity > 0 || r.module == "debug");
        let line = if shows_result {
            format!("{line} => {}", pretty(&r.result))
        } else {
            line
        };
        let painted = self.paint(r.status, &line);
        let _ = writeln!(self.out, "{painted}");
        for diff in &r.diffs {
            let _ = write!(self.out, "{diff}");
        }
        if r.status == Status::Ignored {
            let _ = writeln!(self.out, "...ignoring");
        }
    }

    fn recap(&mut self, recap: &Recap) {
        self.banner("PLAY RECAP");
        let width = recap.hosts.keys().map(String::len).max().unwrap_or(0);
        for (host, s) in &recap.hosts {
            let status = if s.failed > 0 || s.unreachable > 0 {
                Status::Failed
            } else if s.changed > 0 {
                Status::Changed
            } else {
                Status::Ok
            };
            let name = self.paint(status, &format!("{host:width$}"));
            let rolled_back = if s.rolled_back > 0 {
                format!(" rolled_back={}", s.rolled_back)
            } else {
                String::new()
            };
            let _ = writeln!(
                self.out,
                "{name} : ok={:<4} changed={:<4} unreachable={:<4} failed={:<4} skipped={:<4} rescued={:<4} ignored={}{rolled_back}",
                s.ok, s.changed, s.unreachable, s.failed, s.skipped, s.rescued, s.ignored
            );
        }
    }
}

impl<W: Write + Send> Reporter for TerminalReporter<W> {
    fn event(&mut self, event: &Event) {
        match event {
            Event::PlayStarted { name, .. } => self.banner(&format!("PLAY [{name}]")),
            Event::TaskStarted {
                task,
                handler,
                ansible_code,
                ..
            } => {
                let kind = if *handler { "RUNNING HANDLER" } else { "TASK" };
                self.banner(&format!("{kind} [{task}]"));
                if let Some(file) = ansible_code.as_ref().filter(|_| self.verbosity > 0) {
                    let _ = writeln!(self.out, "runs Ansible's module code: {file}");
                }
            }
            Event::HostResult(r) => self.host_result(r),
            Event::Warning { message } => {
                let _ = writeln!(self.out, "[WARNING]: {message}");
            }
            Event::Recap(recap) => self.recap(recap),
            Event::RunStarted(info) if self.verbosity > 0 => {
                let _ = writeln!(self.out, "run {} of {}", info.run_id, info.playbook);
            }
            Event::RunFinished { duration, .. } => self.finished(*duration),
            Event::RunStarted(_) => {}
        }
        let _ = self.out.flush();
    }
}

/// The result without the bookkeeping keys, on one line.
fn compact(result: &Value) -> String {
    serde_json::to_string(result).unwrap_or_default()
}

/// The result for people: without the bookkeeping keys, indented by four like Ansible.
fn pretty(result: &Value) -> String {
    let loop_var = result.get("ansible_loop_var").and_then(Value::as_str);
    let shown = match result {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "changed" | "failed" | "ansible_loop_var"))
                .filter(|(k, _)| Some(k.as_str()) != loop_var)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    };
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    match serde::Serialize::serialize(&shown, &mut serializer) {
        Ok(()) => String::from_utf8_lossy(&out).into_owned(),
        Err(_) => shown.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::HostStats;
    use std::time::Duration;

    fn result(status: Status, value: Value) -> Event {
        Event::HostResult(HostResult {
            host: "web1".into(),
            delegated_to: None,
            task: "t".into(),
            location: "site.yml:3:7".into(),
            module: if value.get("msg").is_some() {
                "debug".into()
            } else {
                "command".into()
            },
            status,
            item: None,
            result: value,
            diffs: Vec::new(),
            duration: Duration::ZERO,
        })
    }

    #[test]
    fn the_module_code_a_task_runs_is_named_at_verbosity_one() {
        for (verbosity, shown) in [(0, false), (1, true)] {
            let mut out = Vec::new();
            let mut reporter = TerminalReporter::new(&mut out, false, verbosity);
            reporter.event(&Event::TaskStarted {
                task: "ini".into(),
                location: "x".into(),
                handler: false,
                ansible_code: Some("/c/ini_file.py".into()),
            });
            let text = String::from_utf8(out).unwrap();
            assert_eq!(
                text.contains("\nruns Ansible's module code: /c/ini_file.py\n"),
                shown,
                "{text}"
            );
        }
    }

    #[test]
    fn lines_look_like_ansible() {
        let mut out = Vec::new();
        let mut reporter = TerminalReporter::new(&mut out, false, 0);
        reporter.event(&Event::TaskStarted {
            task: "say hi".into(),
            location: "x".into(),
            handler: false,
            ansible_code: None,
        });
        reporter.event(&result(
            Status::Ok,
            serde_json::json!({"msg": "hi", "changed": false, "failed": false}),
        ));
        reporter.event(&result(
            Status::Changed,
            serde_json::json!({"rc": 0, "stdout": "x", "changed": true}),
        ));
        reporter.event(&result(
            Status::Failed,
            serde_json::json!({"msg": "boom", "failed": true}),
        ));
        let mut hosts = std::collections::BTreeMap::new();
        hosts.insert(
            "web1".to_string(),
            HostStats {
                ok: 2,
                changed: 1,
                failed: 1,
                ..HostStats::default()
            },
        );
        reporter.event(&Event::Recap(Recap {
            hosts,
            locked_out: Vec::new(),
            interrupted: false,
        }));
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\nTASK [say hi] ****"), "{text}");
        assert!(
            text.contains("ok: [web1] => {\n    \"msg\": \"hi\"\n}\n"),
            "{text}"
        );
        assert!(text.contains("changed: [web1]\n"), "{text}");
        assert!(
            text.contains("fatal: [web1]: FAILED! => {\"msg\":\"boom\",\"failed\":true}\n"),
            "{text}"
        );
        assert!(text.contains("web1 : ok=2    changed=1    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0\n"), "{text}");
    }
}
