//! PURE: merged tables in, ordered variables out (SPEC §2.3, §3).

use std::collections::HashMap;
use std::fmt;

use hashbrown::HashTable;

use crate::value::{self, Origin, Table, Unrepresentable, Value};

/// Names that decide which code runs; a secrets file may set them only with `--allow` (§3.4).
pub const REFUSED_NAMES: &[&str] = &[
    "PATH",
    "BASH_ENV",
    "ENV",
    "IFS",
    "PS4",
    "PROMPT_COMMAND",
    "SHELLOPTS",
    "BASHOPTS",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PYTHONHOME",
    "NODE_OPTIONS",
    "PERL5OPT",
    "PERL5LIB",
    "RUBYOPT",
    "RUBYLIB",
    "JAVA_TOOL_OPTIONS",
    "GCONV_PATH",
    "HOSTALIASES",
];
/// Every name that starts with one of these is refused too.
pub const REFUSED_PREFIXES: &[&str] = &["LD_", "DYLD_", "MALLOC_"];

/// Windows only: what a command name runs as (`PATHEXT`) and with which shell (`ComSpec`).
pub const REFUSED_ON_WINDOWS: &[&str] = &["PATHEXT", "COMSPEC"];

pub fn is_refused(name: &str, allow: &[String]) -> bool {
    refused_on(name, allow, cfg!(windows))
}

/// `windows`: names are compared without ASCII case, as Windows compares them (`Path` is
/// `PATH` there), and the Windows names are refused as well.
fn refused_on(name: &str, allow: &[String], windows: bool) -> bool {
    let same = |a: &str, b: &str| same_bytes(a.as_bytes(), b.as_bytes(), windows);
    let starts = |prefix: &str| {
        name.as_bytes()
            .get(..prefix.len())
            .is_some_and(|head| same_bytes(head, prefix.as_bytes(), windows))
    };
    let windows_only: &[&str] = if windows { REFUSED_ON_WINDOWS } else { &[] };
    !allow.iter().any(|a| same(a, name))
        && (REFUSED_NAMES
            .iter()
            .chain(windows_only)
            .any(|r| same(r, name))
            || REFUSED_PREFIXES.iter().any(|p| starts(p)))
}

fn same_bytes(a: &[u8], b: &[u8], fold_case: bool) -> bool {
    if fold_case {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

/// One variable that inject would set, with where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Variable {
    pub name: String,
    pub value: String,
    pub key: KeyPath,
    pub origin: Origin,
}

#[cfg(test)]
impl Variable {
    /// A root-level variable from `s.toml:1`, for the unit tests of the core.
    pub(crate) fn test(name: &str, value: &str) -> Self {
        Variable {
            name: name.into(),
            value: value.into(),
            key: KeyPath(vec![name.into()]),
            origin: Origin::test(1),
        }
    }
}

/// A key path such as `trello."api key"`, printed the way TOML would write it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<String>);

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            let bare = !segment.is_empty()
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if bare {
                f.write_str(segment)?;
            } else {
                let mut quoted = String::new();
                value::json_string(segment, &mut quoted);
                f.write_str(&quoted)?;
            }
        }
        Ok(())
    }
}

/// Which part of the tables becomes variables, and under which names.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options<'a> {
    pub only: &'a [String],
    pub prefix: &'a str,
    pub allow: &'a [String],
}

/// A reason the tables cannot become variables. Never carries a value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FlattenError {
    #[error(
        "`{name}` would be set by two keys, `{first}` ({first_origin}) and `{second}` ({second_origin}): rename or remove one of them"
    )]
    Collision {
        name: String,
        first: KeyPath,
        first_origin: Origin,
        second: KeyPath,
        second_origin: Origin,
    },
    #[error(
        "`{name}` (from `{key}` at {origin}) starts with a digit, which is not a valid variable name: add a prefix, e.g. `--prefix APP_`"
    )]
    LeadingDigit {
        name: String,
        key: KeyPath,
        origin: Origin,
    },
    #[error(
        "`{name}` (from `{key}` at {origin}) can change which code runs, so inject refuses to set it from a secrets file: remove it, or pass `--allow {name}` if you mean it"
    )]
    Refused {
        name: String,
        key: KeyPath,
        origin: Origin,
    },
    #[error("the root key `{key}` at {origin} cannot be a variable name: it {why}; rename it")]
    BadRootKey {
        key: KeyPath,
        origin: Origin,
        why: &'static str,
    },
    #[error(
        "the value of `{key}` at {origin} contains a NUL byte, which no environment variable can hold: remove it"
    )]
    Nul { key: KeyPath, origin: Origin },
    #[error(
        "the array `{key}` at {origin} holds `inf` or `nan`, which JSON cannot spell: write it as a string"
    )]
    NonFiniteInArray { key: KeyPath, origin: Origin },
    #[error("`--only {name}` matches no top-level key of the secrets: check the spelling")]
    UnknownOnly { name: String },
}

/// Shallow merge: a later table replaces a whole top-level key of an earlier one, in place.
pub fn merge(layers: impl IntoIterator<Item = Table>) -> Table {
    let mut merged: Table = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for layer in layers {
        for entry in layer {
            match index.get(&entry.key) {
                Some(&i) => merged[i] = entry,
                None => {
                    index.insert(entry.key.clone(), merged.len());
                    merged.push(entry);
                }
            }
        }
    }
    merged
}

/// Every variable the merged table gives, in file order, or every reason it cannot.
pub fn flatten(table: &Table, options: &Options) -> Result<Vec<Variable>, Vec<FlattenError>> {
    flatten_owned(table.clone(), options)
}

/// [`flatten`], taking the table: its keys and texts move into the variables, not copied.
pub fn flatten_owned(table: Table, options: &Options) -> Result<Vec<Variable>, Vec<FlattenError>> {
    let (variables, errors) = flatten_all_owned(table, options);
    if errors.is_empty() {
        Ok(variables)
    } else {
        Err(errors)
    }
}

/// The variables that can be made and the reasons for those that cannot, both at once
/// (`check` reports the errors and still checks required names against the rest).
pub fn flatten_all(table: &Table, options: &Options) -> (Vec<Variable>, Vec<FlattenError>) {
    flatten_all_owned(table.clone(), options)
}

fn flatten_all_owned(table: Table, options: &Options) -> (Vec<Variable>, Vec<FlattenError>) {
    // Sized once: 10,000 variables would otherwise be copied through a dozen regrowths.
    let leaves = leaves(&table);
    let mut out = Flattener {
        options,
        variables: Vec::with_capacity(leaves),
        index: HashTable::with_capacity(leaves),
        errors: Vec::new(),
    };
    if !table.is_empty() {
        for name in options.only {
            if !table.iter().any(|entry| &entry.key == name) {
                out.errors
                    .push(FlattenError::UnknownOnly { name: name.clone() });
            }
        }
    }
    for entry in table {
        if !options.only.is_empty() && !options.only.contains(&entry.key) {
            continue;
        }
        match entry.value {
            Value::Table(inner) => {
                let mut name = derive(&entry.key);
                let mut path = vec![entry.key];
                out.walk(inner, &mut path, &mut name);
            }
            value => out.root(entry.key, value, entry.origin),
        }
    }
    (out.variables, out.errors)
}

/// How many entries of the tree are not tables: the most variables it can give.
fn leaves(table: &Table) -> usize {
    table
        .iter()
        .map(|entry| match &entry.value {
            Value::Table(inner) => leaves(inner),
            _ => 1,
        })
        .sum()
}

/// `api-key` -> `API_KEY`: ASCII letters upper-cased, anything outside `A-Z0-9_` one `_`.
pub fn derive(segment: &str) -> String {
    let mut name = String::with_capacity(segment.len());
    push_derived(&mut name, segment);
    name
}

fn push_derived(name: &mut String, segment: &str) {
    // Keys are nearly always letters, digits and `_`: copied and upper-cased in place.
    if segment
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        let start = name.len();
        name.push_str(segment);
        name[start..].make_ascii_uppercase();
        return;
    }
    name.extend(segment.chars().map(|c| match c {
        'a'..='z' => c.to_ascii_uppercase(),
        'A'..='Z' | '0'..='9' | '_' => c,
        _ => '_',
    }));
}

struct Flattener<'a> {
    options: &'a Options<'a>,
    variables: Vec<Variable>,
    /// The variables by name, as indexes into `variables` (their names are not copied).
    index: HashTable<usize>,
    errors: Vec<FlattenError>,
}

impl Flattener<'_> {
    fn root(&mut self, key: String, value: Value, origin: Origin) {
        let why = if key.is_empty() {
            Some("is empty")
        } else if key.contains('=') {
            Some("contains `=`")
        } else if key.contains('\0') {
            Some("contains a NUL byte")
        } else {
            None
        };
        if let Some(why) = why {
            self.errors.push(FlattenError::BadRootKey {
                key: KeyPath(vec![key]),
                origin,
                why,
            });
            return;
        }
        let mut name = String::with_capacity(self.options.prefix.len() + key.len());
        name.push_str(self.options.prefix);
        name.push_str(&key);
        self.add(name, KeyPath(vec![key]), value, origin, false);
    }

    /// `name` is the derived name of `table` itself; names are built in place, not formatted.
    fn walk(&mut self, table: Table, path: &mut Vec<String>, name: &mut String) {
        for entry in table {
            let len = name.len();
            name.push('_');
            push_derived(name, &entry.key);
            match entry.value {
                Value::Table(inner) => {
                    path.push(entry.key);
                    self.walk(inner, path, name);
                    path.pop();
                }
                value => {
                    let mut full = String::with_capacity(self.options.prefix.len() + name.len());
                    full.push_str(self.options.prefix);
                    full.push_str(name);
                    let mut segments = Vec::with_capacity(path.len() + 1);
                    segments.extend_from_slice(path);
                    segments.push(entry.key);
                    self.add(full, KeyPath(segments), value, entry.origin, true);
                }
            }
            name.truncate(len);
        }
    }

    fn add(&mut self, name: String, key: KeyPath, value: Value, origin: Origin, derived: bool) {
        if derived && name.starts_with(|c: char| c.is_ascii_digit()) {
            self.errors
                .push(FlattenError::LeadingDigit { name, key, origin });
            return;
        }
        if is_refused(&name, self.options.allow) {
            self.errors
                .push(FlattenError::Refused { name, key, origin });
            return;
        }
        let hash = value::hash(&name);
        let variables = &self.variables;
        if let Some(&i) = self.index.find(hash, |&i| variables[i].name == name) {
            let first = &variables[i];
            self.errors.push(FlattenError::Collision {
                first: first.key.clone(),
                first_origin: first.origin.clone(),
                name,
                second: key,
                second_origin: origin,
            });
            return;
        }
        let value = match value::into_text(value) {
            Ok(text) => text,
            Err(Unrepresentable::Nul) => {
                self.errors.push(FlattenError::Nul { key, origin });
                return;
            }
            Err(Unrepresentable::NonFiniteInArray) => {
                self.errors
                    .push(FlattenError::NonFiniteInArray { key, origin });
                return;
            }
        };
        let variables = &self.variables;
        self.index
            .insert_unique(hash, variables.len(), |&i| value::hash(&variables[i].name));
        self.variables.push(Variable {
            name,
            value,
            key,
            origin,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Entry;
    use proptest::prelude::*;

    fn origin(line: u32) -> Origin {
        Origin::test(line)
    }

    fn e(key: &str, value: Value) -> Entry {
        Entry {
            key: key.into(),
            value,
            origin: origin(1),
        }
    }

    fn s(text: &str) -> Value {
        Value::String(text.into())
    }

    fn t(entries: Vec<Entry>) -> Value {
        Value::Table(entries)
    }

    fn names(table: &Table, options: &Options) -> Vec<(String, String)> {
        flatten(table, options)
            .unwrap()
            .into_iter()
            .map(|v| (v.name, v.value))
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    /// One row per naming rule of SPEC §3.1: the table, and the variables it gives.
    #[test]
    fn naming_rules() {
        type Row<'a> = (&'a str, Table, Vec<(&'a str, &'a str)>);
        let rows: Vec<Row> = vec![
            (
                "root keys verbatim",
                vec![e("db_username", s("x"))],
                vec![("db_username", "x")],
            ),
            (
                "root key keeps case and digits",
                vec![e("9Lives-x", s("v"))],
                vec![("9Lives-x", "v")],
            ),
            (
                "root key with space",
                vec![e("a b", s("v"))],
                vec![("a b", "v")],
            ),
            (
                "section key upper-snake",
                vec![e("trello", t(vec![e("api_key", s("k"))]))],
                vec![("TRELLO_API_KEY", "k")],
            ),
            (
                "nested sections joined",
                vec![e(
                    "trello",
                    t(vec![e("oauth", t(vec![e("token", s("t"))]))]),
                )],
                vec![("TRELLO_OAUTH_TOKEN", "t")],
            ),
            (
                "hyphen becomes underscore",
                vec![e("trello", t(vec![e("api-secret", s("s"))]))],
                vec![("TRELLO_API_SECRET", "s")],
            ),
            (
                "each non-ASCII scalar one underscore",
                vec![e("my-app", t(vec![e("café.ß", s("v"))]))],
                vec![("MY_APP_CAF___", "v")],
            ),
            (
                "emoji is one scalar",
                vec![e("a", t(vec![e("🔑", s("v"))]))],
                vec![("A__", "v")],
            ),
            (
                "upper case kept",
                vec![e("Trello", t(vec![e("API_Key", s("v"))]))],
                vec![("TRELLO_API_KEY", "v")],
            ),
            (
                "empty key inside a table",
                vec![e("a", t(vec![e("", s("v"))]))],
                vec![("A_", "v")],
            ),
            (
                "empty table gives nothing",
                vec![e("empty", t(vec![]))],
                vec![],
            ),
            (
                "deep nesting",
                vec![e(
                    "a",
                    t(vec![e(
                        "b",
                        t(vec![e("c", t(vec![e("d", t(vec![e("e", s("v"))]))]))]),
                    )]),
                )],
                vec![("A_B_C_D_E", "v")],
            ),
            (
                "digit inside a derived name is fine",
                vec![e("s3", t(vec![e("2fa", s("v"))]))],
                vec![("S3_2FA", "v")],
            ),
            (
                "array of tables is a value",
                vec![e("servers", Value::Array(vec![t(vec![e("name", s("a"))])]))],
                vec![("servers", r#"[{"name":"a"}]"#)],
            ),
            (
                "nested array is a value",
                vec![e(
                    "t",
                    t(vec![e("tags", Value::Array(vec![Value::Integer(1)]))]),
                )],
                vec![("T_TAGS", "[1]")],
            ),
            (
                "file order kept",
                vec![
                    e("z", s("1")),
                    e("a", t(vec![e("y", s("2"))])),
                    e("m", s("3")),
                ],
                vec![("z", "1"), ("A_Y", "2"), ("m", "3")],
            ),
        ];
        for (why, table, want) in rows {
            assert_eq!(names(&table, &Options::default()), pairs(&want), "{why}");
        }
    }

    #[test]
    fn worked_example_of_the_spec() {
        let table = vec![
            e("db_username", s("admin")),
            e("port", Value::Integer(8501)),
            e("big", Value::Float(1e100)),
            e("debug", Value::Boolean(true)),
            e(
                "tags",
                Value::Array(vec![s("a"), Value::Integer(1), Value::Boolean(true)]),
            ),
            e(
                "trello",
                t(vec![
                    e("api_key", s("k-123")),
                    e("api-secret", s("s-456")),
                    e("oauth", t(vec![e("token", s("t-789"))])),
                ]),
            ),
            e("servers", Value::Array(vec![t(vec![e("name", s("a"))])])),
        ];
        assert_eq!(
            names(&table, &Options::default()),
            pairs(&[
                ("db_username", "admin"),
                ("port", "8501"),
                ("big", "1e+100"),
                ("debug", "true"),
                ("tags", r#"["a",1,true]"#),
                ("TRELLO_API_KEY", "k-123"),
                ("TRELLO_API_SECRET", "s-456"),
                ("TRELLO_OAUTH_TOKEN", "t-789"),
                ("servers", r#"[{"name":"a"}]"#),
            ])
        );
    }

    fn errors(table: &Table, options: &Options) -> Vec<FlattenError> {
        flatten(table, options).unwrap_err()
    }

    #[test]
    fn collisions_name_both_key_paths() {
        let table = vec![e(
            "trello",
            t(vec![
                e("api_key", s("a")),
                Entry {
                    origin: origin(3),
                    ..e("api-key", s("b"))
                },
            ]),
        )];
        let errs = errors(&table, &Options::default());
        assert_eq!(errs.len(), 1);
        assert_eq!(
            errs[0].to_string(),
            "`TRELLO_API_KEY` would be set by two keys, `trello.api_key` (s.toml:1) and \
             `trello.api-key` (s.toml:3): rename or remove one of them"
        );
    }

    #[test]
    fn root_key_collides_with_derived_name() {
        let table = vec![
            e("TRELLO_API_KEY", s("a")),
            e("trello", t(vec![e("api_key", s("b"))])),
        ];
        assert!(matches!(
            &errors(&table, &Options::default())[..],
            [FlattenError::Collision { name, .. }] if name == "TRELLO_API_KEY"
        ));
    }

    #[test]
    fn every_error_is_reported_not_only_the_first() {
        let table = vec![
            e("PATH", s("x")),
            e("", s("x")),
            e("1password", t(vec![e("token", s("x"))])),
        ];
        assert_eq!(errors(&table, &Options::default()).len(), 3);
    }

    #[test]
    fn leading_digit_needs_a_prefix() {
        let table = vec![e("1password", t(vec![e("token", s("x"))]))];
        let errs = errors(&table, &Options::default());
        assert!(errs[0].to_string().contains("--prefix"), "{}", errs[0]);
        let options = Options {
            prefix: "APP_",
            ..Options::default()
        };
        assert_eq!(
            names(&table, &options),
            pairs(&[("APP_1PASSWORD_TOKEN", "x")])
        );
        // A prefix that itself starts with a digit does not help a derived name.
        let options = Options {
            prefix: "1_",
            ..Options::default()
        };
        assert!(flatten(&table, &options).is_err());
    }

    #[test]
    fn bad_root_keys() {
        for key in ["", "a=b", "a\0b"] {
            let table = vec![e(key, s("x"))];
            assert!(
                matches!(
                    &errors(&table, &Options::default())[..],
                    [FlattenError::BadRootKey { .. }]
                ),
                "{key:?}"
            );
        }
    }

    #[test]
    fn unrepresentable_values() {
        let table = vec![e("k", s("a\0b"))];
        assert!(matches!(
            &errors(&table, &Options::default())[..],
            [FlattenError::Nul { .. }]
        ));
        let table = vec![e("t", t(vec![e("k", s("\0"))]))];
        assert!(matches!(
            &errors(&table, &Options::default())[..],
            [FlattenError::Nul { .. }]
        ));
        let table = vec![e(
            "a",
            Value::Array(vec![Value::Float(1.0), Value::Float(f64::NAN)]),
        )];
        assert!(matches!(
            &errors(&table, &Options::default())[..],
            [FlattenError::NonFiniteInArray { .. }]
        ));
        // A bare non-finite float is fine: Python spells it.
        let table = vec![e("f", Value::Float(f64::NEG_INFINITY))];
        assert_eq!(names(&table, &Options::default()), pairs(&[("f", "-inf")]));
    }

    #[test]
    fn refused_names_and_allow() {
        let refused = [
            "PATH",
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "DYLD_INSERT_LIBRARIES",
            "MALLOC_CHECK_",
            "BASH_ENV",
            "ENV",
            "IFS",
            "PS4",
            "PROMPT_COMMAND",
            "SHELLOPTS",
            "BASHOPTS",
            "PYTHONPATH",
            "PYTHONSTARTUP",
            "PYTHONHOME",
            "NODE_OPTIONS",
            "PERL5OPT",
            "PERL5LIB",
            "RUBYOPT",
            "RUBYLIB",
            "JAVA_TOOL_OPTIONS",
            "GCONV_PATH",
            "HOSTALIASES",
        ];
        for name in refused {
            let table = vec![e(name, s("x"))];
            let errs = errors(&table, &Options::default());
            assert!(
                matches!(&errs[..], [FlattenError::Refused { .. }]),
                "{name}"
            );
            assert!(errs[0].to_string().contains(&format!("--allow {name}")));
            let allow = vec![name.to_string()];
            let options = Options {
                allow: &allow,
                ..Options::default()
            };
            assert_eq!(names(&table, &options), pairs(&[(name, "x")]));
        }
        for fine in [
            "path",
            "Path",
            "PATHS",
            "MY_PATH",
            "LD",
            "ld_preload",
            "ENVIRONMENT",
        ] {
            assert!(!refused_on(fine, &[], false), "{fine}");
        }
        // Windows: case does not tell names apart, and two more names choose what runs.
        for (name, allow, refused) in [
            ("Path", "", true),
            ("path", "", true),
            ("ld_preload", "", true),
            ("Ld_", "", true),
            ("PathExt", "", true),
            ("ComSpec", "", true),
            ("Path", "PATH", false),
            ("PATHEXT", "pathext", false),
            ("PATHS", "", false),
            ("éPATH", "", false),
            ("é", "", false),
        ] {
            let allow: Vec<String> = [allow]
                .into_iter()
                .filter(|a| !a.is_empty())
                .map(String::from)
                .collect();
            assert_eq!(
                refused_on(name, &allow, true),
                refused,
                "{name} --allow {allow:?}"
            );
        }
        assert!(!refused_on("PATHEXT", &[], false));
        // A derived name is checked too, and so is the name after the prefix.
        let table = vec![e("ld", t(vec![e("preload", s("x"))]))];
        assert!(matches!(
            &errors(&table, &Options::default())[..],
            [FlattenError::Refused { .. }]
        ));
        let table = vec![e("PRELOAD", s("x"))];
        let options = Options {
            prefix: "LD_",
            ..Options::default()
        };
        assert!(matches!(
            &errors(&table, &options)[..],
            [FlattenError::Refused { .. }]
        ));
    }

    #[test]
    fn only_and_prefix() {
        let table = vec![
            e("root", s("r")),
            e("trello", t(vec![e("api_key", s("k"))])),
            e("aws", t(vec![e("region", s("eu"))])),
        ];
        let only = vec!["trello".to_string(), "root".to_string()];
        let options = Options {
            only: &only,
            ..Options::default()
        };
        assert_eq!(
            names(&table, &options),
            pairs(&[("root", "r"), ("TRELLO_API_KEY", "k")])
        );
        let options = Options {
            prefix: "APP_",
            ..Options::default()
        };
        assert_eq!(
            names(&table, &options),
            pairs(&[
                ("APP_root", "r"),
                ("APP_TRELLO_API_KEY", "k"),
                ("APP_AWS_REGION", "eu")
            ])
        );
        let only = vec!["trelo".to_string()];
        let options = Options {
            only: &only,
            ..Options::default()
        };
        assert!(matches!(
            &errors(&table, &options)[..],
            [FlattenError::UnknownOnly { .. }]
        ));
        // With no secrets at all (the production path) `--only` has nothing to check against.
        assert_eq!(names(&vec![], &options), vec![]);
    }

    #[test]
    fn merge_is_shallow_and_keeps_first_position() {
        let global = vec![
            e("GLOBAL_ONLY", s("g")),
            e("shared", s("global")),
            e("trello", t(vec![e("board", s("gb")), e("api_key", s("g"))])),
        ];
        let project = vec![
            e("trello", t(vec![e("api_key", s("p"))])),
            e("shared", s("project")),
        ];
        let merged = merge([global, project]);
        assert_eq!(
            names(&merged, &Options::default()),
            pairs(&[
                ("GLOBAL_ONLY", "g"),
                ("shared", "project"),
                ("TRELLO_API_KEY", "p")
            ])
        );
    }

    #[test]
    fn key_paths_print_as_toml() {
        let rows = [
            (vec!["trello", "api_key"], "trello.api_key"),
            (vec!["my-app", "api key"], r#"my-app."api key""#),
            (vec!["a", ""], r#"a."""#),
            (vec!["q\"\0"], r#""q\"\u0000""#),
            (vec!["café"], r#""café""#),
        ];
        for (segments, want) in rows {
            let path = KeyPath(segments.into_iter().map(String::from).collect());
            assert_eq!(path.to_string(), want);
        }
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<String>().prop_map(Value::String),
            any::<i64>().prop_map(Value::Integer),
            any::<f64>().prop_map(Value::Float),
            any::<bool>().prop_map(Value::Boolean),
        ];
        leaf.prop_recursive(5, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(("[a-zA-Z0-9_ .é=-]{0,6}", inner), 0..6).prop_map(
                    |entries| Value::Table(entries.into_iter().map(|(k, v)| e(&k, v)).collect())
                ),
            ]
        })
    }

    /// A key that flattens everywhere: a lower-case letter, then letters or digits, then a
    /// digit. Without `_` and with unique keys per table, two key paths never give one name;
    /// lower case keeps root names apart from section names; the digit before every `_` of a
    /// section name keeps it off the refused names (none has a digit before `_`) and their
    /// prefixes (`LD_`, `DYLD_`, `MALLOC_`).
    const KEY: &str = "[a-z][a-z0-9]{0,4}[0-9]";

    /// A value without NUL and, in arrays, without `inf` or `nan`: one that always flattens.
    fn good_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            "[^\\x00]{0,12}".prop_map(Value::String),
            any::<i64>().prop_map(Value::Integer),
            any::<f64>()
                .prop_filter("finite", |x| x.is_finite())
                .prop_map(Value::Float),
            any::<bool>().prop_map(Value::Boolean),
        ];
        leaf.prop_recursive(5, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(KEY, inner, 0..6).prop_map(|entries| {
                    Value::Table(entries.into_iter().map(|(k, v)| e(&k, v)).collect())
                }),
            ]
        })
    }

    fn check_names(vars: &[Variable]) -> Result<(), TestCaseError> {
        let mut names = std::collections::HashSet::new();
        for var in vars {
            prop_assert!(names.insert(var.name.clone()), "duplicate {}", var.name);
            prop_assert!(
                !var.name.is_empty() && !var.name.contains('=') && !var.name.contains('\0')
            );
            prop_assert!(!var.value.contains('\0'));
            prop_assert!(!is_refused(&var.name, &[]));
            if var.key.0.len() > 1 {
                prop_assert!(
                    var.name
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                );
                prop_assert!(!var.name.starts_with(|c: char| c.is_ascii_digit()));
            }
        }
        Ok(())
    }

    proptest! {
        /// Tables of keys that flatten always do, into one valid, unique name per value.
        #[test]
        fn good_tables_give_one_valid_unique_name_per_value(
            entries in prop::collection::btree_map(KEY, good_value(), 0..8),
            prefix in "[A-Z_]{0,2}",
        ) {
            let table: Table = entries.into_iter().map(|(k, v)| e(&k, v)).collect();
            let options = Options { prefix: &prefix, ..Options::default() };
            let vars = flatten(&table, &options);
            prop_assert!(vars.is_ok(), "{:?}", vars.err());
            let vars = vars.unwrap_or_default();
            prop_assert_eq!(vars.len(), leaves(&table));
            check_names(&vars)?;
        }

        /// Any table at all: no panic, and what `flatten_all` gives beside its errors is
        /// valid and unique too (`check` goes on with it); `flatten` fails exactly when
        /// there is an error. Each error is a row of the table tests above.
        #[test]
        fn arbitrary_tables_never_panic_and_give_valid_unique_names(
            entries in prop::collection::vec(("[a-zA-Z0-9_ .é=-]{0,6}", arb_value()), 0..8),
            prefix in "[A-Z_]{0,3}",
        ) {
            let mut seen = std::collections::HashSet::new();
            let table: Table = entries
                .into_iter()
                .filter(|(k, _)| seen.insert(k.clone()))
                .map(|(k, v)| e(&k, v))
                .collect();
            let options = Options { prefix: &prefix, ..Options::default() };
            let (vars, errors) = flatten_all(&table, &options);
            check_names(&vars)?;
            prop_assert_eq!(flatten(&table, &options).is_err(), !errors.is_empty());
        }
    }
}
