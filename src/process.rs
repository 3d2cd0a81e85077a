//! EFFECT, Linux: the process handling every supervising mode shares (SPEC §6.3, §17), as
//! tini does it: the program runs as inject's child, in its own process group and with the
//! terminal; signals are read from a descriptor, children are reaped. [`Supervisor::wait`]
//! polls the signal descriptor together with the caller's own descriptors and returns what
//! happened; the one loop in `supervise` decides what each event means.
//!
//! How: every signal is blocked before the first fork, so none is lost or delivered between
//! start-up and the loop, and they are read from a `signalfd` instead. The child restores the
//! mask inject inherited before exec; dispositions are never changed, so it inherits them
//! exactly (an ignored SIGHUP stays ignored, as after `env`). Blocked signals are also why the
//! supervisor never stops for SIGTTOU when it hands the terminal over or writes to it from
//! the background: the kernel treats a blocked SIGTTOU as ignored.
//!
//! Job control: SIGTSTP, SIGTTIN and SIGTTOU sent to inject are forwarded like any other
//! signal (the child stops, inject does not; SIGCONT is forwarded as well). Ctrl-Z on a
//! terminal reaches the child's foreground group directly, as Ctrl-C does. On a pty of its
//! own (`--mask=always` on a terminal) the child leads a new session instead, and the one
//! loop stops inject with it (`pty::Console`); [`Event::Stopped`] says when it stopped.
//!
//! Other platforms: the supervisor needs `signalfd` and `PR_SET_CHILD_SUBREAPER`; `app`
//! refuses every supervising mode there, once.
#![cfg(target_os = "linux")]

use std::ffi::{OsString, c_int};
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::SigSet;
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::{ForkResult, Pid};

use crate::environment::Pair;
use crate::error::{self, ExitCode, LaunchError};
use crate::launch::Plan;

/// The kernel's `sigset_t` is `_NSIG / 8` bytes: 8 everywhere but MIPS.
const KERNEL_SIGSET_BYTES: usize = if cfg!(any(
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "mips32r6",
    target_arch = "mips64r6"
)) {
    16
} else {
    8
};

/// Descriptors for the child's standard output and error in place of inject's own. They
/// may be close-on-exec (the copies on 1 and 2 are not), but must not be 1 or 2 already.
#[derive(Clone, Copy, Debug, Default)]
pub struct Redirect<'a> {
    pub stdin: Option<BorrowedFd<'a>>,
    pub stdout: Option<BorrowedFd<'a>>,
    pub stderr: Option<BorrowedFd<'a>>,
    /// A pseudo-terminal's slave: the child's controlling terminal, in a session of its own.
    pub terminal: Option<BorrowedFd<'a>>,
    /// A close-on-exec descriptor the child keeps, at its number (`--st-secrets`' memory).
    pub keep: Option<BorrowedFd<'a>>,
}

impl Redirect<'_> {
    /// In the forked child: only system calls.
    fn apply(&self) -> Result<(), Errno> {
        if let Some(fd) = self.terminal {
            crate::pty::take_as_controlling(fd)?;
        }
        if let Some(fd) = self.keep {
            crate::st_memory::keep_open(fd)?;
        }
        if let Some(fd) = self.stdin {
            nix::unistd::dup2_stdin(fd)?;
        }
        if let Some(fd) = self.stdout {
            nix::unistd::dup2_stdout(fd)?;
        }
        if let Some(fd) = self.stderr {
            nix::unistd::dup2_stderr(fd)?;
        }
        Ok(())
    }
}

/// A program started by [`Supervisor::spawn`]; it leads its own process group.
#[derive(Debug)]
pub struct Child {
    pub pid: Pid,
}

/// What [`Supervisor::wait`] saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A signal for inject, to forward or act on (never SIGCHLD: that means reaping).
    Signal(c_int),
    /// A child of inject was reaped: one started by `spawn` or an orphan it adopted.
    /// `code` is the exit status, or 128+N for a child killed by signal N.
    Exited { pid: Pid, code: i32 },
    /// A child of inject stopped (SIGTSTP, SIGSTOP, SIGTTIN, SIGTTOU).
    Stopped { pid: Pid },
    /// The caller's descriptor at this index is ready as asked, or hung up.
    Ready(usize),
}

/// Blocked signals read from a `signalfd`, children in their own process group, and the
/// terminal handed to them. Create it while inject is single-threaded, before any thread
/// starts: a thread started earlier keeps its own mask and could take a signal itself.
#[derive(Debug)]
pub struct Supervisor {
    signals: SignalFd,
    /// The mask inject inherited, restored in every child.
    inherited_mask: libc::sigset_t,
    terminal: Option<Terminal>,
}

/// The controlling terminal, when inject's process group was its foreground group.
#[derive(Debug)]
struct Terminal {
    file: File,
    /// inject's own group, which gets the terminal back.
    group: Pid,
}

impl Supervisor {
    /// Block every signal, the real-time ones and the two glibc keeps for itself (32, 33)
    /// included, and read them from a close-on-exec `signalfd` from now on. The mask is
    /// not restored when the supervisor goes away: a pending signal would then act on
    /// inject before it could exit with the child's status.
    pub fn new() -> Result<Self, Errno> {
        let every = every_signal();
        let inherited_mask = set_mask(&every)?;
        // SAFETY: `every` was fully written by `every_signal`.
        let set = unsafe { SigSet::from_sigset_t_unchecked(every) };
        let signals =
            match SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK) {
                Ok(signals) => signals,
                Err(errno) => {
                    let _ = set_mask(&inherited_mask);
                    return Err(errno);
                }
            };
        Ok(Supervisor {
            signals,
            inherited_mask,
            terminal: foreground_terminal(),
        })
    }

    /// Start the program in its own process group, with the terminal when inject has it,
    /// the inherited signal mask and exactly `env`; its standard streams where `redirect`
    /// says (`--mask`), inject's own otherwise. Fails with exec mode's 126/127 error when it
    /// cannot be executed (the child reports its errno through a close-on-exec pipe and the
    /// parent describes it), 125 when no process can be created. When a redirection cannot
    /// be put in place the child never runs: its output must not escape it.
    pub fn spawn(
        &mut self,
        command: &[OsString],
        env: &[Pair],
        redirect: &Redirect<'_>,
    ) -> Result<Child, LaunchError> {
        let mut plan = Plan::new(command, env)?;
        let shown = command[0].to_string_lossy();
        let cannot = |what: &str, errno: Errno| LaunchError {
            code: ExitCode::Failure,
            message: format!("cannot start `{shown}`: {what}: {}", errno.desc()),
        };
        let (report, reported) =
            nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| cannot("no pipe", e))?;
        // SAFETY: the child only makes system calls until exec or `_exit` (`Plan::exec`
        // allocates nothing, and nothing here panics), so it needs no lock that another
        // thread may have held at the fork: under `--watch`, notify's thread runs.
        match unsafe { nix::unistd::fork() } {
            Err(errno) => Err(cannot("cannot create a process", errno)),
            Ok(ForkResult::Child) => {
                drop(report);
                // On a pty of its own, the child leads a new session (`Redirect::apply`).
                if redirect.terminal.is_none() {
                    let _ = nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
                    if let Some(terminal) = &self.terminal {
                        let _ = nix::unistd::tcsetpgrp(&terminal.file, nix::unistd::getpid());
                    }
                }
                let _ = set_mask(&self.inherited_mask);
                let errno = match redirect.apply() {
                    Ok(()) => plan.exec(),
                    Err(errno) => errno,
                };
                let _ = nix::unistd::write(&reported, &(errno as i32).to_ne_bytes());
                // SAFETY: `_exit` ends the child without running the parent's destructors
                // or flushing its buffers, which are the parent's to flush.
                unsafe { libc::_exit(ExitCode::NotFound.into()) }
            }
            Ok(ForkResult::Parent { child }) => {
                drop(reported);
                // Also here, so the group exists before the first signal is forwarded to
                // it; fails harmlessly once the child has exec'd or ended. Not for a child
                // that makes its own session: as a group leader it could not. Its group
                // exists once exec closed the report pipe.
                if redirect.terminal.is_none() {
                    let _ = nix::unistd::setpgid(child, child);
                }
                match read_errno(&report) {
                    None => Ok(Child { pid: child }),
                    Some(errno) => {
                        wait_for(child);
                        self.reclaim_terminal();
                        Err(plan.describe(errno))
                    }
                }
            }
        }
    }

    /// Wait for a signal or for one of `extra` to be ready as its flags ask (or hang up),
    /// at most `timeout`. SIGCHLD reaps every child that ended (each is one `Exited` event)
    /// and tells of each that stopped. An empty list means the timeout passed.
    pub fn wait(
        &mut self,
        extra: &[(BorrowedFd<'_>, PollFlags)],
        timeout: PollTimeout,
    ) -> Result<Vec<Event>, Errno> {
        let mut fds = Vec::with_capacity(1 + extra.len());
        fds.push(PollFd::new(self.signals.as_fd(), PollFlags::POLLIN));
        fds.extend(extra.iter().map(|(fd, flags)| PollFd::new(*fd, *flags)));
        loop {
            match poll(&mut fds, timeout) {
                Err(Errno::EINTR) => {}
                Err(errno) => return Err(errno),
                Ok(_) => break,
            }
        }
        let ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
        let signalled = ready(&fds[0]);
        let mut events: Vec<Event> = (1..fds.len())
            .filter(|&i| ready(&fds[i]))
            .map(|i| Event::Ready(i - 1))
            .collect();
        drop(fds);
        if signalled {
            while let Some(info) = self.signals.read_signal()? {
                // Signal numbers are small positive integers.
                let signal = c_int::try_from(info.ssi_signo).unwrap_or(0);
                if signal == libc::SIGCHLD {
                    reap(&mut events);
                } else {
                    events.push(Event::Signal(signal));
                }
            }
        }
        Ok(events)
    }

    /// Send `signal` on to the child, or to its whole process group. A child that has
    /// already ended is not reaped before SIGCHLD is read, so its PID cannot be reused.
    pub fn forward(&self, child: &Child, signal: c_int, group: bool) {
        let target = if group {
            -child.pid.as_raw()
        } else {
            child.pid.as_raw()
        };
        // SAFETY: `kill` only sends a signal; nix's `kill` cannot send real-time ones.
        unsafe { libc::kill(target, signal) };
    }

    /// Become the reaper of orphaned descendants (`PR_SET_CHILD_SUBREAPER`), as `--init`
    /// does when inject is not PID 1; a failure is a warning, not a reason to stop.
    pub fn adopt_orphans(&self) {
        if let Err(errno) = nix::sys::prctl::set_child_subreaper(true) {
            error::note(
                "warning",
                &format!(
                    "cannot adopt orphaned processes (PR_SET_CHILD_SUBREAPER): {}",
                    errno.desc()
                ),
            );
        }
    }

    /// Give the terminal back to inject's own group once no child holds it.
    fn reclaim_terminal(&self) {
        if let Some(terminal) = &self.terminal {
            let _ = nix::unistd::tcsetpgrp(&terminal.file, terminal.group);
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.reclaim_terminal();
    }
}

/// All bits set. glibc's `sigfillset` leaves out 32 and 33 (and `sigaddset` refuses them),
/// but a signal left unblocked would act on inject, by default ending it.
fn every_signal() -> libc::sigset_t {
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `sigset_t` is plain integers, so every bit pattern is a valid value, and
    // `write_bytes` initialises all of it.
    unsafe {
        set.as_mut_ptr().write_bytes(0xff, 1);
        set.assume_init()
    }
}

/// Set the mask with the raw system call (glibc's wrappers quietly drop 32 and 33); returns
/// the mask before. The kernel ignores SIGKILL and SIGSTOP in it.
fn set_mask(mask: &libc::sigset_t) -> Result<libc::sigset_t, Errno> {
    let mut before: libc::sigset_t = *SigSet::empty().as_ref();
    // SAFETY: both pointers are valid `sigset_t`s, which are larger than the kernel's.
    let result = unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            std::ptr::from_ref(mask),
            std::ptr::from_mut(&mut before),
            KERNEL_SIGSET_BYTES,
        )
    };
    Errno::result(result).map(|_| before)
}

/// The controlling terminal, when there is one and inject's group is its foreground
/// group: a job in the background keeps its hands off the terminal.
fn foreground_terminal() -> Option<Terminal> {
    let file = File::options()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open("/dev/tty")
        .ok()?;
    let group = nix::unistd::getpgrp();
    let foreground = nix::unistd::tcgetpgrp(&file).ok()?;
    (foreground == group).then_some(Terminal { file, group })
}

/// The errno a child sent before `_exit`, or `None` when the pipe closed on exec.
fn read_errno(pipe: &OwnedFd) -> Option<Errno> {
    let mut bytes = [0u8; 4];
    let mut filled = 0;
    while filled < bytes.len() {
        match nix::unistd::read(pipe.as_fd(), &mut bytes[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(Errno::EINTR) => {}
            Err(_) => break,
        }
    }
    (filled == bytes.len()).then(|| Errno::from_raw(i32::from_ne_bytes(bytes)))
}

/// Reap every child that has ended, and tell of each that stopped, without blocking. Raw
/// `waitpid`: nix's loses the PID of a child killed by a real-time signal.
fn reap(events: &mut Vec<Event>) {
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid place for the status to be written.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG | libc::WUNTRACED) };
        if pid <= 0 {
            return;
        }
        let pid = Pid::from_raw(pid);
        if let Some(code) = exit_code(status) {
            events.push(Event::Exited { pid, code });
        } else if libc::WIFSTOPPED(status) {
            events.push(Event::Stopped { pid });
        }
    }
}

/// Block until `pid` ends; its exit status as a shell reports it.
pub fn wait_for(pid: Pid) -> i32 {
    loop {
        let mut status = 0;
        // SAFETY: as in `reap`.
        let result = unsafe { libc::waitpid(pid.as_raw(), &mut status, 0) };
        if result == pid.as_raw() {
            if let Some(code) = exit_code(status) {
                return code;
            }
        } else if Errno::last() != Errno::EINTR {
            return ExitCode::Failure.into();
        }
    }
}

/// The child's exit code, or 128+N when signal N killed it (SPEC §6.2).
fn exit_code(status: c_int) -> Option<i32> {
    if libc::WIFEXITED(status) {
        Some(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Some(128 + libc::WTERMSIG(status))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_as_a_shell_reports_them() {
        assert_eq!(exit_code(42 << 8), Some(42));
        assert_eq!(exit_code(libc::SIGKILL), Some(137));
        assert_eq!(exit_code(34), Some(162));
        assert_eq!(exit_code(0x137f), None, "stopped by SIGSTOP");
    }

    #[test]
    fn every_signal_holds_the_ones_glibc_hides() {
        let set = every_signal();
        for signal in [1, 15, 17, 32, 33, 34, 64] {
            // SAFETY: `set` is an initialised `sigset_t` and the numbers are in range.
            assert_eq!(unsafe { libc::sigismember(&set, signal) }, 1, "{signal}");
        }
    }
}
