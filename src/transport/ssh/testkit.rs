//! Test helper: a throw-away OpenSSH server on loopback, with its own host key, config and log
//! in a temporary directory, killed when dropped. Tests skip (loudly) when `/usr/sbin/sshd` is
//! not installed. Nothing here listens on or connects to anything but 127.0.0.0/8.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::transport::{ConnectOptions, Connector, ExecOutput, ExecRequest, Transport};

const SSHD: &str = "/usr/sbin/sshd";

/// A running sshd.
pub(crate) struct Sshd {
    child: Child,
    /// The port it listens on (on every address it was given).
    pub port: u16,
    /// Its working directory (host key, config, log).
    pub dir: tempfile::TempDir,
    /// Its host public key, `type base64`.
    pub host_key: String,
}

/// A key pair made with ssh-keygen, kept for the whole test run.
pub(crate) struct KeyPair {
    /// The private key file.
    pub private: PathBuf,
    /// The public key, `type base64 comment`.
    pub public: String,
}

/// Creates a key pair in `dir` named `name` (`kind`: ed25519, rsa, ...; `passphrase` may be "").
pub(crate) fn keygen(dir: &Path, name: &str, kind: &str, passphrase: &str) -> KeyPair {
    let private = dir.join(name);
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-N", passphrase, "-C", name, "-f"])
        .arg(&private)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success(), "ssh-keygen failed");
    let public = std::fs::read_to_string(private.with_extension("pub")).unwrap();
    KeyPair {
        private,
        public: public.trim().to_string(),
    }
}

/// The client key every test sshd authorizes for root.
pub(crate) fn client_key() -> &'static KeyPair {
    static KEY: OnceLock<(tempfile::TempDir, KeyPair)> = OnceLock::new();
    &KEY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let key = keygen(dir.path(), "client", "ed25519", "");
        (dir, key)
    })
    .1
}

/// Whether sshd is installed; says loudly when it is not.
pub(crate) fn sshd_available() -> bool {
    let present = Path::new(SSHD).exists();
    if !present {
        eprintln!("SKIPPED: {SSHD} is not installed (apt-get install openssh-server)");
    }
    present
}

/// A loopback port nobody listens on right now.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Sshd {
    /// Starts sshd on 127.0.0.1 authorizing [`client_key`] (and `more_keys`) for root.
    pub(crate) fn start(more_keys: &[&str]) -> Option<Sshd> {
        Sshd::start_on(&["127.0.0.1"], more_keys)
    }

    /// Starts sshd on each of `addresses` (all loopback), one port for all.
    pub(crate) fn start_on(addresses: &[&str], more_keys: &[&str]) -> Option<Sshd> {
        Sshd::launch(addresses, more_keys, None)
    }

    /// Starts sshd on 127.0.0.1 presenting a host certificate for `127.0.0.1` signed by
    /// `authority` (a private key file).
    pub(crate) fn start_certified(authority: &Path) -> Option<Sshd> {
        Sshd::launch(&["127.0.0.1"], &[], Some(authority))
    }

    fn launch(addresses: &[&str], more_keys: &[&str], authority: Option<&Path>) -> Option<Sshd> {
        if !sshd_available() {
            return None;
        }
        assert!(
            addresses.iter().all(|a| a.starts_with("127.")),
            "tests stay on loopback"
        );
        std::fs::create_dir_all("/run/sshd").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let host = keygen(dir.path(), "host_key", "ed25519", "");
        let mut authorized = vec![client_key().public.as_str()];
        authorized.extend_from_slice(more_keys);
        std::fs::write(
            dir.path().join("authorized_keys"),
            authorized.join("\n") + "\n",
        )
        .unwrap();
        let mut extra = String::new();
        if let Some(authority) = authority {
            let status = Command::new("ssh-keygen")
                .args(["-q", "-s"])
                .arg(authority)
                .args(["-h", "-I", "test-host", "-n", "127.0.0.1"])
                .arg(dir.path().join("host_key.pub"))
                .status()
                .expect("ssh-keygen runs");
            assert!(status.success(), "signing the host key failed");
            extra = format!(
                "HostCertificate {}/host_key-cert.pub\n",
                dir.path().display()
            );
        }
        let port = free_port();
        let config = dir.path().join("sshd_config");
        let text = sshd_config(dir.path(), addresses, port) + &extra;
        std::fs::write(&config, text).unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("sshd starts");
        let host_key = host.public.rsplit_once(' ').unwrap().0.to_string();
        let sshd = Sshd {
            child,
            port,
            dir,
            host_key,
        };
        sshd.wait_until_listening(addresses.len());
        Some(sshd)
    }

    /// Everything sshd logged so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// How many TCP connections reached `address`.
    pub(crate) fn connections_to(&self, address: &str) -> usize {
        let needle = format!(" on {address} port {}", self.port);
        self.log()
            .lines()
            .filter(|l| l.starts_with("Connection from") && l.contains(&needle))
            .count()
    }

    /// A known_hosts line for this server under `name` (`[name]:port key`).
    pub(crate) fn known_hosts_line(&self, name: &str) -> String {
        format!("[{name}]:{} {}\n", self.port, self.host_key)
    }

    fn wait_until_listening(&self, addresses: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.log().matches("Server listening on").count() >= addresses {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("sshd did not start:\n{}", self.log());
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sshd_config(dir: &Path, addresses: &[&str], port: u16) -> String {
    let listen: String = addresses
        .iter()
        .map(|a| format!("ListenAddress {a}:{port}\n"))
        .collect();
    format!(
        "{listen}HostKey {dir}/host_key\n\
         AuthorizedKeysFile {dir}/authorized_keys\n\
         PidFile none\n\
         PermitRootLogin prohibit-password\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         StrictModes no\n\
         AllowTcpForwarding yes\n\
         MaxSessions 10\n\
         MaxStartups 200:30:300\n\
         LogLevel VERBOSE\n",
        dir = dir.display()
    )
}

/// A scratch directory standing in for `~/.ssh` (no config, no keys), and a known_hosts file.
pub(crate) struct Scratch {
    /// The directory; `ssh/` inside it stands for `~/.ssh` and does not exist.
    pub dir: tempfile::TempDir,
}

impl Scratch {
    /// A fresh scratch directory.
    pub(crate) fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The known_hosts file the variables name.
    pub(crate) fn known_hosts(&self) -> PathBuf {
        self.dir.path().join("known_hosts")
    }

    /// Appends `line` to the known_hosts file.
    pub(crate) fn trust(&self, line: &str) {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.known_hosts())
            .unwrap();
        file.write_all(line.as_bytes()).unwrap();
    }

    /// Options with no ambient credentials or ssh config and a 5 s connect timeout.
    pub(crate) fn options(&self) -> ConnectOptions {
        ConnectOptions {
            connect_timeout: Duration::from_secs(5),
            ssh_dir: Some(self.dir.path().join("ssh")),
            credentials: super::Credentials::default(),
            ..ConnectOptions::default()
        }
    }

    /// A connector with [`Scratch::options`].
    pub(crate) fn connector(&self) -> Connector {
        Connector::new(self.options())
    }

    /// Variables for root on `address:port` with the test key and this known_hosts file.
    pub(crate) fn vars(&self, address: &str, port: u16) -> Map<String, Value> {
        let vars = json!({
            "ansible_host": address,
            "ansible_port": port,
            "ansible_user": "root",
            "ansible_ssh_private_key_file": client_key().private,
            "deployer_known_hosts": self.known_hosts(),
        });
        vars.as_object().unwrap().clone()
    }
}

/// An sshd on 127.0.0.1 that the scratch known_hosts trusts.
pub(crate) fn trusted_sshd(scratch: &Scratch) -> Option<Sshd> {
    let sshd = Sshd::start(&[])?;
    scratch.trust(&sshd.known_hosts_line("127.0.0.1"));
    Some(sshd)
}

/// Runs `script` and returns its output, failing the test on a transport error.
pub(crate) async fn run(transport: &dyn Transport, script: &str) -> ExecOutput {
    transport.exec(ExecRequest::new(script)).await.unwrap()
}
