//! PURE: TOML text -> a [`Table`] whose entries know their line (SPEC §3), and the
//! `[secrets] files` setting of a Streamlit config. No file is read here: `source` reads the
//! bytes, a central store (`store`) hands over a secret's text.

use std::path::PathBuf;
use std::sync::Arc;

use toml::de::{DeTable, DeValue};

use crate::value::Table;

/// TOML that cannot become a table. Messages name the place and never quote its content.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error(
        "{path}:{line}:{column}: invalid TOML: {message} (the line is not shown: it may hold a secret)"
    )]
    Syntax {
        path: String,
        line: u32,
        column: u32,
        message: String,
    },
    #[error("{path}:{line}: not valid UTF-8: a secrets file must be UTF-8 text")]
    NotUtf8 { path: String, line: u32 },
    #[error("{path}:{line}: the integer `{key}` does not fit in 64 bits: write it as a string")]
    IntegerRange {
        path: String,
        line: u32,
        key: String,
    },
    #[error(
        "{path}:{line}: `[secrets] files` must be a list of paths, e.g. `files = [\".streamlit/secrets.toml\"]`"
    )]
    BadSecretsFiles { path: String, line: u32 },
}

impl ParseError {
    /// The file (or store source) and line, and the column when known.
    pub fn place(&self) -> (&str, u32, Option<u32>) {
        match self {
            ParseError::Syntax {
                path, line, column, ..
            } => (path, *line, Some(*column)),
            ParseError::NotUtf8 { path, line }
            | ParseError::IntegerRange { path, line, .. }
            | ParseError::BadSecretsFiles { path, line } => (path, *line, None),
        }
    }
}

mod events;
#[cfg(test)]
mod rules;
mod tree;

/// Parse a TOML document into a table whose entries know their line.
pub fn parse_toml(name: &str, bytes: &[u8]) -> Result<Table, ParseError> {
    let text = utf8(name, bytes)?;
    let source: Arc<str> = name.into();
    events::build(text, &source).ok_or_else(|| refusal(name, text, &LineIndex::new(text)))
}

fn utf8<'a>(name: &str, bytes: &'a [u8]) -> Result<&'a str, ParseError> {
    std::str::from_utf8(bytes).map_err(|e| ParseError::NotUtf8 {
        path: name.to_string(),
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u32,
    })
}

/// Why a document `events::build` refused is refused, in the `toml` crate's words and at its
/// position: errors are rare, and this way they read exactly as they always have.
fn refusal(name: &str, text: &str, lines: &LineIndex) -> ParseError {
    let doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => return syntax_error(name, lines, &e),
    };
    match wide_integer(doc.get_ref(), lines, &mut Vec::new()) {
        Some((line, key)) => ParseError::IntegerRange {
            path: name.to_string(),
            line,
            key,
        },
        // Never seen: the tests hold the two parsers to the same verdict on every document.
        None => ParseError::Syntax {
            path: name.to_string(),
            line: 1,
            column: 1,
            message: "this document breaks a rule of TOML tables".to_string(),
        },
    }
}

fn syntax_error(name: &str, lines: &LineIndex, error: &toml::de::Error) -> ParseError {
    let offset = error.span().map_or(0, |span| span.start);
    // The parser's own message is a fixed description; keep it on one line.
    let message = error
        .message()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    ParseError::Syntax {
        path: name.to_string(),
        line: lines.line(offset),
        column: lines.column(offset),
        message,
    }
}

/// The first integer (in the tree's order) that does not fit in 64 bits: the line of its key
/// (of its array item, in an array) and its dotted key path.
fn wide_integer(
    table: &DeTable,
    lines: &LineIndex,
    path: &mut Vec<String>,
) -> Option<(u32, String)> {
    table.iter().find_map(|(key, value)| {
        path.push(key.get_ref().to_string());
        let found = wide_in_value(value.get_ref(), lines.line(key.span().start), lines, path);
        path.pop();
        found
    })
}

fn wide_in_value(
    value: &DeValue,
    line: u32,
    lines: &LineIndex,
    path: &mut Vec<String>,
) -> Option<(u32, String)> {
    match value {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .is_err()
            .then(|| (line, path.join("."))),
        DeValue::Array(items) => items.iter().find_map(|item| {
            wide_in_value(item.get_ref(), lines.line(item.span().start), lines, path)
        }),
        DeValue::Table(table) => wide_integer(table, lines, path),
        _ => None,
    }
}

/// A datetime as RFC 3339 text. TOML 1.1 may leave the seconds out; RFC 3339 may not.
fn datetime(text: &str) -> Option<String> {
    let mut d = text.parse::<toml::value::Datetime>().ok()?;
    if let Some(time) = &mut d.time {
        time.second.get_or_insert(0);
    }
    Some(d.to_string())
}

/// The parser hands over a `FromStr`-ready spelling; `nan` may carry a sign.
fn parse_float(text: &str) -> f64 {
    text.parse()
        .unwrap_or_else(|_| if text.ends_with("nan") { f64::NAN } else { 0.0 })
}

/// The `[secrets] files` setting of a Streamlit config file named `name`, if it has one.
pub fn secrets_files(name: &str, bytes: &[u8]) -> Result<Option<Vec<PathBuf>>, ParseError> {
    let text = utf8(name, bytes)?;
    let lines = LineIndex::new(text);
    let doc = DeTable::parse(text).map_err(|e| syntax_error(name, &lines, &e))?;
    let Some(secrets) = doc.get_ref().get("secrets") else {
        return Ok(None);
    };
    let Some(files) = secrets.get_ref().as_table().and_then(|t| t.get("files")) else {
        return Ok(None);
    };
    let bad = || ParseError::BadSecretsFiles {
        path: name.to_string(),
        line: lines.line(files.span().start),
    };
    let array = files.get_ref().as_array().ok_or_else(bad)?;
    array
        .iter()
        .map(|item| item.get_ref().as_str().map(PathBuf::from).ok_or_else(bad))
        .collect::<Result<_, _>>()
        .map(Some)
}

/// Byte offset -> 1-based line and column, without rescanning the text for every key.
struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
    /// The line found last.
    last: std::cell::Cell<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = Vec::with_capacity(text.len() / 32 + 1);
        starts.push(0);
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        Self {
            text,
            starts,
            last: std::cell::Cell::new(0),
        }
    }

    fn line_start(&self, offset: usize) -> (usize, usize) {
        // Keys are looked up in file order: the line after the last one found is checked first.
        let last = self.last.get();
        let next = |i: usize| self.starts.get(i + 1).is_none_or(|&start| start > offset);
        let i = if self.starts[last] <= offset && next(last) {
            last
        } else if self
            .starts
            .get(last + 1)
            .is_some_and(|&start| start <= offset)
            && next(last + 1)
        {
            last + 1
        } else {
            self.starts.partition_point(|&start| start <= offset).max(1) - 1
        };
        self.last.set(i);
        (i, self.starts[i])
    }

    fn line(&self, offset: usize) -> u32 {
        self.line_start(offset).0 as u32 + 1
    }

    fn column(&self, offset: usize) -> u32 {
        let (_, start) = self.line_start(offset);
        let before = self
            .text
            .get(start..offset.min(self.text.len()))
            .unwrap_or("");
        before.chars().count() as u32 + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flatten::{Options, flatten};

    /// The remembered line never changes an answer: every offset, forwards, backwards and
    /// jumping, gives the line a search from scratch gives.
    #[test]
    fn lines_in_any_order() {
        let text = "a = 1\n\n[t]\nb = 2\nc = \"x\"\nlast";
        let lines = LineIndex::new(text);
        let fresh = |offset: usize| 1 + text[..offset.min(text.len())].matches('\n').count() as u32;
        let forwards = 0..=text.len() + 2;
        let backwards = (0..=text.len()).rev();
        let jumping = [20, 3, 27, 0, 9, 9, 10, 31, 1];
        for offset in forwards.chain(backwards).chain(jumping) {
            assert_eq!(lines.line(offset), fresh(offset), "offset {offset}");
        }
    }

    fn vars(text: &str) -> Vec<(String, String)> {
        let table = parse_toml("s.toml", text.as_bytes()).unwrap();
        flatten(&table, &Options::default())
            .unwrap()
            .into_iter()
            .map(|v| (v.name, v.value))
            .collect()
    }

    fn one(text: &str) -> String {
        let all = vars(text);
        assert_eq!(all.len(), 1, "{text}: {all:?}");
        all[0].1.clone()
    }

    /// SPEC §3.2, one row per TOML spelling.
    #[test]
    fn values_from_toml_text() {
        let rows = [
            ("k = 0xff", "255"),
            ("k = 0o17", "15"),
            ("k = 0b101", "5"),
            ("k = 1_000", "1000"),
            ("k = +7", "7"),
            ("k = -9223372036854775808", "-9223372036854775808"),
            ("k = 5.0", "5.0"),
            ("k = -0.0", "-0.0"),
            ("k = 1e100", "1e+100"),
            ("k = 1e-7", "1e-07"),
            ("k = 0.30000000000000004", "0.30000000000000004"),
            ("k = 1_000.5", "1000.5"),
            ("k = inf", "inf"),
            ("k = +inf", "inf"),
            ("k = -inf", "-inf"),
            ("k = nan", "nan"),
            ("k = -nan", "nan"),
            ("k = true", "true"),
            ("k = 1979-05-27T07:32:00Z", "1979-05-27T07:32:00Z"),
            (
                "k = 1979-05-27T00:32:00.999999-07:00",
                "1979-05-27T00:32:00.999999-07:00",
            ),
            ("k = 1979-05-27T07:32:00", "1979-05-27T07:32:00"),
            ("k = 1979-05-27 07:32:00Z", "1979-05-27T07:32:00Z"),
            ("k = 1979-05-27", "1979-05-27"),
            ("k = 07:32:00", "07:32:00"),
            ("k = 07:32", "07:32:00"),
            ("k = 1979-05-27T07:32Z", "1979-05-27T07:32:00Z"),
            ("k = 07:32:00.5", "07:32:00.5"),
            ("k = \"multi\\nline\"", "multi\nline"),
            ("k = '''\nraw\\n\n'''", "raw\\n\n"),
            ("k = \"\"", ""),
            ("k = [\"a\", 1, true]", r#"["a",1,true]"#),
            (
                "k = [1979-05-27, 1.5, [], {x = 1}]",
                r#"["1979-05-27",1.5,[],{"x":1}]"#,
            ),
            ("k = [{b = 1, a = 2}]", r#"[{"b":1,"a":2}]"#),
        ];
        for (text, want) in rows {
            assert_eq!(one(text), want, "{text}");
        }
    }

    #[test]
    fn the_three_nested_forms_flatten_alike() {
        let want = vec![
            ("TRELLO_API_KEY".to_string(), "k".to_string()),
            ("TRELLO_OAUTH_TOKEN".to_string(), "t".to_string()),
        ];
        for text in [
            "trello = { api_key = \"k\", oauth = { token = \"t\" } }",
            "trello.api_key = \"k\"\ntrello.oauth.token = \"t\"",
            "[trello]\napi_key = \"k\"\n[trello.oauth]\ntoken = \"t\"",
        ] {
            assert_eq!(vars(text), want, "{text}");
        }
    }

    #[test]
    fn quoted_keys_and_arrays_of_tables() {
        assert_eq!(
            vars(
                "[my-app.\"api key\"]\n\"café.ß\" = \"v\"\n[[servers]]\nname = \"a\"\n[[servers]]\nname = \"b\""
            ),
            vec![
                ("MY_APP_API_KEY_CAF___".to_string(), "v".to_string()),
                (
                    "servers".to_string(),
                    r#"[{"name":"a"},{"name":"b"}]"#.to_string()
                ),
            ]
        );
    }

    #[test]
    fn entries_know_their_line() {
        let table = parse_toml("s.toml", b"a = 1\n\n[t]\n# c\nk = 2\n").unwrap();
        let vars = flatten(&table, &Options::default()).unwrap();
        let origins: Vec<String> = vars.iter().map(|v| v.origin.to_string()).collect();
        assert_eq!(origins, ["s.toml:1", "s.toml:5"]);
    }

    const SECRET: &str = "s3cr3t-Zq8wVx1L";

    #[test]
    fn syntax_errors_locate_but_never_quote() {
        let rows = [
            (
                format!("a = 1\nb = 2\napi_key = \"{SECRET}\" trailing\n"),
                3,
            ),
            (format!("a = 1\napi_key = \"{SECRET}\n"), 2),
            (
                format!("api_key = \"{SECRET}\"\napi_key = \"{SECRET}\"\n"),
                2,
            ),
            (format!("x = 1\n[t]\nk = \"{SECRET}\\q\"\n"), 3),
            (format!("x = \"\"\"{SECRET}\n"), 2),
            (format!("token = {SECRET}\n"), 1),
            (format!("[t]\nk = [\"{SECRET}\"\n"), 2),
            (format!("k = {{ a = \"{SECRET}\" b = 1 }}\n"), 1),
        ];
        for (text, line) in rows {
            let error = parse_toml("s.toml", text.as_bytes()).unwrap_err();
            let message = error.to_string();
            assert!(!message.contains(SECRET), "{message}");
            assert!(!message.contains('\n'), "{message}");
            assert!(
                message.starts_with(&format!("s.toml:{line}:")),
                "{text:?}: {message}"
            );
        }
    }

    #[test]
    fn out_of_range_integers_and_bad_utf8_are_errors() {
        let error = parse_toml("s.toml", b"a = 1\nn = 99999999999999999999\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "s.toml:2: the integer `n` does not fit in 64 bits: write it as a string"
        );
        let error = parse_toml("s.toml", b"a = 1\nb = \"\xff\"\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "s.toml:2: not valid UTF-8: a secrets file must be UTF-8 text"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        // The parser bounds recursion itself; deeper documents are syntax errors.
        let key = vec!["a"; 5000].join(".");
        let error = parse_toml("s.toml", format!("{key} = 1").as_bytes());
        assert!(matches!(error, Err(ParseError::Syntax { .. })), "{error:?}");
        let array = format!("x = {}{}", "[".repeat(5000), "]".repeat(5000));
        let error = parse_toml("s.toml", array.as_bytes());
        assert!(matches!(error, Err(ParseError::Syntax { .. })), "{error:?}");
        let key = vec!["a"; 50].join(".");
        assert_eq!(
            vars(&format!("{key} = 1")),
            vec![(vec!["A"; 50].join("_"), "1".to_string())]
        );
    }
}
