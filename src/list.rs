//! PURE: render `inject list` (SPEC §7.1): name, origin, and the value hidden or shown.

use std::borrow::Cow;

use serde_json::json;

use crate::environment::{Composed, Outcome};
use crate::flatten::Variable;

/// What `list --format` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    /// One aligned line per variable
    Table,
    /// A JSON array of objects, for tools
    Json,
}

/// One line of the listing.
pub struct Row<'a> {
    pub name: &'a str,
    /// The key path of the secret that gives the name (also when the environment's value is kept).
    pub key: String,
    /// `file:line`, a secrets-directory path, or `env`.
    pub origin: String,
    pub source: String,
    pub line: Option<u32>,
    pub value: Cow<'a, str>,
    /// The length of the value in bytes (an inherited value shown lossily may be longer).
    pub bytes: usize,
    /// Was the value `encrypted:` in its source (SPEC §15)?
    pub encrypted: bool,
}

/// The rows of a listing: each variable from the sources, as the environment has it (an
/// inherited value that `--no-override` kept is shown as `env`), then those read through
/// `NAME_FILE`.
pub fn rows<'a>(
    variables: &'a [Variable],
    composed: &'a Composed,
    from_files: &'a [Variable],
) -> Vec<Row<'a>> {
    let from_source = composed.zip(variables).map(|(v, outcome)| match outcome {
        Outcome::Kept => {
            // An inherited value need not be UTF-8: shown lossily, but counted in real bytes.
            let value = composed.inherited(&v.name).next().unwrap_or_default();
            Row {
                name: &v.name,
                key: v.key.to_string(),
                origin: "env".into(),
                source: "env".into(),
                line: None,
                value: value.to_string_lossy(),
                bytes: value.len(),
                encrypted: false,
            }
        }
        Outcome::Set => Row {
            name: &v.name,
            key: v.key.to_string(),
            origin: v.origin.to_string(),
            source: v.origin.source.to_string(),
            line: v.origin.line,
            value: Cow::Borrowed(&v.value),
            bytes: v.value.len(),
            encrypted: false,
        },
    });
    let from_files = from_files.iter().map(|v| Row {
        name: &v.name,
        key: v.key.to_string(),
        origin: v.origin.to_string(),
        source: v.origin.source.to_string(),
        line: None,
        value: Cow::Borrowed(&v.value),
        bytes: v.value.len(),
        encrypted: false,
    });
    from_source.chain(from_files).collect()
}

pub fn table(rows: &[Row], reveal: bool) -> String {
    let name_width = rows
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(0);
    let origin_width = rows
        .iter()
        .map(|r| r.origin.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for row in rows {
        let value = if reveal {
            one_line(&row.value)
        } else {
            hidden(row.bytes, row.encrypted)
        };
        let line = format!(
            "{:name_width$}  {:origin_width$}  {value}",
            row.name, row.origin
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub fn json(rows: &[Row], reveal: bool) -> String {
    let items: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| {
            let mut item = json!({
                "name": row.name,
                "key": row.key,
                "source": row.source,
                "line": row.line,
                "bytes": row.bytes,
            });
            if row.encrypted {
                item["encrypted"] = json!(true);
            }
            if reveal {
                item["value"] = json!(row.value);
            }
            item
        })
        .collect();
    let mut out = serde_json::Value::Array(items).to_string();
    out.push('\n');
    out
}

fn hidden(bytes: usize, encrypted: bool) -> String {
    let kind = if encrypted { "encrypted" } else { "hidden" };
    match bytes {
        0 if !encrypted => "(empty)".into(),
        1 => format!("({kind}, 1 byte)"),
        n => format!("({kind}, {n} bytes)"),
    }
}

/// A revealed value on one line: control characters escaped (`export` gives exact bytes).
fn one_line(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Row<'static>> {
        vec![
            Row {
                name: "TRELLO_API_KEY",
                key: "trello.api_key".into(),
                origin: ".streamlit/secrets.toml:2".into(),
                source: ".streamlit/secrets.toml".into(),
                line: Some(2),
                value: "k-123".into(),
                bytes: 5,
                encrypted: false,
            },
            Row {
                name: "db",
                key: "db".into(),
                origin: "env".into(),
                source: "env".into(),
                line: None,
                value: "a\nb".into(),
                bytes: 3,
                encrypted: false,
            },
        ]
    }

    #[test]
    fn hidden_by_default() {
        assert_eq!(
            table(&rows(), false),
            "TRELLO_API_KEY  .streamlit/secrets.toml:2  (hidden, 5 bytes)\n\
             db              env                        (hidden, 3 bytes)\n"
        );
    }

    #[test]
    fn revealed_on_one_line() {
        assert_eq!(
            table(&rows(), true),
            "TRELLO_API_KEY  .streamlit/secrets.toml:2  k-123\n\
             db              env                        a\\nb\n"
        );
    }

    #[test]
    fn json_hides_unless_revealed() {
        let hidden = json(&rows(), false);
        assert!(!hidden.contains("k-123"), "{hidden}");
        assert_eq!(
            hidden,
            "[{\"bytes\":5,\"key\":\"trello.api_key\",\"line\":2,\"name\":\"TRELLO_API_KEY\",\"source\":\".streamlit/secrets.toml\"},\
             {\"bytes\":3,\"key\":\"db\",\"line\":null,\"name\":\"db\",\"source\":\"env\"}]\n"
        );
        assert!(json(&rows(), true).contains("\"value\":\"k-123\""));
    }

    #[test]
    fn empty_and_short_values() {
        assert_eq!(hidden(0, false), "(empty)");
        assert_eq!(hidden(1, false), "(hidden, 1 byte)");
    }

    #[test]
    fn encrypted_values_say_so() {
        assert_eq!(hidden(0, true), "(encrypted, 0 bytes)");
        assert_eq!(hidden(1, true), "(encrypted, 1 byte)");
        assert_eq!(hidden(64, true), "(encrypted, 64 bytes)");
        let mut rows = rows();
        rows[0].encrypted = true;
        assert_eq!(
            table(&rows, false),
            "TRELLO_API_KEY  .streamlit/secrets.toml:2  (encrypted, 5 bytes)\n\
             db              env                        (hidden, 3 bytes)\n"
        );
        assert!(json(&rows, false).starts_with("[{\"bytes\":5,\"encrypted\":true,"));
    }
}
