//! Decrypt a source's `encrypted:` values before it is flattened (SPEC §15). The keys are
//! asked for only when a value needs them, so a file without `encrypted:` values costs one
//! walk of its tree and nothing else: no variable read, no keys file opened.

use crate::crypt::{self, PrivateKey};
use crate::flatten::KeyPath;
use crate::value::{Entry, Origin, Table, Value};

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
        "{origin}: `{key}` does not open with the private key of its file's public key {public}: the value was changed or cut after it was encrypted; encrypt it again (`inject encrypt`)"
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

    /// Open `value`: the key that matches `public` first, then every other key.
    fn open(&mut self, value: &str, public: Option<&str>) -> Result<Opened, String> {
        let mut tried = 0;
        let mut matched = false;
        for index in 0..self.groups.len() {
            let keys = self.load(index)?;
            let by_public =
                |k: &&PrivateKey| public.is_some_and(|p| p.eq_ignore_ascii_case(k.public()));
            let order = keys
                .iter()
                .filter(by_public)
                .chain(keys.iter().filter(|k| !by_public(k)));
            for key in order {
                tried += 1;
                matched |= by_public(&key);
                if let Some(plain) = key.open(value) {
                    return Ok(Opened::Plain(plain));
                }
            }
        }
        Ok(if tried == 0 {
            Opened::NoKey
        } else if matched {
            Opened::Tampered
        } else {
            Opened::Wrong(tried)
        })
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
        let origin = origin.clone();
        let public_shown = Public(public.map(str::to_string));
        Err(match self.open(value, public) {
            Ok(Opened::Plain(bytes)) => {
                return String::from_utf8(bytes).map_err(|_| UnsealError::NotText { key, origin });
            }
            Ok(Opened::NoKey) => UnsealError::NoKey {
                key,
                origin,
                public: public_shown,
                keys_file: self.keys_file.clone(),
            },
            Ok(Opened::Tampered) => UnsealError::Tampered {
                key,
                origin,
                public: public_shown,
            },
            Ok(Opened::Wrong(tried)) => UnsealError::WrongKey {
                key,
                origin,
                public: public_shown,
                tried,
            },
            Err(message) => UnsealError::Keys(message),
        })
    }
}

enum Opened {
    Plain(Vec<u8>),
    NoKey,
    Tampered,
    Wrong(usize),
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
    let mut walk = Walk {
        public: public_key(table).map(str::to_string),
        keys,
        path: Vec::new(),
        sealed: Vec::new(),
        errors: Vec::new(),
    };
    if any_sealed(table) {
        walk.table(table);
    }
    (walk.sealed, walk.errors)
}

struct Walk<'k, 'a> {
    public: Option<String>,
    keys: &'k mut Keyring<'a>,
    path: Vec<String>,
    sealed: Vec<KeyPath>,
    errors: Vec<UnsealError>,
}

impl Walk<'_, '_> {
    fn table(&mut self, table: &mut Table) {
        for entry in table.iter_mut() {
            self.path.push(entry.key.clone());
            self.entry(entry);
            self.path.pop();
        }
    }

    fn entry(&mut self, entry: &mut Entry) {
        match &mut entry.value {
            Value::Table(t) => self.table(t),
            value => {
                if self.value(value, &entry.origin) {
                    self.sealed.push(KeyPath(self.path.clone()));
                }
            }
        }
    }

    /// Decrypt what `value` holds; was anything in it encrypted?
    fn value(&mut self, value: &mut Value, origin: &Origin) -> bool {
        match value {
            Value::String(s) if crypt::is_sealed(s) => {
                if let Some(plain) = self.open(s, origin) {
                    *s = plain;
                }
                true
            }
            Value::Array(items) => items
                .iter_mut()
                .fold(false, |any, item| self.value(item, origin) | any),
            Value::Table(t) => {
                // A table inside an array: its keys are part of the array's one variable.
                let mut any = false;
                for entry in t.iter_mut() {
                    any |= self.value(&mut entry.value, origin);
                }
                any
            }
            _ => false,
        }
    }

    fn open(&mut self, value: &str, origin: &Origin) -> Option<String> {
        let key = KeyPath(self.path.clone());
        match self
            .keys
            .open_value(value, self.public.as_deref(), key, origin)
        {
            Ok(text) => Some(text),
            Err(error) => {
                if !self.errors.contains(&error) {
                    self.errors.push(error);
                }
                None
            }
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
                "s.toml:4: `t.k` does not open with the private key of its file's public key {public}: the value was changed or cut after it was encrypted; encrypt it again (`inject encrypt`)"
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
