//! EFFECT: `--mask` (issue 5). inject stays as the program's parent (the one loop in
//! `supervise`) and relays each of the program's standard output and error that is not a
//! terminal through a pipe and a [`Redactor`] to inject's own. Each start of the program gets
//! its own [`Relay`]: under `--watch` a restart masks the new values, while what the old
//! program still wrote drains through the old redactor.
//!
//! How:
//! * One loop, `Supervisor::wait`: the signal descriptor and the read ends of the pipes are
//!   polled together, so a flood on one stream never starves the other or the signals. Each
//!   ready pipe gets one non-blocking read of up to [`CHUNK`] bytes per turn; what the
//!   redactor decides is written at once (no line buffering), so order within a stream holds.
//! * inject's own stdout and stderr stay blocking: their file status flags belong to every
//!   process that shares them (a shell's terminal, the pipe `docker logs` reads), so inject
//!   does not set `O_NONBLOCK` on them. Each chunk is written in full; while that write waits
//!   for a slow reader, the other pipe waits in the kernel (up to 1 MiB) and the program
//!   blocks only when that fills, as it would writing to the slow reader itself. A
//!   descriptor the caller left non-blocking is waited on with `poll`.
//! * When stdout and stderr are one file (`2>&1`), the program gets one pipe for both, so the
//!   order between its two streams is kept exactly.
//! * SIGPIPE: every signal is blocked in the supervisor, so writing to a pipe whose reader has
//!   gone returns EPIPE instead of ending inject. inject then closes its read end of that
//!   stream's pipe: the program's next write there meets a pipe without reader, and ends (or
//!   sees EPIPE) exactly as it would without inject. The SIGPIPE the kernel queued for inject
//!   is taken back at once, so it is never forwarded to the program.
//! * When the program has been reaped, what it wrote is drained: until each pipe ends, or
//!   nothing arrives for [`QUIET`], at most [`LINGER`] in all, since a background process may
//!   hold a pipe open for ever. Signals are not forwarded any more (the PID may be reused).
//!   A held tail is written only at the end of its stream: of a pipe still open, it is
//!   dropped, as it may be the start of a secret.
//!
//! Linux only, as the supervisor is; the terminal rule itself is `mask::routes`.
#![cfg(target_os = "linux")]

use crate::mask::{Descriptor, MaskWhen, Redactor, Routes, Settings, routes};
use crate::process::Redirect;
use crate::pty::Pty;

/// Bytes read from a pipe at once: small enough that the buffer stays in the CPU's cache
/// while it is scanned and written (larger reads measured slower, see BENCHMARKS.md, `--mask`).
pub const CHUNK: usize = 128 * 1024;
/// The capacity asked for each pipe (Linux's default limit for any user): fewer wake-ups
/// than the default 64 KiB. When the kernel refuses, the pipe keeps its 64 KiB.
const PIPE_SIZE: libc::c_int = 1024 * 1024;
/// After the program ended: stop draining a pipe that has been silent this long.
pub const QUIET: std::time::Duration = std::time::Duration::from_millis(100);
/// After the program ended: stop draining this long after, whatever still comes.
pub const LINGER: std::time::Duration = std::time::Duration::from_secs(1);

/// The pipes (or pseudo-terminal) of one start of the program: inject's read ends, each with
/// its redactor, and the write ends the program gets as its standard output and error.
pub struct Relay {
    streams: Vec<Stream>,
    out_pipe: Option<std::os::fd::OwnedFd>,
    err_pipe: Option<std::os::fd::OwnedFd>,
    /// The program's side of the pty, when a masked stream is a terminal (SPEC §16).
    slave: Option<std::os::fd::OwnedFd>,
    /// A second handle on the pty's master, for keys and window sizes (`pty::Console`).
    master: Option<std::os::fd::OwnedFd>,
    /// inject reads the terminal's keys (`pty::reads_keys`): the program reads its pty.
    stdin_on_pty: bool,
    routes: Routes,
}

impl Relay {
    /// Pipes for the streams the terminal rule masks, a pty for those that are terminals.
    /// With nothing to mask (no secrets file in production, or only short values) there are
    /// none: the program writes to inject's stdout and stderr itself, at no cost. `modes`
    /// are the real terminal's, when inject has set it raw already (a restart under
    /// `--watch`). `note` says on stderr what is masked (`-v`).
    pub fn open(
        settings: &Settings,
        values: &[(&str, &[u8])],
        modes: Option<&nix::sys::termios::Termios>,
        note: bool,
    ) -> Result<Relay, String> {
        use std::os::fd::AsFd;
        let build = || {
            Redactor::new(values.iter().copied(), settings.min_len)
                .map_err(|e| format!("cannot prepare `--mask`: {e}"))
        };
        let first = build()?;
        let routes = if first.is_empty() {
            Routes::default()
        } else {
            routes(
                settings.when,
                descriptor(std::io::stdout().as_fd()),
                descriptor(std::io::stderr().as_fd()),
            )
        };
        let mut first = Some(first);
        // One redactor per stream, the one already built first.
        let mut redactor = || first.take().map_or_else(build, Ok);
        let mut relay = Relay {
            streams: Vec::with_capacity(2),
            out_pipe: None,
            err_pipe: None,
            slave: None,
            master: None,
            stdin_on_pty: false,
            routes,
        };
        if routes.stdout_pty || routes.stderr_pty {
            let (stdout, stderr) = (std::io::stdout(), std::io::stderr());
            let (target, terminal) = if routes.stdout_pty {
                (Target::Stdout, stdout.as_fd())
            } else {
                (Target::Stderr, stderr.as_fd())
            };
            let no_pty = |e: nix::errno::Errno| {
                format!("cannot start `--mask`: no pseudo-terminal: {}", e.desc())
            };
            let keys = crate::pty::reads_keys();
            let pty = Pty::open(terminal, modes, keys).map_err(no_pty)?;
            let master = pty
                .master
                .try_clone()
                .map_err(|e| no_pty(nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0))))?;
            relay
                .streams
                .push(Stream::new(pty.master, target, redactor()?));
            relay.slave = Some(pty.slave);
            relay.master = Some(master);
            relay.stdin_on_pty = keys;
        }
        let pipe =
            || create_pipe().map_err(|e| format!("cannot start `--mask`: no pipe: {}", e.desc()));
        if routes.stdout && !routes.stdout_pty {
            let (read, write) = pipe()?;
            relay
                .streams
                .push(Stream::new(read, Target::Stdout, redactor()?));
            relay.out_pipe = Some(write);
        }
        if routes.stderr && !routes.stderr_pty && !routes.shared {
            let (read, write) = pipe()?;
            relay
                .streams
                .push(Stream::new(read, Target::Stderr, redactor()?));
            relay.err_pipe = Some(write);
        }
        if note {
            crate::error::note("note", &describe_routes(&routes, settings, values));
        }
        Ok(relay)
    }

    /// Where the program's standard streams go instead of inject's own descriptors.
    pub fn redirect(&self) -> Redirect<'_> {
        use std::os::fd::AsFd;
        let slave = self.slave.as_ref().map(AsFd::as_fd);
        let stdout = if self.routes.stdout_pty {
            slave
        } else {
            self.out_pipe.as_ref().map(AsFd::as_fd)
        };
        let stderr = if self.routes.stderr_pty {
            slave
        } else if self.routes.shared {
            stdout
        } else {
            self.err_pipe.as_ref().map(AsFd::as_fd)
        };
        Redirect {
            stdin: slave.filter(|_| self.stdin_on_pty),
            stdout,
            stderr,
            terminal: slave,
            keep: None,
        }
    }

    /// The read ends, once the program started, and the pty's master for keys: only the
    /// program may hold the write ends, so that the streams end when it (and its children) do.
    pub fn into_streams(self) -> (Vec<Stream>, Option<crate::pty::Master>) {
        let keys = self.stdin_on_pty;
        let master = self.master.map(|fd| crate::pty::Master { fd, keys });
        (self.streams, master)
    }
}

fn describe_routes(routes: &Routes, settings: &Settings, values: &[(&str, &[u8])]) -> String {
    if !values.iter().any(|(_, v)| v.len() >= settings.min_len) {
        return format!(
            "no value of at least {} bytes to mask: the program's output passes directly",
            settings.min_len
        );
    }
    let masked = match (routes.stdout, routes.stderr) {
        (true, true) if routes.shared && routes.stdout_pty => {
            "stdout and stderr (one terminal: the program runs on a pseudo-terminal)"
        }
        (true, true) if routes.shared => "stdout and stderr (one file: one pipe)",
        (true, true) => "stdout and stderr",
        (true, false) => "stdout",
        (false, true) => "stderr",
        (false, false) => "neither stdout nor stderr",
    };
    let mut note = format!(
        "masking values of at least {} bytes in the program's {masked}",
        settings.min_len
    );
    if settings.when == MaskWhen::Auto && !(routes.stdout && routes.stderr) {
        note.push_str("; a terminal or closed stream is passed through (`--mask=always` masks a terminal too)");
    }
    note
}

/// Device, inode and whether it is a terminal; `None` when the descriptor is not open.
fn descriptor(fd: std::os::fd::BorrowedFd<'_>) -> Option<Descriptor> {
    let stat = nix::sys::stat::fstat(fd).ok()?;
    Some(Descriptor {
        terminal: nix::unistd::isatty(fd).unwrap_or(false),
        // `dev_t` and `ino_t` are unsigned 64-bit on Linux.
        file: (stat.st_dev, stat.st_ino),
    })
}

/// A close-on-exec pipe whose read end (inject's) does not block.
fn create_pipe() -> Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd), nix::errno::Errno> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    fcntl(&read, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    let _ = fcntl(&read, FcntlArg::F_SETPIPE_SZ(PIPE_SIZE));
    Ok((read, write))
}

/// inject's own descriptor a stream is relayed to.
#[derive(Clone, Copy, Debug)]
enum Target {
    Stdout,
    Stderr,
}

impl Target {
    fn write_all(self, bytes: &[u8]) -> Result<(), nix::errno::Errno> {
        use std::os::fd::AsFd;
        match self {
            Target::Stdout => write_all(std::io::stdout().as_fd(), bytes),
            Target::Stderr => write_all(std::io::stderr().as_fd(), bytes),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Target::Stdout => "standard output",
            Target::Stderr => "standard error",
        }
    }
}

/// One of the program's streams on its way through the redactor.
pub struct Stream {
    /// inject's read end; `None` once the stream ended or its reader went away.
    pipe: Option<std::os::fd::OwnedFd>,
    target: Target,
    redactor: Redactor,
    /// A write failed (other than EPIPE) and that was said once.
    reported: bool,
}

impl Stream {
    fn new(pipe: std::os::fd::OwnedFd, target: Target, redactor: Redactor) -> Self {
        Stream {
            pipe: Some(pipe),
            target,
            redactor,
            reported: false,
        }
    }

    /// inject's read end, while the stream is open.
    pub fn pipe(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        self.pipe.as_ref().map(AsFd::as_fd)
    }

    /// Read once and pass on what the redactor has decided; at the end, the held tail too.
    pub fn pump(&mut self, buffer: &mut [u8], pending: &mut Vec<u8>) {
        use nix::errno::Errno;
        use std::os::fd::AsFd;
        let Some(pipe) = &self.pipe else { return };
        let read = nix::unistd::read(pipe.as_fd(), buffer);
        let mut sink = Sink {
            target: self.target,
            pending,
            error: None,
        };
        match read {
            Err(Errno::EAGAIN | Errno::EINTR) => return,
            Ok(0) | Err(_) => {
                self.pipe = None;
                let mut tail = Vec::new();
                self.redactor.finish(&mut tail);
                sink.take(&tail);
            }
            Ok(n) => self
                .redactor
                .push_to(&buffer[..n], &mut |piece| sink.take(piece)),
        }
        sink.flush();
        match sink.error {
            None => {}
            Some(Errno::EPIPE) => {
                crate::error::discard_own_sigpipe();
                // The program's next write to this stream meets a pipe without a reader.
                self.pipe = None;
            }
            // As the program would, carry on; the chunk is lost (disk full, terminal gone).
            Some(errno) if !self.reported => {
                self.reported = true;
                crate::error::report(&crate::error::Error::Message(format!(
                    "cannot write the program's {} ({}): output there is being lost",
                    self.target.name(),
                    errno.desc()
                )));
            }
            Some(_) => {}
        }
    }
}

/// What the redactor decides, on its way out in order: small pieces (replacements, text
/// between secrets) are gathered into one write, a long run of the program's own bytes is
/// written as it is, without a copy. The first error stops the rest of the chunk.
struct Sink<'a> {
    target: Target,
    pending: &'a mut Vec<u8>,
    error: Option<nix::errno::Errno>,
}

impl Sink<'_> {
    /// Pieces at least this long are written without being gathered first.
    const DIRECT: usize = 16 * 1024;

    fn take(&mut self, piece: &[u8]) {
        if piece.len() >= Self::DIRECT {
            self.flush();
            self.write(piece);
        } else {
            self.pending.extend_from_slice(piece);
        }
    }

    fn flush(&mut self) {
        if !self.pending.is_empty() {
            let pending = std::mem::take(self.pending);
            self.write(&pending);
            *self.pending = pending;
            self.pending.clear();
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        if self.error.is_none() {
            self.error = self.target.write_all(bytes).err();
        }
    }
}

/// Write all of `bytes`, waiting with `poll` when the caller left the descriptor non-blocking.
fn write_all(fd: std::os::fd::BorrowedFd<'_>, mut bytes: &[u8]) -> Result<(), nix::errno::Errno> {
    use nix::errno::Errno;
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    while !bytes.is_empty() {
        match nix::unistd::write(fd, bytes) {
            Ok(0) => return Err(Errno::EIO),
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => {
                let mut fds = [PollFd::new(fd, PollFlags::POLLOUT)];
                match poll(&mut fds, PollTimeout::NONE) {
                    Ok(_) | Err(Errno::EINTR) => {}
                    Err(errno) => return Err(errno),
                }
            }
            Err(errno) => return Err(errno),
        }
    }
    Ok(())
}
