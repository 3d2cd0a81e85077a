//! EFFECT: the one supervisor (SPEC §6.3, §12, §16, §17), one loop as in tini: start
//! the program, then wait on signals, reaped children and ready descriptors together, and act.
//! Init mode, `--mask` and `--watch` are options of this loop, in any combination:
//! * always: forward every signal to the program (or its group with `-g`), reap every child,
//!   end with the program's status (SPEC §6.2);
//! * `--mask`: each start's output goes through a [`Relay`]; after the program ended, what it
//!   wrote is drained (until each pipe ends, or nothing comes for `relay::QUIET`, at most
//!   `relay::LINGER`), and signals are not forwarded any more (the PID may be reused);
//! * `--watch`: a change to the sources, once they are quiet, reads and composes again; a
//!   different environment stops the program's group (the restart signal, then SIGKILL after
//!   the stop timeout) and starts it again, with a new relay under `--mask`;
//! * `--mask=always` on a terminal: the program runs on a pty (`pty`); the real terminal's
//!   keys, window size and job control go through the loop as well.
//!
//! The loop is Linux code (`signalfd`, `PR_SET_CHILD_SUBREAPER`, in `supervise/linux.rs`).
//! Windows has no signals to forward and no orphans to reap: `supervise/windows.rs` does
//! `--mask` with a thread per pipe and `--watch` with a loop on a channel (a restart ends the
//! program's job: `Restart` does not apply there), and says that init mode does not exist.
//! Elsewhere [`run`] says so for every mode. These are the places the platform is checked.

use std::path::PathBuf;
use std::time::Duration;

use crate::environment::Pair;
use crate::mask;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::run;
// `--mask` through pipes and threads; the other modes are errors there (SPEC §18).
#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::run;

/// How inject supervises. Every mode is an option here, none is a loop of its own.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Forward signals to the program's process group rather than to the program alone.
    pub group: bool,
    /// Adopt orphaned descendants (`PR_SET_CHILD_SUBREAPER`): when inject is not PID 1.
    pub subreaper: bool,
    /// `--mask`: relay the program's output through the redactor.
    pub mask: Option<mask::Settings>,
    /// `--watch`: restart the program when its secrets change.
    pub watch: Option<Restart>,
    /// Print no `restarting` line (`-q`).
    pub quiet: bool,
    /// Say what is watched and masked, and when a change left the environment as it was.
    pub verbose: bool,
}

/// How `--watch` stops the program before it starts again (Linux; Windows ends its job).
#[derive(Clone, Copy, Debug)]
pub struct Restart {
    /// Sent to the program's process group first.
    pub signal: i32,
    /// How long the group has to stop before SIGKILL.
    pub stop_timeout: Duration,
}

/// What one start of the program gets: its environment, and the values `--mask` hides.
pub struct Start {
    pub env: Vec<Pair>,
    pub values: Vec<(String, Vec<u8>)>,
}

/// What the loop needs from the rest of inject.
pub struct Inputs<'a> {
    /// The first start when it was prepared already; `None` under `--watch`, which reads the
    /// sources itself once its watches are in place, so that no change falls in between.
    pub first: Option<Start>,
    /// Read the sources and compose the program's environment, as every start does.
    pub compose: &'a mut dyn FnMut() -> Result<Start, crate::error::Error>,
    /// The paths whose change can change what `compose` reads (`source::inputs`).
    pub paths: &'a dyn Fn() -> Vec<PathBuf>,
    /// `--st-secrets`: the memory every start inherits, open across exec.
    pub keep: Option<Keep<'a>>,
}

/// A descriptor the program inherits.
#[cfg(unix)]
pub type Keep<'a> = std::os::fd::BorrowedFd<'a>;
#[cfg(not(unix))]
pub type Keep<'a> = std::marker::PhantomData<&'a ()>;

/// Elsewhere than Linux and Windows: every supervising mode is an error, said once, here.
#[cfg(not(any(target_os = "linux", windows)))]
pub fn run(
    _command: &[std::ffi::OsString],
    _inputs: Inputs<'_>,
    options: &Options,
) -> crate::error::ExitCode {
    let message = if options.watch.is_some() {
        "`--watch` is only available on Linux and Windows: run without it, and start the program again after changing the secrets"
    } else if options.mask.is_some() {
        "`--mask` is only available on Linux and Windows: drop `--mask`, inject then runs the program in its place"
    } else {
        "init mode (`--init`) is only available on Linux: drop `--init`, inject then runs the program in its place"
    };
    crate::error::report(&crate::error::Error::Message(message.into()));
    crate::error::ExitCode::Failure
}
