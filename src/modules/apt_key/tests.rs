use serde_json::json;

use super::*;
use crate::modules::testing::{args, run_local};

/// An ed25519 key with a cv25519 subkey, made with gpg 2.2 (shared with the fleet tests);
/// `gpg --with-colons` lists `pub ... EBB4B3CAE85C36FC` and `sub ... 67941E8EB64C3F92`.
const ONE: &str = include_str!("../../../tests/differential/files/one.asc");

/// Another key, binary (`gpg --export`): `56A3139B07BD28C5`.
const TWO: &[u8] = include_bytes!("../../../tests/differential/files/two.gpg");

fn two() -> Vec<u8> {
    TWO.to_vec()
}

#[test]
fn keys_are_named_by_the_ids_gpg_gives_them() {
    let one = openpgp::keys(ONE.as_bytes()).unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].ids, ["EBB4B3CAE85C36FC", "67941E8EB64C3F92"]);
    let mut ring = openpgp::dearmor(ONE.as_bytes()).unwrap();
    assert_eq!(one[0].bytes, ring);
    ring.extend(two());
    let both = openpgp::keys(&ring).unwrap();
    assert_eq!(both[1].ids, ["56A3139B07BD28C5"]);
    assert_eq!(both[1].bytes, two());
    assert!(openpgp::keys(b"not a key").is_err());
}

#[test]
fn ids_are_split_as_ansible_splits_them() {
    let id = KeyId::parse("0x9d708bfc86c3f09c5ee7ad03ebb4b3cae85c36fc").unwrap();
    assert_eq!(
        (id.short.as_str(), id.fingerprint.as_str()),
        ("E85C36FC", "EBB4B3CAE85C36FC")
    );
    assert!(KeyId::parse("E85C36FC").unwrap().short_format());
    for bad in ["", "12345", "0x123456789", "xyz12345"] {
        assert_eq!(KeyId::parse(bad), None, "{bad}");
    }
}

#[tokio::test]
async fn a_key_is_added_once_to_a_keyring_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("natives.gpg");
    std::fs::write(&ring, two()).unwrap();
    let task = |state: &str| args(json!({"data": ONE, "keyring": ring, "state": state}));
    let added = run_local(&AptKey, task("present")).await;
    assert!(added.changed && !added.failed, "{added:?}");
    assert_eq!(added.data["id"], "EBB4B3CAE85C36FC");
    assert_eq!(added.data["before"], json!(["56A3139B07BD28C5"]));
    assert_eq!(
        added.data["after"],
        json!(["56A3139B07BD28C5", "EBB4B3CAE85C36FC", "67941E8EB64C3F92"])
    );
    assert!(!run_local(&AptKey, task("present")).await.changed);
    let short = args(json!({"id": "E85C36FC", "keyring": ring, "state": "absent"}));
    let removed = run_local(&AptKey, short).await;
    assert!(removed.changed && !removed.failed, "{removed:?}");
    assert_eq!(std::fs::read(&ring).unwrap(), two());
    let wrong = args(json!({"id": "0123456789ABCDEF", "data": ONE, "keyring": ring}));
    let failed = run_local(&AptKey, wrong).await;
    assert!(failed.failed && failed.msg.unwrap().contains("failed to add the key"));
    assert_eq!(std::fs::read(&ring).unwrap(), two());
    let missing = dir.path().join("missing.asc");
    let no_file = run_local(&AptKey, args(json!({"file": missing, "keyring": ring}))).await;
    assert_eq!(
        no_file.msg.unwrap(),
        format!("Unable to extract key from '{}'", missing.display())
    );
}
