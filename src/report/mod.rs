//! The only code that prints: run events turned into terminal lines, JSON, and recaps.

mod event;
mod json;
mod terminal;

pub use event::{Event, HostResult, HostStats, Recap, Status};
pub use json::{JsonReporter, SCHEMA_VERSION};
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
