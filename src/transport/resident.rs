//! One long-lived shell per host and become user: a POSIX `sh` loop started once over one
//! channel runs every command sent to it, so a host's login (PAM, the login shell's startup
//! files) is paid once per run rather than once per command.
//!
//! The protocol, on the loop's stdin and stdout:
//! - at the start, a boundary: a line of 32 random hex digits, new for each shell;
//! - request: `STDIN_LEN\n`, the script, an end line, then exactly `STDIN_LEN` bytes of stdin;
//! - reply: the stdout bytes, the boundary, the stderr bytes, the boundary, `STATUS\n`.
//!
//! The boundary spares the host a program start to measure the output (a program start is the
//! dearest thing the loop does): output that holds the boundary by chance is not to be expected,
//! and it cannot be written on purpose by whoever does not see the loop's memory.
//!
//! Each side sends a message in one write: an SSH server does not turn Nagle's algorithm off
//! for a command without a terminal, so a reply in two small writes waits for the controller's
//! (or the bastion's) delayed acknowledgement of the first, 40 ms, and a request in two writes
//! waits for the host's.
//!
//! The command reads its stdin through `head -c`, so it gets only its own bytes, and what it
//! leaves unread is drained before the next request. Its output goes to files in a private
//! folder, so binary output survives and a background process it starts cannot hold the reply.
//! A shell seen to have ended before a request is sent did not run it: a new one is started
//! once, with a warning. A command with a timeout runs under the host's `timeout`, which kills
//! it (and only it) a second or two after the limit: the caller is told of the timeout at the
//! limit, and the shell, once the command's end is in, runs the next one. Where the loop cannot
//! start (no POSIX `sh`, a `head` that reads ahead, sudo refusing), commands run in a session
//! each, as before.

use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

use super::shell::{as_user, script_with_env, with_remote_deadline};
use super::{Become, ExecOutput, ExecRequest, Pipes, Stdin, Transport, TransportError};

/// The line the loop prints once it is ready for requests (after whatever the login printed).
const READY: &str = "deployer-shell-ready-2";
/// What the loop prints instead when it cannot serve requests on this host.
const UNSUPPORTED: &str = "deployer-shell: ";
/// Shells kept per host at most (they hold channel slots); more commands at once run in a
/// session each.
const MAX_SHELLS: usize = 4;
/// How long a shell may take to start (a costly login included).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How much a login may print before the loop's ready line.
const MAX_BANNER: usize = 64 * 1024;
/// How long past its limit a timed-out command's end is waited for, so that its shell can run
/// the next command: the host kills the command a second or two after the limit
/// ([`with_remote_deadline`]). A shell still busy then is given up.
const RECOVERY: Duration = Duration::from_secs(5);

/// The line that ends a request's script (a script holding it runs in a session of its own).
const END_OF_SCRIPT: &str = "__deployer_end_of_script_5c1e__";

/// The loop run by `sh` on the host. The script is read with `read` and run by `eval` in a
/// subshell, so that a command that prints nothing costs a fork and no program start. A reply
/// with output is put together in the stdout file and sent by one `cat`, in one write (a second
/// `cat` adds the stderr there is). In the subshell `$$` is the loop's PID, as in any subshell.
const LOOP: &str = r#"__dpl_d=$(mktemp -d 2>/dev/null) || { echo 'deployer-shell: mktemp -d failed'; exit 0; }
trap 'rm -rf "$__dpl_d"' EXIT
trap 'exit 129' HUP
trap 'exit 143' TERM
[ "$(printf abc | { head -c 1 >/dev/null; cat; })" = bc ] || { echo 'deployer-shell: head -c reads ahead'; exit 0; }
IFS= read -r __dpl_b || exit 0
printf '\n%s\n' deployer-shell-ready-2
while IFS= read -r __dpl_m; do
  __dpl_s=
  while IFS= read -r __dpl_l; do
    [ "$__dpl_l" = __deployer_end_of_script_5c1e__ ] && break
    __dpl_s="$__dpl_s$__dpl_l
"
  done
  [ "$__dpl_l" = __deployer_end_of_script_5c1e__ ] && [ -d "$__dpl_d" ] && [ ! -L "$__dpl_d" ] || exit 1
  if [ "$__dpl_m" = 0 ]; then
    (set --; eval "$__dpl_s") </dev/null >"$__dpl_d/o" 2>"$__dpl_d/e"; __dpl_r=$?
  else
    head -c "$__dpl_m" | { (set --; eval "$__dpl_s") >"$__dpl_d/o" 2>"$__dpl_d/e"; __dpl_r=$?; cat >/dev/null; exit $__dpl_r; }; __dpl_r=$?
  fi
  if [ -s "$__dpl_d/e" ]; then
    printf '%s' "$__dpl_b" >>"$__dpl_d/o"
    cat "$__dpl_d/e" >>"$__dpl_d/o"
    printf '%s%s\n' "$__dpl_b" "$__dpl_r" >>"$__dpl_d/o"
    cat "$__dpl_d/o"
  elif [ -s "$__dpl_d/o" ]; then
    printf '%s%s%s\n' "$__dpl_b" "$__dpl_b" "$__dpl_r" >>"$__dpl_d/o"
    cat "$__dpl_d/o"
  else
    printf '%s%s%s\n' "$__dpl_b" "$__dpl_b" "$__dpl_r"
  fi
done
"#;

/// A transport whose commands run in the host's long-lived shells, falling back to `inner`'s
/// session per command.
pub struct ResidentTransport {
    inner: Arc<dyn Transport>,
    shells: Arc<HostShells>,
}

impl ResidentTransport {
    /// Runs `inner`'s commands through `shells` (the host's, shared by its transports).
    pub fn new(inner: Arc<dyn Transport>, shells: Arc<HostShells>) -> Self {
        ResidentTransport { inner, shells }
    }
}

#[async_trait]
impl Transport for ResidentTransport {
    async fn exec(&self, request: ExecRequest) -> Result<ExecOutput, TransportError> {
        match self.shells.exec(self.inner.as_ref(), &request).await {
            Some(result) => result,
            None => self.inner.exec(request).await,
        }
    }

    async fn spawn(&self, line: String) -> Result<Option<Pipes>, TransportError> {
        self.inner.spawn(line).await
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn bastion(&self) -> Option<Arc<dyn Transport>> {
        self.inner.bastion()
    }

    async fn reset(&self) {
        self.shells.close_idle();
        self.inner.reset().await
    }
}

/// The user a shell runs as (`None`: the login user).
type User = Option<String>;

/// The shells of one host, by the user they run as.
#[derive(Default)]
pub struct HostShells {
    pool: Mutex<Pool>,
    /// Users whose shell could not start: their commands run in a session each.
    per_command: Mutex<HashSet<User>>,
    live: Arc<AtomicUsize>,
    /// Woken when a shell whose caller stopped waiting is settled (back among the idle ones, or
    /// given up).
    settled: Notify,
}

/// A host's shells that are not running a command for a caller.
#[derive(Default)]
struct Pool {
    idle: HashMap<User, Vec<Shell>>,
    /// Shells whose caller stopped waiting (a timeout) and that are not settled yet, by user.
    recovering: HashMap<User, usize>,
}

impl HostShells {
    /// Runs `request` in one of the shells (started through `host` when none is idle), or
    /// `None` when it must run in a session of its own.
    async fn exec(
        self: &Arc<Self>,
        host: &dyn Transport,
        request: &ExecRequest,
    ) -> Option<Result<ExecOutput, TransportError>> {
        let script = script_with_env(&with_remote_deadline(request.clone()));
        if script.lines().any(|line| line == END_OF_SCRIPT) {
            return None;
        }
        let user = request.become_user.as_ref().map(|b| b.user.clone());
        let mut restarted = false;
        loop {
            let shell = match self.take_idle(&user).await {
                Some(shell) => shell,
                None => match self.start(host, request.become_user.as_ref()).await? {
                    Ok(shell) => shell,
                    Err(e) => return Some(Err(e)),
                },
            };
            match self.run(shell, &user, &script, request).await {
                Ok(output) => return Some(Ok(output)),
                Err(RunError::NotStarted) if !restarted => {
                    tracing::warn!(
                        host = %host.describe(),
                        "the host's shell has ended (killed, out of memory or a reboot?); starting a new one"
                    );
                    restarted = true;
                }
                Err(RunError::NotStarted) => {
                    return Some(Err(TransportError::Unreachable(
                        "the host's shell ended again as soon as it started".into(),
                    )));
                }
                Err(RunError::Lost(why)) => {
                    return Some(Err(TransportError::Unreachable(format!(
                        "the host's shell ended while the command ran: {why}"
                    ))));
                }
                Err(RunError::Timeout(limit)) => return Some(Err(TransportError::Timeout(limit))),
                Err(RunError::Local(e)) => return Some(Err(TransportError::Io(e))),
            }
        }
    }

    /// Ends the shells that are not running a command (their loops end at the end of their
    /// input); the next command starts a new one.
    fn close_idle(&self) {
        let idle = std::mem::take(&mut self.lock_pool().idle);
        drop(idle);
    }

    fn lock_pool(&self) -> std::sync::MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts the shell of a command whose caller stopped waiting as recovering, unless it is
    /// settled or counted already.
    fn abandon(&self, user: &User, ticket: &AtomicU8) {
        let mut pool = self.lock_pool();
        if ticket
            .compare_exchange(RUNNING, ABANDONED, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            *pool.recovering.entry(user.clone()).or_default() += 1;
        }
    }

    /// An idle shell of `user`, waiting for one whose timed-out command is ending rather than
    /// logging in again; `None` when there is none to wait for.
    async fn take_idle(&self, user: &User) -> Option<Shell> {
        loop {
            let settled = self.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            {
                let mut pool = self.lock_pool();
                if let Some(shell) = pool.idle.get_mut(user).and_then(Vec::pop) {
                    return Some(shell);
                }
                if pool.recovering.get(user).is_none_or(|&n| n == 0) {
                    return None;
                }
            }
            settled.await;
        }
    }

    /// Runs `script` in `shell` on a task of its own, which puts the shell back among the idle
    /// ones once the command is over: a caller that stops waiting (a timeout) does not take the
    /// shell down with it.
    async fn run(
        self: &Arc<Self>,
        shell: Shell,
        user: &User,
        script: &str,
        request: &ExecRequest,
    ) -> Result<ExecOutput, RunError> {
        let (reply, replied) = oneshot::channel();
        let ticket = Arc::new(AtomicU8::new(RUNNING));
        let lease = Lease {
            shells: Arc::clone(self),
            user: user.clone(),
            ticket: Arc::clone(&ticket),
            shell: None,
        };
        let command = Command {
            script: script.to_string(),
            stdin: request.stdin.clone(),
            limit: request.timeout,
        };
        tokio::spawn(serve(shell, command, lease, reply));
        let waiting = Waiting {
            shells: self,
            user,
            ticket,
        };
        let outcome = replied
            .await
            .unwrap_or_else(|_| Err(lost("its task ended")));
        drop(waiting);
        outcome
    }

    /// Starts a shell for `become_user`: `None` when there cannot be one (the command then runs
    /// in a session of its own), an error when the host cannot be reached.
    async fn start(
        &self,
        host: &dyn Transport,
        become_user: Option<&Become>,
    ) -> Option<Result<Shell, TransportError>> {
        let user = become_user.map(|b| b.user.clone());
        if self
            .per_command
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&user)
        {
            return None;
        }
        let slot = Slot::take(&self.live)?;
        let (line, preamble) = as_user(become_user, LOOP);
        let pipes = match host.spawn(line).await {
            Ok(Some(pipes)) => pipes,
            Ok(None) => return None,
            Err(e) => return Some(Err(e)),
        };
        match Shell::start(pipes, preamble, slot).await {
            Ok(shell) => Some(Ok(shell)),
            Err(why) => {
                // sudo refusing is reported by the command's own session; anything else is odd.
                if become_user.is_none() {
                    tracing::warn!(
                        host = %host.describe(),
                        "cannot keep a shell on the host ({why}); running a session per command"
                    );
                } else {
                    tracing::debug!(host = %host.describe(), "no become shell: {why}");
                }
                self.per_command
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(user);
                None
            }
        }
    }
}

/// A place among a host's [`MAX_SHELLS`], given back when its shell is dropped.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(live: &Arc<AtomicUsize>) -> Option<Slot> {
        live.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
            (n < MAX_SHELLS).then_some(n + 1)
        })
        .ok()?;
        Some(Slot(live.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a command's caller gets.
type Reply = Result<ExecOutput, RunError>;

/// A command for a shell's task.
struct Command {
    script: String,
    stdin: Stdin,
    limit: Option<Duration>,
}

/// Where a command stands, for its caller and its shell's task (changed under the pool's lock).
const RUNNING: u8 = 0;
/// Its caller stopped waiting before the outcome: the shell is recovering.
const ABANDONED: u8 = 1;
/// Its shell is settled.
const SETTLED: u8 = 2;

/// What a shell's task does with one command: runs it and sends its outcome on `reply`. At the
/// command's limit the timeout is sent at once, and the command's end (the host kills it) is
/// still waited for, up to [`RECOVERY`], so that the shell can run the next one; so it is when
/// the caller stops waiting within [`RECOVERY`] of the limit. A shell whose caller leaves sooner,
/// or that is still busy then, is given up.
async fn serve(mut shell: Shell, command: Command, lease: Lease, reply: oneshot::Sender<Reply>) {
    let limit_at = command.limit.map(|limit| Instant::now() + limit);
    let mut reply = Some(reply);
    let (kept, outcome) = {
        let exchange = shell.run(&command.script, &command.stdin);
        tokio::pin!(exchange);
        let done = tokio::select! {
            biased;
            outcome = &mut exchange => Some(outcome),
            () = until(limit_at) => None,
            () = left(&mut reply) => None,
        };
        match done {
            Some(outcome) => (outcome.is_ok(), Some(outcome)),
            None => {
                lease.abandon();
                if let (Some(limit), Some(reply)) = (command.limit, reply.take()) {
                    let _ = reply.send(Err(RunError::Timeout(limit)));
                }
                let kept = match limit_at.filter(|at| *at <= Instant::now() + RECOVERY) {
                    Some(at) => matches!(
                        tokio::time::timeout_at(at + RECOVERY, exchange).await,
                        Ok(Ok(_))
                    ),
                    None => false,
                };
                (kept, None)
            }
        }
    };
    lease.settle(kept.then_some(shell));
    if let (Some(outcome), Some(reply)) = (outcome, reply) {
        let _ = reply.send(outcome);
    }
}

/// Waits until `at`, or forever.
async fn until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Waits until the caller stops waiting for `reply`.
async fn left(reply: &mut Option<oneshot::Sender<Reply>>) {
    match reply {
        Some(reply) => reply.closed().await,
        None => std::future::pending().await,
    }
}

/// A shell's task's hold on the shell's place: when it ends (settled, or the task gone), the
/// shell it was given back goes among the idle ones, and those waiting for it are woken.
struct Lease {
    shells: Arc<HostShells>,
    user: User,
    ticket: Arc<AtomicU8>,
    shell: Option<Shell>,
}

impl Lease {
    /// The caller has been told of the timeout: the shell is recovering.
    fn abandon(&self) {
        self.shells.abandon(&self.user, &self.ticket);
    }

    /// The command is over: `shell` can run the next one (`None`: it is given up).
    fn settle(mut self, shell: Option<Shell>) {
        self.shell = shell;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        {
            let mut pool = self.shells.lock_pool();
            if let Some(shell) = self.shell.take() {
                pool.idle.entry(self.user.clone()).or_default().push(shell);
            }
            if self.ticket.swap(SETTLED, Ordering::SeqCst) == ABANDONED
                && let Some(count) = pool.recovering.get_mut(&self.user)
            {
                *count -= 1;
            }
        }
        self.shells.settled.notify_waiters();
    }
}

/// A caller waiting for its command's outcome: if it stops waiting first (dropped, or told of
/// the timeout), the shell is recovering until its task settles it.
struct Waiting<'a> {
    shells: &'a HostShells,
    user: &'a User,
    ticket: Arc<AtomicU8>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.shells.abandon(self.user, &self.ticket);
    }
}

/// Why a request got no reply.
enum RunError {
    /// The shell had ended before it read the request: the command did not run.
    NotStarted,
    /// The shell ended, or spoke out of turn, while the command ran.
    Lost(String),
    /// The command ran longer than its timeout.
    Timeout(Duration),
    /// Reading the local file to send failed.
    Local(io::Error),
}

/// One running loop.
struct Shell {
    input: Box<dyn AsyncWrite + Send + Unpin>,
    output: BufReader<Box<dyn AsyncRead + Send + Unpin>>,
    /// What ends the stdout and the stderr of a reply.
    boundary: Vec<u8>,
    _keep: Box<dyn Send>,
    _slot: Slot,
}

impl Shell {
    /// Sends the sudo password (if any) and the boundary, and waits for the loop's ready line.
    async fn start(pipes: Pipes, preamble: Option<String>, slot: Slot) -> Result<Shell, String> {
        let mut random = [0; 16];
        getrandom::fill(&mut random).map_err(|e| format!("no random boundary: {e}"))?;
        let mut shell = Shell {
            input: pipes.input,
            output: BufReader::new(pipes.output),
            boundary: hex::encode(random).into_bytes(),
            _keep: pipes.keep,
            _slot: slot,
        };
        let mut head = zeroize::Zeroizing::new(preamble.unwrap_or_default().into_bytes());
        head.extend_from_slice(&shell.boundary);
        head.push(b'\n');
        shell
            .input
            .write_all(&head)
            .await
            .map_err(|e| format!("cannot write to it: {e}"))?;
        shell.input.flush().await.map_err(|e| e.to_string())?;
        tokio::time::timeout(START_TIMEOUT, shell.wait_ready())
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {START_TIMEOUT:?}")))?;
        Ok(shell)
    }

    /// Skips what the login printed, up to the loop's ready line.
    async fn wait_ready(&mut self) -> Result<(), String> {
        let mut banner = 0;
        loop {
            let mut line = Vec::new();
            let read = self
                .output
                .read_until(b'\n', &mut line)
                .await
                .map_err(|e| e.to_string())?;
            if read == 0 {
                return Err("it ended before it was ready".into());
            }
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end();
            if line == READY {
                return Ok(());
            }
            if let Some(why) = line.strip_prefix(UNSUPPORTED) {
                return Err(why.to_string());
            }
            banner += read;
            if banner > MAX_BANNER {
                return Err("the login printed too much before the shell started".into());
            }
        }
    }

    /// Sends `script` (the request's, with its environment and deadline) and `stdin`, and reads
    /// the reply.
    async fn run(&mut self, script: &str, stdin: &Stdin) -> Result<ExecOutput, RunError> {
        let stdin_len = match stdin {
            Stdin::Null => 0,
            Stdin::Bytes(bytes) => bytes.len() as u64,
            Stdin::File(path) => tokio::fs::metadata(path)
                .await
                .map_err(RunError::Local)?
                .len(),
        };
        self.exchange(script, stdin, stdin_len).await
    }

    async fn exchange(
        &mut self,
        script: &str,
        stdin: &Stdin,
        stdin_len: u64,
    ) -> Result<ExecOutput, RunError> {
        let Shell {
            input,
            output,
            boundary,
            ..
        } = self;
        // A shell that has ended shows it before anything is sent (its end of file, or stray
        // bytes): then the command is certainly not run, and may be run in a new shell.
        match output.fill_buf().now_or_never() {
            None => {}
            Some(Ok([]) | Err(_)) => return Err(RunError::NotStarted),
            Some(Ok(_)) => return Err(lost("it printed something between commands")),
        }
        // The request is sent while the reply is watched: a shell (or a connection) that ends
        // while a large input is still being sent must not leave the sending stuck. The reply
        // comes only once the whole input is read.
        let sending = send(input.as_mut(), script, stdin, stdin_len);
        tokio::pin!(sending);
        let sent = tokio::select! {
            sent = &mut sending => sent,
            filled = output.fill_buf() => match filled {
                Ok([]) | Err(_) => return Err(lost("the connection ended while the request was sent")),
                Ok(_) => sending.await,
            },
        };
        if let Err(e) = sent {
            return Err(match e {
                Sending::Local(e) => RunError::Local(e),
                Sending::Remote => lost("it stopped reading the request"),
            });
        }
        let stdout = read_to(output, boundary).await?;
        let stderr = read_to(output, boundary).await?;
        let mut status = String::new();
        output
            .read_line(&mut status)
            .await
            .map_err(|e| lost(&e.to_string()))?;
        let exit_code = match status.strip_suffix('\n').map(str::parse) {
            Some(Ok(code)) => code,
            _ => return Err(lost("an unexpected reply")),
        };
        Ok(ExecOutput {
            exit_code,
            stdout,
            stderr,
        })
    }
}

/// Reads up to `boundary`, which is consumed and not returned.
async fn read_to(
    output: &mut BufReader<Box<dyn AsyncRead + Send + Unpin>>,
    boundary: &[u8],
) -> Result<Vec<u8>, RunError> {
    let mut data = Vec::new();
    loop {
        let buffer = output.fill_buf().await.map_err(|e| lost(&e.to_string()))?;
        if buffer.is_empty() {
            return Err(lost("it ended"));
        }
        let (old, read) = (data.len(), buffer.len());
        data.extend_from_slice(buffer);
        // The boundary may have begun in the bytes read before.
        let from = old.saturating_sub(boundary.len() - 1);
        match memchr::memmem::find(&data[from..], boundary) {
            Some(at) => {
                let end = from + at;
                output.consume(end + boundary.len() - old);
                data.truncate(end);
                return Ok(data);
            }
            None => output.consume(read),
        }
    }
}

/// Writes a request to a shell: the input's length, the script and its end line, then exactly
/// `stdin_len` bytes of stdin. The head and input given as bytes go in one write.
async fn send(
    input: &mut (dyn AsyncWrite + Send + Unpin),
    script: &str,
    stdin: &Stdin,
    stdin_len: u64,
) -> Result<(), Sending> {
    let mut request = format!("{stdin_len}\n{script}");
    if !request.ends_with('\n') {
        request.push('\n');
    }
    request.push_str(END_OF_SCRIPT);
    request.push('\n');
    let mut request = request.into_bytes();
    match stdin {
        Stdin::Null => input.write_all(&request).await?,
        Stdin::Bytes(bytes) => {
            request.extend_from_slice(bytes);
            input.write_all(&request).await?;
        }
        Stdin::File(path) => {
            let file = tokio::fs::File::open(path).await.map_err(Sending::Local)?;
            input.write_all(&request).await?;
            let mut limited = file.take(stdin_len);
            let copied = copy_local(&mut limited, input).await?;
            if copied != stdin_len {
                return Err(Sending::Local(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{} shrank while it was sent", path.display()),
                )));
            }
        }
    }
    input.flush().await?;
    if stdin_len > 0 {
        tracing::debug!(bytes = stdin_len, "sent stdin");
    }
    Ok(())
}

/// Why sending a request stopped.
enum Sending {
    /// Reading the local file failed.
    Local(io::Error),
    /// The shell stopped taking data.
    Remote,
}

impl From<io::Error> for Sending {
    fn from(_: io::Error) -> Self {
        Sending::Remote
    }
}

/// Copies a local reader into the shell, telling a local read error from a remote write error.
async fn copy_local(
    from: &mut (impl AsyncRead + Unpin),
    to: &mut (impl AsyncWrite + Unpin + ?Sized),
) -> Result<u64, Sending> {
    let mut buffer = vec![0; 256 * 1024];
    let mut copied = 0;
    loop {
        let read = from.read(&mut buffer).await.map_err(Sending::Local)?;
        if read == 0 {
            return Ok(copied);
        }
        to.write_all(&buffer[..read]).await?;
        copied += read as u64;
    }
}

fn lost(why: &str) -> RunError {
    RunError::Lost(why.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::LocalTransport;

    fn resident() -> ResidentTransport {
        ResidentTransport::new(Arc::new(LocalTransport), Arc::default())
    }

    async fn run(host: &dyn Transport, script: &str, stdin: Stdin) -> ExecOutput {
        let mut request = ExecRequest::new(script);
        request.stdin = stdin;
        host.exec(request).await.expect("the command runs")
    }

    fn bytes(data: &[u8]) -> Stdin {
        Stdin::Bytes(Arc::new(data.to_vec()))
    }

    #[tokio::test]
    async fn commands_share_one_shell_and_keep_their_own_stdin() {
        let host = resident();
        let shell = run(&host, "echo $$", Stdin::Null).await.stdout_text();
        let taken = run(&host, "head -c 3", bytes(b"abcdef")).await;
        assert_eq!(taken.stdout_text(), "abc");
        let rest = run(&host, "cat", bytes(b"xyz")).await;
        assert_eq!(rest.stdout_text(), "xyz");
        assert_eq!(run(&host, "cat", Stdin::Null).await.stdout_text(), "");
        assert_eq!(
            run(&host, "echo $$", Stdin::Null).await.stdout_text(),
            shell
        );
    }

    #[tokio::test]
    async fn binary_output_status_stderr_and_environment_survive() {
        let host = resident();
        let mut request =
            ExecRequest::new("printf '\\000\\377\\n'; printf \"$GREETING\" >&2; exit 7");
        request.env.push(("GREETING".into(), "it's me".into()));
        let out = host.exec(request).await.unwrap();
        assert_eq!(out.stdout, b"\0\xff\n");
        assert_eq!(out.stderr_text(), "it's me");
        assert_eq!(out.exit_code, 7);
        let killed = run(&host, "sh -c 'kill -9 $$'", Stdin::Null).await;
        assert_eq!(killed.exit_code, 137);
        // More than a read's worth on both streams, every byte value, then the next command.
        let big = run(
            &host,
            "i=0; while [ $i -lt 3000 ]; do printf '\\000\\377abc'; printf '\\377\\000' >&2; i=$((i+1)); done",
            Stdin::Null,
        )
        .await;
        assert_eq!(big.stdout, b"\0\xffabc".repeat(3000));
        assert_eq!(big.stderr, b"\xff\0".repeat(3000));
        assert_eq!(
            run(&host, "echo next", Stdin::Null).await.stdout_text(),
            "next\n"
        );
    }

    #[tokio::test]
    async fn scripts_arrive_as_written() {
        let host = resident();
        let script =
            "x='  a\\b  '\n\nprintf '[%s]' \"$x\"\ncat <<'EOF'\n\tkept \\\nEOF\nprintf '%s' \"$#\"";
        let out = run(&host, script, Stdin::Null).await;
        assert_eq!(out.stdout_text(), "[  a\\b  ]\tkept \\\n0");
        let holding = format!("echo one\n{END_OF_SCRIPT}\necho two 2>/dev/null || true");
        let out = run(&host, &holding, Stdin::Null).await;
        assert!(
            out.stdout_text().starts_with("one\n"),
            "{}",
            out.stdout_text()
        );
        assert_eq!(
            run(&host, "echo after", Stdin::Null).await.stdout_text(),
            "after\n"
        );
    }

    #[tokio::test]
    async fn a_file_is_streamed_whole_and_the_next_command_is_unharmed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big");
        let data: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        std::fs::write(&file, &data).unwrap();
        let host = resident();
        let out = run(&host, "cksum", Stdin::File(file.clone())).await;
        let local = std::process::Command::new("cksum")
            .arg(&file)
            .output()
            .unwrap();
        let local = String::from_utf8(local.stdout).unwrap();
        let words = |text: &str| {
            text.split_whitespace()
                .take(2)
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(words(&out.stdout_text()), words(&local));
        // A command that reads none of its input does not leave it to the next one.
        let ignored = run(&host, "true", Stdin::File(file)).await;
        assert_eq!(ignored.exit_code, 0);
        assert_eq!(
            run(&host, "cat", bytes(b"mine")).await.stdout_text(),
            "mine"
        );
    }

    #[tokio::test]
    async fn a_timeout_kills_only_the_command_and_the_shell_runs_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("input");
        std::fs::write(&file, vec![b'x'; 1024 * 1024]).unwrap();
        let marker = dir.path().join("still-ran");
        let host = resident();
        let before = run(&host, "echo $$", Stdin::Null).await.stdout_text();
        // Its input is sent whole even though the command never reads it.
        let mut slow = ExecRequest::new(format!(
            "sleep 3; touch {}",
            crate::transport::quote(&marker.display().to_string())
        ));
        slow.stdin = Stdin::File(file);
        slow.timeout = Some(Duration::from_millis(200));
        let err = host.exec(slow).await.unwrap_err();
        assert!(matches!(err, TransportError::Timeout(_)), "{err}");
        let after = run(&host, "echo $$", Stdin::Null).await.stdout_text();
        assert_eq!(before, after);
        assert_eq!(
            run(&host, "cat", bytes(b"mine")).await.stdout_text(),
            "mine"
        );
        assert_eq!(host.shells.live.load(Ordering::SeqCst), 1);
        // The shell ran the next command once the killed one had ended.
        assert!(!marker.exists(), "the command was not killed");
    }

    #[tokio::test]
    async fn a_caller_that_stops_waiting_at_the_limit_leaves_the_shell_to_the_next_command() {
        let host = resident();
        let before = run(&host, "echo $$", Stdin::Null).await.stdout_text();
        let mut slow = ExecRequest::new("sleep 5");
        slow.timeout = Some(Duration::from_millis(300));
        let gave_up = tokio::time::timeout(Duration::from_millis(300), host.exec(slow)).await;
        assert!(gave_up.is_err());
        let after = run(&host, "echo $$", Stdin::Null).await.stdout_text();
        assert_eq!(before, after);
        assert_eq!(host.shells.live.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_shell_killed_between_commands_is_replaced() {
        let host = resident();
        let shell = run(&host, "echo $$", Stdin::Null).await.stdout_text();
        let status = std::process::Command::new("kill")
            .args(["-9", shell.trim()])
            .status()
            .unwrap();
        assert!(status.success());
        tokio::time::sleep(Duration::from_millis(100)).await;
        let out = run(&host, "echo $$", Stdin::Null).await;
        assert_eq!(out.exit_code, 0);
        assert_ne!(out.stdout_text(), shell);
    }

    #[tokio::test]
    async fn a_shell_killed_during_a_command_fails_it_as_unreachable() {
        let host = resident();
        let err = host
            .exec(ExecRequest::new("kill -9 $$; sleep 1"))
            .await
            .unwrap_err();
        assert!(err.is_unreachable(), "{err}");
        assert_eq!(
            run(&host, "echo ok", Stdin::Null).await.stdout_text(),
            "ok\n"
        );
    }

    #[tokio::test]
    async fn commands_at_once_get_shells_of_their_own() {
        let host = Arc::new(resident());
        let runs = (0..MAX_SHELLS + 2).map(|i| {
            let host = host.clone();
            tokio::spawn(async move {
                run(host.as_ref(), &format!("sleep 0.2; echo {i}"), Stdin::Null).await
            })
        });
        for (i, handle) in runs.enumerate() {
            assert_eq!(handle.await.unwrap().stdout_text(), format!("{i}\n"));
        }
        assert!(host.shells.live.load(Ordering::SeqCst) <= MAX_SHELLS);
    }

    /// A host where the loop cannot run.
    struct NoLoop;

    #[async_trait]
    impl Transport for NoLoop {
        async fn exec(&self, request: ExecRequest) -> Result<ExecOutput, TransportError> {
            LocalTransport.exec(request).await
        }

        async fn spawn(&self, _line: String) -> Result<Option<Pipes>, TransportError> {
            LocalTransport
                .spawn("echo login noise; echo 'deployer-shell: head -c reads ahead'".into())
                .await
        }

        fn describe(&self) -> String {
            "noloop".into()
        }
    }

    #[tokio::test]
    async fn a_host_without_the_loop_runs_a_session_per_command() {
        let host = ResidentTransport::new(Arc::new(NoLoop), Arc::default());
        for _ in 0..2 {
            let out = run(&host, "cat", bytes(b"still works")).await;
            assert_eq!(out.stdout_text(), "still works");
        }
        assert!(host.shells.per_command.lock().unwrap().contains(&None));
    }
}
