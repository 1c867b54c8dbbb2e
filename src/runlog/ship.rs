//! Shipping run log lines to a central sink on a background thread. The run only ever puts lines
//! on a bounded queue without waiting; when the queue is full or the sink fails, shipping stops
//! and the lines not sent are spooled on disk by the run log, to be sent first by a later run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use super::{UNSENT_FILE, read_lines};
use crate::outbound::{self, Warn};

/// Lines the run may queue before shipping gives up for this run (the rest is spooled).
const QUEUE_LINES: usize = 4096;
/// Lines sent in one HTTP POST.
const BATCH_LINES: usize = 200;
/// Largest syslog message; longer lines are cut (receivers may truncate anyway, RFC 5424 §6.1).
const SYSLOG_MAX_BYTES: usize = 60_000;
/// Syslog priority: facility local0 (16), severity informational (6).
const SYSLOG_PRIORITY: u8 = 16 * 8 + 6;

/// A central place run logs are sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    /// `http://` or `https://` URL: batches of JSON lines, POSTed as `application/x-ndjson`.
    Http(String),
    /// `syslog://host:port`: one RFC 5424 message per line over UDP.
    Syslog(String),
}

/// A sink address that is not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("log sink `{0}`: expected http://HOST[:PORT]/PATH, https://... or syslog://HOST:PORT")]
pub struct SinkError(pub String);

impl std::str::FromStr for Sink {
    type Err = SinkError;

    fn from_str(text: &str) -> Result<Sink, SinkError> {
        if text.starts_with("http://") || text.starts_with("https://") {
            return Ok(Sink::Http(text.to_string()));
        }
        match text.strip_prefix("syslog://") {
            Some(address)
                if address
                    .rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()) =>
            {
                Ok(Sink::Syslog(address.to_string()))
            }
            _ => Err(SinkError(text.to_string())),
        }
    }
}

impl std::fmt::Display for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sink::Http(url) => f.write_str(&outbound::redacted(url)),
            Sink::Syslog(address) => write!(f, "syslog://{address}"),
        }
    }
}

impl Sink {
    /// Sends lines; an error means none of them should be counted as delivered.
    fn send(&self, lines: &[String]) -> Result<(), String> {
        match self {
            Sink::Http(url) => {
                let body = lines.join("\n") + "\n";
                outbound::post(url, "application/x-ndjson", body.as_bytes())
                    .map_err(|e| e.to_string())
            }
            Sink::Syslog(address) => {
                let socket = std::net::UdpSocket::bind(("0.0.0.0", 0))
                    .and_then(|s| s.connect(address.as_str()).map(|()| s))
                    .map_err(|e| format!("syslog://{address}: {e}"))?;
                lines.iter().try_for_each(|line| {
                    socket
                        .send(syslog_message(line).as_bytes())
                        .map(drop)
                        .map_err(|e| format!("syslog://{address}: {e}"))
                })
            }
        }
    }
}

/// One RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME APP PROCID MSGID SD MSG`.
fn syslog_message(line: &str) -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "-".into());
    let mut end = line.len().min(SYSLOG_MAX_BYTES);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "<{SYSLOG_PRIORITY}>1 {} {host} deployer {} - - {}",
        humantime::format_rfc3339_millis(SystemTime::now()),
        std::process::id(),
        &line[..end]
    )
}

/// The background sender of one run's lines.
pub(super) struct Shipper {
    queue: Option<SyncSender<String>>,
    sent: Arc<AtomicUsize>,
    thread: JoinHandle<()>,
}

impl Shipper {
    /// Starts the thread: it first sends what earlier runs under `runs_dir` kept, then this run's
    /// lines as they come.
    pub fn start(sink: Sink, runs_dir: PathBuf, warn: Warn) -> Shipper {
        let (queue, lines) = std::sync::mpsc::sync_channel(QUEUE_LINES);
        let sent = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&sent);
        let thread = std::thread::spawn(move || {
            let result =
                send_spooled(&sink, &runs_dir).and_then(|()| ship(&sink, &lines, &counter));
            if let Err(e) = result {
                warn(&format!("log sink {sink}: {e}"));
            }
        });
        Shipper {
            queue: Some(queue),
            sent,
            thread,
        }
    }

    /// Queues a line without ever waiting; once the queue is full, shipping stops for this run.
    pub fn offer(&mut self, line: String) {
        let refused = (self.queue.as_ref()).is_some_and(|queue| queue.try_send(line).is_err());
        if refused {
            self.queue = None;
        }
    }

    /// Ends the queue, waits at most `limit` for the sink, and says how many lines (from the
    /// first) it took.
    pub fn finish(mut self, limit: Duration) -> usize {
        self.queue = None;
        outbound::wait_for(&self.thread, limit);
        self.sent.load(Ordering::SeqCst)
    }
}

/// Sends this run's lines in batches, counting the ones delivered.
fn ship(sink: &Sink, lines: &Receiver<String>, sent: &AtomicUsize) -> Result<(), String> {
    while let Ok(first) = lines.recv() {
        let mut batch = vec![first];
        batch.extend(lines.try_iter().take(BATCH_LINES - 1));
        sink.send(&batch)?;
        sent.fetch_add(batch.len(), Ordering::SeqCst);
    }
    Ok(())
}

/// Sends every earlier run's `unsent.jsonl`, oldest run first, removing each once delivered (or
/// keeping what is left of it when the sink fails).
fn send_spooled(sink: &Sink, runs_dir: &Path) -> Result<(), String> {
    let mut spools: Vec<PathBuf> = std::fs::read_dir(runs_dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path().join(UNSENT_FILE))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    spools.sort();
    for spool in spools {
        let lines = read_lines(&spool).map_err(|e| e.to_string())?;
        for (index, batch) in lines.chunks(BATCH_LINES).enumerate() {
            if let Err(e) = sink.send(batch) {
                let left = lines[index * BATCH_LINES..].join("\n") + "\n";
                let _ = std::fs::write(&spool, left);
                return Err(e);
            }
        }
        let _ = std::fs::remove_file(&spool);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sinks_are_parsed_from_their_urls() {
        assert_eq!(
            "http://127.0.0.1:9/logs".parse(),
            Ok(Sink::Http("http://127.0.0.1:9/logs".into()))
        );
        assert_eq!(
            "syslog://logs.internal:514".parse(),
            Ok(Sink::Syslog("logs.internal:514".into()))
        );
        assert!("syslog://nohost".parse::<Sink>().is_err());
        assert!("ftp://x".parse::<Sink>().is_err());
    }

    #[test]
    fn lines_go_over_udp_as_rfc5424_messages() {
        let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let sink = Sink::Syslog(server.local_addr().unwrap().to_string());
        sink.send(&["{\"event\":\"warning\"}".into()]).unwrap();
        let mut buffer = [0u8; 512];
        let n = server.recv(&mut buffer).unwrap();
        let message = String::from_utf8_lossy(&buffer[..n]);
        assert!(message.starts_with("<134>1 "), "{message}");
        let tail = format!(
            " deployer {} - - {{\"event\":\"warning\"}}",
            std::process::id()
        );
        assert!(message.ends_with(&tail), "{message}");
    }
}
