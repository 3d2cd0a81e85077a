//! EFFECT: where private keys come from and where new ones go (SPEC §15), and the atomic
//! rewrite of a secrets file: a sibling temporary file, fsync, rename, the mode kept.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::crypt::{self, PrivateKey};
use crate::unseal::Keyring;

/// `DOTENV_PRIVATE_KEY` (comma-separated) first, then the keys file; each read only when
/// the ones before did not open a value.
pub fn keyring(keys_file: &Path) -> Keyring<'_> {
    let from_variable = || match std::env::var(crypt::PRIVATE_KEY) {
        Err(std::env::VarError::NotPresent) => Ok(Vec::new()),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!(
            "`{}` is not text: it must hold private keys as hex digits, comma-separated",
            crypt::PRIVATE_KEY
        )),
        Ok(text) => parse_all(
            crypt::split_keys(&text),
            &format!("`{}`", crypt::PRIVATE_KEY),
        ),
    };
    let from_file = move || read_keys_file(keys_file);
    Keyring::new(
        vec![Box::new(from_variable), Box::new(from_file)],
        crate::source::display(keys_file),
    )
}

/// Every private key of a keys file; none when it does not exist.
pub fn read_keys_file(path: &Path) -> Result<Vec<PrivateKey>, String> {
    let name = crate::source::display(path);
    match fs::read_to_string(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(error) => Err(format!("cannot read the keys file `{name}`: {error}")),
        Ok(text) => {
            let keys = crypt::keys_file_keys(&text);
            parse_all(
                keys.iter().map(String::as_str),
                &format!("the keys file `{name}`"),
            )
        }
    }
}

fn parse_all<'a>(
    keys: impl Iterator<Item = &'a str>,
    place: &str,
) -> Result<Vec<PrivateKey>, String> {
    keys.enumerate()
        .map(|(i, text)| {
            PrivateKey::parse(text).ok_or_else(|| {
                format!(
                    "{place}: private key {} is not a secp256k1 private key (64 hex digits, as dotenvx writes it): fix or remove it",
                    i + 1
                )
            })
        })
        .collect()
}

/// A test-only fault point (`INJECT_TEST_CRASH_AT=STEP` exits at once, as a kill would) in
/// builds with the `fault-injection` feature; compiled out of every other build, so no user
/// of a shipped binary can trigger it.
pub fn step(name: &str) {
    #[cfg(feature = "fault-injection")]
    if std::env::var("INJECT_TEST_CRASH_AT").is_ok_and(|at| at == name) {
        std::process::exit(86);
    }
    #[cfg(not(feature = "fault-injection"))]
    let _ = name;
}

/// Append the new `key` for the secrets file `file` to the keys file, created with mode 0600
/// (dotenvx's format), and make it durable before returning.
pub fn append_key(keys_file: &Path, file: &str, key: &PrivateKey) -> io::Result<()> {
    let existing = match fs::read_to_string(keys_file) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => String::new(),
        other => other?,
    };
    let mut options = fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(keys_file)?;
    out.write_all(crypt::keys_file_entry(&existing, file, key).as_bytes())?;
    step("key-written");
    out.sync_all()?;
    sync_parent(keys_file);
    step("key-synced");
    Ok(())
}

/// Replace `path` with `bytes` atomically: a sibling file with the same mode, written and
/// fsynced, then renamed over it; then the directory is synced so the rename lasts.
pub fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let meta = fs::metadata(path)?;
    let sibling = sibling(path);
    // A sibling left by a crash holds nothing the file does not: start afresh.
    let _ = fs::remove_file(&sibling);
    let written = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut out = options.open(&sibling)?;
        step("temp-created");
        out.write_all(bytes)?;
        step("temp-written");
        fs::set_permissions(&sibling, meta.permissions())?;
        out.sync_all()?;
        step("temp-synced");
        fs::rename(&sibling, path)?;
        step("renamed");
        sync_parent(path);
        Ok(())
    })();
    if written.is_err() {
        let _ = fs::remove_file(&sibling);
    }
    written
}

/// `.NAME.inject-tmp` beside `path`: on the same file system, so the rename is atomic.
fn sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.inject-tmp"))
}

/// fsync the folder that holds `path`, so that a new name or a rename in it lasts. Windows has
/// no such call; there the rename is durable once it returns.
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if let Ok(dir) = fs::File::open(parent) {
            let _ = dir.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}
