//! Shared helpers for the black-box tests: a temporary directory with a home and a project
//! (fd's `TestEnv`), and commands that run the real binary there with a known environment.

// Each test crate uses its own subset of these helpers.
#![allow(dead_code)]

use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use tempfile::TempDir;

/// A value that must never show up where values are hidden.
pub const SECRET: &str = "s3cr3t-Zq8wVx1L";

/// The `PATH` every test runs with: enough for `env`, `sh`, `printf`, `touch`, `yes`, `grep`.
pub const PATH: &str = "/usr/bin:/bin";

/// No test should take long; a hung child fails its test instead of the whole run.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// One `NAME=value` pair of an environment, as text.
pub type Pair = (String, String);

/// The path of the binary under test.
pub fn bin() -> &'static Path {
    assert_cmd::cargo::cargo_bin!("inject")
}

/// A temporary root holding `home/` (the `HOME` of every run) and `app/` (the working
/// directory of every run).
pub struct TestEnv {
    _dir: TempDir,
    pub root: PathBuf,
    pub home: PathBuf,
    pub app: PathBuf,
}

impl TestEnv {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("inject-test-")
            .tempdir()
            .expect("create a temporary directory");
        // Canonical, so that paths the child prints (`pwd`) compare equal.
        let root = dir.path().canonicalize().expect("canonical temp dir");
        let home = root.join("home");
        let app = root.join("app");
        fs::create_dir(&home).expect("create home");
        fs::create_dir(&app).expect("create app");
        Self {
            _dir: dir,
            root,
            home,
            app,
        }
    }

    /// Write `text` to `rel` under `app/`, creating folders; returns the full path.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        write_file(&self.app.join(rel), text.as_bytes())
    }

    /// Write raw bytes to `rel` under `app/`.
    pub fn write_bytes(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        write_file(&self.app.join(rel), bytes)
    }

    /// Write `text` to `rel` under `home/`.
    pub fn write_home(&self, rel: &str, text: &str) -> PathBuf {
        write_file(&self.home.join(rel), text.as_bytes())
    }

    /// Write `text` to `rel` under `app/` with permission bits `mode`, for programs.
    ///
    /// The file is written by a short-lived `sh`, never through a descriptor of this
    /// process: tests run in threads, and a child that another test forks meanwhile would
    /// inherit a descriptor open for writing, so exec of the file would fail with ETXTBSY
    /// until that child execs in turn.
    pub fn write_mode(&self, rel: &str, text: &str, mode: u32) -> PathBuf {
        use std::io::Write;
        use std::process::{Command, Stdio};

        let path = self.app.join(rel);
        fs::create_dir_all(path.parent().expect("a parent")).expect("create folders");
        let mut writer = Command::new("/bin/sh")
            .args(["-c", "cat > \"$1\"", "sh"])
            .arg(&path)
            .stdin(Stdio::piped())
            .spawn()
            .expect("start sh");
        let mut stdin = writer.stdin.take().expect("a pipe");
        stdin.write_all(text.as_bytes()).expect("write to sh");
        drop(stdin);
        assert!(
            writer.wait().expect("wait for sh").success(),
            "sh could not write {rel}"
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
        path
    }

    /// The environment every run starts from, in the order the child sees it (std passes
    /// an explicit environment sorted by name).
    pub fn base_env(&self) -> Vec<Pair> {
        let mut env = vec![
            ("HOME".to_string(), self.home.to_str().unwrap().to_string()),
            ("LANG".to_string(), "C.UTF-8".to_string()),
            ("PATH".to_string(), PATH.to_string()),
        ];
        env.sort();
        env
    }

    /// The base environment plus `extra` (which may replace a base variable), sorted by name
    /// as the child receives it.
    pub fn env_with(&self, extra: &[(&str, &str)]) -> Vec<Pair> {
        let mut env: Vec<Pair> = self
            .base_env()
            .into_iter()
            .filter(|(name, _)| !extra.iter().any(|(n, _)| n == name))
            .collect();
        env.extend(extra.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        env.sort();
        env
    }

    /// inject in `app/` with exactly the base environment.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::new(bin());
        cmd.env_clear()
            .envs(self.base_env())
            .current_dir(&self.app)
            .timeout(TIMEOUT);
        cmd
    }

    /// inject in `app/` with the base environment, as a std `Command` (for `pre_exec`,
    /// `spawn` and pipes).
    pub fn std_cmd(&self) -> std::process::Command {
        self.std_command(bin())
    }

    /// Any program in `app/` with the base environment, as a std `Command`.
    pub fn std_command(&self, program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
        let mut cmd = std::process::Command::new(program);
        cmd.env_clear().envs(self.base_env()).current_dir(&self.app);
        cmd
    }

    /// Run `inject ARGS -- env -0` with the base environment plus `extra`; returns the
    /// child's environment in order. Fails the test unless inject ran it cleanly.
    pub fn child_env_with(&self, args: &[&str], extra: &[(&str, &str)]) -> Vec<Pair> {
        let output = self
            .cmd()
            .envs(extra.iter().copied())
            .args(args)
            .args(["--", "env", "-0"])
            .output()
            .expect("run inject");
        assert_clean_exit(&output, &format!("inject {args:?} -- env -0"));
        parse_env0(&output.stdout)
    }

    pub fn child_env(&self, args: &[&str]) -> Vec<Pair> {
        self.child_env_with(args, &[])
    }

    /// The variables inject added for `inject ARGS -- env -0`, in the order the child sees
    /// them. Also checks that every inherited variable reached the child unchanged and in
    /// place (no injected name may replace one here).
    pub fn injected(&self, args: &[&str]) -> Vec<Pair> {
        self.injected_with(args, &[])
    }

    pub fn injected_with(&self, args: &[&str], extra: &[(&str, &str)]) -> Vec<Pair> {
        let inherited = self.env_with(extra);
        let child = self.child_env_with(args, extra);
        assert!(
            child.len() >= inherited.len() && child[..inherited.len()] == inherited[..],
            "the inherited environment changed:\n  inherited {inherited:?}\n  child     {child:?}"
        );
        child[inherited.len()..].to_vec()
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> PathBuf {
    fs::create_dir_all(path.parent().expect("a parent")).expect("create folders");
    fs::write(path, bytes).expect("write file");
    path.to_path_buf()
}

/// Fail unless the run exited 0 with nothing on stderr.
pub fn assert_clean_exit(output: &Output, what: &str) {
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "{what}: {:?}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `NAME=value\0…` as `env -0` prints it, in order. Every entry must hold `=`.
pub fn parse_env0(bytes: &[u8]) -> Vec<Pair> {
    bytes
        .split(|b| *b == 0)
        .filter(|item| !item.is_empty())
        .map(|item| {
            let text = String::from_utf8(item.to_vec()).expect("a UTF-8 environment");
            let (name, value) = text.split_once('=').expect("NAME=value");
            (name.to_string(), value.to_string())
        })
        .collect()
}

/// Pairs from string literals, for expectations.
pub fn pairs(list: &[(&str, &str)]) -> Vec<Pair> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// An argument that is not UTF-8, as the OS allows.
pub fn non_utf8(bytes: &[u8]) -> OsString {
    OsString::from_vec(bytes.to_vec())
}
