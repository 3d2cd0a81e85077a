//! Init mode (SPEC §6.3), black-box: inject runs as a real PID 1 in a new PID namespace
//! (`unshare --pid --fork --mount-proc`, which needs root), or with `--init` outside one.
//! Every wait has a deadline, and every process a test starts is killed when it ends. Init mode
//! is Linux-only (`signalfd`).
#![cfg(target_os = "linux")]

mod common;

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::Receiver;
use std::thread;
use std::time::{Duration, Instant};

use common::{alive, children_of, kill_tree, lines, python_works, send, wait_until};

/// The binary under test, as text for argument lists.
fn inject_bin() -> &'static str {
    common::bin().to_str().expect("the binary's path is UTF-8")
}

const SECOND: Duration = Duration::from_secs(1);

/// Prints a line for each signal it handles; SIGTERM ends it with status 0. `os.write`, not
/// `print`: a handler that prints while `print` holds stdout's lock raises "reentrant call".
const SIGPRINT: &str = r#"
import os, signal, time
def h(n, f):
    os.write(1, f"got {n}\n".encode())
    if n == signal.SIGTERM:
        os._exit(0)
for s in (signal.SIGHUP, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH, signal.SIGTERM):
    signal.signal(s, h)
os.write(1, b"ready\n")
while True:
    time.sleep(0.05)
"#;

fn unshare_works() -> bool {
    static WORKS: OnceLock<bool> = OnceLock::new();
    *WORKS.get_or_init(|| {
        // SAFETY: `geteuid` only reads the process's credentials.
        let root = unsafe { libc::geteuid() } == 0;
        root && Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Return from the test, saying so, when it cannot run here.
macro_rules! need {
    (unshare) => {
        if !unshare_works() {
            common::skipped("root and unshare");
            return;
        }
    };
    (python) => {
        if !python_works() {
            common::skipped("python3");
            return;
        }
    };
}

/// `inject ARGS` as PID 1 of a new PID namespace.
fn in_namespace(args: &[&str]) -> Command {
    let mut command = Command::new("unshare");
    command
        .args(["--pid", "--fork", "--mount-proc", inject_bin()])
        .args(args);
    command
}

fn inject(args: &[&str]) -> Command {
    let mut command = Command::new(inject_bin());
    command.args(args);
    command
}

/// A started process, its stdout as lines, its stderr kept; killed with all its descendants
/// when dropped.
struct Running {
    child: Child,
    lines: Receiver<String>,
    stderr: Option<thread::JoinHandle<String>>,
    status: Option<ExitStatus>,
}

impl Running {
    fn start(mut command: Command) -> Running {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        // SAFETY: between fork and exec the closure makes only system calls.
        unsafe { command.pre_exec(default_glibc_signals) };
        let mut child = command.spawn().expect("cannot start the command");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let lines = lines(stdout);
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
            text
        });
        Running {
            child,
            lines,
            stderr: Some(stderr),
            status: None,
        }
    }

    fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("PIDs fit in i32")
    }

    /// The next line of stdout, or `None` after `timeout` (or at its end).
    fn line(&self, timeout: Duration) -> Option<String> {
        self.lines.recv_timeout(timeout).ok()
    }

    /// Every line printed until stdout ends, at most `timeout` in all.
    fn all_lines(&self, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut lines = Vec::new();
        while let Some(line) = self.line(deadline.saturating_duration_since(Instant::now())) {
            lines.push(line);
        }
        lines
    }

    /// The exit status, or `None` if it is still running after `timeout`.
    fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.status = wait_until(&mut self.child, timeout);
        self.status
    }

    /// Wait for the end (at most 10 s) and return the exit code and all of stderr.
    fn finish(mut self) -> (Option<i32>, String) {
        let status = self.wait(10 * SECOND);
        assert!(status.is_some(), "still running after 10 s");
        let stderr = self.stderr.take().and_then(|t| t.join().ok());
        (status.and_then(|s| s.code()), stderr.unwrap_or_default())
    }

    /// The first child of this process (inject when this is `unshare`, the program when this
    /// is inject), waiting up to 5 s for it to appear.
    fn first_child(&self) -> i32 {
        let deadline = Instant::now() + 5 * SECOND;
        loop {
            if let Some(&pid) = children_of(self.pid()).first() {
                return pid;
            }
            assert!(Instant::now() < deadline, "no child appeared within 5 s");
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.status.is_none() {
            kill_tree(self.pid());
            let _ = self.child.wait();
        }
    }
}

/// Give signals 32 and 33 their default action, as a shell started by `login` has them. glibc's
/// `posix_spawn` hands them on as ignored (cargo starts this test binary with it), and ignored
/// signals survive exec; glibc's `sigaction` refuses to touch them, hence the system call.
fn default_glibc_signals() -> std::io::Result<()> {
    // The kernel's `struct sigaction` all zero: SIG_DFL, no flags, an empty mask.
    let default = [0u64; 4];
    for signal in [32, 33] {
        // SAFETY: `default` is larger than the kernel's `struct sigaction` and outlives the
        // call; the old action is not asked for.
        let result = unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                signal,
                default.as_ptr(),
                std::ptr::null::<u64>(),
                8usize,
            )
        };
        if result != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

fn python(script: &str) -> Vec<&str> {
    vec!["python3", "-c", script]
}

#[test]
fn sigterm_ends_a_child_without_a_handler_only_in_init_mode() {
    need!(unshare);
    need!(python);
    let sleeper = "import time; print('ready', flush=True); time.sleep(30)";
    for (flags, init) in [(&["--"][..], true), (&["--no-init", "--"][..], false)] {
        let mut run = Running::start(in_namespace(&[flags, &python(sleeper)[..]].concat()));
        assert_eq!(run.line(10 * SECOND).as_deref(), Some("ready"), "{flags:?}");
        let pid1 = run.first_child();
        let sent = Instant::now();
        send(pid1, libc::SIGTERM);
        if init {
            let status = run.wait(SECOND);
            assert!(
                status.is_some(),
                "init: SIGTERM did not end the child within 1 s"
            );
            assert_eq!(status.and_then(|s| s.code()), Some(143));
            assert!(sent.elapsed() < SECOND);
        } else {
            // The program itself is PID 1, and the kernel drops a SIGTERM it has no handler for.
            assert_eq!(
                run.wait(3 * SECOND / 2),
                None,
                "--no-init: the child stopped"
            );
        }
    }
}

#[test]
fn exit_statuses_are_the_childs() {
    need!(unshare);
    let dir = tempfile::tempdir().expect("temp dir");
    let plain = dir.path().join("not-executable");
    std::fs::write(&plain, "#!/bin/sh\necho hi\n").expect("write");
    let plain = plain.to_str().expect("UTF-8 path");
    let cases: [(&[&str], i32, &str); 6] = [
        (&["sh", "-c", "exit 42"], 42, ""),
        (&["sh", "-c", "kill -KILL $$"], 137, ""),
        (&["sh", "-c", "kill -34 $$"], 162, ""),
        (
            &["/nonexistent"],
            127,
            "inject: error: cannot run `/nonexistent`: no such file\n",
        ),
        (
            &["no-such-command-xyz"],
            127,
            "inject: error: cannot run `no-such-command-xyz`: command not found in `PATH`\n",
        ),
        (&[plain], 126, "permission denied"),
    ];
    for (command, code, message) in cases {
        let run = Running::start(in_namespace(&[&["--"][..], command].concat()));
        let (got, stderr) = run.finish();
        assert_eq!(got, Some(code), "{command:?}: stderr {stderr}");
        if message.is_empty() {
            assert_eq!(stderr, "", "{command:?}");
        } else {
            assert!(
                stderr.starts_with("inject: error: cannot run `"),
                "{stderr}"
            );
            assert!(stderr.contains(message), "{command:?}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
        }
    }
}

#[test]
fn orphans_are_reaped() {
    need!(unshare);
    need!(python);
    let count_zombies = "import subprocess, time, os\n\
        subprocess.run(['sh', '-c', 'sleep .2 & sleep .2 & exit'])\n\
        time.sleep(1.2)\n\
        print(sum(1 for p in os.listdir('/proc') if p.isdigit() and \
        open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()[0] == 'Z'))\n";
    for (flags, zombies) in [(&["--"][..], "0"), (&["--no-init", "--"][..], "2")] {
        let run = Running::start(in_namespace(&[flags, &python(count_zombies)[..]].concat()));
        // As PID 1 itself (--no-init), python never waits for the orphaned `sleep`s.
        assert_eq!(run.line(10 * SECOND).as_deref(), Some(zombies), "{flags:?}");
        let (code, stderr) = run.finish();
        assert_eq!(code, Some(0), "{stderr}");
    }
}

#[test]
fn signals_are_forwarded_in_order() {
    need!(unshare);
    need!(python);
    let run = Running::start(in_namespace(&[&["--"][..], &python(SIGPRINT)[..]].concat()));
    assert_eq!(run.line(10 * SECOND).as_deref(), Some("ready"));
    let pid1 = run.first_child();
    let mut got = Vec::new();
    for signal in [
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGWINCH,
        libc::SIGTERM,
    ] {
        send(pid1, signal);
        got.push(run.line(5 * SECOND).unwrap_or_default());
    }
    assert_eq!(
        got,
        ["got 1", "got 2", "got 10", "got 12", "got 28", "got 15"]
    );
    assert_eq!(run.finish().0, Some(0));
}

#[test]
fn group_forwarding_reaches_the_whole_process_group() {
    need!(unshare);
    need!(python);
    // The program forks; on SIGTERM each process says so. The parent then waits up to 1 s for
    // its own child, so that inject does not end (taking the namespace down) before the
    // child had its chance.
    let family = r#"
import os, signal, time
kid = os.fork()
who = "child" if kid == 0 else "parent"
def h(n, f):
    os.write(1, f"{who} got {n}\n".encode())
    if kid:
        end = time.monotonic() + 1
        while time.monotonic() < end and os.waitpid(kid, os.WNOHANG) == (0, 0):
            time.sleep(0.01)
    os._exit(0)
signal.signal(signal.SIGTERM, h)
os.write(1, f"{who} ready\n".encode())
while True:
    time.sleep(0.05)
"#;
    for (flags, reached) in [
        (&["-g", "--"][..], &["child got 15", "parent got 15"][..]),
        (&["--"][..], &["parent got 15"][..]),
    ] {
        let run = Running::start(in_namespace(&[flags, &python(family)[..]].concat()));
        let mut ready = vec![run.line(10 * SECOND), run.line(10 * SECOND)];
        ready.sort();
        assert_eq!(
            ready,
            [
                Some(String::from("child ready")),
                Some(String::from("parent ready"))
            ]
        );
        send(run.first_child(), libc::SIGTERM);
        let mut lines = run.all_lines(5 * SECOND);
        lines.sort();
        assert_eq!(lines, reached, "{flags:?}");
        assert_eq!(run.finish().0, Some(0));
    }
}

#[test]
fn init_outside_pid1_forwards_and_exits_with_the_childs_status() {
    need!(python);
    let run = Running::start(inject(
        &[&["--init", "--"][..], &python(SIGPRINT)[..]].concat(),
    ));
    assert_eq!(run.line(10 * SECOND).as_deref(), Some("ready"));
    send(run.pid(), libc::SIGTERM);
    assert_eq!(run.line(5 * SECOND).as_deref(), Some("got 15"));
    assert_eq!(run.finish(), (Some(0), String::new()));
}

#[test]
fn real_time_and_glibc_reserved_signals_are_forwarded_too() {
    // glibc keeps 32 and 33 for itself and its `sigfillset` leaves them out; unblocked, they
    // would end inject and orphan the program.
    for signal in [libc::SIGTERM, 32, 33, 34, 64] {
        let mut run = Running::start(inject(&["--init", "--", "sleep", "30"]));
        let program = run.first_child();
        let ignored = std::fs::read_to_string(format!("/proc/{}/status", run.pid()))
            .ok()
            .and_then(|status| {
                let mask = status.lines().find_map(|l| l.strip_prefix("SigIgn:"))?;
                u64::from_str_radix(mask.trim(), 16).ok()
            });
        assert_eq!(
            ignored.map(|m| m >> (signal - 1) & 1),
            Some(0),
            "ignored by the caller"
        );
        send(run.pid(), signal);
        let status = run.wait(5 * SECOND);
        assert!(status.is_some(), "signal {signal}: inject did not end");
        let status = status.unwrap_or_else(|| ExitStatus::from_raw(0));
        assert_eq!(
            (status.code(), status.signal()),
            (Some(128 + signal), None),
            "signal {signal}"
        );
        assert!(children_of(run.pid()).is_empty() && !alive(program));
    }
}

#[test]
fn init_outside_pid1_adopts_orphans() {
    // The subshell exits at once; its background child is orphaned and should be adopted by
    // inject (PR_SET_CHILD_SUBREAPER), not by the system's init.
    let script =
        "( sh -c 'sleep 0.3; read a b c ppid rest < /proc/$$/stat; echo $ppid' & ); sleep 1";
    let run = Running::start(inject(&["--init", "--", "sh", "-c", script]));
    let adopter = run.line(10 * SECOND);
    assert_eq!(adopter, Some(run.pid().to_string()));
    assert_eq!(run.finish().0, Some(0));
}

/// What a program sees of its signal state and descriptors, when started by `env` and by
/// inject in each mode from a caller that blocks SIGUSR1 and ignores SIGHUP and SIGPIPE.
#[test]
fn the_child_inherits_the_callers_signal_state_and_no_descriptor() {
    need!(python);
    let odd_caller = "import os, signal, sys\n\
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})\n\
        signal.signal(signal.SIGHUP, signal.SIG_IGN)\n\
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)\n\
        os.execvp(sys.argv[1], sys.argv[1:])\n";
    let output = |front: &[&str], launcher: &[&str]| -> String {
        let mut seen = Vec::new();
        for probe in [
            &["grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"][..],
            &["ls", "/proc/self/fd"][..],
        ] {
            let mut command = Command::new("python3");
            command
                .args(["-c", odd_caller])
                .args(front)
                .args(launcher)
                .args(probe);
            let mut run = Running::start(command);
            seen.extend(run.all_lines(10 * SECOND));
            assert!(run.wait(5 * SECOND).is_some(), "{launcher:?} did not end");
        }
        seen.join("\n")
    };
    let plain = output(&[], &["env"]);
    let mask = |field: &str| -> u64 {
        let line = plain.lines().find_map(|l| l.strip_prefix(field));
        u64::from_str_radix(line.unwrap_or("").trim(), 16).unwrap_or(0)
    };
    let bit = |signal: i32| 1u64 << (signal - 1);
    assert!(
        mask("SigBlk:") & bit(libc::SIGUSR1) != 0
            && mask("SigIgn:") & (bit(libc::SIGHUP) | bit(libc::SIGPIPE))
                == bit(libc::SIGHUP) | bit(libc::SIGPIPE),
        "the caller's odd state did not reach `env`'s program: {plain}"
    );
    assert_eq!(output(&[], &[inject_bin(), "--init", "--"]), plain);
    if unshare_works() {
        let unshare = ["unshare", "--pid", "--fork", "--mount-proc"];
        let in_namespace = output(&unshare, &["env"]);
        assert_eq!(output(&unshare, &[inject_bin(), "--"]), in_namespace);
    } else {
        common::skipped("root and unshare (to run as PID 1)");
    }
}

/// Run `sh -c SCRIPT` as the session leader of a new pseudo-terminal; its output.
fn on_a_terminal(script: &str) -> String {
    let host = "import os, pty, sys\n\
        pid, fd = pty.fork()\n\
        if pid == 0:\n    os.execvp(sys.argv[1], sys.argv[1:])\n\
        out = b''\n\
        while True:\n\
        \x20   try:\n        chunk = os.read(fd, 4096)\n\
        \x20   except OSError:\n        break\n\
        \x20   if not chunk:\n        break\n\
        \x20   out += chunk\n\
        os.waitpid(pid, 0)\n\
        sys.stdout.buffer.write(out)\n";
    let mut command = Command::new("python3");
    command
        .args(["-c", host, "sh", "-c", script])
        .env("INJECT", inject_bin());
    let run = Running::start(command);
    run.all_lines(10 * SECOND).join("\n")
}

/// `NAME pid pgrp tpgid` of the shell that runs it (`/proc/PID/stat` fields 1, 5 and 8).
const WHO: &str = r#"read pid comm state ppid pgrp session tty tpgid rest < /proc/$$/stat; echo NAME $pid $pgrp $tpgid"#;

fn who(name: &str) -> String {
    WHO.replace("NAME", name)
}

/// The `pid pgrp tpgid` numbers of the line starting with `name`.
fn ids(output: &str, name: &str) -> [String; 3] {
    let line = output
        .lines()
        .find(|l| l.trim_start().starts_with(name))
        .unwrap_or_else(|| panic!("no `{name}` line in {output:?}"));
    let words: Vec<String> = line.split_whitespace().skip(1).map(String::from).collect();
    words
        .try_into()
        .unwrap_or_else(|w| panic!("bad line {w:?}"))
}

#[test]
fn the_child_gets_the_terminal_and_inject_gives_it_back() {
    need!(python);
    let script = format!(
        "\"$INJECT\" --init -- sh -c '{}'; {}",
        who("child"),
        who("shell")
    );
    let output = on_a_terminal(&script);
    let [pid, group, foreground] = ids(&output, "child");
    assert_eq!((&group, &foreground), (&pid, &pid), "{output}");
    let [_, group, foreground] = ids(&output, "shell");
    assert_eq!(foreground, group, "terminal not given back: {output}");
}

#[test]
fn a_background_inject_leaves_the_terminal_alone() {
    need!(python);
    // `set -m`: the background job gets its own group, which is not the foreground one.
    let script = format!(
        "set -m; \"$INJECT\" --init -- sh -c '{}' & wait; {}",
        who("child"),
        who("shell")
    );
    let output = on_a_terminal(&script);
    let [pid, group, foreground] = ids(&output, "child");
    assert_eq!(group, pid, "{output}");
    assert_ne!(
        foreground, pid,
        "a background job took the terminal: {output}"
    );
    let [_, group, foreground] = ids(&output, "shell");
    assert_eq!(foreground, group, "{output}");
}
