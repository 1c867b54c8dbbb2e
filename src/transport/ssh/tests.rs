//! The SSH transport against a real OpenSSH server on loopback (see `testkit.rs`): commands,
//! stdin streaming, the channel budget, bastions, timeouts, failures and key sources. Host key
//! checks are in `host_key_tests.rs`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sha2::{Digest, Sha256};

use super::testkit::{Scratch, Sshd, free_port, run, trusted_sshd};
use crate::transport::{Connector, ExecRequest, Stdin, TransportError};

#[tokio::test]
async fn runs_commands_with_output_exit_codes_env_and_stdin() {
    let scratch = Scratch::new();
    let Some(sshd) = trusted_sshd(&scratch) else {
        return;
    };
    let connector = scratch.connector();
    let host = connector
        .connect("h", &scratch.vars("127.0.0.1", sshd.port))
        .await
        .unwrap();
    assert_eq!(host.describe(), format!("root@127.0.0.1:{}", sshd.port));

    let mut request = ExecRequest::new("read line; echo \"$GREETING $line\"; echo err >&2; exit 3");
    request.stdin = Stdin::Bytes(Arc::new(b"world\n".to_vec()));
    request.env.push(("GREETING".into(), "hello it's".into()));
    let out = host.exec(request).await.unwrap();
    assert_eq!(
        (out.exit_code, out.stdout_text(), out.stderr_text()),
        (3, "hello it's world\n".into(), "err\n".into())
    );

    // A command killed by a signal exits 128 + its number. (`$$` itself would be the host's
    // long-lived shell, as in any subshell: killing it ends that shell.)
    assert_eq!(run(&*host, "sh -c 'kill -TERM $$'").await.exit_code, 143);
    assert_eq!(
        run(&*host, "head -c 3000000 /dev/zero").await.stdout.len(),
        3_000_000
    );
    // A command that exits without reading its (large) stdin is not an error.
    let mut ignoring = ExecRequest::new("exit 0");
    ignoring.stdin = Stdin::Bytes(Arc::new(vec![b'x'; 8 << 20]));
    assert_eq!(host.exec(ignoring).await.unwrap().exit_code, 0);
    connector.shutdown().await;
}

#[tokio::test]
async fn streams_a_large_file_to_stdin() {
    let scratch = Scratch::new();
    let Some(sshd) = trusted_sshd(&scratch) else {
        return;
    };
    let size: usize = if cfg!(debug_assertions) {
        32 << 20
    } else {
        100 << 20
    };
    let path = scratch.dir.path().join("payload");
    let mut hasher = Sha256::new();
    {
        use std::io::Write;
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let block: Vec<u8> = (0..1_048_576u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for index in 0..size / block.len() {
            let mut chunk = block.clone();
            chunk[0] = index as u8;
            hasher.update(&chunk);
            file.write_all(&chunk).unwrap();
        }
    }
    let expected = hex::encode(hasher.finalize());
    let host = scratch
        .connector()
        .connect("h", &scratch.vars("127.0.0.1", sshd.port))
        .await
        .unwrap();
    let mut request = ExecRequest::new("sha256sum | cut -d' ' -f1");
    request.stdin = Stdin::File(path);
    let started = Instant::now();
    let out = host.exec(request).await.unwrap();
    eprintln!("streamed {} MiB in {:?}", size >> 20, started.elapsed());
    assert_eq!(out.stdout_text().trim(), expected);

    let mut missing = ExecRequest::new("cat >/dev/null");
    missing.stdin = Stdin::File(scratch.dir.path().join("no-such-file"));
    assert!(matches!(
        host.exec(missing).await,
        Err(TransportError::Io(_))
    ));
    assert_eq!(
        run(&*host, "echo still fine").await.stdout_text(),
        "still fine\n"
    );
}

#[tokio::test]
async fn thirty_concurrent_commands_share_one_connection() {
    let scratch = Scratch::new();
    let Some(sshd) = trusted_sshd(&scratch) else {
        return;
    };
    let host = scratch
        .connector()
        .connect("h", &scratch.vars("127.0.0.1", sshd.port))
        .await
        .unwrap();
    let runs = (0..30).map(|i| {
        let host = host.clone();
        tokio::spawn(async move {
            host.exec(ExecRequest::new(format!("sleep 0.2; echo {i}")))
                .await
        })
    });
    let runs: Vec<_> = runs.collect();
    for (i, handle) in runs.into_iter().enumerate() {
        let out = handle.await.unwrap().unwrap();
        assert_eq!((out.exit_code, out.stdout_text()), (0, format!("{i}\n")));
    }
    assert_eq!(sshd.connections_to("127.0.0.1"), 1, "{}", sshd.log());
}

#[tokio::test]
async fn five_hosts_behind_one_bastion_open_it_once() {
    let scratch = Scratch::new();
    let addresses = [
        "127.0.0.1",
        "127.0.0.2",
        "127.0.0.3",
        "127.0.0.4",
        "127.0.0.5",
        "127.0.0.6",
    ];
    let Some(sshd) = Sshd::start_on(&addresses, &[]) else {
        return;
    };
    scratch.trust(&sshd.known_hosts_line("127.0.0.1"));
    scratch.trust(&format!("[127.0.0.?]:{} {}\n", sshd.port, sshd.host_key));
    let connector = Arc::new(scratch.connector());
    let bastion = json!({"host": "127.0.0.1", "port": sshd.port, "user": "root"});
    let connects = addresses[1..].iter().enumerate().map(|(i, address)| {
        let mut vars = scratch.vars(address, sshd.port);
        vars.insert("bastion".into(), bastion.clone());
        let connector = connector.clone();
        tokio::spawn(async move { connector.connect(&format!("app{i}"), &vars).await })
    });
    let connects: Vec<_> = connects.collect();
    let mut hosts = Vec::new();
    for connect in connects {
        hosts.push(connect.await.unwrap().unwrap());
    }
    for (host, address) in hosts.iter().zip(&addresses[1..]) {
        assert!(
            host.describe()
                .contains(&format!("via root@127.0.0.1:{}", sshd.port))
        );
        let out = run(&**host, "echo $SSH_CONNECTION").await;
        assert!(
            out.stdout_text()
                .contains(&format!("{address} {}", sshd.port)),
            "{}",
            out.stdout_text()
        );
    }
    assert_eq!(sshd.connections_to("127.0.0.1"), 1, "{}", sshd.log());
    for address in &addresses[1..] {
        assert_eq!(sshd.connections_to(address), 1, "{address}");
    }
}

#[tokio::test]
async fn multi_hop_proxy_jump() {
    let scratch = Scratch::new();
    let addresses = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];
    let Some(sshd) = Sshd::start_on(&addresses, &[]) else {
        return;
    };
    scratch.trust(&format!("[127.0.0.*]:{} {}\n", sshd.port, sshd.host_key));
    let mut vars = scratch.vars("127.0.0.3", sshd.port);
    let jumps = format!(
        "-o ProxyJump=root@127.0.0.1:{p},root@127.0.0.2:{p}",
        p = sshd.port
    );
    vars.insert("ansible_ssh_common_args".into(), jumps.into());
    let host = scratch.connector().connect("deep", &vars).await.unwrap();
    let out = run(&*host, "echo $SSH_CONNECTION").await;
    // The last hop reaches the host from the second bastion's sshd.
    assert!(
        out.stdout_text()
            .contains(&format!("127.0.0.3 {}", sshd.port)),
        "{}",
        out.stdout_text()
    );
    for address in addresses {
        assert_eq!(sshd.connections_to(address), 1, "{address}");
    }
}

#[tokio::test]
async fn an_unreachable_host_fails_fast() {
    let scratch = Scratch::new();
    let started = Instant::now();
    let error = scratch
        .connector()
        .connect("h", &scratch.vars("127.0.0.1", free_port()))
        .await
        .err()
        .unwrap();
    assert!(matches!(error, TransportError::Unreachable(_)), "{error}");
    assert!(started.elapsed() < Duration::from_secs(2));

    // Behind a bastion: the bastion cannot connect to the host's port.
    let Some(sshd) = trusted_sshd(&scratch) else {
        return;
    };
    let mut vars = scratch.vars("127.0.0.1", free_port());
    vars.insert(
        "bastion".into(),
        json!(format!("root@127.0.0.1:{}", sshd.port)),
    );
    let error = scratch.connector().connect("h", &vars).await.err().unwrap();
    assert!(
        matches!(error, TransportError::Unreachable(ref m) if m.contains("bastion")),
        "{error}"
    );
}

#[tokio::test]
async fn a_timeout_kills_the_command_and_frees_its_channel() {
    let scratch = Scratch::new();
    let Some(sshd) = trusted_sshd(&scratch) else {
        return;
    };
    let host = scratch
        .connector()
        .connect("h", &scratch.vars("127.0.0.1", sshd.port))
        .await
        .unwrap();
    let marker = scratch.dir.path().join("survived");
    let started = Instant::now();
    for _ in 0..12 {
        // The background job would create the marker after 3 s unless its group is killed.
        let script = format!("(sleep 3; touch {}) & sleep 37", marker.display());
        let mut request = ExecRequest::new(script);
        request.timeout = Some(Duration::from_millis(300));
        let error = host.exec(request).await.unwrap_err();
        assert!(matches!(error, TransportError::Timeout(_)), "{error}");
    }
    // Twelve timed-out commands (more than the 9 slots) did not use the connection up. Each
    // ends on the host a second or two after its limit, when its shell is free again.
    assert_eq!(run(&*host, "echo alive").await.stdout_text(), "alive\n");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}\n{}",
        started.elapsed(),
        sshd.log()
    );
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert!(!marker.exists(), "the command's process group was killed");
    assert_eq!(
        run(&*host, "pgrep -c -f '[s]leep 37' || true")
            .await
            .stdout_text(),
        "0\n"
    );
}

#[tokio::test]
async fn reconnects_after_shutdown_and_refuses_bad_keys() {
    let scratch = Scratch::new();
    let Some(sshd) = trusted_sshd(&scratch) else {
        return;
    };
    let connector = scratch.connector();
    let host = connector
        .connect("h", &scratch.vars("127.0.0.1", sshd.port))
        .await
        .unwrap();
    connector.shutdown().await;
    assert_eq!(run(&*host, "echo back").await.stdout_text(), "back\n");
    assert_eq!(sshd.connections_to("127.0.0.1"), 2);

    let stranger = super::testkit::keygen(scratch.dir.path(), "stranger", "ed25519", "");
    let mut vars = scratch.vars("127.0.0.1", sshd.port);
    vars.insert(
        "ansible_ssh_private_key_file".into(),
        json!(stranger.private),
    );
    let error = scratch.connector().connect("h", &vars).await.err().unwrap();
    assert!(
        matches!(error, TransportError::Auth(ref m) if m.contains("stranger")),
        "{error}"
    );
    vars.insert("ansible_ssh_private_key_file".into(), json!("/no/such/key"));
    let error = scratch.connector().connect("h", &vars).await.err().unwrap();
    assert!(
        matches!(error, TransportError::Config(ref m) if m.contains("/no/such/key")),
        "{error}"
    );
}

#[tokio::test]
async fn key_sources_rsa_encrypted_inline_and_agent() {
    let scratch = Scratch::new();
    let keys = scratch.dir.path();
    let rsa = super::testkit::keygen(keys, "rsa", "rsa", "");
    let locked = super::testkit::keygen(keys, "locked", "ed25519", "sesame");
    let inline = super::testkit::keygen(keys, "inline", "ecdsa", "");
    let agent = super::testkit::keygen(keys, "agent", "ed25519", "");
    let authorized = [&rsa, &locked, &inline, &agent].map(|k| k.public.as_str());
    let Some(sshd) = Sshd::start(&authorized) else {
        return;
    };
    scratch.trust(&sshd.known_hosts_line("127.0.0.1"));
    let with_key = |key: &Path| {
        let mut vars = scratch.vars("127.0.0.1", sshd.port);
        vars.insert("ansible_ssh_private_key_file".into(), json!(key));
        vars
    };
    scratch
        .connector()
        .connect("h", &with_key(&rsa.private))
        .await
        .unwrap();

    let error = scratch
        .connector()
        .connect("h", &with_key(&locked.private))
        .await
        .err()
        .unwrap();
    assert!(
        error.to_string().contains("DEPLOYER_SSH_KEY_PASSPHRASE"),
        "{error}"
    );
    let mut options = scratch.options();
    options.credentials = options.credentials.with_passphrase("sesame");
    Connector::new(options)
        .connect("h", &with_key(&locked.private))
        .await
        .unwrap();

    let mut without_file = scratch.vars("127.0.0.1", sshd.port);
    without_file.remove("ansible_ssh_private_key_file");
    let mut options = scratch.options();
    let text = std::fs::read_to_string(&inline.private).unwrap();
    options.credentials = options.credentials.with_private_key(text);
    Connector::new(options)
        .connect("h", &without_file)
        .await
        .unwrap();

    let Some(socket) = start_agent(keys, &agent.private) else {
        return;
    };
    let mut options = scratch.options();
    options.credentials = options.credentials.with_agent(Some(socket.path.clone()));
    Connector::new(options)
        .connect("h", &without_file)
        .await
        .unwrap();
}

/// An ssh-agent holding one key, killed on drop.
struct Agent {
    child: std::process::Child,
    path: PathBuf,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_agent(dir: &Path, key: &Path) -> Option<Agent> {
    let path = dir.join("agent.sock");
    let child = std::process::Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let agent = Agent { child, path };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !agent.path.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let added = std::process::Command::new("ssh-add")
        .arg("-q")
        .arg(key)
        .env("SSH_AUTH_SOCK", &agent.path)
        .status()
        .ok()?;
    assert!(added.success(), "ssh-add failed");
    Some(agent)
}
