//! `--mask` (issue 5), black-box: real programs print injected values to stdout and stderr,
//! split across many writes, and what reaches inject's own streams is checked byte for byte.
//! Every run has a deadline; every process a test starts is killed if the test fails.

mod common;

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::{TIMEOUT, TestEnv, lines, python_works, wait_until};

/// `[api] key`: masked as `API_KEY`.
const KEY: &str = "k-Zq8wVx1L-api";
/// Root `token`: masked as `token`.
const TOKEN: &str = "tok-9f8e7d6c5b";
/// Below the default minimum of 6 bytes: never masked unless `--mask-min` says so.
const SHORT: &str = "pw42";

const SECRETS: &str =
    "token = \"tok-9f8e7d6c5b\"\nshort = \"pw42\"\n[api]\nkey = \"k-Zq8wVx1L-api\"\n";

/// Return from the test, saying so, when it cannot run here.
macro_rules! need_python {
    () => {
        if !python_works() {
            common::skipped("python3");
            return;
        }
    };
}

fn setup() -> TestEnv {
    let env = TestEnv::new();
    env.write("s.toml", SECRETS);
    env
}

/// `inject -f s.toml ARGS` in its own process group (never the test's terminal), stdin null.
fn inject(env: &TestEnv, args: &[&str]) -> Command {
    let mut command = env.std_cmd();
    command
        .args(["-f", "s.toml"])
        .args(args)
        .stdin(Stdio::null())
        .process_group(0);
    command
}

/// Run to the end (at most the common timeout) with stdout and stderr captured.
fn output(mut command: Command) -> Output {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut command = assert_cmd::Command::from_std(command);
    command.timeout(TIMEOUT);
    command.output().expect("run inject")
}

/// What `--mask` should make of `bytes`.
fn masked(bytes: &[u8]) -> Vec<u8> {
    let mut out = replace(bytes, KEY.as_bytes(), b"[masked:API_KEY]");
    out = replace(&out, TOKEN.as_bytes(), b"[masked:token]");
    out
}

fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn shown(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A running inject; killed with its process group if the test ends early.
struct Running {
    child: Child,
    /// Cleared once the run is reaped: the watchdog then leaves the group alone.
    alive: Arc<AtomicBool>,
}

impl Running {
    /// Start `command`; a watchdog kills its process group after the common timeout, so that
    /// a test blocked reading a pipe of a hung inject fails instead of hanging.
    fn start(mut command: Command) -> Running {
        let child = command.spawn().expect("start inject");
        let group = -i32::try_from(child.id()).expect("PIDs fit in i32");
        let alive = Arc::new(AtomicBool::new(true));
        let watched = Arc::clone(&alive);
        thread::spawn(move || {
            let deadline = Instant::now() + TIMEOUT;
            while watched.load(Ordering::SeqCst) {
                if Instant::now() >= deadline {
                    // SAFETY: `kill` only sends a signal, to a group not yet reaped.
                    unsafe { libc::kill(group, libc::SIGKILL) };
                    return;
                }
                thread::sleep(Duration::from_millis(20));
            }
        });
        Running { child, alive }
    }

    fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("PIDs fit in i32")
    }

    /// The exit code, or `None` if inject is still running after `timeout`.
    fn wait(&mut self, timeout: Duration) -> Option<i32> {
        let status = wait_until(&mut self.child, timeout)?;
        self.alive.store(false, Ordering::SeqCst);
        status.code()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.alive.swap(false, Ordering::SeqCst) {
            // SAFETY: `kill` only sends a signal; the group is inject's own (`process_group(0)`).
            unsafe { libc::kill(-self.pid(), libc::SIGKILL) };
            let _ = self.child.wait();
        }
    }
}

/// Read everything from `source` in a thread.
fn read_all(mut source: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = source.read_to_end(&mut bytes);
        bytes
    })
}

/// Every byte value, colours, `\r`, invalid UTF-8, both secrets (one at the very end, no
/// newline after it); the short value stays as it is.
const PAYLOAD: &str = r#"
import os
key, tok, short = os.environb[b"API_KEY"], os.environb[b"token"], os.environb[b"short"]
data = (b"id=" + key + b" \x1b[1;31mred\x1b[0m " + tok + tok + b"\r\n" + bytes(range(256))
        + b"\xff\xfe " + short + b" k-Zq8 " + key[:-1] + b"\n\n" + key)
"#;

fn payload() -> Vec<u8> {
    let mut data = Vec::new();
    data.extend_from_slice(format!("id={KEY} \x1b[1;31mred\x1b[0m {TOKEN}{TOKEN}\r\n").as_bytes());
    data.extend((0..=255u8).collect::<Vec<_>>());
    data.extend_from_slice(b"\xff\xfe ");
    data.extend_from_slice(format!("{SHORT} k-Zq8 {}\n\n{KEY}", &KEY[..KEY.len() - 1]).as_bytes());
    data
}

#[test]
fn both_streams_are_masked_when_written_one_byte_at_a_time() {
    need_python!();
    let env = setup();
    let script = format!(
        "{PAYLOAD}import time\n\
         for b in data:\n\
         \x20   os.write(1, bytes([b]))\n\
         \x20   os.write(2, bytes([b]))\n\
         \x20   time.sleep(0.0002)\n"
    );
    let out = output(inject(&env, &["--mask", "--", "python3", "-c", &script]));
    let want = masked(&payload());
    assert!(contains(&want, "[masked:API_KEY]") && contains(&want, SHORT));
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out.stderr));
    assert_eq!(shown(&out.stdout), shown(&want));
    assert_eq!(out.stdout, want);
    assert_eq!(out.stderr, want);
}

#[test]
fn large_binary_output_is_byte_exact_apart_from_the_secrets() {
    let env = setup();
    // 3 MiB of every byte value, with the secrets placed across 64 KiB boundaries.
    let mut data: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    for (at, value) in [(65530, KEY), (131_070, TOKEN), (1_000_000, KEY)] {
        data[at..at + value.len()].copy_from_slice(value.as_bytes());
    }
    data.extend_from_slice(KEY.as_bytes());
    env.write_bytes("blob", &data);
    let out = output(inject(&env, &["--mask", "--", "cat", "blob"]));
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out.stderr));
    let want = masked(&data);
    assert_eq!(
        want.len(),
        data.len() + 3 * ("[masked:API_KEY]".len() - KEY.len())
    );
    assert!(out.stdout == want, "the output differs from the file");
    assert_eq!(out.stderr, b"");
}

#[test]
fn no_newline_is_added_or_lost() {
    let env = setup();
    for (script, want) in [
        ("printf ''", ""),
        ("printf 'abc'", "abc"),
        ("printf '\\n\\n'", "\n\n"),
        ("printf '%s' \"$token\"", "[masked:token]"),
        ("printf 'tok-9f8e'", "tok-9f8e"),
        (
            "printf '\\r\\n%s\\r' \"$API_KEY\"",
            "\r\n[masked:API_KEY]\r",
        ),
    ] {
        let out = output(inject(&env, &["--mask", "--", "sh", "-c", script]));
        assert_eq!(shown(&out.stdout), want, "{script}");
        assert_eq!(out.status.code(), Some(0), "{script}");
    }
}

#[test]
fn exit_statuses_are_those_of_init_mode() {
    let env = setup();
    let plain = env.write("plain", "#!/bin/sh\necho hi\n");
    let plain = plain.to_str().expect("UTF-8 path");
    let rows: [(&[&str], i32, &str); 6] = [
        (&["sh", "-c", "echo \"$API_KEY\"; exit 42"], 42, ""),
        (&["sh", "-c", "kill -TERM $$"], 143, ""),
        (&["sh", "-c", "kill -KILL $$"], 137, ""),
        (&["sh", "-c", "kill -34 $$"], 162, ""),
        (
            &["no-such-command-xyz"],
            127,
            "inject: error: cannot run `no-such-command-xyz`: command not found in `PATH`\n",
        ),
        (
            &[plain],
            126,
            "permission denied: is it executable (`chmod +x`)?\n",
        ),
    ];
    for (command, code, stderr) in rows {
        let out = output(inject(&env, &[&["--mask", "--"][..], command].concat()));
        assert_eq!(out.status.code(), Some(code), "{command:?}");
        let err = shown(&out.stderr);
        assert!(err.ends_with(stderr), "{command:?}: {err}");
        assert!(stderr.is_empty() || err.lines().count() == 1, "{err}");
        assert!(!contains(&out.stdout, KEY), "{command:?}");
    }
    let out = output(inject(
        &env,
        &["--mask", "--", "sh", "-c", "echo \"$API_KEY\"; exit 42"],
    ));
    assert_eq!(out.stdout, b"[masked:API_KEY]\n");
}

#[test]
fn sigterm_to_inject_reaches_the_program() {
    need_python!();
    let env = setup();
    let handler = "import os, signal, time\n\
        def h(n, f):\n\
        \x20   os.write(1, b'got %d ' % n + os.environb[b'API_KEY'] + b'\\n')\n\
        \x20   os._exit(0)\n\
        signal.signal(signal.SIGTERM, h)\n\
        os.write(1, b'ready\\n')\n\
        while True:\n    time.sleep(0.05)\n";
    for (program, first, last, code) in [
        (
            &["python3", "-c", handler][..],
            "ready",
            Some("got 15 [masked:API_KEY]"),
            0,
        ),
        (
            &["sh", "-c", "echo ready; exec sleep 30"][..],
            "ready",
            None,
            143,
        ),
    ] {
        let mut command = inject(&env, &[&["--mask", "--"][..], program].concat());
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut run = Running::start(command);
        let out = lines(run.child.stdout.take().expect("piped"));
        let err = read_all(run.child.stderr.take().expect("piped"));
        let timeout = Duration::from_secs(10);
        assert_eq!(out.recv_timeout(timeout).ok().as_deref(), Some(first));
        // SAFETY: `kill` only sends a signal.
        unsafe { libc::kill(run.pid(), libc::SIGTERM) };
        assert_eq!(
            out.recv_timeout(timeout).ok().as_deref(),
            last,
            "{program:?}"
        );
        assert_eq!(run.wait(timeout), Some(code), "{program:?}");
        assert_eq!(shown(&err.join().expect("stderr")), "");
    }
}

/// A pseudo-terminal as inject's stdout, a pipe as its stderr. Returns what reached each.
fn on_a_terminal(env: &TestEnv, flags: &[&str]) -> (String, String) {
    let script = "for fd in 1 2; do\n\
        if [ -t $fd ]; then what=terminal; else what=pipe; fi\n\
        printf '\\033[32m%s %s\\033[0m\\n' \"$what\" \"$API_KEY\" >&$fd\n\
        done";
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let mut command = inject(env, &[flags, &["--", "sh", "-c", script]].concat());
    command
        .stdout(Stdio::from(pty.slave))
        .stderr(Stdio::piped());
    // `start` drops the command, so only inject and its program hold the terminal, which
    // hangs up when they end.
    let mut run = Running::start(command);
    let terminal = read_all(std::fs::File::from(pty.master));
    let err = read_all(run.child.stderr.take().expect("piped"));
    assert_eq!(run.wait(TIMEOUT), Some(0));
    let stderr = shown(&err.join().expect("stderr"));
    let terminal = shown(&terminal.join().expect("terminal"));
    (terminal, stderr)
}

#[test]
fn a_terminal_is_left_alone_unless_always() {
    let env = setup();
    let (terminal, stderr) = on_a_terminal(&env, &["--mask"]);
    // The program kept its terminal: it knows it, its colours and value arrive untouched.
    assert_eq!(terminal, format!("\x1b[32mterminal {KEY}\x1b[0m\r\n"));
    assert_eq!(stderr, "\x1b[32mpipe [masked:API_KEY]\x1b[0m\n");
    // `always` masks the terminal too, and the program still sees one: a pty of its own.
    let (terminal, stderr) = on_a_terminal(&env, &["--mask=always"]);
    assert_eq!(terminal, "\x1b[32mterminal [masked:API_KEY]\x1b[0m\r\n");
    assert_eq!(stderr, "\x1b[32mpipe [masked:API_KEY]\x1b[0m\n");
}

#[test]
fn with_nothing_to_mask_the_output_is_not_piped() {
    // All values are shorter than 20 bytes: even `--mask=always` leaves the terminal alone.
    let env = setup();
    let (terminal, stderr) = on_a_terminal(&env, &["--mask=always", "--mask-min=20"]);
    assert_eq!(terminal, format!("\x1b[32mterminal {KEY}\x1b[0m\r\n"));
    assert_eq!(stderr, format!("\x1b[32mpipe {KEY}\x1b[0m\n"));
}

#[test]
fn a_flood_on_stderr_while_stdout_is_read_slowly_does_not_deadlock() {
    need_python!();
    let env = setup();
    // 2 MiB on stdout from a thread while the main thread writes 10 MiB to stderr, every
    // write a different size so that the secrets fall across them.
    let script = r#"
import os, sys, threading
key = os.environb[b"API_KEY"]
def lines(n, tag):
    return b"".join(b"%s %d %s .......\n" % (tag, i, key) for i in range(n))
out, err = lines(50000, b"out"), lines(250000, b"err")
def write(fd, data):
    i, step = 0, 1
    while i < len(data):
        i += os.write(fd, data[i:i + step])
        step = step * 7 % 65521 + 1
t = threading.Thread(target=write, args=(1, out))
t.start()
write(2, err)
t.join()
"#;
    let expect = |n: usize, tag: &str| -> Vec<u8> {
        (0..n)
            .flat_map(|i| format!("{tag} {i} [masked:API_KEY] .......\n").into_bytes())
            .collect()
    };
    let mut command = inject(&env, &["--mask", "--", "python3", "-c", script]);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut run = Running::start(command);
    let err = read_all(run.child.stderr.take().expect("piped"));
    let mut stdout = run.child.stdout.take().expect("piped");
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        thread::sleep(Duration::from_millis(2));
        match stdout.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
        }
        assert!(started.elapsed() < TIMEOUT, "stuck");
    }
    assert_eq!(run.wait(TIMEOUT), Some(0));
    let err = err.join().expect("stderr");
    assert!(
        err == expect(250_000, "err"),
        "stderr differs ({} bytes)",
        err.len()
    );
    assert!(
        out == expect(50_000, "out"),
        "stdout differs ({} bytes)",
        out.len()
    );
}

#[test]
fn when_the_reader_goes_away_the_program_gets_sigpipe() {
    let env = setup();
    let mut command = inject(&env, &["--mask", "--", "yes", "k-Zq8wVx1L-api"]);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut run = Running::start(command);
    let err = read_all(run.child.stderr.take().expect("piped"));
    let mut stdout = run.child.stdout.take().expect("piped");
    let mut first = [0u8; 17];
    stdout.read_exact(&mut first).expect("a line");
    assert_eq!(&first, b"[masked:API_KEY]\n");
    drop(stdout);
    // `yes` died of SIGPIPE, as it would have without inject.
    assert_eq!(run.wait(Duration::from_secs(10)), Some(128 + libc::SIGPIPE));
    assert_eq!(shown(&err.join().expect("stderr")), "");

    // And in a shell pipeline.
    let mut shell = env.std_command("sh");
    shell
        .args(["-c", "\"$INJECT\" -f s.toml --mask -- yes | head -1"])
        .env("INJECT", common::bin())
        .stdin(Stdio::null())
        .process_group(0);
    let out = output(shell);
    assert_eq!(
        (out.status.code(), shown(&out.stdout), shown(&out.stderr)),
        (Some(0), "y\n".into(), String::new())
    );
}

#[test]
fn injects_own_sigpipe_is_not_forwarded() {
    need_python!();
    let env = setup();
    // The reader of stdout goes away; the program's next write is relayed into a broken
    // pipe. That SIGPIPE is inject's: the program, idle since, must not receive it.
    let script = "import os, signal, sys, time\n\
        phase = 'writing'\n\
        def h(n, f):\n\
        \x20   os.write(2, b'SIGPIPE while ' + phase.encode() + b'\\n')\n\
        signal.signal(signal.SIGPIPE, h)\n\
        os.write(1, b'a\\n')\n\
        sys.stdin.read()\n\
        os.write(1, b'b\\n')\n\
        phase = 'idle'\n\
        time.sleep(0.5)\n\
        os.write(2, b'done\\n')\n";
    let mut command = inject(&env, &["--mask", "--", "python3", "-c", script]);
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut run = Running::start(command);
    let stdin = run.child.stdin.take().expect("piped");
    let err = read_all(run.child.stderr.take().expect("piped"));
    let mut stdout = run.child.stdout.take().expect("piped");
    let mut first = [0u8; 2];
    stdout.read_exact(&mut first).expect("a line");
    assert_eq!(&first, b"a\n");
    drop(stdout);
    drop(stdin);
    assert_eq!(run.wait(TIMEOUT), Some(0));
    assert_eq!(shown(&err.join().expect("stderr")), "done\n");
}

#[test]
fn one_file_for_both_streams_keeps_their_order() {
    need_python!();
    let env = setup();
    // Alternate writes to stdout and stderr; with `2>&1` the order must be exactly theirs.
    let script = "import os, time\n\
        key = os.environb[b'API_KEY']\n\
        for i in range(300):\n\
        \x20   os.write(1 + i % 2, b'%d:' % i + (key if i % 50 == 0 else b'') + b';')\n";
    let (read, write) = nix::unistd::pipe().expect("pipe");
    let mut command = inject(&env, &["--mask", "--", "python3", "-c", script]);
    command
        .stdout(Stdio::from(write.try_clone().expect("dup")))
        .stderr(Stdio::from(write));
    let mut run = Running::start(command);
    let merged = read_all(std::fs::File::from(read));
    assert_eq!(run.wait(TIMEOUT), Some(0));
    let want: String = (0..300)
        .map(|i| format!("{i}:{};", if i % 50 == 0 { "[masked:API_KEY]" } else { "" }))
        .collect();
    assert_eq!(shown(&merged.join().expect("output")), want);
}

#[test]
fn values_kept_by_no_override_are_masked_too() {
    let env = setup();
    let mut command = inject(
        &env,
        &[
            "--mask",
            "--no-override",
            "--",
            "sh",
            "-c",
            "echo \"$API_KEY\" k-Zq8wVx1L-api \"$token\"",
        ],
    );
    command.env("API_KEY", "inherited-value-77");
    let out = output(command);
    assert_eq!(
        shown(&out.stdout),
        "[masked:API_KEY] [masked:API_KEY] [masked:token]\n"
    );
}

#[test]
fn values_read_through_name_file_are_masked_too() {
    let env = setup();
    env.write("db_password", "file-secret-31337\n");
    let mut command = inject(
        &env,
        &[
            "--mask",
            "--require",
            "DB_PASSWORD",
            "--",
            "sh",
            "-c",
            "echo \"$DB_PASSWORD\"",
        ],
    );
    command.env("DB_PASSWORD_FILE", env.app.join("db_password"));
    let out = output(command);
    assert_eq!(shown(&out.stdout), "[masked:DB_PASSWORD]\n");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn the_minimum_length_is_settable() {
    let env = setup();
    let script = "echo \"$short $token\"";
    for (args, want) in [
        (&["--mask"][..], "pw42 [masked:token]\n"),
        (
            &["--mask", "--mask-min", "4"][..],
            "[masked:short] [masked:token]\n",
        ),
        (&["--mask", "--mask-min", "15"][..], "pw42 tok-9f8e7d6c5b\n"),
    ] {
        let out = output(inject(&env, &[args, &["--", "sh", "-c", script]].concat()));
        assert_eq!(shown(&out.stdout), want, "{args:?}");
    }
    let mut command = inject(&env, &["--", "sh", "-c", script]);
    command
        .env("INJECT_MASK", "auto")
        .env("INJECT_MASK_MIN", "4");
    assert_eq!(
        shown(&output(command).stdout),
        "[masked:short] [masked:token]\n"
    );
}

#[test]
fn usage_errors() {
    let env = setup();
    for (args, message) in [
        (
            &["--mask", "--no-init"][..],
            "inject: error: `--mask` keeps inject as the program's parent, `--no-init` asks it to exec: drop one of them (or unset `INJECT_MASK`)\n",
        ),
        (&["--mask-min", "4"][..], "--mask"),
        (&["--mask", "--mask-min", "0"][..], "--mask-min"),
        (&["--mask=sometimes"][..], "sometimes"),
    ] {
        let out = output(inject(
            &env,
            &[args, &["--", "sh", "-c", "echo ran"]].concat(),
        ));
        let err = shown(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {err}");
        assert!(
            err.starts_with("inject: error: ") && err.contains(message),
            "{err}"
        );
        assert_eq!(out.stdout, b"", "{args:?}");
    }
}

#[test]
fn no_value_on_injects_own_stderr() {
    let env = setup();
    let out = output(inject(
        &env,
        &[
            "-v",
            "--mask",
            "--",
            "sh",
            "-c",
            "echo \"$API_KEY $token\" >&2; echo \"$short\"",
        ],
    ));
    let err = shown(&out.stderr);
    assert!(
        err.contains(
            "inject: note: masking values of at least 6 bytes in the program's stdout and stderr\n"
        ),
        "{err}"
    );
    assert!(err.ends_with("[masked:API_KEY] [masked:token]\n"), "{err}");
    assert!(!err.contains(KEY) && !err.contains(TOKEN), "{err}");
    assert_eq!(out.stdout, b"pw42\n");
}

#[test]
fn the_program_gets_no_extra_descriptor() {
    let env = setup();
    let listing = |command: Command| shown(&output(command).stdout);
    let mut plain = env.std_command("ls");
    plain.arg("/proc/self/fd").stdin(Stdio::null());
    let want = listing(plain);
    assert!(want.starts_with("0\n1\n"), "{want}");
    assert_eq!(
        listing(inject(&env, &["--mask", "--", "ls", "/proc/self/fd"])),
        want
    );
}

#[test]
fn output_left_in_the_pipes_is_drained_but_a_background_holder_is_not_waited_for() {
    let env = setup();
    // `sleep 5 &` keeps the pipes open after the program exits; inject stops draining after
    // a quiet period instead of waiting for it.
    let script = "sleep 5 & head -c 60000 /dev/zero | tr '\\0' x; echo; echo \"$API_KEY\"; exit 7";
    let started = Instant::now();
    let out = output(inject(&env, &["--mask", "--", "sh", "-c", script]));
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(7));
    let mut want = vec![b'x'; 60000];
    want.extend_from_slice(b"\n[masked:API_KEY]\n");
    assert!(out.stdout == want, "{} bytes", out.stdout.len());
    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?}");
}

#[test]
fn what_a_background_process_writes_right_after_the_program_ended_is_relayed() {
    need_python!();
    let env = setup();
    // The grandchild waits until the program has exited (it is then adopted by inject, the
    // subreaper), then writes: within the quiet period, so it arrives, masked.
    let script = "import os, sys\n\
        parent = os.getpid()\n\
        if os.fork() == 0:\n\
        \x20   while os.getppid() == parent:\n\
        \x20       pass\n\
        \x20   os.write(1, b'late ' + os.environb[b'API_KEY'] + b'\\n')\n\
        \x20   os._exit(0)\n\
        os.write(1, b'early\\n')\n\
        os._exit(3)\n";
    let out = output(inject(&env, &["--mask", "--", "python3", "-c", script]));
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(shown(&out.stdout), "early\nlate [masked:API_KEY]\n");
}

#[test]
fn a_chatty_background_process_does_not_keep_inject_running() {
    let env = setup();
    let script = "(while :; do echo tick; sleep 0.01; done) & sleep 0.1; echo done; exit 7";
    let started = Instant::now();
    let out = output(inject(&env, &["--mask", "--", "sh", "-c", script]));
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(7));
    assert!(
        contains(&out.stdout, "done\ntick\n"),
        "{}",
        shown(&out.stdout)
    );
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
}

#[test]
fn a_stream_that_inject_cannot_write_does_not_stop_the_program() {
    let env = setup();
    // stdout is /dev/full: every write fails with ENOSPC. The program carries on and its
    // stderr still arrives, and inject says once, without a value, that output is lost.
    let mut command = inject(
        &env,
        &[
            "--mask",
            "--",
            "sh",
            "-c",
            "echo \"$API_KEY\"; echo \"$API_KEY\"; echo done \"$token\" >&2",
        ],
    );
    let full = std::fs::File::options().write(true).open("/dev/full");
    command
        .stdout(full.expect("/dev/full"))
        .stderr(Stdio::piped());
    let mut run = Running::start(command);
    let err = read_all(run.child.stderr.take().expect("piped"));
    assert_eq!(run.wait(TIMEOUT), Some(0));
    assert_eq!(
        shown(&err.join().expect("stderr")),
        "inject: error: cannot write the program's standard output (No space left on device): output there is being lost\ndone [masked:token]\n"
    );
}

#[test]
fn inject_writes_each_chunk_in_full_to_a_non_blocking_reader() {
    need_python!();
    let env = setup();
    // A caller that made the pipe non-blocking (as node does): inject waits for room instead
    // of losing output.
    let caller = "import os, subprocess, sys, fcntl, time\n\
        r, w = os.pipe()\n\
        fcntl.fcntl(w, fcntl.F_SETFL, os.O_NONBLOCK)\n\
        p = subprocess.Popen(sys.argv[1:], stdout=w)\n\
        os.close(w)\n\
        total = 0\n\
        time.sleep(0.3)\n\
        while True:\n\
        \x20   chunk = os.read(r, 65536)\n\
        \x20   if not chunk: break\n\
        \x20   total += len(chunk)\n\
        print(total, p.wait())\n";
    let mut command = env.std_command("python3");
    command
        .args(["-c", caller, common::bin().to_str().expect("UTF-8")])
        .args([
            "-f",
            "s.toml",
            "--mask",
            "--",
            "head",
            "-c",
            "3000000",
            "/dev/zero",
        ])
        .stdin(Stdio::null())
        .process_group(0);
    let out = output(command);
    assert_eq!(shown(&out.stdout), "3000000 0\n", "{}", shown(&out.stderr));
}

#[test]
fn stdin_is_the_programs() {
    let env = setup();
    let mut command = inject(&env, &["--mask", "--", "cat"]);
    command.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut run = Running::start(command);
    let mut stdin = run.child.stdin.take().expect("piped");
    let out = read_all(run.child.stdout.take().expect("piped"));
    stdin
        .write_all(format!("in {TOKEN} out").as_bytes())
        .expect("write");
    drop(stdin);
    assert_eq!(run.wait(TIMEOUT), Some(0));
    assert_eq!(shown(&out.join().expect("stdout")), "in [masked:token] out");
}
