//! The only code that prints: run events turned into terminal lines, JSON, and recaps.

mod event;
mod github;
mod json;
mod junit;
mod progress;
mod run_id;
mod terminal;

pub use event::{Event, HostResult, HostStats, Recap, RunInfo, Status};
pub use github::GithubReporter;
pub use json::{JsonReporter, SCHEMA_VERSION};
pub use junit::JunitReporter;
pub use progress::ProgressReporter;
pub use run_id::{RunId, rfc3339};
pub use terminal::TerminalReporter;

use tokio::sync::mpsc::UnboundedSender;

/// Where the executor sends its events; cheap to clone.
#[derive(Clone)]
pub struct Emitter(UnboundedSender<Event>);

impl Emitter {
    /// An emitter feeding `sender`.
    pub fn new(sender: UnboundedSender<Event>) -> Self {
        Emitter(sender)
    }

    /// Sends an event; a reporter that has gone away is not the run's problem.
    pub fn emit(&self, event: Event) {
        let _ = self.0.send(event);
    }
}

/// A consumer of run events: one per output format.
pub trait Reporter: Send {
    /// Handles one event, in order.
    fn event(&mut self, event: &Event);
}

/// Several reporters fed the same events in order: the terminal or JSON output, and whatever
/// else a run writes (reports, logs).
#[derive(Default)]
pub struct Fanout(Vec<Box<dyn Reporter>>);

impl Fanout {
    /// Adds a reporter that sees every later event.
    pub fn push(&mut self, reporter: Box<dyn Reporter>) {
        self.0.push(reporter);
    }
}

impl Reporter for Fanout {
    fn event(&mut self, event: &Event) {
        for reporter in &mut self.0 {
            reporter.event(event);
        }
    }
}

/// Feeds every event from `events` to `reporter` until the run ends; returns when the sender side
/// is dropped.
pub async fn drain(
    mut events: tokio::sync::mpsc::UnboundedReceiver<Event>,
    mut reporter: Box<dyn Reporter>,
) {
    while let Some(event) = events.recv().await {
        reporter.event(&event);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    struct Count(Arc<Mutex<u32>>);

    impl Reporter for Count {
        fn event(&mut self, _: &Event) {
            *self.0.lock().unwrap() += 1;
        }
    }

    #[test]
    fn a_fanout_feeds_every_reporter_every_event() {
        let (a, b) = (Arc::default(), Arc::default());
        let mut fanout = Fanout::default();
        fanout.push(Box::new(Count(Arc::clone(&a))));
        fanout.push(Box::new(Count(Arc::clone(&b))));
        for _ in 0..3 {
            fanout.event(&Event::Warning {
                message: "w".into(),
            });
        }
        assert_eq!((*a.lock().unwrap(), *b.lock().unwrap()), (3, 3));
    }
}
