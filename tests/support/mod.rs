//! Helpers shared by `tests/export.rs`, `tests/check.rs`, `tests/require.rs` and
//! `tests/completions.rs`: a scratch project with its own home, and the real binary run in
//! it with a small, known environment.
#![allow(dead_code)] // each test crate uses its own part of this module

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A value that must never be printed where values are hidden.
pub const SECRET: &str = "s3cr3t-Zq8wVx1L";

pub struct Project {
    _dir: tempfile::TempDir,
    pub home: PathBuf,
    pub cwd: PathBuf,
}

impl Project {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let home = dir.path().join("home");
        let cwd = dir.path().join("app");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&cwd).unwrap();
        Project {
            _dir: dir,
            home,
            cwd,
        }
    }

    /// Write a file under the project with mode 0600, creating its folders.
    pub fn write(&self, rel: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.cwd.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    pub fn chmod(&self, rel: &str, mode: u32) {
        std::fs::set_permissions(self.cwd.join(rel), std::fs::Permissions::from_mode(mode))
            .unwrap();
    }

    /// `inject` with only `PATH`, `HOME` and `LANG` set, in the project directory.
    pub fn inject(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("inject").unwrap();
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("LANG", "C.UTF-8")
            .current_dir(&self.cwd);
        cmd
    }

    /// Run inject with these arguments; the output, whatever the status.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.inject().args(args).output().unwrap()
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// A TOML basic string for any text (JSON's escapes are TOML's).
pub fn toml_string(value: &str) -> String {
    serde_json::to_string(value).unwrap()
}

/// A secrets file with one root key per pair, in order.
pub fn toml_of(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{} = {}\n", toml_string(k), toml_string(v)))
        .collect()
}

/// The program's full path, if it is installed.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Say why a test did not run its check; the caller returns right after.
pub fn skipped(what: &str) {
    println!("skipped: needs {what}");
}

/// `python3 -c SCRIPT ARGS…`, or `None` when python3 is not installed.
pub fn python(script: &str, args: &[&OsStr]) -> Option<Output> {
    which("python3")?;
    Some(
        std::process::Command::new("python3")
            .arg("-c")
            .arg(script)
            .args(args)
            .output()
            .unwrap(),
    )
}

/// Whether `python3 -c "import MODULE"` works.
pub fn python_has(module: &str) -> bool {
    python(&format!("import {module}"), &[]).is_some_and(|o| o.status.success())
}

/// Assert the exact status, stdout and stderr of a run.
#[track_caller]
pub fn expect(output: &Output, code: i32, stdout: &str, stderr: &str) {
    assert_eq!(
        (
            output.status.code(),
            text(&output.stdout),
            text(&output.stderr)
        ),
        (Some(code), stdout.to_string(), stderr.to_string())
    );
}
