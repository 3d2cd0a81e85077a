//! PURE: compose the child's environment from the inherited one and the variables (SPEC §4).

#[cfg(unix)]
use std::borrow::Cow;
use std::collections::HashMap;
#[cfg(unix)]
use std::ffi::{CStr, CString};
use std::ffi::{OsStr, OsString};
#[cfg(unix)]
use std::os::unix::ffi::OsStrExt;

use rustc_hash::FxHashMap;

use crate::flatten::Variable;

/// One `NAME=value` entry of an environment, as bytes the OS gave us.
///
/// On Unix it is held as the C string `execve` takes, so that the program's environment is
/// built without copying: an inherited entry borrows the string the C runtime handed to
/// `main` (10,000 inherited variables cost 10,000 pointers, not 20,000 allocations), an
/// injected one is formatted once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pair {
    #[cfg(unix)]
    entry: Cow<'static, CStr>,
    /// Where the `=` between name and value is.
    #[cfg(unix)]
    eq: usize,
    #[cfg(not(unix))]
    name: OsString,
    #[cfg(not(unix))]
    value: OsString,
}

#[cfg(unix)]
impl Pair {
    pub fn new(name: &OsStr, value: &OsStr) -> Self {
        let (name, value) = (name.as_bytes(), value.as_bytes());
        let mut bytes = Vec::with_capacity(name.len() + value.len() + 2);
        bytes.extend_from_slice(name);
        bytes.push(b'=');
        bytes.extend_from_slice(value);
        // No name or value here holds NUL (the kernel split inherited strings there, injected
        // ones were checked); should one, the entry ends there, as exec would read it.
        let entry = CString::new(bytes).unwrap_or_else(|e| {
            let end = e.nul_position();
            let mut bytes = e.into_vec();
            bytes.truncate(end);
            CString::new(bytes).unwrap_or_default()
        });
        let eq = name.len().min(entry.to_bytes().len());
        Pair {
            entry: Cow::Owned(entry),
            eq,
        }
    }

    /// An entry of the environment inject was started with, borrowed. As `std::env::vars_os`
    /// reads it (and glibc's `getenv`): the name ends at the first `=` after its first byte, so
    /// it may start with `=`; an entry without one is no variable (`None`).
    pub fn inherited(entry: &'static CStr) -> Option<Self> {
        let bytes = entry.to_bytes();
        let eq = 1 + memchr::memchr(b'=', bytes.get(1..)?)?;
        Some(Pair {
            entry: Cow::Borrowed(entry),
            eq,
        })
    }

    pub fn name(&self) -> &OsStr {
        OsStr::from_bytes(&self.entry.to_bytes()[..self.eq])
    }

    pub fn value(&self) -> &OsStr {
        OsStr::from_bytes(self.entry.to_bytes().get(self.eq + 1..).unwrap_or_default())
    }

    /// `NAME=value`, NUL-terminated: what `execve` takes.
    pub fn as_c_str(&self) -> &CStr {
        &self.entry
    }
}

#[cfg(not(unix))]
impl Pair {
    pub fn new(name: &OsStr, value: &OsStr) -> Self {
        Pair {
            name: name.to_os_string(),
            value: value.to_os_string(),
        }
    }

    pub fn name(&self) -> &OsStr {
        &self.name
    }

    pub fn value(&self) -> &OsStr {
        &self.value
    }
}

/// The value of `name` in `env`: its first entry, as `getenv` reads it.
pub fn get<'e>(env: &'e [Pair], name: &str) -> Option<&'e OsStr> {
    env.iter().find(|pair| pair.name() == name).map(Pair::value)
}

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
    /// What became of each variable, in their order.
    pub outcomes: Vec<Outcome>,
}

/// What composing did with one variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Its value is in the environment: it replaced an inherited one or was added.
    Set,
    /// `--no-override`: the environment had the name already and keeps its inherited value.
    Kept,
}

impl Composed {
    /// Each variable with what became of it.
    pub fn zip<'a>(
        &'a self,
        variables: &'a [Variable],
    ) -> impl Iterator<Item = (&'a Variable, Outcome)> {
        variables.iter().zip(self.outcomes.iter().copied())
    }

    /// The variables whose value the environment holds.
    pub fn set<'a>(&'a self, variables: &'a [Variable]) -> impl Iterator<Item = &'a Variable> {
        self.zip(variables)
            .filter(|(_, outcome)| *outcome == Outcome::Set)
            .map(|(variable, _)| variable)
    }

    /// The inherited values under `name` (a name the environment holds twice has two).
    pub fn inherited<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a OsStr> {
        self.env
            .iter()
            .filter(move |pair| pair.name().as_encoded_bytes() == name.as_bytes())
            .map(Pair::value)
    }
}

/// The child's environment, in one pass over the inherited one. `variables` have unique
/// names (flatten guarantees it), so they are the index; nothing is copied but the variables
/// that end up in it.
pub fn compose(inherited: Vec<Pair>, variables: &[Variable], settings: &Settings) -> Composed {
    let mut by_name: FxHashMap<&[u8], usize> = FxHashMap::default();
    by_name.reserve(variables.len());
    for (v, variable) in variables.iter().enumerate() {
        by_name.insert(variable.name.as_bytes(), v);
    }
    let mut outcomes = vec![Outcome::Set; variables.len()];
    // Whether a variable met its name in the inherited environment.
    let mut met = vec![false; variables.len()];
    let mut env = Vec::with_capacity(inherited.len() + variables.len());
    for pair in inherited {
        if settings.clean && !settings.keep.iter().any(|k| k == pair.name()) {
            continue;
        }
        let Some(&v) = by_name.get(pair.name().as_encoded_bytes()) else {
            env.push(pair);
            continue;
        };
        if settings.no_override {
            outcomes[v] = Outcome::Kept;
            env.push(pair);
        } else if !met[v] {
            // The first entry of the name is replaced in place; a later duplicate goes (it
            // would shadow nothing for getenv, but could for other readers of environ).
            let variable = &variables[v];
            env.push(Pair::new(variable.name.as_ref(), variable.value.as_ref()));
        }
        met[v] = true;
    }
    env.extend(
        variables
            .iter()
            .zip(&met)
            .filter(|(_, met)| !**met)
            .map(|(variable, _)| Pair::new(variable.name.as_ref(), variable.value.as_ref())),
    );
    Composed { env, outcomes }
}

/// Windows compares variable names without regard to ASCII case: `Path` and `PATH` are one
/// variable. Before the exact comparisons of [`compose`] and of the required names, spell each
/// entry of `env` whose name equals one of `names` but for case as that name, so that one name
/// stays one: the file's `PATH` replaces an inherited `Path` (or, with `--no-override`, leaves
/// it), and `--keep path` keeps it. Other entries keep their spelling. Called on Windows only.
pub fn respell<'a>(env: &mut [Pair], names: impl IntoIterator<Item = &'a OsStr> + Clone) {
    for pair in env.iter_mut() {
        if let Some(spelled) = spelling(pair.name(), names.clone()) {
            *pair = Pair::new(spelled, pair.value());
        }
    }
}

/// Spell `name` as the first of `names` that equals it but for ASCII case.
pub fn respell_name<'a>(name: &mut OsString, names: impl IntoIterator<Item = &'a OsStr>) {
    if let Some(spelled) = spelling(name, names) {
        *name = spelled.to_os_string();
    }
}

/// The first of `names` that equals `name` but for ASCII case, when it is spelled otherwise.
fn spelling<'a>(name: &OsStr, names: impl IntoIterator<Item = &'a OsStr>) -> Option<&'a OsStr> {
    names
        .into_iter()
        .find(|n| n.eq_ignore_ascii_case(name) && *n != name)
}

/// The names whose value differs between two environments (`--watch`, SPEC §12). Names
/// only: this is what inject prints, and a value must never be.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// In both, with another value; in the order of the new environment.
    pub changed: Vec<String>,
    /// Only in the new environment, in its order.
    pub added: Vec<String>,
    /// Only in the old environment, in its order.
    pub removed: Vec<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.added.is_empty() && self.removed.is_empty()
    }
}

/// `changed A, B; added C; removed D`, leaving out what is empty.
impl std::fmt::Display for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = [
            ("changed", &self.changed),
            ("added", &self.added),
            ("removed", &self.removed),
        ]
        .into_iter()
        .filter(|(_, names)| !names.is_empty())
        .map(|(what, names)| format!("{what} {}", names.join(", ")))
        .collect();
        f.write_str(&parts.join("; "))
    }
}

/// Compare two composed environments by name. The order of the variables does not count
/// (no program can tell); a name the environment holds twice compares all its values.
pub fn changed_names(old: &[Pair], new: &[Pair]) -> Changes {
    fn by_name(env: &[Pair]) -> (Vec<&OsStr>, HashMap<&OsStr, Vec<&OsStr>>) {
        let mut order = Vec::new();
        let mut values: HashMap<&OsStr, Vec<&OsStr>> = HashMap::with_capacity(env.len());
        for pair in env {
            let entry = values.entry(pair.name()).or_default();
            if entry.is_empty() {
                order.push(pair.name());
            }
            entry.push(pair.value());
        }
        (order, values)
    }
    let (old_order, old_values) = by_name(old);
    let (new_order, new_values) = by_name(new);
    let text = |name: &OsStr| name.to_string_lossy().into_owned();
    let mut changes = Changes::default();
    for name in new_order {
        match old_values.get(name) {
            None => changes.added.push(text(name)),
            Some(before) if *before != new_values[name] => changes.changed.push(text(name)),
            Some(_) => {}
        }
    }
    changes.removed = old_order
        .into_iter()
        .filter(|name| !new_values.contains_key(name))
        .map(text)
        .collect();
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str, value: &str) -> Variable {
        Variable::test(name, value)
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<Pair> {
        pairs
            .iter()
            .map(|(n, v)| Pair::new(n.as_ref(), v.as_ref()))
            .collect()
    }

    #[test]
    fn rows() {
        let inherited = env(&[("HOME", "/h"), ("TRELLO_API_KEY", "old"), ("PATH", "/bin")]);
        let vars = [var("TRELLO_API_KEY", "new"), var("NEW", "n")];
        let keep = [OsString::from("HOME"), OsString::from("ABSENT")];
        type Row<'a> = (&'a str, Settings<'a>, Vec<(&'a str, &'a str)>, Vec<Outcome>);
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
                vec![Outcome::Set, Outcome::Set],
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
                vec![Outcome::Kept, Outcome::Set],
            ),
            (
                "--clean keeps only --keep names",
                Settings {
                    clean: true,
                    keep: &keep,
                    ..Settings::default()
                },
                vec![("HOME", "/h"), ("TRELLO_API_KEY", "new"), ("NEW", "n")],
                vec![Outcome::Set, Outcome::Set],
            ),
            (
                "--clean --no-override: only kept names can win",
                Settings {
                    clean: true,
                    no_override: true,
                    keep: &keep,
                },
                vec![("HOME", "/h"), ("TRELLO_API_KEY", "new"), ("NEW", "n")],
                vec![Outcome::Set, Outcome::Set],
            ),
        ];
        for (why, settings, want, kept) in rows {
            let got = compose(inherited.clone(), &vars, &settings);
            assert_eq!(got.env, env(&want), "{why}");
            assert_eq!(got.outcomes, kept, "{why}");
        }
    }

    /// Inherited entries split as `std::env::vars_os` splits them.
    #[cfg(unix)]
    #[test]
    fn inherited_entries() {
        let rows: [(&'static std::ffi::CStr, Option<(&str, &str)>); 6] = [
            (c"A=1", Some(("A", "1"))),
            (c"A=b=c", Some(("A", "b=c"))),
            (c"A=", Some(("A", ""))),
            (c"=C:=x", Some(("=C:", "x"))),
            (c"=", None),
            (c"no-equals", None),
        ];
        for (entry, want) in rows {
            let got = Pair::inherited(entry);
            assert_eq!(
                got.as_ref().map(|p| (p.name(), p.value())),
                want.map(|(n, v)| (OsStr::new(n), OsStr::new(v))),
                "{entry:?}"
            );
            if let Some(pair) = got {
                assert_eq!(pair.as_c_str(), entry);
                assert_eq!(pair, Pair::new(pair.name(), pair.value()));
            }
        }
    }

    #[test]
    fn respelled_names_are_one_name_as_on_windows() {
        let names = |vars: &[Variable]| {
            vars.iter()
                .map(|v| OsString::from(&v.name))
                .collect::<Vec<_>>()
        };
        let vars = [var("PATH", "C:\\secret"), var("Other", "o")];
        let spelled = names(&vars);
        let respelled = |inherited: &[(&str, &str)]| {
            let mut inherited = env(inherited);
            respell(&mut inherited, spelled.iter().map(OsString::as_os_str));
            inherited
        };
        let inherited = respelled(&[("Path", "C:\\bin"), ("OTHER", "1"), ("path2", "p")]);
        assert_eq!(
            inherited,
            env(&[("PATH", "C:\\bin"), ("Other", "1"), ("path2", "p")])
        );
        let got = compose(inherited.clone(), &vars, &Settings::default());
        assert_eq!(
            got.env,
            env(&[("PATH", "C:\\secret"), ("Other", "o"), ("path2", "p")]),
            "the file wins, one entry"
        );
        let kept = Settings {
            no_override: true,
            ..Settings::default()
        };
        let got = compose(inherited, &vars, &kept);
        assert_eq!(
            got.env,
            env(&[("PATH", "C:\\bin"), ("Other", "1"), ("path2", "p")]),
            "--no-override: the inherited value, one entry"
        );
        assert_eq!(got.outcomes, [Outcome::Kept, Outcome::Kept]);
        let mut keep = [OsString::from("path")];
        respell_name(&mut keep[0], spelled.iter().map(OsString::as_os_str));
        assert_eq!(keep, [OsString::from("PATH")]);
        let clean = Settings {
            clean: true,
            no_override: true,
            keep: &keep,
        };
        let got = compose(
            respelled(&[("Path", "C:\\bin"), ("HOME", "h")]),
            &vars,
            &clean,
        );
        assert_eq!(
            got.env,
            env(&[("PATH", "C:\\bin"), ("Other", "o")]),
            "--clean --keep path --no-override: the kept Path wins, one entry"
        );
        let twice = respelled(&[("Path", "a"), ("PATH", "b")]);
        let got = compose(twice, &vars, &Settings::default());
        assert_eq!(got.env, env(&[("PATH", "C:\\secret"), ("Other", "o")]));
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

    #[test]
    fn changed_names_rows() {
        let base = [("HOME", "/h"), ("TRELLO_API_KEY", "k1"), ("X", "x")];
        type Row<'a> = (
            &'a str,
            Vec<(&'a str, &'a str)>,
            [&'a [&'a str]; 3],
            &'a str,
        );
        let rows: Vec<Row> = vec![
            ("the same", base.to_vec(), [&[], &[], &[]], ""),
            (
                "reordered is the same",
                vec![("X", "x"), ("HOME", "/h"), ("TRELLO_API_KEY", "k1")],
                [&[], &[], &[]],
                "",
            ),
            (
                "a value changed",
                vec![("HOME", "/h"), ("TRELLO_API_KEY", "k2"), ("X", "x")],
                [&["TRELLO_API_KEY"], &[], &[]],
                "changed TRELLO_API_KEY",
            ),
            (
                "added and removed",
                vec![
                    ("HOME", "/h"),
                    ("TRELLO_API_KEY", "k1"),
                    ("B", ""),
                    ("A", "a"),
                ],
                [&[], &["B", "A"], &["X"]],
                "added B, A; removed X",
            ),
            (
                "all three",
                vec![("HOME", "/g"), ("TRELLO_API_KEY", "k2"), ("Y", "y")],
                [&["HOME", "TRELLO_API_KEY"], &["Y"], &["X"]],
                "changed HOME, TRELLO_API_KEY; added Y; removed X",
            ),
            (
                "an empty value is a value",
                vec![("HOME", "/h"), ("TRELLO_API_KEY", ""), ("X", "x")],
                [&["TRELLO_API_KEY"], &[], &[]],
                "changed TRELLO_API_KEY",
            ),
            (
                "a second copy of a name counts",
                vec![
                    ("HOME", "/h"),
                    ("TRELLO_API_KEY", "k1"),
                    ("X", "x"),
                    ("X", "x"),
                ],
                [&["X"], &[], &[]],
                "changed X",
            ),
        ];
        for (why, new, [changed, added, removed], line) in rows {
            let got = changed_names(&env(&base), &env(&new));
            let want = Changes {
                changed: changed.iter().map(ToString::to_string).collect(),
                added: added.iter().map(ToString::to_string).collect(),
                removed: removed.iter().map(ToString::to_string).collect(),
            };
            assert_eq!(got, want, "{why}");
            assert_eq!(got.is_empty(), line.is_empty(), "{why}");
            assert_eq!(got.to_string(), line, "{why}");
        }
    }

    #[test]
    fn changes_never_show_a_value() {
        let old = env(&[("TOKEN", "s3cr3t-old")]);
        let new = env(&[("TOKEN", "s3cr3t-new"), ("OTHER", "s3cr3t-other")]);
        let line = changed_names(&old, &new).to_string();
        assert_eq!(line, "changed TOKEN; added OTHER");
        assert!(!line.contains("s3cr3t"));
    }
}
