//! GitHub Actions (`GITHUB_ACTIONS=true`): failed tasks become `::error` annotations on the
//! playbook line that failed, each play's output is folded into a `::group::`, and a Markdown
//! recap table is appended to the job's step summary (`$GITHUB_STEP_SUMMARY`).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Event, HostResult, Recap, Reporter, Status};
use crate::error::exit_meaning;

/// Writes workflow commands and the step summary.
pub struct GithubReporter<W: Write> {
    out: W,
    groups: bool,
    in_group: bool,
    workspace: Option<PathBuf>,
    summary: Option<PathBuf>,
    playbook: String,
    run_id: String,
    recap: Option<Recap>,
}

impl<W: Write> GithubReporter<W> {
    /// A reporter writing workflow commands to `out`. `groups` folds each play into a group (only
    /// useful when the play's lines go to the same stream). Annotation paths are made relative
    /// to `workspace` (`$GITHUB_WORKSPACE`); the recap table is appended to `summary`
    /// (`$GITHUB_STEP_SUMMARY`).
    pub fn new(out: W, groups: bool, workspace: Option<PathBuf>, summary: Option<PathBuf>) -> Self {
        GithubReporter {
            out,
            groups,
            in_group: false,
            workspace,
            summary,
            playbook: String::new(),
            run_id: String::new(),
            recap: None,
        }
    }

    fn end_group(&mut self) {
        if self.in_group {
            let _ = writeln!(self.out, "::endgroup::");
            self.in_group = false;
        }
    }

    fn annotate(&mut self, result: &HostResult) {
        let title = match result.status {
            Status::Unreachable => format!("UNREACHABLE: {}", result.task),
            _ => format!("FAILED: {}", result.task),
        };
        let mut properties = Vec::new();
        if let Some((file, line, column)) = result.file_line_column() {
            let file = relative_to(file, self.workspace.as_deref());
            properties.push(format!("file={}", escape_property(&file)));
            properties.push(format!("line={line}"));
            properties.push(format!("col={column}"));
        }
        properties.push(format!("title={}", escape_property(&title)));
        let message = format!("{}: {}", result.host, result.message());
        let _ = writeln!(
            self.out,
            "::error {}::{}",
            properties.join(","),
            escape_data(&message)
        );
    }

    fn append_summary(&self, exit_code: i32, duration: std::time::Duration) {
        let (Some(path), Some(recap)) = (&self.summary, &self.recap) else {
            return;
        };
        let text = summary_markdown(
            &self.playbook,
            &self.run_id,
            recap,
            exit_code,
            duration.as_secs_f64(),
        );
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut file| file.write_all(text.as_bytes()));
        if let Err(e) = written {
            tracing::warn!("cannot append to the step summary {}: {e}", path.display());
        }
    }
}

impl<W: Write + Send> Reporter for GithubReporter<W> {
    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted(info) => {
                self.playbook = info.playbook.clone();
                self.run_id = info.run_id.to_string();
            }
            Event::PlayStarted { name, .. } if self.groups => {
                self.end_group();
                let _ = writeln!(self.out, "::group::PLAY [{}]", escape_data(name));
                self.in_group = true;
            }
            Event::HostResult(result)
                if matches!(result.status, Status::Failed | Status::Unreachable) =>
            {
                self.annotate(result)
            }
            Event::Recap(recap) => {
                self.end_group();
                self.recap = Some(recap.clone());
            }
            Event::RunFinished {
                exit_code,
                duration,
            } => self.append_summary(*exit_code, *duration),
            Event::PlayStarted { .. }
            | Event::TaskStarted { .. }
            | Event::HostResult(_)
            | Event::Warning { .. } => {}
        }
        let _ = self.out.flush();
    }
}

/// Escapes a workflow command's message (`%`, CR and LF), as the runner decodes it.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value: the message escapes plus `:` and `,`.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// `file` relative to the workspace when it lies inside it, else as given.
fn relative_to(file: &str, workspace: Option<&Path>) -> String {
    let inside = workspace.and_then(|workspace| {
        let workspace = workspace.canonicalize().ok()?;
        let file = Path::new(file).canonicalize().ok()?;
        file.strip_prefix(&workspace)
            .ok()
            .map(|p| p.display().to_string())
    });
    inside.unwrap_or_else(|| file.to_string())
}

/// The recap as a Markdown section: a heading with the outcome and one table row per host.
fn summary_markdown(
    playbook: &str,
    run_id: &str,
    recap: &Recap,
    exit_code: i32,
    seconds: f64,
) -> String {
    let mark = if exit_code == 0 { "✅" } else { "❌" };
    let mut text = format!(
        "### {mark} deployer `{}`: {} (exit {exit_code})\n\n",
        playbook.replace('`', "'"),
        exit_meaning(exit_code)
    );
    text.push_str("| Host | ok | changed | unreachable | failed | skipped | rescued | ignored | rolled back |\n");
    text.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (host, s) in &recap.hosts {
        text.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            host.replace('|', "\\|"),
            s.ok,
            s.changed,
            s.unreachable,
            s.failed,
            s.skipped,
            s.rescued,
            s.ignored,
            s.rolled_back
        ));
    }
    text.push_str(&format!("\nRun `{run_id}` took {seconds:.1} s.\n\n"));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{HostStats, RunId, RunInfo};
    use std::time::Duration;

    #[test]
    fn annotation_data_and_properties_are_escaped() {
        assert_eq!(escape_data("50%\r\nnext"), "50%25%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }

    #[test]
    fn plays_are_grouped_failures_annotated_and_the_recap_summarised() {
        let dir = tempfile::tempdir().unwrap();
        let playbook = dir.path().join("site.yml");
        std::fs::write(&playbook, "- hosts: all\n").unwrap();
        let summary = dir.path().join("summary.md");
        let mut out = Vec::new();
        let mut reporter = GithubReporter::new(
            &mut out,
            true,
            Some(dir.path().to_path_buf()),
            Some(summary.clone()),
        );
        reporter.event(&Event::RunStarted(RunInfo {
            run_id: RunId::generate(),
            playbook: "site.yml".into(),
            inventory: "inv.yml".into(),
            check: false,
            diff: false,
            hosts: vec!["web|1".into()],
            version: "0".into(),
            started_at: "2024-05-01T12:00:05Z".into(),
        }));
        reporter.event(&Event::PlayStarted {
            name: "web".into(),
            hosts: vec!["web|1".into()],
        });
        reporter.event(&Event::HostResult(HostResult {
            host: "web|1".into(),
            delegated_to: None,
            task: "restart: app, now".into(),
            location: format!("{}:4:7", playbook.display()),
            module: "command".into(),
            status: Status::Failed,
            item: None,
            result: serde_json::json!({"msg": "100% broken\nsee log", "failed": true}),
            diffs: Vec::new(),
            duration: Duration::ZERO,
        }));
        let mut recap = Recap::default();
        recap.hosts.insert(
            "web|1".into(),
            HostStats {
                ok: 1,
                failed: 1,
                ..HostStats::default()
            },
        );
        reporter.event(&Event::Recap(recap));
        reporter.event(&Event::RunFinished {
            exit_code: 2,
            duration: Duration::from_secs(3),
        });
        drop(reporter);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "::group::PLAY [web]\n\
             ::error file=site.yml,line=4,col=7,title=FAILED%3A restart%3A app%2C now::web|1: 100%25 broken%0Asee log\n\
             ::endgroup::\n"
        );
        let markdown = std::fs::read_to_string(&summary).unwrap();
        assert!(
            markdown.contains("### ❌ deployer `site.yml`: some hosts failed (exit 2)"),
            "{markdown}"
        );
        assert!(
            markdown.contains("| web\\|1 | 1 | 0 | 0 | 1 | 0 | 0 | 0 | 0 |\n"),
            "{markdown}"
        );
    }
}
