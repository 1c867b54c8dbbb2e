//! Values in INI inventories, read like Ansible reads them with Python's `ast.literal_eval`:
//! a Python literal (number, string, `True`/`False`/`None`, list, tuple, dict, set) becomes a typed
//! value, and anything else stays the text it was (`yes`, `0644`, `hello world`).
//!
//! A subset of Python: no complex numbers, bytes become text, and integers beyond 64 bits or
//! infinite floats stay text.

use serde_json::{Map, Value};

/// Deepest nesting of brackets read as a literal; deeper text stays text.
const MAX_DEPTH: usize = 64;

/// The value of an INI `key=value`'s right-hand side.
pub(super) fn parse_value(text: &str) -> Value {
    literal(text).unwrap_or_else(|| Value::String(text.to_owned()))
}

/// The Python literal that is the whole of `text`, if it is one.
fn literal(text: &str) -> Option<Value> {
    let mut reader = Reader {
        text,
        pos: 0,
        depth: 0,
    };
    let value = reader.value()?;
    reader.skip_space();
    (reader.pos == text.len()).then_some(value)
}

struct Reader<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl Reader<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// Skips whitespace and `#` comments, then consumes `c` if it is next.
    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        let found = self.peek() == Some(c);
        if found {
            self.pos += c.len_utf8();
        }
        found
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\n' | '\r' | '\x0c' => self.pos += 1,
                '#' => {
                    self.pos = self
                        .rest()
                        .find('\n')
                        .map_or(self.text.len(), |i| self.pos + i)
                }
                _ => break,
            }
        }
    }

    fn value(&mut self) -> Option<Value> {
        self.skip_space();
        let c = self.peek()?;
        if matches!(c, '[' | '(' | '{') {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return None;
            }
            let value = match c {
                '[' => self.items(']').map(Value::Array),
                '(' => self.parenthesized(),
                _ => self.braces(),
            };
            self.depth -= 1;
            return value;
        }
        if c.is_ascii_digit() || matches!(c, '.' | '+' | '-') {
            return self.number();
        }
        if string_prefix_len(self.rest()).is_some() {
            return self.strings();
        }
        let word_len = (self.rest())
            .find(|c: char| !c.is_alphanumeric() && c != '_')
            .unwrap_or(self.rest().len());
        let value = match &self.rest()[..word_len] {
            "True" => Value::Bool(true),
            "False" => Value::Bool(false),
            "None" => Value::Null,
            _ => return None,
        };
        self.pos += word_len;
        Some(value)
    }

    /// Comma-separated values up to `close` (the opening bracket is consumed); a trailing comma is
    /// allowed.
    fn items(&mut self, close: char) -> Option<Vec<Value>> {
        self.bump();
        let mut items = Vec::new();
        loop {
            if self.eat(close) {
                return Some(items);
            }
            items.push(self.value()?);
            if !self.eat(',') {
                return self.eat(close).then_some(items);
            }
        }
    }

    /// `(1)` is `1`; `()`, `(1,)` and `(1, 2)` are tuples, which become lists.
    fn parenthesized(&mut self) -> Option<Value> {
        let start = self.pos;
        self.bump();
        if self.eat(')') {
            return Some(Value::Array(Vec::new()));
        }
        let first = self.value()?;
        if self.eat(')') {
            return Some(first);
        }
        self.pos = start;
        self.items(')').map(Value::Array)
    }

    /// `{}` and `{k: v}` are dicts; `{a, b}` is a set, which becomes a list without repeats.
    fn braces(&mut self) -> Option<Value> {
        let start = self.pos;
        self.bump();
        if self.eat('}') {
            return Some(Value::Object(Map::new()));
        }
        self.value()?;
        let is_dict = self.eat(':');
        self.pos = start;
        if !is_dict {
            let mut set: Vec<Value> = Vec::new();
            for item in self.items('}')? {
                if item.is_array() || item.is_object() {
                    return None;
                }
                if !set.contains(&item) {
                    set.push(item);
                }
            }
            return Some(Value::Array(set));
        }
        self.bump();
        let mut map = Map::new();
        loop {
            if self.eat('}') {
                return Some(Value::Object(map));
            }
            let key = match self.value()? {
                Value::String(s) => s,
                Value::Array(_) | Value::Object(_) => return None,
                other => other.to_string(),
            };
            if !self.eat(':') {
                return None;
            }
            map.insert(key, self.value()?);
            if !self.eat(',') {
                return self.eat('}').then_some(Value::Object(map));
            }
        }
    }

    /// An int or float, with at most one sign (Python's `-5`, `+1.5`, `0x1F`, `1_000`, `1e3`).
    fn number(&mut self) -> Option<Value> {
        let negative = match self.peek()? {
            '-' => true,
            '+' => false,
            _ => return self.unsigned(),
        };
        self.bump();
        self.skip_space();
        let value = self.unsigned()?;
        Some(match value {
            _ if !negative => value,
            Value::Number(n) if n.is_i64() => Value::from(-n.as_i64()?),
            Value::Number(n) => Value::from(-n.as_f64()?),
            _ => return None,
        })
    }

    fn unsigned(&mut self) -> Option<Value> {
        let len = (self.rest().char_indices())
            .find(|&(i, c)| {
                let exponent_sign = matches!(c, '+' | '-')
                    && i > 0
                    && matches!(self.rest().as_bytes()[i - 1], b'e' | b'E');
                !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || exponent_sign)
            })
            .map_or(self.rest().len(), |(i, _)| i);
        let token = &self.rest()[..len];
        let value = number_value(token)?;
        self.pos += len;
        Some(value)
    }

    /// One or more adjacent string literals, concatenated like Python does.
    fn strings(&mut self) -> Option<Value> {
        let mut text = String::new();
        while let Some(prefix_len) = string_prefix_len(self.rest()) {
            let raw = self.rest()[..prefix_len].contains(['r', 'R']);
            self.pos += prefix_len;
            self.string(raw, &mut text)?;
            self.skip_space();
        }
        Some(Value::String(text))
    }

    /// One quoted string (single, double or triple quotes), appended to `out`.
    fn string(&mut self, raw: bool, out: &mut String) -> Option<()> {
        let quote = self.bump()?;
        let triple: String = [quote; 3].iter().collect();
        let close = if self.rest().starts_with(&triple[1..]) {
            self.pos += 2;
            triple.as_str()
        } else {
            &triple[..1]
        };
        loop {
            if self.rest().starts_with(close) {
                self.pos += close.len();
                return Some(());
            }
            match self.bump()? {
                '\n' if close.len() == 1 => return None,
                '\\' if raw => {
                    out.push('\\');
                    out.push(self.bump()?);
                }
                '\\' => self.escape(out)?,
                c => out.push(c),
            }
        }
    }

    /// The character after a backslash, decoded into `out`.
    fn escape(&mut self, out: &mut String) -> Option<()> {
        let c = self.bump()?;
        let decoded = match c {
            '\n' => return Some(()),
            '\\' | '\'' | '"' => c,
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'a' => '\x07',
            'b' => '\x08',
            'f' => '\x0c',
            'v' => '\x0b',
            '0'..='7' => {
                let len = 1
                    + (self.rest().chars().take(2))
                        .take_while(|c| c.is_digit(8))
                        .count();
                let digits = &self.text[self.pos - 1..self.pos - 1 + len];
                self.pos += len - 1;
                char::from_u32(u32::from_str_radix(digits, 8).ok()?)?
            }
            'x' | 'u' | 'U' => {
                let len = match c {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let digits = self.rest().get(..len)?;
                let code = u32::from_str_radix(digits, 16).ok()?;
                self.pos += len;
                char::from_u32(code)?
            }
            _ => {
                out.push('\\');
                c
            }
        };
        out.push(decoded);
        Some(())
    }
}

/// The length of a string literal's prefix and opening quote position: `'`, `"`, `r'`, `b"`,
/// `rb'`..., or `None` when no string starts here. (f-strings are not literals.)
fn string_prefix_len(text: &str) -> Option<usize> {
    let prefix_len = text.find(['\'', '"'])?;
    let prefix = text[..prefix_len].to_ascii_lowercase();
    matches!(prefix.as_str(), "" | "r" | "u" | "b" | "br" | "rb").then_some(prefix_len)
}

/// A Python number token without sign: `42`, `0`, `00`, `0x1F`, `0o17`, `0b101`, `1_000`, `1.5`,
/// `.5`, `5.`, `1e3`. Leading zeros on a non-zero int (`0644`) are not Python.
fn number_value(token: &str) -> Option<Value> {
    let lower = token.to_ascii_lowercase();
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(digits) = lower.strip_prefix(prefix) {
            let digits = digits.strip_prefix('_').unwrap_or(digits);
            let value = i64::from_str_radix(&digits.replace('_', ""), radix).ok();
            return value.filter(|_| grouped(digits, radix)).map(Value::from);
        }
    }
    let parts_ok = (lower.split(['.', 'e', '+', '-'])).all(|p| p.is_empty() || grouped(p, 10));
    let plain = lower.replace('_', "");
    if !parts_ok || !plain.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    if plain.contains(['.', 'e']) {
        let float: f64 = plain.parse().ok()?;
        return float.is_finite().then(|| Value::from(float));
    }
    if plain.len() > 1 && plain.starts_with('0') && plain.bytes().any(|b| b != b'0') {
        return None;
    }
    plain.parse::<i64>().ok().map(Value::from)
}

/// Digits of `radix` with single underscores between them (`1_000`), as Python allows.
fn grouped(digits: &str, radix: u32) -> bool {
    let placed = !digits.starts_with('_') && !digits.ends_with('_') && !digits.contains("__");
    placed && !digits.is_empty() && digits.chars().all(|c| c == '_' || c.is_digit(radix))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_python_literals_like_ansible() {
        let cases = [
            ("5", json!(5)),
            ("-5", json!(-5)),
            ("+5", json!(5)),
            ("00", json!(0)),
            ("0x1F", json!(31)),
            ("0o17", json!(15)),
            ("0b101", json!(5)),
            ("1_000", json!(1000)),
            ("1.5", json!(1.5)),
            (".5", json!(0.5)),
            ("5.", json!(5.0)),
            ("1e3", json!(1000.0)),
            ("-2.5e-1", json!(-0.25)),
            ("True", json!(true)),
            ("None", json!(null)),
            ("'single'", json!("single")),
            ("\"a\" 'b'", json!("ab")),
            ("u'x'", json!("x")),
            (r#"r"\n""#, json!("\\n")),
            (
                r#""tab\there\x41\u00e9\101\q""#,
                json!("tab\there\u{41}é\u{41}\\q"),
            ),
            ("'''tri'ple'''", json!("tri'ple")),
            ("[1, 'a', [True]]", json!([1, "a", [true]])),
            ("[1, 2,]", json!([1, 2])),
            ("(1)", json!(1)),
            ("()", json!([])),
            ("(1,)", json!([1])),
            ("(1, (2, 3))", json!([1, [2, 3]])),
            ("{}", json!({})),
            (
                "{'k': 1, 2: None, True: 'x'}",
                json!({"k": 1, "2": null, "true": "x"}),
            ),
            ("{1, 2, 1}", json!([1, 2])),
            ("5 # a comment", json!(5)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_value(text), expected, "{text}");
        }
    }

    #[test]
    fn anything_else_stays_text() {
        let cases = [
            "yes",
            "true",
            "none",
            "0644",
            "1j",
            "--5",
            "hello world",
            "1__0",
            "_1",
            "1e999",
            "99999999999999999999",
            "f'x'",
            "'unclosed",
            "[1, 2",
            "{'a': 1, 'b'}",
            "{[1]}",
            "[1] [2]",
            "{{ jinja }}",
            "/usr/bin/python3",
            "1.2.3.4",
            "",
        ];
        for text in cases {
            assert_eq!(parse_value(text), json!(text), "{text}");
        }
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(parse_value(&deep), json!(deep));
    }
}
