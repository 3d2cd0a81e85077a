//! PURE: compose the child's environment from the inherited one and the variables (SPEC §4).

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};

use crate::flatten::Variable;

/// One `NAME=value` pair of an environment, as bytes the OS gave us.
pub type Pair = (OsString, OsString);

#[derive(Clone, Copy, Debug, Default)]
pub struct Settings<'a> {
    /// An inherited variable keeps its value; the file's value is skipped.
    pub no_override: bool,
    /// Start from nothing but the `keep` names.
    pub clean: bool,
    pub keep: &'a [OsString],
}

#[derive(Debug, Default, PartialEq)]
pub struct Composed {
    /// The child's environment, inherited order first, new names after in file order.
    pub env: Vec<Pair>,
    /// Indices into the variables of those skipped because the environment already had them.
    pub kept_from_env: Vec<usize>,
}

pub fn compose(inherited: Vec<Pair>, variables: &[Variable], settings: &Settings) -> Composed {
    let mut env: Vec<Pair> = if settings.clean {
        inherited
            .into_iter()
            .filter(|(name, _)| settings.keep.contains(name))
            .collect()
    } else {
        inherited
    };
    let mut index: HashMap<OsString, usize> = HashMap::with_capacity(env.len() + variables.len());
    for (i, (name, _)) in env.iter().enumerate() {
        index.entry(name.clone()).or_insert(i);
    }
    let mut kept_from_env = Vec::new();
    let mut replaced = Vec::new();
    for (v, variable) in variables.iter().enumerate() {
        let name = OsStr::new(&variable.name);
        match index.get(name) {
            Some(_) if settings.no_override => kept_from_env.push(v),
            Some(&i) => {
                env[i].1 = OsString::from(&variable.value);
                replaced.push(i);
            }
            None => {
                index.insert(name.to_os_string(), env.len());
                env.push((name.to_os_string(), OsString::from(&variable.value)));
            }
        }
    }
    if !replaced.is_empty() {
        // A duplicate of a replaced name later in the inherited list would shadow nothing
        // for getenv, but could for other readers of environ: drop it.
        let mut first = vec![false; env.len()];
        for &i in &replaced {
            first[i] = true;
        }
        let replaced_names: std::collections::HashSet<OsString> =
            replaced.iter().map(|&i| env[i].0.clone()).collect();
        let mut i = 0;
        env.retain(|(name, _)| {
            let keep = first[i] || !replaced_names.contains(name);
            i += 1;
            keep
        });
    }
    Composed { env, kept_from_env }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flatten::KeyPath;
    use crate::value::Origin;

    fn var(name: &str, value: &str) -> Variable {
        Variable {
            name: name.into(),
            value: value.into(),
            key: KeyPath(vec![name.into()]),
            origin: Origin {
                source: "s.toml".into(),
                line: Some(1),
            },
        }
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<Pair> {
        pairs
            .iter()
            .map(|(n, v)| (OsString::from(n), OsString::from(v)))
            .collect()
    }

    #[test]
    fn rows() {
        let inherited = env(&[("HOME", "/h"), ("TRELLO_API_KEY", "old"), ("PATH", "/bin")]);
        let vars = [var("TRELLO_API_KEY", "new"), var("NEW", "n")];
        let keep = [OsString::from("HOME"), OsString::from("ABSENT")];
        type Row<'a> = (&'a str, Settings<'a>, Vec<(&'a str, &'a str)>, Vec<usize>);
        let rows: Vec<Row> = vec![
            (
                "the file wins, in place; new names last",
                Settings::default(),
                vec![
                    ("HOME", "/h"),
                    ("TRELLO_API_KEY", "new"),
                    ("PATH", "/bin"),
                    ("NEW", "n"),
                ],
                vec![],
            ),
            (
                "--no-override keeps the inherited value",
                Settings {
                    no_override: true,
                    ..Settings::default()
                },
                vec![
                    ("HOME", "/h"),
                    ("TRELLO_API_KEY", "old"),
                    ("PATH", "/bin"),
                    ("NEW", "n"),
                ],
                vec![0],
            ),
            (
                "--clean keeps only --keep names",
                Settings {
                    clean: true,
                    keep: &keep,
                    ..Settings::default()
                },
                vec![("HOME", "/h"), ("TRELLO_API_KEY", "new"), ("NEW", "n")],
                vec![],
            ),
            (
                "--clean --no-override: only kept names can win",
                Settings {
                    clean: true,
                    no_override: true,
                    keep: &keep,
                },
                vec![("HOME", "/h"), ("TRELLO_API_KEY", "new"), ("NEW", "n")],
                vec![],
            ),
        ];
        for (why, settings, want, kept) in rows {
            let got = compose(inherited.clone(), &vars, &settings);
            assert_eq!(got.env, env(&want), "{why}");
            assert_eq!(got.kept_from_env, kept, "{why}");
        }
    }

    #[test]
    fn duplicates_of_a_replaced_name_are_dropped() {
        let inherited = env(&[("A", "1"), ("B", "2"), ("A", "3")]);
        let got = compose(inherited, &[var("A", "x")], &Settings::default());
        assert_eq!(got.env, env(&[("A", "x"), ("B", "2")]));
    }

    #[test]
    fn no_variables_leave_the_environment_untouched() {
        let inherited = env(&[("A", "1"), ("A", "2")]);
        assert_eq!(
            compose(inherited.clone(), &[], &Settings::default()).env,
            inherited
        );
    }
}
