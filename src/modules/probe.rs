//! Reading what the modules' probe scripts print: `Key=Value` lines and named sections.
//!
//! Probe scripts batch several host queries into one remote command; each query's output goes
//! after a `@@name` marker line (see [`marker`]). This file only parses; it runs nothing.

use std::collections::HashMap;

/// The shell line that starts the section `name` in a probe's output.
pub(super) fn marker(name: &str) -> String {
    format!("echo @@{name}")
}

/// The lines printed after the `@@name` marker, up to the next marker (empty when absent).
pub(super) fn section<'a>(output: &'a str, name: &str) -> &'a str {
    let header = format!("@@{name}");
    let mut offset = 0;
    let mut start = None;
    for line in output.split_inclusive('\n') {
        let bare = line.trim_end_matches('\n');
        match start {
            Some(from) if bare.starts_with("@@") => return &output[from..offset],
            None if bare == header => start = Some(offset + line.len()),
            _ => {}
        }
        offset += line.len();
    }
    start.map_or("", |from| &output[from..])
}

/// `Key=Value` lines as a map (the first `=` splits; later lines win; other lines are ignored).
pub(super) fn fields(text: &str) -> HashMap<&str, &str> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_split_at_markers() {
        let out = "@@a\nx=1\ny=2=3\n@@b\n@@c\nlast\n";
        assert_eq!(section(out, "a"), "x=1\ny=2=3\n");
        assert_eq!(section(out, "b"), "");
        assert_eq!(section(out, "c"), "last\n");
        assert_eq!(section(out, "missing"), "");
        let f = fields(section(out, "a"));
        assert_eq!((f["x"], f["y"]), ("1", "2=3"));
    }

    #[test]
    fn a_marker_name_inside_a_line_is_not_a_marker() {
        assert_eq!(section("junk @@a\n@@a\nv\n", "a"), "v\n");
        assert_eq!(marker("pkgs"), "echo @@pkgs");
    }
}
