//! Exit statuses and the one place that prints errors.

use std::io::Write;

use crate::export::ExportError;
use crate::flatten::FlattenError;
use crate::require::RequireError;
use crate::source::{SourceError, TemplateError};
use crate::unseal::UnsealError;

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

/// Everything that can go wrong in inject, typed to the end (as `just` has it): each variant
/// knows its exit status and its problems, one printed line each. No message holds a value.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// clap's: a usage error (125), or `--help` / `--version` (0, printed on stdout).
    #[error("{0}")]
    Cli(clap::Error),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{}", first(.0))]
    Flatten(Vec<FlattenError>),
    #[error("{}", first(.0))]
    Template(Vec<TemplateError>),
    #[error("{}", first(.0))]
    Require(Vec<RequireError>),
    /// Template keys `--st-secrets` cannot type from their variables.
    #[error("{}", first(.0))]
    StSecrets(Vec<crate::st_secrets::TreeError>),
    /// Variables the chosen format cannot carry; nothing was exported.
    #[error("{}", first(.0))]
    Export(Vec<ExportError>),
    /// `encrypted:` values that stay closed (SPEC §15).
    #[error("{}", first(.0))]
    Unseal(Vec<UnsealError>),
    #[error("{}", .0.message)]
    Launch(LaunchError),
    /// inject itself, in one line: nothing to run, a terminal refused, output gone, …
    #[error("{0}")]
    Message(String),
}

fn first(problems: &[impl std::fmt::Display]) -> String {
    problems
        .first()
        .map(ToString::to_string)
        .unwrap_or_default()
}

impl Error {
    /// inject's exit status for this error (SPEC §6.2).
    pub fn code(&self) -> ExitCode {
        use clap::error::ErrorKind;
        match self {
            Error::Cli(e)
                if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) =>
            {
                ExitCode::Success
            }
            Error::Launch(launch) => launch.code,
            _ => ExitCode::Failure,
        }
    }

    /// Every problem, one line each, in order.
    pub fn problems(&self) -> Vec<String> {
        fn each(problems: &[impl std::fmt::Display]) -> Vec<String> {
            problems.iter().map(ToString::to_string).collect()
        }
        match self {
            Error::Flatten(errors) => each(errors),
            Error::Template(errors) => each(errors),
            Error::Require(errors) => each(errors),
            Error::StSecrets(errors) => each(errors),
            Error::Unseal(errors) => each(errors),
            Error::Export(errors) => {
                let mut lines = each(errors);
                lines.push("nothing was exported".into());
                lines
            }
            other => vec![other.to_string()],
        }
    }
}

/// Why the program did not start, with the exit status that says so.
#[derive(Debug)]
pub struct LaunchError {
    pub code: ExitCode,
    pub message: String,
}

impl LaunchError {
    /// Print the one error line; the exit status that goes with it.
    pub fn report(self) -> ExitCode {
        let code = self.code;
        report(&Error::Launch(self));
        code
    }
}

/// The one printer: one `inject: error: …` line per problem on stderr; clap's help and
/// version on stdout, and its usage errors as clap renders them.
pub fn report(error: &Error) {
    match error {
        Error::Cli(e) if error.code() == ExitCode::Success => {
            let _ = e.print();
        }
        Error::Cli(e) => {
            let text = e.render().to_string();
            let text = text.strip_prefix("error: ").unwrap_or(&text);
            to_stderr(format_args!("inject: error: {text}"));
        }
        _ => {
            for problem in error.problems() {
                to_stderr(format_args!("inject: error: {problem}\n"));
            }
        }
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
