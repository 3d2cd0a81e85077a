//! Exit statuses and the one place that prints errors.

use std::io::Write;

/// What inject's own exit status means (SPEC §6.2). A child's status passes through as is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    Success,
    /// `check` found errors.
    Findings,
    /// inject itself failed: usage, sources, names, required variables, a terminal refused.
    Failure,
    /// The program was found but could not be executed.
    CannotExecute,
    /// The program (or its `#!` interpreter) was not found.
    NotFound,
    /// Init mode: the supervised program's exit code, or 128+N if signal N killed it.
    Child(i32),
}

impl From<ExitCode> for i32 {
    fn from(code: ExitCode) -> i32 {
        match code {
            ExitCode::Success => 0,
            ExitCode::Findings => 1,
            ExitCode::Failure => 125,
            ExitCode::CannotExecute => 126,
            ExitCode::NotFound => 127,
            ExitCode::Child(code) => code,
        }
    }
}

/// Print one `inject: error: …` line per message. Messages never hold a secret value.
pub fn report(message: &str) {
    for line in message.lines() {
        to_stderr(format_args!("inject: error: {line}\n"));
    }
}

/// A note for `-v`, or a warning; always one line on stderr.
pub fn note(kind: &str, message: &str) {
    to_stderr(format_args!("inject: {kind}: {message}\n"));
}

/// Write to stderr, which may be gone. As a supervisor inject blocks every signal, so a write
/// to a closed pipe queues a SIGPIPE that the loop would read and forward to the program: it
/// is inject's own, so take it back here, where every line is written.
fn to_stderr(line: std::fmt::Arguments<'_>) {
    let written = std::io::stderr().lock().write_fmt(line);
    #[cfg(target_os = "linux")]
    if written.is_err_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) {
        discard_own_sigpipe();
    }
    #[cfg(not(target_os = "linux"))]
    let _ = written;
}

/// Take back the SIGPIPE the kernel queued for inject when its own write met a pipe
/// without reader: blocked, it would otherwise be read from the signal descriptor and
/// forwarded to the program.
#[cfg(target_os = "linux")]
pub fn discard_own_sigpipe() {
    let mut set = nix::sys::signal::SigSet::empty();
    set.add(nix::sys::signal::Signal::SIGPIPE);
    let now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `set` and `now` are valid for the call; no siginfo is asked for. With a zero
    // timeout it only takes a pending SIGPIPE, or fails with EAGAIN when there is none.
    unsafe { libc::sigtimedwait(set.as_ref(), std::ptr::null_mut(), &now) };
}
