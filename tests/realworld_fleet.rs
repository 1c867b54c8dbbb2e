//! Differential runs of real-world cases (`tests/realworld/`) on the Docker fleet: each case of
//! [`CASES`] runs in `--check --diff` mode on two app hosts, once with `ansible-playbook` and once
//! with deployer. The outcomes (exit code, recap per host, and whether the hosts' `/etc`, `/opt`,
//! `/srv` and `/usr/local` stayed untouched) must be the same, except for the cases listed in
//! `tests/realworld/fleet_known.tsv` with both outcomes and the reason: there, today's outcomes
//! must still be the listed ones, so a change in either direction is noticed.
//! `DEPLOYER_REALWORLD_BLESS=1` rewrites that list from today's outcomes. Other fleet tests change
//! the same folders (users, units, releases), so the comparison is `#[ignore]`d from the parallel
//! suite and scripts/test runs it alone.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::differential::{ansible_home, ansible_playbook, path_with};
use crate::fleet::{Fleet, fleet};
use crate::realworld::{cases, corpus_dir, first_error, in_parallel, read_tsv, write_tsv};
use crate::support::Output;

/// The cases run on the fleet: roles for Debian hosts that ansible-core runs without collections.
const CASES: &[&str] = &[
    "ansistrano_deploy",
    "ansistrano_rollback",
    "geerlingguy_apache",
    "geerlingguy_composer",
    "geerlingguy_firewall",
    "geerlingguy_git",
    "geerlingguy_haproxy",
    "geerlingguy_memcached",
    "geerlingguy_nginx",
    "geerlingguy_pip",
    "geerlingguy_redis",
    "geerlingguy_security",
    "geerlingguy_supervisor",
    "oefenweb_timezone",
    "robertdebock_hostname",
    "robertdebock_users",
    "weareinteractive_users",
    "willshersystems_sshd",
];

/// The app hosts the cases run on.
const HOSTS: &[&str] = &["app1", "app2"];

/// What one tool did with a case: exit code, recap per host, and the hosts' state afterwards.
fn outcome(output: &Output, untouched: bool) -> String {
    let recap = if output.stdout.contains("PLAY RECAP") {
        HOSTS
            .iter()
            .map(|h| format!("{h}[{}]", output.recap(h)))
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        "no recap".into()
    };
    let state = if untouched { "untouched" } else { "changed" };
    format!("rc={} {recap} state={state}", output.code)
}

/// A digest of what a check run must not change on a host.
fn state(fleet: &Fleet, host: &str) -> String {
    let (code, out) = fleet.exec(
        host,
        "find /etc /opt /srv /usr/local -xdev \\( -type f -o -type l \\) \
         -printf '%p %m %u %s %T@\\n' 2>/dev/null | LC_ALL=C sort | sha256sum",
    );
    assert_eq!(code, 0, "cannot digest {host}: {out}");
    out
}

fn states(fleet: &Fleet) -> Vec<String> {
    HOSTS.iter().map(|h| state(fleet, h)).collect()
}

/// Runs `program ARGS play.yml -i FLEET --check --diff -l HOSTS` in the case's folder.
fn check_run(mut command: Command, case: &str, fleet: &Fleet) -> Output {
    command
        .arg("play.yml")
        .args(["-i".as_ref(), fleet.inventory().as_os_str()])
        .args(["--check", "--diff", "-l", &HOSTS.join(",")])
        .current_dir(corpus_dir().join(case))
        .output()
        .expect("the playbook runs")
        .into()
}

/// Marks the hosts' apt lists as just updated, so that `cache_valid_time` gives the same answer
/// to both tools (lists that age past it between the two runs would make them differ).
fn freshen_apt_lists(fleet: &Fleet) {
    for host in HOSTS {
        let (code, out) = fleet.exec(
            host,
            "mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/update-success-stamp",
        );
        assert_eq!(code, 0, "cannot touch the apt stamp on {host}: {out}");
    }
}

/// The outcomes of ansible-playbook and of deployer for one case.
fn run_case(ansible: &Path, fleet: &Fleet, case: &str) -> (String, String, Output) {
    freshen_apt_lists(fleet);
    let before = states(fleet);
    let mut command = Command::new(ansible);
    command
        .env("ANSIBLE_CONFIG", ansible_home().join("ansible.cfg"))
        .env("LC_ALL", "C.UTF-8")
        .env("ANSIBLE_NOCOLOR", "1");
    let by_ansible = check_run(command, case, fleet);
    let between = states(fleet);
    let runs = tempfile::tempdir().expect("a temporary runs folder");
    let mut command = Command::new(env!("CARGO_BIN_EXE_deployer"));
    command
        .arg("run")
        .arg("--runs-dir")
        .arg(runs.path())
        .env("NO_COLOR", "1")
        // The modules deployer has not built in run with this Ansible's code.
        .env("PATH", path_with(ansible.parent().expect("a folder")));
    let by_deployer = check_run(command, case, fleet);
    let after = states(fleet);
    (
        outcome(&by_ansible, before == between),
        outcome(&by_deployer, between == after),
        by_deployer,
    )
}

/// A known difference: both outcomes and why they differ.
#[derive(Clone, Debug, PartialEq)]
struct Known {
    ansible: String,
    deployer: String,
    reason: String,
}

const HEADER: &str = "# case\tansible-core outcome\tdeployer outcome\treason";

impl Known {
    fn from_cols(cols: &[String]) -> Self {
        let [ansible, deployer, reason] = cols else {
            panic!("fleet_known.tsv: four columns in {cols:?}");
        };
        Known {
            ansible: ansible.clone(),
            deployer: deployer.clone(),
            reason: reason.clone(),
        }
    }
}

fn read_known() -> BTreeMap<String, Known> {
    read_tsv("fleet_known.tsv")
        .into_iter()
        .map(|(case, cols)| (case, Known::from_cols(&cols)))
        .collect()
}

/// The reason to note for a new difference: deployer's first error, or a request to explain.
fn first_reason(output: &Output) -> String {
    match first_error(output).as_str() {
        "-" => "TODO: explain".into(),
        line => format!("deployer rejects it: {line}"),
    }
}

#[test]
fn fleet_cases_are_in_the_corpus() {
    let corpus = cases();
    for case in CASES {
        assert!(
            corpus.iter().any(|c| c == case),
            "{case} is not in tests/realworld"
        );
    }
    for case in read_known().keys() {
        assert!(
            CASES.contains(&case.as_str()),
            "fleet_known.tsv lists {case}, not a fleet case"
        );
    }
}

#[test]
#[ignore = "needs hosts no other test changes meanwhile (their /etc and /srv are compared): \
            scripts/test runs it alone, `realworld_fleet:: -- --ignored`"]
fn fleet_cases_match_ansible_or_the_known_differences() {
    let Some(ansible) = ansible_playbook() else {
        return;
    };
    let Some(fleet) = fleet() else { return };
    let known = read_known();
    let mut today = BTreeMap::new();
    let mut problems = Vec::new();
    let runs = in_parallel(CASES, |case| run_case(ansible, fleet, case));
    for (case, (by_ansible, by_deployer, output)) in CASES.iter().zip(runs) {
        if by_ansible.contains("no recap") {
            problems.push(format!(
                "{case}: ansible-playbook did not run it: `{by_ansible}`"
            ));
        }
        match known.get(*case) {
            Some(k) if k.ansible != by_ansible || k.deployer != by_deployer => {
                problems.push(format!(
                    "{case}: listed as ansible `{}` / deployer `{}`, now ansible `{by_ansible}` / \
                     deployer `{by_deployer}`",
                    k.ansible, k.deployer
                ))
            }
            None if by_ansible != by_deployer => problems.push(format!(
                "{case}: ansible `{by_ansible}`, deployer `{by_deployer}`\n{}{}",
                output.stdout, output.stderr
            )),
            _ => {}
        }
        if by_ansible != by_deployer {
            let reason = known
                .get(*case)
                .map_or_else(|| first_reason(&output), |k| k.reason.clone());
            let row = Known {
                ansible: by_ansible,
                deployer: by_deployer,
                reason,
            };
            today.insert(case.to_string(), row);
        }
    }
    if std::env::var_os("DEPLOYER_REALWORLD_BLESS").is_some() {
        let rows = today.iter().map(|(case, k)| {
            let cols = [&k.ansible, &k.deployer, &k.reason];
            (case, cols.into_iter().cloned().collect())
        });
        write_tsv("fleet_known.tsv", HEADER, rows);
        return;
    }
    assert!(
        problems.is_empty(),
        "real-world fleet cases changed (DEPLOYER_REALWORLD_BLESS=1 rewrites \
         tests/realworld/fleet_known.tsv once intended):\n{}",
        problems.join("\n")
    );
}
