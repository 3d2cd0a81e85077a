//! PURE: required names (SPEC §5). Who declared each name, which `NAME_FILE` files must be
//! read, and what is missing. Reading the files is the caller's job (`app.rs`).

use std::ffi::OsString;
use std::fmt;

use crate::environment::{self, Pair};
use crate::flatten::{self, FlattenError, Variable};
use crate::value::{Origin, Table};

/// Where a name was declared required.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Declaration {
    /// `--require NAME` (or `INJECT_REQUIRE`).
    Flag,
    /// A key of a `--require-from` template.
    Template(Origin),
}

impl fmt::Display for Declaration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Declaration::Flag => f.write_str("`--require`"),
            Declaration::Template(origin) => write!(f, "{origin}"),
        }
    }
}

/// One required name and every place that asked for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub name: String,
    pub declared: Vec<Declaration>,
}

/// The names a template gives: the secrets file's rules, `--prefix` included, `--only` not.
pub fn template_names(
    table: &Table,
    prefix: &str,
    allow: &[String],
) -> Result<Vec<Variable>, Vec<FlattenError>> {
    let options = flatten::Options {
        only: &[],
        prefix,
        allow,
    };
    flatten::flatten(table, &options)
}

/// Every required name once, in the order first declared: `--require` names, then templates.
pub fn collect<'a>(
    flags: &[String],
    templates: impl IntoIterator<Item = &'a Variable>,
) -> Vec<Requirement> {
    let mut out: Vec<Requirement> = Vec::new();
    let declared = flags
        .iter()
        .map(|name| (name.as_str(), Declaration::Flag))
        .chain(
            templates
                .into_iter()
                .map(|v| (v.name.as_str(), Declaration::Template(v.origin.clone()))),
        );
    for (name, declaration) in declared {
        match out.iter_mut().find(|r| r.name == name) {
            Some(known) if known.declared.contains(&declaration) => {}
            Some(known) => known.declared.push(declaration),
            None => out.push(Requirement {
                name: name.to_string(),
                declared: vec![declaration],
            }),
        }
    }
    out
}

/// A `NAME_FILE` that must be read to set a missing required `NAME`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRead {
    pub name: String,
    /// The variable that named the file, `NAME_FILE`.
    pub file_var: String,
    pub path: OsString,
}

/// Why the required names are not satisfied. Never carries a value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequireError {
    #[error(
        "`{name}` is required (by {}) but not set: add it to the secrets or the environment, or set `{name}_FILE` to a file that holds it",
        list(declared)
    )]
    Missing {
        name: String,
        declared: Vec<Declaration>,
    },
    #[error(
        "`{name}` and `{name}_FILE` are both set: unset one of them (`{name}_FILE` names a file that holds the value of `{name}`)"
    )]
    Both { name: String },
    #[error("cannot read `{path}` (named by `{file_var}`) for the required `{name}`: {error}")]
    Unreadable {
        name: String,
        file_var: String,
        path: String,
        error: String,
    },
    #[error(
        "`{path}` (named by `{file_var}`) holds a NUL byte, which no environment variable can hold: remove it"
    )]
    Nul { file_var: String, path: String },
    #[error(
        "`{path}` (named by `{file_var}`) is not valid UTF-8: a secret file must hold UTF-8 text"
    )]
    NotUtf8 { file_var: String, path: String },
}

fn list(declared: &[Declaration]) -> String {
    declared
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the composed environment needs before the program may start.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Files to read, one per required name that is missing but has a `NAME_FILE`.
    pub reads: Vec<FileRead>,
    /// Names missing with no `NAME_FILE`, and names set twice.
    pub errors: Vec<RequireError>,
}

/// Look every required name up in the composed environment. A variable set to the empty
/// string is set; an empty `NAME_FILE` names no file and counts as unset.
pub fn plan(requirements: &[Requirement], env: &[Pair]) -> Plan {
    let get = |name: &str| environment::get(env, name);
    let mut plan = Plan::default();
    for requirement in requirements {
        let name = &requirement.name;
        let file_var = format!("{name}_FILE");
        let file = get(&file_var).filter(|path| !path.is_empty());
        match (get(name), file) {
            (Some(_), Some(_)) => plan.errors.push(RequireError::Both { name: name.clone() }),
            (Some(_), None) => {}
            (None, Some(path)) => plan.reads.push(FileRead {
                name: name.clone(),
                file_var,
                path: path.to_os_string(),
            }),
            (None, None) => plan.errors.push(RequireError::Missing {
                name: name.clone(),
                declared: requirement.declared.clone(),
            }),
        }
    }
    plan
}

/// The value a `NAME_FILE` gives: its text less one trailing newline (`echo` and editors add it).
pub fn file_value(read: &FileRead, bytes: Vec<u8>) -> Result<String, RequireError> {
    let path = read.path.to_string_lossy().into_owned();
    let mut bytes = bytes;
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    if bytes.contains(&0) {
        return Err(RequireError::Nul {
            file_var: read.file_var.clone(),
            path,
        });
    }
    String::from_utf8(bytes).map_err(|_| RequireError::NotUtf8 {
        file_var: read.file_var.clone(),
        path,
    })
}

/// The variable a `NAME_FILE` gives, for `list` and `export`: named after the file.
pub fn file_variable(read: &FileRead, value: String) -> Variable {
    Variable {
        name: read.name.clone(),
        value,
        key: flatten::KeyPath(vec![read.file_var.clone()]),
        origin: Origin {
            source: read.path.to_string_lossy().into(),
            line: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_toml;

    fn env(pairs: &[(&str, &str)]) -> Vec<Pair> {
        pairs
            .iter()
            .map(|(n, v)| Pair::new(n.as_ref(), v.as_ref()))
            .collect()
    }

    fn template(text: &str, prefix: &str) -> Vec<Variable> {
        let table = parse_toml("t.toml", text.as_bytes()).unwrap();
        template_names(&table, prefix, &[]).unwrap()
    }

    fn at(line: u32) -> Declaration {
        Declaration::Template(Origin {
            source: "t.toml".into(),
            line: Some(line),
        })
    }

    #[test]
    fn templates_flatten_like_secrets_with_the_prefix() {
        let names: Vec<String> = template(
            "db_username = \"\"\n[trello]\napi_key = \"\"\n\"api-secret\" = 0\n",
            "APP_",
        )
        .into_iter()
        .map(|v| v.name)
        .collect();
        assert_eq!(
            names,
            [
                "APP_db_username",
                "APP_TRELLO_API_KEY",
                "APP_TRELLO_API_SECRET"
            ]
        );
    }

    #[test]
    fn collect_merges_declarations_in_first_seen_order() {
        let t = template("B = 1\n[a]\nx = 1\n", "");
        let got = collect(&["A_X".into(), "C".into(), "C".into()], t.iter().chain(&t));
        assert_eq!(
            got,
            vec![
                Requirement {
                    name: "A_X".into(),
                    declared: vec![Declaration::Flag, at(3)],
                },
                Requirement {
                    name: "C".into(),
                    declared: vec![Declaration::Flag],
                },
                Requirement {
                    name: "B".into(),
                    declared: vec![at(1)],
                },
            ]
        );
    }

    fn req(name: &str) -> Requirement {
        Requirement {
            name: name.into(),
            declared: vec![Declaration::Flag],
        }
    }

    /// One row per case of SPEC §5: the environment, and what the plan says.
    #[test]
    fn plan_rows() {
        let read = |name: &str, path: &str| FileRead {
            name: name.into(),
            file_var: format!("{name}_FILE"),
            path: path.into(),
        };
        let missing = |name: &str| RequireError::Missing {
            name: name.into(),
            declared: vec![Declaration::Flag],
        };
        type Row<'a> = (&'a str, Vec<(&'a str, &'a str)>, Plan);
        let rows: Vec<Row> = vec![
            ("set", vec![("K", "v")], Plan::default()),
            ("set but empty is set", vec![("K", "")], Plan::default()),
            (
                "missing",
                vec![("OTHER", "v")],
                Plan {
                    reads: vec![],
                    errors: vec![missing("K")],
                },
            ),
            (
                "_FILE indirection",
                vec![("K_FILE", "/run/k")],
                Plan {
                    reads: vec![read("K", "/run/k")],
                    errors: vec![],
                },
            ),
            (
                "both set",
                vec![("K", "v"), ("K_FILE", "/run/k")],
                Plan {
                    reads: vec![],
                    errors: vec![RequireError::Both { name: "K".into() }],
                },
            ),
            (
                "an empty _FILE names no file",
                vec![("K_FILE", "")],
                Plan {
                    reads: vec![],
                    errors: vec![missing("K")],
                },
            ),
            (
                "an empty _FILE beside the name is not a conflict",
                vec![("K", "v"), ("K_FILE", "")],
                Plan::default(),
            ),
            (
                "names are case-sensitive",
                vec![("k", "v")],
                Plan {
                    reads: vec![],
                    errors: vec![missing("K")],
                },
            ),
        ];
        for (why, pairs, want) in rows {
            assert_eq!(plan(&[req("K")], &env(&pairs)), want, "{why}");
        }
    }

    #[test]
    fn every_missing_name_is_reported_in_order() {
        let got = plan(&[req("A"), req("B"), req("C")], &env(&[("B", "1")]));
        let names: Vec<String> = got.errors.iter().map(ToString::to_string).collect();
        assert_eq!(names.len(), 2);
        assert!(names[0].starts_with("`A` is required (by `--require`)"));
        assert!(names[1].starts_with("`C` is required (by `--require`)"));
    }

    #[test]
    fn the_missing_message_names_every_declaration() {
        let error = RequireError::Missing {
            name: "K".into(),
            declared: vec![Declaration::Flag, at(4)],
        };
        assert_eq!(
            error.to_string(),
            "`K` is required (by `--require`, t.toml:4) but not set: add it to the secrets or the environment, or set `K_FILE` to a file that holds it"
        );
    }

    #[test]
    fn file_values() {
        let read = FileRead {
            name: "K".into(),
            file_var: "K_FILE".into(),
            path: "/run/k".into(),
        };
        let rows: [(&[u8], Result<&str, &str>); 7] = [
            (b"v\n", Ok("v")),
            (b"v", Ok("v")),
            (b"v\n\n", Ok("v\n")),
            (b"v\r\n", Ok("v\r")),
            (b"", Ok("")),
            (b"a\0b", Err("NUL")),
            (b"\xff\n", Err("UTF-8")),
        ];
        for (bytes, want) in rows {
            let got = file_value(&read, bytes.to_vec());
            match want {
                Ok(text) => assert_eq!(got.as_deref(), Ok(text), "{bytes:?}"),
                Err(word) => {
                    let message = got.unwrap_err().to_string();
                    assert!(message.contains(word), "{message}");
                    assert!(message.contains("`/run/k`"), "{message}");
                }
            }
        }
    }
}
