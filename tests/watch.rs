//! Restart on change (`--watch`, SPEC §12), black-box: a real program that prints the value
//! it started with, and the secrets edited the ways editors and people do it. Every wait has
//! a deadline, and every process a test starts is killed when the test ends. `--watch` is
//! Linux-only, as init mode is.
#![cfg(target_os = "linux")]

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use common::{SECRET, TestEnv, alive, children_of, kill_tree, lines, send, wait_until};

const SECOND: Duration = Duration::from_secs(1);

/// How long a restart may take: the quiet period is 200 ms, the rest is a loaded machine.
const RESTART: Duration = Duration::from_secs(10);

/// How long to wait to be sure that nothing happens: five quiet periods.
const NOTHING: Duration = Duration::from_millis(1000);

/// Prints the key it started with and its PID, then sleeps in its place.
const PRINTER: &str = r#"echo "start $TRELLO_API_KEY $$"; exec sleep 30"#;

fn secrets(key: &str) -> String {
    format!("[trello]\napi_key = \"{key}\"\n")
}

/// `inject ARGS -- sh -c SCRIPT` in the test's `app/`, its stdout and stderr as lines;
/// killed with every descendant when dropped.
struct Watching {
    child: Child,
    out: Receiver<String>,
    err: Receiver<String>,
    /// Every stderr line read so far.
    err_seen: Vec<String>,
    status: Option<ExitStatus>,
}

impl Watching {
    fn start(env: &TestEnv, args: &[&str], script: &str) -> Watching {
        let mut command = env.std_cmd();
        command.args(args).args(["--", "sh", "-c", script]);
        Watching::spawn(command)
    }

    fn spawn(mut command: Command) -> Watching {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = command.spawn().expect("cannot start inject");
        let out = lines(child.stdout.take().expect("piped"));
        let err = lines(child.stderr.take().expect("piped"));
        Watching {
            child,
            out,
            err,
            err_seen: Vec::new(),
            status: None,
        }
    }

    fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("PIDs fit in i32")
    }

    /// The next stdout line, or `None` after `timeout` or at the end.
    fn line(&self, timeout: Duration) -> Option<String> {
        self.out.recv_timeout(timeout).ok()
    }

    /// The next stdout line must start with `want` within [`RESTART`]; returns the rest.
    fn expect(&self, want: &str) -> String {
        let line = self.line(RESTART);
        match line.as_deref().and_then(|l| l.strip_prefix(want)) {
            Some(rest) => rest.to_string(),
            None => panic!("wanted a line starting {want:?}, got {line:?}"),
        }
    }

    /// The program started with `key`: its PID.
    fn started(&self, key: &str) -> i32 {
        let rest = self.expect(&format!("start {key} "));
        rest.trim().parse().expect("a PID after the key")
    }

    /// Nothing on stdout for `time`.
    fn silent_for(&self, time: Duration, why: &str) {
        if let Some(line) = self.line(time) {
            panic!("{why}: the program printed {line:?}");
        }
    }

    /// Stderr lines that came within `time`, added to `err_seen`.
    fn stderr_within(&mut self, time: Duration) -> Vec<String> {
        let deadline = Instant::now() + time;
        let mut lines = Vec::new();
        while let Ok(line) = self
            .err
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            lines.push(line);
        }
        self.err_seen.extend(lines.iter().cloned());
        lines
    }

    /// Wait for the next stderr line, at most [`RESTART`].
    fn stderr_line(&mut self) -> Option<String> {
        let line = self.err.recv_timeout(RESTART).ok();
        self.err_seen.extend(line.iter().cloned());
        line
    }

    fn signal(&self, signal: i32) {
        send(self.pid(), signal);
    }

    /// The exit status, or `None` if inject still runs after `timeout`.
    fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.status = wait_until(&mut self.child, timeout);
        self.status
    }

    /// Wait (at most 10 s) for the end; the exit code and every stderr line (those that come
    /// within 2 s: a process left behind may hold stderr open).
    fn finish(&mut self) -> (Option<i32>, Vec<String>) {
        let status = self.wait(10 * SECOND);
        assert!(status.is_some(), "inject still runs 10 s later");
        let deadline = Instant::now() + 2 * SECOND;
        while let Ok(line) = self
            .err
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.err_seen.push(line);
        }
        (status.and_then(|s| s.code()), self.err_seen.clone())
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        if self.status.is_none() {
            kill_tree(self.pid());
            let _ = self.child.wait();
        }
    }
}

/// Write a file the way an editor that saves atomically does: a new file, renamed over.
fn rename_over(path: &Path, text: &str) {
    let temporary = path.with_extension("toml.tmp");
    std::fs::write(&temporary, text).expect("write the temporary file");
    std::fs::rename(&temporary, path).expect("rename it over");
}

/// Stderr must never hold a secret value.
fn assert_no_value(lines: &[String]) {
    let text = lines.join("\n");
    assert!(!text.contains(SECRET), "a value on stderr: {text}");
    assert!(!text.contains("k1-"), "a value on stderr: {text}");
    assert!(!text.contains("k2-"), "a value on stderr: {text}");
}

#[test]
fn an_edit_in_place_restarts_the_program_with_the_new_value() {
    let env = TestEnv::new();
    let file = env.write(".streamlit/secrets.toml", &secrets("k1-a"));
    let mut run = Watching::start(&env, &["--watch"], PRINTER);
    let first = run.started("k1-a");
    // inject's own reads (the first one, and the access time they update) are no change.
    run.silent_for(NOTHING, "no change yet");
    std::fs::write(&file, secrets("k2-a")).expect("edit");
    let second = run.started("k2-a");
    assert_ne!(first, second);
    assert!(!alive(first), "the old program still runs");
    assert_eq!(
        run.stderr_within(SECOND / 2),
        ["inject: restarting: changed TRELLO_API_KEY"]
    );
    run.silent_for(NOTHING, "one edit, one restart");
    run.signal(libc::SIGTERM);
    let (code, stderr) = run.finish();
    assert_eq!(code, Some(143), "sleep died of the forwarded SIGTERM");
    assert!(!alive(second));
    assert_no_value(&stderr);
}

#[test]
fn a_file_renamed_over_the_secrets_is_noticed() {
    let env = TestEnv::new();
    let file = env.write(".streamlit/secrets.toml", &secrets("k1-b"));
    let mut run = Watching::start(&env, &["--watch"], PRINTER);
    run.started("k1-b");
    rename_over(&file, &secrets("k2-b"));
    run.started("k2-b");
    // The new file is a new inode: later edits must still be seen, also while the old one is
    // still open somewhere (an editor), so that the kernel does not say it went.
    let held = std::fs::File::open(&file).expect("open the current file");
    rename_over(&file, &format!("{}[other]\nx = 1\n", secrets("k2-b")));
    run.started("k2-b");
    drop(held);
    run.signal(libc::SIGTERM);
    let (code, stderr) = run.finish();
    assert_eq!(code, Some(143));
    assert_eq!(
        stderr,
        [
            "inject: restarting: changed TRELLO_API_KEY",
            "inject: restarting: added OTHER_X",
        ]
    );
}

#[test]
fn a_file_deleted_then_created_again_is_noticed() {
    let env = TestEnv::new();
    let file = env.write(".streamlit/secrets.toml", &secrets("k1-c"));
    let mut run = Watching::start(&env, &["--watch"], PRINTER);
    run.started("k1-c");
    // At once, as an editor does: one restart with the new value.
    std::fs::remove_file(&file).expect("delete");
    std::fs::write(&file, secrets("k2-c")).expect("create");
    run.started("k2-c");
    // With a pause in between: the default list skips a missing file, so the variable goes,
    // then comes back.
    std::fs::remove_file(&file).expect("delete");
    run.expect("start  ");
    std::fs::write(&file, secrets("k3-c")).expect("create");
    run.started("k3-c");
    run.signal(libc::SIGTERM);
    let (code, stderr) = run.finish();
    assert_eq!(code, Some(143));
    assert_eq!(
        stderr,
        [
            "inject: restarting: changed TRELLO_API_KEY",
            "inject: restarting: removed TRELLO_API_KEY",
            "inject: restarting: added TRELLO_API_KEY",
        ]
    );
}

#[test]
fn a_folder_deleted_then_created_again_is_watched_again() {
    let env = TestEnv::new();
    let file = env.write(".streamlit/secrets.toml", &secrets("k1-q"));
    let folder = env.app.join(".streamlit");
    let mut run = Watching::start(&env, &["--watch"], PRINTER);
    run.started("k1-q");
    std::fs::remove_dir_all(&folder).expect("delete the folder");
    std::fs::create_dir(&folder).expect("create it again");
    std::fs::write(&file, secrets("k2-q")).expect("write");
    run.started("k2-q");
    // The new folder is watched, not the one that went.
    std::fs::write(&file, secrets("k3-q")).expect("edit");
    run.started("k3-q");
    run.signal(libc::SIGTERM);
    assert_eq!(run.finish().0, Some(143));
}

#[test]
fn the_file_behind_a_symbolic_link_is_watched() {
    let env = TestEnv::new();
    let real = env.write("shared/secrets.toml", &secrets("k1-v"));
    std::fs::create_dir(env.app.join(".streamlit")).expect("mkdir");
    std::os::unix::fs::symlink(&real, env.app.join(".streamlit/secrets.toml")).expect("link");
    let mut run = Watching::start(&env, &["--watch"], PRINTER);
    run.started("k1-v");
    // Nothing changes in `.streamlit` itself.
    std::fs::write(&real, secrets("k2-v")).expect("edit");
    run.started("k2-v");
    run.signal(libc::SIGTERM);
    assert_eq!(run.finish().0, Some(143));
}

#[test]
fn an_invalid_edit_is_one_error_line_and_the_program_keeps_running() {
    let env = TestEnv::new();
    let file = env.write(".streamlit/secrets.toml", &secrets("k1-d"));
    let mut run = Watching::start(&env, &["--watch"], PRINTER);
    let first = run.started("k1-d");
    // An unterminated string holding a value: the parser's error must not quote it.
    std::fs::write(&file, format!("[trello]\napi_key = \"{SECRET}\n")).expect("edit");
    let error = run.stderr_line().expect("an error line");
    assert!(
        error.starts_with("inject: error: .streamlit/secrets.toml:2:"),
        "{error}"
    );
    assert!(error.contains("keeps running"), "{error}");
    run.silent_for(NOTHING, "an invalid file restarted the program");
    assert_eq!(run.stderr_within(SECOND / 10), Vec::<String>::new());
    assert!(alive(first));
    // A collision is invalid too (two problems: still one line).
    std::fs::write(
        &file,
        format!("[trello]\napi_key = \"{SECRET}\"\napi-key = \"x\"\nTRELLO_API_KEY = \"y\"\n"),
    )
    .expect("edit");
    let error = run.stderr_line().expect("an error line");
    assert!(error.starts_with("inject: error: "), "{error}");
    run.silent_for(NOTHING, "a collision restarted the program");
    // Fixed: the program restarts.
    std::fs::write(&file, secrets("k2-d")).expect("fix");
    run.started("k2-d");
    run.signal(libc::SIGTERM);
    let (code, stderr) = run.finish();
    assert_eq!(code, Some(143));
    assert_eq!(stderr.len(), 3, "{stderr:?}");
    assert_eq!(stderr[2], "inject: restarting: changed TRELLO_API_KEY");
    assert_no_value(&stderr);
}

#[test]
fn an_edit_that_leaves_the_environment_as_it_was_restarts_nothing() {
    let env = TestEnv::new();
    let file = env.write(".streamlit/secrets.toml", &secrets("k1-e"));
    let mut run = Watching::start(&env, &["--watch"], PRINTER);
    let first = run.started("k1-e");
    std::fs::write(&file, format!("# a comment\n{}", secrets("k1-e"))).expect("edit");
    run.silent_for(NOTHING, "a comment restarted the program");
    // Another way to write the same table, keys reordered.
    std::fs::write(&file, "trello.api_key = \"k1-e\"\n").expect("edit");
    run.silent_for(NOTHING, "the same table restarted the program");
    assert!(alive(first));
    // The watch is still alive: a real change restarts.
    std::fs::write(&file, secrets("k2-e")).expect("edit");
    run.started("k2-e");
    run.signal(libc::SIGTERM);
    let (code, stderr) = run.finish();
    assert_eq!(code, Some(143));
    assert_eq!(stderr, ["inject: restarting: changed TRELLO_API_KEY"]);
}

#[test]
fn inject_s_own_reads_are_not_changes() {
    let env = TestEnv::new();
    let file = env.write(".streamlit/secrets.toml", &secrets("k1-p"));
    env.write(".streamlit/config.toml", "[server]\nport = 8501\n");
    let mut run = Watching::start(&env, &["--watch", "-v"], PRINTER);
    run.started("k1-p");
    let reread = "inject: note: the secrets changed but the environment did not: not restarting";
    let start = run.stderr_within(NOTHING);
    assert!(start.iter().all(|l| l != reread), "{start:?}");
    // A change that is one is reported so with `-v`: the line above can appear.
    std::fs::write(&file, format!("# a comment\n{}", secrets("k1-p"))).expect("edit");
    run.silent_for(NOTHING, "a comment restarted the program");
    let lines = run.stderr_within(SECOND / 10);
    assert_eq!(lines.last().map(String::as_str), Some(reread), "{lines:?}");
    // Its own read after that one is no change either.
    assert_eq!(run.stderr_within(NOTHING), Vec::<String>::new());
    assert_no_value(&run.err_seen);
}

#[test]
fn quiet_restarts_say_nothing() {
    let env = TestEnv::new();
    let file = env.write(".streamlit/secrets.toml", &secrets("k1-t"));
    let mut run = Watching::start(&env, &["--watch", "-q"], PRINTER);
    run.started("k1-t");
    std::fs::write(&file, secrets("k2-t")).expect("edit");
    run.started("k2-t");
    run.signal(libc::SIGTERM);
    assert_eq!(run.finish(), (Some(143), Vec::new()));
}

#[test]
fn a_program_that_ignores_the_restart_signal_is_killed_after_the_stop_timeout() {
    let env = TestEnv::new();
    let file = env.write(".streamlit/secrets.toml", &secrets("k1-f"));
    // `sleep` inherits the ignored SIGTERM.
    let script = format!("trap '' TERM; {PRINTER}");
    let mut run = Watching::start(&env, &["--watch", "--stop-timeout", "0.5"], &script);
    let first = run.started("k1-f");
    let edited = Instant::now();
    std::fs::write(&file, secrets("k2-f")).expect("edit");
    run.started("k2-f");
    let took = edited.elapsed();
    assert!(
        took >= Duration::from_millis(700),
        "restarted after {took:?}"
    );
    assert!(took < 5 * SECOND, "restarted after {took:?}");
    assert!(!alive(first));
    // SIGTERM to inject is forwarded and ignored; SIGINT is not.
    run.signal(libc::SIGTERM);
    assert_eq!(
        run.wait(SECOND / 2),
        None,
        "inject ended on an ignored SIGTERM"
    );
    run.signal(libc::SIGINT);
    assert_eq!(run.finish().0, Some(130));
}

#[test]
fn the_whole_process_group_is_gone_before_the_program_starts_again() {
    let env = TestEnv::new();
    let file = env.write(".streamlit/secrets.toml", &secrets("k1-u"));
    // The program ends on SIGTERM at once; the helper it started ignores SIGTERM.
    let script = r#"(trap '' TERM; exec sleep 30) & echo "start $TRELLO_API_KEY $$ $!"; wait"#;
    let mut run = Watching::start(&env, &["--watch", "--stop-timeout", "0.5"], script);
    let rest = run.expect("start k1-u ");
    let helper: i32 = rest
        .split_whitespace()
        .nth(1)
        .and_then(|pid| pid.parse().ok())
        .expect("the helper's PID");
    assert!(alive(helper));
    let edited = Instant::now();
    std::fs::write(&file, secrets("k2-u")).expect("edit");
    let rest = run.expect("start k2-u ");
    let took = edited.elapsed();
    assert!(!alive(helper), "the helper outlived the restart");
    assert!(
        took >= Duration::from_millis(700),
        "restarted after {took:?}"
    );
    // Without `-g`, SIGINT reaches the shell only, and the new helper stays: end it here.
    let helper: Option<i32> = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok());
    run.signal(libc::SIGINT);
    let (code, _) = run.finish();
    if let Some(helper) = helper {
        send(helper, libc::SIGKILL);
    }
    assert_eq!(code, Some(130));
}

#[test]
fn the_program_ending_by_itself_ends_inject_with_its_status() {
    let env = TestEnv::new();
    for (script, code) in [
        ("echo \"start $TRELLO_API_KEY $$\"; exit 7", 7),
        ("echo \"start $TRELLO_API_KEY $$\"; kill -KILL $$", 137),
    ] {
        env.write(".streamlit/secrets.toml", &secrets("k1-g"));
        let mut run = Watching::start(&env, &["--watch"], script);
        run.started("k1-g");
        let (got, stderr) = run.finish();
        assert_eq!(got, Some(code), "{script}: {stderr:?}");
        assert_eq!(stderr, Vec::<String>::new());
    }
    // And after a restart: the second program's status.
    let file = env.write(".streamlit/secrets.toml", &secrets("k1-g"));
    let script =
        r#"echo "start $TRELLO_API_KEY $$"; [ "$TRELLO_API_KEY" = k2-g ] && exit 5; exec sleep 30"#;
    let mut run = Watching::start(&env, &["--watch"], script);
    run.started("k1-g");
    std::fs::write(&file, secrets("k2-g")).expect("edit");
    run.started("k2-g");
    assert_eq!(run.finish().0, Some(5));
}

#[test]
fn sigterm_to_inject_ends_the_program_and_inject_with_its_status() {
    let env = TestEnv::new();
    let file = env.write(".streamlit/secrets.toml", &secrets("k1-h"));
    let mut run = Watching::start(&env, &["--watch"], PRINTER);
    let program = run.started("k1-h");
    run.signal(libc::SIGTERM);
    let (code, stderr) = run.finish();
    assert_eq!((code, stderr), (Some(143), Vec::new()));
    assert!(!alive(program));

    // In the middle of a restart: the program ignores the restart signal (USR1) and would
    // get 10 s; SIGTERM to inject ends it now, and no new program starts.
    let script = format!("trap '' USR1; {PRINTER}");
    let mut run = Watching::start(&env, &["--watch", "--restart-signal", "USR1"], &script);
    let program = run.started("k1-h");
    std::fs::write(&file, secrets("k2-h")).expect("edit");
    assert_eq!(
        run.stderr_line().as_deref(),
        Some("inject: restarting: changed TRELLO_API_KEY")
    );
    let sent = Instant::now();
    run.signal(libc::SIGTERM);
    let status = run.wait(5 * SECOND);
    assert!(
        status.is_some(),
        "SIGTERM during a restart did not end inject"
    );
    assert!(sent.elapsed() < 3 * SECOND, "took {:?}", sent.elapsed());
    assert_eq!(status.and_then(|s| s.code()), Some(143));
    assert_eq!(run.line(SECOND / 2), None, "a new program started");
    assert!(!alive(program));
}

#[test]
fn secrets_created_after_the_start_are_noticed() {
    let env = TestEnv::new();
    // No `.streamlit` folder at all, in the project or the home.
    let mut run = Watching::start(&env, &["--watch"], PRINTER);
    run.expect("start  ");
    env.write(".streamlit/secrets.toml", &secrets("k1-i"));
    run.started("k1-i");
    // The global file, created later too; the project's `[trello]` still wins.
    env.write_home(
        ".streamlit/secrets.toml",
        "[trello]\napi_key = \"global\"\n[other]\nx = 1\n",
    );
    run.started("k1-i");
    run.signal(libc::SIGTERM);
    let (code, stderr) = run.finish();
    assert_eq!(code, Some(143));
    assert_eq!(
        stderr,
        [
            "inject: restarting: added TRELLO_API_KEY",
            "inject: restarting: added OTHER_X",
        ]
    );
}

#[test]
fn the_streamlit_config_that_chooses_the_files_is_watched() {
    let env = TestEnv::new();
    env.write(".streamlit/secrets.toml", &secrets("k1-j"));
    let other = env.write("conf/other.toml", &secrets("k2-j"));
    let mut run = Watching::start(&env, &["--watch"], PRINTER);
    run.started("k1-j");
    env.write(
        ".streamlit/config.toml",
        "[secrets]\nfiles = [\"conf/other.toml\"]\n",
    );
    run.started("k2-j");
    // The file the config chose is now watched itself.
    std::fs::write(&other, secrets("k3-j")).expect("edit");
    run.started("k3-j");
    run.signal(libc::SIGTERM);
    assert_eq!(run.finish().0, Some(143));
}

#[test]
fn explicit_files_and_secrets_directories_are_watched() {
    let env = TestEnv::new();
    let key = env.write("secrets/trello/api_key", "k1-k\n");
    env.write("secrets/trello/token", "t\n");
    let file = env.write("conf/extra.toml", "[more]\nx = 1\n");
    let mut run = Watching::start(
        &env,
        &["--watch", "-f", "secrets", "-f", "conf/extra.toml"],
        PRINTER,
    );
    run.started("k1-k");
    // A secret file edited, then a new folder (a new top-level key) inside the directory.
    std::fs::write(&key, "k2-k\n").expect("edit a secret file");
    run.started("k2-k");
    env.write("secrets/db/pw", "p\n");
    run.started("k2-k");
    // Renamed over twice, while the file first read is still open somewhere (an editor), so
    // that the kernel does not report that file gone.
    let held = std::fs::File::open(&file).expect("open the current file");
    rename_over(&file, "[more]\nx = 2\n");
    run.started("k2-k");
    rename_over(&file, "[more]\nx = 3\n");
    run.started("k2-k");
    drop(held);
    // An explicit file that goes is an error, not an empty environment.
    std::fs::remove_file(&file).expect("delete");
    let error = run.stderr_within(2 * SECOND);
    run.signal(libc::SIGTERM);
    let (code, stderr) = run.finish();
    assert_eq!(code, Some(143));
    assert_eq!(
        stderr,
        [
            "inject: restarting: changed TRELLO_API_KEY",
            "inject: restarting: added db",
            "inject: restarting: changed MORE_X",
            "inject: restarting: changed MORE_X",
            "inject: error: `conf/extra.toml` does not exist: check the path given to `-f` or `INJECT_FILE`; the program keeps running with the secrets it had",
        ],
        "{error:?}"
    );
}

#[test]
fn the_restart_signal_can_be_chosen() {
    let env = TestEnv::new();
    let script = r#"trap 'echo "got HUP"; exit 0' HUP; trap 'echo "got TERM"; exit 0' TERM
echo "start $TRELLO_API_KEY $$"; while :; do sleep 0.1; done"#;
    for (args, got) in [
        (&["--watch", "--restart-signal", "HUP"][..], "got HUP"),
        (&["--watch", "--restart-signal", "SIGHUP"][..], "got HUP"),
        (&["--watch", "--restart-signal", "1"][..], "got HUP"),
        (&["--watch"][..], "got TERM"),
    ] {
        let file = env.write(".streamlit/secrets.toml", &secrets("k1-l"));
        let mut run = Watching::start(&env, args, script);
        run.started("k1-l");
        std::fs::write(&file, secrets("k2-l")).expect("edit");
        assert_eq!(run.line(RESTART).as_deref(), Some(got), "{args:?}");
        run.started("k2-l");
        run.signal(libc::SIGTERM);
        assert_eq!(run.line(RESTART).as_deref(), Some("got TERM"));
        assert_eq!(run.finish().0, Some(0));
    }
}

#[test]
fn a_program_that_cannot_start_again_ends_inject_with_126() {
    let env = TestEnv::new();
    let file = env.write(".streamlit/secrets.toml", &secrets("k1-m"));
    let app = env.write_mode("app.sh", &format!("#!/bin/sh\n{PRINTER}\n"), 0o755);
    let mut command = env.std_cmd();
    command.args(["--watch", "--", "./app.sh"]);
    let mut run = Watching::spawn(command);
    run.started("k1-m");
    std::fs::set_permissions(&app, std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .expect("chmod");
    std::fs::write(&file, secrets("k2-m")).expect("edit");
    let (code, stderr) = run.finish();
    assert_eq!(code, Some(126), "{stderr:?}");
    assert_eq!(stderr.len(), 2, "{stderr:?}");
    assert_eq!(stderr[0], "inject: restarting: changed TRELLO_API_KEY");
    assert!(
        stderr[1].starts_with("inject: error: cannot run `./app.sh`"),
        "{stderr:?}"
    );
}

/// What a program sees of its descriptors and signal state under `--watch`, from a caller that
/// blocks SIGUSR1 and ignores SIGHUP: the same as when the caller starts it itself.
#[test]
fn the_program_inherits_the_callers_signal_state_and_no_descriptor() {
    let env = TestEnv::new();
    env.write(".streamlit/secrets.toml", &secrets("k1-n"));
    let odd_caller = || -> std::io::Result<()> {
        // SAFETY: only system calls on plain values, between fork and exec.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR1);
            libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
        }
        Ok(())
    };
    // The program itself reads `/proc/self` (a shell would block signals while it forks).
    let seen = |front: &[&str]| -> Vec<String> {
        let mut lines = Vec::new();
        for probe in [
            &["grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"][..],
            &["ls", "/proc/self/fd"],
        ] {
            let mut command = if front.is_empty() {
                env.std_command(probe[0])
            } else {
                env.std_cmd()
            };
            if front.is_empty() {
                command.args(&probe[1..]);
            } else {
                command.args(front).arg("--").args(probe);
            }
            // SAFETY: the closure makes only system calls.
            unsafe { command.pre_exec(odd_caller) };
            let mut run = Watching::spawn(command);
            while let Some(line) = run.line(RESTART) {
                lines.push(line);
            }
            let (code, stderr) = run.finish();
            assert_eq!((code, stderr), (Some(0), Vec::new()), "{front:?} {probe:?}");
        }
        lines
    };
    let plain = seen(&[]);
    let field = |name: &str| -> u64 {
        let line = plain.iter().find_map(|l| l.strip_prefix(name));
        u64::from_str_radix(line.unwrap_or("").trim(), 16).unwrap_or(0)
    };
    assert_eq!(
        (field("SigBlk:"), field("SigIgn:") & 1),
        (1 << (libc::SIGUSR1 - 1), 1),
        "the odd caller's state did not reach the program: {plain:?}"
    );
    assert_eq!(seen(&["--watch"]), plain);
}

/// `--mask --watch` (SPEC §17): one supervisor does both. Each start's output, stdout and
/// stderr, is masked with the values that start got; the restart itself is as without `--mask`.
#[test]
fn mask_and_watch_combine() {
    const MASKED_PRINTER: &str = r#"echo "start $TRELLO_API_KEY ${TRELLO_API_KEY%%-*} $$"; echo "err $TRELLO_API_KEY" >&2; exec sleep 30"#;
    let env = TestEnv::new();
    let file = env.write(".streamlit/secrets.toml", &secrets("k1-masked-0123"));
    let mut run = Watching::start(&env, &["--mask", "--watch"], MASKED_PRINTER);
    let first = run.expect("start [masked:TRELLO_API_KEY] k1 ");
    run.silent_for(NOTHING, "no change yet");
    std::fs::write(&file, secrets("k2-masked-4567")).expect("edit");
    let second = run.expect("start [masked:TRELLO_API_KEY] k2 ");
    assert_ne!(first, second);
    let first: i32 = first.trim().parse().expect("a PID");
    assert!(!alive(first), "the old program still runs");
    run.silent_for(NOTHING, "one edit, one restart");
    run.signal(libc::SIGTERM);
    let (code, stderr) = run.finish();
    assert_eq!(code, Some(143), "sleep died of the forwarded SIGTERM");
    assert_eq!(
        stderr,
        [
            "err [masked:TRELLO_API_KEY]",
            "inject: restarting: changed TRELLO_API_KEY",
            "err [masked:TRELLO_API_KEY]",
        ]
    );
    assert_no_value(&stderr);
}

#[test]
fn watch_options_are_checked() {
    let env = TestEnv::new();
    for (args, message) in [
        (
            &["--watch", "--restart-signal", "BOGUS", "--", "true"][..],
            "not a signal",
        ),
        (
            &["--watch", "--stop-timeout=-1", "--", "true"][..],
            "number of seconds",
        ),
        (&["--restart-signal", "HUP", "--", "true"][..], "--watch"),
        (&["--watch", "--no-init", "--", "true"][..], "--no-init"),
    ] {
        let output = env.cmd().args(args).output().expect("run inject");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(125), "{args:?}: {stderr}");
        assert!(stderr.starts_with("inject: error: "), "{stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    // Sources invalid at the start: nothing runs, as without `--watch`.
    env.write(".streamlit/secrets.toml", "[trello\n");
    let output = env
        .cmd()
        .args(["--watch", "--", "echo", "ran"])
        .output()
        .expect("run inject");
    assert_eq!(output.status.code(), Some(125));
    assert!(output.stdout.is_empty());
    // And a program that cannot run at the start: 127, as without `--watch`.
    env.write(".streamlit/secrets.toml", &secrets("k1-o"));
    let output = env
        .cmd()
        .args(["--watch", "--", "no-such-command-xyz"])
        .output()
        .expect("run inject");
    assert_eq!(output.status.code(), Some(127));
}

/// Each program started on a terminal gets it: its group is the foreground one, after a
/// restart too.
#[test]
fn each_program_gets_the_terminal() {
    if !Command::new("python3")
        .args(["-c", "import pty"])
        .status()
        .is_ok_and(|s| s.success())
    {
        common::skipped("python3");
        return;
    }
    let env = TestEnv::new();
    let file = env.write(".streamlit/secrets.toml", &secrets("k1-r"));
    // Runs inject as the session leader of a new terminal, edits the secrets once the first
    // program spoke, ends inject after the second, and prints what they printed.
    let host = r#"
import os, pty, select, sys, time
file = sys.argv[1]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
out, edited, deadline = b"", False, time.monotonic() + 10
while time.monotonic() < deadline and out.count(b"start k") < 2:
    if select.select([fd], [], [], 0.1)[0]:
        try:
            out += os.read(fd, 4096)
        except OSError:
            break
    if not edited and b"start k" in out:
        open(file, "w").write('[trello]\napi_key = "k2-r"\n')
        edited = True
os.kill(pid, 15)
os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
"#;
    let who = r#"read pid comm state ppid pgrp session tty tpgid rest < /proc/$$/stat; echo "start $TRELLO_API_KEY $pid $pgrp $tpgid"; exec sleep 30"#;
    let mut command = env.std_command("python3");
    command
        .args(["-c", host])
        .arg(&file)
        .arg(common::bin())
        .args(["--watch", "--", "sh", "-c", who]);
    let mut run = Watching::spawn(command);
    let mut seen = Vec::new();
    while let Some(line) = run.line(RESTART) {
        seen.push(line.trim_end_matches('\r').to_string());
    }
    run.finish();
    let starts: Vec<Vec<&str>> = seen
        .iter()
        .filter(|l| l.starts_with("start "))
        .map(|l| l.split_whitespace().skip(1).collect())
        .collect();
    assert_eq!(starts.len(), 2, "{seen:?}");
    for (start, key) in starts.iter().zip(["k1-r", "k2-r"]) {
        assert_eq!(start[0], key, "{seen:?}");
        assert_eq!((start[1], start[1]), (start[2], start[3]), "{seen:?}");
    }
}

/// In a container: inject as PID 1 of a new PID namespace (needs root and unshare).
#[test]
fn watch_as_pid1() {
    // SAFETY: `geteuid` only reads the process's credentials.
    let root = unsafe { libc::geteuid() } == 0;
    let unshare = || {
        let mut command = Command::new("unshare");
        command.args(["--pid", "--fork", "--mount-proc"]);
        command
    };
    if !root
        || !unshare()
            .arg("true")
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    {
        common::skipped("root and unshare");
        return;
    }
    let env = TestEnv::new();
    let file = env.write(".streamlit/secrets.toml", &secrets("k1-s"));
    let mut command = unshare();
    command
        .env_clear()
        .envs(env.base_env())
        .current_dir(&env.app)
        .arg(common::bin())
        .args(["--watch", "--", "sh", "-c", PRINTER]);
    let mut run = Watching::spawn(command);
    run.started("k1-s");
    std::fs::write(&file, secrets("k2-s")).expect("edit");
    run.started("k2-s");
    let pid1 = children_of(run.pid());
    assert_eq!(pid1.len(), 1, "unshare's child: {pid1:?}");
    send(pid1[0], libc::SIGTERM);
    let (code, stderr) = run.finish();
    assert_eq!(code, Some(143));
    assert_eq!(stderr, ["inject: restarting: changed TRELLO_API_KEY"]);
}
