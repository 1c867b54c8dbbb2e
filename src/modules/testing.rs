//! Test support: run a module against the local transport, or against [`FakeHost`], a transport
//! that answers with canned outputs and records every script it was given.

use std::path::PathBuf;
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use super::{Module, ModuleContext, ModuleResult};
use crate::template::Templater;
use crate::transport::{ExecOutput, ExecRequest, LocalTransport, Transport, TransportError};

/// Turns a JSON object literal into module arguments, normalised by the module's spec.
pub fn args(value: Value) -> Map<String, Value> {
    value.as_object().expect("arguments are an object").clone()
}

/// Runs `module` on the controller with `answer = 42` defined, outside check mode.
pub async fn run_local(module: &dyn Module, args: Map<String, Value>) -> ModuleResult {
    run_on(module, args, &LocalTransport, false).await
}

/// Runs `module` through `transport`, in check mode when `check_mode`.
pub async fn run_on(
    module: &dyn Module,
    args: Map<String, Value>,
    transport: &dyn Transport,
    check_mode: bool,
) -> ModuleResult {
    let args = module.spec().normalise(&args).expect("valid arguments");
    let vars = json!({"answer": 42});
    let templater = Templater::new();
    let ctx = ModuleContext {
        transport,
        check_mode,
        ..local_context(&vars, &templater)
    };
    module.run(&args, &ctx).await.expect("module runs")
}

/// A context for the controller itself, outside check mode and without diffs.
pub fn local_context<'a>(vars: &'a Value, templater: &'a Templater) -> ModuleContext<'a> {
    ModuleContext {
        host: "localhost",
        transport: &LocalTransport,
        become_user: None,
        env: Vec::new(),
        check_mode: false,
        diff: false,
        vars,
        templater,
        search_paths: &[],
    }
}

/// A host that runs nothing: each script gets the reply of the first rule whose needle it
/// contains (exit 0 and no output when none does). Every script must parse with `sh -n`.
#[derive(Default)]
pub struct FakeHost {
    replies: Vec<(String, ExecOutput)>,
    scripts: Mutex<Vec<String>>,
}

impl FakeHost {
    /// A host with no canned replies yet.
    pub fn new() -> Self {
        FakeHost::default()
    }

    /// Scripts containing `needle` print `stdout` and exit with `code`.
    pub fn reply(mut self, needle: &str, stdout: &str, code: i32) -> Self {
        let output = ExecOutput {
            exit_code: code,
            stdout: stdout.as_bytes().to_vec(),
            stderr: if code == 0 {
                Vec::new()
            } else {
                b"boom\n".to_vec()
            },
        };
        self.replies.push((needle.to_string(), output));
        self
    }

    /// Every script run so far, in order.
    pub fn scripts(&self) -> Vec<String> {
        self.scripts.lock().expect("scripts lock").clone()
    }

    /// The scripts run after the first one (the probe): what the module changed.
    pub fn changes(&self) -> Vec<String> {
        self.scripts().into_iter().skip(1).collect()
    }
}

#[async_trait]
impl Transport for FakeHost {
    async fn exec(&self, request: ExecRequest) -> Result<ExecOutput, TransportError> {
        let syntax = std::process::Command::new("/bin/sh")
            .args(["-n", "-c", &request.script])
            .output()?;
        assert!(
            syntax.status.success(),
            "script does not parse: {}\n{}",
            String::from_utf8_lossy(&syntax.stderr),
            request.script
        );
        let reply = self
            .replies
            .iter()
            .find(|(needle, _)| request.script.contains(needle.as_str()))
            .map(|(_, output)| output.clone())
            .unwrap_or_default();
        self.scripts
            .lock()
            .expect("scripts lock")
            .push(request.script);
        Ok(reply)
    }

    fn describe(&self) -> String {
        "fake".to_string()
    }
}

/// An HTTP server on 127.0.0.1 for tests: answers each path with a fixed raw response (404
/// otherwise), one request per connection, and records every request it read.
pub struct TestServer {
    /// The port it listens on.
    pub port: u16,
    requests: std::sync::Arc<Mutex<Vec<String>>>,
}

impl TestServer {
    /// Starts serving `routes` (path → raw HTTP response) in the background.
    pub async fn start(routes: Vec<(&'static str, String)>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("local address").port();
        let requests = std::sync::Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let request = answer(socket, &routes).await;
                seen.lock().expect("requests lock").push(request);
            }
        });
        TestServer { port, requests }
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request read so far (head and body), in order.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("requests lock").clone()
    }
}

/// A raw HTTP/1.1 response that closes the connection.
pub fn http_response(status: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut text = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    format!("{text}\r\n{body}")
}

/// Reads one request from `socket`, writes the matching response, and returns the request.
async fn answer(mut socket: tokio::net::TcpStream, routes: &[(&'static str, String)]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut data = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&data).into_owned(),
            Ok(n) => data.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    while data.len() < head_end + length {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => data.extend_from_slice(&chunk[..n]),
        }
    }
    let path = head.split(' ').nth(1).unwrap_or("/");
    let response = routes.iter().find(|(p, _)| *p == path).map_or_else(
        || http_response("404 Not Found", &[], "nope"),
        |(_, r)| r.clone(),
    );
    let _ = socket.write_all(response.as_bytes()).await;
    let _ = socket.shutdown().await;
    String::from_utf8_lossy(&data).into_owned()
}

/// The controller as a host whose system tools are stubs: real `sh` runs each script, but the
/// programs named with [`StubHost::stub`] come first on `PATH`, log their arguments, and print
/// canned output. Proves that scripts work in a shell and that values arrive as single words.
pub struct StubHost {
    dir: tempfile::TempDir,
}

impl StubHost {
    /// A host with no stubs yet.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("bin")).expect("bin dir");
        StubHost { dir }
    }

    /// `program` logs each call as `program [arg] [arg]...`; when its first argument is `first`
    /// (or for any call, when `first` is empty) it prints `stdout` and exits with `code`.
    pub fn stub(self, program: &str, first: &str, stdout: &str, code: i32) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let base = self.dir.path();
        let answer = if first.is_empty() {
            program.to_string()
        } else {
            format!("{program}.{first}")
        };
        std::fs::write(base.join(format!("{answer}.out")), stdout).expect("write output");
        std::fs::write(base.join(format!("{answer}.rc")), code.to_string()).expect("write code");
        let script = format!(
            "#!/bin/sh\nd='{}'\n\
             {{ printf '%s' {program}; for a in \"$@\"; do printf ' [%s]' \"$a\"; done; echo; }} >>\"$d/calls\"\n\
             for f in \"$d/{program}.$1\" \"$d/{program}\"; do\n\
             if [ -f \"$f.out\" ]; then cat \"$f.out\"; exit \"$(cat \"$f.rc\")\"; fi\ndone\n",
            base.display()
        );
        let path = base.join("bin").join(program);
        std::fs::write(&path, script).expect("write stub");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("chmod stub");
        self
    }

    /// Every stub call so far, one per line.
    pub fn calls(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("calls")).unwrap_or_default()
    }

    /// A path inside the host's scratch directory (for marker files).
    pub fn scratch(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }
}

#[async_trait]
impl Transport for StubHost {
    async fn exec(&self, mut request: ExecRequest) -> Result<ExecOutput, TransportError> {
        let path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        request.env.push(("PATH".into(), path));
        LocalTransport.exec(request).await
    }

    fn describe(&self) -> String {
        "stubbed local".to_string()
    }
}

/// How to run a module on the controller: check mode, diffs, where `src` files are found.
#[derive(Debug, Default, Clone)]
pub struct LocalRun {
    /// Decide only.
    pub check_mode: bool,
    /// Collect diffs.
    pub diff: bool,
    /// Where relative `src` files are looked up.
    pub search_paths: Vec<PathBuf>,
}

impl LocalRun {
    /// A run in check mode.
    pub fn check() -> Self {
        LocalRun {
            check_mode: true,
            ..LocalRun::default()
        }
    }

    /// The same run, collecting diffs.
    pub fn with_diff(mut self) -> Self {
        self.diff = true;
        self
    }

    /// The same run, looking up relative `src` files in `dir`.
    pub fn searching(mut self, dir: impl Into<PathBuf>) -> Self {
        self.search_paths.push(dir.into());
        self
    }

    /// Runs `module` with `answer = 42` defined; panics when the module errors out.
    pub async fn run(&self, module: &dyn Module, args: Map<String, Value>) -> ModuleResult {
        let args = module.spec().normalise(&args).expect("valid arguments");
        let vars = json!({"answer": 42});
        let templater = Templater::new();
        let ctx = ModuleContext {
            check_mode: self.check_mode,
            diff: self.diff,
            search_paths: &self.search_paths,
            ..local_context(&vars, &templater)
        };
        module.run(&args, &ctx).await.expect("module runs")
    }
}
