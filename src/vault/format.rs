//! The Ansible Vault 1.1 file format, so files are interchangeable with `ansible-vault`.
//!
//! A vault file is the header `$ANSIBLE_VAULT;1.1;AES256` (1.2 adds `;LABEL`) followed by lines of
//! hex. Decoded, that hex is three hex-encoded fields separated by newlines: a 32-byte salt, an
//! HMAC-SHA256 of the ciphertext, and the ciphertext. PBKDF2-HMAC-SHA256 (10 000 iterations) turns
//! the password and salt into 80 bytes: the AES-256 key, the HMAC key and the CTR counter block.
//! The plaintext is PKCS#7-padded to 16 bytes before AES-256-CTR.

use aes::Aes256;
use ctr::cipher::{KeyIvInit, StreamCipher};
use hmac::{KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The first line of every file this module writes.
pub const HEADER: &str = "$ANSIBLE_VAULT;1.1;AES256";
/// What every vault file starts with, whatever its version.
const MAGIC: &str = "$ANSIBLE_VAULT;";
const ITERATIONS: u32 = 10_000;
const SALT_LEN: usize = 32;
const BLOCK: usize = 16;
/// Hex characters per line of the body, like ansible-vault.
const LINE_WIDTH: usize = 80;

type Aes256Ctr = ctr::Ctr128BE<Aes256>;
type HmacSha256 = hmac::Hmac<Sha256>;

/// Why a vault text could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The header names a version or cipher this module does not read.
    #[error("unsupported vault format `{0}` (expected 1.1 or 1.2 with AES256)")]
    Unsupported(String),
    /// The body is not the hex envelope it should be.
    #[error("malformed vault text: {0}")]
    Malformed(&'static str),
    /// The HMAC does not match: a wrong password, or a damaged file.
    #[error("wrong vault password (or the file was altered)")]
    WrongPassword,
    /// The system could not give random bytes for a salt.
    #[error("no randomness for the salt: {0}")]
    Random(String),
}

/// Whether `text` is a vault file (starts with `$ANSIBLE_VAULT;`).
pub fn is_vault(text: &str) -> bool {
    text.trim_start().starts_with(MAGIC)
}

/// Encrypts `plaintext` with a fresh random salt into a complete vault file (header and body).
pub fn encrypt(plaintext: &[u8], password: &str) -> Result<String, FormatError> {
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut salt).map_err(|e| FormatError::Random(e.to_string()))?;
    Ok(encrypt_with_salt(plaintext, password, &salt))
}

/// Encrypts with a given salt (deterministic; [`encrypt`] draws a random one).
fn encrypt_with_salt(plaintext: &[u8], password: &str, salt: &[u8]) -> String {
    let keys = Keys::derive(password, salt);
    let padding = BLOCK - plaintext.len() % BLOCK;
    let mut data = Zeroizing::new(plaintext.to_vec());
    data.extend(std::iter::repeat_n(padding as u8, padding));
    keys.cipher().apply_keystream(&mut data);
    let mac = keys.mac(&data).finalize().into_bytes();
    let inner = format!(
        "{}\n{}\n{}",
        hex::encode(salt),
        hex::encode(mac),
        hex::encode(&*data)
    );
    let outer = hex::encode(inner);
    let mut text = String::from(HEADER);
    for line in outer.as_bytes().chunks(LINE_WIDTH) {
        text.push('\n');
        text.push_str(std::str::from_utf8(line).unwrap_or_default());
    }
    text.push('\n');
    text
}

/// Decrypts a vault file's text with `password`.
pub fn decrypt(text: &str, password: &str) -> Result<Zeroizing<Vec<u8>>, FormatError> {
    let text = text.trim_start();
    let (header, body) = text.split_once('\n').unwrap_or((text, ""));
    let fields: Vec<&str> = header.trim_end().split(';').collect();
    if !matches!(fields.as_slice(), [_, "1.1" | "1.2", "AES256", ..]) {
        return Err(FormatError::Unsupported(header.trim_end().to_string()));
    }
    let hex_body: String = body.split_whitespace().collect();
    let inner = hex::decode(hex_body).map_err(|_| FormatError::Malformed("body is not hex"))?;
    let inner = String::from_utf8(inner).map_err(|_| FormatError::Malformed("body is not text"))?;
    let mut parts = inner.split('\n').map(hex::decode);
    let (Some(Ok(salt)), Some(Ok(mac)), Some(Ok(mut data)), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(FormatError::Malformed(
            "expected salt, HMAC and ciphertext in hex",
        ));
    };
    let keys = Keys::derive(password, &salt);
    keys.mac(&data)
        .verify_slice(&mac)
        .map_err(|_| FormatError::WrongPassword)?;
    keys.cipher().apply_keystream(&mut data);
    let data = Zeroizing::new(data);
    let padding = data.last().copied().unwrap_or(0) as usize;
    if !(1..=BLOCK).contains(&padding) || padding > data.len() {
        return Err(FormatError::Malformed("bad padding"));
    }
    Ok(Zeroizing::new(data[..data.len() - padding].to_vec()))
}

/// The AES key, HMAC key and counter block derived from a password and salt.
struct Keys(Zeroizing<[u8; 80]>);

impl Keys {
    fn derive(password: &str, salt: &[u8]) -> Keys {
        let mut out = Zeroizing::new([0u8; 80]);
        pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, ITERATIONS, &mut *out);
        Keys(out)
    }

    fn cipher(&self) -> Aes256Ctr {
        Aes256Ctr::new_from_slices(&self.0[..32], &self.0[64..80])
            .expect("a 32-byte key and a 16-byte counter block")
    }

    fn mac(&self, ciphertext: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0[32..64]).expect("HMAC takes any key");
        mac.update(ciphertext);
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made independently with Python's `cryptography` (48.0) from the format's description:
    ///
    /// ```python
    /// from binascii import hexlify
    /// from cryptography.hazmat.primitives import hashes, hmac, padding
    /// from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    /// from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
    /// password = b"correct horse battery staple"
    /// salt = bytes(range(32))
    /// plaintext = b"db_password: s3cr3t-Pa55w0rd\n"
    /// derived = PBKDF2HMAC(hashes.SHA256(), 80, salt, 10000).derive(password)
    /// key1, key2, iv = derived[:32], derived[32:64], derived[64:80]
    /// padder = padding.PKCS7(128).padder()
    /// padded = padder.update(plaintext) + padder.finalize()
    /// encryptor = Cipher(algorithms.AES(key1), modes.CTR(iv)).encryptor()
    /// ciphertext = encryptor.update(padded) + encryptor.finalize()
    /// mac = hmac.HMAC(key2, hashes.SHA256()); mac.update(ciphertext)
    /// body = hexlify(hexlify(salt) + b"\n" + hexlify(mac.finalize()) + b"\n"
    ///                + hexlify(ciphertext)).decode()
    /// print("$ANSIBLE_VAULT;1.1;AES256")
    /// for i in range(0, len(body), 80):
    ///     print(body[i:i + 80])
    /// ```
    const VECTOR: &str = "$ANSIBLE_VAULT;1.1;AES256
30303031303230333034303530363037303830393061306230633064306530663130313131323133
3134313531363137313831393161316231633164316531660a633338663431323236323062393763
38633337646339373736313732333435653133663064333837313830353063393865643565373562
6562653130616162660a316333376266333333626231326530633431303535383266646534336634
36643932636330643231383163626236653765343438363133613332653131323565
";
    const PASSWORD: &str = "correct horse battery staple";
    const PLAINTEXT: &[u8] = b"db_password: s3cr3t-Pa55w0rd\n";

    #[test]
    fn decrypts_a_vector_made_by_an_independent_implementation() {
        assert_eq!(&*decrypt(VECTOR, PASSWORD).unwrap(), PLAINTEXT);
    }

    #[test]
    fn encrypting_with_the_same_salt_gives_the_same_file() {
        let salt: Vec<u8> = (0..32).collect();
        assert_eq!(encrypt_with_salt(PLAINTEXT, PASSWORD, &salt), VECTOR);
    }

    #[test]
    fn a_random_salt_round_trips() {
        let text = encrypt(b"a: 1\n", "pw").unwrap();
        assert!(text.starts_with("$ANSIBLE_VAULT;1.1;AES256\n"), "{text}");
        assert!(is_vault(&text));
        assert_eq!(&*decrypt(&text, "pw").unwrap(), b"a: 1\n");
        assert_ne!(encrypt(b"a: 1\n", "pw").unwrap(), text, "salts differ");
    }

    #[test]
    fn a_wrong_password_or_a_damaged_file_is_refused() {
        assert_eq!(
            decrypt(VECTOR, "wrong").unwrap_err(),
            FormatError::WrongPassword
        );
        let damaged = VECTOR.replace("6562653130", "6562653131");
        assert_eq!(
            decrypt(&damaged, PASSWORD).unwrap_err(),
            FormatError::WrongPassword
        );
        assert!(matches!(
            decrypt("$ANSIBLE_VAULT;2.0;AES256\n00\n", PASSWORD),
            Err(FormatError::Unsupported(_))
        ));
        assert!(matches!(
            decrypt("$ANSIBLE_VAULT;1.1;AES256\nzz\n", PASSWORD),
            Err(FormatError::Malformed(_))
        ));
    }
}
