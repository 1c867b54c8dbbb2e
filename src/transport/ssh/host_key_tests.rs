//! Host key verification against a real OpenSSH server on loopback: changed, unknown,
//! accepted-new and ignored keys, and host certificates signed by a trusted authority.

use super::testkit::{Scratch, Sshd, keygen, run};
use crate::transport::{Connector, TransportError};

#[tokio::test]
async fn a_changed_host_key_is_refused_naming_the_file_and_line() {
    let scratch = Scratch::new();
    let Some(sshd) = Sshd::start(&[]) else { return };
    let other = keygen(scratch.dir.path(), "impostor", "ed25519", "");
    let impostor_key = other.public.rsplit_once(' ').unwrap().0;
    scratch.trust(&format!(
        "# recorded earlier\n[127.0.0.1]:{} {impostor_key}\n",
        sshd.port
    ));
    let mut options = scratch.options();
    options.accept_new_host_keys = true;
    let error = Connector::new(options)
        .connect("h", &scratch.vars("127.0.0.1", sshd.port))
        .await
        .err()
        .expect("a changed key is refused, even with accept-new");
    let message = error.to_string();
    assert!(matches!(error, TransportError::HostKey(_)), "{message}");
    assert!(
        message.contains("CHANGED") && message.contains(&format!("[127.0.0.1]:{}", sshd.port)),
        "{message}"
    );
    assert!(
        message.contains(&format!("{} line 2", scratch.known_hosts().display())),
        "{message}"
    );
}

#[tokio::test]
async fn unknown_keys_are_refused_unless_accept_new_records_them() {
    let scratch = Scratch::new();
    let Some(sshd) = Sshd::start(&[]) else { return };
    let vars = scratch.vars("127.0.0.1", sshd.port);
    let refused = scratch.connector().connect("h", &vars).await.err().unwrap();
    assert!(
        matches!(refused, TransportError::HostKey(ref m) if m.contains("unknown host key")),
        "{refused}"
    );

    let mut options = scratch.options();
    options.accept_new_host_keys = true;
    Connector::new(options).connect("h", &vars).await.unwrap();
    let recorded = std::fs::read_to_string(scratch.known_hosts()).unwrap();
    assert_eq!(recorded, sshd.known_hosts_line("127.0.0.1"));
    // Now known: a strict connector accepts it.
    scratch.connector().connect("h", &vars).await.unwrap();
}

#[tokio::test]
async fn ignoring_host_keys_is_an_explicit_opt_out() {
    let scratch = Scratch::new();
    let Some(sshd) = Sshd::start(&[]) else { return };
    let mut options = scratch.options();
    options.insecure_ignore_host_keys = true;
    let host = Connector::new(options)
        .connect("h", &scratch.vars("127.0.0.1", sshd.port))
        .await
        .unwrap();
    assert_eq!(run(&*host, "echo ok").await.stdout_text(), "ok\n");
    assert!(!scratch.known_hosts().exists(), "nothing is recorded");
}

#[tokio::test]
async fn host_certificates_from_a_trusted_authority_are_accepted() {
    let scratch = Scratch::new();
    let authority = keygen(scratch.dir.path(), "host_ca", "ed25519", "");
    let Some(sshd) = Sshd::start_certified(&authority.private) else {
        return;
    };
    let vars = scratch.vars("127.0.0.1", sshd.port);
    // No line for the host itself, only for the authority.
    let authority_key = authority.public.rsplit_once(' ').unwrap().0;
    scratch.trust(&format!("@cert-authority [127.0.0.*]:* {authority_key}\n"));
    let host = scratch.connector().connect("h", &vars).await.unwrap();
    assert_eq!(
        run(&*host, "echo certified").await.stdout_text(),
        "certified\n"
    );

    // Another authority's certificate is refused, even with accept-new.
    let other = keygen(scratch.dir.path(), "other_ca", "ed25519", "");
    std::fs::write(
        scratch.known_hosts(),
        format!("@cert-authority * {}\n", other.public),
    )
    .unwrap();
    let mut options = scratch.options();
    options.accept_new_host_keys = true;
    let error = Connector::new(options)
        .connect("h", &vars)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(error, TransportError::HostKey(ref m) if m.contains("certificate")),
        "{error}"
    );
}
