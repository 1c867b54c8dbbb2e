use serde_json::json;

use super::*;
use crate::modules::testing::args;

fn entry(extra: Value) -> Entry {
    let mut given = json!({"path": "/mnt/x", "state": "present"});
    given
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    Entry::read(&SPEC.normalise(&args(given)).unwrap())
}

// The expected texts are what ansible.posix 2.1.0's `_set_mount_save_old` and `unset_mount`
// write for the same fstab and arguments.
#[test]
fn a_line_is_kept_rewritten_or_appended_as_ansible_posix_does() {
    let sdb1 = entry(json!({"src": "/dev/sdb1", "fstype": "ext4"}));
    let text = "# c\n\nUUID=1 / ext4 errors=remount-ro 0 1\n/dev/sdb1 /mnt/x ext4 defaults 0 0\n";
    assert_eq!(Fstab::set(text, &sdb1), (text.to_string(), false));
    let commented = "/dev/sdb1 /mnt/x ext4 defaults 0 0 # note\n";
    assert_eq!(Fstab::set(commented, &sdb1), (commented.to_string(), false));
    let short = "/dev/sdb1 /mnt/x ext4 defaults\n";
    assert_eq!(
        Fstab::set(short, &sdb1),
        ("/dev/sdb1 /mnt/x ext4 defaults 0 0\n".to_string(), true)
    );
    let sdb3 = entry(json!({"src": "/dev/sdb3", "fstype": "xfs"}));
    let many = "/dev/sdb1 /mnt/x ext4 defaults 0 0\n/dev/sdb2 /mnt/x ext4 ro 0 0\n\
                /dev/sdb3 /mnt/x xfs defaults 0 0";
    assert_eq!(
        Fstab::set(many, &sdb3),
        ("/dev/sdb3 /mnt/x xfs defaults 0 0\n".repeat(3), true)
    );
    let spaced = entry(json!({"path": "/mnt/with space&\\", "src": "//srv/share x",
                              "fstype": "cifs", "opts": "ro,user=a b"}));
    assert_eq!(
        Fstab::set("a b c\n", &spaced),
        (
            "a b c\n//srv/share\\040x /mnt/with\\040space\\046\\134 cifs ro,user=a\\040b 0 0\n"
                .to_string(),
            true
        )
    );
    let swap = entry(json!({"path": "none", "src": "/dev/b", "fstype": "swap", "opts": "sw"}));
    assert_eq!(
        Fstab::set("/dev/a none swap sw 0 0\n", &swap),
        (
            "/dev/a none swap sw 0 0\n/dev/b none swap sw 0 0\n".to_string(),
            true
        )
    );
    let noauto = entry(json!({"src": "/dev/sdb1", "fstype": "ext4", "boot": false}));
    assert_eq!(noauto.line(), "/dev/sdb1 /mnt/x ext4 defaults,noauto 0 0\n");
}

#[test]
fn only_six_field_lines_are_removed() {
    let text = "/dev/sdb1 /mnt/x ext4 defaults 0 0\n/dev/sdb1 /mnt/x ext4 defaults\n\
                #/dev/sdb1 /mnt/x ext4 defaults 0 0\n/dev/sdb1 /mnt/y ext4 defaults 0 0";
    assert_eq!(
        Fstab::unset(text, &entry(json!({}))),
        (
            "/dev/sdb1 /mnt/x ext4 defaults\n#/dev/sdb1 /mnt/x ext4 defaults 0 0\n\
             /dev/sdb1 /mnt/y ext4 defaults 0 0"
                .to_string(),
            true
        )
    );
    let swaps = "/dev/a none swap sw 0 0\n/dev/b none swap sw 0 0\n";
    let b = entry(json!({"path": "none", "src": "/dev/b"}));
    assert_eq!(
        Fstab::unset(swaps, &b),
        ("/dev/a none swap sw 0 0\n".to_string(), true)
    );
    assert_eq!(Fstab::unset("", &b), (String::new(), false));
}

#[tokio::test]
async fn an_fstab_entry_is_added_once_and_removed() {
    use crate::modules::testing::{LocalRun, run_local};
    let dir = tempfile::tempdir().unwrap();
    let fstab = dir.path().join("etc/fstab");
    let point = dir.path().join("point");
    let task = |state: &str| {
        args(
            json!({"path": point, "src": "/dev/natives", "fstype": "ext4", "state": state,
                    "fstab": fstab, "opts": "noatime"}),
        )
    };
    let checked = LocalRun::check().run(&Mount, task("present")).await;
    assert!(checked.changed && !fstab.exists(), "{checked:?}");
    let added = run_local(&Mount, task("present")).await;
    assert!(added.changed && !added.failed, "{added:?}");
    let line = format!("/dev/natives {} ext4 noatime 0 0\n", point.display());
    assert_eq!(std::fs::read_to_string(&fstab).unwrap(), line);
    assert_eq!(added.data["opts"], "noatime");
    assert!(!run_local(&Mount, task("present")).await.changed);
    let removed = run_local(&Mount, task("absent_from_fstab")).await;
    assert!(removed.changed && !removed.failed, "{removed:?}");
    assert_eq!(std::fs::read_to_string(&fstab).unwrap(), "");
    let missing = run_local(&Mount, args(json!({"path": point, "state": "mounted"}))).await;
    assert_eq!(
        missing.msg.as_deref(),
        Some("state is mounted but all of the following are missing: src, fstype")
    );
}
