//! What a run prints and writes for people and for CI: plain lines off a terminal, JSON events,
//! JUnit, GitHub Actions annotations and summary, exit codes, and `no_log` everywhere.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::support::{Project, local_inventory};

/// Two local hosts; `b` fails the second task; the third is skipped on `a`.
const PLAYBOOK: &str = "- hosts: app
  gather_facts: false
  tasks:
    - name: say hi
      command: echo hi
    - name: fail on b
      command: 'false'
      when: inventory_hostname == 'b'
";

fn project() -> Project {
    Project::local(&["a", "b"], PLAYBOOK)
}

#[test]
fn off_a_terminal_output_is_plain_lines_without_escape_codes() {
    let p = project();
    for env in [vec![], vec![("NO_COLOR", "1")]] {
        let out = p.site_env(&["-vv"], &env);
        assert_eq!(out.code, 2, "{}", out.stdout);
        assert!(out.stdout.contains("fatal: [b]: FAILED!"), "{}", out.stdout);
        assert!(out.stdout.contains("PLAY RECAP"), "{}", out.stdout);
        assert!(
            out.stderr.contains("command=echo hi"),
            "-vv shows commands: {}",
            out.stderr
        );
        assert!(!out.stdout.contains('\x1b'), "{:?}", out.stdout);
        assert!(!out.stderr.contains('\x1b'), "{:?}", out.stderr);
    }
}

#[test]
fn json_output_is_one_versioned_event_per_line_in_order() {
    let out = project().site(&["--format", "json"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let events = out.events();
    assert!(events.iter().all(|e| e["v"] == 1), "{}", out.stdout);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "run_started",
            "play_started",
            "task_started",
            "host_result",
            "host_result",
            "task_started",
            "host_result",
            "host_result",
            "recap",
            "run_finished"
        ]
    );
    let started = &events[0];
    assert_eq!(started["playbook"], "site.yml");
    assert_eq!(started["hosts"], serde_json::json!(["a", "b"]));
    assert_eq!(started["check"], false);
    let run_id = started["run_id"].as_str().unwrap();
    assert_eq!(run_id.len(), "20240501T120005Z-abcd".len(), "{run_id}");
    assert_eq!(&run_id[8..9], "T");
    assert!(started["started_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(events[5]["location"], "site.yml:6:7");
    assert_eq!(events[8]["hosts"]["a"]["ok"], 1, "{}", out.stdout);
    let finished = events.last().unwrap();
    assert_eq!(finished["exit_code"], 2);
    assert!(finished["duration"].as_f64().unwrap() >= 0.0);
}

#[test]
fn junit_report_has_a_suite_per_play_and_a_case_per_host_and_task() {
    let p = project();
    let out = p.site(&["--junit", "reports/junit.xml"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let xml = std::fs::read_to_string(p.join("reports/junit.xml")).unwrap();
    let report = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    assert_eq!(report.test_suites.len(), 1);
    let suite = &report.test_suites[0];
    assert_eq!(suite.name.as_str(), "app");
    assert_eq!(
        (suite.tests, suite.failures, suite.skipped, suite.errors),
        (4, 1, 1, 0),
        "{xml}"
    );
    let failed = suite
        .test_cases
        .iter()
        .find(|c| {
            !matches!(
                c.status,
                quick_junit::TestCaseStatus::Success { .. }
                    | quick_junit::TestCaseStatus::Skipped { .. }
            )
        })
        .unwrap();
    assert_eq!(failed.name.as_str(), "fail on b");
    assert_eq!(failed.classname.as_ref().unwrap().as_str(), "b");
}

#[test]
fn github_actions_get_annotations_groups_and_a_step_summary() {
    let p = project();
    let summary = p.join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let (summary_text, workspace) = (summary.display().to_string(), p.path_str());
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_STEP_SUMMARY", summary_text.as_str()),
        ("GITHUB_WORKSPACE", workspace.as_str()),
    ];
    let out = p.site_env(&[], &env);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stdout.starts_with("::group::PLAY [app]\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "::error file=site.yml,line=6,col=7,title=FAILED%3A fail on b::b: non-zero return code\n"
        ),
        "{}",
        out.stdout
    );
    let endgroup = out.stdout.find("::endgroup::").expect("the group ends");
    assert!(endgroup < out.stdout.find("PLAY RECAP").unwrap());
    let markdown = std::fs::read_to_string(&summary).unwrap();
    assert!(
        markdown.starts_with("earlier step\n### ❌ deployer"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| a | 1 | 1 | 0 | 0 | 1 | 0 | 0 | 0 |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| b | 1 | 1 | 0 | 1 | 0 | 0 | 0 | 0 |"),
        "{markdown}"
    );

    let json = p.site_env(&["--format", "json"], &env);
    assert!(
        json.stdout.lines().all(|l| l.starts_with('{')),
        "annotations stay off the JSON stream: {}",
        json.stdout
    );
    assert!(
        json.stderr.contains("::error file=site.yml"),
        "{}",
        json.stderr
    );
}

#[test]
fn a_no_log_task_never_shows_its_secret_in_any_output() {
    const SECRET: &str = "hunter2-s3cret";
    let p = Project::new()
        .file("inv.yml", &local_inventory(&["a"]))
        .file(
            "site.yml",
            &format!(
                "- hosts: app\n  gather_facts: false\n  tasks:\n    - name: use the secret\n      shell: echo {SECRET}; echo {SECRET} >&2; exit 1\n      no_log: true\n"
            ),
        );
    let summary = p.join("summary.md");
    let summary_text = summary.display().to_string();
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_STEP_SUMMARY", summary_text.as_str()),
    ];
    for format in ["text", "json"] {
        let out = p.site_env(&["-vvvv", "--format", format, "--junit", "junit.xml"], &env);
        assert_eq!(out.code, 2, "{}", out.stdout);
        assert!(out.stdout.contains("no_log"), "{}", out.stdout);
        for (name, text) in [
            ("stdout", out.stdout),
            ("stderr", out.stderr),
            (
                "junit",
                std::fs::read_to_string(p.join("junit.xml")).unwrap(),
            ),
            ("summary", std::fs::read_to_string(&summary).unwrap()),
        ] {
            assert!(
                !text.contains(SECRET),
                "{format} {name} shows the secret:\n{text}"
            );
        }
    }
}

#[test]
fn exit_codes_tell_success_failed_hosts_and_bad_input() {
    let p = project();
    let ok = p.site(&["--limit", "a"]);
    assert_eq!(ok.code, 0, "{}", ok.stdout);
    assert_eq!(p.site(&[]).code, 2);
    let bad = p.file(
        "bad.yml",
        "- hosts: app\n  tasks:\n    - no_such_module: {}\n",
    );
    assert_eq!(bad.run(&["run", "bad.yml", "-i", "inv.yml"]).code, 4);
    assert_eq!(bad.run(&["run", "site.yml", "-i", "missing.yml"]).code, 4);
}

#[test]
fn an_unreachable_host_exits_with_3() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let p = Project::new()
        .file(
            "inv.yml",
            &format!(
                "all:\n  hosts:\n    closed:\n      ansible_host: 127.0.0.1\n      ansible_port: {port}\n      ansible_user: nobody\n"
            ),
        )
        .file(
            "site.yml",
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: 'true'\n",
        );
    let out = p.site(&["--timeout", "5"]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("fatal: [closed]: UNREACHABLE!"),
        "{}",
        out.stdout
    );
}

#[test]
fn ctrl_c_stops_after_the_running_task_prints_the_recap_and_exits_130() {
    let p = Project::new().file("inv.yml", &local_inventory(&["a"]));
    let marker = p.join("never");
    let p = p.file(
        "site.yml",
        &format!(
            "- hosts: app\n  gather_facts: false\n  tasks:\n    - name: wait\n      command: sleep 2\n    - name: after\n      command: touch {}\n",
            marker.display()
        ),
    );
    let mut child = p
        .command(&["run", "site.yml", "-i", "inv.yml"], &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.starts_with("TASK [wait]") {
            break;
        }
    }
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    for line in lines {
        seen.push_str(&line.unwrap());
        seen.push('\n');
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(seen.contains("interrupted"), "{seen}");
    assert!(!seen.contains("TASK [after]"), "{seen}");
    assert!(seen.contains("PLAY RECAP"), "{seen}");
    assert!(
        !marker.exists(),
        "the task after the interruption did not run"
    );
}
