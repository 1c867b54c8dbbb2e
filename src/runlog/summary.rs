//! A run log read back for people: plays, tasks, one line per host result with its duration, the
//! warnings and the recap. Events it does not know are skipped, so older and newer logs both read.

use std::fmt::Write;

use serde_json::Value;

/// Renders the lines of an `events.jsonl` as a readable summary.
pub fn summarize(lines: &[String]) -> String {
    let mut out = String::new();
    for event in lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
    {
        let text = |key: &str| event.get(key).and_then(Value::as_str).unwrap_or_default();
        match text("event") {
            "play_started" => {
                let _ = writeln!(out, "PLAY [{}]", text("name"));
            }
            "task_started" => {
                let kind = if event["handler"] == true {
                    "HANDLER"
                } else {
                    "TASK"
                };
                let _ = writeln!(out, "  {kind} [{}]  {}", text("task"), text("location"));
            }
            "host_result" => host_line(&mut out, &event),
            "warning" => {
                let _ = writeln!(out, "  WARNING: {}", text("message"));
            }
            "recap" => recap(&mut out, &event),
            _ => {}
        }
    }
    out
}

fn host_line(out: &mut String, event: &Value) {
    let text = |key: &str| event.get(key).and_then(Value::as_str).unwrap_or_default();
    let mut line = format!(
        "    {:<11} {}  {:.2}s",
        text("status"),
        text("host"),
        event["duration"].as_f64().unwrap_or(0.0)
    );
    if let Some(item) = event["item"].as_str() {
        let _ = write!(line, "  (item={item})");
    }
    if matches!(text("status"), "failed" | "ignored" | "unreachable") {
        let result = &event["result"];
        let reason = [&result["msg"], &result["stderr"]]
            .into_iter()
            .filter_map(Value::as_str)
            .find(|s| !s.trim().is_empty())
            .and_then(|s| s.lines().next());
        if let Some(reason) = reason {
            let _ = write!(line, "  {reason}");
        }
    }
    let _ = writeln!(out, "{line}");
}

fn recap(out: &mut String, event: &Value) {
    let _ = writeln!(out, "RECAP");
    let Some(hosts) = event["hosts"].as_object() else {
        return;
    };
    let width = hosts.keys().map(String::len).max().unwrap_or(0);
    for (host, stats) in hosts {
        let counts: Vec<String> = stats
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(out, "  {host:width$}  {}", counts.join(" "));
    }
    if let Some(locked) = event["locked_out"].as_array() {
        let names: Vec<&str> = locked.iter().filter_map(Value::as_str).collect();
        let _ = writeln!(out, "  locked out: {}", names.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_reads_as_plays_tasks_host_lines_and_a_recap() {
        let lines: Vec<String> = [
            r#"{"event":"play_started","name":"web","hosts":["a"]}"#,
            r#"{"event":"task_started","task":"say","location":"site.yml:4:7","handler":false}"#,
            r#"{"event":"host_result","host":"a","status":"ok","item":null,"result":{},"duration":0.5}"#,
            r#"{"event":"host_result","host":"a","status":"failed","item":"x","result":{"msg":"boom\nmore"},"duration":1.25}"#,
            r#"{"event":"something_newer"}"#,
            r#"{"event":"recap","hosts":{"a":{"ok":1,"failed":1}}}"#,
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            summarize(&lines),
            "PLAY [web]\n  TASK [say]  site.yml:4:7\n    ok          a  0.50s\n    failed      a  1.25s  (item=x)  boom\nRECAP\n  a  ok=1 failed=1\n"
        );
    }
}
