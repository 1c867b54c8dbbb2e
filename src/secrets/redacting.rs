//! A reporter wrapper that scrubs secrets out of every event before passing it on.

use std::sync::Arc;

use super::Secrets;
use crate::report::{Event, Reporter};

/// Feeds `inner` every event with every secret replaced by [`MASK`](super::MASK).
pub struct Redacting {
    secrets: Arc<Secrets>,
    inner: Box<dyn Reporter>,
}

impl Redacting {
    /// Wraps `inner`; with no secrets, events pass through unchanged.
    pub fn new(secrets: Arc<Secrets>, inner: Box<dyn Reporter>) -> Self {
        Redacting { secrets, inner }
    }

    fn scrub(&self, event: &mut Event) {
        let secrets = &self.secrets;
        match event {
            Event::PlayStarted { name, .. } => *name = secrets.redact(name),
            Event::TaskStarted { task, .. } => *task = secrets.redact(task),
            Event::HostResult(result) => {
                result.task = secrets.redact(&result.task);
                result.item = result.item.as_deref().map(|i| secrets.redact(i));
                secrets.redact_value(&mut result.result);
                for diff in &mut result.diffs {
                    *diff = secrets.redact(diff);
                }
            }
            Event::Warning { message } => *message = secrets.redact(message),
            Event::RunStarted(_) | Event::RunFinished { .. } | Event::Recap(_) => {}
        }
    }
}

impl Reporter for Redacting {
    fn event(&mut self, event: &Event) {
        if self.secrets.is_empty() {
            return self.inner.event(event);
        }
        let mut event = event.clone();
        self.scrub(&mut event);
        self.inner.event(&event);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::report::{HostResult, Status};

    struct Keep(Arc<Mutex<Vec<Event>>>);

    impl Reporter for Keep {
        fn event(&mut self, event: &Event) {
            self.0.lock().unwrap().push(event.clone());
        }
    }

    #[test]
    fn every_text_of_an_event_is_scrubbed_before_the_inner_reporter_sees_it() {
        let mut secrets = Secrets::default();
        secrets.add("s3cr3t-value");
        let seen = Arc::default();
        let mut reporter = Redacting::new(Arc::new(secrets), Box::new(Keep(Arc::clone(&seen))));
        reporter.event(&Event::HostResult(HostResult {
            host: "web1".into(),
            delegated_to: None,
            task: "echo s3cr3t-value".into(),
            location: "site.yml:3:7".into(),
            module: "shell".into(),
            status: Status::Failed,
            item: Some("s3cr3t-value".into()),
            result: json!({"stdout": "s3cr3t-value\n", "msg": "no s3cr3t-value"}),
            diffs: vec!["+s3cr3t-value\n".into()],
            duration: Duration::ZERO,
        }));
        reporter.event(&Event::Warning {
            message: "about s3cr3t-value".into(),
        });
        let text: String = seen
            .lock()
            .unwrap()
            .iter()
            .map(|e| serde_json::to_string(e).unwrap())
            .collect();
        assert!(!text.contains("s3cr3t"), "{text}");
        assert_eq!(text.matches("********").count(), 6, "{text}");
    }
}
