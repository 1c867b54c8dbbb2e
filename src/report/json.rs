//! `--format json`: one JSON object per line for every event, with a schema version, for
//! machines. The schema is documented in docs/events.md.

use std::io::Write;

use super::{Event, Reporter};

/// The version of the JSON event schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Writes JSON lines.
pub struct JsonReporter<W: Write> {
    out: W,
}

impl<W: Write> JsonReporter<W> {
    /// A reporter writing JSON lines to `out`.
    pub fn new(out: W) -> Self {
        JsonReporter { out }
    }
}

impl<W: Write + Send> Reporter for JsonReporter<W> {
    fn event(&mut self, event: &Event) {
        let mut value = serde_json::to_value(event).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.insert("v".into(), SCHEMA_VERSION.into());
        }
        let _ = writeln!(self.out, "{value}");
        let _ = self.out.flush();
    }
}
