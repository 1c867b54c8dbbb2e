use super::*;
use crate::modules::testing::{FakeHost, args, run_on};
use serde_json::json;

#[tokio::test]
async fn check_mode_compares_the_installed_versions() {
    let host = FakeHost::new().reply(
        "list --format=freeze",
        "0\0/v/bin/pip3\x000\0Flask==2.0.1\nrequests==2.31.0\n\0\0",
        0,
    );
    let wanted =
        |name: Value, state: &str| args(json!({"name": name, "state": state, "virtualenv": "/v"}));
    let present = run_on(
        &Pip,
        wanted(json!(["flask>=2", "Requests"]), "present"),
        &host,
        true,
    )
    .await;
    assert!(!present.changed && !present.failed, "{present:?}");
    assert_eq!(present.data["cmd"], "/v/bin/pip3 list --format=freeze");
    let newer = run_on(
        &Pip,
        wanted(json!(["flask", ">=3"]), "present"),
        &host,
        true,
    )
    .await;
    assert!(newer.changed);
    let absent = run_on(&Pip, wanted(json!(["django"]), "absent"), &host, true).await;
    assert!(!absent.changed);
    let latest = run_on(&Pip, wanted(json!(["flask"]), "latest"), &host, true).await;
    assert!(latest.changed);
    assert!(host.scripts().iter().all(|s| !s.contains("pipc install")));
}

#[tokio::test]
async fn changed_is_read_from_pip_as_ansible_reads_it() {
    let installed = FakeHost::new().reply(
        "pipc install",
        "0\0python3 -m pip\x000\0Successfully installed a-1.0\n\0\0",
        0,
    );
    let result = run_on(&Pip, args(json!({"name": ["a==1.0"]})), &installed, false).await;
    assert!(result.changed && !result.failed, "{result:?}");
    assert_eq!(
        result.data["cmd"],
        json!(["python3 -m pip", "install", "a==1.0"])
    );
    let gone = FakeHost::new().reply(
        "uninstall",
        "0\0pip3\x001\0\0WARNING: Skipping a as it is not installed.\n\0",
        0,
    );
    let result = run_on(
        &Pip,
        args(json!({"name": ["a"], "state": "absent"})),
        &gone,
        false,
    )
    .await;
    assert!(!result.changed && !result.failed, "{result:?}");
    let broken = FakeHost::new().reply("install", "0\0pip3\x002\0\0ERROR: no\n\0", 0);
    let result = run_on(&Pip, args(json!({"name": ["a"]})), &broken, false).await;
    assert!(
        result.failed && result.msg.as_deref() == Some("\n:stderr: ERROR: no\n"),
        "{result:?}"
    );
    let both = args(json!({"name": ["a", "b"], "version": "1"}));
    assert!(run_on(&Pip, both, &FakeHost::new(), false).await.failed);
}
