//! Encrypted values (SPEC §15): the one hook that opens them before flattening, and the
//! `encrypt`, `decrypt` and `rotate` commands that rewrite a secrets file in place.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::check::{self, Finding, Severity};
use crate::cli::{Cli, Command, SealArgs};
use crate::crypt::{self, PrivateKey};
use crate::edit::{self, Found};
use crate::error::{self, Error, ExitCode};
use crate::flatten::KeyPath;
use crate::source::{self, Loaded};
use crate::unseal::{self, Keyring, UnsealError};
use crate::value::{self, Origin};
use crate::{keys, parse};

/// A variable whose value was encrypted: its source and key path (for `list`).
pub(super) type Sealed = (Arc<str>, KeyPath);

/// Decrypt the `encrypted:` values of every source, each under its own file's public key.
/// The keys are read only when a value needs them.
pub(super) fn open_sources(cli: &Cli, loaded: &mut [Loaded]) -> Result<Vec<Sealed>, Error> {
    let mut sealed = Vec::new();
    if !loaded.iter().any(|l| unseal::any_sealed(&l.table)) {
        return Ok(sealed);
    }
    let mut keyring = keys::keyring(&cli.selection.keys_file);
    let mut errors = Vec::new();
    for source in loaded {
        let name: Arc<str> = source::display(&source.path).into();
        let (paths, closed) = unseal::unseal(&mut source.table, &mut keyring);
        sealed.extend(paths.into_iter().map(|p| (name.clone(), p)));
        errors.extend(closed);
    }
    if errors.is_empty() {
        Ok(sealed)
    } else {
        Err(Error::Unseal(errors))
    }
}

/// `inject encrypt`, `decrypt`, `rotate`: each file of `-f`, else the project's
/// `.streamlit/secrets.toml`.
pub(super) fn run(cli: &Cli, args: &SealArgs) -> Result<ExitCode, Error> {
    let files: Vec<PathBuf> = if cli.selection.files.is_empty() {
        vec![PathBuf::from(".streamlit/secrets.toml")]
    } else {
        cli.selection.files.iter().map(PathBuf::from).collect()
    };
    for file in &files {
        let text = read(file)?;
        let name = source::display(file);
        let (found, public) = edit::strings(&text)
            .ok_or_else(|| Error::Message(format!("`{name}`: cannot edit this TOML in place")))?;
        let found: Vec<Found> = found
            .into_iter()
            .filter(|f| edit::selected(&f.path, &args.keys))
            .collect();
        if let Some(key) = args.keys.iter().find(|k| {
            !found
                .iter()
                .any(|f| edit::selected(&f.path, std::slice::from_ref(k)))
        }) {
            return Err(Error::Message(format!(
                "`{name}` has no string value at `{key}`: give the key path as `inject list` shows it, e.g. `trello.api_key`"
            )));
        }
        let done = match &cli.command {
            Some(Command::Encrypt(_)) => encrypt(cli, file, &text, &found, public.as_ref())?,
            Some(Command::Decrypt(_)) => decrypt(cli, file, &text, &found, public.as_ref())?,
            _ => rotate(cli, file, &text, &found, public.as_ref())?,
        };
        if !cli.quiet {
            error::note("note", &format!("`{name}`: {done}"));
        }
    }
    Ok(ExitCode::Success)
}

fn encrypt(
    cli: &Cli,
    file: &Path,
    text: &str,
    found: &[Found],
    public: Option<&Found>,
) -> Result<String, Error> {
    let name = source::display(file);
    let plain: Vec<&Found> = found
        .iter()
        .filter(|f| !crypt::is_sealed(&f.value))
        .collect();
    let (public_key, header) = match public {
        Some(p) => {
            crypt::parse_public(&p.value).map_err(|e| Error::Message(format!("`{name}`: {e}")))?;
            (p.value.clone(), String::new())
        }
        None if plain.is_empty() => return Ok("no string value to encrypt".into()),
        None => {
            let key = new_key(cli, &name)?;
            (
                key.public().to_string(),
                edit::public_key_header(key.public()),
            )
        }
    };
    let replacements = plain
        .iter()
        .map(|f| Ok((f.span.clone(), seal(&name, &public_key, &f.value)?)))
        .collect::<Result<Vec<_>, Error>>()?;
    let mut out = header;
    out.push_str(&edit::splice(text, replacements));
    write(file, &out)?;
    Ok(format!(
        "encrypted {} value(s) for the public key `{public_key}`",
        plain.len()
    ))
}

fn decrypt(
    cli: &Cli,
    file: &Path,
    text: &str,
    found: &[Found],
    public: Option<&Found>,
) -> Result<String, Error> {
    let opened = open_all(cli, file, found, public)?;
    let count = opened.len();
    let replacements = opened
        .into_iter()
        .map(|(f, plain)| (f.span.clone(), value::toml_quoted(&plain)))
        .collect();
    write(file, &edit::splice(text, replacements))?;
    Ok(format!("decrypted {count} value(s)"))
}

fn rotate(
    cli: &Cli,
    file: &Path,
    text: &str,
    found: &[Found],
    public: Option<&Found>,
) -> Result<String, Error> {
    let name = source::display(file);
    let Some(public) = public else {
        return Err(Error::Message(format!(
            "`{name}` has no `{}`, so there is no key to rotate: run `inject encrypt` first",
            crypt::PUBLIC_KEY
        )));
    };
    // Every value opens before anything is written.
    let opened = open_all(cli, file, found, Some(public))?;
    let key = new_key(cli, &name)?;
    let mut replacements = vec![(public.span.clone(), value::toml_quoted(key.public()))];
    for (f, plain) in &opened {
        replacements.push((f.span.clone(), seal(&name, key.public(), plain)?));
    }
    write(file, &edit::splice(text, replacements))?;
    Ok(format!(
        "re-encrypted {} value(s) for the new public key `{}`; the old private key is still in `{}`: delete it once every copy of the file is the new one",
        opened.len(),
        key.public(),
        source::display(&cli.selection.keys_file)
    ))
}

/// The plaintext of every `encrypted:` value among `found`, or every reason one stays closed.
fn open_all<'f>(
    cli: &Cli,
    file: &Path,
    found: &'f [Found],
    public: Option<&Found>,
) -> Result<Vec<(&'f Found, String)>, Error> {
    let mut keyring: Keyring = keys::keyring(&cli.selection.keys_file);
    let source: Arc<str> = source::display(file).into();
    let mut opened = Vec::new();
    let mut errors: Vec<UnsealError> = Vec::new();
    for f in found.iter().filter(|f| crypt::is_sealed(&f.value)) {
        let origin = Origin {
            source: source.clone(),
            line: Some(f.line),
        };
        match keyring.open_value(
            &f.value,
            public.map(|p| p.value.as_str()),
            f.path.clone(),
            &origin,
        ) {
            Ok(plain) => opened.push((f, plain)),
            Err(error) if !errors.contains(&error) => errors.push(error),
            Err(_) => {}
        }
    }
    if errors.is_empty() {
        Ok(opened)
    } else {
        Err(Error::Unseal(errors))
    }
}

/// A new key pair, its private key made durable in the keys file before it is used.
fn new_key(cli: &Cli, name: &str) -> Result<PrivateKey, Error> {
    let key = PrivateKey::generate().map_err(|e| {
        Error::Message(format!("cannot get random bits from the operating system for a new key ({e}); nothing was changed"))
    })?;
    let keys_file = &cli.selection.keys_file;
    keys::append_key(keys_file, name, &key).map_err(|e| {
        Error::Message(format!(
            "cannot add the new private key to `{}`: {e}; nothing was changed",
            source::display(keys_file)
        ))
    })?;
    Ok(key)
}

fn seal(name: &str, public: &str, plain: &str) -> Result<String, Error> {
    crypt::seal(public, plain)
        .map(|sealed| value::toml_quoted(&sealed))
        .map_err(|e| Error::Message(format!("`{name}`: {e}")))
}

/// The file's text, checked the way every run reads it (errors locate, never quote).
fn read(file: &Path) -> Result<String, Error> {
    let name = source::display(file);
    let bytes = std::fs::read(file).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::Source(source::SourceError::NotFound(name.clone())),
        _ => Error::Message(format!("cannot read `{name}`: {e}")),
    })?;
    let table = parse::parse_toml(&name, &bytes).map_err(|e| Error::Source(e.into()))?;
    if unseal::public_key(&table).is_none() && table.iter().any(|e| e.key == crypt::PUBLIC_KEY) {
        return Err(Error::Message(format!(
            "`{name}`: the root key `{}` must be a string, the file's public key: fix or remove it",
            crypt::PUBLIC_KEY
        )));
    }
    String::from_utf8(bytes).map_err(|_| Error::Message(format!("`{name}` is not UTF-8")))
}

fn write(file: &Path, text: &str) -> Result<(), Error> {
    // A safety net: what is written must read back, or nothing is written.
    let name = source::display(file);
    if let Err(error) = parse::parse_toml(&name, text.as_bytes()) {
        return Err(Error::Message(format!(
            "`{name}` would not read back after the change ({error}); the file is unchanged: is `{}` a string at its root?",
            crypt::PUBLIC_KEY
        )));
    }
    keys::replace(file, text.as_bytes()).map_err(|e| {
        Error::Message(format!(
            "cannot rewrite `{}`: {e}; the file is unchanged",
            source::display(file)
        ))
    })
}

/// Is `source` safe to commit: it has a public key and no plaintext string?
pub(super) fn committable(source: &Loaded) -> bool {
    unseal::public_key(&source.table).is_some() && unseal::plaintext(&source.table).is_empty()
}

/// What `check` adds (SPEC §15): the keys file tracked by git (error) or readable by others
/// (warning), plaintext strings in a file that has a public key (warning, by key path), and
/// values that no available key opens (error). `loaded` is decrypted in place.
pub(super) fn check(cli: &Cli, loaded: &mut [Loaded]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let keys_file = &cli.selection.keys_file;
    let keys_name = source::display(keys_file);
    if keys_file.is_file() {
        if check::probe_git(keys_file) == check::GitStatus::Tracked {
            findings.push(Finding {
                severity: Severity::Error,
                kind: "keys-tracked",
                file: Some(keys_name.clone()),
                line: None,
                column: None,
                message: format!(
                    "the keys file `{keys_name}` is tracked by git, so anyone with the repository can decrypt the secrets: run `git rm --cached {keys_name}`, add it to `.gitignore`, then `inject rotate` and rotate the secrets themselves"
                ),
            });
        }
        for (file, mode) in check::probe_modes(keys_file) {
            findings.extend(check::permissions(&file, mode));
        }
    }
    let mut keyring = keys::keyring(keys_file);
    for source in loaded.iter_mut() {
        for (key, origin) in unseal::plaintext(&source.table) {
            findings.push(Finding {
                severity: Severity::Warning,
                kind: "plaintext",
                file: Some(origin.source.to_string()),
                line: origin.line,
                column: None,
                message: format!(
                    "{origin}: `{key}` is not encrypted in a file that has a `{}`: run `inject encrypt -f {}`",
                    crypt::PUBLIC_KEY,
                    origin.source
                ),
            });
        }
        for error in unseal::unseal(&mut source.table, &mut keyring).1 {
            let (file, line) = match &error {
                UnsealError::NoKey { origin, .. }
                | UnsealError::Tampered { origin, .. }
                | UnsealError::WrongKey { origin, .. }
                | UnsealError::NotText { origin, .. } => {
                    (Some(origin.source.to_string()), origin.line)
                }
                UnsealError::Keys(_) => (None, None),
            };
            findings.push(Finding {
                severity: Severity::Error,
                kind: "encrypted",
                file,
                line,
                column: None,
                message: error.to_string(),
            });
        }
    }
    findings
}
