//! EFFECT, Linux: `--mask=always` on a terminal (SPEC §16). The program runs on a new
//! pseudo-terminal, so it still sees a terminal (colours, progress bars, `isatty`), while
//! inject reads what it writes from the master side, masks it and writes it to the real
//! terminal, as `script` and tmux do.
//!
//! * [`Pty::open`] makes the pair with the real terminal's modes and window size. The program
//!   gets the slave as its controlling terminal (a session of its own, `TIOCSCTTY`) and as each
//!   of its standard streams that was the terminal; inject keeps the master, non-blocking.
//! * [`Console`] holds the real terminal while the program runs: raw mode when inject reads
//!   its keys (stdin is that terminal and inject's group is in the foreground), restored on
//!   every way out (its `Drop`, and before inject stops for Ctrl-Z). Keys go to the master as
//!   they come, so Ctrl-C and Ctrl-Z reach the program's group through the pty's own line
//!   discipline; `SIGWINCH` copies the window size to the master, whose kernel then signals
//!   the program.
//! * Job control: when the program stops (Ctrl-Z), inject gives the terminal its modes back
//!   and stops itself, so the shell sees the job stop; `fg` continues inject, which takes the
//!   terminal again and continues the program.
#![cfg(target_os = "linux")]

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::sys::termios::{self, SetArg, Termios};

/// Whether inject reads the keys for the program: its stdin is a terminal, and inject's
/// group is that terminal's foreground group (a job in the background leaves it alone).
pub fn reads_keys() -> bool {
    let stdin = std::io::stdin();
    let terminal = stdin.as_fd();
    nix::unistd::isatty(terminal).unwrap_or(false)
        && nix::unistd::tcgetpgrp(terminal).is_ok_and(|g| g == nix::unistd::getpgrp())
}

/// The master of a program's pty, for the [`Console`].
pub struct Master {
    pub fd: OwnedFd,
    /// The program reads its keys from the pty, through inject ([`reads_keys`]).
    pub keys: bool,
}

/// A pseudo-terminal pair for one start of the program.
pub struct Pty {
    /// inject's side: what the program writes is read here, keys are written here.
    pub master: OwnedFd,
    /// The program's side; inject drops its copy once the program started.
    pub slave: OwnedFd,
}

impl Pty {
    /// A pair with the window size of `terminal` (inject's own output terminal) and its
    /// modes, or `modes` when inject has set it raw already. Unless inject passes the keys
    /// (and so sets the real terminal raw), the real terminal goes on processing output
    /// (`\n` to `\r\n`), so the pty does not as well.
    pub fn open(
        terminal: BorrowedFd<'_>,
        modes: Option<&Termios>,
        keys: bool,
    ) -> Result<Pty, Errno> {
        let mut modes = modes.cloned().or_else(|| termios::tcgetattr(terminal).ok());
        if let Some(modes) = modes.as_mut().filter(|_| !keys) {
            modes.output_flags.remove(termios::OutputFlags::OPOST);
        }
        let size = window_size(terminal);
        let pair = nix::pty::openpty(size.as_ref(), modes.as_ref())?;
        for fd in [&pair.master, &pair.slave] {
            fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
        }
        fcntl(&pair.master, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
        Ok(Pty {
            master: pair.master,
            slave: pair.slave,
        })
    }
}

/// In the forked child, before exec: a session of its own with `slave` as its controlling
/// terminal. Only system calls.
pub fn take_as_controlling(slave: BorrowedFd<'_>) -> Result<(), Errno> {
    nix::unistd::setsid()?;
    // SAFETY: TIOCSCTTY takes an integer argument (0: do not steal a terminal in use).
    let result = unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) };
    Errno::result(result).map(drop)
}

/// The key that suspends the program on its terminal now (`VSUSP`), when that terminal
/// turns keys into signals (`ISIG`): a program in raw mode reads Ctrl-Z as a key.
fn suspend_key(master: BorrowedFd<'_>) -> Option<u8> {
    let modes = termios::tcgetattr(master).ok()?;
    let key = modes.control_chars[termios::SpecialCharacterIndices::VSUSP as usize];
    // 0 is `_POSIX_VDISABLE` on Linux: no suspend key.
    (modes.local_flags.contains(termios::LocalFlags::ISIG) && key != 0).then_some(key)
}

/// The window size of `terminal`, when it has one.
fn window_size(terminal: BorrowedFd<'_>) -> Option<libc::winsize> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` through the valid pointer.
    let result = unsafe { libc::ioctl(terminal.as_raw_fd(), libc::TIOCGWINSZ, &mut size) };
    (result == 0).then_some(size)
}

/// The real terminal while the program runs on a pty.
pub struct Console {
    stdin: std::io::Stdin,
    /// The program reads its keys from the pty, through inject.
    passes_keys: bool,
    /// ... and inject reads them now (foreground).
    keys: bool,
    /// The modes to give back, once raw mode was set.
    saved: Option<Termios>,
    /// The master of the program now running: keys and window sizes go there.
    master: Option<OwnedFd>,
    /// Keys read but not yet taken by the master (its input queue was full).
    backlog: Vec<u8>,
}

impl Console {
    /// Take the terminal for the program on `master`: raw mode when inject passes it the
    /// keys and is in the foreground.
    pub fn new(master: Master) -> Console {
        let mut console = Console {
            stdin: std::io::stdin(),
            passes_keys: master.keys,
            keys: false,
            saved: None,
            master: Some(master.fd),
            backlog: Vec::new(),
        };
        console.take();
        console
    }

    /// The real terminal's modes before inject set it raw, for the next pty.
    pub fn modes(&self) -> Option<&Termios> {
        self.saved.as_ref()
    }

    /// The program started again (`--watch`) on a new pty.
    pub fn follow(&mut self, master: Master) {
        self.master = Some(master.fd);
        self.backlog.clear();
        self.resize();
    }

    /// inject's stdin, to poll for keys, when it reads them and the master takes them.
    pub fn keys(&self) -> Option<BorrowedFd<'_>> {
        (self.keys && self.backlog.is_empty() && self.master.is_some()).then(|| self.stdin.as_fd())
    }

    /// The master, to poll for room, while keys wait for it.
    pub fn waiting_master(&self) -> Option<BorrowedFd<'_>> {
        self.master
            .as_ref()
            .filter(|_| !self.backlog.is_empty())
            .map(AsFd::as_fd)
    }

    /// Keys arrived (or the master has room again): pass on what the master takes. True
    /// when they hold the program's suspend key (Ctrl-Z) while its terminal turns keys into
    /// signals: the caller stops the program's group with SIGSTOP. The pty's own SIGTSTP
    /// would be discarded: the program leads a session whose parent is outside it, so its
    /// group is orphaned, and the kernel drops job-control stops for orphaned groups.
    pub fn pass_keys(&mut self) -> bool {
        let Some(master) = &self.master else {
            return false;
        };
        let mut suspend = false;
        if self.backlog.is_empty() {
            let mut buffer = [0u8; 4096];
            match nix::unistd::read(self.stdin.as_fd(), &mut buffer) {
                Ok(0) | Err(Errno::EIO | Errno::EBADF) => {
                    // The terminal went away: no more keys.
                    self.keys = false;
                    return false;
                }
                Ok(n) => {
                    suspend =
                        suspend_key(master.as_fd()).is_some_and(|key| buffer[..n].contains(&key));
                    self.backlog.extend_from_slice(&buffer[..n]);
                }
                Err(_) => return false,
            }
        }
        while !self.backlog.is_empty() {
            match nix::unistd::write(master, &self.backlog) {
                Ok(n) => {
                    self.backlog.drain(..n);
                }
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => return suspend,
                Err(_) => {
                    // The program's side is gone: keys for it are lost, as they would be.
                    self.backlog.clear();
                    return suspend;
                }
            }
        }
        suspend
    }

    /// `SIGWINCH`: the real terminal's size to the program's.
    pub fn resize(&self) {
        let (Some(master), Some(size)) = (&self.master, outer_size()) else {
            return;
        };
        // SAFETY: TIOCSWINSZ reads one `winsize` through the valid pointer.
        unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
    }

    /// The program stopped (Ctrl-Z): give the terminal its modes back and stop inject as
    /// well, so the shell sees the job stop. Returns when inject is continued (`fg`, `bg`).
    pub fn suspend(&mut self) {
        self.give_back();
        // SAFETY: `kill` only sends a signal; SIGSTOP cannot be blocked, so inject stops here.
        unsafe { libc::kill(libc::getpid(), libc::SIGSTOP) };
        self.take();
    }

    /// inject was continued: take the terminal again when it is in the foreground.
    pub fn take(&mut self) {
        let terminal = self.stdin.as_fd();
        self.keys = self.passes_keys && reads_keys();
        if self.keys
            && self.saved.is_none()
            && let Ok(modes) = termios::tcgetattr(terminal)
        {
            let mut raw = modes.clone();
            termios::cfmakeraw(&mut raw);
            if termios::tcsetattr(terminal, SetArg::TCSADRAIN, &raw).is_ok() {
                self.saved = Some(modes);
            }
        }
        self.resize();
    }

    /// The terminal's modes as they were before inject took it.
    fn give_back(&mut self) {
        if let Some(modes) = self.saved.take() {
            let _ = termios::tcsetattr(self.stdin.as_fd(), SetArg::TCSADRAIN, &modes);
        }
        self.keys = false;
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.give_back();
    }
}

/// The size of the real terminal the program follows: stdout's, else stdin's, else stderr's.
fn outer_size() -> Option<libc::winsize> {
    let (stdout, stdin, stderr) = (std::io::stdout(), std::io::stdin(), std::io::stderr());
    [stdout.as_fd(), stdin.as_fd(), stderr.as_fd()]
        .into_iter()
        .find_map(window_size)
}
