use serde_json::json;

use super::*;
use crate::modules::testing::{FakeHost, args, run_on};

const PROBE: &str = "echo @@mgr";

fn probe_reply(lines: &str) -> String {
    format!("@@mgr\nTool=dnf\n@@rpm\n{lines}")
}

#[tokio::test]
async fn installs_only_what_is_missing() {
    let host = FakeHost::new().reply(PROBE, &probe_reply("I=curl\nN=git\n"), 0);
    let result = run_on(&Dnf, args(json!({"name": ["curl", "git"]})), &host, false).await;
    assert!(result.changed && !result.failed, "{result:?}");
    assert_eq!(result.data["results"], json!(["Installed: git"]));
    let scripts = host.scripts();
    assert_eq!(scripts.len(), 2);
    assert_eq!(scripts[1], "LC_ALL=C dnf -y install -- git || exit 1\n");
}

#[tokio::test]
async fn nothing_to_do_runs_nothing_and_check_mode_changes_nothing() {
    let host = FakeHost::new().reply(PROBE, &probe_reply("I=curl\n"), 0);
    let result = run_on(&Dnf, args(json!({"name": "curl"})), &host, false).await;
    assert!(!result.changed, "{result:?}");
    assert_eq!(result.msg.as_deref(), Some("Nothing to do"));
    let host = FakeHost::new().reply(PROBE, &probe_reply("N=curl\n"), 0);
    let result = run_on(&Dnf, args(json!({"name": "curl"})), &host, true).await;
    assert!(result.changed);
    assert_eq!(host.scripts().len(), 1);
}

#[tokio::test]
async fn latest_upgrades_what_check_update_lists_and_absent_removes() {
    let reply =
        probe_reply("I=curl\nI=vim\n@@updates\ncurl.x86_64  7.76.1-29.el9  baseos\nRc=100\n");
    let host = FakeHost::new().reply(PROBE, &reply, 0);
    let given = json!({"name": ["curl", "vim"], "state": "latest", "enablerepo": "crb"});
    let result = run_on(&Dnf, args(given), &host, false).await;
    assert_eq!(result.data["results"], json!(["Upgraded: curl"]));
    assert!(host.scripts()[0].contains("check-update --enablerepo=crb -- curl vim"));
    assert_eq!(
        host.scripts()[1],
        "LC_ALL=C dnf -y --enablerepo=crb upgrade -- curl || exit 1\n"
    );
    let host = FakeHost::new().reply(PROBE, &probe_reply("I=curl\nN=git\n"), 0);
    let given = json!({"name": ["curl", "git"], "state": "removed"});
    let result = run_on(&Dnf, args(given), &host, false).await;
    assert_eq!(result.data["results"], json!(["Removed: curl"]));
}

#[tokio::test]
async fn without_dnf_it_fails_like_ansible() {
    let host = FakeHost::new().reply(PROBE, "@@mgr\n", 0);
    let result = run_on(&Dnf, args(json!({"name": "curl"})), &host, true).await;
    assert!(result.failed);
    assert!(
        result
            .msg
            .unwrap()
            .starts_with("Could not detect which major")
    );
}

#[test]
fn check_update_lines_name_their_packages() {
    let listing = "Last metadata expiration check: 0:01:02 ago.\n\
                   kernel.x86_64  5.14.0-1  baseos\n\
                   python3-libs.x86_64  3.9.18-1  baseos\nRc=100\n";
    assert_eq!(with_updates(listing), ["kernel", "python3-libs"]);
}
