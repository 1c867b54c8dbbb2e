//! `--junit FILE`: a JUnit XML report that CI systems display. One test suite per play, one
//! test case per host and task (loop items folded into their task); failures carry the task's
//! message, skips their reason. Written once, when the run finishes, through a temporary file
//! renamed into place so a reader never sees half a report.

use std::path::{Path, PathBuf};
use std::time::Duration;

use indexmap::IndexMap;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{Event, HostResult, Reporter, Status};

/// Collects results and writes the JUnit file at the end of the run.
pub struct JunitReporter {
    path: PathBuf,
    run_name: String,
    suites: Vec<Suite>,
}

/// One play's cases, by task location and host, in first-seen order.
struct Suite {
    name: String,
    cases: IndexMap<(String, String), Case>,
}

/// One host's result for one task, loop items folded in.
struct Case {
    task: String,
    host: String,
    status: Status,
    message: String,
    duration: Duration,
}

impl JunitReporter {
    /// A reporter that writes the report to `path` when the run finishes.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        JunitReporter {
            path: path.into(),
            run_name: "deployer".into(),
            suites: Vec::new(),
        }
    }

    fn add(&mut self, result: &HostResult) {
        if self.suites.is_empty() {
            self.suites.push(Suite {
                name: "(no play)".into(),
                cases: IndexMap::new(),
            });
        }
        let suite = self.suites.last_mut().expect("a suite");
        let key = (result.location.clone(), result.host.clone());
        let case = suite.cases.entry(key).or_insert_with(|| Case {
            task: result.task.clone(),
            host: result.host.clone(),
            status: result.status,
            message: result.message(),
            duration: Duration::ZERO,
        });
        case.duration += result.duration;
        if severity(result.status) > severity(case.status) {
            case.status = result.status;
            case.message = result.message();
        }
    }

    /// The report as JUnit XML.
    fn report(&self) -> Report {
        let mut report = Report::new(self.run_name.as_str());
        for suite in &self.suites {
            let mut test_suite = TestSuite::new(suite.name.as_str());
            test_suite.add_test_cases(suite.cases.values().map(test_case));
            report.add_test_suite(test_suite);
        }
        report
    }
}

fn test_case(case: &Case) -> TestCase {
    let status = match case.status {
        Status::Ok | Status::Changed | Status::Ignored => TestCaseStatus::success(),
        Status::Skipped => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(case.message.as_str());
            status
        }
        Status::Failed | Status::Unreachable => {
            let kind = if case.status == Status::Failed {
                NonSuccessKind::Failure
            } else {
                NonSuccessKind::Error
            };
            let mut status = TestCaseStatus::non_success(kind);
            status
                .set_message(case.message.as_str())
                .set_type(format!("{:?}", case.status).to_lowercase());
            status
        }
    };
    let mut test_case = TestCase::new(case.task.as_str(), status);
    test_case
        .set_classname(case.host.as_str())
        .set_time(case.duration);
    test_case
}

/// Which of two results of one task on one host the case reports: the worst.
fn severity(status: Status) -> u8 {
    match status {
        Status::Skipped => 0,
        Status::Ok => 1,
        Status::Changed => 2,
        Status::Ignored => 3,
        Status::Failed => 4,
        Status::Unreachable => 5,
    }
}

/// Writes `text` to `path` (creating its folder) through a temporary file in the same folder,
/// renamed into place.
pub(crate) fn write_atomically(path: &Path, text: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(folder)?;
    let mut file = tempfile::NamedTempFile::new_in(folder)?;
    file.write_all(text)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

impl Reporter for JunitReporter {
    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted(info) => self.run_name = format!("deployer {}", info.playbook),
            Event::PlayStarted { name, .. } => self.suites.push(Suite {
                name: name.clone(),
                cases: IndexMap::new(),
            }),
            Event::HostResult(result) => self.add(result),
            Event::RunFinished { .. } => {
                let written = self
                    .report()
                    .to_string()
                    .map_err(std::io::Error::other)
                    .and_then(|xml| write_atomically(&self.path, xml.as_bytes()));
                if let Err(e) = written {
                    tracing::error!("cannot write the JUnit report {}: {e}", self.path.display());
                }
            }
            Event::TaskStarted { .. } | Event::Warning { .. } | Event::Recap(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn result(host: &str, location: &str, status: Status, result: serde_json::Value) -> Event {
        Event::HostResult(HostResult {
            host: host.into(),
            delegated_to: None,
            task: format!("task at {location}"),
            location: location.into(),
            module: "command".into(),
            status,
            item: None,
            result,
            diffs: Vec::new(),
            duration: Duration::from_millis(250),
        })
    }

    #[test]
    fn one_suite_per_play_one_case_per_host_and_task_with_escaped_messages() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junit.xml");
        let mut reporter = JunitReporter::new(&path);
        reporter.event(&Event::PlayStarted {
            name: "web <tier>".into(),
            hosts: vec!["a".into(), "b".into()],
        });
        reporter.event(&result("a", "site.yml:3:7", Status::Ok, json!({})));
        reporter.event(&result(
            "b",
            "site.yml:3:7",
            Status::Failed,
            json!({"msg": "bad \"quote\" & <tag>"}),
        ));
        // Two loop items of one task on one host make one case, with the worst status.
        reporter.event(&result("a", "site.yml:5:7", Status::Changed, json!({})));
        reporter.event(&result(
            "a",
            "site.yml:5:7",
            Status::Skipped,
            json!({"skip_reason": "x"}),
        ));
        reporter.event(&Event::PlayStarted {
            name: "db".into(),
            hosts: vec!["c".into()],
        });
        reporter.event(&result(
            "c",
            "site.yml:9:7",
            Status::Skipped,
            json!({"msg": "skipped"}),
        ));
        reporter.event(&Event::RunFinished {
            exit_code: 2,
            duration: Duration::from_secs(1),
        });
        let xml = std::fs::read_to_string(&path).unwrap();
        let report = Report::deserialize_from_str(&xml).unwrap();
        assert_eq!(report.test_suites.len(), 2);
        let web = &report.test_suites[0];
        assert_eq!(web.name.as_str(), "web <tier>");
        assert_eq!((web.tests, web.failures), (3, 1));
        let failed = &web.test_cases[1];
        assert_eq!(failed.classname.as_ref().unwrap().as_str(), "b");
        match &failed.status {
            TestCaseStatus::NonSuccess { message, .. } => {
                assert_eq!(message.as_ref().unwrap().as_str(), "bad \"quote\" & <tag>")
            }
            other => panic!("{other:?}"),
        }
        assert!(xml.contains("&lt;tag&gt;"), "{xml}");
        assert_eq!(report.test_suites[1].skipped, 1, "{xml}");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file is left"
        );
    }
}
