//! Shared helpers for the black-box tests: a temporary directory with a home and a project
//! (fd's `TestEnv`), commands that run the real binary there with a known environment, and
//! the small tools the tests share (finding programs, saying why a test is skipped, watching
//! and killing the processes a test starts).

// Each test crate uses its own subset of these helpers, and `dead_code` is per crate.
#![allow(dead_code)]

mod skip;
#[allow(unused_imports)]
pub use skip::skipped;

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Output};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, channel};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A value that must never show up where values are hidden.
pub const SECRET: &str = "s3cr3t-Zq8wVx1L";

/// The `PATH` every test runs with: enough for `env`, `sh`, `printf`, `touch`, `yes`, `grep`.
pub const PATH: &str = "/usr/bin:/bin";

/// No test should take long; a hung child fails its test instead of the whole run.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// One `NAME=value` pair of an environment, as text.
pub type Pair = (String, String);

/// The path of the binary under test: `TEST_INJECT_BIN` when set (CI runs these tests again
/// against the static musl binary that the wheels carry), else the one cargo built.
pub fn bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| match std::env::var_os("TEST_INJECT_BIN") {
        Some(path) => std::fs::canonicalize(&path)
            .unwrap_or_else(|e| panic!("TEST_INJECT_BIN={}: {e}", Path::new(&path).display())),
        None => assert_cmd::cargo::cargo_bin!("inject").to_path_buf(),
    })
}

/// A temporary root holding `home/` (the `HOME` of every run) and `app/` (the working
/// directory of every run).
pub struct TestEnv {
    _dir: TempDir,
    pub root: PathBuf,
    pub home: PathBuf,
    pub app: PathBuf,
    /// The `PATH` of every run: [`PATH`], or the test process's own (`with_host_path`).
    path: String,
}

impl TestEnv {
    /// Runs get `PATH` = [`PATH`].
    pub fn new() -> Self {
        Self::with_path(PATH.to_string())
    }

    /// Runs get the `PATH` this test process has, so that programs inject runs or looks for
    /// (`git` for `check`, interpreters) are found wherever they are installed here.
    pub fn with_host_path() -> Self {
        let path = std::env::var_os("PATH").unwrap_or_default();
        Self::with_path(path.into_string().expect("a UTF-8 PATH"))
    }

    fn with_path(path: String) -> Self {
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
            path,
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

    /// Write `contents` to `rel` under `app/` with mode 0600, as a secrets file should be
    /// (`check` warns about anything more open).
    pub fn write_private(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.write_bytes(rel, contents.as_ref());
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
        path
    }

    /// Set the permission bits of `rel` under `app/`.
    pub fn chmod(&self, rel: &str, mode: u32) {
        fs::set_permissions(self.app.join(rel), fs::Permissions::from_mode(mode)).expect("chmod");
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
            ("PATH".to_string(), self.path.clone()),
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

    /// Run inject with these arguments; the output, whatever the status.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd().args(args).output().expect("run inject")
    }

    /// inject in `app/` with the base environment, as a std `Command` (for `pre_exec`,
    /// `spawn` and pipes).
    pub fn std_cmd(&self) -> std::process::Command {
        self.std_command(bin())
    }

    /// Any program in `app/` with the base environment, as a std `Command`.
    pub fn std_command(&self, program: impl AsRef<OsStr>) -> std::process::Command {
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

/// Output as text; fails the test unless it is UTF-8.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
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

/// A TOML basic string for any text (JSON's escapes are TOML's).
pub fn toml_string(value: &str) -> String {
    serde_json::to_string(value).expect("a JSON string")
}

/// A secrets file with one root key per pair, in order.
pub fn toml_of(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{} = {}\n", toml_string(k), toml_string(v)))
        .collect()
}

// ---------------------------------------------------------------- programs of the host

/// The program's full path, if it is installed on the test process's `PATH`.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
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
            .expect("run python3"),
    )
}

/// Whether `python3 -c "import MODULE"` works.
pub fn python_has(module: &str) -> bool {
    python(&format!("import {module}"), &[]).is_some_and(|o| o.status.success())
}

/// Whether `python3 -c pass` runs, asked once per test crate.
pub fn python_works() -> bool {
    static WORKS: OnceLock<bool> = OnceLock::new();
    *WORKS.get_or_init(|| {
        std::process::Command::new("python3")
            .args(["-c", "pass"])
            .status()
            .is_ok_and(|s| s.success())
    })
}

// ---------------------------------------------------------------- processes a test starts

/// The lines of `source`, as they come, read in a thread.
pub fn lines(source: impl Read + Send + 'static) -> Receiver<String> {
    let (send, receive) = channel();
    thread::spawn(move || {
        for line in BufReader::new(source).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

/// The exit status of `child`, or `None` if it still runs after `timeout`.
pub fn wait_until(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// The PIDs whose parent is `parent`, read from /proc.
pub fn children_of(parent: i32) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
                after_name.split_whitespace().nth(1) == Some(&parent.to_string())
            })
        })
        .collect()
}

/// Whether `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| !stat.contains(") Z ") && !stat.contains(") X "))
}

pub fn send(pid: i32, signal: i32) {
    // SAFETY: `kill` only sends a signal (nix's cannot send real-time ones).
    unsafe { libc::kill(pid, signal) };
}

/// SIGKILL `pid` and every descendant of it, the deepest first. The caller reaps `pid`.
pub fn kill_tree(pid: i32) {
    let mut tree = vec![pid];
    let mut next = 0;
    while next < tree.len() {
        tree.extend(children_of(tree[next]));
        next += 1;
    }
    for pid in tree.into_iter().rev() {
        send(pid, libc::SIGKILL);
    }
}
