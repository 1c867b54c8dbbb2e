//! Tests for `apt`: name parsing, dpkg/policy parsing, the decision table, and whole runs on a
//! fake host.

use super::*;
use crate::modules::testing::{FakeHost, StubHost, args, run_on};
use serde_json::json;

const DPKG: &str = "@@cache\nMtime=1000\nNow=1100\n@@dpkg\n\
curl:amd64\tinstall ok installed\t7.88.1-10\n\
nginx:amd64\tdeinstall ok config-files\t1.22.1-9\n\
libc6:amd64\tinstall ok installed\t2.36-9\n\
libc6:i386\tinstall ok installed\t2.36-9\n";
const POLICY: &str = "@@policy\ncurl:\n  Installed: 7.88.1-10\n  Candidate: 7.88.1-10+deb12u5\n\
  Version table:\n     7.88.1-10+deb12u5 500\n        500 http://deb.debian.org/debian bookworm/main\n\
git:\n  Installed: (none)\n  Candidate: 1:2.39.2-1.1\n";

fn known() -> HashMap<String, Known> {
    parse_known(&format!("{DPKG}{POLICY}"))
}

#[test]
fn package_names_are_checked() {
    let pinned = Wanted::parse("nginx=1.22.1-9").unwrap();
    assert_eq!(pinned.version.as_deref(), Some("1.22.1-9"));
    assert_eq!(Wanted::parse("libc6:i386").unwrap().name, "libc6:i386");
    assert_eq!(
        Wanted::parse("git=1:2.39.2-1.1").unwrap().install_spec(),
        "git=1:2.39.2-1.1"
    );
    for bad in [
        "", "-y", "a b", "x;reboot", "$(id)", "p=1 2", "p=", "nginx*", "a\nb",
    ] {
        assert!(Wanted::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn dpkg_and_policy_output_is_read() {
    let known = known();
    assert_eq!(known["curl"].installed.as_deref(), Some("7.88.1-10"));
    assert_eq!(
        known["curl"].candidate.as_deref(),
        Some("7.88.1-10+deb12u5")
    );
    assert_eq!(known["curl:amd64"].installed.as_deref(), Some("7.88.1-10"));
    assert!(known["nginx"].installed.is_none() && known["nginx"].config_files);
    assert!(known["libc6:i386"].installed.is_some());
    assert!(known["git"].installed.is_none());
}

#[test]
fn decision_table() {
    let known = known();
    let w = |s: &str| Wanted::parse(s).unwrap();
    let purge = Goal::Absent { purge: true };
    let keep = Goal::Absent { purge: false };
    type Case = (
        Goal,
        &'static str,
        Result<(Vec<&'static str>, Vec<&'static str>), &'static str>,
    );
    let cases: &[Case] = &[
        (Goal::Present, "curl", Ok((vec![], vec![]))),
        (Goal::Present, "git", Ok((vec!["git"], vec![]))),
        (Goal::Present, "nginx", Ok((vec!["nginx"], vec![]))),
        (Goal::Present, "curl=7.88.1-10", Ok((vec![], vec![]))),
        (
            Goal::Present,
            "curl=7.88.1-9",
            Ok((vec!["curl=7.88.1-9"], vec![])),
        ),
        (Goal::Latest, "curl", Ok((vec!["curl"], vec![]))),
        (Goal::Latest, "git", Ok((vec!["git"], vec![]))),
        (Goal::Latest, "libc6", Ok((vec![], vec![]))),
        (
            Goal::Latest,
            "curl=1",
            Err("version number inconsistent with state=latest: curl=1"),
        ),
        (keep, "curl", Ok((vec![], vec!["curl"]))),
        (keep, "nginx", Ok((vec![], vec![]))),
        (purge, "nginx", Ok((vec![], vec!["nginx"]))),
        (keep, "curl=1.0", Ok((vec![], vec![]))),
        (keep, "git", Ok((vec![], vec![]))),
    ];
    for (goal, name, expected) in cases {
        let got = decide(*goal, &[w(name)], &known);
        let expected = expected
            .clone()
            .map(|(i, r)| {
                let owned = |v: Vec<&str>| v.into_iter().map(String::from).collect::<Vec<_>>();
                (owned(i), owned(r))
            })
            .map_err(String::from);
        assert_eq!(got, expected, "{goal:?} {name}");
    }
}

#[test]
fn apt_get_summaries_tell_changes() {
    let none = "Reading package lists...\n0 upgraded, 0 newly installed, 0 to remove and 3 not upgraded.\n";
    assert_eq!(summary_changed(none), Some(false));
    assert_eq!(
        summary_changed("2 upgraded, 0 newly installed, 1 to remove and 0 not upgraded."),
        Some(true)
    );
    assert_eq!(summary_changed("nothing"), None);
}

#[tokio::test]
async fn installs_only_missing_packages_with_options() {
    let host = FakeHost::new().reply("dpkg-query", DPKG, 0);
    let result = run_on(
        &Apt,
        args(json!({"name": ["curl", "git"], "install_recommends": false})),
        &host,
        false,
    )
    .await;
    assert!(result.changed && !result.failed, "{result:?}");
    assert_eq!(result.data["cache_updated"], false);
    assert_eq!(
        host.changes(),
        [
            "DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confdef \
          -o Dpkg::Options::=--force-confold --no-install-recommends install -- git || exit 1\n"
        ]
    );
}

#[tokio::test]
async fn nothing_to_do_is_one_probe() {
    let host = FakeHost::new().reply("dpkg-query", DPKG, 0);
    let result = run_on(&Apt, args(json!({"name": "curl,libc6"})), &host, false).await;
    assert!(!result.changed && !result.failed);
    assert_eq!(host.scripts().len(), 1);
}

#[tokio::test]
async fn update_cache_respects_cache_valid_time() {
    // The probe says the lists are 100 s old.
    let fresh = FakeHost::new().reply("Mtime", DPKG, 0);
    let result = run_on(
        &Apt,
        args(json!({"update_cache": true, "cache_valid_time": 3600})),
        &fresh,
        false,
    )
    .await;
    assert!(!result.changed);
    assert_eq!(result.data["cache_updated"], false);
    assert_eq!(fresh.scripts().len(), 1);

    let stale = FakeHost::new().reply("Mtime", DPKG, 0);
    let result = run_on(
        &Apt,
        args(json!({"update_cache": true, "cache_valid_time": 60})),
        &stale,
        false,
    )
    .await;
    assert!(result.changed);
    assert_eq!(result.data["cache_updated"], true);
    assert!(stale.scripts()[1].starts_with("DEBIAN_FRONTEND=noninteractive apt-get update"));
}

#[tokio::test]
async fn update_without_valid_time_is_folded_into_the_probe() {
    let host = FakeHost::new().reply("Mtime", DPKG, 0);
    let result = run_on(
        &Apt,
        args(json!({"name": "curl", "state": "latest", "update_cache": true})),
        &host,
        false,
    )
    .await;
    let scripts = host.scripts();
    assert!(scripts[0].starts_with("DEBIAN_FRONTEND=noninteractive apt-get update"));
    assert!(scripts[0].contains("apt-cache policy -- curl"));
    assert_eq!(result.data["cache_updated"], true);
}

#[tokio::test]
async fn a_failed_update_says_so() {
    let host = FakeHost::new().reply("apt-get update", "", 100);
    let result = run_on(&Apt, args(json!({"update_cache": true})), &host, false).await;
    assert!(result.failed);
    assert_eq!(
        result.msg.as_deref(),
        Some("Failed to update apt cache: boom")
    );
}

#[tokio::test]
async fn check_mode_decides_without_apt_get() {
    let host = FakeHost::new().reply("dpkg-query", DPKG, 0);
    let result = run_on(
        &Apt,
        args(json!({"name": ["curl"], "state": "absent", "update_cache": true})),
        &host,
        true,
    )
    .await;
    assert!(result.changed);
    assert_eq!(result.data["cache_updated"], false);
    let scripts = host.scripts();
    assert_eq!(scripts.len(), 1);
    assert!(!scripts[0].contains("apt-get"));
}

#[tokio::test]
async fn autoremove_alone_reads_the_summary() {
    let host = FakeHost::new().reply(
        "autoremove",
        "0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n",
        0,
    );
    let result = run_on(&Apt, args(json!({"autoremove": true})), &host, true).await;
    assert!(!result.changed);
    assert!(host.scripts()[1].contains("apt-get -s -q"));
}

#[tokio::test]
async fn failures_and_hostile_names() {
    let host = FakeHost::new().reply("install", "", 100);
    let result = run_on(&Apt, args(json!({"name": "curl"})), &host, false).await;
    assert!(result.failed);
    assert_eq!(result.msg.as_deref(), Some("apt-get failed: boom"));
    let host = FakeHost::new();
    let result = run_on(&Apt, args(json!({"name": "x; reboot"})), &host, false).await;
    assert!(result.failed && host.scripts().is_empty());
    let result = run_on(
        &Apt,
        args(json!({"name": "curl", "default_release": "$(reboot)'"})),
        &FakeHost::new().reply("dpkg-query", "@@dpkg\n", 0),
        false,
    )
    .await;
    assert!(result.changed);
}

#[tokio::test]
async fn real_shell_runs_with_stubbed_dpkg_and_apt_get() {
    let host = StubHost::new()
        .stub(
            "dpkg-query",
            "-W",
            "curl:amd64\tinstall ok installed\t7.88\n",
            1,
        )
        .stub("apt-get", "", "", 0);
    let result = run_on(
        &Apt,
        args(json!({"name": ["curl", "git"], "default_release": "$(reboot)'"})),
        &host,
        false,
    )
    .await;
    assert!(result.changed && !result.failed, "{result:?}");
    assert_eq!(
        host.calls(),
        r"dpkg-query [-W] [-f=${Package}:${Architecture}\t${Status}\t${Version}\n] [--] [curl] [git]
apt-get [-y] [-q] [-o] [Dpkg::Options::=--force-confdef] [-o] [Dpkg::Options::=--force-confold] [-t] [$(reboot)'] [install] [--] [git]
"
    );
}

#[test]
fn deb_fields_and_paths_are_read() {
    let wanted = deb_fields("Package: probe\nVersion: 1:1.0-2\n").unwrap();
    assert_eq!(wanted.install_spec(), "probe=1:1.0-2");
    assert!(deb_fields("Package: x;reboot\nVersion: 1\n").is_err());
    assert!(deb_fields("Version: 1\n").is_err());
    assert_eq!(deb_file("/srv/p.deb"), "/srv/p.deb");
    assert_eq!(deb_file("p.deb"), "./p.deb");
}

/// `dpkg-deb -f` of a file holding `probe` 1.1.
const DEB_FIELDS: &str = "Package: probe\nVersion: 1.1\n";

#[tokio::test]
async fn deb_installs_the_file_unless_dpkg_has_its_version() {
    let host = FakeHost::new().reply("dpkg-deb -f", DEB_FIELDS, 0).reply(
        "dpkg-query",
        "@@dpkg\nprobe:all\tinstall ok installed\t1.0\n",
        0,
    );
    let result = run_on(&Apt, args(json!({"deb": "/srv/it's.deb"})), &host, false).await;
    assert!(result.changed && !result.failed, "{result:?}");
    let scripts = host.scripts();
    assert_eq!(
        scripts[0],
        r"dpkg-deb -f '/srv/it'\''s.deb' Package Version"
    );
    assert!(scripts[1].contains("-- probe"), "{}", scripts[1]);
    assert!(
        scripts[2].ends_with(" install -- '/srv/it'\\''s.deb' || exit 1\n"),
        "{}",
        scripts[2]
    );

    let same = FakeHost::new().reply("dpkg-deb -f", DEB_FIELDS, 0).reply(
        "dpkg-query",
        "@@dpkg\nprobe:all\tinstall ok installed\t1.1\n",
        0,
    );
    let result = run_on(&Apt, args(json!({"deb": "p.deb"})), &same, false).await;
    assert!(!result.changed && !result.failed, "{result:?}");
    assert_eq!(same.scripts().len(), 2);

    let check = FakeHost::new().reply("dpkg-deb -f", DEB_FIELDS, 0);
    let result = run_on(&Apt, args(json!({"deb": "p.deb"})), &check, true).await;
    assert!(result.changed && !result.failed, "{result:?}");
    assert_eq!(check.scripts().len(), 2);
}

#[tokio::test]
async fn deb_misuse_fails_before_installing() {
    for (task, msg) in [
        (
            json!({"deb": "/p.deb", "name": "probe"}),
            "parameters are mutually exclusive: deb|name",
        ),
        (
            json!({"deb": "/p.deb", "state": "absent"}),
            "deb only supports state=present",
        ),
        (
            json!({"deb": "/p.rpm"}),
            "deb: `/p.rpm` does not end in .deb (apt-get installs files only by that name)",
        ),
        (json!({"deb": "/p.deb"}), "cannot read /p.deb: boom"),
    ] {
        let host = FakeHost::new().reply("dpkg-deb", "", 2);
        let result = run_on(&Apt, args(task.clone()), &host, false).await;
        assert!(result.failed, "{task}");
        assert_eq!(result.msg.as_deref(), Some(msg), "{task}");
        assert!(host.scripts().iter().all(|s| !s.contains("apt-get")));
    }
}

#[test]
fn upgrade_modes_map_to_apt_get_verbs_as_without_aptitude() {
    assert_eq!(upgrade_verb("no"), Ok(None));
    assert_eq!(upgrade_verb("yes"), Ok(Some("upgrade --with-new-pkgs")));
    assert_eq!(upgrade_verb("true"), Ok(Some("upgrade --with-new-pkgs")));
    assert_eq!(upgrade_verb("safe"), Ok(Some("upgrade --with-new-pkgs")));
    assert_eq!(upgrade_verb("dist"), Ok(Some("dist-upgrade")));
    assert_eq!(upgrade_verb("full"), Ok(Some("dist-upgrade")));
    assert!(
        upgrade_verb("all")
            .unwrap_err()
            .contains("one of: dist, full")
    );
}
