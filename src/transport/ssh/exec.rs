//! Running one command on an open [`Session`]: a session channel (at most
//! `MaxSessions - 1` in flight per connection, refused opens retried with backoff), the
//! request's stdin streamed in (files straight from disk), stdout, stderr and the exit status
//! collected.
//!
//! A command abandoned early (timeout, unreadable stdin file, the caller dropping the future)
//! is killed, and its slot is given back once the server has closed the channel. Killing cannot
//! rely on the SSH `signal` request alone (sshd refuses it for root logins), so a command with a
//! timeout runs under `timeout -s KILL` on the host, one second past the limit, inside sudo when
//! there is one. A command whose stdin file failed to read is never sent end-of-file, but if it
//! outlives the grace period its channel is closed, and it then sees end-of-file: scripts that
//! store stdin must check what they got (size or checksum) before committing it. The command line comes from
//! [`remote_command`], as for the local transport.

use std::time::Duration;

use russh::client::Msg;
use russh::{ChannelMsg, ChannelOpenFailure, ChannelReadHalf, ChannelWriteHalf, Sig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::OwnedSemaphorePermit;

use super::session::Session;
use crate::transport::shell::with_remote_deadline;
use crate::transport::{ExecOutput, ExecRequest, Pipes, Stdin, TransportError, remote_command};

/// Attempts at opening a channel the server refused for lack of a free slot.
const OPEN_ATTEMPTS: u32 = 7;
/// How much of a stdin file is read at a time.
const CHUNK: usize = 256 * 1024;
/// How long an abandoned channel may hold its slot waiting for the server to close it.
const ABANDON_WAIT: Duration = Duration::from_secs(30);

/// Why feeding stdin stopped early.
enum FeedError {
    /// Reading the local file failed: the command must not see a truncated input.
    Local(std::io::Error),
    /// The channel stopped taking data (the command exited or closed its stdin).
    Remote,
}

/// A channel in use and its slot; if dropped before the server closed the channel, it kills
/// the command and releases the slot in the background.
struct Running {
    parts: Option<(ChannelReadHalf, ChannelWriteHalf<Msg>, OwnedSemaphorePermit)>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let Some((reader, writer, permit)) = self.parts.take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(abandon(reader, writer, permit));
        }
    }
}

/// Kills an abandoned command and holds its slot until the server has closed the channel.
///
/// The channel is not closed from this side first: russh would then drop the server's close,
/// and sshd keeps the slot until the command has exited anyway. A command with a timeout is
/// killed by `timeout` on the host; the `signal` request covers the others for non-root logins.
async fn abandon(
    mut reader: ChannelReadHalf,
    writer: ChannelWriteHalf<Msg>,
    permit: OwnedSemaphorePermit,
) {
    let _ = writer.signal(Sig::KILL).await;
    let closed = tokio::time::timeout(ABANDON_WAIT, async {
        while let Some(message) = reader.wait().await {
            if matches!(message, ChannelMsg::Close) {
                break;
            }
        }
    });
    if closed.await.is_err() {
        tracing::warn!(
            "an abandoned command still runs after {ABANDON_WAIT:?}; closing its channel"
        );
        let _ = writer.close().await;
    }
    drop(permit);
}

/// Runs `request` on `session` and waits for it to finish.
pub(crate) async fn run(
    session: &Session,
    request: ExecRequest,
) -> Result<ExecOutput, TransportError> {
    let (channel, permit) = open_channel(session).await?;
    let (reader, writer) = channel.split();
    let mut running = Running {
        parts: Some((reader, writer, permit)),
    };
    let (reader, writer, _) = running.parts.as_mut().expect("just set");
    let request = with_remote_deadline(request);
    let (line, preamble) = remote_command(&request);
    let driving = drive(session, reader, writer, line, preamble, &request.stdin);
    let outcome = match request.timeout {
        Some(limit) => tokio::time::timeout(limit, driving)
            .await
            .unwrap_or(Err(TransportError::Timeout(limit))),
        None => driving.await,
    };
    if outcome.is_ok() {
        // The server closed the channel: the slot is free, nothing to clean up.
        running.parts.take();
    }
    drop(running);
    outcome.map_err(|e| lost_connection(session, e))
}

/// Starts `line` on a channel of its own that stays open until the returned pipes are dropped
/// (holding one of the connection's channel slots all that time).
pub(crate) async fn spawn(session: &Session, line: String) -> Result<Pipes, TransportError> {
    let (channel, permit) = open_channel(session).await?;
    channel.exec(true, line).await.map_err(|e| {
        lost_connection(
            session,
            TransportError::Unreachable(format!("cannot start the command: {e}")),
        )
    })?;
    let (output, input) = tokio::io::split(channel.into_stream());
    Ok(Pipes {
        input: Box::new(input),
        output: Box::new(output),
        keep: Box::new(permit),
    })
}

/// Takes one of the connection's channel slots and opens a session channel in it, retrying while
/// the server is short of session slots.
async fn open_channel(
    session: &Session,
) -> Result<(russh::Channel<Msg>, OwnedSemaphorePermit), TransportError> {
    let permit = session
        .channels
        .clone()
        .acquire_owned()
        .await
        .expect("the channel semaphore is never closed");
    let mut delay = Duration::from_millis(25);
    for attempt in 1..=OPEN_ATTEMPTS {
        match session.handle().channel_open_session().await {
            Ok(channel) => return Ok((channel, permit)),
            Err(russh::Error::ChannelOpenFailure(
                ChannelOpenFailure::ConnectFailed | ChannelOpenFailure::ResourceShortage,
            )) if attempt < OPEN_ATTEMPTS => {
                tracing::debug!(session = %session.label, attempt, "channel refused; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => {
                return Err(TransportError::Unreachable(format!(
                    "{}: cannot open a channel: {e}",
                    session.label
                )));
            }
        }
    }
    unreachable!("the last attempt returns")
}

/// Starts the command, feeds its stdin while collecting its output, and returns when it ends.
async fn drive(
    session: &Session,
    reader: &mut ChannelReadHalf,
    writer: &ChannelWriteHalf<Msg>,
    line: String,
    preamble: Option<String>,
    stdin: &Stdin,
) -> Result<ExecOutput, TransportError> {
    writer
        .exec(true, line)
        .await
        .map_err(|e| TransportError::Unreachable(format!("cannot start the command: {e}")))?;
    let feeding = feed(writer, preamble, stdin);
    let collecting = collect(reader);
    tokio::pin!(feeding, collecting);
    tokio::select! {
        // The command ended first (maybe without reading all its input): stop feeding it.
        output = &mut collecting => output,
        fed = &mut feeding => match fed {
            Err(FeedError::Local(e)) => Err(TransportError::Io(e)),
            Ok(sent) => {
                if sent > 0 {
                    tracing::debug!(session = %session.label, bytes = sent, "sent stdin");
                }
                collecting.await
            }
            Err(FeedError::Remote) => collecting.await,
        },
    }
}

/// Writes the sudo password (if any) and then the request's stdin, and closes stdin. Returns
/// how many bytes of the request's stdin (the password not counted) were sent.
async fn feed(
    writer: &ChannelWriteHalf<Msg>,
    preamble: Option<String>,
    stdin: &Stdin,
) -> Result<u64, FeedError> {
    let mut sink = writer.make_writer();
    if let Some(password) = preamble.map(zeroize::Zeroizing::new) {
        sink.write_all(password.as_bytes())
            .await
            .map_err(|_| FeedError::Remote)?;
    }
    let mut sent = 0u64;
    match stdin {
        Stdin::Null => {}
        Stdin::Bytes(bytes) => {
            sink.write_all(bytes).await.map_err(|_| FeedError::Remote)?;
            sent = bytes.len() as u64;
        }
        Stdin::File(path) => {
            let mut file = tokio::fs::File::open(path)
                .await
                .map_err(FeedError::Local)?;
            let mut buffer = vec![0; CHUNK];
            loop {
                let read = file.read(&mut buffer).await.map_err(FeedError::Local)?;
                if read == 0 {
                    break;
                }
                sink.write_all(&buffer[..read])
                    .await
                    .map_err(|_| FeedError::Remote)?;
                sent += read as u64;
            }
        }
    }
    sink.shutdown().await.map_err(|_| FeedError::Remote)?;
    Ok(sent)
}

/// Reads the channel until the server closes it.
async fn collect(reader: &mut ChannelReadHalf) -> Result<ExecOutput, TransportError> {
    let mut output = ExecOutput::default();
    let mut status = None;
    while let Some(message) = reader.wait().await {
        match message {
            ChannelMsg::Data { data } => output.stdout.extend_from_slice(&data),
            ChannelMsg::ExtendedData { data, ext: 1 } => output.stderr.extend_from_slice(&data),
            ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status as i32),
            ChannelMsg::ExitSignal { signal_name, .. } => {
                status = Some(128 + signal_number(&signal_name))
            }
            ChannelMsg::Failure => {
                return Err(TransportError::Unreachable(
                    "the server refused to run the command".into(),
                ));
            }
            ChannelMsg::Close => break,
            _ => {}
        }
    }
    output.exit_code = status.ok_or_else(|| {
        TransportError::Unreachable(
            "the command ended without an exit status (connection lost?)".into(),
        )
    })?;
    Ok(output)
}

/// Says which connection broke, when it did.
fn lost_connection(session: &Session, error: TransportError) -> TransportError {
    match error {
        TransportError::Unreachable(message) => {
            let state = if session.is_closed() {
                "connection lost"
            } else {
                "connection open"
            };
            TransportError::Unreachable(format!("{}: {message} ({state})", session.label))
        }
        other => other,
    }
}

/// The POSIX number of a signal named in an `exit-signal` message.
fn signal_number(signal: &Sig) -> i32 {
    match signal {
        Sig::HUP => 1,
        Sig::INT => 2,
        Sig::QUIT => 3,
        Sig::ILL => 4,
        Sig::ABRT => 6,
        Sig::FPE => 8,
        Sig::KILL => 9,
        Sig::USR1 => 10,
        Sig::SEGV => 11,
        Sig::PIPE => 13,
        Sig::ALRM => 14,
        Sig::TERM => 15,
        Sig::Custom(name) => match name.as_str() {
            "BUS" => 7,
            "USR2" => 12,
            "CHLD" => 17,
            "CONT" => 18,
            "STOP" => 19,
            "TSTP" => 20,
            "XCPU" => 24,
            "XFSZ" => 25,
            _ => 0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_map_to_shell_exit_codes() {
        assert_eq!(128 + signal_number(&Sig::KILL), 137);
        assert_eq!(128 + signal_number(&Sig::TERM), 143);
        assert_eq!(128 + signal_number(&Sig::Custom("USR2".into())), 140);
    }
}
