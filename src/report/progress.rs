//! The live progress line on a terminal: the current play and task, how many of the play's
//! hosts are done with the task, how many failed, and the elapsed time. It lives in an indicatif
//! [`MultiProgress`]; everything else printed meanwhile (task lines, `-v` logs) goes through the
//! same `MultiProgress` so the line is never torn.

use std::collections::HashSet;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressFinish, ProgressStyle};

use super::{Event, Reporter, Status};

const TEMPLATE: &str = "{spinner} [{elapsed_precise}] {prefix} {wide_msg} {pos}/{len} hosts";

/// Drives the progress line from run events.
pub struct ProgressReporter {
    bar: ProgressBar,
    play_hosts: u64,
    done: HashSet<String>,
    failed: HashSet<String>,
    task: String,
}

impl ProgressReporter {
    /// A progress line added to `multi`.
    pub fn new(multi: &MultiProgress) -> Self {
        // Cleared however the run ends, even when it is refused before any event.
        let bar = multi.add(ProgressBar::new(0).with_finish(ProgressFinish::AndClear));
        bar.set_style(
            ProgressStyle::with_template(TEMPLATE)
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        ProgressReporter {
            bar,
            play_hosts: 0,
            done: HashSet::new(),
            failed: HashSet::new(),
            task: String::new(),
        }
    }

    fn show_task(&self) {
        let failed = match self.failed.len() {
            0 => String::new(),
            n => format!(" ({n} failed)"),
        };
        self.bar.set_message(format!("{}{failed}", self.task));
    }
}

impl Reporter for ProgressReporter {
    fn event(&mut self, event: &Event) {
        match event {
            Event::PlayStarted { name, hosts } => {
                self.bar.set_prefix(format!("PLAY [{name}]"));
                self.play_hosts = hosts.len() as u64;
                self.bar.set_length(self.play_hosts);
                self.bar.set_position(0);
            }
            Event::TaskStarted { task, .. } => {
                self.task = task.clone();
                self.done.clear();
                self.bar.set_length(self.play_hosts);
                self.bar.set_position(0);
                self.show_task();
            }
            Event::HostResult(result) => {
                if matches!(result.status, Status::Failed | Status::Unreachable) {
                    self.failed.insert(result.host.clone());
                }
                if self.done.insert(result.host.clone()) {
                    self.bar.inc(1);
                }
                self.show_task();
            }
            Event::Recap(_) | Event::RunFinished { .. } => self.bar.finish_and_clear(),
            Event::RunStarted(_) | Event::Warning { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::HostResult;
    use indicatif::ProgressDrawTarget;

    fn result(host: &str, status: Status) -> Event {
        Event::HostResult(HostResult {
            host: host.into(),
            delegated_to: None,
            task: "t".into(),
            location: "site.yml:1:1".into(),
            module: "command".into(),
            status,
            item: None,
            result: serde_json::json!({}),
            diffs: Vec::new(),
            duration: Duration::ZERO,
        })
    }

    #[test]
    fn the_line_counts_hosts_done_with_the_current_task() {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::hidden());
        let mut reporter = ProgressReporter::new(&multi);
        reporter.event(&Event::PlayStarted {
            name: "web".into(),
            hosts: vec!["a".into(), "b".into(), "c".into()],
        });
        reporter.event(&Event::TaskStarted {
            task: "install".into(),
            location: "site.yml:3:7".into(),
            handler: false,
            ansible_code: None,
        });
        reporter.event(&result("a", Status::Ok));
        reporter.event(&result("a", Status::Changed));
        reporter.event(&result("b", Status::Failed));
        assert_eq!(reporter.bar.prefix(), "PLAY [web]");
        assert_eq!(reporter.bar.message(), "install (1 failed)");
        assert_eq!(
            (reporter.bar.position(), reporter.bar.length()),
            (2, Some(3))
        );
        reporter.event(&Event::TaskStarted {
            task: "restart".into(),
            location: "site.yml:5:7".into(),
            handler: true,
            ansible_code: None,
        });
        assert_eq!(reporter.bar.position(), 0);
        reporter.event(&Event::RunFinished {
            exit_code: 2,
            duration: Duration::ZERO,
        });
        assert!(reporter.bar.is_finished());
    }
}
