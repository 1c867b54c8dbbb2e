//! The `local` connection: commands run on the controller itself (Ansible's `connection: local`).

use crate::secrets::SECRET_ENV;
use std::process::Stdio;

use async_trait::async_trait;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::{ExecOutput, ExecRequest, Pipes, Stdin, Transport, TransportError, remote_command};

/// Runs commands as child processes of deployer.
#[derive(Debug, Default, Clone)]
pub struct LocalTransport;

#[async_trait]
impl Transport for LocalTransport {
    async fn exec(&self, request: ExecRequest) -> Result<ExecOutput, TransportError> {
        let (line, preamble) = remote_command(&request);
        let mut child = shell(&line)
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let mut stdin = child.stdin.take().expect("stdin was piped");
        let feed = async move {
            if let Some(preamble) = preamble {
                stdin.write_all(preamble.as_bytes()).await?;
            }
            match &request.stdin {
                Stdin::Null => {}
                Stdin::Bytes(bytes) => stdin.write_all(bytes).await?,
                Stdin::File(path) => {
                    let mut file = tokio::fs::File::open(path).await?;
                    tokio::io::copy(&mut file, &mut stdin).await?;
                }
            }
            stdin.shutdown().await
        };
        let run = async {
            let (fed, output) = tokio::join!(feed, child.wait_with_output());
            let output = output?;
            // A command that exits without reading its stdin breaks the pipe: not an error.
            if let Err(e) = fed
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                return Err(TransportError::Io(e));
            }
            Ok(output)
        };
        let output = match request.timeout {
            Some(limit) => tokio::time::timeout(limit, run)
                .await
                .map_err(|_| TransportError::Timeout(limit))??,
            None => run.await?,
        };
        Ok(ExecOutput {
            exit_code: exit_code(&output.status),
            stdout: output.stdout,
            stderr: output.stderr,
        })
    }

    /// The command ends when its stdin closes, as a shell loop does; it is not killed.
    async fn spawn(&self, line: String) -> Result<Option<Pipes>, TransportError> {
        let mut child = shell(&line).stderr(Stdio::null()).spawn()?;
        Ok(Some(Pipes {
            input: Box::new(child.stdin.take().expect("stdin was piped")),
            output: Box::new(child.stdout.take().expect("stdout was piped")),
            keep: Box::new(child),
        }))
    }

    fn describe(&self) -> String {
        "local".to_string()
    }
}

/// `/bin/sh -c line` with piped stdin and stdout, without deployer's secrets in its environment.
fn shell(line: &str) -> Command {
    let mut command = Command::new("/bin/sh");
    for name in SECRET_ENV {
        command.env_remove(name);
    }
    command
        .arg("-c")
        .arg(line)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    command
}

/// The exit code, or 128 + signal for a killed process, like a shell reports it.
fn exit_code(status: &std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn runs_a_script_with_stdin_and_env() {
        let mut request =
            ExecRequest::new("read line; echo \"$GREETING $line\"; echo err >&2; exit 3");
        request.stdin = Stdin::Bytes(Arc::new(b"world\n".to_vec()));
        request.env.push(("GREETING".into(), "hello".into()));
        let out = LocalTransport.exec(request).await.unwrap();
        assert_eq!(out.exit_code, 3);
        assert_eq!(out.stdout_text(), "hello world\n");
        assert_eq!(out.stderr_text(), "err\n");
    }

    #[tokio::test]
    async fn a_slow_command_times_out() {
        let mut request = ExecRequest::new("sleep 5");
        request.timeout = Some(std::time::Duration::from_millis(100));
        let err = LocalTransport.exec(request).await.unwrap_err();
        assert!(matches!(err, TransportError::Timeout(_)));
    }
}
