//! Tests for `user`: probe parsing, the decision table, and whole runs on a fake host.

use super::*;
use crate::modules::testing::{FakeHost, StubHost, args, run_on};
use serde_json::json;

const DEPLOY: &str = "@@passwd\ndeploy:x:1000:1000:Deploy User:/home/deploy:/bin/bash\n\
@@primary\ndeploy\n@@all\ndeploy sudo docker\n@@shadow\n$6$salt$hash\n\
@@groups\nsudo:x:27:deploy\ndocker:x:998:deploy\nadm:x:4:\ndeploy:x:1000:\n";

#[test]
fn probe_output_is_read() {
    let found = parse_probe(DEPLOY);
    let account = found.account.unwrap();
    assert_eq!((account.uid, account.gid), (1000, 1000));
    assert_eq!(account.comment, "Deploy User");
    assert_eq!(account.groups, ["sudo", "docker"]);
    assert_eq!(account.hash.as_deref(), Some("$6$salt$hash"));
    assert_eq!(found.groups["adm"], 4);
    assert_eq!(parse_probe("@@passwd\n@@primary\n@@all\n").account, None);
}

#[test]
fn decision_table() {
    let existing = parse_probe(DEPLOY);
    let missing = Found {
        account: None,
        groups: existing.groups.clone(),
    };
    type Case<'a> = (Value, &'a Found, Result<Option<&'a str>, &'a str>);
    let cases: &[Case] = &[
        (json!({"name": "deploy"}), &existing, Ok(None)),
        (
            json!({"name": "deploy", "shell": "/bin/bash", "group": "deploy"}),
            &existing,
            Ok(None),
        ),
        (
            json!({"name": "deploy", "group": "1000", "uid": 1000}),
            &existing,
            Ok(None),
        ),
        (
            json!({"name": "deploy", "shell": "/bin/sh"}),
            &existing,
            Ok(Some("usermod -s /bin/sh -- deploy")),
        ),
        (
            json!({"name": "deploy", "uid": 1001, "group": "adm"}),
            &existing,
            Ok(Some("usermod -u 1001 -g adm -- deploy")),
        ),
        (
            json!({"name": "deploy", "groups": ["sudo"], "append": true}),
            &existing,
            Ok(None),
        ),
        (
            json!({"name": "deploy", "groups": ["adm"], "append": true}),
            &existing,
            Ok(Some("usermod -a -G adm -- deploy")),
        ),
        (
            json!({"name": "deploy", "groups": "sudo,docker"}),
            &existing,
            Ok(None),
        ),
        (
            json!({"name": "deploy", "groups": "docker,sudo,deploy"}),
            &existing,
            Ok(None),
        ),
        (
            json!({"name": "deploy", "groups": ["sudo"]}),
            &existing,
            Ok(Some("usermod -G sudo -- deploy")),
        ),
        (
            json!({"name": "deploy", "groups": ""}),
            &existing,
            Ok(Some("usermod -G  -- deploy")),
        ),
        (
            json!({"name": "deploy", "groups": ["nope"]}),
            &existing,
            Err("Group nope does not exist"),
        ),
        (
            json!({"name": "deploy", "home": "/srv/d", "move_home": true}),
            &existing,
            Ok(Some("usermod -d /srv/d -m -- deploy")),
        ),
        (
            json!({"name": "deploy", "comment": "Deploy User"}),
            &existing,
            Ok(None),
        ),
        (
            json!({"name": "deploy", "password": "$6$salt$hash"}),
            &existing,
            Ok(None),
        ),
        (
            json!({"name": "deploy", "password": "$6$x$y"}),
            &existing,
            Ok(Some("usermod -p $6$x$y -- deploy")),
        ),
        (
            json!({"name": "deploy", "password": "$6$x$y", "update_password": "on_create"}),
            &existing,
            Ok(None),
        ),
        (
            json!({"name": "deploy", "state": "absent", "remove": true}),
            &existing,
            Ok(Some("userdel -r -- deploy")),
        ),
        (
            json!({"name": "deploy", "state": "absent", "groups": ["nope"]}),
            &missing,
            Ok(None),
        ),
        (
            json!({"name": "app"}),
            &missing,
            Ok(Some("useradd -m -- app")),
        ),
        (
            json!({"name": "app", "uid": 900, "group": "adm", "groups": ["sudo", "docker"], "shell": "/usr/sbin/nologin",
                   "home": "/srv/app", "comment": "App", "system": true, "create_home": false}),
            &missing,
            Ok(Some(
                "useradd -u 900 -g adm -s /usr/sbin/nologin -d /srv/app -c App -G sudo,docker -r -M -- app",
            )),
        ),
    ];
    for (given, found, expected) in cases {
        let got = decide(&SPEC.normalise(&args(given.clone())).unwrap(), found)
            .map(|argv| argv.map(|a| a.join(" ")));
        let expected = expected.map(|c| c.map(String::from)).map_err(String::from);
        assert_eq!(got, expected, "{given}");
    }
}

#[tokio::test]
async fn creates_and_reads_the_account_back() {
    let after = "@@passwd\napp:x:1001:1001::/home/app:/bin/sh\n@@primary\napp\n@@all\napp\n";
    let host = FakeHost::new().reply("useradd", after, 0);
    let result = run_on(
        &User,
        args(json!({"name": "app", "password": "$6$a$b"})),
        &host,
        false,
    )
    .await;
    assert!(result.changed && !result.failed, "{result:?}");
    assert_eq!(result.data["uid"], 1001);
    assert_eq!(result.data["home"], "/home/app");
    assert_eq!(result.data["password"], "NOT_LOGGING_PASSWORD");
    let scripts = host.scripts();
    assert!(scripts[0].contains("getent shadow -- app"));
    assert!(scripts[1].starts_with("useradd -p '$6$a$b' -m -- app || exit 1\n"));
}

#[tokio::test]
async fn check_mode_and_unchanged_accounts_run_one_probe() {
    let host = FakeHost::new().reply("getent passwd", DEPLOY, 0);
    let result = run_on(
        &User,
        args(json!({"name": "deploy", "shell": "/bin/zsh"})),
        &host,
        true,
    )
    .await;
    assert!(result.changed);
    let result = run_on(
        &User,
        args(json!({"name": "deploy", "groups": "sudo", "append": true})),
        &host,
        false,
    )
    .await;
    assert!(!result.changed);
    assert_eq!(result.data["groups"], "sudo,docker");
    assert_eq!(host.scripts().len(), 2);
}

#[tokio::test]
async fn check_mode_creates_an_account_whose_group_is_still_missing() {
    let group = json!({"name": "app", "group": "newgroup"});
    let checked = run_on(&User, args(group.clone()), &FakeHost::new(), true).await;
    assert!(checked.changed && !checked.failed, "{checked:?}");
    let applied = run_on(&User, args(group), &FakeHost::new(), false).await;
    assert_eq!(
        applied.msg.as_deref(),
        Some("Group newgroup does not exist")
    );
    let existing = FakeHost::new().reply("getent passwd", DEPLOY, 0);
    let modified = run_on(
        &User,
        args(json!({"name": "deploy", "group": "newgroup"})),
        &existing,
        true,
    )
    .await;
    assert!(modified.failed, "{modified:?}");
}

#[tokio::test]
async fn failures_and_hostile_values() {
    let host = FakeHost::new().reply("useradd", "", 6);
    let result = run_on(
        &User,
        args(json!({"name": "x", "comment": "$(reboot)'\n"})),
        &host,
        false,
    )
    .await;
    assert!(result.failed);
    assert_eq!(result.msg.as_deref(), Some("boom"));
    assert!(host.scripts()[1].starts_with("useradd -c '$(reboot)'\\''\n' -m -- x || exit 1\n"));
    let result = run_on(
        &User,
        args(json!({"name": "a\nb"})),
        &FakeHost::new(),
        false,
    )
    .await;
    assert!(result.failed);
}

#[tokio::test]
async fn real_shell_runs_with_stubbed_account_tools() {
    let host = StubHost::new()
        .stub(
            "getent",
            "passwd",
            "deploy:x:1000:1000:Deploy:/home/deploy:/bin/bash\n",
            0,
        )
        .stub("getent", "group", "sudo:x:27:\n", 0)
        .stub("id", "-gn", "deploy\n", 0)
        .stub("id", "-Gn", "deploy\n", 0)
        .stub("usermod", "", "", 0);
    let comment = format!(
        "x'; touch {}; echo '\n$(id)",
        host.scratch("pwned").display()
    );
    let result = run_on(
        &User,
        args(json!({"name": "deploy", "groups": "sudo", "append": true, "comment": comment})),
        &host,
        false,
    )
    .await;
    assert!(result.changed && !result.failed, "{result:?}");
    assert_eq!(result.data["home"], "/home/deploy");
    let calls = host.calls();
    let probe = "getent [passwd] [--] [deploy]\nid [-gn] [--] [deploy]\nid [-Gn] [--] [deploy]\n\
                 getent [group] [--] [sudo]\n";
    let usermod = format!("usermod [-a] [-G] [sudo] [-c] [{comment}] [--] [deploy]\n");
    assert_eq!(calls, format!("{probe}{usermod}{probe}"));
    assert!(!host.scratch("pwned").exists());
}
