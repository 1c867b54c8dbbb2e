//! Verifying a server's host key against known_hosts files, the way OpenSSH does: plain and
//! hashed (`|1|salt|hash`) names, `[host]:port` for other ports than 22, `*`/`?` wildcards and
//! `!negation`, `@cert-authority` lines for host certificates and `@revoked` lines; several files.
//!
//! Lines are parsed with `russh::keys::ssh_key::known_hosts`; matching, the verdict and recording
//! new keys (OpenSSH's `accept-new`) are ours. Unparseable lines are skipped, as OpenSSH does.
//! This file does not decide policy (strict, accept-new, ignore); `session.rs` does.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use hmac::{KeyInit, Mac};
use russh::keys::ssh_key::known_hosts::{Entry, HostPatterns, Marker};
use russh::keys::ssh_key::{Algorithm, Certificate, HashAlg, PublicKey, certificate::CertType};

/// A presented host key or certificate compared with the known_hosts files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A line records this key, or a trusted authority signed this certificate.
    Trusted,
    /// No line records a key of this type for this host.
    Unknown,
    /// A line records a different key of the same type for this host.
    Changed(Place),
    /// A `@revoked` line names this key.
    Revoked(Place),
    /// The host presented a certificate that no trusted authority signed or that is not valid.
    BadCertificate(String),
}

/// A line in a known_hosts file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The file.
    pub file: PathBuf,
    /// The line number, counting from 1 (comments and blank lines included).
    pub line: usize,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} line {}", self.file.display(), self.line)
    }
}

/// One parsed known_hosts line and where it came from.
struct Line {
    place: Place,
    entry: Entry,
}

/// The known_hosts files consulted for one host, read once.
pub struct KnownHosts {
    lines: Vec<Line>,
}

impl KnownHosts {
    /// Reads `files` in order; a missing file counts as empty.
    pub fn read(files: &[PathBuf]) -> KnownHosts {
        let mut lines = Vec::new();
        for file in files {
            match std::fs::read_to_string(file) {
                Ok(text) => lines.extend(parse_lines(file, &text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(file = %file.display(), "cannot read known_hosts: {e}"),
            }
        }
        KnownHosts { lines }
    }

    /// Compares the key (or certificate) that `host:port` presented with the recorded lines.
    pub fn check(
        &self,
        host: &str,
        port: u16,
        key: &russh::keys::PublicKeyOrCertificate,
    ) -> Verdict {
        let name = host_name(host, port);
        match key {
            russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } => {
                self.check_key(&name, key)
            }
            russh::keys::PublicKeyOrCertificate::Certificate(cert) => {
                self.check_certificate(&name, host, cert)
            }
        }
    }

    /// The key types recorded for `host:port`, in file order, and whether an authority is trusted
    /// for it: used to ask the server for a key we can verify.
    pub fn known_algorithms(&self, host: &str, port: u16) -> (Vec<Algorithm>, bool) {
        let name = host_name(host, port);
        let mut algorithms = Vec::new();
        let mut has_authority = false;
        for line in self.lines_for(&name) {
            match line.entry.marker() {
                None => algorithms.push(line.entry.public_key().algorithm()),
                Some(Marker::CertAuthority) => has_authority = true,
                Some(Marker::Revoked) => {}
            }
        }
        (algorithms, has_authority)
    }

    fn check_key(&self, name: &str, key: &PublicKey) -> Verdict {
        if let Some(place) = self.revoked(key) {
            return Verdict::Revoked(place);
        }
        // A host with any key recorded is known: a key of a type not recorded for it is as
        // suspect as a changed one (so `accept-new` never learns it), and the line named is the
        // first of the same type, else the first of any.
        let (mut same_type, mut any) = (None, None);
        for line in self.lines_for(name).filter(|l| l.entry.marker().is_none()) {
            let recorded = line.entry.public_key();
            if recorded.key_data() == key.key_data() {
                return Verdict::Trusted;
            }
            if recorded.algorithm() == key.algorithm() {
                same_type.get_or_insert_with(|| line.place.clone());
            }
            any.get_or_insert_with(|| line.place.clone());
        }
        same_type.or(any).map_or(Verdict::Unknown, Verdict::Changed)
    }

    fn check_certificate(&self, name: &str, host: &str, cert: &Certificate) -> Verdict {
        let signer = PublicKey::new(cert.signature_key().clone(), "");
        let certified = PublicKey::new(cert.public_key().clone(), "");
        if let Some(place) = self.revoked(&signer).or_else(|| self.revoked(&certified)) {
            return Verdict::Revoked(place);
        }
        let trusted = self.lines_for(name).any(|l| {
            l.entry.marker() == Some(&Marker::CertAuthority)
                && l.entry.public_key().key_data() == signer.key_data()
        });
        if !trusted {
            return Verdict::BadCertificate(format!(
                "signed by {}, which no @cert-authority line trusts for {name}",
                signer.fingerprint(HashAlg::Sha256)
            ));
        }
        match validate_host_certificate(cert, host) {
            Ok(()) => Verdict::Trusted,
            Err(reason) => Verdict::BadCertificate(reason),
        }
    }

    fn revoked(&self, key: &PublicKey) -> Option<Place> {
        self.lines
            .iter()
            .find(|l| {
                l.entry.marker() == Some(&Marker::Revoked)
                    && l.entry.public_key().key_data() == key.key_data()
            })
            .map(|l| l.place.clone())
    }

    fn lines_for<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Line> + 'a {
        self.lines
            .iter()
            .filter(move |line| patterns_match(line.entry.host_patterns(), name))
    }
}

/// Appends `host:port key` to `file` (creating it and its directory), like OpenSSH's accept-new.
pub fn learn(file: &Path, host: &str, port: u16, key: &PublicKey) -> std::io::Result<()> {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let bare = PublicKey::new(key.key_data().clone(), "");
    let encoded = bare.to_openssh().map_err(std::io::Error::other)?;
    let needs_newline = std::fs::read(file).is_ok_and(|t| !t.is_empty() && !t.ends_with(b"\n"));
    let line = format!(
        "{}{} {}\n",
        if needs_newline { "\n" } else { "" },
        host_name(host, port),
        encoded.trim_end()
    );
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?
        .write_all(line.as_bytes())
}

/// What identifies one version of a known_hosts file: its size and modification time, `None`
/// when it cannot be read.
type Stamp = Option<(u64, SystemTime)>;

fn stamp(file: &Path) -> Stamp {
    let meta = std::fs::metadata(file).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

/// Parsed known_hosts files shared by every connection of a run. Each list of files is parsed
/// once, not once per host (a fleet's file names every host, so per-host parsing grew with the
/// square of the fleet), and parsed again only after one of the files changed (a key recorded
/// by accept-new, an edit).
#[derive(Default)]
pub struct KnownHostsCache {
    parsed: Mutex<HashMap<Vec<PathBuf>, Parsed>>,
}

/// Files parsed: the stamps they had, and their lines.
type Parsed = (Vec<Stamp>, Arc<KnownHosts>);

impl KnownHostsCache {
    /// The current contents of `files`. Callers asking at the same time wait for one parse.
    pub fn get(&self, files: &[PathBuf]) -> Arc<KnownHosts> {
        // Stamped before reading: a file changed in between is only read once more next time.
        let stamps: Vec<Stamp> = files.iter().map(|f| stamp(f)).collect();
        let mut parsed = self.parsed.lock().expect("the known_hosts cache lock");
        if let Some((seen, known)) = parsed.get(files)
            && *seen == stamps
        {
            return known.clone();
        }
        let known = Arc::new(KnownHosts::read(files));
        parsed.insert(files.to_vec(), (stamps, known.clone()));
        known
    }
}

/// The name known_hosts records for a host: `host`, or `[host]:port` off port 22.
pub fn host_name(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

fn parse_lines(file: &Path, text: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        // The parser splits on single spaces; OpenSSH allows any run of blanks.
        let normalized = trimmed.split_whitespace().collect::<Vec<_>>().join(" ");
        let place = Place {
            file: file.to_path_buf(),
            line: index + 1,
        };
        match Entry::from_str(&normalized) {
            Ok(entry) => lines.push(Line { place, entry }),
            Err(e) => tracing::debug!(%place, "skipping a known_hosts line: {e}"),
        }
    }
    lines
}

/// OpenSSH's rule: some positive pattern matches and no negated one does.
fn patterns_match(patterns: &HostPatterns, name: &str) -> bool {
    match patterns {
        HostPatterns::HashedName { salt, hash } => hashed_name_matches(salt, hash, name),
        HostPatterns::Patterns(list) => {
            let mut positive = false;
            for pattern in list {
                let (negated, pattern) = match pattern.strip_prefix('!') {
                    Some(rest) => (true, rest),
                    None => (false, pattern.as_str()),
                };
                if wildcard_match(&pattern.to_ascii_lowercase(), name) {
                    if negated {
                        return false;
                    }
                    positive = true;
                }
            }
            positive
        }
    }
}

fn hashed_name_matches(salt: &[u8], hash: &[u8; 20], name: &str) -> bool {
    hmac::Hmac::<sha1::Sha1>::new_from_slice(salt)
        .map(|mac| mac.chain_update(name.as_bytes()).verify_slice(hash).is_ok())
        .unwrap_or(false)
}

/// Glob matching with `*` (any run) and `?` (any one character).
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (pattern, text): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), text.chars().collect());
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, matched)) => {
                    p = star + 1;
                    t = matched + 1;
                    backtrack = Some((star, matched + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// The checks `Certificate::validate_at` leaves to us: the CA signature and validity window,
/// a host certificate, the principal, no critical options.
fn validate_host_certificate(cert: &Certificate, host: &str) -> Result<(), String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let authority = cert.signature_key().fingerprint(HashAlg::Sha256);
    cert.validate_at(now, [&authority])
        .map_err(|_| "the certificate's signature or validity period is wrong".to_string())?;
    if cert.cert_type() != CertType::Host {
        return Err("the certificate is a user certificate, not a host certificate".into());
    }
    let principals = cert.valid_principals();
    if !principals.is_empty() && !principals.iter().any(|p| p.eq_ignore_ascii_case(host)) {
        return Err(format!(
            "the certificate is not valid for {host} (principals: {})",
            principals.join(",")
        ));
    }
    if !cert.critical_options().is_empty() {
        return Err(
            "the certificate has critical options, which host certificates must not".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use russh::keys::PublicKeyOrCertificate;

    const KEY_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE0jyRuTvE2xTesSDS2CLt7rrDqBfiGzX1ac5Yx4xx/J";
    const KEY_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPKmYqlUbsmptglfWhjE6qWmeh/RBnaC3I9KLlCENkaU";
    const KEY_C: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBKXr4otm/9jG0LnrhXe/NBD8di60rBzfwWUknQxdFvQy+rnZ/G6FTRjjUpOOUcLybt2p+qUMDfoYT7r1wbttsAM=";
    const CA: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPOi4m80rq+gOcAAUT4Bend5GxRx40fSAXrqQy0svD6o";
    /// KEY_A as a host certificate for `web.example`, signed by CA (`ssh-keygen -s ca -h`).
    const HOST_CERT: &str = "ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIOHibCYe4aWT1xOKRZiXEucP9lAwIwiUqhRpLsjXHgqnAAAAIE0jyRuTvE2xTesSDS2CLt7rrDqBfiGzX1ac5Yx4xx/JAAAAAAAAAAAAAAACAAAAA3dlYgAAAA8AAAALd2ViLmV4YW1wbGUAAAAAAAAAAP//////////AAAAAAAAAAAAAAAAAAAAMwAAAAtzc2gtZWQyNTUxOQAAACDzouJvNK6voDnAAFE+AXp3eRsUceNH0gF66kMtLLw+qAAAAFMAAAALc3NoLWVkMjU1MTkAAABAUcPYUdz+0hYCoRmBEOAyjUCxxoSKBDniXSrfzjdE9fL4Ky07mLYElxxpWHGDnhrZDx/H6aV42IefL3b4SnN9AA==";
    /// KEY_B as a *user* certificate, signed by CA.
    const USER_CERT: &str = "ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIM7MhzpXPC23NskEuInhJ+fbL8d3hGW67F0vW5Z8gqFkAAAAIPKmYqlUbsmptglfWhjE6qWmeh/RBnaC3I9KLlCENkaUAAAAAAAAAAAAAAABAAAABHVzZXIAAAAPAAAAC3dlYi5leGFtcGxlAAAAAAAAAAD//////////wAAAAAAAACCAAAAFXBlcm1pdC1YMTEtZm9yd2FyZGluZwAAAAAAAAAXcGVybWl0LWFnZW50LWZvcndhcmRpbmcAAAAAAAAAFnBlcm1pdC1wb3J0LWZvcndhcmRpbmcAAAAAAAAACnBlcm1pdC1wdHkAAAAAAAAADnBlcm1pdC11c2VyLXJjAAAAAAAAAAAAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIPOi4m80rq+gOcAAUT4Bend5GxRx40fSAXrqQy0svD6oAAAAUwAAAAtzc2gtZWQyNTUxOQAAAECp63x9pjNJlwxi8KZJvIdQSg199tMFsrRjJpO8150LYSg67iQ1sgOAdokm5P2AesFxWChsA3IifzVKXeYz5XgN";
    /// `[127.0.0.1]:2222` hashed with the salt 0..20 (HMAC-SHA1, as `ssh-keygen -H` does).
    const HASHED: &str = "|1|AAECAwQFBgcICQoLDA0ODxAREhM=|zKYaAqmSav3Qxr2sffNqWFIcbe4=";

    fn key(text: &str) -> PublicKeyOrCertificate {
        PublicKey::from_openssh(text).unwrap().into()
    }

    fn cert(text: &str) -> PublicKeyOrCertificate {
        Certificate::from_openssh(text).unwrap().into()
    }

    fn known(text: &str) -> KnownHosts {
        KnownHosts {
            lines: parse_lines(Path::new("kh"), text),
        }
    }

    fn at(line: usize) -> Place {
        Place {
            file: PathBuf::from("kh"),
            line,
        }
    }

    #[test]
    fn verdicts() {
        let file = format!(
            "# comment\n\
             \n\
             web1,web2 {KEY_A}\n\
             [127.0.0.1]:2222\t{KEY_B} a tab and a comment\n\
             *.prod,!bad.prod {KEY_A}\n\
             {HASHED} {KEY_C}\n\
             broken-line-without-key\n\
             bad.prod {KEY_B}\n\
             @revoked * {KEY_C}x\n"
        );
        let kh = known(&file);
        let cases: &[(&str, u16, &str, Verdict)] = &[
            ("web1", 22, KEY_A, Verdict::Trusted),
            ("WEB2", 22, KEY_A, Verdict::Trusted),
            ("web1", 22, KEY_B, Verdict::Changed(at(3))),
            // A known host offering a key of a type not recorded for it.
            ("web1", 22, KEY_C, Verdict::Changed(at(3))),
            ("web1", 2222, KEY_A, Verdict::Unknown),
            ("127.0.0.1", 2222, KEY_B, Verdict::Trusted),
            ("127.0.0.1", 2222, KEY_C, Verdict::Trusted),
            ("127.0.0.1", 2222, KEY_A, Verdict::Changed(at(4))),
            ("127.0.0.1", 22, KEY_B, Verdict::Unknown),
            ("app.prod", 22, KEY_A, Verdict::Trusted),
            ("bad.prod", 22, KEY_A, Verdict::Changed(at(8))),
            ("bad.prod", 22, KEY_B, Verdict::Trusted),
            ("prod", 22, KEY_A, Verdict::Unknown),
        ];
        for (host, port, offered, want) in cases {
            assert_eq!(
                &kh.check(host, *port, &key(offered)),
                want,
                "{host}:{port} {offered}"
            );
        }
    }

    #[test]
    fn revoked_keys_are_refused_everywhere() {
        let kh = known(&format!("web1 {KEY_A}\n@revoked other {KEY_A}\n"));
        assert_eq!(kh.check("web1", 22, &key(KEY_A)), Verdict::Revoked(at(2)));
    }

    #[test]
    fn host_certificates_need_a_trusted_authority() {
        let trusting = known(&format!("@cert-authority *.example {CA}\n"));
        assert_eq!(
            trusting.check("web.example", 22, &cert(HOST_CERT)),
            Verdict::Trusted
        );
        assert_eq!(trusting.known_algorithms("web.example", 22), (vec![], true));
        let wrong_name = trusting.check("db.example", 22, &cert(HOST_CERT));
        assert!(
            matches!(wrong_name, Verdict::BadCertificate(m) if m.contains("not valid for db.example"))
        );
        let user_cert = trusting.check("web.example", 22, &cert(USER_CERT));
        assert!(matches!(user_cert, Verdict::BadCertificate(m) if m.contains("user certificate")));
        let other_ca = known(&format!("@cert-authority *.example {KEY_B}\n"));
        let untrusted = other_ca.check("web.example", 22, &cert(HOST_CERT));
        assert!(
            matches!(untrusted, Verdict::BadCertificate(m) if m.contains("no @cert-authority"))
        );
        let revoked_ca = known(&format!("@cert-authority * {CA}\n@revoked * {CA}\n"));
        assert_eq!(
            revoked_ca.check("web.example", 22, &cert(HOST_CERT)),
            Verdict::Revoked(at(2))
        );
    }

    #[test]
    fn wildcards() {
        let cases = [
            ("*", "anything", true),
            ("web?", "web1", true),
            ("web?", "web10", false),
            ("*.example.com", "a.b.example.com", true),
            ("*.example.com", "example.com", false),
            ("[10.0.0.*]:2222", "[10.0.0.7]:2222", true),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
        ];
        for (pattern, text, want) in cases {
            assert_eq!(wildcard_match(pattern, text), want, "{pattern} vs {text}");
        }
    }

    #[test]
    fn learned_keys_are_found_again() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub/known_hosts");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, format!("web1 {KEY_B}")).unwrap();
        let offered = PublicKey::from_openssh(KEY_A).unwrap();
        learn(&file, "127.0.0.1", 2200, &offered).unwrap();
        learn(&file, "Web1", 22, &PublicKey::from_openssh(KEY_C).unwrap()).unwrap();
        let kh = KnownHosts::read(&[dir.path().join("missing"), file.clone()]);
        assert_eq!(kh.check("127.0.0.1", 2200, &key(KEY_A)), Verdict::Trusted);
        assert_eq!(kh.check("web1", 22, &key(KEY_C)), Verdict::Trusted);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains(&format!("\n[127.0.0.1]:2200 {KEY_A}\n")),
            "{text}"
        );
        let (algorithms, _) = kh.known_algorithms("web1", 22);
        assert_eq!(algorithms.len(), 2);
    }

    #[test]
    fn the_cache_parses_once_and_again_after_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("known_hosts");
        std::fs::write(&file, format!("web1 {KEY_B}\n")).unwrap();
        let files = [file.clone(), dir.path().join("missing")];
        let cache = KnownHostsCache::default();
        let first = cache.get(&files);
        assert!(Arc::ptr_eq(&first, &cache.get(&files)));
        assert_eq!(first.check("web2", 22, &key(KEY_A)), Verdict::Unknown);
        learn(&file, "web2", 22, &PublicKey::from_openssh(KEY_A).unwrap()).unwrap();
        let after = cache.get(&files);
        assert_eq!(after.check("web2", 22, &key(KEY_A)), Verdict::Trusted);
        assert_eq!(after.check("web1", 22, &key(KEY_B)), Verdict::Trusted);
    }
}
