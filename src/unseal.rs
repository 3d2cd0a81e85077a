//! Decrypt a source's `encrypted:` values before it is flattened (SPEC §15). The keys are
//! asked for only when a value needs them, so a file without `encrypted:` values costs one
//! walk of its tree and nothing else: no variable read, no keys file opened.

use crate::crypt::{self, PrivateKey};
use crate::flatten::KeyPath;
use crate::value::{Origin, Table, Value};

/// Why a value stays closed. Names the key path and the public key, never a value or a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsealError {
    #[error(
        "{origin}: `{key}` is encrypted (for {public}) but no private key is available: set `DOTENV_PRIVATE_KEY`, or put the key in `{keys_file}` (`--keys-file` names another file)"
    )]
    NoKey {
        key: KeyPath,
        origin: Origin,
        public: Public,
        keys_file: String,
    },
    #[error(
        "{origin}: `{key}` does not open with the private key of {public}, the file's own: the value was changed, cut, or encrypted for another key; encrypt it again (`inject encrypt`)"
    )]
    Tampered {
        key: KeyPath,
        origin: Origin,
        public: Public,
    },
    #[error(
        "{origin}: `{key}` is encrypted for {public} but none of the {tried} private key(s) available opens it: set the right `DOTENV_PRIVATE_KEY` or keys file"
    )]
    WrongKey {
        key: KeyPath,
        origin: Origin,
        public: Public,
        tried: usize,
    },
    #[error("{origin}: `{key}` decrypts to bytes that are not UTF-8 text: a secret must be text")]
    NotText { key: KeyPath, origin: Origin },
    /// The keys could not be read: a variable or keys file that holds no key, or unreadable.
    #[error("{0}")]
    Keys(String),
}

/// The public key a file names, as messages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Public(pub Option<String>);

impl std::fmt::Display for Public {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(key) => write!(f, "the public key `{key}`"),
            None => write!(
                f,
                "a key the file does not name (it has no `{}`)",
                crypt::PUBLIC_KEY
            ),
        }
    }
}

/// Where private keys come from, in order of preference; each group is read only when the
/// groups before it did not open a value.
pub struct Keyring<'a> {
    groups: Vec<Group<'a>>,
    /// Where the keys file is, for the message that says no key was found.
    pub keys_file: String,
}

type Loader<'a> = Box<dyn FnOnce() -> Result<Vec<PrivateKey>, String> + 'a>;

enum Group<'a> {
    Pending(Loader<'a>),
    Loaded(Vec<PrivateKey>),
    /// Read once and failed: the same reason every time it is asked for.
    Failed(String),
}

impl<'a> Keyring<'a> {
    /// `loaders` in order of preference, e.g. the variable then the keys file.
    pub fn new(loaders: Vec<Loader<'a>>, keys_file: String) -> Self {
        Self {
            groups: loaders.into_iter().map(Group::Pending).collect(),
            keys_file,
        }
    }

    /// A keyring of keys in hand, for tests.
    #[cfg(test)]
    pub fn of(keys: Vec<PrivateKey>) -> Keyring<'static> {
        Keyring {
            groups: vec![Group::Loaded(keys)],
            keys_file: String::new(),
        }
    }

    /// Open each of `values`: the key that matches `public` first, then every other key;
    /// the keys of a group are read only for the values the groups before left closed.
    fn open(&mut self, values: &[&str], public: Option<&str>) -> Vec<Opened> {
        let mut opened: Vec<Option<Opened>> = values.iter().map(|_| None).collect();
        let (mut tried, mut matched) = (0, false);
        for index in 0..self.groups.len() {
            let pending: Vec<usize> = (0..values.len()).filter(|&i| opened[i].is_none()).collect();
            if pending.is_empty() {
                break;
            }
            let keys = match self.load(index) {
                Ok(keys) => keys,
                Err(message) => {
                    for i in pending {
                        opened[i] = Some(Opened::Failed(message.clone()));
                    }
                    break;
                }
            };
            let by_public =
                |k: &&PrivateKey| public.is_some_and(|p| p.eq_ignore_ascii_case(k.public()));
            let order: Vec<&PrivateKey> = keys
                .iter()
                .filter(by_public)
                .chain(keys.iter().filter(|k| !by_public(k)))
                .collect();
            tried += order.len();
            matched |= order.first().is_some_and(by_public);
            let plain = par_map(&pending, |&i| order.iter().find_map(|k| k.open(values[i])));
            for (i, plain) in pending.into_iter().zip(plain) {
                opened[i] = plain.map(Opened::Plain);
            }
        }
        opened
            .into_iter()
            .map(|o| {
                o.unwrap_or(if tried == 0 {
                    Opened::NoKey
                } else if matched {
                    Opened::Tampered
                } else {
                    Opened::Wrong(tried)
                })
            })
            .collect()
    }

    fn load(&mut self, index: usize) -> Result<&[PrivateKey], String> {
        let group = &mut self.groups[index];
        if let Group::Pending(_) = group {
            let Group::Pending(loader) = std::mem::replace(group, Group::Loaded(Vec::new())) else {
                unreachable!("matched just above")
            };
            *group = match loader() {
                Ok(keys) => Group::Loaded(keys),
                Err(message) => Group::Failed(message),
            };
        }
        match group {
            Group::Loaded(keys) => Ok(keys),
            Group::Failed(message) => Err(message.clone()),
            Group::Pending(_) => Ok(&[]),
        }
    }

    /// The text of the `encrypted:` value at `key`, or why it stays closed.
    pub fn open_value(
        &mut self,
        value: &str,
        public: Option<&str>,
        key: KeyPath,
        origin: &Origin,
    ) -> Result<String, UnsealError> {
        let opened = self.open(&[value], public).pop().unwrap_or(Opened::NoKey);
        self.outcome(opened, public, key, origin)
    }

    /// The text of an opened value, or why it stayed closed.
    fn outcome(
        &self,
        opened: Opened,
        public: Option<&str>,
        key: KeyPath,
        origin: &Origin,
    ) -> Result<String, UnsealError> {
        let origin = origin.clone();
        let public = Public(public.map(str::to_string));
        Err(match opened {
            Opened::Plain(bytes) => {
                return String::from_utf8(bytes).map_err(|_| UnsealError::NotText { key, origin });
            }
            Opened::NoKey => UnsealError::NoKey {
                key,
                origin,
                public,
                keys_file: self.keys_file.clone(),
            },
            Opened::Tampered => UnsealError::Tampered {
                key,
                origin,
                public,
            },
            Opened::Wrong(tried) => UnsealError::WrongKey {
                key,
                origin,
                public,
                tried,
            },
            Opened::Failed(message) => UnsealError::Keys(message),
        })
    }
}

enum Opened {
    Plain(Vec<u8>),
    NoKey,
    Tampered,
    Wrong(usize),
    /// The keys could not be read.
    Failed(String),
}

/// `f` over `items`, on as many threads as the machine has (up to 8, at least 4 items each):
/// each value is one elliptic-curve multiplication, about 60 µs, and a start with 100 of them
/// should not take 6 ms. A thread that cannot be started leaves its share to this one.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(items.len().div_ceil(4))
        .clamp(1, 8);
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let size = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let mut chunks = items.chunks(size);
        let first = chunks.next().unwrap_or(&[]);
        let started: Vec<_> = chunks
            .map(|chunk| {
                let work = move || chunk.iter().map(f).collect::<Vec<R>>();
                (
                    chunk,
                    std::thread::Builder::new().spawn_scoped(scope, work).ok(),
                )
            })
            .collect();
        let mut out: Vec<R> = first.iter().map(f).collect();
        for (chunk, handle) in started {
            match handle.map(|h| h.join()) {
                Some(Ok(part)) => out.extend(part),
                Some(Err(panic)) => std::panic::resume_unwind(panic),
                None => out.extend(chunk.iter().map(f)),
            }
        }
        out
    })
}

/// Does any string in `table` start with `encrypted:`?
pub fn any_sealed(table: &Table) -> bool {
    fn value(v: &Value) -> bool {
        match v {
            Value::String(s) => crypt::is_sealed(s),
            Value::Array(items) => items.iter().any(value),
            Value::Table(t) => any_sealed(t),
            _ => false,
        }
    }
    table.iter().any(|e| value(&e.value))
}

/// The file's public key: its root `DOTENV_PUBLIC_KEY` string.
pub fn public_key(table: &Table) -> Option<&str> {
    table.iter().find_map(|e| match (&e.key[..], &e.value) {
        (crypt::PUBLIC_KEY, Value::String(s)) => Some(s.as_str()),
        _ => None,
    })
}

/// The key paths of the plaintext strings of a file that has a `DOTENV_PUBLIC_KEY` (for
/// `check`), the public key itself left out; none when the file has no public key.
pub fn plaintext(table: &Table) -> Vec<(KeyPath, Origin)> {
    fn walk(table: &Table, path: &mut Vec<String>, out: &mut Vec<(KeyPath, Origin)>) {
        for entry in table {
            path.push(entry.key.clone());
            match &entry.value {
                Value::Table(t) => walk(t, path, out),
                value if has_plain(value) && path[..] != [crypt::PUBLIC_KEY] => {
                    out.push((KeyPath(path.clone()), entry.origin.clone()));
                }
                _ => {}
            }
            path.pop();
        }
    }
    fn has_plain(value: &Value) -> bool {
        match value {
            Value::String(s) => !crypt::is_sealed(s),
            Value::Array(items) => items.iter().any(has_plain),
            Value::Table(t) => t.iter().any(|e| has_plain(&e.value)),
            _ => false,
        }
    }
    let mut out = Vec::new();
    if public_key(table).is_some() {
        walk(table, &mut Vec::new(), &mut out);
    }
    out
}

/// Decrypt every `encrypted:` string of one source's `table` in place. Returns the key paths
/// of the variables that held one (an array counts as one variable), and every value that
/// stayed closed.
pub fn unseal(table: &mut Table, keys: &mut Keyring) -> (Vec<KeyPath>, Vec<UnsealError>) {
    if !any_sealed(table) {
        return (Vec::new(), Vec::new());
    }
    let public = public_key(table).map(str::to_string);
    let mut jobs = Jobs::default();
    jobs.table(table, &mut Vec::new());
    let values: Vec<&str> = jobs.values.iter().map(|j| j.value.as_str()).collect();
    let opened = keys.open(&values, public.as_deref());
    let mut errors = Vec::new();
    for (job, opened) in jobs.values.into_iter().zip(opened) {
        match keys.outcome(opened, public.as_deref(), job.key, job.origin) {
            Ok(text) => *job.value = text,
            Err(error) if !errors.contains(&error) => errors.push(error),
            Err(_) => {}
        }
    }
    (jobs.sealed, errors)
}

/// One `encrypted:` string to open, and where it is.
struct Job<'t> {
    value: &'t mut String,
    key: KeyPath,
    origin: &'t Origin,
}

#[derive(Default)]
struct Jobs<'t> {
    values: Vec<Job<'t>>,
    /// The variables that hold one.
    sealed: Vec<KeyPath>,
}

impl<'t> Jobs<'t> {
    fn table(&mut self, table: &'t mut Table, path: &mut Vec<String>) {
        for entry in table.iter_mut() {
            path.push(entry.key.clone());
            match &mut entry.value {
                Value::Table(t) => self.table(t, path),
                value => {
                    let before = self.values.len();
                    self.value(value, &entry.origin, path);
                    if self.values.len() > before {
                        self.sealed.push(KeyPath(path.clone()));
                    }
                }
            }
            path.pop();
        }
    }

    /// The encrypted strings of a value; those of an array are all at the array's path.
    fn value(&mut self, value: &'t mut Value, origin: &'t Origin, path: &[String]) {
        match value {
            Value::String(s) if crypt::is_sealed(s) => self.values.push(Job {
                value: s,
                key: KeyPath(path.to_vec()),
                origin,
            }),
            Value::Array(items) => items
                .iter_mut()
                .for_each(|item| self.value(item, origin, path)),
            Value::Table(t) => t
                .iter_mut()
                .for_each(|e| self.value(&mut e.value, origin, path)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_toml;

    fn sealed_file(key: &PrivateKey, body: &str) -> Table {
        let seal = |s: &str| crypt::seal(key.public(), s).unwrap();
        let text = format!(
            "DOTENV_PUBLIC_KEY = \"{}\"\nplain = \"p\"\n{}",
            key.public(),
            body.replace("SEAL(a)", &seal("a"))
                .replace("SEAL(b)", &seal("b\n\"é"))
        );
        parse_toml("s.toml", text.as_bytes()).unwrap()
    }

    #[test]
    fn opens_in_tables_inline_tables_and_arrays() {
        let key = PrivateKey::generate().unwrap();
        let mut table = sealed_file(
            &key,
            "root = \"SEAL(a)\"\n[t]\nk = \"SEAL(b)\"\ni = { x = \"SEAL(a)\" }\narr = [\"SEAL(a)\", 1, { y = \"SEAL(b)\" }]\nn = 1\n",
        );
        let (sealed, errors) = unseal(&mut table, &mut Keyring::of(vec![key]));
        assert_eq!(errors, []);
        let paths: Vec<String> = sealed.iter().map(ToString::to_string).collect();
        assert_eq!(paths, ["root", "t.k", "t.i.x", "t.arr"]);
        let vars = crate::flatten::flatten(&table, &Default::default()).unwrap();
        let got: Vec<(&str, &str)> = vars
            .iter()
            .map(|v| (v.name.as_str(), v.value.as_str()))
            .collect();
        assert_eq!(
            got[2..],
            [
                ("root", "a"),
                ("T_K", "b\n\"é"),
                ("T_I_X", "a"),
                ("T_ARR", "[\"a\",1,{\"y\":\"b\\n\\\"é\"}]"),
                ("T_N", "1"),
            ]
        );
    }

    #[test]
    fn par_map_keeps_order_at_every_size() {
        for n in [0, 1, 3, 4, 5, 17, 100, 1001] {
            let items: Vec<usize> = (0..n).collect();
            let doubled: Vec<usize> = items.iter().map(|i| i * 2).collect();
            assert_eq!(par_map(&items, |i| i * 2), doubled, "{n}");
        }
    }

    #[test]
    fn a_hundred_values_open_in_order() {
        let key = PrivateKey::generate().unwrap();
        let body: String = (0..100)
            .map(|i| {
                format!(
                    "k{i} = \"{}\"\n",
                    crypt::seal(key.public(), &format!("v{i}")).unwrap()
                )
            })
            .collect();
        let mut table = sealed_file(&key, &body);
        let (sealed, errors) = unseal(&mut table, &mut Keyring::of(vec![key]));
        assert_eq!((sealed.len(), errors), (100, vec![]));
        for (i, entry) in table[2..].iter().enumerate() {
            assert_eq!(entry.value, Value::String(format!("v{i}")));
        }
    }

    #[test]
    fn nothing_encrypted_loads_no_key() {
        let mut table = parse_toml("s.toml", b"a = \"x\"\n[t]\nb = [\"y\"]\n").unwrap();
        let loader: Loader = Box::new(|| panic!("keys loaded for a file with nothing encrypted"));
        let (sealed, errors) = unseal(
            &mut table,
            &mut Keyring::new(vec![loader], ".env.keys".into()),
        );
        assert!(sealed.is_empty() && errors.is_empty());
    }

    #[test]
    fn closed_values_name_path_and_public_key_only() {
        let key = PrivateKey::generate().unwrap();
        let other = PrivateKey::generate().unwrap();
        let body = "[t]\nk = \"SEAL(a)\"\n";
        let public = format!("the public key `{}`", key.public());
        let no_key = unseal(&mut sealed_file(&key, body), &mut Keyring::of(vec![])).1;
        assert_eq!(
            no_key[0].to_string(),
            format!(
                "s.toml:4: `t.k` is encrypted (for {public}) but no private key is available: set `DOTENV_PRIVATE_KEY`, or put the key in `` (`--keys-file` names another file)"
            )
        );
        let wrong = unseal(
            &mut sealed_file(&key, body),
            &mut Keyring::of(vec![other.clone()]),
        )
        .1;
        assert_eq!(
            wrong[0].to_string(),
            format!(
                "s.toml:4: `t.k` is encrypted for {public} but none of the 1 private key(s) available opens it: set the right `DOTENV_PRIVATE_KEY` or keys file"
            )
        );
        let mut table = sealed_file(&key, body);
        let Value::Table(t) = &mut table[2].value else {
            panic!()
        };
        let Value::String(s) = &mut t[0].value else {
            panic!()
        };
        s.replace_range(20..21, if &s[20..21] == "A" { "B" } else { "A" });
        let tampered = unseal(
            &mut table,
            &mut Keyring::of(vec![other.clone(), key.clone()]),
        )
        .1;
        assert_eq!(
            tampered[0].to_string(),
            format!(
                "s.toml:4: `t.k` does not open with the private key of {public}, the file's own: the value was changed, cut, or encrypted for another key; encrypt it again (`inject encrypt`)"
            )
        );
        for error in no_key.iter().chain(&wrong).chain(&tampered) {
            let text = error.to_string();
            assert!(
                !text.contains(&key.to_hex())
                    && !text.contains(&other.to_hex())
                    && !text.contains("encrypted:"),
                "{text}"
            );
        }
    }

    #[test]
    fn the_first_group_that_opens_wins_and_later_groups_stay_unread() {
        let key = PrivateKey::generate().unwrap();
        let mut table = sealed_file(&key, "k = \"SEAL(a)\"\n");
        let first = key.clone();
        let loaders: Vec<Loader> = vec![
            Box::new(move || Ok(vec![first])),
            Box::new(|| panic!("read the keys file")),
        ];
        let (_, errors) = unseal(&mut table, &mut Keyring::new(loaders, String::new()));
        assert_eq!(errors, []);
        let mut table = sealed_file(&key, "k = \"SEAL(a)\"\n");
        let loaders: Vec<Loader> = vec![Box::new(|| Ok(vec![])), Box::new(move || Ok(vec![key]))];
        let (_, errors) = unseal(&mut table, &mut Keyring::new(loaders, String::new()));
        assert_eq!(errors, []);
    }
}
