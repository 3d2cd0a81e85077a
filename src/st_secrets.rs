//! PURE: the tree `--st-secrets` hands Streamlit (SPEC §14), and its TOML text.
//!
//! The tree is the merged tree of the sources (what `--only` keeps), plus every key of the
//! `--require-from` templates that the sources do not give, read from its variable and typed
//! as the template's placeholder is typed. Flattening it gives exactly the variables inject
//! sets, so `os.environ` and `st.secrets` agree.

use std::fmt::Write as _;

use crate::flatten::{KeyPath, Variable};
use crate::value::{self, Entry, Origin, Table, Value};

/// Why a template key's variable cannot join the tree. Never carries a value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    #[error(
        "`{name}` is not {kind}, the type of `{key}` in the template ({origin}): set it to {example}"
    )]
    Type {
        name: String,
        kind: &'static str,
        example: &'static str,
        key: KeyPath,
        origin: Origin,
    },
    #[error(
        "`{key}` in the template ({origin}) is inside `{value_at}`, which the secrets give as a value, not a table: make the two agree"
    )]
    NotATable {
        key: KeyPath,
        origin: Origin,
        value_at: KeyPath,
    },
}

/// The sources' tree, less the top-level keys `--only` leaves out.
pub fn sources_part(merged: Table, only: &[String]) -> Table {
    if only.is_empty() {
        return merged;
    }
    merged
        .into_iter()
        .filter(|entry| only.contains(&entry.key))
        .collect()
}

/// Add each template key the tree lacks: `leaves` are the template's variables (name, key
/// path, origin), `template` gives each one's placeholder, `lookup` the variable's text in
/// the program's environment. A key whose variable is unset is left out: the required names
/// report it (SPEC §5).
pub fn add_template(
    tree: &mut Table,
    template: &Table,
    leaves: &[Variable],
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Vec<TreeError>> {
    let mut errors = Vec::new();
    for leaf in leaves {
        if get(tree, &leaf.key.0).is_some() {
            continue;
        }
        let (Some(placeholder), Some(text)) = (get(template, &leaf.key.0), lookup(&leaf.name))
        else {
            continue;
        };
        let typed = typed(placeholder, &text).map_err(|(kind, example)| TreeError::Type {
            name: leaf.name.clone(),
            kind,
            example,
            key: leaf.key.clone(),
            origin: leaf.origin.clone(),
        });
        match typed.and_then(|value| insert(tree, &leaf.key.0, value, &leaf.origin, leaf)) {
            Ok(()) => {}
            Err(error) => errors.push(error),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The value at `path`, when the tree has one there.
fn get<'a>(table: &'a Table, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let value = &table.iter().find(|entry| &entry.key == first)?.value;
    match (rest.is_empty(), value) {
        (true, value) => Some(value),
        (false, Value::Table(inner)) => get(inner, rest),
        (false, _) => None,
    }
}

/// Put `value` at `path`, making the tables on the way.
fn insert(
    table: &mut Table,
    path: &[String],
    value: Value,
    origin: &Origin,
    leaf: &Variable,
) -> Result<(), TreeError> {
    let Some((first, rest)) = path.split_first() else {
        return Ok(());
    };
    let position = match table.iter().position(|entry| &entry.key == first) {
        Some(position) => position,
        None => {
            table.push(Entry {
                key: first.clone(),
                value: Value::Table(Vec::new()),
                origin: origin.clone(),
            });
            table.len() - 1
        }
    };
    if rest.is_empty() {
        table[position].value = value;
        return Ok(());
    }
    match &mut table[position].value {
        Value::Table(inner) => insert(inner, rest, value, origin, leaf),
        _ => Err(TreeError::NotATable {
            key: leaf.key.clone(),
            origin: leaf.origin.clone(),
            value_at: KeyPath(leaf.key.0[..leaf.key.0.len() - rest.len()].to_vec()),
        }),
    }
}

/// `text` read as the placeholder's type, or that type's name and an example.
fn typed(placeholder: &Value, text: &str) -> Result<Value, (&'static str, &'static str)> {
    match placeholder {
        Value::String(_) => Ok(Value::String(text.to_string())),
        Value::Integer(_) => text
            .parse()
            .map(Value::Integer)
            .map_err(|_| ("an integer", "decimal digits, e.g. `8501`")),
        Value::Float(_) => parse_float(text)
            .map(Value::Float)
            .ok_or(("a float", "e.g. `0.5`, `1e+100`, `inf` or `nan`")),
        Value::Boolean(_) => match text {
            "true" => Ok(Value::Boolean(true)),
            "false" => Ok(Value::Boolean(false)),
            _ => Err(("a boolean", "`true` or `false`")),
        },
        Value::Datetime(_) => text
            .parse::<toml::value::Datetime>()
            .map(|datetime| Value::Datetime(datetime.to_string()))
            .map_err(|_| ("a date-time", "RFC 3339, e.g. `2026-12-03T10:00:00Z`")),
        Value::Array(_) | Value::Table(_) => serde_json::from_str(text)
            .ok()
            .and_then(|json| from_json(&json))
            .filter(|value| {
                matches!(value, Value::Array(_)) == matches!(placeholder, Value::Array(_))
            })
            .ok_or(if matches!(placeholder, Value::Array(_)) {
                ("an array", "compact JSON, e.g. `[1,\"two\"]`")
            } else {
                ("a table", "compact JSON, e.g. `{\"a\":1}`")
            }),
    }
}

/// A float as inject spells one (Python's spelling: `inf`, `-inf`, `nan`, `1e+100`).
fn parse_float(text: &str) -> Option<f64> {
    match text {
        "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ if text
            .bytes()
            .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E') =>
        {
            None
        }
        _ => text.parse().ok(),
    }
}

/// JSON as a TOML value; `null` has no TOML spelling.
fn from_json(json: &serde_json::Value) -> Option<Value> {
    use serde_json::Value as J;
    Some(match json {
        J::Null => return None,
        J::Bool(b) => Value::Boolean(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Float(n.as_f64()?),
        },
        J::String(s) => Value::String(s.clone()),
        J::Array(items) => Value::Array(items.iter().map(from_json).collect::<Option<_>>()?),
        J::Object(map) => Value::Table(
            map.iter()
                .map(|(key, value)| {
                    Some(Entry {
                        key: key.clone(),
                        value: from_json(value)?,
                        origin: Origin {
                            source: "".into(),
                            line: None,
                        },
                    })
                })
                .collect::<Option<_>>()?,
        ),
    })
}

/// The tree as a TOML document: one line per top-level key, tables inline, every string a
/// basic string with escapes. Any TOML reader reads it back (Streamlit's included).
pub fn to_toml(table: &Table) -> String {
    let mut out = String::new();
    for entry in table {
        write_key(&entry.key, &mut out);
        out.push_str(" = ");
        write_value(&entry.value, &mut out);
        out.push('\n');
    }
    out
}

fn write_key(key: &str, out: &mut String) {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        out.push_str(key);
    } else {
        value::toml_string(key, out);
    }
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => value::toml_string(s, out),
        Value::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(x) if x.is_nan() => out.push_str("nan"),
        Value::Float(x) if x.is_infinite() => out.push_str(if *x > 0.0 { "inf" } else { "-inf" }),
        // `{:?}` is the shortest text that reads back to the same double, always with a `.` or
        // an exponent, as TOML wants: `1.0`, `1e100`, `-0.0`.
        Value::Float(x) => {
            let _ = write!(out, "{x:?}");
        }
        Value::Boolean(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Datetime(d) => out.push_str(d),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Table(entries) => {
            out.push('{');
            for (i, entry) in entries.iter().enumerate() {
                out.push_str(if i > 0 { ", " } else { " " });
                write_key(&entry.key, out);
                out.push_str(" = ");
                write_value(&entry.value, out);
            }
            out.push_str(if entries.is_empty() { "}" } else { " }" });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flatten::{self, Options};

    fn e(key: &str, value: Value) -> Entry {
        Entry {
            key: key.into(),
            value,
            origin: Origin::test(1),
        }
    }

    fn leaf(name: &str, path: &[&str]) -> Variable {
        Variable {
            name: name.into(),
            value: String::new(),
            key: KeyPath(path.iter().map(|s| s.to_string()).collect()),
            origin: Origin::test(3),
        }
    }

    #[test]
    fn each_placeholder_type_reads_its_variable() {
        let dt = Value::Datetime("1979-05-27T07:32:00Z".into());
        let rows: Vec<(Value, &str, Result<Value, &str>)> = vec![
            (
                Value::String(String::new()),
                "a b\n",
                Ok(Value::String("a b\n".into())),
            ),
            (Value::Integer(0), "8501", Ok(Value::Integer(8501))),
            (Value::Integer(0), "-3", Ok(Value::Integer(-3))),
            (Value::Integer(0), "1.5", Err("an integer")),
            (Value::Integer(0), "99999999999999999999", Err("an integer")),
            (Value::Float(0.0), "0.5", Ok(Value::Float(0.5))),
            (Value::Float(0.0), "1e+100", Ok(Value::Float(1e100))),
            (
                Value::Float(0.0),
                "-inf",
                Ok(Value::Float(f64::NEG_INFINITY)),
            ),
            (Value::Float(0.0), "infinity", Err("a float")),
            (Value::Float(0.0), "x", Err("a float")),
            (Value::Boolean(false), "true", Ok(Value::Boolean(true))),
            (Value::Boolean(false), "True", Err("a boolean")),
            (
                dt.clone(),
                "2026-12-03T10:00:00Z",
                Ok(Value::Datetime("2026-12-03T10:00:00Z".into())),
            ),
            (
                dt.clone(),
                "2026-12-03",
                Ok(Value::Datetime("2026-12-03".into())),
            ),
            (dt, "yesterday", Err("a date-time")),
            (
                Value::Array(vec![]),
                "[1,\"two\",[true]]",
                Ok(Value::Array(vec![
                    Value::Integer(1),
                    Value::String("two".into()),
                    Value::Array(vec![Value::Boolean(true)]),
                ])),
            ),
            (Value::Array(vec![]), "[null]", Err("an array")),
            (Value::Array(vec![]), "{\"a\":1}", Err("an array")),
            (Value::Array(vec![]), "not json", Err("an array")),
        ];
        for (placeholder, text, want) in rows {
            let got = typed(&placeholder, text).map_err(|(kind, _)| kind);
            assert_eq!(got, want, "{placeholder:?} {text:?}");
        }
        let nan = typed(&Value::Float(0.0), "nan").unwrap();
        assert!(matches!(nan, Value::Float(x) if x.is_nan()));
    }

    #[test]
    fn template_keys_join_the_tree_where_the_sources_lack_them() {
        let mut tree = vec![e(
            "auth",
            Value::Table(vec![e("client_id", Value::String("file".into()))]),
        )];
        let template = vec![
            e(
                "auth",
                Value::Table(vec![
                    e("client_id", Value::String(String::new())),
                    e("client_secret", Value::String(String::new())),
                ]),
            ),
            e("port", Value::Integer(0)),
            e("absent", Value::String(String::new())),
        ];
        let leaves = [
            leaf("AUTH_CLIENT_ID", &["auth", "client_id"]),
            leaf("AUTH_CLIENT_SECRET", &["auth", "client_secret"]),
            leaf("port", &["port"]),
            leaf("absent", &["absent"]),
        ];
        let lookup = |name: &str| match name {
            "AUTH_CLIENT_ID" => Some("from-env".to_string()),
            "AUTH_CLIENT_SECRET" => Some("s3".to_string()),
            "port" => Some("8501".to_string()),
            _ => None,
        };
        add_template(&mut tree, &template, &leaves, &lookup).unwrap();
        assert_eq!(
            to_toml(&tree),
            "auth = { client_id = \"file\", client_secret = \"s3\" }\nport = 8501\n"
        );
    }

    #[test]
    fn a_variable_of_the_wrong_type_is_named_with_its_type_and_never_its_value() {
        let mut tree = vec![e("db", Value::String("a value".into()))];
        let template = vec![
            e("port", Value::Integer(0)),
            e(
                "db",
                Value::Table(vec![e("user", Value::String(String::new()))]),
            ),
        ];
        let leaves = [leaf("port", &["port"]), leaf("DB_USER", &["db", "user"])];
        let lookup = |name: &str| Some(if name == "port" { "eighty-80" } else { "u" }.to_string());
        let errors = add_template(&mut tree, &template, &leaves, &lookup).unwrap_err();
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "`port` is not an integer, the type of `port` in the template (s.toml:3): set it to decimal digits, e.g. `8501`",
                "`db.user` in the template (s.toml:3) is inside `db`, which the secrets give as a value, not a table: make the two agree",
            ]
        );
        assert!(!shown.concat().contains("eighty"));
    }

    #[test]
    fn the_text_is_toml_that_reads_back_to_the_same_variables() {
        let tree = vec![
            e(
                "plain",
                Value::String("a \"quoted\" \\ back\nslash\u{7f}\u{1}é".into()),
            ),
            e("key with space", Value::Integer(-5)),
            e(
                "floats",
                Value::Array(vec![
                    Value::Float(1.0),
                    Value::Float(1e100),
                    Value::Float(-0.0),
                ]),
            ),
            e("odd", Value::Float(f64::INFINITY)),
            e("when", Value::Datetime("1979-05-27T07:32:00-08:00".into())),
            e("empty", Value::Table(vec![])),
            e(
                "auth",
                Value::Table(vec![
                    e(
                        "redirect_uri",
                        Value::String("http://localhost:8501/oauth2callback".into()),
                    ),
                    e(
                        "google",
                        Value::Table(vec![e("client_id", Value::String("id".into()))]),
                    ),
                    e(
                        "list",
                        Value::Array(vec![Value::Table(vec![e("a", Value::Boolean(true))])]),
                    ),
                ]),
            ),
        ];
        round_trip(&tree);
    }

    fn round_trip(tree: &Table) {
        let text = to_toml(tree);
        let back = crate::parse::parse_toml("handed", text.as_bytes())
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let options = Options::default();
        let names = |t: &Table| -> Vec<(String, String)> {
            let (vars, _) = flatten::flatten_all(t, &options);
            vars.into_iter().map(|v| (v.name, v.value)).collect()
        };
        assert_eq!(names(&back), names(tree), "{text}");
    }

    use proptest::prelude::*;

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            "[^\\x00]{0,12}".prop_map(Value::String),
            any::<i64>().prop_map(Value::Integer),
            any::<f64>().prop_map(Value::Float),
            any::<bool>().prop_map(Value::Boolean),
        ];
        leaf.prop_recursive(4, 48, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[^\\x00]{0,6}", inner, 0..5).prop_map(|entries| {
                    Value::Table(entries.into_iter().map(|(k, v)| e(&k, v)).collect())
                }),
            ]
        })
    }

    /// A template placeholder and the text of its variable, in the spelling inject itself
    /// gives that type (what `export` prints, what a platform was set from).
    fn typed_variable() -> impl Strategy<Value = (Value, String)> {
        prop_oneof![
            "[^\\x00]{0,12}".prop_map(|s| (Value::String(String::new()), s)),
            any::<i64>().prop_map(|i| (Value::Integer(0), i.to_string())),
            any::<f64>().prop_map(|x| (Value::Float(0.0), crate::value::python_float(x))),
            any::<bool>().prop_map(|b| (Value::Boolean(false), b.to_string())),
            prop::collection::vec(any::<i32>(), 0..4).prop_map(|items| {
                let text = serde_json::to_string(&items).unwrap_or_default();
                (Value::Array(vec![]), text)
            }),
        ]
    }

    proptest! {
        /// Template keys given only by variables: flattening the handed tree, after its TOML
        /// text is read back, gives exactly those variables, names and values.
        #[test]
        fn template_keys_flatten_back_to_their_variables(
            keys in prop::collection::btree_map("[a-z][a-z0-9]{0,5}", typed_variable(), 1..8),
            sectioned in any::<bool>(),
        ) {
            let section = |key: &str| if sectioned { vec!["app".to_string(), key.to_string()] } else { vec![key.to_string()] };
            let entries: Table = keys.iter().map(|(k, (placeholder, _))| e(k, placeholder.clone())).collect();
            let template = if sectioned { vec![e("app", Value::Table(entries))] } else { entries };
            let options = Options::default();
            let leaves = flatten::flatten(&template, &options).unwrap_or_default();
            prop_assert_eq!(leaves.len(), keys.len());
            let by_key: std::collections::HashMap<Vec<String>, String> =
                keys.iter().map(|(k, (_, text))| (section(k), text.clone())).collect();
            let names: std::collections::HashMap<String, String> = leaves
                .iter()
                .map(|leaf| (leaf.name.clone(), by_key[&leaf.key.0].clone()))
                .collect();
            let mut tree = Vec::new();
            let lookup = |name: &str| names.get(name).cloned();
            prop_assert!(add_template(&mut tree, &template, &leaves, &lookup).is_ok());
            let back = crate::parse::parse_toml("handed", to_toml(&tree).as_bytes());
            prop_assert!(back.is_ok());
            let got = flatten::flatten(&back.unwrap_or_default(), &options).unwrap_or_default();
            let got: std::collections::HashMap<String, String> =
                got.into_iter().map(|v| (v.name, v.value)).collect();
            prop_assert_eq!(got, names);
        }

        /// Whatever the tree, its text reads back to a tree that flattens to the same
        /// variables and the same errors: what Streamlit reads is what inject set.
        #[test]
        fn any_tree_reads_back_the_same(
            entries in prop::collection::btree_map("[^\\x00]{0,6}", arb_value(), 0..6)
        ) {
            let tree: Table = entries.into_iter().map(|(k, v)| e(&k, v)).collect();
            let text = to_toml(&tree);
            let back = crate::parse::parse_toml("handed", text.as_bytes());
            prop_assert!(back.is_ok(), "{text}");
            let back = back.unwrap_or_default();
            let options = Options::default();
            let (want, want_errors) = flatten::flatten_all(&tree, &options);
            let (got, got_errors) = flatten::flatten_all(&back, &options);
            let pairs = |vars: Vec<Variable>| -> Vec<(String, String)> {
                vars.into_iter().map(|v| (v.name, v.value)).collect()
            };
            prop_assert_eq!(pairs(got), pairs(want), "{}", text);
            prop_assert_eq!(got_errors.len(), want_errors.len());
        }
    }
}
