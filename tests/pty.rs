//! `--mask=always` on a terminal (issue 15), black-box and byte-exact: a Python driver gives
//! inject a pseudo-terminal of its own as its controlling terminal (stdin, stdout and stderr),
//! types keys, resizes it, signals inject, and records every byte inject writes there, the
//! terminal's modes before, after and while inject is stopped, and the exit status.
//! The same in a real terminal emulator (tmux): `tests/e2e/terminal.sh`.

mod common;

use common::{TestEnv, python_works, skipped};
use serde_json::{Value, json};

/// `[api] key`: masked as `API_KEY`.
const KEY: &str = "k-Zq8wVx1L-api";

/// Runs `argv` on a new pty (24 rows, 80 columns) as a session leader, then the steps:
/// `["wait", text]` until the output holds `text` (after the last wait's text); `["send", s]`;
/// `["resize", rows, cols]`; `["signal", n]` to inject; `["stopped"]` until inject stops,
/// recording the modes then; `["cont"]`; `["raw"]` until inject set the terminal raw again
/// (keys typed before would be echoed by the terminal itself); `["shell", command]`. Prints JSON: status, output, modes before/after.
const DRIVER: &str = r#"
import json, os, select, signal, struct, subprocess, sys, termios, fcntl, time
steps = json.loads(sys.argv[1])
argv = sys.argv[2:]
master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
def modes(fd):
    m = termios.tcgetattr(fd)
    m[6] = [c.hex() if isinstance(c, bytes) else c for c in m[6]]
    return m
before = modes(slave)
pid = os.fork()
if pid == 0:
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.execv(argv[0], argv)
out = b""
seen = 0
result = {}
def pump(timeout):
    global out
    ready, _, _ = select.select([master], [], [], timeout)
    if not ready:
        return True
    try:
        chunk = os.read(master, 65536)
    except OSError:
        return False
    out += chunk
    return bool(chunk)
def fail(why):
    os.kill(pid, signal.SIGKILL)
    print(json.dumps({"error": why, "out": out.decode("utf-8", "replace")}))
    sys.exit(0)
for step in steps:
    deadline = time.monotonic() + 15
    if step[0] == "wait":
        want = step[1].encode()
        while out.find(want, seen) < 0:
            if time.monotonic() > deadline or not pump(0.05):
                fail("no " + repr(step[1]))
        seen = out.find(want, seen) + len(want)
    elif step[0] == "send":
        os.write(master, step[1].encode())
    elif step[0] == "resize":
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", step[1], step[2], 0, 0))
    elif step[0] == "signal":
        os.kill(pid, step[1])
    elif step[0] == "stopped":
        while True:
            done, status = os.waitpid(pid, os.WNOHANG | os.WUNTRACED)
            if done and os.WIFSTOPPED(status):
                break
            if done or time.monotonic() > deadline:
                fail("inject did not stop")
            pump(0.02)
        result["while_stopped"] = modes(slave)
    elif step[0] == "cont":
        os.kill(pid, signal.SIGCONT)
    elif step[0] == "raw":
        while termios.tcgetattr(slave)[3] & termios.ICANON:
            if time.monotonic() > deadline:
                fail("inject did not take the terminal again")
            pump(0.01)
    elif step[0] == "shell":
        subprocess.run(step[1], shell=True, check=True)
os.close(slave)
while pump(1):
    pass
_, status = os.waitpid(pid, 0)
result.update(code=os.waitstatus_to_exitcode(status), out=out.decode("utf-8", "replace"),
              before=before, after=modes(master))
print(json.dumps(result))
"#;

struct Run {
    code: i64,
    out: String,
    before: Value,
    after: Value,
    while_stopped: Value,
}

fn setup() -> TestEnv {
    let env = TestEnv::new();
    env.write("s.toml", &format!("[api]\nkey = \"{KEY}\"\n"));
    env
}

/// `inject --mask=always -f s.toml -- sh -c SCRIPT` on a pty, driven by `steps`.
fn on_a_pty(env: &TestEnv, flags: &[&str], script: &str, steps: Value) -> Option<Run> {
    if !python_works() {
        skipped("python3 (for a pseudo-terminal)");
        return None;
    }
    let output = env
        .std_command("python3")
        .arg("-c")
        .arg(DRIVER)
        .arg(steps.to_string())
        .arg(common::bin())
        .args(["--mask=always", "-f", "s.toml"])
        .args(flags)
        .args(["--", "sh", "-c", script])
        .output()
        .expect("run python3");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_slice(&output.stdout).expect("the driver's JSON");
    assert!(result.get("error").is_none(), "{result}");
    Some(Run {
        code: result["code"].as_i64().expect("code"),
        out: result["out"].as_str().expect("out").to_string(),
        before: result["before"].clone(),
        after: result["after"].clone(),
        while_stopped: result["while_stopped"].clone(),
    })
}

#[test]
fn the_program_sees_a_terminal_of_the_same_size_and_its_output_is_masked() {
    let env = setup();
    let script = r#"for fd in 0 1 2; do [ -t $fd ] && printf 'tty%s ' $fd; done
        stty size
        printf '\033[1;31m%s\033[0m|\033[32m%s\033[0m\n' "$API_KEY" "$API_KEY" >&2"#;
    let Some(run) = on_a_pty(&env, &[], script, json!([])) else {
        return;
    };
    assert_eq!(
        run.out,
        "tty0 tty1 tty2 24 80\r\n\x1b[1;31m[masked:API_KEY]\x1b[0m|\x1b[32m[masked:API_KEY]\x1b[0m\r\n"
    );
    assert_eq!(run.code, 0);
    assert_eq!(run.after, run.before, "the terminal's modes");
}

#[test]
fn keys_pass_through_and_a_secret_split_across_writes_is_masked() {
    let env = setup();
    // The secret in three writes, a pause between each; then a line typed on the terminal.
    let script = r#"printf %s "${API_KEY%??????????}"; sleep 0.2
        rest=${API_KEY#????}; printf %s "${rest%??????}"; sleep 0.2
        printf '%s\n' "${API_KEY#????????}"
        read -r line; echo "got $line""#;
    let steps = json!([
        ["wait", "[masked:API_KEY]\r\n"],
        ["raw"],
        ["send", "hello\r"]
    ]);
    let Some(run) = on_a_pty(&env, &[], script, steps) else {
        return;
    };
    // The pty echoes the typed line, as a terminal does.
    assert_eq!(run.out, "[masked:API_KEY]\r\nhello\r\ngot hello\r\n");
    assert_eq!(run.code, 0);
    assert_eq!(run.after, run.before);
}

#[test]
fn ctrl_c_reaches_the_program_and_the_terminal_is_restored() {
    let env = setup();
    let steps = json!([["wait", "ready"], ["raw"], ["send", "\u{3}"]]);
    let Some(run) = on_a_pty(&env, &[], "echo ready; sleep 30", steps) else {
        return;
    };
    assert_eq!((run.code, run.out.as_str()), (130, "ready\r\n^C"));
    assert_eq!(run.after, run.before);
}

#[test]
fn every_way_out_restores_the_terminal() {
    let env = setup();
    // The program killed by a signal: its status, as in init mode.
    let Some(run) = on_a_pty(
        &env,
        &[],
        "echo ready; kill -9 $$",
        json!([["wait", "ready"]]),
    ) else {
        return;
    };
    assert_eq!((run.code, run.out.as_str()), (137, "ready\r\n"));
    assert_eq!(run.after, run.before);
    // inject itself signalled: it passes the signal on and ends with the program.
    for signal in [libc::SIGTERM, libc::SIGHUP, libc::SIGINT] {
        let steps = json!([["wait", "ready"], ["signal", signal]]);
        let run = on_a_pty(&env, &[], "echo ready; exec sleep 30", steps).unwrap();
        assert_eq!(run.code, i64::from(128 + signal), "signal {signal}");
        assert_eq!(run.out, "ready\r\n");
        assert_eq!(run.after, run.before, "signal {signal}");
    }
}

#[test]
fn the_window_size_follows_the_terminal() {
    let env = setup();
    let script = r#"trap 'stty size' WINCH; echo ready; while :; do sleep 0.05; done"#;
    let steps = json!([
        ["wait", "ready\r\n"],
        ["resize", 30, 100],
        ["wait", "30 100\r\n"],
        ["resize", 12, 40],
        ["wait", "12 40\r\n"],
        ["raw"],
        ["send", "\u{3}"]
    ]);
    let Some(run) = on_a_pty(&env, &[], script, steps) else {
        return;
    };
    assert_eq!(run.code, 130);
    assert_eq!(run.out, "ready\r\n30 100\r\n12 40\r\n^C");
    assert_eq!(run.after, run.before);
}

#[test]
fn ctrl_z_stops_the_program_and_inject_and_cont_resumes_both() {
    let env = setup();
    let script = r#"echo "ready $$"; read -r word; echo "after $word""#;
    let steps = json!([
        ["wait", "ready "],
        ["wait", "\r\n"],
        ["raw"],
        ["send", "\u{1a}"],
        ["stopped"],
        ["cont"],
        ["raw"],
        ["send", "go\r"],
        ["wait", "after go\r\n"]
    ]);
    let Some(run) = on_a_pty(&env, &[], script, steps) else {
        return;
    };
    // While stopped, the shell gets its terminal back as it was: not raw.
    assert_eq!(
        run.while_stopped, run.before,
        "modes while inject is stopped"
    );
    assert_eq!(run.code, 0);
    let pid = run.out["ready ".len()..]
        .split('\r')
        .next()
        .unwrap_or_default();
    assert!(pid.parse::<u32>().is_ok(), "{:?}", run.out);
    assert_eq!(run.out, format!("ready {pid}\r\n^Zgo\r\nafter go\r\n"));
    assert_eq!(run.after, run.before);
}

#[test]
fn a_restart_under_watch_runs_on_a_new_terminal_and_masks_the_new_value() {
    let env = setup();
    let script = r#"[ -t 1 ] && echo "tty $API_KEY"; exec sleep 30"#;
    let rewrite = format!(
        "printf '[api]\\nkey = \"%s\"\\n' 'k-Second-Value-99' > {}",
        env.app.join("s.toml").display()
    );
    let steps = json!([
        ["wait", "tty [masked:API_KEY]\r\n"],
        ["shell", rewrite],
        ["wait", "tty [masked:API_KEY]\r\n"],
        ["signal", libc::SIGTERM]
    ]);
    let Some(run) = on_a_pty(&env, &["--watch", "-q"], script, steps) else {
        return;
    };
    assert_eq!(run.out, "tty [masked:API_KEY]\r\ntty [masked:API_KEY]\r\n");
    assert!(!run.out.contains("k-Second"));
    assert_eq!(run.code, 143);
    assert_eq!(run.after, run.before);
}
