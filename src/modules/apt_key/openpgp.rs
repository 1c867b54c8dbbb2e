//! Just enough OpenPGP (RFC 4880, RFC 9580) to do what `apt-key` and `gpg` do for `apt_key`:
//! undo ASCII armor, split a keyring into its keys, and name each key by the long (16 hex
//! digits) ids of its primary key and subkeys. Signatures are not checked; nothing is decrypted.

use base64::Engine;
use sha1::{Digest, Sha1};
use sha2::Sha256;

/// The armor line that starts a public key block.
pub const ARMOR_BEGIN: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";

/// One transferable public key: its packets, and the ids of its primary key and subkeys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The key's packets as they were (primary key, user ids, signatures, subkeys).
    pub bytes: Vec<u8>,
    /// Long ids, upper-case hex, primary key first.
    pub ids: Vec<String>,
}

/// The binary packets of `data`: dearmored when it holds an armored block, else as given.
pub fn dearmor(data: &[u8]) -> Result<Vec<u8>, String> {
    let text = String::from_utf8_lossy(data);
    let Some(start) = text.find(ARMOR_BEGIN) else {
        return Ok(data.to_vec());
    };
    let body = &text[start + ARMOR_BEGIN.len()..];
    let body = body.split("-----END").next().unwrap_or_default();
    // Headers (`Version: ...`) end at the first empty line; the checksum line starts with `=`.
    let lines: Vec<&str> = body.lines().map(str::trim).collect();
    let start = lines.iter().position(|l| l.is_empty()).map_or(0, |i| i + 1);
    let base64: String = (lines[start..].iter())
        .take_while(|l| !l.starts_with('='))
        .copied()
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(base64)
        .map_err(|e| format!("bad ASCII armor: {e}"))
}

/// The keys of a keyring (binary or armored), in order.
pub fn keys(data: &[u8]) -> Result<Vec<Key>, String> {
    let bytes = dearmor(data)?;
    let mut keys: Vec<Key> = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let (tag, body, end) = packet(&bytes, at)?;
        match tag {
            // Public key: a new key starts.
            6 => keys.push(Key {
                bytes: Vec::new(),
                ids: vec![key_id(body)?],
            }),
            // Public subkey.
            14 => (keys.last_mut())
                .ok_or("a subkey before any key")?
                .ids
                .push(key_id(body)?),
            _ => {}
        }
        // Packets before the first key (a keybox's or trust packets) are not kept.
        if let Some(key) = keys.last_mut() {
            key.bytes.extend_from_slice(&bytes[at..end]);
        }
        at = end;
    }
    Ok(keys)
}

/// The packet at `at`: its tag, its body and where the next one starts.
fn packet(bytes: &[u8], at: usize) -> Result<(u8, &[u8], usize), String> {
    let bad = || format!("not an OpenPGP key (bad packet at byte {at})");
    let byte = |i: usize| bytes.get(i).copied().map(usize::from).ok_or_else(bad);
    let first = byte(at)?;
    if first & 0x80 == 0 {
        return Err(bad());
    }
    let (tag, header, length) = if first & 0x40 != 0 {
        let tag = (first & 0x3f) as u8;
        match byte(at + 1)? {
            l @ 0..192 => (tag, 2, l),
            l @ 192..224 => (tag, 3, ((l - 192) << 8) + byte(at + 2)? + 192),
            255 => {
                let l =
                    (1..5).try_fold(0, |acc, i| Ok::<_, String>((acc << 8) | byte(at + 1 + i)?))?;
                (tag, 6, l)
            }
            _ => return Err(bad()),
        }
    } else {
        let tag = ((first >> 2) & 0x0f) as u8;
        match first & 3 {
            0 => (tag, 2, byte(at + 1)?),
            1 => (tag, 3, (byte(at + 1)? << 8) | byte(at + 2)?),
            2 => {
                let l = (1..5).try_fold(0, |acc, i| Ok::<_, String>((acc << 8) | byte(at + i)?))?;
                (tag, 5, l)
            }
            _ => (tag, 1, bytes.len() - at - 1),
        }
    };
    let start = at + header;
    let end = start
        .checked_add(length)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(bad)?;
    Ok((tag, &bytes[start..end], end))
}

/// The long id of a public key packet's body: the last 8 bytes of a v4 fingerprint (SHA-1),
/// the first 8 of a v5/v6 one (SHA-256).
fn key_id(body: &[u8]) -> Result<String, String> {
    let len = body.len();
    let id = match body.first() {
        Some(4) => {
            let mut sha = Sha1::new();
            sha.update([0x99, (len >> 8) as u8, len as u8]);
            sha.update(body);
            sha.finalize()[12..].to_vec()
        }
        Some(5) => sha256_id(0x9a, body),
        Some(6) => sha256_id(0x9b, body),
        _ => return Err("only version 4, 5 and 6 keys are supported".into()),
    };
    Ok(hex::encode_upper(id))
}

fn sha256_id(prefix: u8, body: &[u8]) -> Vec<u8> {
    let mut sha = Sha256::new();
    sha.update([prefix]);
    sha.update((body.len() as u32).to_be_bytes());
    sha.update(body);
    sha.finalize()[..8].to_vec()
}
