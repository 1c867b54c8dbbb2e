//! Log lines (`-vv` commands and output, SSH details, warnings) with every known secret masked:
//! a tracing writer that holds each line and redacts it before writing it out.

use std::io::Write;
use std::sync::{Arc, RwLock};

use tracing_subscriber::fmt::MakeWriter;

use super::Secrets;

/// The secrets masked in log lines, once the run knows them.
static LOG_SECRETS: RwLock<Option<Arc<Secrets>>> = RwLock::new(None);

/// Masks `secrets` in every log line from now on.
pub fn mask_logs(secrets: Arc<Secrets>) {
    *LOG_SECRETS.write().unwrap_or_else(|e| e.into_inner()) = Some(secrets);
}

/// Wraps a tracing writer so that each log line is redacted before it is written.
pub struct MaskedLogs<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for MaskedLogs<M> {
    type Writer = MaskedLine<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        MaskedLine {
            line: Vec::new(),
            inner: self.0.make_writer(),
        }
    }
}

/// One log line, held until it is complete.
pub struct MaskedLine<W: Write> {
    line: Vec<u8>,
    inner: W,
}

impl<W: Write> Write for MaskedLine<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let line = std::mem::take(&mut self.line);
        let secrets = LOG_SECRETS.read().unwrap_or_else(|e| e.into_inner());
        match secrets.as_ref().filter(|s| !s.is_empty()) {
            Some(secrets) => {
                let text = secrets.redact(&String::from_utf8_lossy(&line));
                self.inner.write_all(text.as_bytes())?;
            }
            None => self.inner.write_all(&line)?,
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for MaskedLine<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_written_masked() {
        let mut secrets = Secrets::default();
        secrets.add("log-secret-value");
        mask_logs(Arc::new(secrets));
        let mut out = Vec::new();
        {
            let mut line = MaskedLine {
                line: Vec::new(),
                inner: &mut out,
            };
            write!(line, "running echo log-secret-").unwrap();
            writeln!(line, "value").unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), "running echo ********\n");
    }
}
