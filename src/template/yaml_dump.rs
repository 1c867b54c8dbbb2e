//! YAML text written the way PyYAML's `yaml.dump` writes it (what Ansible's `to_yaml` and
//! `to_nice_yaml` print): sorted keys, indentless sequences under mapping keys, YAML 1.1 quoting
//! of strings that would read back as something else, and folding of long lines.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::python::float_repr;

/// How to lay out the YAML.
#[derive(Debug, Clone, Copy)]
pub struct DumpOptions {
    /// Spaces per nesting level (PyYAML's `indent`).
    pub indent: usize,
    /// The column after which long scalars are folded (PyYAML's `width`).
    pub width: usize,
    /// `Some(false)`: block style everywhere; `None`: collections of scalars in flow style
    /// (PyYAML's `default_flow_style`).
    pub flow: Option<bool>,
    /// Whether mapping keys are sorted (PyYAML's `sort_keys`, on by default).
    pub sort_keys: bool,
}

/// Writes `value` as one YAML document.
pub fn dump(value: &Value, options: DumpOptions) -> String {
    let mut emitter = Emitter {
        out: String::new(),
        options: DumpOptions {
            indent: options.indent.clamp(2, 9),
            ..options
        },
        indent: None,
        column: 0,
        whitespace: true,
        indention: true,
        open_ended: false,
        flow_level: 0,
    };
    emitter.node(value, Context::Root);
    emitter.indent = None;
    emitter.write_indent();
    if emitter.open_ended {
        emitter.write_indicator("...", true, false, false);
        emitter.write_indent();
    }
    emitter.out
}

/// Where a node sits, which decides indentation and which scalar styles are allowed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Root,
    SequenceItem,
    MappingKey,
    MappingValue,
}

struct Emitter {
    out: String,
    options: DumpOptions,
    indent: Option<usize>,
    column: usize,
    whitespace: bool,
    indention: bool,
    open_ended: bool,
    flow_level: usize,
}

impl Emitter {
    fn node(&mut self, value: &Value, context: Context) {
        match value {
            Value::Array(items) if !items.is_empty() && !self.flow_collection(value) => {
                self.block_sequence(items, context)
            }
            Value::Object(map) if !map.is_empty() && !self.flow_collection(value) => {
                self.block_mapping(map)
            }
            Value::Array(items) => self.flow_sequence(items),
            Value::Object(map) => self.flow_mapping(map),
            scalar => self.scalar(scalar, context),
        }
    }

    /// Whether a non-empty collection is written in flow style.
    fn flow_collection(&self, value: &Value) -> bool {
        if self.flow_level > 0 {
            return true;
        }
        match self.options.flow {
            Some(flow) => flow,
            None => {
                children(value).all(|child| !matches!(child, Value::Array(_) | Value::Object(_)))
            }
        }
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) -> Option<usize> {
        let previous = self.indent;
        self.indent = Some(match previous {
            None if flow => self.options.indent,
            None => 0,
            Some(i) if indentless => i,
            Some(i) => i + self.options.indent,
        });
        previous
    }

    fn block_sequence(&mut self, items: &[Value], context: Context) {
        let indentless = context == Context::MappingValue && !self.indention;
        let previous = self.increase_indent(false, indentless);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(item, Context::SequenceItem);
        }
        self.indent = previous;
    }

    fn block_mapping(&mut self, map: &serde_json::Map<String, Value>) {
        let previous = self.increase_indent(false, false);
        for (key, value) in self.entries(map) {
            self.write_indent();
            self.scalar(&Value::String(key.clone()), Context::MappingKey);
            self.write_indicator(":", false, false, false);
            self.node(value, Context::MappingValue);
        }
        self.indent = previous;
    }

    fn flow_sequence(&mut self, items: &[Value]) {
        self.write_indicator("[", true, true, false);
        self.flow_level += 1;
        let previous = self.increase_indent(true, false);
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.write_indicator(",", false, false, false);
            }
            if self.column > self.options.width {
                self.write_indent();
            }
            self.node(item, Context::SequenceItem);
        }
        self.indent = previous;
        self.flow_level -= 1;
        self.write_indicator("]", false, false, false);
    }

    fn flow_mapping(&mut self, map: &serde_json::Map<String, Value>) {
        self.write_indicator("{", true, true, false);
        self.flow_level += 1;
        let previous = self.increase_indent(true, false);
        for (i, (key, value)) in self.entries(map).into_iter().enumerate() {
            if i > 0 {
                self.write_indicator(",", false, false, false);
            }
            if self.column > self.options.width {
                self.write_indent();
            }
            self.scalar(&Value::String(key.clone()), Context::MappingKey);
            self.write_indicator(":", false, false, false);
            self.node(value, Context::MappingValue);
        }
        self.indent = previous;
        self.flow_level -= 1;
        self.write_indicator("}", false, false, false);
    }

    fn scalar(&mut self, value: &Value, context: Context) {
        let previous = self.increase_indent(true, false);
        let simple_key = context == Context::MappingKey;
        let split = !simple_key;
        match value {
            Value::String(text) => {
                let analysis = analyze(text);
                let plain_allowed = if self.flow_level > 0 {
                    analysis.allow_flow_plain
                } else {
                    analysis.allow_block_plain
                };
                if plain_allowed
                    && !(simple_key && (text.is_empty() || analysis.multiline))
                    && !resolves_to_non_string(text)
                {
                    self.write_plain(text, split, context == Context::Root);
                } else if analysis.allow_single_quoted && !(simple_key && analysis.multiline) {
                    self.write_single_quoted(text, split);
                } else {
                    self.write_double_quoted(text);
                }
            }
            other => self.write_plain(&scalar_text(other), split, context == Context::Root),
        }
        self.indent = previous;
    }

    fn write(&mut self, data: &str) {
        self.column += data.chars().count();
        self.out.push_str(data);
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        whitespace: bool,
        indention: bool,
    ) {
        if !self.whitespace && need_whitespace {
            self.write(" ");
        }
        self.write(indicator);
        self.whitespace = whitespace;
        self.indention = self.indention && indention;
        self.open_ended = false;
    }

    fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.write_line_break();
        }
        if self.column < indent {
            self.whitespace = true;
            let pad = " ".repeat(indent - self.column);
            self.write(&pad);
        }
    }

    fn write_line_break(&mut self) {
        self.whitespace = true;
        self.indention = true;
        self.column = 0;
        self.out.push('\n');
    }

    fn write_plain(&mut self, text: &str, split: bool, root: bool) {
        if root {
            self.open_ended = true;
        }
        if text.is_empty() {
            return;
        }
        if !self.whitespace {
            self.write(" ");
        }
        self.whitespace = false;
        self.indention = false;
        let chars: Vec<char> = text.chars().collect();
        let mut start = 0;
        for end in 0..=chars.len() {
            let ch = chars.get(end).copied();
            let in_spaces = start < end && chars[start] == ' ';
            if in_spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > self.options.width && split {
                        self.write_indent();
                        self.whitespace = false;
                        self.indention = false;
                    } else {
                        self.write(&chars[start..end].iter().collect::<String>());
                    }
                    start = end;
                }
            } else if ch.is_none() || ch == Some(' ') {
                self.write(&chars[start..end].iter().collect::<String>());
                start = end;
            }
        }
    }

    fn write_single_quoted(&mut self, text: &str, split: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let (mut spaces, mut breaks) = (false, false);
        let mut start = 0;
        for end in 0..=chars.len() {
            let ch = chars.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end
                        && self.column > self.options.width
                        && split
                        && start != 0
                        && end != chars.len()
                    {
                        self.write_indent();
                    } else {
                        self.write(&chars[start..end].iter().collect::<String>());
                    }
                    start = end;
                }
            } else if breaks {
                if ch != Some('\n') {
                    self.write_line_break();
                    for _ in start..end {
                        self.write_line_break();
                    }
                    self.write_indent();
                    start = end;
                }
            } else if matches!(ch, None | Some(' ' | '\n' | '\'')) && start < end {
                self.write(&chars[start..end].iter().collect::<String>());
                start = end;
            }
            if ch == Some('\'') {
                self.write("''");
                start = end + 1;
            }
            spaces = ch == Some(' ');
            breaks = ch == Some('\n');
        }
        self.write_indicator("'", false, false, false);
    }

    fn write_double_quoted(&mut self, text: &str) {
        self.write_indicator("\"", true, false, false);
        let mut escaped = String::new();
        for c in text.chars() {
            match c {
                '\0' => escaped.push_str("\\0"),
                '\x07' => escaped.push_str("\\a"),
                '\x08' => escaped.push_str("\\b"),
                '\t' => escaped.push_str("\\t"),
                '\n' => escaped.push_str("\\n"),
                '\x0b' => escaped.push_str("\\v"),
                '\x0c' => escaped.push_str("\\f"),
                '\r' => escaped.push_str("\\r"),
                '\x1b' => escaped.push_str("\\e"),
                '"' => escaped.push_str("\\\""),
                '\\' => escaped.push_str("\\\\"),
                '\u{85}' => escaped.push_str("\\N"),
                '\u{a0}' => escaped.push_str("\\_"),
                '\u{2028}' => escaped.push_str("\\L"),
                '\u{2029}' => escaped.push_str("\\P"),
                c if is_printable(c) => escaped.push(c),
                c if (c as u32) <= 0xff => escaped.push_str(&format!("\\x{:02X}", c as u32)),
                c if (c as u32) <= 0xffff => escaped.push_str(&format!("\\u{:04X}", c as u32)),
                c => escaped.push_str(&format!("\\U{:08X}", c as u32)),
            }
        }
        self.write(&escaped);
        self.write_indicator("\"", false, false, false);
    }
}

impl Emitter {
    /// A mapping's entries, sorted by key unless `sort_keys` is off.
    fn entries<'m>(&self, map: &'m serde_json::Map<String, Value>) -> Vec<(&'m String, &'m Value)> {
        let mut entries: Vec<_> = map.iter().collect();
        if self.options.sort_keys {
            entries.sort_by(|a, b| a.0.cmp(b.0));
        }
        entries
    }
}

fn children(value: &Value) -> Box<dyn Iterator<Item = &Value> + '_> {
    match value {
        Value::Array(items) => Box::new(items.iter()),
        Value::Object(map) => Box::new(map.values()),
        _ => Box::new(std::iter::empty()),
    }
}

/// How PyYAML writes a non-string scalar.
fn scalar_text(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or_default();
            if f.is_nan() {
                return ".nan".into();
            }
            if f.is_infinite() {
                return if f > 0.0 { ".inf" } else { "-.inf" }.into();
            }
            let text = float_repr(f);
            if !text.contains('.') && text.contains('e') {
                text.replacen('e', ".0e", 1)
            } else {
                text
            }
        }
        other => other.to_string(),
    }
}

/// Printable characters PyYAML writes as they are (with `allow_unicode=True`).
fn is_printable(c: char) -> bool {
    matches!(c, '\n' | '\x20'..='\x7e' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
        && c != '\u{feff}'
}

/// What PyYAML's `analyze_scalar` decides about a string.
struct Analysis {
    multiline: bool,
    allow_flow_plain: bool,
    allow_block_plain: bool,
    allow_single_quoted: bool,
}

fn analyze(text: &str) -> Analysis {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return Analysis {
            multiline: false,
            allow_flow_plain: false,
            allow_block_plain: true,
            allow_single_quoted: true,
        };
    }
    let (mut flow_indicators, mut block_indicators) = (false, false);
    if text.starts_with("---") || text.starts_with("...") {
        (flow_indicators, block_indicators) = (true, true);
    }
    let (mut line_breaks, mut special) = (false, false);
    let (mut leading_space, mut leading_break) = (false, false);
    let (mut trailing_space, mut trailing_break) = (false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let is_blank = |c: Option<&char>| matches!(c, None | Some(' ' | '\t' | '\r' | '\n' | '\0'));
    let mut preceded_by_whitespace = true;
    for (index, &ch) in chars.iter().enumerate() {
        let followed_by_whitespace = is_blank(chars.get(index + 1));
        if index == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(ch) {
                (flow_indicators, block_indicators) = (true, true);
            }
            if ch == '?' || ch == ':' {
                flow_indicators = true;
                block_indicators |= followed_by_whitespace;
            }
            if ch == '-' && followed_by_whitespace {
                (flow_indicators, block_indicators) = (true, true);
            }
        } else {
            if ",?[]{}".contains(ch) {
                flow_indicators = true;
            }
            if ch == ':' {
                flow_indicators = true;
                block_indicators |= followed_by_whitespace;
            }
            if ch == '#' && preceded_by_whitespace {
                (flow_indicators, block_indicators) = (true, true);
            }
        }
        if matches!(ch, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}') {
            line_breaks = true;
        }
        if !is_printable(ch) {
            special = true;
        }
        let last = index == chars.len() - 1;
        if ch == ' ' {
            leading_space |= index == 0;
            trailing_space |= last;
            break_space |= previous_break;
            (previous_space, previous_break) = (true, false);
        } else if ch == '\n' {
            leading_break |= index == 0;
            trailing_break |= last;
            space_break |= previous_space;
            (previous_space, previous_break) = (false, true);
        } else {
            (previous_space, previous_break) = (false, false);
        }
        preceded_by_whitespace = is_blank(Some(&ch));
    }
    let mut analysis = Analysis {
        multiline: line_breaks,
        allow_flow_plain: true,
        allow_block_plain: true,
        allow_single_quoted: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break || line_breaks {
        analysis.allow_flow_plain = false;
        analysis.allow_block_plain = false;
    }
    if break_space {
        analysis.allow_single_quoted = false;
    }
    if space_break || special {
        analysis.allow_flow_plain = false;
        analysis.allow_block_plain = false;
        analysis.allow_single_quoted = false;
    }
    if flow_indicators {
        analysis.allow_flow_plain = false;
    }
    if block_indicators {
        analysis.allow_block_plain = false;
    }
    analysis
}

/// Whether a plain scalar would read back (YAML 1.1, as PyYAML resolves) as a bool, number,
/// null, timestamp or merge key rather than a string.
fn resolves_to_non_string(text: &str) -> bool {
    static IMPLICIT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r"^(?:",
            r"yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF",
            r"|[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?",
            r"|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?",
            r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*",
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
            r"|[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+",
            r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+",
            r"|<<|~|null|Null|NULL|=",
            r"|[0-9]{4}-[0-9]{2}-[0-9]{2}",
            r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}",
            r"(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?",
            r")$"
        ))
        .expect("the YAML 1.1 implicit-type pattern is valid")
    });
    text.is_empty() || IMPLICIT.is_match(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NICE: DumpOptions = DumpOptions {
        indent: 4,
        width: 80,
        flow: Some(false),
        sort_keys: true,
    };
    const PLAIN: DumpOptions = DumpOptions {
        indent: 2,
        width: 80,
        flow: None,
        sort_keys: true,
    };

    fn sample() -> Value {
        json!({"b": [1, "two", {"x": null, "y": true}],
               "a": {"k": "yes", "n": "1.5", "e": "", "s": "a: b", "m": "line1\nline2", "q": "it's"},
               "c": [], "d": {}, "l": [[1, 2], [3]]})
    }

    // Expected texts printed by PyYAML 6 with Ansible's arguments.
    #[test]
    fn flow_style_for_collections_of_scalars_like_to_yaml() {
        assert_eq!(
            dump(&sample(), PLAIN),
            "a: {e: '', k: 'yes', m: 'line1\n\n    line2', n: '1.5', q: it's, s: 'a: b'}\n\
             b:\n- 1\n- two\n- {x: null, y: true}\nc: []\nd: {}\nl:\n- [1, 2]\n- [3]\n"
        );
        assert_eq!(dump(&json!("x"), PLAIN), "x\n...\n");
        assert_eq!(dump(&json!([1, 2]), PLAIN), "[1, 2]\n");
    }

    #[test]
    fn block_style_with_indent_4_like_to_nice_yaml() {
        assert_eq!(
            dump(&sample(), NICE),
            "a:\n    e: ''\n    k: 'yes'\n    m: 'line1\n\n        line2'\n    n: '1.5'\n    \
             q: it's\n    s: 'a: b'\nb:\n- 1\n- two\n-   x: null\n    y: true\nc: []\nd: {}\n\
             l:\n-   - 1\n    - 2\n-   - 3\n"
        );
        assert_eq!(dump(&json!([1, 2]), NICE), "- 1\n- 2\n");
    }

    #[test]
    fn strings_are_quoted_like_pyyaml() {
        let items = json!([
            "a",
            "é",
            "null",
            "~",
            "012",
            "0x1f",
            "on",
            "No",
            "- a",
            "a #b",
            "#c",
            "@x",
            "tab\there",
            " lead",
            "trail ",
            "x:y",
            "*",
            "1e3",
            ".5",
            "3.",
            "1_000",
            "2001-01-01",
            "<<",
            "=",
            "\"q\"",
            "a\\b",
            "%x",
            "!x",
            "?",
            "a?",
            "{x",
            "x}",
            ",x",
            "x,",
            "[x",
            "x]",
            "a\u{1}b"
        ]);
        let expected = "- a\n- é\n- 'null'\n- '~'\n- '012'\n- '0x1f'\n- 'on'\n- 'No'\n- '- a'\n\
            - 'a #b'\n- '#c'\n- '@x'\n- \"tab\\there\"\n- ' lead'\n- 'trail '\n- x:y\n- '*'\n\
            - 1e3\n- '.5'\n- '3.'\n- '1_000'\n- '2001-01-01'\n- '<<'\n- '='\n- '\"q\"'\n- a\\b\n\
            - '%x'\n- '!x'\n- '?'\n- a?\n- '{x'\n- x}\n- ',x'\n- x,\n- '[x'\n- x]\n- \"a\\x01b\"\n";
        assert_eq!(dump(&items, NICE), expected);
    }

    #[test]
    fn numbers_print_like_pyyaml() {
        let value = json!({"a": 1.0, "b": 1e20, "c": 0.1, "e": -3});
        assert_eq!(dump(&value, NICE), "a: 1.0\nb: 1.0e+20\nc: 0.1\ne: -3\n");
    }

    #[test]
    fn long_lines_fold_at_the_width() {
        let long = "word ".repeat(20).trim_end().to_string();
        let expected = format!(
            "a: {}\n    {}\n",
            "word ".repeat(16).trim_end(),
            "word ".repeat(4).trim_end()
        );
        assert_eq!(dump(&json!({ "a": long }), NICE), expected);
    }
}
