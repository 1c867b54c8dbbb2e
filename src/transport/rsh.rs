//! A remote shell for an external program (`rsync -e`) that rides on deployer's own connection
//! to a host, so that the host is reached through the same bastion, key and verified host key as
//! every other command, and the private network is never dialled from the controller.
//!
//! [`RemoteShell`] listens on a Unix socket in a private (0700) temporary directory. The program
//! is given `deployer rsync-tunnel SOCKET` as its remote shell; it runs that with the usual ssh
//! arguments (`[-l USER] HOST COMMAND...`), and [`relay`] (the hidden subcommand) sends the
//! command over the socket, then relays its stdin and stdout. [`RemoteShell::serve`] starts the
//! command on the host with [`Transport::spawn`] and copies the bytes both ways. The command's
//! stderr is not relayed.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

use super::{Transport, TransportError};

/// The hidden subcommand that relays a program's remote shell to [`RemoteShell`].
pub const RELAY_SUBCOMMAND: &str = "rsync-tunnel";

/// The first byte of the answer to a relay: the command started, its output follows.
const STARTED: u8 = 0;
/// The first byte of the answer to a relay: it could not start; a message follows.
const REFUSED: u8 = 1;
/// The longest command line a relay may send.
const MAX_LINE: u32 = 1 << 20;

/// A listening socket that runs the commands sent to it on one host.
pub struct RemoteShell {
    dir: tempfile::TempDir,
    listener: UnixListener,
    /// The host file (a shell word) the commands' stderr goes to, as a transport's pipes do not
    /// carry it; it is removed by a command that succeeds, else read by [`Self::errors`].
    errors_file: String,
}

impl RemoteShell {
    /// Opens the socket in a new private directory.
    pub fn open() -> std::io::Result<RemoteShell> {
        let dir = tempfile::Builder::new().prefix("deployer-rsh").tempdir()?;
        let listener = UnixListener::bind(dir.path().join("socket"))?;
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(std::io::Error::other)?;
        let errors_file = format!(
            "\"${{TMPDIR:-/tmp}}/.deployer-rsh-{}.err\"",
            hex::encode(random)
        );
        Ok(RemoteShell {
            dir,
            listener,
            errors_file,
        })
    }

    /// What the commands that failed wrote on stderr on `host` (`None`: nothing), the file then
    /// removed.
    pub async fn errors(&self, host: &dyn Transport) -> Option<String> {
        let f = &self.errors_file;
        let script = format!("if [ -f {f} ]; then cat {f}; rm -f {f}; fi");
        let out = host.exec(super::ExecRequest::new(script)).await.ok()?;
        let text = out.stdout_text().trim_end().to_string();
        (!text.is_empty()).then_some(text)
    }

    /// `line` run by `sh` (whatever the login shell) with its stderr appended to the errors file
    /// (private to the login user), which a command that succeeds removes.
    fn with_errors_kept(&self, line: &str) -> String {
        let f = &self.errors_file;
        let script = format!(
            "umask 077; {{ {line}\n}} 2>>{f}; rc=$?; [ \"$rc\" -ne 0 ] || rm -f {f}; exit \"$rc\""
        );
        format!("sh -c {}", super::quote(&script))
    }

    /// The remote shell command to give the program: the deployer binary `exe` relaying to this
    /// socket, each word quoted for a program that splits it as rsync splits `-e`.
    pub fn command(&self, exe: &Path) -> String {
        [
            exe.to_string_lossy().as_ref(),
            RELAY_SUBCOMMAND,
            self.socket().to_string_lossy().as_ref(),
        ]
        .map(super::quote)
        .join(" ")
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("socket")
    }

    /// Runs every command sent to the socket on `host`, one after the other; never returns
    /// (drop the future to stop). Why a command could not start is told to its relay, which
    /// prints it on the program's stderr.
    pub async fn serve(&self, host: &dyn Transport) {
        loop {
            let stream = match self.listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, say: try again shortly rather than spin.
                    tracing::debug!("remote shell: cannot accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            if let Err(e) = self.run_one(stream, host).await {
                tracing::debug!(host = %host.describe(), "remote shell: {e}");
            }
        }
    }

    async fn run_one(&self, mut stream: UnixStream, host: &dyn Transport) -> Result<(), RshError> {
        let length = stream.read_u32().await?;
        if length > MAX_LINE {
            return Err(RshError::TooLong);
        }
        let mut line = vec![0; length as usize];
        stream.read_exact(&mut line).await?;
        let line = String::from_utf8(line).map_err(|_| RshError::NotText)?;
        let pipes = match host.spawn(self.with_errors_kept(&line)).await {
            Ok(Some(pipes)) => pipes,
            Ok(None) => return refuse(stream, RshError::Unsupported(host.describe())).await,
            Err(e) => return refuse(stream, RshError::Transport(e)).await,
        };
        stream.write_u8(STARTED).await?;
        let (from_relay, to_relay) = stream.into_split();
        // Both ways run to their end: the command's output is relayed in full even when its
        // input could not be (it exited without reading it all).
        let (sent, received) = tokio::join!(
            copy_then_close(from_relay, pipes.input),
            copy_then_close(pipes.output, to_relay)
        );
        drop(pipes.keep);
        received?;
        Ok(sent?)
    }
}

/// Tells the relay why its command could not start, and returns that reason.
async fn refuse(mut stream: UnixStream, why: RshError) -> Result<(), RshError> {
    let text = format!("deployer: {why}\n");
    let _ = stream.write_u8(REFUSED).await;
    let _ = stream.write_all(text.as_bytes()).await;
    Err(why)
}

/// Copies `from` into `to` until `from` ends, then closes `to` for writing.
async fn copy_then_close(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
) -> std::io::Result<()> {
    tokio::io::copy(&mut from, &mut to).await?;
    to.shutdown().await
}

/// Why a relayed command did not run.
#[derive(Debug, thiserror::Error)]
pub enum RshError {
    /// The relay or its socket failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The host could not run the command.
    #[error("{0}")]
    Transport(TransportError),
    /// The host's connection cannot keep a command running.
    #[error("the connection {0} cannot relay a remote shell")]
    Unsupported(String),
    /// The command line was longer than [`MAX_LINE`].
    #[error("the remote command is too long")]
    TooLong,
    /// The command line was not UTF-8.
    #[error("the remote command is not UTF-8 text")]
    NotText,
    /// The relay was started with arguments an ssh-like remote shell does not get.
    #[error("usage: deployer {RELAY_SUBCOMMAND} SOCKET [-l USER] HOST COMMAND...")]
    Usage,
}

/// The command an ssh-like remote shell is asked to run: the words after the options
/// (`-l USER`, `-4`, ...) and the host name, joined by spaces as ssh joins them.
pub fn remote_line(args: &[String]) -> Option<String> {
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "-l" | "-p" => {
                rest.next()?;
            }
            option if option.starts_with('-') => {}
            _host => {
                let words: Vec<&str> = rest.map(String::as_str).collect();
                return (!words.is_empty()).then(|| words.join(" "));
            }
        }
    }
    None
}

/// The relay (`deployer rsync-tunnel SOCKET ARGS...`): sends the command to the socket, then
/// copies stdin to it and its answer to stdout until the command ends. Blocking; returns the
/// exit code: 0, or 255 (as ssh does) when the command could not start.
pub fn relay(socket: &Path, args: &[String]) -> i32 {
    match try_relay(socket, args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("deployer: {e}");
            255
        }
    }
}

fn try_relay(socket: &Path, args: &[String]) -> Result<i32, RshError> {
    let line = remote_line(args).ok_or(RshError::Usage)?;
    let length = u32::try_from(line.len())
        .ok()
        .filter(|n| *n <= MAX_LINE)
        .ok_or(RshError::TooLong)?;
    let mut stream = StdUnixStream::connect(socket)?;
    stream.write_all(&length.to_be_bytes())?;
    stream.write_all(line.as_bytes())?;
    let mut answer = [0u8];
    stream.read_exact(&mut answer)?;
    if answer[0] != STARTED {
        let mut why = String::new();
        let _ = stream.read_to_string(&mut why);
        eprint!("{why}");
        return Ok(255);
    }
    let mut to_host = stream.try_clone()?;
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut to_host);
        let _ = to_host.shutdown(std::net::Shutdown::Write);
    });
    // Stdout is line-buffered: each read is flushed at once, as the program waits for it.
    let mut stdout = std::io::stdout().lock();
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let n = stream.read(&mut buffer)?;
        if n == 0 {
            return Ok(0);
        }
        stdout.write_all(&buffer[..n])?;
        stdout.flush()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::LocalTransport;

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn the_remote_line_is_what_follows_the_options_and_the_host() {
        let args = words("-l deploy app1 sudo rsync --server -logDtpre.iLsfxCIvu . /srv/x");
        assert_eq!(
            remote_line(&args).as_deref(),
            Some("sudo rsync --server -logDtpre.iLsfxCIvu . /srv/x")
        );
        assert_eq!(
            remote_line(&words("-6 app1 rsync --server")).as_deref(),
            Some("rsync --server")
        );
        assert_eq!(remote_line(&words("-l deploy app1")), None);
        assert_eq!(remote_line(&words("-l")), None);
    }

    #[tokio::test]
    async fn the_command_quotes_paths_with_spaces() {
        let shell = RemoteShell::open().unwrap();
        let command = shell.command(Path::new("/opt/my tools/deployer"));
        assert!(command.starts_with("'/opt/my tools/deployer' rsync-tunnel /"));
    }

    /// Relays `args` (as rsync passes them) with `input` to `shell` serving the controller, and
    /// returns what came back.
    async fn relay_locally(shell: &RemoteShell, args: &str, input: &'static [u8]) -> Vec<u8> {
        let socket = shell.socket();
        let args = words(args);
        let relayed = tokio::task::spawn_blocking(move || {
            let line = remote_line(&args).unwrap();
            let mut stream = StdUnixStream::connect(socket).unwrap();
            stream
                .write_all(&u32::try_from(line.len()).unwrap().to_be_bytes())
                .unwrap();
            stream.write_all(line.as_bytes()).unwrap();
            stream.write_all(input).unwrap();
            stream.shutdown(std::net::Shutdown::Write).unwrap();
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).unwrap();
            answer
        });
        tokio::select! {
            answer = relayed => answer.unwrap(),
            () = shell.serve(&LocalTransport) => unreachable!("serve never returns"),
        }
    }

    #[tokio::test]
    async fn a_relayed_command_runs_on_the_host_with_its_stdin() {
        let shell = RemoteShell::open().unwrap();
        let answer = relay_locally(&shell, "-l me host tr a-z A-Z", b"hello").await;
        assert_eq!(answer, b"\0HELLO");
        assert_eq!(shell.errors(&LocalTransport).await, None);
    }

    #[tokio::test]
    async fn a_failed_commands_stderr_is_kept_for_the_caller_then_removed() {
        let shell = RemoteShell::open().unwrap();
        let answer = relay_locally(&shell, "host ls /nonexistent-deployer-rsh", b"").await;
        assert_eq!(answer, b"\0");
        let errors = shell.errors(&LocalTransport).await.unwrap();
        assert!(errors.contains("/nonexistent-deployer-rsh"), "{errors}");
        assert_eq!(shell.errors(&LocalTransport).await, None);
    }
}
