//! Unix `crypt(3)` password hashes, as Ansible's `password_hash` filter and `password` lookup
//! make them with passlib: SHA-512 (`$6$`) and SHA-256 (`$5$`), 5000 rounds unless told
//! (then written as `rounds=N$`), the salt used as text.

use base64ct::{Base64ShaCrypt, Encoding};
use minijinja::Error;

use super::filters::failure;
use super::random::Source;

/// The characters of generated salts (passlib's `./0-9A-Za-z`).
const SALT_CHARS: &str = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The rounds crypt uses when none are written.
const IMPLICIT_ROUNDS: u32 = 5000;

/// Byte order of SHA-512-crypt's output before encoding.
const SHA512_ORDER: [usize; 64] = [
    42, 21, 0, 1, 43, 22, 23, 2, 44, 45, 24, 3, 4, 46, 25, 26, 5, 47, 48, 27, 6, 7, 49, 28, 29, 8,
    50, 51, 30, 9, 10, 52, 31, 32, 11, 53, 54, 33, 12, 13, 55, 34, 35, 14, 56, 57, 36, 15, 16, 58,
    37, 38, 17, 59, 60, 39, 18, 19, 61, 40, 41, 20, 62, 63,
];

/// Byte order of SHA-256-crypt's output before encoding.
const SHA256_ORDER: [usize; 32] = [
    20, 10, 0, 11, 1, 21, 2, 22, 12, 23, 13, 3, 14, 4, 24, 5, 25, 15, 26, 16, 6, 17, 7, 27, 8, 28,
    18, 29, 19, 9, 30, 31,
];

/// A new 16-character salt.
pub fn salt(source: &mut Source) -> String {
    let chars: Vec<char> = SALT_CHARS.chars().collect();
    source.text(&chars, 16)
}

/// `password` hashed with `scheme` (`sha512`/`sha512_crypt`, `sha256`/`sha256_crypt`), with
/// `salt` (a new one when not given) and `rounds`.
pub fn hash(
    password: &str,
    scheme: &str,
    salt: Option<&str>,
    rounds: Option<u32>,
) -> Result<String, Error> {
    let salt: String = match salt {
        Some(s) => s.chars().take(16).collect(),
        None => self::salt(&mut Source::new(None)),
    };
    let rounds = rounds.unwrap_or(IMPLICIT_ROUNDS);
    let params = sha_crypt::Params::new(rounds)
        .map_err(|_| failure(format!("invalid number of rounds: {rounds}")))?;
    let (id, digest) = match scheme {
        "sha512" | "sha512_crypt" => (
            6,
            reorder(
                &sha_crypt::sha512_crypt(password.as_bytes(), salt.as_bytes(), params),
                &SHA512_ORDER,
            ),
        ),
        "sha256" | "sha256_crypt" => (
            5,
            reorder(
                &sha_crypt::sha256_crypt(password.as_bytes(), salt.as_bytes(), params),
                &SHA256_ORDER,
            ),
        ),
        other => {
            return Err(failure(format!(
                "{other} is not in the list of supported passlib algorithms: sha256_crypt, sha512_crypt"
            )));
        }
    };
    let rounds = match rounds {
        IMPLICIT_ROUNDS => String::new(),
        n => format!("rounds={n}$"),
    };
    Ok(format!(
        "${id}${rounds}{salt}${}",
        Base64ShaCrypt::encode_string(&digest)
    ))
}

/// `password_hash(hashtype='sha512', salt=None, rounds=None)`: the password's crypt hash.
pub fn password_hash(
    password: &str,
    hashtype: Option<&str>,
    salt: Option<&str>,
    kwargs: minijinja::value::Kwargs,
) -> Result<String, Error> {
    let hashtype = match hashtype {
        Some(h) => Some(h.to_string()),
        None => kwargs.get::<Option<String>>("hashtype")?,
    };
    let salt = match salt {
        Some(s) => Some(s.to_string()),
        None => kwargs.get::<Option<String>>("salt")?,
    };
    let rounds = kwargs.get::<Option<u32>>("rounds")?;
    kwargs.assert_all_used()?;
    hash(
        password,
        hashtype.as_deref().unwrap_or("sha512"),
        salt.as_deref(),
        rounds,
    )
}

fn reorder(bytes: &[u8], order: &[usize]) -> Vec<u8> {
    order.iter().map(|&i| bytes[i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_glibc_crypt() {
        // Test vectors from Ulrich Drepper's SHA-crypt specification.
        assert_eq!(
            hash("Hello world!", "sha512", Some("saltstring"), None).unwrap(),
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
        );
        assert_eq!(
            hash("Hello world!", "sha256_crypt", Some("saltstring"), None).unwrap(),
            "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"
        );
        assert_eq!(
            hash(
                "Hello world!",
                "sha512",
                Some("saltstringsaltstring"),
                Some(10000)
            )
            .unwrap(),
            "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."
        );
        assert!(hash("x", "md5", None, None).is_err());
        assert!(hash("x", "sha512", None, None).unwrap().starts_with("$6$"));
    }
}
